"""Shared test set-up.

* Hypothesis profiles: a fast derandomised ``ci`` profile (the default) and
  ``--hypothesis-profile=thorough`` for long local runs. ``deadline=None``
  because the first call of a Numba kernel compiles it, which takes seconds.
* Tests never write into your ``~/.cache``: convsim's cache (downloads, the
  lessons' trained MNIST convnet) is a temporary folder for the session
  (``$XDG_CACHE_HOME``), and ``trained_mnist`` trains that model once.
* Tests never touch the internet: ``CONVSIM_OFFLINE=1`` makes every loader that
  could download fall back at once.
* Real data shared with every developer and CI run (../shared/data): tests that
  need it use the ``shared_data`` fixture and are skipped, with the reason, where
  it is absent.
* ``convsim.lessons`` is importable in a source checkout too: the tests import
  lessons as ``from convsim.lessons import padding``, as an installed convsim
  allows, and :func:`convsim.lesson.catalog.lessons_package` maps that name to
  the checkout's top-level ``lessons/`` folder when ``import convsim`` finds
  the source folder (which has no ``lessons`` inside).
"""

import os
import pathlib
import signal

import pytest
from hypothesis import HealthCheck, settings

from convsim.lesson import catalog

os.environ.setdefault("CONVSIM_OFFLINE", "1")

# The Ctrl+C tests send SIGINT to this process and expect Python's
# KeyboardInterrupt. A test run started in the background of a shell script
# (`bash .ci/run &`) inherits SIGINT *ignored*, and Python then keeps it
# ignored: give the tests Python's own Ctrl+C handler in that case.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
catalog.lessons_package()

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile(
    "thorough",
    max_examples=1500,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHARED_DATA = pathlib.Path(
    os.environ.get(
        "CONVSIM_SHARED_DATA",
        pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data",
    )
)


@pytest.fixture
def shared_data() -> pathlib.Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"shared test data not found at {SHARED_DATA} "
            "(set CONVSIM_SHARED_DATA to its folder)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """``$XDG_CACHE_HOME`` in a temporary folder for the whole session."""
    patch = pytest.MonkeyPatch()
    patch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))
    yield
    patch.undo()


@pytest.fixture(scope="session")
def trained_mnist(_private_cache, tmp_path_factory):
    """The lessons' trained MNIST convnet (convsim.experiments.pretrained),
    trained once per test run (about 15 s) into the session's cache.

    With pytest-xdist each worker has its own cache, but only the first
    worker to get here trains: it keeps a copy of the files in the run's
    shared temporary folder, and the others wait on a lock and copy them."""
    import fcntl
    import io
    import shutil

    from rich.console import Console

    from convsim.experiments import pretrained

    def train():
        return pretrained.pretrained_model(console=Console(file=io.StringIO()))

    if not os.environ.get("PYTEST_XDIST_WORKER"):  # one process: nothing to share
        return train()
    shared = tmp_path_factory.getbasetemp().parent / "trained-mnist"
    shared.mkdir(exist_ok=True)
    path = pretrained.model_path("mnist")
    files = (path, path.with_suffix(".json"))
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (shared / path.name).exists():
            train()
            for file in files:
                shutil.copy(file, shared / file.name)
        path.parent.mkdir(parents=True, exist_ok=True)
        for file in files:
            shutil.copy(shared / file.name, file)
    return train()  # loads the copy
