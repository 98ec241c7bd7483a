"""Activation functions by Keras name: ``activation='relu'`` on Conv2D or Dense.

Each one knows its forward function and its gradient. The gradients need only
the activation's *output* ``y`` (e.g. ReLU passes the gradient where ``y > 0``;
softmax uses ``y * (dy - sum(dy * y))``), so layers keep ``y``, not ``x``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convsim import ops
from convsim.errors import ArgumentError

__all__ = ["ActivationFn", "get", "serialize"]


class ActivationFn(NamedTuple):
    """A named activation: ``forward(z) -> y`` and ``backward(y, dy) -> dz``."""

    name: str
    forward: object
    backward: object


def _identity(z):
    return z


def _identity_backward(y, dy):
    return dy


_ACTIVATIONS = {
    "linear": ActivationFn("linear", _identity, _identity_backward),
    "relu": ActivationFn("relu", ops.relu, ops.relu_backward),
    "sigmoid": ActivationFn("sigmoid", ops.sigmoid, ops.sigmoid_backward),
    "tanh": ActivationFn("tanh", ops.tanh, ops.tanh_backward),
    "softmax": ActivationFn("softmax", ops.softmax, ops.softmax_backward),
}


def get(identifier) -> ActivationFn:
    """``None`` or ``'linear'`` (no activation), ``'relu'``, ``'sigmoid'``, ``'tanh'``,
    ``'softmax'``, or an :class:`ActivationFn`."""
    if identifier is None:
        return _ACTIVATIONS["linear"]
    if isinstance(identifier, ActivationFn):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _ACTIVATIONS:
        return _ACTIVATIONS[identifier.lower()]
    raise ArgumentError(
        f"Could not interpret activation function identifier: {identifier!r}. "
        f"Use one of {sorted(_ACTIVATIONS)} (or None for no activation)."
    )


def serialize(activation: ActivationFn) -> str:
    return activation.name


def forward(activation: ActivationFn, z: np.ndarray) -> np.ndarray:
    return z if activation.name == "linear" else activation.forward(z)
