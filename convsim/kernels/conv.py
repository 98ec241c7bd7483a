"""2D convolution, forward and backward, over float32 NHWC arrays: the fast paths.

What these kernels compute is defined by the literal loops of
:mod:`convsim.kernels.reference` ("for every output cell, sum(patch * filter)
+ bias", and its two gradients): read those to see how a convolution is done.
Every fast path below names its twin there, and ``tests/kernels`` pins each of
them equal to it. This module is about doing the same arithmetic fast.

Shapes follow Keras (channels_last):

* inputs ``x``: ``(batch, height, width, in_channels)``
* kernel ``w``: ``(kernel_h, kernel_w, in_channels, filters)``
* outputs ``y``: ``(batch, out_h, out_w, filters)``

Padding arrives here already resolved into four numbers (top, bottom, left,
right) by :mod:`convsim.shapes`, so these kernels never guess: 'same' with
stride 2 on an even input has ``pad_bottom = pad_top + 1`` exactly as in
TensorFlow. Padding cells are zeros.

How the work is done (chosen by measurement, see ``bench/kernels.py --paths``),
one function per path:

* im2col + BLAS (:mod:`convsim.kernels.patches`): each output position's
  receptive field (the *patch*) is copied into one row of a matrix, so the
  convolution becomes one matrix product ``patches @ kernel`` that NumPy hands
  to BLAS. Numba cannot call BLAS itself without SciPy, and BLAS is far faster
  than any loop we could write for the wide layers, so the products happen in
  NumPy, outside the jitted code. dL/dx always takes this path.
* :func:`_conv2d_direct` and :func:`_kernel_grad_direct`: the direct loops,
  used where they measured faster: thin patches (``DIRECT_MAX_PATCH``), whose
  rows are too short for BLAS to shine.
* :func:`_bias_grad`: dL/dbias, a float64 sum.

:func:`conv2d_forward` and :func:`conv2d_backward` choose the path. The direct
forward loop runs ``prange`` over the batch and each iteration writes only its
own image's slice; the direct dL/dkernel loop gives each thread its own total;
the BLAS tasks each own whole images. So there are no races.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from convsim.errors import ArgumentError
from convsim.kernels.patches import conv2d_backward_im2col, conv2d_im2col
from convsim.runtime.tasks import thread_count

# Patch length (kernel_h * kernel_w * in_channels) up to which the direct loops
# take the place of im2col + BLAS, forward and for dL/dkernel: the thin patches
# of a first layer on one-channel images. bench/kernels.py --paths on 2 shared
# cores, ms, medians of four runs: MNIST's 28x28x1 -> 32 (patch 9), batch 64:
# forward 1.0 direct vs 3.4 BLAS, dL/dkernel 0.7 vs 4.0; its 13x13x32 -> 64
# (patch 288): forward 6.2 vs 2.2, dL/dkernel 5.0 vs 2.8; cats-vs-dogs'
# 74x74x32 -> 64 (patch 288), batch 20: forward 75 vs 27, dL/dkernel 62 vs 30.
# Its 150x150x3 -> 32 (patch 27) now measures faster direct too (forward 22.6
# vs 24.2, dL/dkernel 17 vs 24), but end to end (bench/run.py --quick, 2 A/B
# pairs) a limit of 27 trained 65-66 img/s vs 62-64 and predicted 186-199 vs
# 203-209: no clear gain, so the limit stays at 16.
DIRECT_MAX_PATCH = 16

# Output positions per block of the bias gradient's float64 sums.
BIAS_BLOCK = 2048

# Output cells the direct dL/dkernel loop sums in float32 before adding the
# result to its float64 total (a multiple of four: cells come four at a time).
FLOAT32_TERMS = 256


def _direct(patch: int) -> bool:
    """Whether a convolution with patches this long takes the direct loops."""
    return patch <= DIRECT_MAX_PATCH


# ---------------------------------------------------------------- direct loops
#
# What the direct loops compute is the literal loop of reference.conv2d; how
# they are shaped was chosen by measurement (bench/kernels.py --paths):
#
# * Four output cells at a time. A first layer on one-channel images has patches
#   of 9 values and 32 filters, so one cell is only 9 x 32 products: loop
#   overhead and memory traffic cost more than the arithmetic. With four cells,
#   every weight (forward) or input value (dL/dkernel) loaded from memory
#   serves four products instead of one: 1.5-2x faster than one at a time.
# * On a zero-padded copy of each image (one image at a time, which stays in
#   the CPU cache), as the reference pads it: no test for "is this cell in the
#   padding?" in the inner loops.
# * Output cells in reading order across the rows, so four at a time fit all
#   but the last cells of an image (MNIST's 26 x 26 = 169 fours), rather than
#   leaving a remainder at the end of every row. The cells missing after the
#   last four read a block of zeros placed after the image and are not stored,
#   so they add nothing; in dL/dkernel their gradients are zeros too, so not
#   even an infinite input or gradient can leak in as 0 * inf.
#   These last two points took the MNIST first layer from 1.16-1.30 ms to
#   0.98-1.03 forward and 1.05-1.14 to 0.62-0.71 dL/dkernel, against loops
#   that went row by row testing for padding (bench/kernels.py --paths).
#
# The image is flattened: patch value t of output cell p is
# image[starts[p] + offsets[t]] (see _direct_layout), so a patch is read like
# the row of kernel.reshape(-1, filters) it is multiplied with.


@njit(cache=True)
def _direct_layout(h, w, c, kh, kw, sh, sw, dh, dw, pad_top, pad_left, out_h,
                   out_w):
    """Where the direct loops find each window: ``(size, cols, starts, offsets)``.

    An image is copied with its zeros around it into a flat buffer of ``size``
    values: ``rows * cols * c`` for the padded image (every window fits), then
    a block of zeros as tall as a window. ``starts[p]`` is where the window of
    output cell ``p`` (in reading order) begins; ``offsets[t]`` is where patch
    value ``t`` sits from there, in (row in window, column in window, channel)
    order. Three more ``starts`` point at the zero block, for the cells that
    are missing when the cells do not come in fours.
    """
    rows = max((out_h - 1) * sh + (kh - 1) * dh + 1, pad_top + h)
    cols = max((out_w - 1) * sw + (kw - 1) * dw + 1, pad_left + w)
    size = (rows + (kh - 1) * dh + 1) * cols * c
    starts = np.full(out_h * out_w + 3, rows * cols * c, dtype=np.int64)
    for oy in range(out_h):
        for ox in range(out_w):
            starts[oy * out_w + ox] = (oy * sh * cols + ox * sw) * c
    offsets = np.empty(kh * kw * c, dtype=np.int64)
    for i in range(kh):
        for j in range(kw):
            for ch in range(c):
                offsets[(i * kw + j) * c + ch] = (i * dh * cols + j * dw) * c + ch
    return size, cols, starts, offsets


@njit(cache=True, inline="always")
def _copy_padded(x, b, pad_top, pad_left, cols, image):
    """Copy image ``b`` into the flat buffer ``image`` at its place inside the
    padding. Only the image's cells are written: the zeros around it stay."""
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    for r in range(h):
        first = ((pad_top + r) * cols + pad_left) * c  # where row r's cells go
        for col in range(w):
            for ch in range(c):
                image[first + col * c + ch] = x[b, r, col, ch]


