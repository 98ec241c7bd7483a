"""Deliberately naive float64 references for the kernels (tests only).

Why a second implementation: a test that compares a kernel with itself proves
nothing. These functions take the *other* road on purpose:

* float64 everywhere, so the reference's own rounding error is ~1e-16 and any
  difference we see is the kernel's float32 error (or a bug);
* padding is *materialised* with ``np.pad`` (the kernels never allocate it, they
  skip out-of-range taps), and TensorFlow's 'same' rule is recomputed here from
  scratch instead of importing :mod:`convsim.shapes`, so the tests check
  shapes.py as well;
* plain Python loops over output cells, in the order a student would write them
  on paper. Slow, and only ever used on tiny arrays.

Every function takes NumPy arrays (any dtype; they are converted to float64)
and returns float64 arrays.
"""

from __future__ import annotations

import math

import numpy as np

EPSILON = 1e-7  # keras.config.epsilon(), restated here on purpose


# ---------------------------------------------------------------- geometry


def tf_padding(
    n: int, k: int, s: int, padding: str, d: int = 1
) -> tuple[int, int, int]:
    """``(out, pad_before, pad_after)`` along one axis, TensorFlow's rule.

    'valid': no zeros and the window must fit. 'same': the output has
    ``ceil(n / s)`` cells and the zeros needed for that are split with the odd
    one after (bottom/right).
    """
    span = d * (k - 1) + 1
    if padding == "valid":
        return (n - span) // s + 1, 0, 0
    if padding != "same":
        raise ValueError(padding)
    out = math.ceil(n / s)
    total = max((out - 1) * s + span - n, 0)
    return out, total // 2, total - total // 2


def _pad_images(x, rows, cols, value=0.0):
    """``x`` with ``rows=(top, bottom)`` and ``cols=(left, right)`` filled in."""
    return np.pad(x, ((0, 0), rows, cols, (0, 0)), constant_values=value)


# ---------------------------------------------------------------- convolution


def naive_conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """``y[n, oy, ox, f] = b[f] + sum_{i,j,c} xp[n, oy*sh + i*dh, ox*sw + j*dw, c]
    * w[i, j, c, f]`` with ``xp`` the explicitly zero-padded input."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    n, h, wid, c = x.shape
    kh, kw, _, f = w.shape
    (sh, sw), (dh, dw) = strides, dilation
    out_h, top, bottom = tf_padding(h, kh, sh, padding, dh)
    out_w, left, right = tf_padding(wid, kw, sw, padding, dw)
    xp = _pad_images(x, (top, bottom), (left, right))
    y = np.zeros((n, out_h, out_w, f))
    for oy in range(out_h):
        for ox in range(out_w):
            for i in range(kh):
                for j in range(kw):
                    tap = xp[:, oy * sh + i * dh, ox * sw + j * dw, :]  # (n, c)
                    y[:, oy, ox, :] += tap @ w[i, j]  # (n, c) @ (c, f)
    if b is not None:
        y += np.asarray(b, np.float64)
    return y


def naive_conv2d_backward(x, w, dy, strides=(1, 1), padding="valid",
                          dilation=(1, 1)):
    """``(dx, dw, db)`` by walking the same loops as :func:`naive_conv2d` and
    sending each output's gradient back to every tap that produced it."""
    x, w, dy = (np.asarray(a, np.float64) for a in (x, w, dy))
    n, h, wid, c = x.shape
    kh, kw, _, f = w.shape
    (sh, sw), (dh, dw) = strides, dilation
    out_h, top, bottom = tf_padding(h, kh, sh, padding, dh)
    out_w, left, right = tf_padding(wid, kw, sw, padding, dw)
    xp = _pad_images(x, (top, bottom), (left, right))
    dxp = np.zeros_like(xp)
    dw_ = np.zeros_like(w)
    for oy in range(out_h):
        for ox in range(out_w):
            g = dy[:, oy, ox, :]  # (n, f)
            for i in range(kh):
                for j in range(kw):
                    r, col = oy * sh + i * dh, ox * sw + j * dw
                    dxp[:, r, col, :] += g @ w[i, j].T
                    dw_[i, j] += xp[:, r, col, :].T @ g
    dx = dxp[:, top:top + h, left:left + wid, :]  # gradients on padding dropped
    return dx, dw_, dy.sum(axis=(0, 1, 2))


# ---------------------------------------------------------------- pooling


