"""The Numba affine warp kernel against hand-worked rows and a naive reference.

The reference below is written from SciPy's documented boundary rules (Keras
hands every channel to ``scipy.ndimage.affine_transform``), one output pixel at
a time in float64, with plain Python modular arithmetic instead of the
kernel's branches. When SciPy is installed the kernel is also compared with
SciPy itself, bit for bit.
"""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal

from convsim.kernels import warp

MODES = ["nearest", "reflect", "wrap", "constant"]


def _inside(c, n, mode):
    """Map a real position into the image; None means 'use cval'."""
    if 0 <= c <= n - 1:
        return c
    if n == 1:
        return None if mode == "constant" else 0.0
    if mode == "constant":
        return None
    if mode == "nearest":
        return min(max(c, 0.0), n - 1.0)
    if mode == "wrap":  # period n - 1: positions 0 and n - 1 coincide
        return c % (n - 1)
    # reflect about the pixel edges: period 2n, position -0.5 is the mirror
    c = c % (2 * n)
    return 2 * n - 1 - c if c > n - 0.5 else c


def _index(i, n, mode):
    """Integer tap index for interpolation; taps outside are edge-mirrored."""
    if 0 <= i < n:
        return i
    if n == 1:
        return 0
    if mode == "nearest":
        return min(max(i, 0), n - 1)
    if mode == "reflect":
        i = i % (2 * n)
        return 2 * n - 1 - i if i >= n else i
    i = i % (2 * n - 2)  # mirror about the centre of the edge pixel
    return 2 * n - 2 - i if i >= n else i


def naive_warp(image, m, order, mode, cval):
    h, w, channels = image.shape
    out = np.empty((h, w, channels))
    for row in range(h):
        for col in range(w):
            r = _inside(m[0, 0] * row + m[0, 1] * col + m[0, 2], h, mode)
            c = _inside(m[1, 0] * row + m[1, 1] * col + m[1, 2], w, mode)
            if r is None or c is None:
                out[row, col] = cval
            elif order == 0:
                rr = _index(math.floor(r + 0.5), h, mode)
                cc = _index(math.floor(c + 0.5), w, mode)
                out[row, col] = image[rr, cc]
            else:
                r0, c0 = math.floor(r), math.floor(c)
                fr, fc = r - r0, c - c0
                value = 0.0
                for dr, wr in ((0, 1 - fr), (1, fr)):
                    for dc, wc in ((0, 1 - fc), (1, fc)):
                        value = value + wr * wc * image[
                            _index(r0 + dr, h, mode), _index(c0 + dc, w, mode)
                        ].astype(np.float64)
                out[row, col] = value
    return out


def run(image, m, order, mode, cval=0.0, parallel=False):
    kernel = warp.affine_warp_parallel if parallel else warp.affine_warp_serial
    images = np.ascontiguousarray(image, np.float32)[None]
    return kernel(images, np.asarray(m, np.float64)[None], np.zeros(1, np.bool_),
                  order, warp.MODES[mode], cval)[0]