@njit(cache=True, inline="always")
def _four_starts(starts, p):
    """Where the windows of output cells ``p`` to ``p + 3`` begin."""
    return starts[p], starts[p + 1], starts[p + 2], starts[p + 3]


@njit(cache=True, inline="always")
def _store(row, sums, relu):
    """``row[:] = sums``, through ReLU (``max(v, 0)``, NaN stays NaN) if asked."""
    for k in range(sums.size):
        v = sums[k]
        row[k] = 0.0 if relu and v < 0 else v


@njit(cache=True, parallel=True)
def _conv2d_direct(x, kernel, bias, sh, sw, dh, dw, pad_top, pad_left, out_h, out_w,
                   relu):
    """Forward by the direct loop: every output cell is sum(patch * filter) + bias
    (then ReLU when ``relu``, as each cell is stored).

    The fast twin of :func:`convsim.kernels.reference.conv2d`, shaped as the
    comment above says; ``a0``..``a3`` are the running sums of four output
    cells, one value per filter.
    """
    n, h, w = x.shape[0], x.shape[1], x.shape[2]
    kh, kw, c, f = kernel.shape
    size, cols, starts, offsets = _direct_layout(h, w, c, kh, kw, sh, sw, dh, dw,
                                                 pad_top, pad_left, out_h, out_w)
    weights = kernel.reshape(kh * kw * c, f)  # row t: every filter's weight t
    positions = out_h * out_w
    y = np.empty((n, positions, f), dtype=np.float32)
    for b in prange(n):
        image = np.zeros(size, dtype=np.float32)
        _copy_padded(x, b, pad_top, pad_left, cols, image)
        a0 = np.empty(f, dtype=np.float32)
        a1 = np.empty(f, dtype=np.float32)
        a2 = np.empty(f, dtype=np.float32)
        a3 = np.empty(f, dtype=np.float32)
        for p in range(0, positions, 4):
            s0, s1, s2, s3 = _four_starts(starts, p)
            a0[:] = bias
            a1[:] = bias
            a2[:] = bias
            a3[:] = bias
            for t in range(offsets.size):
                o = offsets[t]
                v0, v1, v2, v3 = (image[s0 + o], image[s1 + o], image[s2 + o],
                                  image[s3 + o])
                for k in range(f):  # innermost over filters: contiguous
                    weight = weights[t, k]
                    a0[k] += v0 * weight
                    a1[k] += v1 * weight
                    a2[k] += v2 * weight
                    a3[k] += v3 * weight
            _store(y[b, p], a0, relu)
            if p + 1 < positions:  # the last four may be fewer
                _store(y[b, p + 1], a1, relu)
            if p + 2 < positions:
                _store(y[b, p + 2], a2, relu)
            if p + 3 < positions:
                _store(y[b, p + 3], a3, relu)
    return y.reshape(n, out_h, out_w, f)


