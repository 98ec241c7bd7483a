"""Max and average pooling (convsim.ops) against the literal loops of
convsim.kernels.reference in float64, on tests/reference.py's own geometry:
edge cases, ties, NaN, zero-size batches, hypothesis,
finite differences and (when installed) PyTorch."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from reference import (
    naive_avg_pool2d,
    naive_avg_pool2d_backward,
    naive_max_pool2d,
    naive_max_pool2d_backward,
    numerical_gradient,
)

from convsim import ops

# Same reasoning as in test_conv.py: float32 results vs a float64 reference on
# the same float32 inputs; a sum of T terms in [-1, 1] is off by ~sqrt(T)*6e-8
# typically and < T*1.2e-7 at worst, both well inside rtol + 1e-5*sqrt(T).
# Max pooling only *selects* a value, so its forward output must be exact.
RTOL = 1e-5


def atol(terms: int) -> float:
    return 1e-5 * math.sqrt(max(terms, 1))


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def check_max_pool(x, pool, strides, padding, rng):
    pool = pair(pool)
    strides = pool if strides is None else pair(strides)
    y, argmax = ops.max_pool_with_argmax(x, pool, strides, padding)
    want, want_argmax = naive_max_pool2d(x, pool, strides, padding)
    assert y.dtype == np.float32 and y.shape == want.shape
    assert_array_equal(y, want)  # a selected float32 value: exact
    assert_array_equal(argmax, want_argmax)
    assert_array_equal(ops.max_pool(x, pool, strides, padding), y)
    dy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    dx = ops.max_pool_backward(x, dy, pool, strides, padding)
    overlap = math.ceil(pool[0] / strides[0]) * math.ceil(pool[1] / strides[1])
    want_dx = naive_max_pool2d_backward(x, dy, pool, strides, padding)
    assert dx.dtype == np.float32
    assert_allclose(dx, want_dx, rtol=RTOL, atol=atol(overlap))
    # the argmax we got back routes the gradient the same way
    assert_array_equal(ops.max_pool_backward(x, dy, pool, strides, padding,
                                             argmax=argmax), dx)


def check_average_pool(x, pool, strides, padding, rng):
    pool = pair(pool)
    strides = pool if strides is None else pair(strides)
    y = ops.average_pool(x, pool, strides, padding)
    want = naive_avg_pool2d(x, pool, strides, padding)
    assert y.dtype == np.float32 and y.shape == want.shape
    assert_allclose(y, want, rtol=RTOL, atol=atol(pool[0] * pool[1]))
    dy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    dx = ops.average_pool_backward(x, dy, pool, strides, padding)
    overlap = math.ceil(pool[0] / strides[0]) * math.ceil(pool[1] / strides[1])
    assert dx.dtype == np.float32
    assert_allclose(dx, naive_avg_pool2d_backward(x, dy, pool, strides, padding),
                    rtol=RTOL, atol=atol(overlap))


# ---------------------------------------------------------------- edge cases

EDGE_CASES = [
    # x shape, pool_size, strides, padding
    pytest.param((1, 1, 1, 1), 1, None, "valid", id="1x1-input"),
    pytest.param((2, 1, 1, 3), 2, None, "same", id="1x1-input-same"),
    pytest.param((2, 4, 5, 2), (4, 5), None, "valid", id="pool-equals-input"),
    pytest.param((1, 7, 7, 2), 2, 3, "valid", id="stride-gt-pool"),
    pytest.param((1, 8, 7, 2), 2, 3, "same", id="stride-gt-pool-same"),
    pytest.param((1, 5, 5, 1), 2, None, "valid", id="batch1-one-channel-odd"),
    pytest.param((1, 6, 5, 2), 2, 1, "same", id="even-pool-same"),
    pytest.param((1, 4, 4, 1), 3, 2, "same", id="stride2-same-even"),
    pytest.param((1, 5, 5, 1), 3, 2, "same", id="stride2-same-odd"),
    pytest.param((2, 5, 6, 2), 3, 1, "valid", id="overlapping"),
    pytest.param((2, 3, 3, 2), 5, 1, "same", id="pool-bigger-than-input-same"),
    pytest.param((2, 7, 9, 3), (2, 3), (1, 2), "same", id="asymmetric"),
    pytest.param((3, 15, 15, 2), 2, None, "valid", id="last-cats-vs-dogs-pool"),
]


@pytest.mark.parametrize("x_shape, pool, strides, padding", EDGE_CASES)
def test_max_pool_edge_cases(x_shape, pool, strides, padding):
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    check_max_pool(x, pool, strides, padding, rng)


@pytest.mark.parametrize("x_shape, pool, strides, padding", EDGE_CASES)
def test_average_pool_edge_cases(x_shape, pool, strides, padding):
    rng = np.random.default_rng(1)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    check_average_pool(x, pool, strides, padding, rng)


def test_ties_send_the_gradient_to_the_first_cell_in_reading_order():
    """All-equal windows: the top-left cell of each window gets the gradient;
    with overlapping windows (3x3, stride 1) each window picks its own first
    cell, so cell (r, c) receives one gradient per window starting there."""
    x = np.full((1, 4, 4, 1), 7.0, np.float32)
    y, argmax = ops.max_pool_with_argmax(x, 2)
    assert_array_equal(y, 7.0)
    assert_array_equal(argmax[0, :, :, 0], [[0, 2], [8, 10]])
    dx = ops.max_pool_backward(x, np.ones((1, 2, 2, 1)), 2)
    assert_array_equal(dx[0, :, :, 0], [[1, 0, 1, 0], [0, 0, 0, 0],
                                        [1, 0, 1, 0], [0, 0, 0, 0]])
    dx = ops.max_pool_backward(x, np.ones((1, 2, 2, 1)), 3, strides=1)
    assert_array_equal(dx[0, :, :, 0], [[1, 1, 0, 0], [1, 1, 0, 0],
                                        [0, 0, 0, 0], [0, 0, 0, 0]])


def test_tie_after_a_smaller_value_goes_to_the_first_maximum():
    x = np.array([[1, 5], [5, 5]], np.float32).reshape(1, 2, 2, 1)
    _, argmax = ops.max_pool_with_argmax(x, 2)
    assert argmax.item() == 1  # (row 0, col 1), not a later 5


def test_nan_propagates_and_takes_the_gradient():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    x[0, 1, 0, 0] = np.nan  # in the top-left window, below a finite max (5)
    x[0, 3, 3, 0] = np.nan  # the bottom-right window's max cell would be (3, 3)
    x[0, 2, 3, 0] = np.nan  # ...but this NaN comes first in reading order
    y, argmax = ops.max_pool_with_argmax(x, 2)
    assert np.isnan(y[0, 0, 0, 0]) and np.isnan(y[0, 1, 1, 0])
    assert y[0, 0, 1, 0] == 7 and y[0, 1, 0, 0] == 13
    assert argmax[0, 0, 0, 0] == 4 and argmax[0, 1, 1, 0] == 11
    dx = ops.max_pool_backward(x, np.ones((1, 2, 2, 1)), 2)
    assert dx[0, 1, 0, 0] == 1 and dx[0, 2, 3, 0] == 1 and dx[0, 3, 3, 0] == 0
    assert dx[0, 1, 1, 0] == 0  # 5 would have won without the NaN


def test_nan_as_first_cell_is_not_overwritten():
    x = np.array([[np.nan, 1], [2, 3]], np.float32).reshape(1, 2, 2, 1)
    y, argmax = ops.max_pool_with_argmax(x, 2)
    assert np.isnan(y.item()) and argmax.item() == 0


def test_negative_inputs_and_same_padding_never_see_fake_zeros_or_minus_inf():
    """Padding is not a value: a window overlapping the border of an all-negative
    image still returns a real (negative) cell, never 0, -inf or argmax -1."""
    x = -np.arange(1, 10, dtype=np.float32).reshape(1, 3, 3, 1)
    y, argmax = ops.max_pool_with_argmax(x, 4, strides=1, padding="same")
    assert (y < 0).all() and np.isfinite(y).all() and (argmax >= 0).all()
    assert_array_equal(ops.average_pool(x, 3, 1, "same")[0, 0, 0, 0],
                       np.float32((-1 - 2 - 4 - 5) / 4))  # 4 real cells, not 9


def test_real_minus_inf_cells_are_values():
    x = np.full((1, 2, 2, 1), -np.inf, np.float32)
    y, argmax = ops.max_pool_with_argmax(x, 3, strides=1, padding="same")
    assert_array_equal(y, -np.inf)
    assert (argmax >= 0).all()


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_zero_size_batch(padding):
    x = np.zeros((0, 5, 4, 3), np.float32)
    y, argmax = ops.max_pool_with_argmax(x, 2, padding=padding)
    out = (0, 2, 2, 3) if padding == "valid" else (0, 3, 2, 3)
    assert y.shape == argmax.shape == out
    assert ops.average_pool(x, 2, padding=padding).shape == out
    dy = np.zeros(out, np.float32)
    for dx in (ops.max_pool_backward(x, dy, 2, padding=padding),
               ops.average_pool_backward(x, dy, 2, padding=padding)):
        assert dx.shape == x.shape and dx.dtype == np.float32


# ---------------------------------------------------------------- hypothesis


@st.composite
def pool_problems(draw):
    padding = draw(st.sampled_from(["valid", "same"]))
    pool = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 4),
                                                   st.integers(1, 4))))
    lowest = pool if padding == "valid" else (1, 1)
    h = draw(st.integers(lowest[0], lowest[0] + 7))
    w = draw(st.integers(lowest[1], lowest[1] + 7))
    shape = (draw(st.integers(1, 3)), h, w, draw(st.integers(1, 3)))
    return shape, pool, strides, padding, draw(st.integers(0, 2**32 - 1))


@given(pool_problems())
def test_max_pool_matches_reference(problem):
    """Small integers make ties common, so the tie rule is exercised too."""
    shape, pool, strides, padding, seed = problem
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, shape).astype(np.float32)
    check_max_pool(x, pool, strides, padding, rng)


@given(pool_problems())
def test_average_pool_matches_reference(problem):
    shape, pool, strides, padding, seed = problem
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, shape).astype(np.float32)
    check_average_pool(x, pool, strides, padding, rng)


@given(pool_problems(), st.floats(-1e6, 1e6, width=32))
def test_max_pool_of_a_constant_is_that_constant(problem, value):
    shape, pool, strides, padding, _ = problem
    y, argmax = ops.max_pool_with_argmax(np.full(shape, value, np.float32), pool,
                                         strides, padding)
    assert_array_equal(y, np.float32(value))
    assert (argmax >= 0).all()
    assert_allclose(ops.average_pool(np.full(shape, value), pool, strides, padding),
                    value, rtol=1e-6)


# ---------------------------------------------------------------- finite differences


@pytest.mark.parametrize("pool, strides, padding", [
    (2, None, "valid"), (3, 2, "same"), ((2, 3), 1, "same"),
])
def test_gradients_match_finite_differences(pool, strides, padding):
    """L = sum(pool(x) * r). For max pooling the values are distinct and at least
    0.01 apart, so a 1e-6 step never changes which cell wins."""
    rng = np.random.default_rng(5)
    shape = (2, 5, 6, 2)
    x = (rng.permutation(np.prod(shape)).reshape(shape) * 0.01 - 1).astype(
        np.float32)
    pool, st_ = pair(pool), None if strides is None else pair(strides)
    y = naive_max_pool2d(x, pool, st_, padding)[0]
    r = rng.uniform(-1, 1, y.shape).astype(np.float32)
    overlap = 6
    got = ops.max_pool_backward(x, r, pool, st_, padding)
    want = numerical_gradient(
        lambda v: float((naive_max_pool2d(v, pool, st_, padding)[0] * r).sum()), x)
    assert_allclose(got, want, rtol=RTOL, atol=atol(overlap))

    got = ops.average_pool_backward(x, r, pool, st_, padding)
    want = numerical_gradient(
        lambda v: float((naive_avg_pool2d(v, pool, st_, padding) * r).sum()), x)
    assert_allclose(got, want, rtol=RTOL, atol=atol(overlap))


# ---------------------------------------------------------------- PyTorch


@pytest.mark.parametrize("x_shape, pool, strides, padding", EDGE_CASES)
def test_max_pool_matches_torch_with_explicit_padding(x_shape, pool, strides,
                                                      padding):
    """torch pads max pooling symmetrically; padding with -inf by hand on the
    bottom/right reproduces TensorFlow's 'same' (padding is never the max)."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x = np.random.default_rng(6).uniform(-1, 1, x_shape).astype(np.float32)
    pool = pair(pool)
    strides = pool if strides is None else pair(strides)
    top, bottom, left, right = ops.conv_geometry(x.shape, pool, strides,
                                                 padding).pads
    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    xt = F.pad(xt, (left, right, top, bottom), value=-math.inf)
    want = F.max_pool2d(xt, pool, strides).numpy().transpose(0, 2, 3, 1)
    assert_array_equal(ops.max_pool(x, pool, strides, padding), want)
