"""2D convolution, forward and backward, over float32 NHWC arrays.

Shapes follow Keras (channels_last):

* inputs ``x``: ``(batch, height, width, in_channels)``
* kernel ``w``: ``(kernel_h, kernel_w, in_channels, filters)``
* outputs ``y``: ``(batch, out_h, out_w, filters)``

Padding arrives here already resolved into four numbers (top, bottom, left,
right) by :mod:`convsim.shapes`, so these kernels never guess: 'same' with
stride 2 on an even input has ``pad_bottom = pad_top + 1`` exactly as in
TensorFlow. Padding cells are zeros and are never written to memory.

How the work is done (chosen by measurement, see ``bench/kernels.py``):

* ``im2col``: each output position's receptive field (the *patch*) is copied
  into one row of a matrix, so the whole convolution becomes one matrix product
  ``patches @ kernel`` that NumPy hands to BLAS. Numba cannot call BLAS itself
  without SciPy, and BLAS is far faster than any loop we could write for the
  wide layers, so the matrix products happen in NumPy, outside the jitted code.
* ``_conv2d_direct`` is the literal loop "for every output cell, multiply the
  patch by the filter and add it up"; it is used where it measured faster
  (small patches, see ``FORWARD_DIRECT_MAX_PATCH``, where the patch matrix would be
  thin and copying it costs more than the product), and so is its twin for
  dL/dkernel. dL/dx always uses BLAS plus ``_col2im``.

Every jitted loop runs ``prange`` over the batch, and each iteration writes only
its own image's slice, so there are no races.
"""

from __future__ import annotations

import numpy as np
from numba import get_num_threads, njit, prange

from convsim.kernels.matmul import matmul, sum_of_products

# Patch length (kernel_h * kernel_w * in_channels) up to which the direct loops
# beat im2col + BLAS (bench/kernels.py --paths on 2 cores, one BLAS thread per
# core as in training, batch 20, ms):
#   forward, with the BLAS product split over both cores (kernels/matmul.py):
#     74x74x32 -> 64 (patch 288): 46 direct vs 85 im2col; 36x36x64 -> 128
#     (patch 576): 46 vs 39; 17x17x128 -> 128 (patch 1152): 20 vs 18;
#   dL/dkernel (measured before the split): 74x74x32 -> 64: 115 vs 190;
#     36x36x64 -> 128: 94 vs 121; 17x17x128 -> 128: 69 vs 45.
# Above them, the BLAS product wins.
FORWARD_DIRECT_MAX_PATCH = 288
KERNEL_GRAD_DIRECT_MAX_PATCH = 576
# The direct dL/dkernel loop also needs output rows this wide: it handles four
# cells of a row at a time, and on narrow maps most cells fall to the one-cell
# path. MNIST's 11- and 3-column maps, batch 64: 4.6 and 1.1 ms direct vs 3.3
# and 0.8 ms with BLAS; the cats-vs-dogs maps (72 and 34 columns): 60 and 46 ms
# direct vs 101 and 67 ms with BLAS.
KERNEL_GRAD_DIRECT_MIN_WIDTH = 16

# dL/dx always goes through BLAS: ``dy @ kernel.T`` gives every patch's
# gradient, and col2im adds the patches back into place. A direct loop
# (scatter each output gradient through its window) lost on every layer of
# the seed's two models with one BLAS thread (e.g. 74x74x32 -> 64, batch 20:
# 234 vs 106 ms; MNIST's 13x13x32 -> 64, batch 64: 20 vs 16 ms).


def _direct_forward(patch: int) -> bool:
    """Whether the forward pass takes the direct loop."""
    return patch <= FORWARD_DIRECT_MAX_PATCH


def _direct_kernel_grad(patch: int, out_w: int) -> bool:
    """Whether dL/dkernel takes the direct loop."""
    return (patch <= KERNEL_GRAD_DIRECT_MAX_PATCH
            and out_w >= KERNEL_GRAD_DIRECT_MIN_WIDTH)


# Output positions the direct dL/dkernel loop sums in float32 before adding the
# result to its float64 total (whole output rows; at least one row).
FLOAT32_TERMS = 256

# Output positions summed per float32 BLAS call in the kernel gradient; the chunk
# totals are then added in float64 (see conv2d_backward).
ROWS_PER_CHUNK = 8192


