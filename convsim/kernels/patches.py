"""The im2col + BLAS path of the convolution: patches copied into rows, then
one matrix product.

A convolution is one matrix product once every output position's receptive
field (its *patch*) is laid out as a row: ``patches @ kernel.reshape(-1,
filters)`` gives every output cell at once, and BLAS computes such products
far faster than any loop we can write. Copying the patches of a whole batch
would take a lot of memory (a batch of twenty 150x150 photos: 120 MB for the
second layer), so :func:`conv2d_im2col` and :func:`conv2d_backward_im2col` copy
a chunk of rows at a time (``CHUNK_ROWS``, more for thin patches) into a small
buffer that stays in the CPU cache, multiply, and move on; groups of whole
images run as tasks on every core (:mod:`convsim.runtime.tasks`).
:mod:`convsim.kernels.conv` chooses between this path and its direct loops;
both compute the literal loops of
:mod:`convsim.kernels.reference` (row ``r`` of the patches is
``reference.window(...)`` of position ``r``, flattened).

Output positions are numbered over the whole batch: position ``p`` is image
``p // (out_h * out_w)``, row ``(p // out_w) % out_h``, column ``p % out_w``.
A patch row lists the window's cells in (row in window, column in window,
channel) order, the order of ``kernel.reshape(kh * kw * in_channels, filters)``.

``nogil=True``: the copying loops release Python's GIL, so several Python
threads can copy patches at the same time.
"""

from __future__ import annotations

from functools import partial

import numpy as np
from numba import njit

from convsim.runtime.tasks import run_tasks, scratch, thread_count

# Output positions copied and multiplied at once: 512 rows of a 3x3x128 patch
# are 2.4 MB, which stays in the CPU's cache between the copy and the product.
CHUNK_ROWS = 512

# Thinner patches are copied in proportionally more rows at once (up to the
# values of 512 rows of 3x3x64): the cats-vs-dogs first layer's 3x3x3 patches
# came 512 at a time in 860 chunks a batch, each paying Python's and Numba's
# call overhead while holding the GIL, which the other thread then waited for.
WIDE_PATCH = 3 * 3 * 64