def naive_max_pool2d(x, pool, strides=None, padding="valid"):
    """``(y, argmax)``: each window's largest real cell, read row by row.

    The first maximum in reading order wins a tie; a NaN beats everything (the
    first NaN). ``argmax`` is ``row * width + col`` in the unpadded image.
    Padding cells are never candidates (TensorFlow pads max pooling with -inf).
    """
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    (ph, pw) = pool
    (sh, sw) = pool if strides is None else strides
    out_h, top, _ = tf_padding(h, ph, sh, padding)
    out_w, left, _ = tf_padding(w, pw, sw, padding)
    y = np.zeros((n, out_h, out_w, c))
    argmax = np.full((n, out_h, out_w, c), -1, dtype=np.int64)
    for b in range(n):
        for oy in range(out_h):
            for ox in range(out_w):
                for ch in range(c):
                    best, where = None, -1
                    for i in range(ph):
                        for j in range(pw):
                            r, col = oy * sh + i - top, ox * sw + j - left
                            if not (0 <= r < h and 0 <= col < w):
                                continue  # padding: not a value
                            v = x[b, r, col, ch]
                            if best is None or v > best or (
                                math.isnan(v) and not math.isnan(best)
                            ):
                                best, where = v, r * w + col
                    y[b, oy, ox, ch] = best
                    argmax[b, oy, ox, ch] = where
    return y, argmax