@njit(cache=True, inline="always")
def _add_to_total(acc, total):
    """``total += acc`` (float32 sums into the float64 total), then ``acc = 0``."""
    for e in range(acc.size):
        total[e] += acc[e]
        acc[e] = 0.0


@njit(cache=True, parallel=True)
def _kernel_grad_direct(x, dy, kh, kw, sh, sw, dh, dw, pad_top, pad_left, shares):
    """dL/dkernel by the direct loop: the sum over every output cell of
    (patch) * (that cell's gradient), four cells at a time.

    The dL/dkernel of the fast twin of
    :func:`convsim.kernels.reference.conv2d_backward`, shaped as the comment
    above says. The batch is split into ``shares`` parts, one per thread
    (images t, t + shares, ...), and each share has its own float64 total, so
    threads never write the same memory. Products are first summed in float32
    over ``FLOAT32_TERMS`` output cells at most, then added to the float64
    total: no float32 drift over the ~20,000 cells of a 150x150 image, without
    paying float64 for every product.
    """
    n, h, w, c = x.shape
    out_h, out_w, f = dy.shape[1], dy.shape[2], dy.shape[3]
    size, cols, starts, offsets = _direct_layout(h, w, c, kh, kw, sh, sw, dh, dw,
                                                 pad_top, pad_left, out_h, out_w)
    positions = out_h * out_w
    gradients = dy.reshape(n, positions, f)
    totals = np.zeros((shares, offsets.size * f), dtype=np.float64)
    for share in prange(shares):
        image = np.zeros(size, dtype=np.float32)
        acc = np.zeros((offsets.size, f), dtype=np.float32)
        no_gradient = np.zeros(f, dtype=np.float32)  # for the missing cells
        for b in range(share, n, shares):
            _copy_padded(x, b, pad_top, pad_left, cols, image)
            for p in range(0, positions, 4):
                s0, s1, s2, s3 = _four_starts(starts, p)
                g0 = gradients[b, p]
                g1 = gradients[b, p + 1] if p + 1 < positions else no_gradient
                g2 = gradients[b, p + 2] if p + 2 < positions else no_gradient
                g3 = gradients[b, p + 3] if p + 3 < positions else no_gradient
                for t in range(offsets.size):
                    o = offsets[t]
                    v0, v1, v2, v3 = (image[s0 + o], image[s1 + o], image[s2 + o],
                                      image[s3 + o])
                    for k in range(f):
                        acc[t, k] += v0 * g0[k] + v1 * g1[k] + v2 * g2[k] + v3 * g3[k]
                if (p + 4) % FLOAT32_TERMS == 0 or p + 4 >= positions:
                    _add_to_total(acc.reshape(-1), totals[share])
    return totals.sum(axis=0).reshape(kh, kw, c, f)