@njit(cache=True, parallel=True)
def _im2col(x, kh, kw, sh, sw, dh, dw, pad_top, pad_left, out_h, out_w):
    """Patches as rows: ``(batch, out_h*out_w, kh*kw*in_channels)``.

    Column order is (row in window, column in window, channel), the same order
    as ``kernel.reshape(kh*kw*in_channels, filters)``.
    """
    n, h, w, c = x.shape
    cols = np.zeros((n, out_h * out_w, kh * kw * c), dtype=x.dtype)
    for b in prange(n):
        for oy in range(out_h):
            for ox in range(out_w):
                row = oy * out_w + ox
                for i in range(kh):
                    iy = oy * sh + i * dh - pad_top
                    if iy < 0 or iy >= h:
                        continue  # a padding row: stays zero
                    for j in range(kw):
                        ix = ox * sw + j * dw - pad_left
                        if ix < 0 or ix >= w:
                            continue
                        start = (i * kw + j) * c
                        for ch in range(c):
                            cols[b, row, start + ch] = x[b, iy, ix, ch]
    return cols


@njit(cache=True, parallel=True)
def _col2im(dcols, h, w, kh, kw, sh, sw, dh, dw, pad_top, pad_left, out_h, out_w):
    """The adjoint of :func:`_im2col`: add every patch gradient back into place.

    Overlapping windows add into the same input cell; that is why the input
    gradient of a convolution is a sum. Cells under padding are dropped.
    """
    n = dcols.shape[0]
    c = dcols.shape[2] // (kh * kw)
    dx = np.zeros((n, h, w, c), dtype=dcols.dtype)
    for b in prange(n):
        for oy in range(out_h):
            for ox in range(out_w):
                row = oy * out_w + ox
                for i in range(kh):
                    iy = oy * sh + i * dh - pad_top
                    if iy < 0 or iy >= h:
                        continue
                    for j in range(kw):
                        ix = ox * sw + j * dw - pad_left
                        if ix < 0 or ix >= w:
                            continue
                        start = (i * kw + j) * c
                        for ch in range(c):
                            dx[b, iy, ix, ch] += dcols[b, row, start + ch]
    return dx


@njit(cache=True, inline="always")
def _add_patch_row(acc, x, kernel, b, iy, ix, i, j):
    """``acc += x[b, iy, ix, :] @ kernel[i, j]``: one input cell's channels times
    the filter weights at window position (i, j). Skipped when ``ix`` is a padding
    column (padding cells are zeros)."""
    if ix < 0 or ix >= x.shape[2]:
        return
    for ch in range(x.shape[3]):
        v = x[b, iy, ix, ch]
        for k in range(acc.size):  # innermost over filters: contiguous
            acc[k] += v * kernel[i, j, ch, k]


@njit(cache=True, parallel=True)
def _conv2d_direct(x, kernel, bias, sh, sw, dh, dw, pad_top, pad_left, out_h, out_w):
    """Literal convolution: each output cell is sum(patch * filter) + bias.

    Output cells are computed four at a time along a row (``a0``..``a3``): every
    weight read from memory is then used four times instead of once, which
    made this loop 1.5-2x faster (bench/kernels.py). Cells left over at the end
    of a row, and windows that overlap the left/right padding, take the one-cell
    path (:func:`_add_patch_row`).
    """
    n, h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    y = np.empty((n, out_h, out_w, f), dtype=np.float32)
    full = out_w - out_w % 4  # output columns done four at a time
    for b in prange(n):
        a0 = np.empty(f, dtype=np.float32)
        a1 = np.empty(f, dtype=np.float32)
        a2 = np.empty(f, dtype=np.float32)
        a3 = np.empty(f, dtype=np.float32)
        for oy in range(out_h):
            for ox in range(0, full, 4):
                a0[:] = bias
                a1[:] = bias
                a2[:] = bias
                a3[:] = bias
                for i in range(kh):
                    iy = oy * sh + i * dh - pad_top
                    if iy < 0 or iy >= h:
                        continue  # a padding row
                    for j in range(kw):
                        ix = ox * sw + j * dw - pad_left  # for cell ox; ox+q adds q*sw
                        if ix < 0 or ix + 3 * sw >= w:  # some cell in the padding
                            _add_patch_row(a0, x, kernel, b, iy, ix, i, j)
                            _add_patch_row(a1, x, kernel, b, iy, ix + sw, i, j)
                            _add_patch_row(a2, x, kernel, b, iy, ix + 2 * sw, i, j)
                            _add_patch_row(a3, x, kernel, b, iy, ix + 3 * sw, i, j)
                            continue
                        for ch in range(c):
                            v0 = x[b, iy, ix, ch]
                            v1 = x[b, iy, ix + sw, ch]
                            v2 = x[b, iy, ix + 2 * sw, ch]
                            v3 = x[b, iy, ix + 3 * sw, ch]
                            for k in range(f):
                                weight = kernel[i, j, ch, k]
                                a0[k] += v0 * weight
                                a1[k] += v1 * weight
                                a2[k] += v2 * weight
                                a3[k] += v3 * weight
                y[b, oy, ox, :] = a0
                y[b, oy, ox + 1, :] = a1
                y[b, oy, ox + 2, :] = a2
                y[b, oy, ox + 3, :] = a3
            for ox in range(full, out_w):
                a0[:] = bias
                for i in range(kh):
                    iy = oy * sh + i * dh - pad_top
                    if iy < 0 or iy >= h:
                        continue
                    for j in range(kw):
                        ix = ox * sw + j * dw - pad_left
                        _add_patch_row(a0, x, kernel, b, iy, ix, i, j)
                y[b, oy, ox, :] = a0
    return y


