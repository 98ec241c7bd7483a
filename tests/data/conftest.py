"""``isolated``: the dataset loader tests run in a home of their own, so no real
cache, Keras cache, $CONVSIM_DATA, proxy or offline flag of the machine they run
on can change what they see."""

import pytest
from local_server import PROXY_VARIABLES


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No real cache, Keras cache, $CONVSIM_DATA, proxy or offline flag."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    for name in ("CONVSIM_DATA", "CONVSIM_OFFLINE", *PROXY_VARIABLES):
        monkeypatch.delenv(name, raising=False)
