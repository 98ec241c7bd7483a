"""Dropout: the book's remedy for overfitting, active only while training.
"""

from __future__ import annotations

import numbers

import numpy as np

from convsim.errors import ArgumentError
from convsim.layers.base import Layer
from convsim.random import make_rng
from convsim.validation import shape_tuple

__all__ = ['Dropout']


class Dropout(Layer):
    """During training, zero each input with probability ``rate`` and scale the
    rest by ``1 / (1 - rate)`` ("inverted" dropout), so nothing needs rescaling
    at test time, where the layer does nothing.

    Args:
        rate: fraction of inputs to drop, in ``[0, 1)``.
        noise_shape: optional shape of the mask, ``None`` entries taken from the
            input (e.g. ``(None, 1, 1, None)`` drops whole feature maps).
        seed: optional int for a repeatable mask sequence.
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if (not isinstance(rate, numbers.Real) or isinstance(rate, (bool, np.bool_))
                or not 0 <= rate < 1):
            raise ArgumentError("Invalid value received for argument `rate`. Expected "
                                f"a float value between 0 and 1 (1 excluded). "
                                f"Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = (None if noise_shape is None
                            else shape_tuple(noise_shape, "noise_shape"))
        self.seed = seed
        self.rng = make_rng(seed)
        self._mask = None

    def build(self, input_shape):
        """Check ``noise_shape`` against the inputs (at build, so a model file
        asking for an impossible mask is refused when it is loaded)."""
        self._mask_shape(tuple(input_shape))

    def _mask_shape(self, input_shape: tuple) -> tuple:
        """The mask's shape for inputs of ``input_shape``: ``noise_shape`` with
        its ``None`` entries filled in; each other entry must be 1 (the mask is
        shared along that axis) or the input's size there."""
        if self.noise_shape is None:
            return input_shape
        fits = len(self.noise_shape) == len(input_shape) and all(
            s is None or s == 1 or n is None or s == n
            for s, n in zip(self.noise_shape, input_shape, strict=False))
        if not fits:
            raise ArgumentError(
                f"Layer '{self.name}': `noise_shape` must have one entry per input "
                "axis, each None, 1 or the input's size. Received: noise_shape="
                f"{self.noise_shape} for inputs of shape {input_shape}")
        return tuple(n if s is None else s
                     for s, n in zip(self.noise_shape, input_shape, strict=True))

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return inputs
        shape = self._mask_shape(inputs.shape)
        keep = self.rng.random(shape, dtype=np.float32) >= self.rate
        self._mask = keep.astype(np.float32) / np.float32(1.0 - self.rate)
        return inputs * self._mask

    def backward(self, grad, input_grad=True):
        return grad if self._mask is None else grad * self._mask

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed,
                      noise_shape=None if self.noise_shape is None
                      else list(self.noise_shape))
        return config
