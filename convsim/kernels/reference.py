"""The literal loops: what convsim's kernels compute, written as on paper.

Every fast kernel in :mod:`convsim.kernels.conv`, :mod:`~convsim.kernels.pool`
and :mod:`~convsim.kernels.dense` is tuned for speed (matrix products through
BLAS, unrolled loops, threads), which makes it hard to read. This module is
their *definition*: plain Python loops over the output cells, one line of
arithmetic each, in the order the book explains them. The tests pin every fast
path equal to its twin here (``tests/kernels``), and the trace and the lessons
show this arithmetic cell by cell, using the same small functions
(:func:`window`, :func:`conv_cell`, :func:`max_of`, ...). So what a lesson
shows a learner is what their trained model computes.

The arguments are those the fast kernels take: float32 images
``(batch, height, width, channels)``, geometry already worked out by
:mod:`convsim.shapes` (``pads = (top, bottom, left, right)`` zeros, the output
size ``out_hw``). Products and sums are taken in float64, so the only rounding
is float32's when a result is stored (float64 inputs give float64 results,
with no rounding to float32 at all: the tests differentiate these loops
numerically). These loops are slow: read them, test with them, and train with
the fast kernels.

>>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
>>> ones = np.ones((3, 3, 1, 1), np.float32)
>>> conv2d(x, ones, np.zeros(1, np.float32), (1, 1), (0, 0, 0, 0), (1, 1),
...        (2, 2))[0, :, :, 0]
array([[45., 54.],
       [81., 90.]], dtype=float32)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["average_pool2d", "average_pool2d_backward", "conv2d", "conv2d_backward",
           "conv2d_input_grad", "conv2d_kernel_grad", "conv_cell",
           "covering_windows", "dense", "dense_backward", "dense_unit",
           "gradient_cell", "max_of", "max_pool2d", "max_pool2d_backward", "mean_of",
           "pad", "real_cells", "tap_cells", "window"]


def _result_dtype(*arrays) -> np.dtype:
    """float32 for float32 (or smaller) inputs, as the fast kernels return;
    float64 when any input is float64 (or int64)."""
    return np.result_type(*(np.asarray(a).dtype for a in arrays), np.float32)


# ---------------------------------------------------------------- convolution


def pad(x: np.ndarray, pads) -> np.ndarray:
    """``x`` with zeros around it: ``pads = (top, bottom, left, right)``.

    ``x`` is one image ``(height, width, channels)`` or a batch
    ``(batch, height, width, channels)``.
    """
    top, bottom, left, right = pads
    spatial = ((top, bottom), (left, right), (0, 0))
    return np.pad(x, spatial if x.ndim == 3 else ((0, 0), *spatial))


def window(padded: np.ndarray, oy: int, ox: int, size, strides,
           dilation=(1, 1)) -> np.ndarray:
    """The cells under the window of output cell ``(oy, ox)``: a view
    ``(kernel_h, kernel_w, channels)`` of one padded image.

    The window's top-left corner is ``oy * stride`` rows down and ``ox * stride``
    columns right; with ``dilation`` its taps are that many cells apart.
    """
    (kh, kw), (sh, sw), (dh, dw) = size, strides, dilation
    top, left = oy * sh, ox * sw
    return padded[top:top + dh * (kh - 1) + 1:dh, left:left + dw * (kw - 1) + 1:dw]


def conv_cell(patch: np.ndarray, weights: np.ndarray, bias: float) -> float:
    """One output cell of a convolution: ``sum(patch * filter) + bias``
    (products and sum in float64)."""
    return float(np.sum(np.multiply(patch, weights, dtype=np.float64))) + float(bias)


def conv2d(x, kernel, bias, strides, pads, dilation, out_hw) -> np.ndarray:
    """``y[b, oy, ox, f] = sum(patch * kernel[:, :, :, f]) + bias[f]``.

    Twin of :func:`convsim.kernels.conv.conv2d_forward`. ``kernel`` is
    ``(kernel_h, kernel_w, in_channels, filters)``; returns
    ``(batch, out_h, out_w, filters)`` float32.
    """
    (out_h, out_w), filters = out_hw, kernel.shape[3]
    padded = pad(x, pads)
    y = np.zeros((x.shape[0], out_h, out_w, filters), _result_dtype(x, kernel))
    for b in range(x.shape[0]):
        for oy in range(out_h):
            for ox in range(out_w):
                patch = window(padded[b], oy, ox, kernel.shape[:2], strides,
                               dilation)
                for f in range(filters):
                    y[b, oy, ox, f] = conv_cell(patch, kernel[:, :, :, f], bias[f])
    return y


def conv2d_backward(x, kernel, dy, strides, pads, dilation):
    """Gradients ``(dx, dkernel, dbias)`` of :func:`conv2d`, given ``dy = dL/dy``.

    Twin of :func:`convsim.kernels.conv.conv2d_backward`. Each output cell was
    ``sum(patch * filter) + bias``, so for every output cell and filter:

    * each patch cell gets ``dy * filter`` (a cell in several windows collects
      from each of them; gradients of padding cells are dropped);
    * the filter gets ``dy * patch``;
    * the bias gets ``dy``.
    """
    height, width = x.shape[1:3]
    top, _, left, _ = pads
    dtype = _result_dtype(x, kernel, dy)
    padded = pad(np.asarray(x, np.float64), pads)
    kernel = np.asarray(kernel, np.float64)
    dpadded = np.zeros(padded.shape, np.float64)
    dkernel = np.zeros(kernel.shape, np.float64)
    dbias = np.zeros(kernel.shape[3], np.float64)
    size = kernel.shape[:2]
    for b in range(x.shape[0]):
        for oy in range(dy.shape[1]):
            for ox in range(dy.shape[2]):
                patch = window(padded[b], oy, ox, size, strides, dilation)
                dpatch = window(dpadded[b], oy, ox, size, strides, dilation)
                for f in range(kernel.shape[3]):
                    g = float(dy[b, oy, ox, f])
                    dpatch += g * kernel[:, :, :, f]  # a view: writes into dpadded
                    dkernel[:, :, :, f] += g * patch
                    dbias[f] += g
    dx = dpadded[:, top:top + height, left:left + width]
    return dx.astype(dtype), dkernel.astype(dtype), dbias.astype(dtype)


# ------------------------------------------------- convolution gradients, cell by cell
#
# conv2d_backward above walks the output cells and spreads each one's gradient
# back. The two loops below compute the same gradients the other way round, one
# input cell or one weight at a time, as a lesson explains them: each is a sum
# over the output cells that used that number (the chain rule's sum over paths).


def gradient_cell(grads, values) -> float:
    """One number of a gradient: ``sum(grads * values)`` (float64), one term per
    output cell that used it, ``dL/dy`` times what that output multiplied it by."""
    return float(np.sum(np.multiply(grads, values, dtype=np.float64)))


def tap_cells(padded: np.ndarray, i: int, j: int, strides, dilation,
              out_hw) -> np.ndarray:
    """The cells filter tap ``(i, j)`` multiplies, one per output cell: a view
    ``(out_h, out_w, channels)`` of one padded image. The window of output cell
    ``(oy, ox)`` puts the tap on padded cell ``(oy * stride + i * dilation,
    ox * stride + j * dilation)``."""
    (sh, sw), (dh, dw), (out_h, out_w) = strides, dilation, out_hw
    top, left = i * dh, j * dw
    bottom, right = top + sh * (out_h - 1) + 1, left + sw * (out_w - 1) + 1
    return padded[top:bottom:sh, left:right:sw]


def covering_windows(row: int, col: int, size, strides, dilation,
                     out_hw) -> list[tuple[int, int, int, int]]:
    """``(oy, ox, i, j)`` for every output cell ``(oy, ox)`` whose window puts
    its tap ``(i, j)`` on padded cell ``(row, col)``, in the output's reading
    order. Near the borders fewer windows reach a cell (none, with a stride
    that jumps over it)."""
    (kh, kw), (sh, sw), (dh, dw), (out_h, out_w) = size, strides, dilation, out_hw
    found = []
    for i in range(kh):
        for j in range(kw):
            top, left = row - i * dh, col - j * dw  # where that window starts
            if top % sh or left % sw:
                continue
            oy, ox = top // sh, left // sw
            if 0 <= oy < out_h and 0 <= ox < out_w:
                found.append((oy, ox, i, j))
    return sorted(found)


def conv2d_input_grad(x, kernel, dy, strides, pads, dilation) -> np.ndarray:
    """``dL/dx``, one input cell at a time: the sum, over every output cell whose
    window covers the cell and every filter, of ``dy`` times the weight that
    met the cell. Equals ``conv2d_backward(...)[0]``."""
    n, h, w, channels = x.shape
    top, _, left, _ = pads
    dx = np.zeros(x.shape, _result_dtype(x, kernel, dy))
    for b in range(n):
        for row in range(h):
            for col in range(w):
                found = covering_windows(row + top, col + left, kernel.shape[:2],
                                         strides, dilation, dy.shape[1:3])
                for ch in range(channels):
                    grads = [dy[b, oy, ox, :] for oy, ox, _, _ in found]
                    weights = [kernel[i, j, ch, :] for _, _, i, j in found]
                    dx[b, row, col, ch] = gradient_cell(grads, weights)
    return dx


def conv2d_kernel_grad(x, dy, size, strides, pads, dilation) -> np.ndarray:
    """``dL/dkernel``, one weight at a time: the sum, over every image and output
    cell, of ``dy`` times the input cell under that weight (a padding zero adds
    nothing). Equals ``conv2d_backward(...)[1]``."""
    channels, filters, out_hw = x.shape[3], dy.shape[3], dy.shape[1:3]
    padded = pad(x, pads)
    dk = np.zeros((*size, channels, filters), _result_dtype(x, dy))
    for i in range(size[0]):
        for j in range(size[1]):
            for ch in range(channels):
                for f in range(filters):
                    dk[i, j, ch, f] = sum(
                        gradient_cell(dy[b, :, :, f], tap_cells(
                            padded[b], i, j, strides, dilation, out_hw)[:, :, ch])
                        for b in range(x.shape[0]))
    return dk


# ---------------------------------------------------------------- pooling


def real_cells(oy: int, ox: int, size, strides, pads, in_hw) -> tuple[slice, slice]:
    """Rows and columns of the input under the pooling window of output cell
    ``(oy, ox)``, without the padding (padding cells are not values)."""
    (ph, pw), (sh, sw), (h, w) = size, strides, in_hw
    top, left = oy * sh - pads[0], ox * sw - pads[2]
    return (slice(max(top, 0), min(top + ph, h)),
            slice(max(left, 0), min(left + pw, w)))


def max_of(values) -> tuple[float, int]:
    """``(value, position)`` that max pooling keeps from ``values`` (reading
    order): the first maximum, so ties go to the earliest cell; but a NaN wins
    (the first NaN), so a broken activation is not hidden."""
    best = 0
    for i, v in enumerate(values):
        if math.isnan(v):
            return float(v), i
        if v > values[best]:
            best = i
    return float(values[best]), best


def mean_of(values) -> float:
    """What average pooling keeps: the mean of the real cells."""
    return float(np.sum(values, dtype=np.float64)) / len(values)


def max_pool2d(x, size, strides, pads, out_hw):
    """Max pooling: ``(y, argmax)``, ``argmax`` holding ``row * width + col`` of
    each kept cell (-1 for a window without real cells, whose output is 0).

    Twin of :func:`convsim.kernels.pool.max_pool2d_forward`.
    """
    n, h, w, c = x.shape
    y = np.zeros((n, *out_hw, c), _result_dtype(x))
    argmax = np.full((n, *out_hw, c), -1, np.int64)
    for b in range(n):
        for oy in range(out_hw[0]):
            for ox in range(out_hw[1]):
                rows, cols = real_cells(oy, ox, size, strides, pads, (h, w))
                for ch in range(c):
                    values = x[b, rows, cols, ch].ravel()
                    if values.size == 0:
                        continue
                    y[b, oy, ox, ch], i = max_of(values)
                    row = rows.start + i // (cols.stop - cols.start)
                    col = cols.start + i % (cols.stop - cols.start)
                    argmax[b, oy, ox, ch] = row * w + col
    return y, argmax


def max_pool2d_backward(dy, argmax, h: int, w: int) -> np.ndarray:
    """Each window's gradient goes to the one cell it kept (overlapping windows
    add up). Twin of :func:`convsim.kernels.pool.max_pool2d_backward`."""
    n, out_h, out_w, c = dy.shape
    dx = np.zeros((n, h, w, c), np.float64)
    for b in range(n):
        for oy in range(out_h):
            for ox in range(out_w):
                for ch in range(c):
                    where = argmax[b, oy, ox, ch]
                    if where >= 0:
                        dx[b, where // w, where % w, ch] += dy[b, oy, ox, ch]
    return dx.astype(_result_dtype(dy))


def average_pool2d(x, size, strides, pads, out_hw) -> np.ndarray:
    """Average pooling over the real cells of each window (TensorFlow's rule).
    Twin of :func:`convsim.kernels.pool.average_pool2d_forward`."""
    n, h, w, c = x.shape
    y = np.zeros((n, *out_hw, c), _result_dtype(x))
    for b in range(n):
        for oy in range(out_hw[0]):
            for ox in range(out_hw[1]):
                rows, cols = real_cells(oy, ox, size, strides, pads, (h, w))
                for ch in range(c):
                    values = x[b, rows, cols, ch].ravel()
                    if values.size:
                        y[b, oy, ox, ch] = mean_of(values)
    return y


def average_pool2d_backward(dy, in_hw, size, strides, pads) -> np.ndarray:
    """Each window's gradient is shared equally by its real cells.
    Twin of :func:`convsim.kernels.pool.average_pool2d_backward`."""
    n, out_h, out_w, c = dy.shape
    dx = np.zeros((n, *in_hw, c), np.float64)
    for b in range(n):
        for oy in range(out_h):
            for ox in range(out_w):
                rows, cols = real_cells(oy, ox, size, strides, pads, in_hw)
                count = (rows.stop - rows.start) * (cols.stop - cols.start)
                if count > 0:
                    dx[b, rows, cols, :] += dy[b, oy, ox, :] / count
    return dx.astype(_result_dtype(dy))


# ---------------------------------------------------------------- dense


def dense_unit(inputs, weights, bias: float) -> float:
    """One unit of a Dense layer: ``sum(inputs * weights) + bias`` (products
    and sum in float64)."""
    return float(np.sum(np.multiply(inputs, weights, dtype=np.float64))) + float(bias)


def dense(x, kernel, bias) -> np.ndarray:
    """``y[b, u] = sum(x[b] * kernel[:, u]) + bias[u]``.
    Twin of :func:`convsim.kernels.dense.dense_forward`."""
    y = np.zeros((x.shape[0], kernel.shape[1]), _result_dtype(x, kernel))
    for b in range(x.shape[0]):
        for u in range(kernel.shape[1]):
            y[b, u] = dense_unit(x[b], kernel[:, u], bias[u])
    return y


def dense_backward(x, kernel, dy):
    """Gradients ``(dx, dkernel, dbias)`` of :func:`dense`, given ``dy = dL/dy``.

    Twin of :func:`convsim.kernels.dense.dense_backward`. Each unit was
    ``sum(inputs * weights) + bias``, so for every sample and unit:

    * each input gets ``dy * its weight``;
    * each weight gets ``dy * its input``;
    * the bias gets ``dy``.
    """
    dtype = _result_dtype(x, kernel, dy)
    x, kernel = np.asarray(x, np.float64), np.asarray(kernel, np.float64)
    dx = np.zeros(x.shape, np.float64)
    dkernel = np.zeros(kernel.shape, np.float64)
    dbias = np.zeros(kernel.shape[1], np.float64)
    for b in range(x.shape[0]):
        for u in range(kernel.shape[1]):
            g = float(dy[b, u])
            dx[b] += g * kernel[:, u]
            dkernel[:, u] += g * x[b]
            dbias[u] += g
    return dx.astype(dtype), dkernel.astype(dtype), dbias.astype(dtype)
