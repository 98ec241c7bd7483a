"""Activation functions and their gradients, element by element.

Each ``*_backward`` takes the activation's *output* ``y`` (which the forward pass
already has) and the incoming gradient ``dy``, and returns ``dL/dx``.
NaN goes in, NaN comes out: no activation hides a broken value.

Unlike convolution and pooling, these need no twin in
:mod:`convsim.kernels.reference`: each kernel is already the literal loop, one
formula per element (the only speed-up is ``prange``).
``tests/kernels/test_activations.py`` checks them against plain-math float64
formulas.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True)
def relu(x):
    """``max(x, 0)`` (NaN stays NaN, like TensorFlow)."""
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for i in prange(flat.size):
        v = flat[i]
        out[i] = 0.0 if v < 0 else v
    return out.reshape(x.shape)


@njit(cache=True, parallel=True)
def relu_backward(y, dy):
    """Gradient passes where the unit was active (``y > 0``); 0 at exactly 0, like
    Keras."""
    fy, fdy = y.reshape(-1), dy.reshape(-1)
    out = np.empty_like(fdy)
    for i in prange(fy.size):
        out[i] = fdy[i] if fy[i] > 0 else 0.0
    return out.reshape(dy.shape)


@njit(cache=True)
def sigmoid(x):
    """``1 / (1 + exp(-x))``, written so that ``exp`` never overflows."""
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for i in range(flat.size):
        v = flat[i]
        if v >= 0:
            out[i] = 1.0 / (1.0 + math.exp(-v))
        else:
            e = math.exp(v)  # v < 0, so e < 1: no overflow
            out[i] = e / (1.0 + e)
    return out.reshape(x.shape)


@njit(cache=True)
def sigmoid_backward(y, dy):
    """``dy * y * (1 - y)``: the sigmoid's slope written with its own output."""
    fy, fdy = y.reshape(-1), dy.reshape(-1)
    out = np.empty_like(fdy)  # float32, like every gradient in convsim
    for i in range(fy.size):
        out[i] = fdy[i] * fy[i] * (1.0 - fy[i])
    return out.reshape(dy.shape)


@njit(cache=True)
def tanh(x):
    flat = x.reshape(-1)
    out = np.empty_like(flat)  # an array even for a 0-d input, unlike np.tanh here
    for i in range(flat.size):
        out[i] = math.tanh(flat[i])
    return out.reshape(x.shape)


@njit(cache=True)
def tanh_backward(y, dy):
    """``dy * (1 - y**2)``: the tanh's slope written with its own output."""
    fy, fdy = y.reshape(-1), dy.reshape(-1)
    out = np.empty_like(fdy)
    for i in range(fy.size):
        out[i] = fdy[i] * (1.0 - fy[i] * fy[i])
    return out.reshape(dy.shape)


@njit(cache=True)
def softmax(x):
    """Softmax over the last axis of a 2D ``(rows, classes)`` array.

    The row maximum is subtracted first: ``exp`` of large logits would overflow to
    inf, and ``inf / inf`` is NaN. The result is unchanged because the common
    factor ``exp(-max)`` cancels.
    """
    out = np.empty_like(x)
    for r in range(x.shape[0]):
        m = x[r].max()
        total = 0.0
        for k in range(x.shape[1]):
            e = math.exp(x[r, k] - m)
            out[r, k] = e
            total += e
        for k in range(x.shape[1]):
            out[r, k] /= total
    return out


@njit(cache=True)
def softmax_backward(y, dy):
    """``dL/dx = y * (dy - sum(dy * y))`` row by row (the softmax Jacobian applied)."""
    out = np.empty_like(dy)
    for r in range(y.shape[0]):
        dot = 0.0
        for k in range(y.shape[1]):
            dot += dy[r, k] * y[r, k]
        for k in range(y.shape[1]):
            out[r, k] = y[r, k] * (dy[r, k] - dot)
    return out
