"""Convolution (ops.conv / ops.conv_backward) against the literal loops of
convsim.kernels.reference run in float64 on tests/reference.py's own geometry
(``naive_conv2d``), by hand-picked edge cases, hypothesis, finite differences
and the book's properties (translation equivariance, 'same' keeps the size,
no float32 drift in long gradient sums)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from reference import naive_conv2d, naive_conv2d_backward, numerical_gradient
from strategies import conv_arguments

from convsim import ops, shapes
from convsim.kernels import conv as conv_kernels

# Tolerances for a float32 kernel against a float64 reference fed the *same*
# float32 numbers (so only the kernel's arithmetic differs). An output that sums
# T products of values in [-1, 1] carries a rounding error of at most about
# T * 2**-24 * T_max_term in the worst case and ~sqrt(T) * 6e-8 typically (errors
# of random sign). atol = 1e-5 * sqrt(T) is ~100x the typical error and still
# above the worst-case bound T * 1.2e-7 for every T < 6900 used here; a real bug
# (a wrong tap, a missing pad, a swapped axis) moves outputs by O(0.1).
RTOL = 1e-5


def atol(terms: int) -> float:
    return 1e-5 * math.sqrt(max(terms, 1))


def random_case(seed, x_shape, k_shape):
    """float32 inputs in [-1, 1): the kernel and the reference see the same bits."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    k = rng.uniform(-1, 1, k_shape).astype(np.float32)
    b = rng.uniform(-1, 1, k_shape[3]).astype(np.float32)
    return rng, x, k, b


def check_against_reference(x, k, b, strides, padding, dilation, rng):
    """Forward and all three gradients of convsim vs the naive loops."""
    kh, kw, c, f = k.shape
    y = ops.conv(x, k, strides, padding, dilation_rate=dilation, bias=b)
    want = naive_conv2d(x, k, b, strides, padding, dilation)
    assert y.dtype == np.float32
    assert y.shape == want.shape
    assert_allclose(y, want, rtol=RTOL, atol=atol(kh * kw * c))

    dy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    dx, dk, db = ops.conv_backward(x, k, dy, strides, padding, dilation)
    want_dx, want_dk, want_db = naive_conv2d_backward(x, k, dy, strides, padding,
                                                      dilation)
    positions = y.shape[0] * y.shape[1] * y.shape[2]
    assert (dx.dtype, dk.dtype, db.dtype) == (np.float32,) * 3
    assert_allclose(dx, want_dx, rtol=RTOL, atol=atol(kh * kw * f))
    assert_allclose(dk, want_dk, rtol=RTOL, atol=atol(positions))
    assert_allclose(db, want_db, rtol=RTOL, atol=atol(positions))


# ---------------------------------------------------------------- edge cases

# Wide enough that kh*kw*c passes the direct-loop limit: the im2col + BLAS path.
WIDE = conv_kernels.DIRECT_MAX_PATCH // 9 + 1

