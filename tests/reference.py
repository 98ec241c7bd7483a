"""Naive float64 references for the kernels (tests only).

Why references at all: a test that compares a kernel with itself proves
nothing. The arithmetic of convolution, pooling and dense layers is written
once, as literal loops, in :mod:`convsim.kernels.reference` (shipped: it is
what learners read and what the lessons show), and the fast kernels are
pinned equal to it. What this module adds takes the *other* road on purpose:

* TensorFlow's padding rule is recomputed here from scratch
  (:func:`tf_padding`) instead of importing :mod:`convsim.shapes`, and the
  ``naive_*`` conv and pooling functions take Keras's arguments ('valid' or
  'same', strides, dilation) and work out the geometry with it, so the tests
  check shapes.py as well;
* float64 everywhere: inputs are converted to float64, so the reference's own
  rounding error is ~1e-16 and any difference we see is the kernel's float32
  error (or a bug); finite differences of these functions are exact enough to
  check gradients;
* naive activations, losses and finite differences, in plain Python loops in
  the order a student would write them on paper. Slow, and only ever used on
  tiny arrays.

Every function takes NumPy arrays (any dtype) and returns float64 arrays.
"""

from __future__ import annotations

import math

import numpy as np

from convsim.kernels import reference as literal

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


def tf_geometry(in_hw, window, strides, padding, dilation=(1, 1)):
    """``(pads, out_hw)`` of a 2D window op by :func:`tf_padding`, per axis:
    ``pads = (top, bottom, left, right)``, the form the kernels take."""
    (out_h, top, bottom), (out_w, left, right) = (
        tf_padding(n, k, s, padding, d)
        for n, k, s, d in zip(in_hw, window, strides, dilation, strict=True))
    return (top, bottom, left, right), (out_h, out_w)


def _f64(*arrays):
    return [np.asarray(a, np.float64) for a in arrays]


# ---------------------------------------------------------------- convolution


def naive_conv2d(x, w, b=None, strides=(1, 1), padding="valid", dilation=(1, 1)):
    """``y[n, oy, ox, f] = b[f] + sum(patch * w[..., f])``: the literal loop
    :func:`convsim.kernels.reference.conv2d`, in float64, on the geometry of
    :func:`tf_padding`."""
    x, w = _f64(x, w)
    b = np.zeros(w.shape[3]) if b is None else np.asarray(b, np.float64)
    pads, out_hw = tf_geometry(x.shape[1:3], w.shape[:2], strides, padding,
                                   dilation)
    return literal.conv2d(x, w, b, strides, pads, dilation, out_hw)


def naive_conv2d_backward(x, w, dy, strides=(1, 1), padding="valid",
                          dilation=(1, 1)):
    """``(dx, dw, db)``: :func:`convsim.kernels.reference.conv2d_backward` in
    float64, on the geometry of :func:`tf_padding`."""
    x, w, dy = _f64(x, w, dy)
    pads, _ = tf_geometry(x.shape[1:3], w.shape[:2], strides, padding,
                              dilation)
    return literal.conv2d_backward(x, w, dy, strides, pads, dilation)


# ---------------------------------------------------------------- pooling


def naive_max_pool2d(x, pool, strides=None, padding="valid"):
    """``(y, argmax)``: :func:`convsim.kernels.reference.max_pool2d` in float64
    (the first maximum in reading order wins a tie; a NaN beats everything;
    padding cells are never candidates), on the geometry of
    :func:`tf_padding`."""
    (x,) = _f64(x)
    strides = pool if strides is None else strides
    pads, out_hw = tf_geometry(x.shape[1:3], pool, strides, padding)
    return literal.max_pool2d(x, pool, strides, pads, out_hw)


def naive_max_pool2d_backward(x, dy, pool, strides=None, padding="valid"):
    """Each window's gradient added to its chosen cell (windows may overlap)."""
    x, dy = _f64(x, dy)
    _, argmax = naive_max_pool2d(x, pool, strides, padding)
    return literal.max_pool2d_backward(dy, argmax, x.shape[1], x.shape[2])


def naive_avg_pool2d(x, pool, strides=None, padding="valid"):
    """Mean of each window's *real* cells (TensorFlow's 'same' rule):
    :func:`convsim.kernels.reference.average_pool2d` in float64."""
    (x,) = _f64(x)
    strides = pool if strides is None else strides
    pads, out_hw = tf_geometry(x.shape[1:3], pool, strides, padding)
    return literal.average_pool2d(x, pool, strides, pads, out_hw)


def naive_avg_pool2d_backward(x, dy, pool, strides=None, padding="valid"):
    """Each window's gradient shared equally by its real cells."""
    x, dy = _f64(x, dy)
    strides = pool if strides is None else strides
    pads, _ = tf_geometry(x.shape[1:3], pool, strides, padding)
    return literal.average_pool2d_backward(dy, x.shape[1:3], pool, strides, pads)


# ---------------------------------------------------------------- dense, activations


def naive_dense(x, w, b=None):
    """``y[n, u] = b[u] + sum_i x[n, i] * w[i, u]``:
    :func:`convsim.kernels.reference.dense` in float64."""
    x, w = _f64(x, w)
    b = np.zeros(w.shape[1]) if b is None else np.asarray(b, np.float64)
    return literal.dense(x, w, b)


def naive_dense_backward(x, w, dy):
    """``(dx, dw, db)``: :func:`convsim.kernels.reference.dense_backward` in
    float64."""
    return literal.dense_backward(*_f64(x, w, dy))


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
