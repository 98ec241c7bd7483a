"""The thread helpers behind the convolution's BLAS path."""

import threading

import numpy as np
import pytest

from convsim.runtime import tasks


def test_tasks_run_in_order_and_errors_reach_the_caller():
    assert tasks.run_tasks([lambda i=i: i * i for i in range(7)]) == [
        i * i for i in range(7)]

    def broken():
        raise ValueError("task 2 failed")

    with pytest.raises(ValueError, match="task 2 failed"):
        tasks.run_tasks([lambda: 1, lambda: 2, broken, lambda: 4])


def test_tasks_really_run_on_several_threads(monkeypatch):
    monkeypatch.setattr(tasks, "thread_count", lambda: 2)
    both_started = threading.Barrier(2, timeout=10)

    def meet():  # returns only once two tasks run at the same time
        both_started.wait()
        return threading.get_ident()

    idents = tasks.run_tasks([meet, meet])
    assert len(set(idents)) == 2


def test_the_caller_finishes_alone_when_no_helper_is_free(monkeypatch):
    """A helper that cannot start (here: busy until the end of the test) must
    not hold up the work: the caller takes every task itself."""
    monkeypatch.setattr(tasks, "thread_count", lambda: 2)
    release = threading.Event()
    busy = tasks._helpers().submit(release.wait)  # the only helper is now busy
    try:
        results = []
        caller = threading.Thread(target=lambda: results.extend(
            tasks.run_tasks([lambda i=i: i for i in range(5)])))
        caller.start()
        caller.join(timeout=10)  # a regression would wait for the helper forever
        assert not caller.is_alive(), "the caller waited for a busy helper"
        assert results == list(range(5))
    finally:
        release.set()
        busy.result(timeout=10)


def test_scratch_buffers_are_reused_per_thread_and_name():
    a = tasks.scratch("test-a", 4, 6)
    assert a.shape == (4, 6) and a.dtype == np.float32
    a[:] = 7
    again = tasks.scratch("test-a", 2, 3)  # smaller: same memory
    assert np.shares_memory(a, again)
    assert not np.shares_memory(a, tasks.scratch("test-b", 4, 6))
    other = []
    worker = threading.Thread(
        target=lambda: other.append(tasks.scratch("test-a", 4, 6)))
    worker.start()
    worker.join()
    assert not np.shares_memory(a, other[0])