EDGE_CASES = [
    # x shape, kernel shape, strides, padding, dilation
    pytest.param((1, 1, 1, 1), (1, 1, 1, 1), 1, "valid", 1, id="1x1-input-1x1-kernel"),
    pytest.param((2, 1, 1, 3), (3, 3, 3, 2), 1, "same", 1, id="1x1-input-same"),
    pytest.param((2, 4, 5, 3), (4, 5, 3, 2), 1, "valid", 1, id="kernel-equals-input"),
    pytest.param((2, 4, 5, 3), (4, 5, 3, 2), 1, "same", 1, id="kernel-is-input-same"),
    pytest.param((1, 7, 7, 2), (2, 2, 2, 3), 3, "valid", 1, id="stride-gt-kernel"),
    pytest.param((1, 7, 8, 2), (2, 2, 2, 3), 3, "same", 1, id="stride-gt-kernel-same"),
    pytest.param((1, 5, 5, 1), (3, 3, 1, 1), 1, "valid", 1, id="batch1-one-channel"),
    pytest.param((1, 6, 6, 2), (2, 2, 2, 2), 1, "same", 1, id="even-kernel-same"),
    pytest.param((1, 5, 6, 1), (4, 4, 1, 1), 1, "same", 1, id="even-kernel-4-same"),
    pytest.param((1, 4, 4, 1), (3, 3, 1, 1), 2, "same", 1, id="stride2-same-even"),
    pytest.param((1, 5, 5, 1), (3, 3, 1, 1), 2, "same", 1, id="stride2-same-odd"),
    pytest.param((2, 7, 7, 2), (3, 3, 2, 2), 1, "valid", 2, id="dilation2-valid"),
    pytest.param((2, 6, 7, 2), (3, 3, 2, 2), 1, "same", 2, id="dilation2-same"),
    pytest.param((1, 3, 3, 1), (3, 3, 1, 1), 1, "same", 3, id="dilation-taps-on-pad"),
    pytest.param((2, 9, 8, 3), (2, 3, 3, 2), (1, 2), "same", (2, 1), id="asymmetric"),
    pytest.param((2, 5, 5, WIDE), (3, 3, WIDE, 4), 1, "valid", 1, id="im2col"),
    pytest.param((2, 6, 6, WIDE), (3, 3, WIDE, 3), 2, "same", 1, id="im2col-s2-same"),
    pytest.param((1, 7, 7, WIDE), (3, 3, WIDE, 2), 1, "valid", 2, id="im2col-dilated"),
    # larger maps (> 256 positions per image), thin and wide patches: the
    # backward pass may choose loops or im2col + BLAS by these sizes
    pytest.param((2, 20, 19, 1), (3, 3, 1, 2), 1, "valid", 1, id="big-map-thin"),
    pytest.param((1, 19, 19, 4), (3, 3, 4, 2), 1, "valid", 1, id="big-map-wide"),
    pytest.param((1, 35, 36, 4), (3, 3, 4, 2), 2, "same", 1, id="big-map-s2-same"),
]


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation", EDGE_CASES)
def test_edge_cases_match_reference(x_shape, k_shape, strides, padding, dilation):
    rng, x, k, b = random_case(0, x_shape, k_shape)
    st_ = (strides, strides) if isinstance(strides, int) else strides
    dil = (dilation, dilation) if isinstance(dilation, int) else dilation
    check_against_reference(x, k, b, st_, padding, dil, rng)


def test_im2col_cases_really_take_the_blas_path():
    """Keeps the 'im2col' edge cases meaningful if the threshold moves."""
    assert 3 * 3 * WIDE > conv_kernels.DIRECT_MAX_PATCH


@pytest.mark.parametrize("channels", [1, WIDE], ids=["direct", "im2col"])
def test_zero_size_batch_gives_empty_output_and_zero_gradients(channels):
    x = np.zeros((0, 5, 6, channels), np.float32)
    k = np.ones((3, 3, channels, 4), np.float32)
    y = ops.conv(x, k, strides=2, padding="same", bias=np.ones(4))
    assert y.shape == (0, 3, 3, 4) and y.dtype == np.float32
    dx, dk, db = ops.conv_backward(x, k, np.zeros((0, 3, 3, 4)), 2, "same")
    assert dx.shape == (0, 5, 6, channels)
    assert dk.shape == k.shape and db.shape == (4,)
    # zeros, not whatever np.empty happened to hold
    assert_array_equal(dk, 0.0)
    assert_array_equal(db, 0.0)


def test_keras_docstring_example():
    """The 5x5 ramp, 3x3 box filter, stride 2 example worked out by hand:
    top-left window holds 0,1,2,5,6,7,10,11,12 -> 54."""
    x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    y = ops.conv(x, np.ones((3, 3, 1, 1)), strides=2)
    assert_array_equal(y[0, :, :, 0], [[54, 72], [144, 162]])


def test_stride2_same_pads_bottom_right_only():
    """4x4 input, 3x3 kernel, stride 2, 'same': TF pads (0, 1), so the first
    window starts at the real top-left cell. A kernel that picks its top-left
    tap therefore reads x[0, 0] and x[2, 2] etc. (no shift by one)."""
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    pick_top_left = np.zeros((3, 3, 1, 1), np.float32)
    pick_top_left[0, 0] = 1
    y = ops.conv(x, pick_top_left, strides=2, padding="same")
    assert_array_equal(y[0, :, :, 0], [[0, 2], [8, 10]])
    assert ops.conv_geometry((1, 4, 4, 1), 3, 2, "same").pads == (0, 1, 0, 1)


