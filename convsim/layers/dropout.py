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

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            self._mask = None
            return inputs
        shape = inputs.shape
        if self.noise_shape is not None:
            shape = tuple(n if s is None else s
                          for s, n in zip(self.noise_shape, inputs.shape, strict=True))
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
