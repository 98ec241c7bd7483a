"""relu, sigmoid, tanh, softmax and their gradients against plain-math
references, at ordinary and extreme inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal
from reference import (
    naive_relu,
    naive_sigmoid,
    naive_softmax,
    naive_tanh,
    numerical_gradient,
)

from convsim import ops

# Element-wise float32 results of O(1) size: a few ulps (1 ulp of 1.0 is 1.2e-7)
# are the expected error, so rtol 1e-5 / atol 1e-6 leaves ~8x headroom while a
# wrong formula (e.g. tanh'(x) = 1 - y instead of 1 - y**2) is off by O(0.1).
RTOL, ATOL = 1e-5, 1e-6

ELEMENTWISE = [
    (ops.relu, ops.relu_backward, naive_relu),
    (ops.sigmoid, ops.sigmoid_backward, naive_sigmoid),
    (ops.tanh, ops.tanh_backward, naive_tanh),
]
IDS = ["relu", "sigmoid", "tanh"]

float32_arrays = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
    elements=st.floats(-1e4, 1e4, width=32),
)


@pytest.mark.parametrize("forward, backward, reference", ELEMENTWISE, ids=IDS)
@given(x=float32_arrays)
def test_elementwise_match_reference(forward, backward, reference, x):
    y = forward(x)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert_allclose(y, reference(x), rtol=RTOL, atol=ATOL)
    assert np.isfinite(y).all()  # +-1e4 must not overflow exp
    dx = backward(y, np.ones_like(y))
    assert dx.dtype == np.float32 and dx.shape == x.shape


@pytest.mark.parametrize("forward, backward, reference", ELEMENTWISE, ids=IDS)
def test_elementwise_gradients_match_finite_differences(forward, backward,
                                                        reference):
    """L = sum(f(x) * r); x avoids 0, where relu has no derivative."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0.1, 3, (3, 4)) * rng.choice([-1, 1], (3, 4))
    x = x.astype(np.float32)
    r = rng.uniform(-1, 1, x.shape).astype(np.float32)
    got = backward(forward(x), r)
    want = numerical_gradient(lambda v: float((reference(v) * r).sum()), x)
    assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("forward, backward, reference", ELEMENTWISE, ids=IDS)
def test_nan_in_nan_out(forward, backward, reference):
    y = forward(np.array([1.0, np.nan, -1.0]))
    assert np.isnan(y[1]) and np.isfinite(y[[0, 2]]).all()


@pytest.mark.parametrize("forward, backward, reference", ELEMENTWISE, ids=IDS)
@pytest.mark.parametrize("x", [np.float32(-2.5), np.zeros((0, 3)),
                               np.zeros((2, 0, 4))], ids=["scalar", "0-rows", "0-w"])
def test_scalars_and_empty_arrays_keep_their_shape(forward, backward, reference, x):
    y = forward(x)
    assert y.shape == np.shape(x) and y.dtype == np.float32
    assert_allclose(y, reference(x), rtol=RTOL, atol=ATOL)
    assert backward(y, np.ones_like(y)).shape == np.shape(x)


def test_extreme_values():
    x = np.array([-1e4, -30, 0, 30, 1e4, np.inf, -np.inf], np.float32)
    assert_allclose(ops.sigmoid(x), [0, naive_sigmoid(-30.0)[()], 0.5, 1, 1, 1, 0],
                    rtol=RTOL, atol=0)  # exp(-30) = 9e-14 keeps its digits
    assert_array_equal(ops.tanh(x), [-1, -1, 0, 1, 1, 1, -1])
    assert_array_equal(ops.relu(x), [0, 0, 0, 30, 1e4, np.inf, 0])


def test_relu_gradient_is_zero_at_zero_like_keras():
    assert_array_equal(ops.relu_backward(np.array([0.0, 2.0]), [5.0, 5.0]), [0, 5])


def test_relu_and_sigmoid_accept_ints_and_bools():
    assert_array_equal(ops.relu(np.array([-2, 3])), [0.0, 3.0])
    assert_allclose(ops.sigmoid(np.array([True, False])), [0.7310586, 0.5],
                    rtol=RTOL)


# ---------------------------------------------------------------- softmax


@given(hnp.arrays(np.float32, hnp.array_shapes(min_dims=1, max_dims=3, max_side=5),
                  elements=st.floats(-1e4, 1e4, width=32)),
       st.integers(-3, 2))
def test_softmax_matches_reference(x, axis):
    axis = axis % x.ndim
    y = ops.softmax(x, axis=axis)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert_allclose(y, naive_softmax(x, axis), rtol=RTOL, atol=ATOL)
    assert_allclose(y.sum(axis=axis), 1.0, rtol=RTOL)


def test_softmax_is_stable_for_huge_logits():
    y = ops.softmax(np.array([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4]]))
    assert_allclose(y, [[1, 0, 0], [1 / 3, 1 / 3, 1 / 3]], rtol=RTOL)


def test_softmax_shift_invariance():
    x = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    assert_allclose(ops.softmax(x + 50), ops.softmax(x), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_softmax_gradient_matches_finite_differences(axis):
    rng = np.random.default_rng(2)
    x = rng.normal(0, 2, (3, 4, 5)).astype(np.float32)
    r = rng.uniform(-1, 1, x.shape).astype(np.float32)
    got = ops.softmax_backward(ops.softmax(x, axis), r, axis)
    want = numerical_gradient(lambda v: float((naive_softmax(v, axis) * r).sum()), x)
    assert got.dtype == np.float32
    assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def test_softmax_of_empty_arrays():
    for shape in [(0, 3), (3, 0), (2, 0, 4)]:
        y = ops.softmax(np.zeros(shape))
        assert y.shape == shape and y.dtype == np.float32
        assert ops.softmax_backward(y, y).shape == shape
