"""Give NumPy's BLAS one thread while convsim's kernels run.

NumPy does its matrix products with OpenBLAS, which starts one thread per core,
and its idle threads keep spinning for a while after each product. convsim's
Numba kernels also keep every core busy, so on a laptop with few cores the two
thread pools take turns stealing each other's cores. On the 2-core machine the
README's figures come from, the book's MNIST epoch ran at 549 images/s with two
BLAS threads and 2,246 with one (``bench/train_mnist.py``).

OpenBLAS reads ``OPENBLAS_NUM_THREADS`` only once, when NumPy loads, and most
scripts import NumPy before convsim. So :func:`hold_one_thread` asks the
OpenBLAS library that NumPy already loaded (its ``openblas_set_num_threads``
function, reached with ``ctypes``) for one thread, and :func:`release` gives
the old number back afterwards: your own NumPy code between convsim's kernel
calls keeps all its threads (:mod:`convsim.runtime` states the contract).
If you set ``OPENBLAS_NUM_THREADS`` yourself, convsim leaves BLAS alone. If
NumPy uses another BLAS (Apple's Accelerate, MKL), nothing happens.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from pathlib import Path

# The names OpenBLAS builds give their functions: NumPy 2's wheels use
# "scipy_openblas" with a 64-bit-integer "64_" suffix, NumPy 1.26's wheels
# "openblas...64_", a Linux distribution's libopenblas no suffix.
_NAME_PAIRS = [
    (f"{prefix}_get_num_threads{suffix}", f"{prefix}_set_num_threads{suffix}")
    for prefix in ("scipy_openblas", "openblas")
    for suffix in ("64_", "")
]

_NOT_SEARCHED = object()
_controls = _NOT_SEARCHED  # (get, set) C functions, None if not found, cached


def _loaded_openblas_paths() -> list[str]:
    """Files of OpenBLAS libraries this process may have loaded (NumPy's first)."""
    paths = []
    numpy = sys.modules.get("numpy")
    if numpy is not None and getattr(numpy, "__file__", None):
        package = Path(numpy.__file__).parent
        # Wheels keep their private libraries beside the package (Linux,
        # Windows) or inside it (macOS).
        for folder in (package.parent / "numpy.libs", package / ".dylibs"):
            if folder.is_dir():
                paths += sorted(str(p) for p in folder.glob("*openblas*"))
    maps = Path("/proc/self/maps")  # Linux: every shared library now mapped
    if maps.exists():
        with contextlib.suppress(OSError):
            for line in maps.read_text().splitlines():
                fields = line.split()
                name = fields[-1] if fields else ""
                if "openblas" in Path(name).name and name not in paths:
                    paths.append(name)
    return paths


def _find_controls():
    """The OpenBLAS (get, set) thread-count functions, or None."""
    for path in _loaded_openblas_paths():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for get_name, set_name in _NAME_PAIRS:
            get = getattr(library, get_name, None)
            set_ = getattr(library, set_name, None)
            if get is not None and set_ is not None:
                get.restype, get.argtypes = ctypes.c_int, []
                set_.restype, set_.argtypes = None, [ctypes.c_int]
                return get, set_
    return None


def blas_thread_count() -> int | None:
    """How many threads NumPy's OpenBLAS uses now (None: not OpenBLAS)."""
    controls = _openblas_controls()
    return None if controls is None else int(controls[0]())


def _openblas_controls():
    global _controls
    if _controls is _NOT_SEARCHED:
        import numpy  # noqa: F401  (NumPy must have loaded its BLAS first)

        _controls = _find_controls()
    return _controls


# While convsim's kernels run (any number of them, on any thread) OpenBLAS has
# one thread; the count from before the first of them comes back after the last.
_hold_lock = threading.Lock()
_holders = 0
_count_before: int | None = None


def hold_one_thread() -> None:
    """Give OpenBLAS one thread until the matching :func:`release`.

    Does nothing when the user set ``OPENBLAS_NUM_THREADS`` or when NumPy's BLAS
    is not OpenBLAS. Calls nest and may come from several threads: only the
    first changes the count.
    """
    global _holders, _count_before
    with _hold_lock:
        _holders += 1
        if _holders > 1:
            return
        controls = (None if "OPENBLAS_NUM_THREADS" in os.environ
                    else _openblas_controls())
        _count_before = None
        if controls is not None:
            before = int(controls[0]())
            if before != 1:
                controls[1](1)
                _count_before = before


def release() -> None:
    """End one :func:`hold_one_thread`; the last one gives the old count back."""
    global _holders, _count_before
    with _hold_lock:
        _holders -= 1
        if _holders == 0 and _count_before is not None:
            _openblas_controls()[1](_count_before)
            _count_before = None


@contextlib.contextmanager
def one_blas_thread():
    """``with one_blas_thread():`` the block runs with one OpenBLAS thread (for
    benchmarks and experiments; convsim's own kernels use
    :func:`convsim.runtime.kernel_call`)."""
    hold_one_thread()
    try:
        yield
    finally:
        release()
