"""Fully connected (Dense) layer: ``y = x @ kernel + bias``.

These are plain NumPy on purpose: the whole layer is one matrix product, which
NumPy sends straight to BLAS, the fastest code there is for it. (Numba can only
reach BLAS through SciPy, which convsim does not depend on.) The literal loops
they compute, one unit at a time (``sum(inputs * weights) + bias``), are
:func:`convsim.kernels.reference.dense` and
:func:`~convsim.kernels.reference.dense_backward`; ``tests/kernels`` pins
them equal.

Shapes: ``x`` is ``(batch, units_in)``, ``kernel`` ``(units_in, units)`` like Keras,
``bias`` ``(units,)``.
"""

from __future__ import annotations

import numpy as np


def dense_forward(x, kernel, bias):
    """``(batch, units)`` outputs. Twin of
    :func:`convsim.kernels.reference.dense`."""
    return x @ kernel + bias


def dense_backward(x, kernel, dy):
    """Gradients ``(dx, dkernel, dbias)`` given ``dy = dL/dy``, ``(batch, units)``.
    Twin of :func:`convsim.kernels.reference.dense_backward`.

    The batch sums are accumulated in float64 so large batches do not drift.
    """
    dx = dy @ kernel.T
    dkernel = (x.astype(np.float64).T @ dy.astype(np.float64)).astype(np.float32)
    dbias = dy.sum(axis=0, dtype=np.float64).astype(np.float32)
    return dx, dkernel, dbias
