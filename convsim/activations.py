"""Activation functions by Keras name: ``activation='relu'`` on Conv2D or Dense.

Each one knows its forward function and its gradient. The gradients need only
the activation's *output* ``y`` (e.g. ReLU passes the gradient where ``y > 0``;
softmax uses ``y * (dy - sum(dy * y))``), so layers keep ``y``, not ``x``.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convsim import ops
from convsim.validation import unknown_identifier

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


# Keras activations convsim does not have: named as such, not "Did you mean"
# another (``'elu'`` is not a misspelt ``'relu'``).
_KERAS_ONLY = ("celu", "elu", "exponential", "gelu", "glu", "hard_shrink",
               "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "leaky_relu",
               "log_sigmoid", "log_softmax", "mish", "relu6", "selu", "silu",
               "soft_shrink", "softplus", "softsign", "sparse_plus", "sparsemax",
               "squareplus", "swish", "tanh_shrink", "threshold")


def get(identifier) -> ActivationFn:
    """``None`` or ``'linear'`` (no activation), ``'relu'``, ``'sigmoid'``, ``'tanh'``,
    ``'softmax'``, or an :class:`ActivationFn`. A misspelt name gets a
    suggestion: ``get('relo')`` asks "Did you mean 'relu'?"."""
    if identifier is None:
        return _ACTIVATIONS["linear"]
    if isinstance(identifier, ActivationFn):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _ACTIVATIONS:
        return _ACTIVATIONS[identifier.lower()]
    raise unknown_identifier(
        "activation function", identifier, _ACTIVATIONS,
        f"Use one of {sorted(_ACTIVATIONS)} (or None for no activation).",
        keras_only=_KERAS_ONLY)


def serialize(activation: ActivationFn) -> str:
    return activation.name


def forward(activation: ActivationFn, z: np.ndarray) -> np.ndarray:
    return z if activation.name == "linear" else activation.forward(z)
