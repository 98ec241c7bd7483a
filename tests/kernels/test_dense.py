"""Dense (ops.dense / ops.dense_backward) against the literal loops of
convsim.kernels.reference, in float64."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from reference import naive_dense, naive_dense_backward, numerical_gradient

from convsim import ops

# float32 results vs float64 reference on the same float32 inputs: a sum of T
# products of values in [-1, 1] is off by ~sqrt(T)*6e-8 typically and below
# T*1.2e-7 at worst; rtol + 1e-5*sqrt(T) covers both (see test_conv.py).
RTOL = 1e-5


def atol(terms: int) -> float:
    return 1e-5 * math.sqrt(max(terms, 1))


def random_dense(seed, batch, units_in, units):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (batch, units_in)).astype(np.float32)
    k = rng.uniform(-1, 1, (units_in, units)).astype(np.float32)
    b = rng.uniform(-1, 1, units).astype(np.float32)
    return rng, x, k, b


def check(x, k, b, rng):
    y = ops.dense(x, k, b)
    assert y.dtype == np.float32
    assert_allclose(y, naive_dense(x, k, b), rtol=RTOL, atol=atol(k.shape[0]))
    dy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    dx, dk, db = ops.dense_backward(x, k, dy)
    want = naive_dense_backward(x, k, dy)
    assert (dx.dtype, dk.dtype, db.dtype) == (np.float32,) * 3
    assert_allclose(dx, want[0], rtol=RTOL, atol=atol(k.shape[1]))
    assert_allclose(dk, want[1], rtol=RTOL, atol=atol(x.shape[0]))
    assert_allclose(db, want[2], rtol=RTOL, atol=atol(x.shape[0]))


@pytest.mark.parametrize("batch, units_in, units", [
    (1, 1, 1), (1, 5, 3), (4, 1, 7), (3, 6, 1), (2, 64, 10),
])
def test_edge_cases(batch, units_in, units):
    check(*random_dense(0, batch, units_in, units)[1:], np.random.default_rng(1))


@given(st.integers(1, 6), st.integers(1, 12), st.integers(1, 6),
       st.integers(0, 2**32 - 1))
def test_matches_reference(batch, units_in, units, seed):
    rng, x, k, b = random_dense(seed, batch, units_in, units)
    check(x, k, b, rng)


def test_without_bias_is_a_plain_product():
    _, x, k, _ = random_dense(2, 3, 4, 5)
    assert_allclose(ops.dense(x, k), naive_dense(x, k), rtol=RTOL, atol=atol(4))


def test_zero_size_batch_gives_empty_output_and_zero_gradients():
    x = np.zeros((0, 4), np.float32)
    k = np.ones((4, 3), np.float32)
    assert ops.dense(x, k, np.ones(3)).shape == (0, 3)
    dx, dk, db = ops.dense_backward(x, k, np.zeros((0, 3)))
    assert dx.shape == (0, 4) and dk.shape == (4, 3) and db.shape == (3,)
    assert_array_equal(dk, 0.0)
    assert_array_equal(db, 0.0)


def test_gradients_match_finite_differences():
    rng, x, k, b = random_dense(3, 3, 5, 4)
    r = rng.uniform(-1, 1, (3, 4)).astype(np.float32)

    def loss(x_=x, k_=k, b_=b):
        return float((naive_dense(x_, k_, b_) * r).sum())

    dx, dk, db = ops.dense_backward(x, k, r)
    assert_allclose(dx, numerical_gradient(lambda v: loss(x_=v), x), rtol=RTOL,
                    atol=atol(4))
    assert_allclose(dk, numerical_gradient(lambda v: loss(k_=v), k), rtol=RTOL,
                    atol=atol(3))
    assert_allclose(db, numerical_gradient(lambda v: loss(b_=v), b), rtol=RTOL,
                    atol=atol(3))


def test_batch_sums_are_correctly_rounded():
    """dkernel and dbias over 2**20 rows of float32(0.1) must be the float32
    nearest to the exact sum (math.fsum). A float32 running sum is off by 1%
    after a million additions (even numpy's pairwise float32 sum misses by an
    ulp), so this catches drift with 4 MB of data; the 2**24-ones saturation
    case is tested for conv, where the sums are longest (tests/test_conv.py)."""
    rows = 2**20
    tenth = np.full((rows, 1), 0.1, np.float32)
    _, dk, db = ops.dense_backward(np.ones((rows, 1), np.float32),
                                   np.ones((1, 1)), tenth)
    exact = np.float32(math.fsum(tenth[:, 0].astype(np.float64)))
    assert dk[0, 0] == exact and db[0] == exact


def test_accepts_integer_and_fortran_inputs():
    _, x, k, b = random_dense(4, 3, 4, 2)
    want = ops.dense(x, k, b)
    assert_allclose(ops.dense(np.asfortranarray(x), k.astype(np.float64), b),
                    want, rtol=1e-6)
    ints = np.arange(12).reshape(3, 4)
    assert_allclose(ops.dense(ints, k), naive_dense(ints, k), rtol=RTOL,
                    atol=atol(4) * 12)
