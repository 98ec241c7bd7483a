"""Every implementation path of the convolution kernels against the naive loops.

conv2d_forward and conv2d_backward each choose between a direct loop and
im2col + BLAS by the shape (thresholds measured in bench/kernels.py). Each case
below is built to land on one specific combination, and the test first checks
that it really does, so moving a threshold cannot silently leave a path untested.
Each case runs with the BLAS products split over threads and in one piece.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference import naive_conv2d, naive_conv2d_backward

from convsim import ops
from convsim.kernels import conv as conv_kernels
from convsim.kernels import matmul

WIDE = conv_kernels.KERNEL_GRAD_DIRECT_MAX_PATCH // 9 + 1  # past both limits
MEDIUM = conv_kernels.FORWARD_DIRECT_MAX_PATCH // 9 + 1  # past the forward limit only
SIDE = 19  # a 19x19 map: 361 output positions, rows wide enough for direct dL/dkernel
NARROW = conv_kernels.KERNEL_GRAD_DIRECT_MIN_WIDTH - 1

# fmt: off
CASES = [
    # x shape, kernel shape, strides, padding, dilation; then which paths run
    # the direct loop: (forward, dL/dkernel). dL/dx always takes BLAS + col2im.
    pytest.param((2, 6, 6, 2), (3, 3, 2, 3), 1, "same", 1, (True, False),
                 id="thin-patch-small-map"),
    pytest.param((2, 2 * SIDE, 2 * SIDE, 3), (3, 3, 3, 4), 2, "same", 1, (True, True),
                 id="thin-patch-big-map-stride-2"),
    pytest.param((2, SIDE, SIDE, 3), (3, 3, 3, 4), 1, "same", 1, (True, True),
                 id="thin-patch-big-map"),
    pytest.param((2, SIDE, NARROW, 3), (3, 3, 3, 4), 1, "same", 1, (True, False),
                 id="thin-patch-narrow-map"),
    pytest.param((2, 7, 9, MEDIUM), (3, 3, MEDIUM, 5), 1, "same", 1, (False, False),
                 id="medium-patch-small-map"),
    pytest.param((1, SIDE, SIDE, MEDIUM), (3, 3, MEDIUM, 3), 1, "same", 1,
                 (False, True), id="medium-patch-big-map"),
    pytest.param((2, SIDE, SIDE, 4), (3, 3, 4, 3), 1, "valid", 1,
                 (True, True), id="big-map-valid"),
    pytest.param((1, SIDE + 1, SIDE, 5), (2, 3, 5, 2), 1, "same", 2,
                 (True, True), id="big-map-dilated"),
    pytest.param((2, 5, 5, WIDE), (3, 3, WIDE, 2), 1, "valid", 1,
                 (False, False), id="wide-patch-small-map"),
    pytest.param((1, SIDE, SIDE, WIDE), (3, 3, WIDE, 2), 1, "same", 1,
                 (False, False), id="wide-patch-big-map"),
]
# fmt: on


@pytest.mark.parametrize("threaded", [True, False], ids=["threaded", "one-thread"])
@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation, direct", CASES)
def test_each_path_matches_the_reference(
    x_shape, k_shape, strides, padding, dilation, direct, threaded, monkeypatch
):
    # BLAS products split over threads (convsim.kernels.matmul) only above a
    # size these small cases never reach, so force both ways.
    monkeypatch.setattr(matmul, "MIN_SPLIT_WORK", 0 if threaded else 10**18)
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    k = rng.uniform(-1, 1, k_shape).astype(np.float32)
    b = rng.uniform(-1, 1, k_shape[3]).astype(np.float32)
    geo = ops.conv_geometry(x_shape, k_shape[:2], strides, padding, dilation)
    patch = k_shape[0] * k_shape[1] * k_shape[2]
    positions = geo.out_h * geo.out_w
    assert (
        conv_kernels._direct_forward(patch),
        conv_kernels._direct_kernel_grad(patch, geo.out_w),
    ) == direct

    y = ops.conv(x, k, strides, padding, dilation_rate=dilation, bias=b)
    tol = 1e-5 * np.sqrt(patch)  # see the tolerance note in test_conv.py
    assert_allclose(
        y,
        naive_conv2d(x, k, b, (strides,) * 2, padding, (dilation,) * 2),
        rtol=1e-5,
        atol=tol,
    )

    dy = rng.uniform(-1, 1, y.shape).astype(np.float32)
    dx, dk, db = ops.conv_backward(x, k, dy, strides, padding, dilation)
    want_dx, want_dk, want_db = naive_conv2d_backward(
        x, k, dy, (strides,) * 2, padding, (dilation,) * 2
    )
    sums = y.shape[0] * positions
    assert_allclose(dx, want_dx, rtol=1e-5, atol=1e-5 * np.sqrt(k.size))
    assert_allclose(dk, want_dk, rtol=1e-5, atol=1e-5 * np.sqrt(sums))
    assert_allclose(db, want_db, rtol=1e-5, atol=1e-5 * np.sqrt(sums))

    no_dx, dk2, db2 = ops.conv_backward(
        x, k, dy, strides, padding, dilation, input_grad=False
    )
    assert no_dx is None
    assert_allclose(dk2, dk)
    assert_allclose(db2, db)
