"""Rescaling: ``inputs * scale + offset``, the first layer of the book's
cats-vs-dogs convnet in its second edition (``layers.Rescaling(1./255)``).

Why a layer for something so simple: pixels arrive as 0..255, and a network
learns badly from inputs that large (the first layer's sums are hundreds of
times bigger than its initial weights expect). The first edition shrinks them
outside the model, ``ImageDataGenerator(rescale=1./255)``; the second does the
same inside it, so the saved model takes raw pixels and nobody can forget the
division when using it later. The numbers are the same either way: ``x / 255``
is ``x * (1/255)`` in float32.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from convsim.errors import ArgumentError, WrongTypeError
from convsim.layers.base import Layer
from convsim.validation import check_float

__all__ = ['Rescaling']

_FLOAT32_MAX = float(np.finfo(np.float32).max)


class Rescaling(Layer):
    """``outputs = inputs * scale + offset``, when training and when predicting.

    Keras computes in float32: ``scale`` and ``offset`` are cast to float32
    first, as here, so ``Rescaling(1./255)`` gives Keras's numbers bit for bit.

    Args:
        scale: a number (``1./255``: 0..255 to 0..1), or a list of numbers, one
            per channel (the input's last axis).
        offset: added after scaling, a number or one per channel:
            ``Rescaling(1./127.5, offset=-1)`` maps 0..255 to -1..1.

    No weights: the gradient passed back is ``grad * scale``.
    """

    def __init__(self, scale, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = _factor(scale, "scale")
        self.offset = _factor(offset, "offset")
        sizes = {len(v) for v in (self.scale, self.offset)
                 if isinstance(v, tuple) and len(v) > 1}
        if len(sizes) > 1:
            raise ArgumentError(
                "`scale` and `offset` must give one number, or one per channel, "
                f"for the same number of channels. Received: scale={self.scale!r}, "
                f"offset={self.offset!r}")
        self._scale = np.asarray(self.scale, np.float32)
        self._offset = np.asarray(self.offset, np.float32)

    def build(self, input_shape):
        """Check a per-channel ``scale``/``offset`` against the channels (at
        build, so a model file that cannot work is refused when loaded)."""
        self._check_channels(tuple(input_shape))

    def _check_channels(self, shape: tuple) -> None:
        for name in ("scale", "offset"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or len(value) == 1:
                continue
            if len(shape) < 2 or shape[-1] not in (None, len(value)):
                raise ArgumentError(
                    f"Layer '{self.name}': `{name}` has {len(value)} values, one "
                    f"per channel, so its inputs must have {len(value)} channels "
                    f"(last axis). Received: {name}={list(value)} for inputs of "
                    f"shape {shape}")

    def call(self, inputs, training=False):
        self._check_channels(inputs.shape)
        return inputs * self._scale + self._offset

    def backward(self, grad, input_grad=True):
        """d(outputs)/d(inputs) is ``scale``; no weights to update. ``None``
        for the model's first layer (nobody needs d(loss)/d(images))."""
        return grad * self._scale if input_grad else None

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update({name: list(value) if isinstance(value, tuple) else value
                       for name, value in (("scale", self.scale),
                                           ("offset", self.offset))})
        return config


def _factor(value, name: str):
    """``value`` as a float, or a tuple of floats (one per channel), each
    finite and within float32's range (where the layer computes)."""
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return _number(value, name)
    is_list = (isinstance(value, Iterable)
               and not isinstance(value, (str, bytes, dict, set, frozenset)))
    values = list(value) if is_list else []
    if not values or not all(isinstance(v, numbers.Real)
                             and not isinstance(v, (bool, np.bool_)) for v in values):
        raise WrongTypeError(
            f"`{name}` must be a number, or a non-empty list of numbers (one per "
            f"channel). Received: {name}={value!r}")
    return tuple(_number(v, f"{name}[{i}]") for i, v in enumerate(values))


def _number(value, name: str) -> float:
    number = check_float(value, name)
    if abs(number) > _FLOAT32_MAX:
        raise ArgumentError(
            f"`{name}` must be within float32's range (about 3.4e38), where "
            f"convsim computes. Received: {name}={value!r}")
    return number
