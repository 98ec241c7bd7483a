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
  into one row of a matrix, so the convolution becomes one matrix product
  ``patches @ kernel`` that NumPy hands to BLAS. Numba cannot call BLAS itself
  without SciPy, and BLAS is far faster than any loop we could write for the
  wide layers, so the products happen in NumPy, outside the jitted code. The
  patches are copied a few hundred rows at a time into a buffer that stays in
  the CPU cache (:mod:`convsim.kernels.patches`), and groups of images are
  spread over the cores as tasks (:mod:`convsim.runtime.tasks`).
* ``_conv2d_direct`` is the literal loop "for every output cell, multiply the
  patch by the filter and add it up"; it is used where it measured faster
  (thin patches, see ``DIRECT_MAX_PATCH``, where a patch row is too short for
  BLAS to shine), and so is its twin for dL/dkernel. dL/dx always
  uses BLAS and puts the patch gradients back with ``add_patches_back``.

Every jitted direct loop runs ``prange`` over the batch, and each iteration
writes only its own image's slice; the BLAS tasks each own whole images. So
there are no races.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit, prange

from convsim.kernels.patches import add_patches_back, copy_patches
from convsim.runtime.tasks import run_tasks, scratch, thread_count

# Patch length (kernel_h * kernel_w * in_channels) up to which the direct loops
# beat im2col + BLAS, forward and for dL/dkernel: only the thin patches of a
# first layer on one-channel images. bench/kernels.py --paths on 2 cores, ms:
# MNIST's 28x28x1 -> 32 (patch 9), batch 64: forward 0.75 direct vs 2.48 BLAS,
# dL/dkernel 1.8 vs 4.0; the cats-vs-dogs 150x150x3 -> 32 (patch 27), batch
# 20: forward 27.5 vs 22.9, dL/dkernel 33.9 vs 33.5; its 74x74x32 -> 64
# (patch 288): forward 41.9 vs 27.3, dL/dkernel 56.3 vs 32.9.
DIRECT_MAX_PATCH = 16

# Output positions the direct dL/dkernel loop sums in float32 before adding the
# result to its float64 total (whole output rows; at least one row).
FLOAT32_TERMS = 256

# Output positions copied and multiplied at once: 512 rows of a 3x3x128 patch
# are 2.4 MB, which stays in the CPU's cache between the copy and the product.
CHUNK_ROWS = 512


def _direct(patch: int) -> bool:
    """Whether a convolution with patches this long takes the direct loops."""
    return patch <= DIRECT_MAX_PATCH


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


@njit(cache=True)
def _bias_grad(dy_rows):
    """dL/dbias: ``dy`` ``(positions, filters)`` summed over every position of
    every image, in float64. (NumPy's ``sum(axis=0, dtype=np.float64)`` gives
    the same numbers but converts in small buffers: 5.4 ms instead of 0.9 ms
    for the 103,680 positions of the cats-vs-dogs second layer.)"""
    total = np.zeros(dy_rows.shape[1], dtype=np.float64)
    for r in range(dy_rows.shape[0]):
        for j in range(dy_rows.shape[1]):
            total[j] += dy_rows[r, j]
    return total


def _image_groups(n: int, per_image: int) -> list[tuple[int, int]]:
    """Output positions ``(start, stop)`` of groups of whole images: one group
    per task, with about ``CHUNK_ROWS`` positions or more (at least one image),
    and at least one group per thread when the batch allows it."""
    per_group = max(1, CHUNK_ROWS // max(per_image, 1))
    per_group = min(per_group, max(1, -(-n // thread_count())))
    return [(b * per_image, min(b + per_group, n) * per_image)
            for b in range(0, n, per_group)]


def _chunks(start: int, stop: int):
    """``(first, last)`` position ranges of at most ``CHUNK_ROWS``."""
    for first in range(start, stop, CHUNK_ROWS):
        yield first, min(first + CHUNK_ROWS, stop)


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
    if _direct(kh * kw * c):
        return _conv2d_direct(x, kernel, bias, sh, sw, dh, dw, top, left, out_h, out_w)
    k = kh * kw * c
    weights = kernel.reshape(k, f)
    geometry = (kh, kw, sh, sw, dh, dw, top, left, out_h, out_w)
    y = np.empty((n * out_h * out_w, f), dtype=np.float32)  # one row per position

    def task(start, stop):
        """Output rows ``start:stop``: copy patches, multiply, chunk by chunk."""
        cols = scratch("patches", CHUNK_ROWS, k)
        for first, last in _chunks(start, stop):
            copy_patches(x, first, last, *geometry, cols)
            np.matmul(cols[:last - first], weights, out=y[first:last])

    run_tasks([partial(task, *group) for group in _image_groups(n, out_h * out_w)])
    y += bias
    return y.reshape(n, out_h, out_w, f)


def conv2d_backward(x, kernel, dy, strides, pads, dilation, input_grad=True):
    """Gradients ``(dx, dkernel, dbias)`` of a convolution, given ``dy = dL/dy``.

    ``dx`` is ``None`` when ``input_grad`` is False (a model's first layer needs
    no gradient for its input, and skipping it saves a third of the work).

    ``dkernel`` and ``dbias`` sum over every image and output position (millions
    of terms for a batch of 150x150 images), so they are accumulated in float64:
    the total does not drift the way one long float32 running sum would.
    Patches up to ``DIRECT_MAX_PATCH`` values use the direct loop (float32 sums
    per output row, added in float64); otherwise BLAS sums ``CHUNK_ROWS``
    positions at a time in float32 and the chunk results are added in float64.
    """
    n, h, w, c = x.shape
    kh, kw, _, f = kernel.shape
    out_h, out_w = dy.shape[1], dy.shape[2]
    (sh, sw), (dh, dw) = strides, dilation
    top, left = pads[0], pads[2]
    k = kh * kw * c
    dbias = _bias_grad(dy.reshape(-1, f)).astype(np.float32)
    direct = _direct(k)
    if direct:
        shares = max(1, min(n, thread_count()))  # one per thread
        dkernel = _kernel_grad_direct(x, dy, kh, kw, sh, sw, dh, dw, top, left,
                                      shares)
    dx = np.zeros_like(x) if input_grad else None
    if input_grad or not direct:
        dy_rows = dy.reshape(-1, f)
        weights_t = kernel.reshape(k, f).T
        geometry = (kh, kw, sh, sw, dh, dw, top, left, out_h, out_w)

        def task(start, stop):
            """dL/dx for these images (no other task touches them) and, unless
            the direct loop did it, their share of dL/dkernel in float64."""
            total = None if direct else np.zeros((k, f), dtype=np.float64)
            cols = scratch("patches", CHUNK_ROWS, k)
            dcols = scratch("patch_grads", CHUNK_ROWS, k)
            for first, last in _chunks(start, stop):
                rows = dy_rows[first:last]
                if not direct:
                    copy_patches(x, first, last, *geometry, cols)
                    total += cols[:last - first].T @ rows
                if input_grad:
                    np.matmul(rows, weights_t, out=dcols[:last - first])
                    add_patches_back(dcols, first, last, *geometry, dx)
            return total

        groups = _image_groups(n, out_h * out_w)
        totals = run_tasks([partial(task, *group) for group in groups])
        if not direct:
            dkernel = np.zeros((k, f), dtype=np.float64)
            for total in totals:  # in image order, whichever task ended first
                dkernel += total
    dkernel = dkernel.astype(np.float32).reshape(kh, kw, c, f)
    return dx, dkernel, dbias
