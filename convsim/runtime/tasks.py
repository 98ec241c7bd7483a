"""Run convsim's matrix-product work on every core, one BLAS thread each.

convsim keeps NumPy's OpenBLAS at one thread (:mod:`convsim.runtime.blas`
says why: its idle threads spin and steal the cores Numba's loops need). The
convolutions' matrix products still deserve every core, so
:mod:`convsim.kernels.conv` cuts them into tasks (groups of whole images) and
:func:`run_tasks` runs the tasks on the calling thread plus a small pool of
helper threads. NumPy's BLAS and the ``nogil`` Numba loops in
:mod:`convsim.kernels.patches` let go of Python's GIL, so the threads really run
at the same time, and a thread with nothing to do waits quietly instead of
spinning.

There are as many threads as Numba uses (``numba.get_num_threads()``, set
with ``NUMBA_NUM_THREADS``), so one setting controls all of convsim's threads.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import get_num_threads

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()
_buffers = threading.local()


def thread_count() -> int:
    """How many threads convsim's work is split over."""
    return max(1, get_num_threads())


def _helpers() -> ThreadPoolExecutor:
    """The shared pool of helper threads (one fewer than the thread count: the
    calling thread works too), created on first use."""
    global _pool, _pool_size
    with _pool_lock:
        wanted = max(1, thread_count() - 1)
        if _pool is None or _pool_size != wanted:
            if _pool is not None:
                _pool.shutdown(wait=True)
            _pool_size = wanted
            _pool = ThreadPoolExecutor(wanted, thread_name_prefix="convsim")
        return _pool


def run_tasks(tasks: list) -> list:
    """Run the functions in ``tasks`` on the calling thread and the helpers;
    return their results in order.

    Every thread, the caller included, takes the next task not yet taken until
    none is left, and the caller waits only for tasks already taken. This
    matters right after a Numba ``prange`` loop, whose worker threads spin for
    a moment before they sleep: a helper woken then may wait milliseconds for a
    free core, and meanwhile the caller simply does the tasks itself. So the
    worst case is the time of running everything on one thread.
    """
    if len(tasks) < 2 or thread_count() < 2:
        return [task() for task in tasks]
    results, errors = [None] * len(tasks), []
    progress = {"taken": 0, "finished": 0}
    changed = threading.Condition()

    def take_tasks():
        while True:
            with changed:
                i = progress["taken"]
                if i == len(tasks):
                    return
                progress["taken"] = i + 1
            try:
                results[i] = tasks[i]()
            except BaseException as error:  # handed to the caller below
                errors.append(error)
            with changed:
                progress["finished"] += 1
                changed.notify_all()

    for _ in range(min(len(tasks), thread_count()) - 1):
        _helpers().submit(take_tasks)
    take_tasks()
    with changed:
        changed.wait_for(lambda: progress["finished"] == len(tasks))
    if errors:
        raise errors[0]
    return results


def scratch(name: str, rows: int, cols: int) -> np.ndarray:
    """A float32 ``(rows, cols)`` work buffer owned by the calling thread.

    Reused from call to call (one per ``name`` and thread), so the patch
    buffers of every training step are not fresh memory that the operating
    system must zero page by page. Its contents are whatever was left there.
    """
    buffers = getattr(_buffers, "by_name", None)
    if buffers is None:
        buffers = _buffers.by_name = {}
    buffer = buffers.get(name)
    if buffer is None or buffer.size < rows * cols:
        buffer = buffers[name] = np.empty(rows * cols, dtype=np.float32)
    return buffer[:rows * cols].reshape(rows, cols)