def test_accepts_other_dtypes_and_layouts():
    """int, bool, float64, Fortran-order and strided inputs are all converted."""
    rng, x, k, b = random_case(1, (2, 5, 5, 2), (3, 3, 2, 2))
    want = ops.conv(x, k, bias=b)
    variants = [
        x.astype(np.float64),
        np.asfortranarray(x),
        np.repeat(x, 2, axis=2)[:, :, ::2, :],  # non-contiguous view
        x.astype(">f4"),  # big-endian
    ]
    for v in variants:
        assert_allclose(ops.conv(v, np.asfortranarray(k), bias=b), want, rtol=1e-6)
    ints = (x * 10).astype(np.int64)
    assert_allclose(ops.conv(ints, k), naive_conv2d(ints, k), rtol=RTOL,
                    atol=atol(18) * 10)
    bools = x > 0
    assert_allclose(ops.conv(bools, k.astype(np.float64)), naive_conv2d(bools, k),
                    rtol=RTOL, atol=atol(18))


# ---------------------------------------------------------------- hypothesis


@st.composite
def conv_problems(draw):
    x_shape, k_shape, strides, padding, dilation = draw(conv_arguments())
    seed = draw(st.integers(0, 2**32 - 1))
    return x_shape, k_shape, strides, padding, dilation, seed


@given(conv_problems())
def test_matches_reference_on_random_problems(problem):
    x_shape, k_shape, strides, padding, dilation, seed = problem
    rng, x, k, b = random_case(seed, x_shape, k_shape)
    check_against_reference(x, k, b, strides, padding, dilation, rng)


@given(conv_problems())
def test_output_shape_follows_shapes_py(problem):
    x_shape, k_shape, strides, padding, dilation, _ = problem
    geo = ops.conv_geometry(x_shape, k_shape[:2], strides, padding, dilation)
    y = ops.conv(np.zeros(x_shape), np.zeros(k_shape), strides, padding,
                 dilation_rate=dilation)
    assert y.shape == (x_shape[0], geo.out_h, geo.out_w, k_shape[3])
    if padding == "same":
        assert y.shape[1:3] == tuple(-(-n // s) for n, s in
                                     zip(x_shape[1:3], strides, strict=True))


@given(
    st.integers(1, 4), st.integers(1, 3), st.integers(1, 3), st.integers(0, 3),
    st.integers(0, 3), st.integers(0, 2**32 - 1),
)
def test_translation_equivariance(k, stride, dilation, shift_y, shift_x, seed):
    """Shifting the input down/right by a multiple of the stride shifts the
    valid output by that multiple divided by the stride (zeros come in at the
    top/left, so only the overlapping part is compared)."""
    span = dilation * (k - 1) + 1
    h, w = span + stride * 4, span + stride * 3
    rng, x, kern, b = random_case(seed, (2, h, w, 2), (k, k, 2, 3))
    moved = np.zeros_like(x)
    dy, dx = shift_y * stride, shift_x * stride
    moved[:, dy:, dx:, :] = x[:, : h - dy, : w - dx, :]
    y = ops.conv(x, kern, stride, dilation_rate=dilation, bias=b)
    y_moved = ops.conv(moved, kern, stride, dilation_rate=dilation, bias=b)
    out_h, out_w = y.shape[1:3]
    assert_allclose(y_moved[:, shift_y:, shift_x:],
                    y[:, : out_h - shift_y, : out_w - shift_x],
                    rtol=RTOL, atol=atol(k * k * 2))


@given(st.integers(1, 9), st.integers(1, 9), st.integers(1, 5), st.integers(1, 5),
       st.integers(1, 3))
def test_same_keeps_height_and_width_at_stride_1(h, w, kh, kw, dilation):
    y = ops.conv(np.ones((1, h, w, 1)), np.ones((kh, kw, 1, 2)), padding="same",
                 dilation_rate=dilation)
    assert y.shape == (1, h, w, 2)


# ---------------------------------------------------------------- finite differences

FD_CASES = [
    pytest.param((2, 5, 4, 2), (3, 2, 2, 3), (1, 1), "valid", (1, 1), id="valid"),
    pytest.param((2, 4, 6, 2), (3, 3, 2, 2), (2, 2), "same", (1, 1), id="s2-same"),
    pytest.param((1, 6, 5, 2), (2, 3, 2, 2), (1, 2), "same", (2, 1), id="dilated"),
]


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation", FD_CASES)
def test_gradients_match_finite_differences(x_shape, k_shape, strides, padding,
                                            dilation):
    """dL/dx, dL/dkernel, dL/dbias of L = sum(conv(x) * r) for a random r, from
    convsim vs central differences of the float64 reference. L is linear in
    each argument, so the differences are exact up to float64 rounding."""
    rng, x, k, b = random_case(2, x_shape, k_shape)
    y = naive_conv2d(x, k, b, strides, padding, dilation)
    r = rng.uniform(-1, 1, y.shape).astype(np.float32)

    def loss(x_=x, k_=k, b_=b):
        return float((naive_conv2d(x_, k_, b_, strides, padding, dilation) * r).sum())

    dx, dk, db = ops.conv_backward(x, k, r, strides, padding, dilation)
    kh, kw, c, f = k.shape
    positions = y.shape[0] * y.shape[1] * y.shape[2]
    assert_allclose(dx, numerical_gradient(lambda v: loss(x_=v), x), rtol=RTOL,
                    atol=atol(kh * kw * f))
    assert_allclose(dk, numerical_gradient(lambda v: loss(k_=v), k), rtol=RTOL,
                    atol=atol(positions))
    assert_allclose(db, numerical_gradient(lambda v: loss(b_=v), b), rtol=RTOL,
                    atol=atol(positions))


# ---------------------------------------------------------------- long sums


def test_kernel_and_bias_gradients_do_not_drift_past_2_to_the_24():
    """A float32 running sum of ones stops at 2**24 = 16,777,216 (adding 1 no
    longer changes it). Here batch*H*W = 1025*128*128 = 2**24 + 16384 ones, and
    dkernel and dbias must be that exact count (representable in float32: it is
    even and below 2**25). ~70 MB per array, ~1 s."""
    n, h, w = 1025, 128, 128
    ones = np.ones((n, h, w, 1), np.float32)
    _, dk, db = ops.conv_backward(ones, np.ones((1, 1, 1, 1), np.float32), ones)
    count = n * h * w
    assert count > 2**24
    assert dk[0, 0, 0, 0] == np.float32(count) == db[0]


# ---------------------------------------------------------------- PyTorch


def _torch_conv(torch, x, k, strides, pads, dilation):
    """PyTorch (NCHW, OIHW) with the padding given explicitly as (top, bottom,
    left, right), since torch's own padding= is symmetric."""
    import torch.nn.functional as F

    xt = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    kt = torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))
    top, bottom, left, right = pads
    xt = F.pad(xt, (left, right, top, bottom))  # torch order: last axis first
    y = F.conv2d(xt, kt, stride=strides, dilation=dilation)
    return y.numpy().transpose(0, 2, 3, 1)


