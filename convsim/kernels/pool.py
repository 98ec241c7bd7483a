"""Max and average pooling, forward and backward, over float32 NHWC arrays.

The literal loops that define these kernels are in
:mod:`convsim.kernels.reference` (:func:`~convsim.kernels.reference.max_pool2d`
and the others, one line of arithmetic per window); each kernel here names its
twin there and ``tests/kernels`` pins them equal. These are the same loops
made fast: ``prange`` over the batch (each image is one thread's own slice)
and, for max pooling, the contiguous channel axis innermost.

Each channel is pooled on its own: a window of ``pool_h x pool_w`` cells moves
by ``strides`` and keeps one number, the largest (max pooling) or the mean
(average pooling). Padding arrives resolved by :mod:`convsim.shapes`.

Rules, matching TensorFlow/Keras:

* Padding cells are not values. Max pooling only looks at real cells (so a
  padded border never wins with a fake 0 or -inf), and average pooling divides
  by the number of real cells under the window, not by ``pool_h * pool_w``.
* Ties: the gradient of max pooling goes to exactly one cell per window, the
  *first* maximum in reading order (top row first, left to right).
* NaN wins: a window containing NaN outputs NaN (and routes the gradient to the
  first NaN), so a broken activation is not hidden by pooling.
* A window without any real cell (impossible for shapes from convsim.shapes,
  but guarded anyway) outputs 0 and has no argmax (-1) and receives no gradient.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def max_pool2d_forward(x, ph, pw, sh, sw, pad_top, pad_left, out_h, out_w,
                       keep_argmax=True):
    """Max pooling: returns ``(y, argmax)``. Twin of
    :func:`convsim.kernels.reference.max_pool2d`.

    ``y`` is ``(batch, out_h, out_w, channels)``; ``argmax`` has the same shape and
    holds ``row * width + col`` of the chosen input cell, for the backward pass.
    With ``keep_argmax=False`` (predicting: no backward pass follows) ``argmax``
    is empty and never written, which spares memory twice the size of ``y``.

    The window's cells are visited in reading order and, for each cell, all
    channels at once (the innermost loop runs over the contiguous channel
    axis, which the compiler vectorises: 2-3x faster than one channel at a
    time). Each channel keeps its own running maximum ``best`` and position.
    """
    n, h, w, c = x.shape
    # Every output cell is written below, so no time goes into filling these first.
    y = np.empty((n, out_h, out_w, c), dtype=np.float32)
    kept = n if keep_argmax else 0  # images whose maxima's places are kept
    argmax = np.empty((kept, out_h, out_w, c), dtype=np.int64)
    for b in prange(n):
        best = np.empty(c, dtype=np.float32)
        where = np.empty(c, dtype=np.int64)
        for oy in range(out_h):
            y0 = max(oy * sh - pad_top, 0)
            y1 = min(oy * sh - pad_top + ph, h)
            for ox in range(out_w):
                x0 = max(ox * sw - pad_left, 0)
                x1 = min(ox * sw - pad_left + pw, w)
                best[:] = 0.0  # what a window without real cells outputs
                where[:] = -1
                for iy in range(y0, y1):
                    for ix in range(x0, x1):
                        cell = iy * w + ix
                        for ch in range(c):
                            v = x[b, iy, ix, ch]
                            top = best[ch]
                            # first real cell; or strictly larger; or the first NaN
                            if where[ch] < 0 or v > top or (v != v and top == top):
                                best[ch] = v
                                where[ch] = cell
                y[b, oy, ox, :] = best
                if keep_argmax:
                    argmax[b, oy, ox, :] = where
    return y, argmax


@njit(cache=True, parallel=True)
def max_pool2d_backward(dy, argmax, h, w):
    """Route each window's gradient to its chosen cell; returns ``(batch, h, w, c)``.
    Twin of :func:`convsim.kernels.reference.max_pool2d_backward`.

    ``argmax`` holds cells ``row * w + col`` in ``[0, h * w)`` or -1: it is a
    memory index here, so :func:`convsim.ops.max_pool_backward` checks a
    user-supplied one first."""
    n, out_h, out_w, c = dy.shape
    dx = np.empty((n, h * w, c), dtype=np.float32)  # cells numbered row * w + col
    for b in prange(n):
        dx[b] = 0.0  # zeroed here, by each thread for its own images
        for oy in range(out_h):
            for ox in range(out_w):
                for ch in range(c):
                    where = argmax[b, oy, ox, ch]
                    if where >= 0:  # windows overlap when strides < pool size
                        dx[b, where, ch] += dy[b, oy, ox, ch]
    return dx.reshape(n, h, w, c)


@njit(cache=True, parallel=True)
def average_pool2d_forward(x, ph, pw, sh, sw, pad_top, pad_left, out_h, out_w):
    """Average pooling over the real (non-padding) cells of each window.
    Twin of :func:`convsim.kernels.reference.average_pool2d`."""
    n, h, w, c = x.shape
    y = np.zeros((n, out_h, out_w, c), dtype=np.float32)
    for b in prange(n):
        for oy in range(out_h):
            y0 = max(oy * sh - pad_top, 0)
            y1 = min(oy * sh - pad_top + ph, h)
            for ox in range(out_w):
                x0 = max(ox * sw - pad_left, 0)
                x1 = min(ox * sw - pad_left + pw, w)
                count = (y1 - y0) * (x1 - x0)
                if y1 <= y0 or x1 <= x0:
                    continue  # no real cell: output stays 0
                for ch in range(c):
                    total = 0.0  # float64: a window sum should not lose digits
                    for iy in range(y0, y1):
                        for ix in range(x0, x1):
                            total += x[b, iy, ix, ch]
                    y[b, oy, ox, ch] = total / count
    return y


@njit(cache=True, parallel=True)
def average_pool2d_backward(dy, h, w, ph, pw, sh, sw, pad_top, pad_left):
    """Spread each window's gradient evenly over its real cells.
    Twin of :func:`convsim.kernels.reference.average_pool2d_backward`."""
    n, out_h, out_w, c = dy.shape
    dx = np.zeros((n, h, w, c), dtype=np.float32)
    for b in prange(n):
        for oy in range(out_h):
            y0 = max(oy * sh - pad_top, 0)
            y1 = min(oy * sh - pad_top + ph, h)
            for ox in range(out_w):
                x0 = max(ox * sw - pad_left, 0)
                x1 = min(ox * sw - pad_left + pw, w)
                if y1 <= y0 or x1 <= x0:
                    continue
                share = np.float32(1.0 / ((y1 - y0) * (x1 - x0)))
                for iy in range(y0, y1):
                    for ix in range(x0, x1):
                        for ch in range(c):
                            dx[b, iy, ix, ch] += dy[b, oy, ox, ch] * share
    return dx