@njit(cache=True, parallel=True)
def _bias_grad(dy_rows, y_rows, relu):
    """dL/dbias: ``dy`` ``(positions, filters)`` summed over every position of
    every image, in float64; with ``relu``, first through the ReLU's gradient
    (``dy`` where the output ``y_rows`` is > 0, else 0), in the same pass.
    Returns ``(dz_rows, dbias)``: ``dz_rows`` is ``dy_rows`` itself without
    ``relu``, and dL/dz, what the convolution's other gradients need, with it.

    The rows are summed in blocks of ``BIAS_BLOCK``, one block per thread at a
    time, and the block totals are added in order: the same bits whatever the
    number of threads. (NumPy's ``sum(axis=0, dtype=np.float64)`` converts in
    small buffers on one core: 5.4 ms against this loop's 0.9 ms on one core
    for the 103,680 positions of the cats-vs-dogs second layer.)

    The dL/dbias of the fast twin of
    :func:`convsim.kernels.reference.conv2d_backward`."""
    rows, f = dy_rows.shape
    blocks = (rows + BIAS_BLOCK - 1) // BIAS_BLOCK
    dz_rows = np.empty_like(dy_rows) if relu else dy_rows
    totals = np.zeros((blocks, f), dtype=np.float64)
    for block in prange(blocks):
        for r in range(block * BIAS_BLOCK, min(rows, (block + 1) * BIAS_BLOCK)):
            for j in range(f):
                g = dy_rows[r, j]
                if relu:
                    g = g if y_rows[r, j] > 0 else np.float32(0.0)
                    dz_rows[r, j] = g
                totals[block, j] += g
    total = np.zeros(f, dtype=np.float64)
    for block in range(blocks):
        total += totals[block]
    return dz_rows, total


# ---------------------------------------------------------------- entry points


def _check_geometry(x, kernel, strides, pads, dilation, out) -> None:
    """Refuse shapes and geometry that would make a kernel index outside its
    arrays (Numba does not check bounds). :mod:`convsim.ops` and
    :mod:`convsim.shapes` never produce them; this guards direct callers.
    ``out`` is the shape of ``y`` (or ``dy``): ``(batch, out_h, out_w,
    filters)``."""
    good = (
        x.ndim == 4 and kernel.ndim == 4 and len(out) == 4
        and x.shape[3] == kernel.shape[2] and out[0] == x.shape[0]
        and out[3] == kernel.shape[3]
        and min(*strides, *dilation) >= 1 and min(pads) >= 0 and min(out) >= 0
    )
    if not good:
        raise ArgumentError(
            f"Inconsistent convolution geometry. Received: x.shape={x.shape}, "
            f"kernel.shape={kernel.shape}, output shape {tuple(out)}, "
            f"strides={strides}, pads={pads}, dilation={dilation}")


