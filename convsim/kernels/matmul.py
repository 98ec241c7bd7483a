"""Big matrix products on every core, each core's share with one BLAS thread.

convsim keeps NumPy's OpenBLAS at one thread (:mod:`convsim.blas_threads`
says why: its idle threads spin and steal the cores Numba's loops need). The
convolution's largest products (the im2col forward pass, dL/dx and dL/dkernel)
still deserve every core, so here their rows are cut into one block per
thread and a small pool of Python threads multiplies the blocks at the same
time. NumPy lets go of the GIL inside BLAS, so the threads really run in
parallel, and a thread that has finished waits quietly instead of spinning.
On 2 cores a ``(7744, 288) @ (288, 64)`` product (MNIST's second convolution)
took 4.30 ms in one thread and 1.98 ms split in two.

The pool has as many threads as Numba uses (``numba.get_num_threads()``, set
with ``NUMBA_NUM_THREADS``), so one setting controls all of convsim's threads.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import get_num_threads

# Below this many multiply-adds, handing blocks to threads costs more than it
# saves (a thread hand-off is tens of microseconds; 2 million multiply-adds
# take about 0.1 ms on one core).
MIN_SPLIT_WORK = 2_000_000

_pool: ThreadPoolExecutor | None = None
_pool_size = 0
_pool_lock = threading.Lock()


def _threads() -> int:
    return max(1, get_num_threads())


def _helpers() -> ThreadPoolExecutor:
    """The shared pool of helper threads (one fewer than the thread count: the
    calling thread works too), created on first use."""
    global _pool, _pool_size
    with _pool_lock:
        wanted = max(1, _threads() - 1)
        if _pool is None or _pool_size != wanted:
            if _pool is not None:
                _pool.shutdown(wait=True)
            _pool_size = wanted
            _pool = ThreadPoolExecutor(wanted, thread_name_prefix="convsim-blas")
        return _pool


def _run_all(tasks: list) -> list:
    """Run the functions in ``tasks`` on the calling thread and the helpers;
    return their results in order.

    Every thread, the caller included, takes the next task not yet taken until
    none is left, and the caller waits only for tasks already taken. This
    matters right after a Numba ``prange`` loop, whose worker threads spin for
    a moment before they sleep: a helper woken then may wait milliseconds for a
    free core, and meanwhile the caller simply does its tasks too. So the
    worst case is the time of running everything on one thread.
    """
    if len(tasks) < 2:
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

    for _ in range(min(len(tasks) - 1, _threads() - 1)):
        _helpers().submit(take_tasks)
    take_tasks()
    with changed:
        changed.wait_for(lambda: progress["finished"] == len(tasks))
    if errors:
        raise errors[0]
    return results


def _blocks(total: int, parts: int) -> list[slice]:
    """``parts`` contiguous slices covering ``range(total)``, sizes within 1."""
    edges = np.linspace(0, total, parts + 1).round().astype(int)
    pairs = zip(edges[:-1], edges[1:], strict=True)
    return [slice(int(a), int(b)) for a, b in pairs if b > a]


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for 2-D float32 arrays, rows of ``a`` split over the threads.

    The numbers are those of ``a @ b`` up to float rounding (BLAS may block
    a smaller product differently).
    """
    rows, inner = a.shape
    cols = b.shape[1]
    # two blocks per thread, so a thread that starts late leaves less undone
    parts = min(2 * _threads(), rows)
    if _threads() < 2 or rows * inner * cols < MIN_SPLIT_WORK:
        return a @ b
    out = np.empty((rows, cols), dtype=np.result_type(a, b))

    def multiply(block: slice):
        return lambda: np.matmul(a[block], b, out=out[block])

    _run_all([multiply(block) for block in _blocks(rows, parts)])
    return out


def sum_of_products(pairs: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """``sum(a.T @ b for a, b in pairs)``: each product in float32 by BLAS, on
    the threads, and the products added in float64, in the order given (so the
    result does not depend on which thread finished first). ``pairs`` must not
    be empty."""
    def product(a, b):
        return lambda: a.T @ b

    work = sum(a.size * b.shape[1] for a, b in pairs)
    tasks = [product(a, b) for a, b in pairs]
    if _threads() < 2 or work < MIN_SPLIT_WORK:
        products = [task() for task in tasks]
    else:
        products = _run_all(tasks)
    total = products[0].astype(np.float64)
    for p in products[1:]:
        total += p
    return total