# One row "a b c d" = 1 2 3 4 (two identical rows), sampled 2 pixels to the
# left of each output pixel: out[j] = in[j - 2]. Hand-worked from the modes:
# nearest aaaa|abcd, reflect (half-sample) ba|abcd, SciPy wrap (period n-1:
# position -1 is position 2, -2 is 1), constant k.
SHIFT_CASES = {
    "nearest": [1, 1, 1, 2],
    "reflect": [2, 1, 1, 2],
    "wrap": [2, 3, 1, 2],
    "constant": [9, 9, 1, 2],
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order", [0, 1])
def test_integer_shift_each_fill_mode(mode, order):
    image = np.array([[1, 2, 3, 4], [1, 2, 3, 4]], np.float32)[..., None]
    m = [[1, 0, 0], [0, 1, -2]]
    out = run(image, m, order, mode, cval=9.0)
    assert_array_equal(out[..., 0], [SHIFT_CASES[mode]] * 2)


def test_shift_right_side_each_mode():
    image = np.array([[1, 2, 3, 4]], np.float32)[..., None]
    m = [[1, 0, 0], [0, 1, 3]]  # out[j] = in[j + 3]
    expected = {"nearest": [4, 4, 4, 4], "reflect": [4, 4, 3, 2],
                "wrap": [4, 2, 3, 1], "constant": [4, 0, 0, 0]}
    for mode, row in expected.items():
        assert_array_equal(run(image, m, 0, mode)[0, :, 0], row, err_msg=mode)


def test_half_pixel_bilinear_blend_and_constant_has_no_blend():
    image = np.array([[0, 10, 20, 30]], np.float32)[..., None]
    m = [[1, 0, 0], [0, 1, 0.5]]  # halfway between neighbours
    assert_allclose(run(image, m, 1, "nearest")[0, :, 0], [5, 15, 25, 30])
    # constant: position 3.5 is outside [0, 3], so cval, not a blend with cval
    assert_allclose(run(image, m, 1, "constant", cval=-1)[0, :, 0], [5, 15, 25, -1])
    # order 0 rounds halves up: 0.5 -> 1
    assert_allclose(run(image, m, 0, "nearest")[0, :, 0], [10, 20, 30, 30])


def test_identity_flag_copies_exactly():
    image = np.random.default_rng(0).normal(size=(2, 3, 4, 2)).astype(np.float32)
    m = np.zeros((2, 2, 3))  # would sample pixel (0, 0) everywhere
    out = warp.affine_warp_serial(image, m, np.array([True, False]), 1, 0, 0.0)
    assert_array_equal(out[0], image[0])
    assert_array_equal(out[1], np.broadcast_to(image[1, 0, 0], (3, 4, 2)))


matrices = st.tuples(*[st.floats(-2, 2) for _ in range(4)],
                     st.floats(-8, 8), st.floats(-8, 8))


@given(h=st.integers(1, 6), w=st.integers(1, 6), c=st.integers(1, 3),
       coeffs=matrices, order=st.sampled_from([0, 1]),
       mode=st.sampled_from(MODES), seed=st.integers(0, 2**16))
def test_matches_naive_reference(h, w, c, coeffs, order, mode, seed):
    image = np.random.default_rng(seed).uniform(-5, 5, (h, w, c)).astype(np.float32)
    a, b, d, e, f, g = coeffs
    m = np.array([[a, b, f], [d, e, g]])
    expected = naive_warp(image, m, order, mode, cval=0.25)
    assert_allclose(run(image, m, order, mode, 0.25), expected, rtol=1e-5, atol=1e-5)


def test_parallel_equals_serial():
    rng = np.random.default_rng(3)
    images = rng.uniform(0, 255, (5, 9, 7, 3)).astype(np.float32)
    m = rng.uniform(-1.5, 1.5, (5, 2, 3))
    identity = np.array([False, True, False, False, True])
    for mode in range(4):
        serial = warp.affine_warp_serial(images, m, identity, 1, mode, 3.0)
        parallel = warp.affine_warp_parallel(images, m, identity, 1, mode, 3.0)
        assert_array_equal(serial, parallel)
        assert serial.dtype == np.float32 and serial.shape == images.shape


def test_bit_identical_to_scipy_when_installed():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(7)
    for _ in range(25):
        h, w = rng.integers(1, 8, 2)
        image = rng.uniform(-3, 3, (h, w, 2)).astype(np.float32)
        m = rng.uniform(-2, 2, (2, 3)) * [1, 1, 4]
        for mode in MODES:
            for order in (0, 1):
                ours = run(image, m, order, mode, cval=0.5)
                ref = np.stack([ndimage.affine_transform(
                    image[..., k], m[:, :2], m[:, 2], order=order, mode=mode,
                    cval=0.5) for k in range(2)], -1)
                assert_array_equal(ours, ref, err_msg=f"{mode} order={order}")
