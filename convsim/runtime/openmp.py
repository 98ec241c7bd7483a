"""Start Numba's worker threads so that they stop spinning sooner.

Numba runs convsim's ``prange`` loops on an OpenMP thread team (GNU libgomp on
Linux). When a loop ends, libgomp's threads keep spinning for 300,000 rounds
before they sleep: on recent CPUs that is milliseconds, during which they hold
the cores that convsim's next step needs (the Python threads of the
convolution's BLAS path, :mod:`convsim.runtime.tasks`). With 10,000 rounds the
book's MNIST epoch took 1.21 s instead of 1.63 s on 2 cores (cats-vs-dogs
steps: no change).

libgomp reads ``GOMP_SPINCOUNT`` once, when it loads, and Numba loads it when it
starts its threads. So :func:`start_numba_threads` sets the variable, starts
Numba's threads, and removes the variable again: other libraries that load
their own OpenMP later (PyTorch, for one, whose speed depends on long spins)
see the environment you gave them. If you set ``GOMP_SPINCOUNT`` or
``OMP_WAIT_POLICY`` yourself, convsim keeps your choice; if Numba's threads
were already running, nothing changes.
"""

from __future__ import annotations

import os

import numba

SPIN_COUNT = "10000"

_started = False


def start_numba_threads() -> None:
    """Start Numba's thread pool (once) with libgomp's short spin."""
    global _started
    if _started:
        return
    _started = True
    if "GOMP_SPINCOUNT" in os.environ or "OMP_WAIT_POLICY" in os.environ:
        numba.get_num_threads()  # the user's settings, as they are
        return
    os.environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    try:
        numba.get_num_threads()  # starts the threads: libgomp reads the variable
    finally:
        del os.environ["GOMP_SPINCOUNT"]