def naive_max_pool2d_backward(x, dy, pool, strides=None, padding="valid"):
    """Each window's gradient added to its chosen cell (windows may overlap)."""
    x = np.asarray(x, np.float64)
    _, argmax = naive_max_pool2d(x, pool, strides, padding)
    dx = np.zeros_like(x)
    w = x.shape[2]
    for b, oy, ox, ch in np.ndindex(*argmax.shape):
        where = argmax[b, oy, ox, ch]
        dx[b, where // w, where % w, ch] += dy[b, oy, ox, ch]
    return dx


def naive_avg_pool2d(x, pool, strides=None, padding="valid"):
    """Mean of each window's *real* cells: zero padding is added to the sum and
    a padded mask of ones counts the real cells (TensorFlow's 'same' rule)."""
    x = np.asarray(x, np.float64)
    n, h, w, c = x.shape
    (ph, pw) = pool
    (sh, sw) = pool if strides is None else strides
    out_h, top, bottom = tf_padding(h, ph, sh, padding)
    out_w, left, right = tf_padding(w, pw, sw, padding)
    xp = _pad_images(x, (top, bottom), (left, right))
    real = _pad_images(np.ones((1, h, w, 1)), (top, bottom), (left, right))
    y = np.zeros((n, out_h, out_w, c))
    for oy in range(out_h):
        for ox in range(out_w):
            rows = slice(oy * sh, oy * sh + ph)
            cols = slice(ox * sw, ox * sw + pw)
            y[:, oy, ox, :] = xp[:, rows, cols, :].sum(axis=(1, 2)) / real[
                0, rows, cols, 0
            ].sum()
    return y


def naive_avg_pool2d_backward(x, dy, pool, strides=None, padding="valid"):
    """Each window's gradient shared equally by its real cells."""
    x = np.asarray(x, np.float64)
    dy = np.asarray(dy, np.float64)
    n, h, w, c = x.shape
    (ph, pw) = pool
    (sh, sw) = pool if strides is None else strides
    out_h, top, bottom = tf_padding(h, ph, sh, padding)
    out_w, left, right = tf_padding(w, pw, sw, padding)
    dxp = _pad_images(np.zeros_like(x), (top, bottom), (left, right))
    real = _pad_images(np.ones((1, h, w, 1)), (top, bottom), (left, right))
    for oy in range(out_h):
        for ox in range(out_w):
            rows = slice(oy * sh, oy * sh + ph)
            cols = slice(ox * sw, ox * sw + pw)
            mask = real[:, rows, cols, :]  # (1, ph, pw, 1): 1 on real cells
            share = dy[:, oy, ox, :] / mask.sum()  # (n, c)
            dxp[:, rows, cols, :] += mask * share[:, None, None, :]
    return dxp[:, top:top + h, left:left + w, :]


# ---------------------------------------------------------------- dense, activations


def naive_dense(x, w, b=None):
    """``y[n, u] = b[u] + sum_i x[n, i] * w[i, u]``, one cell at a time."""
    x, w = np.asarray(x, np.float64), np.asarray(w, np.float64)
    y = np.zeros((x.shape[0], w.shape[1]))
    for r in range(x.shape[0]):
        for u in range(w.shape[1]):
            y[r, u] = sum(x[r, i] * w[i, u] for i in range(x.shape[1]))
    if b is not None:
        y += np.asarray(b, np.float64)
    return y


def naive_relu(x):
    x = np.asarray(x, np.float64)
    return np.where(x < 0, 0.0, x)  # NaN < 0 is False: NaN stays NaN


def naive_sigmoid(x):
    """``1 / (1 + e^-x)`` with Python floats, picking the form that cannot overflow."""
    x = np.asarray(x, np.float64)
    out = np.empty_like(x)
    for idx, v in np.ndenumerate(x):
        out[idx] = 1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
    return out


def naive_tanh(x):
    return np.vectorize(math.tanh, otypes=[np.float64])(np.asarray(x, np.float64))


def naive_softmax(x, axis=-1):
    """``e^(x_k - max) / sum_j e^(x_j - max)`` row by row along ``axis``."""
    moved = np.moveaxis(np.asarray(x, np.float64), axis, -1)
    out = np.empty_like(moved)
    for idx in np.ndindex(*moved.shape[:-1]):
        row = moved[idx]
        e = [math.exp(v - max(row)) for v in row]
        out[idx] = [v / sum(e) for v in e]
    return np.moveaxis(out, -1, axis)


# ---------------------------------------------------------------- losses (Keras 3)

# Keras 3 clips float32 tensors (tf.clip_by_value(output, epsilon(), 1 - epsilon())
# in keras/src/backend/tensorflow/nn.py), so its bounds are 1e-7 and 1 - 1e-7
# rounded to float32. Written out here rather than computed by NumPy: the
# nearest float32 to 1e-7, and 1 - 2**-23 (the float32 numbers below 1 are
# 1 - k * 2**-24; 1 - 1e-7 is nearer to k = 2 than to k = 1).
CLIP_LOW = 1.0000000116860974e-07
CLIP_HIGH = 1 - 2**-23  # 0.99999988079071044921875


def _log_sum_exp(row):
    m = max(row)
    return m + math.log(sum(math.exp(v - m) for v in row))


def naive_categorical_crossentropy(target, output, from_logits=False):
    """Per-sample loss, Keras 3: probabilities are rescaled to sum to 1 per row,
    clipped to ``[CLIP_LOW, CLIP_HIGH]`` (1e-7 and 1 - 1e-7 as float32), then
    ``-sum(t * log p)``; logits go through log-softmax (log-sum-exp) and are
    never clipped."""
    t, o = np.asarray(target, np.float64), np.asarray(output, np.float64)
    losses = np.zeros(o.shape[0])
    for r in range(o.shape[0]):
        if from_logits:
            lse = _log_sum_exp(o[r])
            logp = [v - lse for v in o[r]]
        else:
            total = sum(o[r])
            logp = [math.log(min(max(v / total, CLIP_LOW), CLIP_HIGH)) for v in o[r]]
        losses[r] = -sum(tk * lk for tk, lk in zip(t[r], logp, strict=True))
    return losses


def naive_sparse_categorical_crossentropy(labels, output, from_logits=False):
    """The categorical loss with class ``labels[r]`` as a one-hot row."""
    o = np.asarray(output, np.float64)
    hot = np.zeros_like(o)
    for r, k in enumerate(np.asarray(labels).reshape(-1)):
        hot[r, int(k)] = 1.0
    return naive_categorical_crossentropy(hot, o, from_logits)


def naive_binary_crossentropy(target, output, from_logits=False):
    """Mean over the last axis of ``-(t log p + (1 - t) log(1 - p))``, Keras 3:
    probabilities clipped to ``[CLIP_LOW, CLIP_HIGH]`` (float32 1e-7 and
    1 - 1e-7, so a label 0 on a probability 1 costs 23 log 2 = 15.942); logits through
    ``log sigmoid(z) = -log(1 + e^-z)`` written so it never overflows."""
    t, o = np.asarray(target, np.float64), np.asarray(output, np.float64)
    losses = np.zeros(o.shape[0])
    for r in range(o.shape[0]):
        terms = []
        for tk, v in zip(t[r], o[r], strict=True):
            if from_logits:
                # log(sigmoid(v)) and log(1 - sigmoid(v)) = log(sigmoid(-v))
                log_p = -_softplus(-v)
                log_q = -_softplus(v)
            else:
                p = min(max(v, CLIP_LOW), CLIP_HIGH)
                # log1p(-p), not log(1 - p): for p ~ 2e-7 the rounding of 1 - p
                # (1e-16) is a 5e-10 relative error, too much for the finite
                # differences next to the clip (the value is the same math)
                log_p, log_q = math.log(p), math.log1p(-p)
            terms.append(-(tk * log_p + (1 - tk) * log_q))
        losses[r] = sum(terms) / len(terms)
    return losses


def _softplus(v):
    """``log(1 + e^v)`` without overflow."""
    return max(v, 0.0) + math.log1p(math.exp(-abs(v)))


# ---------------------------------------------------------------- finite differences


def numerical_gradient(f, x, step=1e-6, relative=True):
    """Central differences ``(f(x + h) - f(x - h)) / 2h`` of a scalar ``f``, one
    coordinate at a time, in float64.

    With ``relative=True`` the step is ``step * max(|x_i|, 1e-3)``. Pass
    ``relative=False`` and an array of absolute steps, one per coordinate, to
    choose them yourself (e.g. to stay on one side of a loss's clip at 1e-7).
    """
    x = np.array(x, dtype=np.float64)
    steps = np.broadcast_to(np.asarray(step, np.float64), x.shape)
    grad = np.zeros_like(x)
    for idx in np.ndindex(*x.shape):
        h = steps[idx] * max(abs(x[idx]), 1e-3) if relative else steps[idx]
        old = x[idx]
        x[idx] = old + h
        up, above = f(x), x[idx]
        x[idx] = old - h
        down, below = f(x), x[idx]
        x[idx] = old
        # divide by the step actually taken: next to 1.0, old + h is rounded to
        # a multiple of 1.1e-16, which is a large error for h ~ 1e-13
        grad[idx] = (up - down) / (above - below)
    return grad
