"""``isolated``: the dataset loader tests run in a home of their own, so no real
cache, Keras cache, $CONVSIM_DATA, proxy or offline flag of the machine they run
on can change what they see. ``fifo``: named pipes that cannot hang a test."""

import os
import threading

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


@pytest.fixture
def fifo(tmp_path):
    """``fifo(name)``: a FIFO (named pipe) at ``tmp_path / name``.

    A reader that wrongly opens it does not hang the test run: a helper thread
    opens the other end, writes a few bytes and closes it, so such a reader
    gets junk and fails instead of waiting forever. At teardown the FIFO is
    opened once without blocking, which releases a helper still waiting."""
    made = []

    def make(name):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        os.mkfifo(path)
        thread = threading.Thread(target=_feed, args=(path,), daemon=True)
        thread.start()
        made.append((path, thread))
        return path

    yield make
    for path, thread in made:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError:
            continue
        thread.join(5)
        os.close(fd)


def _feed(path):
    try:
        with open(path, "wb") as writer:  # blocks until someone reads
            writer.write(b"\x00junk")
    except OSError:
        pass
