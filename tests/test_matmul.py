"""The threaded matrix products behind the convolution's BLAS paths."""

import numpy as np
import pytest

from convsim.kernels import matmul as mm


@pytest.mark.parametrize("rows", [1, 2, 3, 1001, 7744])
def test_split_product_equals_numpy(rows, monkeypatch):
    monkeypatch.setattr(mm, "MIN_SPLIT_WORK", 0)  # split even tiny products
    rng = np.random.default_rng(rows)
    a = rng.standard_normal((rows, 37), dtype=np.float32)
    b = rng.standard_normal((37, 29), dtype=np.float32)
    got = mm.matmul(a, b)
    assert got.dtype == np.float32 and got.shape == (rows, 29)
    np.testing.assert_allclose(got, a.astype(np.float64) @ b, rtol=1e-5, atol=1e-5)


def test_split_product_takes_a_transposed_right_operand(monkeypatch):
    monkeypatch.setattr(mm, "MIN_SPLIT_WORK", 0)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((500, 16), dtype=np.float32)
    kernel = rng.standard_normal((72, 16), dtype=np.float32)
    np.testing.assert_allclose(mm.matmul(a, kernel.T), a @ kernel.T, rtol=1e-5,
                               atol=1e-5)


def test_blocks_cover_every_row_once():
    for total in (1, 2, 5, 64, 1001):
        for parts in (1, 2, 3, 8):
            blocks = mm._blocks(total, parts)
            covered = np.concatenate([np.arange(total)[s] for s in blocks])
            assert covered.tolist() == list(range(total))
            sizes = [s.stop - s.start for s in blocks]
            assert max(sizes) - min(sizes) <= 1


@pytest.mark.parametrize("split", [True, False])
def test_sum_of_products_adds_in_float64_in_order(split, monkeypatch):
    monkeypatch.setattr(mm, "MIN_SPLIT_WORK", 0 if split else 10**18)
    rng = np.random.default_rng(1)
    pairs = [(rng.standard_normal((n, 9), dtype=np.float32),
              rng.standard_normal((n, 4), dtype=np.float32)) for n in (50, 7, 300)]
    got = mm.sum_of_products(pairs)
    assert got.dtype == np.float64
    want = sum(a.astype(np.float64).T @ b.astype(np.float64) for a, b in pairs)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-4)
    # the same pairs give bit-identical totals every time, whichever thread ends first
    assert np.array_equal(mm.sum_of_products(pairs), got)


def test_tasks_run_in_order_and_errors_reach_the_caller():
    assert mm._run_all([lambda i=i: i * i for i in range(7)]) == [
        i * i for i in range(7)]

    def broken():
        raise ValueError("task 2 failed")

    with pytest.raises(ValueError, match="task 2 failed"):
        mm._run_all([lambda: 1, lambda: 2, broken, lambda: 4])


def test_the_caller_finishes_alone_when_no_helper_is_free(monkeypatch):
    """A helper that cannot start (here: busy until the end of the test) must
    not hold up the product: the caller takes every block itself."""
    import threading

    monkeypatch.setattr(mm, "_threads", lambda: 2)
    release = threading.Event()
    busy = mm._helpers().submit(release.wait)  # the only helper is now busy
    try:
        results = []
        caller = threading.Thread(target=lambda: results.extend(
            mm._run_all([lambda i=i: i for i in range(5)])))
        caller.start()
        caller.join(timeout=10)  # a regression would wait for the helper forever
        assert not caller.is_alive(), "the caller waited for a busy helper"
        assert results == list(range(5))
    finally:
        release.set()
        busy.result(timeout=10)
