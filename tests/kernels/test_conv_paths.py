"""Every implementation path of the convolution kernels, through ops, against
the literal loops (tests/reference.py's ``naive_conv2d``).

conv2d_forward and conv2d_backward each choose between a direct loop and
im2col + BLAS by the patch length (threshold measured with bench/kernels.py).
Each case below is built to land on one path, and the test first checks that
it really does, so moving the threshold cannot silently leave a path untested.
Each case runs on one thread and on several, with large and small chunks.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose
from reference import naive_conv2d, naive_conv2d_backward

from convsim import ops
from convsim.kernels import conv as conv_kernels
from convsim.kernels import patches
from convsim.runtime import tasks

THIN = conv_kernels.DIRECT_MAX_PATCH // 9  # channels of a 3x3 patch on the direct path
WIDE = 64  # 3x3x64 = 576 values, as in the models' wide layers: im2col + BLAS
SIDE = 19  # a 19x19 map: 361 output positions, several chunks per image

# fmt: off
CASES = [
    # x shape, kernel shape, strides, padding, dilation; then whether the
    # direct loops run (forward and dL/dkernel) instead of im2col + BLAS.
    # dL/dx always takes BLAS.
    pytest.param((2, 6, 6, THIN), (3, 3, THIN, 3), 1, "same", 1, True,
                 id="thin-patch-small-map"),
    pytest.param((2, 2 * SIDE, 2 * SIDE, THIN), (3, 3, THIN, 4), 2, "same", 1, True,
                 id="thin-patch-big-map-stride-2"),
    pytest.param((2, SIDE, SIDE, THIN), (3, 3, THIN, 4), 1, "same", 1, True,
                 id="thin-patch-big-map"),
    pytest.param((2, SIDE, 7, THIN), (3, 3, THIN, 4), 1, "same", 1, True,
                 id="thin-patch-narrow-map"),
    pytest.param((1, SIDE + 1, SIDE, 1), (2, 3, 1, 2), 1, "same", 2, True,
                 id="thin-patch-dilated"),
    pytest.param((2, 7, 9, 3), (3, 3, 3, 5), 1, "same", 1, False,
                 id="rgb-patch-small-map"),
    pytest.param((2, 2 * SIDE, 2 * SIDE, 3), (3, 3, 3, 4), 2, "same", 1, False,
                 id="rgb-patch-big-map-stride-2"),
    pytest.param((2, SIDE, SIDE, 3), (3, 3, 3, 3), 1, "valid", 1, False,
                 id="rgb-patch-big-map-valid"),
    pytest.param((1, SIDE + 1, SIDE, 5), (2, 3, 5, 2), 1, "same", 2, False,
                 id="medium-patch-dilated"),
    pytest.param((2, 5, 5, WIDE), (3, 3, WIDE, 2), 1, "valid", 1, False,
                 id="wide-patch-small-map"),
    pytest.param((1, SIDE, SIDE, WIDE), (3, 3, WIDE, 2), 1, "same", 1, False,
                 id="wide-patch-big-map"),
]
# fmt: on


@pytest.mark.parametrize(
    "threads_used, chunk_rows", [(1, 512), (2, 7), (3, 64)],
    ids=["one-thread", "2-threads-7-row-chunks", "3-threads-64-row-chunks"])
@pytest.mark.parametrize("x_shape, k_shape, strides, padding, dilation, direct", CASES)
def test_each_path_matches_the_reference(
    x_shape, k_shape, strides, padding, dilation, direct, threads_used, chunk_rows,
    monkeypatch
):
    # The BLAS path cuts the batch into tasks and each task's positions into
    # chunks: small odd chunks put chunk edges inside windows and images, and
    # several threads run the tasks at once.
    for module in (tasks, conv_kernels, patches):
        monkeypatch.setattr(module, "thread_count", lambda: threads_used)
    monkeypatch.setattr(patches, "CHUNK_ROWS", chunk_rows)
    rng = np.random.default_rng(7)
    x = rng.uniform(-1, 1, x_shape).astype(np.float32)
    k = rng.uniform(-1, 1, k_shape).astype(np.float32)
    b = rng.uniform(-1, 1, k_shape[3]).astype(np.float32)
    geo = ops.conv_geometry(x_shape, k_shape[:2], strides, padding, dilation)
    patch = k_shape[0] * k_shape[1] * k_shape[2]
    positions = geo.out_h * geo.out_w
    assert conv_kernels._direct(patch) == direct

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