@njit(cache=True, inline="always")
def _add_cell_grad(acc, x, dy, b, iy, ix, oy, ox, i, j):
    """``acc[i, j] += outer(x[b, iy, ix, :], dy[b, oy, ox, :])``: one output
    cell's share of dL/dkernel at window position (i, j); nothing for a padding
    cell."""
    if ix < 0 or ix >= x.shape[2]:
        return
    for ch in range(x.shape[3]):
        v = x[b, iy, ix, ch]
        for k in range(dy.shape[3]):
            acc[i, j, ch, k] += v * dy[b, oy, ox, k]


@njit(cache=True, inline="always")
def _add_output_row_grad(acc, x, dy, b, oy, sh, sw, dh, dw, pad_top, pad_left):
    """``acc`` += the dL/dkernel terms of output row ``oy`` of image ``b``.

    Four output cells at a time where their windows are inside the image (every
    input value read then serves four products), one at a time elsewhere.
    """
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    kh, kw = acc.shape[0], acc.shape[1]
    out_w, f = dy.shape[2], dy.shape[3]
    full = out_w - out_w % 4
    for ox in range(0, full, 4):
        for i in range(kh):
            iy = oy * sh + i * dh - pad_top
            if iy < 0 or iy >= h:
                continue
            for j in range(kw):
                ix = ox * sw + j * dw - pad_left
                if ix < 0 or ix + 3 * sw >= w:  # some cell in the padding
                    for q in range(4):
                        _add_cell_grad(acc, x, dy, b, iy, ix + q * sw, oy, ox + q,
                                       i, j)
                    continue
                for ch in range(c):
                    v0 = x[b, iy, ix, ch]
                    v1 = x[b, iy, ix + sw, ch]
                    v2 = x[b, iy, ix + 2 * sw, ch]
                    v3 = x[b, iy, ix + 3 * sw, ch]
                    for k in range(f):
                        acc[i, j, ch, k] += (v0 * dy[b, oy, ox, k]
                                             + v1 * dy[b, oy, ox + 1, k]
                                             + v2 * dy[b, oy, ox + 2, k]
                                             + v3 * dy[b, oy, ox + 3, k])
    for ox in range(full, out_w):
        for i in range(kh):
            iy = oy * sh + i * dh - pad_top
            if iy < 0 or iy >= h:
                continue
            for j in range(kw):
                ix = ox * sw + j * dw - pad_left
                _add_cell_grad(acc, x, dy, b, iy, ix, oy, ox, i, j)