def conv2d_forward(x, kernel, bias, strides, pads, dilation, out_hw, relu=False):
    """Convolution output ``(batch, out_h, out_w, filters)``: the direct loop
    (:func:`_conv2d_direct`) for thin patches, im2col + BLAS
    (:func:`~convsim.kernels.patches.conv2d_im2col`) otherwise. With ``relu``,
    every output cell goes through ReLU as it is written, while it is still in
    the CPU's cache, instead of in one more pass over the whole output.

    Twin of :func:`convsim.kernels.reference.conv2d`, which computes the same
    numbers with the literal loop.

    Args:
        x: float32 ``(batch, height, width, in_channels)``, C-contiguous.
        kernel: float32 ``(kernel_h, kernel_w, in_channels, filters)``,
            C-contiguous.
        bias: float32 ``(filters,)`` (zeros when the layer has no bias).
        strides, dilation: ``(sh, sw)``, ``(dh, dw)``.
        pads: ``(top, bottom, left, right)`` zeros, from :mod:`convsim.shapes`.
        out_hw: ``(out_h, out_w)``, from :mod:`convsim.shapes`.
    """
    kh, kw, c, f = kernel.shape
    (sh, sw), (dh, dw), (out_h, out_w) = strides, dilation, out_hw
    _check_geometry(x, kernel, strides, pads, dilation, (x.shape[0], out_h, out_w, f))
    if bias.shape != (f,):
        raise ArgumentError(f"`bias` must have shape ({f},). Received: {bias.shape}")
    top, left = pads[0], pads[2]
    if _direct(kh * kw * c):
        return _conv2d_direct(x, kernel, bias, sh, sw, dh, dw, top, left, out_h, out_w,
                              relu)
    geometry = (kh, kw, sh, sw, dh, dw, top, left, out_h, out_w)
    return conv2d_im2col(x, kernel, bias, geometry, relu)


def conv2d_backward(x, kernel, dy, strides, pads, dilation, input_grad=True,
                    relu_output=None):
    """Gradients ``(dx, dkernel, dbias)`` of a convolution, given ``dy = dL/dy``
    (float32 ``(batch, out_h, out_w, filters)``, C-contiguous).

    ``relu_output``: the output of ``conv2d_forward(..., relu=True)``, same
    shape as ``dy``. ``dy`` is then the gradient after the ReLU, and the
    ReLU's gradient is applied in the pass that sums dL/dbias.

    Twin of :func:`convsim.kernels.reference.conv2d_backward`, which computes
    the same numbers with the literal loop. dL/dkernel by the direct loop
    (:func:`_kernel_grad_direct`) for thin patches, otherwise with dL/dx in
    one im2col + BLAS pass
    (:func:`~convsim.kernels.patches.conv2d_backward_im2col`); dL/dbias by
    :func:`_bias_grad`.

    ``dx`` is ``None`` when ``input_grad`` is False (a model's first layer needs
    no gradient for its input, and skipping it saves a third of the work).

    ``dkernel`` and ``dbias`` sum over every image and output position (millions
    of terms for a batch of 150x150 images), so they are accumulated in float64:
    the total does not drift the way one long float32 running sum would.
    Patches up to ``DIRECT_MAX_PATCH`` values use the direct loop (float32 sums
    of ``FLOAT32_TERMS`` output cells, added in float64); otherwise BLAS sums
    a chunk of positions (``patches._chunk_rows``) in float32 and the chunk
    results are added in float64.
    """
    n = x.shape[0]
    kh, kw, c, f = kernel.shape
    (sh, sw), (dh, dw) = strides, dilation
    _check_geometry(x, kernel, strides, pads, dilation, dy.shape)
    relu = relu_output is not None
    if relu and relu_output.shape != dy.shape:
        raise ArgumentError(f"`relu_output` must have the shape of `dy`, {dy.shape}. "
                            f"Received: {relu_output.shape}")
    top, left = pads[0], pads[2]
    geometry = (kh, kw, sh, sw, dh, dw, top, left, dy.shape[1], dy.shape[2])
    rows = dy.reshape(-1, f)
    dz_rows, dbias = _bias_grad(rows, relu_output.reshape(-1, f) if relu else rows,
                                relu)
    dy, dbias = dz_rows.reshape(dy.shape), dbias.astype(np.float32)
    direct = _direct(kh * kw * c)
    dx = None
    if direct:
        shares = max(1, min(n, thread_count()))  # one per thread
        dkernel = _kernel_grad_direct(x, dy, kh, kw, sh, sw, dh, dw, top, left,
                                      shares)
    if input_grad or not direct:
        dx, blas_dkernel = conv2d_backward_im2col(x, kernel, dy, geometry,
                                                  input_grad, kernel_grad=not direct)
        if not direct:
            dkernel = blas_dkernel
    dkernel = dkernel.astype(np.float32).reshape(kh, kw, c, f)
    return dx, dkernel, dbias
