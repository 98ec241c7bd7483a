"""Flatten: ``(batch, h, w, c)`` becomes ``(batch, h*w*c)``, the bridge from the
convolutional base to the Dense classifier.
"""

from __future__ import annotations

import math

from convsim.layers.base import InputSpec, Layer
from convsim.validation import standardize_data_format

__all__ = ['Flatten']


class Flatten(Layer):
    """``(batch, h, w, c)`` -> ``(batch, h*w*c)``, row by row then channel (NHWC)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        standardize_data_format(data_format)
        self.input_spec = InputSpec(min_ndim=1)

    def call(self, inputs, training=False):
        if training:
            self._in_shape = inputs.shape
        return inputs.reshape(inputs.shape[0], -1)

    def backward(self, grad, input_grad=True):
        return grad.reshape(self._in_shape)

    def compute_output_shape(self, input_shape):
        rest = tuple(input_shape)[1:]
        size = None if any(v is None for v in rest) else math.prod(rest)
        return (input_shape[0], size)
