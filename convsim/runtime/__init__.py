"""How convsim's kernels run fast, in one room, under one contract.

**The contract.** Every function that calls into :mod:`convsim.kernels` is
decorated with :func:`kernel_call`: the functions of :mod:`convsim.ops`, the
losses (:mod:`convsim.losses`) and the image augmentation
(:func:`convsim.preprocessing.affine.warp_batch`). Layers, models, the trainer,
the trace and the lessons reach the kernels only through those, so this is the
one place where the process is set up for them:

1. **Once, at the first kernel call** (:func:`prepare`; never at import):

   * Numba's OpenMP threads start with a short spin
     (:mod:`~convsim.runtime.openmp`): idle workers then give their cores
     back within microseconds instead of milliseconds;
   * the C library keeps freed memory for the next training step
     (:mod:`~convsim.runtime.memory`): big arrays are reused instead of being
     handed back to the operating system and zeroed again page by page.

2. **While any kernel call runs**, NumPy's OpenBLAS has one thread
   (:mod:`~convsim.runtime.blas`), so its spinning threads do not fight
   Numba's threads for the same cores; the count it had comes back when the
   last running kernel call returns (nested and concurrent calls are counted).

The convolutions' matrix products still use every core: they are split into
tasks that run on the calling thread plus a few helper threads, one BLAS thread
each (:mod:`~convsim.runtime.tasks`). One setting, ``NUMBA_NUM_THREADS``,
controls how many threads all of this uses.

Settings you make yourself win: ``OPENBLAS_NUM_THREADS``, ``GOMP_SPINCOUNT``
and ``OMP_WAIT_POLICY`` are left as you set them.
"""

from __future__ import annotations

import functools
import threading

from convsim.runtime import blas
from convsim.runtime.memory import keep_freed_memory
from convsim.runtime.openmp import start_numba_threads

__all__ = ["kernel_call", "prepare", "prepared"]

_prepared = False
_prepare_lock = threading.Lock()


def prepare() -> None:
    """Set the process up for convsim's kernels (once; later calls return at
    once). :func:`kernel_call` does this before the first kernel runs."""
    global _prepared
    with _prepare_lock:
        if _prepared:
            return
        start_numba_threads()
        keep_freed_memory()
        _prepared = True


def prepared() -> bool:
    """Whether :func:`prepare` has run in this process."""
    return _prepared


def kernel_call(function):
    """Decorator for every function that calls a kernel: the contract above.

    The cost per call is a flag check and, when no other kernel call is
    running, three calls into OpenBLAS (about a microsecond).
    """

    @functools.wraps(function)
    def call(*args, **kwargs):
        if not _prepared:
            prepare()
        blas.hold_one_thread()
        try:
            return function(*args, **kwargs)
        finally:
            blas.release()

    return call