@njit(cache=True, parallel=True)
def _kernel_grad_direct(x, dy, kh, kw, sh, sw, dh, dw, pad_top, pad_left, shares):
    """dL/dkernel by the literal loop: every (patch value) * (output gradient).

    The batch is split into ``shares`` parts, one per thread (images t,
    t + shares, ...),
    and each share has its own float64 total, so threads never write the same
    memory. Products are first summed in float32 over whole output rows, at
    most ``FLOAT32_TERMS`` positions, then added to the float64 total: no
    float32 drift over the ~20,000 positions of a 150x150 image, without
    paying float64 for every product.
    """
    n, c = x.shape[0], x.shape[3]
    out_h, out_w, f = dy.shape[1], dy.shape[2], dy.shape[3]
    partial = np.zeros((shares, kh, kw, c, f), dtype=np.float64)
    rows_per_sum = max(1, FLOAT32_TERMS // max(out_w, 1))
    for share in prange(shares):
        acc = np.zeros((kh, kw, c, f), dtype=np.float32)
        flat_acc = acc.reshape(-1)
        flat_total = partial[share].reshape(-1)
        for b in range(share, n, shares):
            for oy in range(out_h):
                _add_output_row_grad(acc, x, dy, b, oy, sh, sw, dh, dw, pad_top,
                                     pad_left)
                if (oy + 1) % rows_per_sum == 0 or oy == out_h - 1:
                    for e in range(flat_acc.size):  # float32 sum -> float64 total
                        flat_total[e] += flat_acc[e]
                        flat_acc[e] = 0.0
    return partial.sum(axis=0)


def conv2d_forward(x, kernel, bias, strides, pads, dilation, out_hw):
    """Convolution output ``(batch, out_h, out_w, filters)``.

    Args:
        x: float32 ``(batch, height, width, in_channels)``, C-contiguous.
        kernel: float32 ``(kernel_h, kernel_w, in_channels, filters)``.
        bias: float32 ``(filters,)`` (zeros when the layer has no bias).
        strides, dilation: ``(sh, sw)``, ``(dh, dw)``.
        pads: ``(top, bottom, left, right)`` zeros, from :mod:`convsim.shapes`.
        out_hw: ``(out_h, out_w)``, from :mod:`convsim.shapes`.
    """
    n = x.shape[0]
    kh, kw, c, f = kernel.shape
    (sh, sw), (dh, dw), (out_h, out_w) = strides, dilation, out_hw
    top, left = pads[0], pads[2]
    if _direct_forward(kh * kw * c):
        return _conv2d_direct(x, kernel, bias, sh, sw, dh, dw, top, left, out_h, out_w)
    cols = _im2col(x, kh, kw, sh, sw, dh, dw, top, left, out_h, out_w)
    y = matmul(cols.reshape(-1, kh * kw * c), kernel.reshape(kh * kw * c, f))
    y += bias
    return y.reshape(n, out_h, out_w, f)


def conv2d_backward(x, kernel, dy, strides, pads, dilation, input_grad=True):
    """Gradients ``(dx, dkernel, dbias)`` of a convolution, given ``dy = dL/dy``.

    ``dx`` is ``None`` when ``input_grad`` is False (a model's first layer needs
    no gradient for its input, and skipping it saves a third of the work).

    ``dkernel`` and ``dbias`` sum over every image and output position (millions
    of terms for a batch of 150x150 images), so they are accumulated in float64:
    the total does not drift the way one long float32 running sum would.
    Patches up to ``KERNEL_GRAD_DIRECT_MAX_PATCH`` values on maps at least
    ``KERNEL_GRAD_DIRECT_MIN_WIDTH`` columns wide use the direct loop (float32
    sums per output row, added in float64); otherwise BLAS sums chunks of about
    ``ROWS_PER_CHUNK`` positions in float32 and the chunk results are added in
    float64. (See the thresholds above for the measurements.)
    """
    n, h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    out_h, out_w = dy.shape[1], dy.shape[2]
    (sh, sw), (dh, dw) = strides, dilation
    top, left = pads[0], pads[2]
    k = kh * kw * c
    dbias = dy.reshape(-1, f).sum(axis=0, dtype=np.float64).astype(np.float32)
    dy_rows = dy.reshape(n, out_h * out_w, f)
    if _direct_kernel_grad(k, out_w):
        shares = max(1, min(n, get_num_threads()))  # one per thread
        dkernel = _kernel_grad_direct(x, dy, kh, kw, sh, sw, dh, dw, top, left,
                                      shares)
    else:
        cols = _im2col(x, kh, kw, sh, sw, dh, dw, top, left, out_h, out_w)
        # whole images per chunk, and at least one chunk per thread
        per_chunk = max(1, min(ROWS_PER_CHUNK // (out_h * out_w),
                               -(-n // get_num_threads())))
        chunks = [slice(b, b + per_chunk) for b in range(0, n, per_chunk)]
        chunks = chunks or [slice(0, 0)]  # an empty batch: zero gradient
        dkernel = sum_of_products([(cols[rows].reshape(-1, k),
                                    dy_rows[rows].reshape(-1, f)) for rows in chunks])
    dkernel = dkernel.astype(np.float32).reshape(kh, kw, c, f)
    if not input_grad:
        return None, dkernel, dbias
    dcols = matmul(dy_rows.reshape(-1, f), kernel.reshape(k, f).T)
    dx = _col2im(
        dcols.reshape(n, out_h * out_w, k), h, w, kh, kw, sh, sw, dh, dw, top,
        left, out_h, out_w,
    )
    return dx, dkernel, dbias