def test_tf_same_differs_from_torch_symmetric_padding():
    """4x4 input, 3x3 kernel, stride 2: TensorFlow's 'same' pads (0, 1) per axis;
    torch's padding=1 pads (1, 1). Same output shape, different numbers, and
    torch with the TF padding made explicit agrees with convsim."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    rng, x, k, _ = random_case(3, (1, 4, 4, 1), (3, 3, 1, 1))
    ours = ops.conv(x, k, strides=2, padding="same")
    pads = ops.conv_geometry(x.shape, (3, 3), 2, "same").pads
    assert pads == (0, 1, 0, 1)
    assert_allclose(ours, _torch_conv(torch, x, k, 2, pads, 1), rtol=RTOL,
                    atol=atol(9))
    symmetric = F.conv2d(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()),
                         torch.from_numpy(k.transpose(3, 2, 0, 1).copy()),
                         stride=2, padding=1).numpy().transpose(0, 2, 3, 1)
    assert symmetric.shape == ours.shape
    assert not np.allclose(symmetric, ours, atol=1e-3)


@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation",
                         EDGE_CASES)
def test_matches_torch_with_explicit_padding(x_shape, k_shape, strides, padding,
                                             dilation):
    torch = pytest.importorskip("torch")
    _, x, k, _ = random_case(4, x_shape, k_shape)
    st_ = (strides, strides) if isinstance(strides, int) else strides
    dil = (dilation, dilation) if isinstance(dilation, int) else dilation
    pads = ops.conv_geometry(x.shape, k.shape[:2], st_, padding, dil).pads
    assert_allclose(ops.conv(x, k, st_, padding, dilation_rate=dil),
                    _torch_conv(torch, x, k, st_, pads, dil), rtol=RTOL,
                    atol=atol(k.shape[0] * k.shape[1] * k.shape[2]))


def test_shapes_module_is_what_ops_uses():
    geo = shapes.window_geometry((4, 4), (3, 3), (2, 2), "same")
    assert ops.conv_geometry((1, 4, 4, 1), 3, 2, "same") == geo
