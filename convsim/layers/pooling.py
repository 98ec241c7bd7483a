"""MaxPooling2D and AveragePooling2D.

``MaxPooling2D((2, 2))`` keeps the largest value of each 2x2 window, moving 2
cells at a time (``strides`` defaults to ``pool_size``), so 26x26 becomes 13x13.
Your notes also write ``MaxPooling2D(2, 2)``: that is ``pool_size=2, strides=2``,
the same thing. Pooling has no weights; its gradient goes back to the cell that
won each window (max) or is shared by the window (average).
"""

from __future__ import annotations

from convsim import ops
from convsim.layers.base import InputSpec, Layer
from convsim.validation import (
    PADDINGS,
    standardize_choice,
    standardize_data_format,
    standardize_tuple,
)

__all__ = ["AveragePooling2D", "MaxPooling2D"]


class _Pooling2D(Layer):
    def __init__(self, pool_size=(2, 2), strides=None, padding="valid",
                 data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.pool_size = standardize_tuple(pool_size, 2, "pool_size")
        self.strides = (self.pool_size if strides is None
                        else standardize_tuple(strides, 2, "strides"))
        self.padding = standardize_choice(padding, PADDINGS, "padding")
        standardize_data_format(data_format)
        self.data_format = "channels_last"
        self.input_spec = InputSpec(ndim=4)

    def compute_output_shape(self, input_shape):
        n, h, w, c = input_shape
        if h is None or w is None:
            return (n, None, None, c)
        geo = ops.conv_geometry((n, h, w, 1), self.pool_size, self.strides,
                                self.padding, what="pool")
        return (n, geo.out_h, geo.out_w, c)

    def get_config(self):
        config = super().get_config()
        config.update(pool_size=list(self.pool_size), strides=list(self.strides),
                      padding=self.padding, data_format=self.data_format)
        return config


class MaxPooling2D(_Pooling2D):
    """The maximum of each ``pool_size`` window (Keras's ``MaxPooling2D``)."""

    def call(self, inputs, training=False):
        if not training:  # no backward pass follows: the maxima's places are not kept
            return ops.max_pool(inputs, self.pool_size, self.strides, self.padding)
        y, argmax = ops.max_pool_with_argmax(inputs, self.pool_size, self.strides,
                                             self.padding)
        self._x, self._argmax = inputs, argmax
        return y

    def backward(self, grad, input_grad=True):
        return ops.max_pool_backward(self._x, grad, self.pool_size, self.strides,
                                     self.padding, argmax=self._argmax)


class AveragePooling2D(_Pooling2D):
    """The mean of each ``pool_size`` window (Keras's ``AveragePooling2D``)."""

    def call(self, inputs, training=False):
        if training:
            self._x = inputs
        return ops.average_pool(inputs, self.pool_size, self.strides, self.padding)

    def backward(self, grad, input_grad=True):
        return ops.average_pool_backward(self._x, grad, self.pool_size, self.strides,
                                         self.padding)


MaxPool2D = MaxPooling2D
AvgPool2D = AveragePooling2D