def _chunk_rows(k: int) -> int:
    """Positions per chunk for patches of ``k`` values."""
    return CHUNK_ROWS * max(1, WIDE_PATCH // max(k, 1))


@njit(cache=True, nogil=True)
def copy_patches(x, start, stop, kh, kw, sh, sw, dh, dw, pad_top, pad_left,
                 out_h, out_w, cols):
    """``cols[r] =`` the patch of output position ``start + r``, for positions
    ``start <= p < stop``; cells in the padding are zeros.

    ``x``: ``(batch, height, width, channels)``; ``cols``: at least
    ``(stop - start, kh * kw * channels)``.

    In channels-last images, one row of a window without gaps (``dw == 1``)
    that lies wholly inside the image is ``kw * channels`` consecutive values
    in memory: such a row is copied in one straight run (a loop the compiler
    turns into vector copies), which made the copy of the cats-vs-dogs first
    layer's 3x3x3 patches several times faster than going cell by cell and
    channel by channel (the copy, not the matrix product, was 80% of that
    layer's time). Other rows go cell by cell, testing for padding.
    """
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    rows = x.reshape(x.shape[0], h, w * c)  # row iy of image b: rows[b, iy]
    run = kw * c  # values in one row of a window
    per_image = out_h * out_w
    b, cell = start // per_image, start % per_image
    oy, ox = cell // out_w, cell % out_w  # of position start; then counted on
    for r in range(stop - start):
        if r:  # the next position in reading order, without dividing
            ox += 1
            if ox == out_w:
                ox, oy = 0, oy + 1
                if oy == out_h:
                    oy, b = 0, b + 1
        left = ox * sw - pad_left  # the window's first column
        straight = dw == 1 and left >= 0 and left + kw <= w
        for i in range(kh):
            iy = oy * sh + i * dh - pad_top
            if straight and 0 <= iy < h:
                source, first = rows[b, iy], left * c
                for t in range(run):
                    cols[r, i * run + t] = source[first + t]
                continue
            for j in range(kw):
                ix = left + j * dw
                first = (i * kw + j) * c
                if iy < 0 or iy >= h or ix < 0 or ix >= w:
                    for ch in range(c):
                        cols[r, first + ch] = 0.0  # a padding cell
                else:
                    for ch in range(c):
                        cols[r, first + ch] = x[b, iy, ix, ch]


@njit(cache=True, nogil=True)
def add_patches_back(dcols, start, stop, kh, kw, sh, sw, dh, dw, pad_top, pad_left,
                     out_h, out_w, dx):
    """The adjoint of :func:`copy_patches`: ``dx +=`` every patch gradient
    ``dcols[r]`` put back where position ``start + r`` took its patch from.

    Windows overlap, so an input cell collects the gradient of every patch it
    was in: that is why a convolution's input gradient is a sum. Cells in the
    padding are dropped. ``dcols``: at least ``(stop - start, kh * kw *
    channels)``; ``dx``: ``(batch, height, width, channels)``.
    """
    h, w, c = dx.shape[1], dx.shape[2], dx.shape[3]
    per_image = out_h * out_w
    for p in range(start, stop):
        b, cell = p // per_image, p % per_image
        oy, ox = cell // out_w, cell % out_w
        r = p - start
        for i in range(kh):
            iy = oy * sh + i * dh - pad_top
            if iy < 0 or iy >= h:
                continue
            for j in range(kw):
                ix = ox * sw + j * dw - pad_left
                if ix < 0 or ix >= w:
                    continue
                first = (i * kw + j) * c
                for ch in range(c):
                    dx[b, iy, ix, ch] += dcols[r, first + ch]


@njit(cache=True, nogil=True)
def add_bias(rows, bias, relu):
    """``rows += bias`` on every row, then ReLU (``max(v, 0)``, NaN stays NaN)
    if ``relu``: the end of an output cell, in place."""
    for r in range(rows.shape[0]):
        for k in range(rows.shape[1]):
            v = rows[r, k] + bias[k]
            rows[r, k] = 0.0 if relu and v < 0 else v


def _image_groups(n: int, per_image: int) -> list[tuple[int, int]]:
    """Output positions ``(start, stop)`` of groups of whole images: one group
    per task, with about ``CHUNK_ROWS`` positions or more (at least one image),
    and at least one group per thread when the batch allows it."""
    per_group = max(1, CHUNK_ROWS // max(per_image, 1))
    per_group = min(per_group, max(1, -(-n // thread_count())))
    return [(b * per_image, min(b + per_group, n) * per_image)
            for b in range(0, n, per_group)]


def _chunks(start: int, stop: int, rows: int):
    """``(first, last)`` position ranges of at most ``rows``."""
    for first in range(start, stop, rows):
        yield first, min(first + rows, stop)


def conv2d_im2col(x, kernel, bias, geometry, relu=False):
    """Forward by im2col + BLAS: ``patches @ kernel`` a chunk of positions at a
    time, every output cell at once, then the bias (and ReLU when ``relu``)
    on that chunk while it is in the CPU's cache. The fast twin of
    :func:`convsim.kernels.reference.conv2d` for patches too long for the
    direct loop.

    ``geometry`` is ``(kh, kw, sh, sw, dh, dw, pad_top, pad_left, out_h,
    out_w)``, the arguments :func:`copy_patches` takes.
    """
    n = x.shape[0]
    kh, kw, c, f = kernel.shape
    out_h, out_w = geometry[-2:]
    k = kh * kw * c
    weights = kernel.reshape(k, f)
    y = np.empty((n * out_h * out_w, f), dtype=np.float32)  # one row per position

    def task(start, stop):
        """Output rows ``start:stop``: copy patches, multiply, chunk by chunk."""
        cols = scratch("patches", _chunk_rows(k), k)
        for first, last in _chunks(start, stop, _chunk_rows(k)):
            copy_patches(x, first, last, *geometry, cols)
            np.matmul(cols[:last - first], weights, out=y[first:last])
            add_bias(y[first:last], bias, relu)

    run_tasks([partial(task, *group) for group in _image_groups(n, out_h * out_w)])
    return y.reshape(n, out_h, out_w, f)


def conv2d_backward_im2col(x, kernel, dy, geometry, input_grad, kernel_grad):
    """dL/dx and dL/dkernel by im2col + BLAS, in one pass: ``(dx, dkernel)``,
    each ``None`` unless asked for; ``dkernel`` is float64 ``(k, filters)``.

    The fast twin of :func:`convsim.kernels.reference.conv2d_backward`'s
    ``dx`` (always) and ``dkernel`` (for patches too long for the direct
    loop). Per chunk of positions, dL/dkernel adds ``patches.T @ dy`` (BLAS
    sums the chunk in float32, the chunks add up in float64) and dL/dx puts
    ``dy @ kernel.T``, one gradient per patch value, back where the patches
    came from (:func:`add_patches_back`).
    """
    n = x.shape[0]
    kh, kw, c, f = kernel.shape
    out_h, out_w = geometry[-2:]
    k = kh * kw * c
    dx = np.zeros_like(x) if input_grad else None
    dy_rows = dy.reshape(-1, f)
    weights_t = kernel.reshape(k, f).T

    def task(start, stop):
        """dL/dx for these images (no other task touches them) and, if asked,
        their share of dL/dkernel in float64."""
        total = np.zeros((k, f), dtype=np.float64) if kernel_grad else None
        cols = scratch("patches", _chunk_rows(k), k)
        dcols = scratch("patch_grads", _chunk_rows(k), k)
        for first, last in _chunks(start, stop, _chunk_rows(k)):
            rows = dy_rows[first:last]
            if kernel_grad:
                copy_patches(x, first, last, *geometry, cols)
                total += cols[:last - first].T @ rows
            if input_grad:
                np.matmul(rows, weights_t, out=dcols[:last - first])
                add_patches_back(dcols, first, last, *geometry, dx)
        return total

    totals = run_tasks([partial(task, *group)
                        for group in _image_groups(n, out_h * out_w)])
    dkernel = None
    if kernel_grad:
        dkernel = np.zeros((k, f), dtype=np.float64)
        for total in totals:  # in image order, whichever task ended first
            dkernel += total
    return dx, dkernel
