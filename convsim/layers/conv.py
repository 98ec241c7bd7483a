"""Conv2D: the layer of chapter 5.

``layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1))`` slides
32 filters of shape 3x3x1 over the image; each output cell is the sum of a 3x3
patch times one filter, plus that filter's bias, through ReLU. Sizes come from
:mod:`convsim.shapes` (``'valid'``: 28 -> 26; ``'same'``: 28 -> 28).
"""

from __future__ import annotations

from convsim import initializers, ops
from convsim.errors import ArgumentError
from convsim.layers.base import ActivatedLayer, InputSpec
from convsim.validation import (
    PADDINGS,
    check_bool,
    positive_int,
    standardize_choice,
    standardize_data_format,
    standardize_tuple,
)

__all__ = ["Conv2D"]


class Conv2D(ActivatedLayer):
    """2D convolution over ``(batch, height, width, channels)`` images.

    Args:
        filters: number of filters (output channels).
        kernel_size: int or pair, the window (e.g. ``(3, 3)``).
        strides: int or pair; step between windows (default 1).
        padding: ``'valid'`` (no padding, the default) or ``'same'``.
        data_format: ``None`` or ``'channels_last'``.
        dilation_rate: int or pair; gaps between kernel taps.
        activation: ``None``, ``'relu'``, ...
        use_bias: add one bias per filter.
        kernel_initializer: default ``'glorot_uniform'`` as in Keras.
        bias_initializer: default ``'zeros'``.

    The kernel is ``(kernel_h, kernel_w, in_channels, filters)``: the layer has
    ``kernel_h * kernel_w * in_channels * filters + filters`` parameters
    (3*3*1*32 + 32 = 320 for the first layer of the book's MNIST convnet).
    """

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid",
                 data_format=None, dilation_rate=(1, 1), activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(activation=activation, **kwargs)
        self.filters = positive_int(filters, "filters")
        self.kernel_size = standardize_tuple(kernel_size, 2, "kernel_size")
        self.strides = standardize_tuple(strides, 2, "strides")
        self.padding = standardize_choice(padding, PADDINGS, "padding")
        standardize_data_format(data_format)
        self.data_format = "channels_last"
        self.dilation_rate = standardize_tuple(dilation_rate, 2, "dilation_rate")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ArgumentError(
                "`strides > 1` not supported in conjunction with `dilation_rate > "
                f"1`. Received: strides={self.strides} and "
                f"dilation_rate={self.dilation_rate}"
            )
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(ndim=4)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ArgumentError(f"The channel dimension of the inputs to Conv2D "
                                f"'{self.name}' must be known. Received: "
                                f"input_shape={input_shape}")
        shape = (*self.kernel_size, channels, self.filters)
        self.kernel = self.add_weight("kernel", shape, self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.filters,), self.bias_initializer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(ndim=4, axes={-1: channels})

    def linear(self, inputs):
        """The convolution before the activation: every output cell is
        ``sum(patch * filter) + bias``, shaped ``(batch, out_h, out_w, filters)``.

        :meth:`call` is ``activation(linear(inputs))``. It is public so that
        :mod:`convsim.trace` can show the value a cell had before ReLU (or
        sigmoid...) from the layer itself, not from a copy of its rule. The layer
        must be built (called once, or part of a model with an input shape).
        """
        bias = None if self.bias is None else self.bias.value
        return ops.conv(inputs, self.kernel.value, self.strides, self.padding,
                        dilation_rate=self.dilation_rate, bias=bias)

    def call(self, inputs, training=False):
        if training:
            self._x = inputs
        if self._fused_relu():
            bias = None if self.bias is None else self.bias.value
            y = ops.conv(inputs, self.kernel.value, self.strides, self.padding,
                         dilation_rate=self.dilation_rate, bias=bias, relu=True)
            if training:
                self._y = y
            return y
        return self._activate(self.linear(inputs), training)

    def _fused_relu(self) -> bool:
        """ReLU in the convolution's own passes (ops.conv(relu=True) forward,
        ops.conv_backward(relu_output=y) backward): the same numbers as
        ``relu(linear(x))``, without one more pass over the output each way.
        Not when a fused loss needs the logits ``z`` kept."""
        return self.activation.name == "relu" and not self.keep_logits

    def backward(self, grad, input_grad=True):
        if not self._fused_relu() or self._y is None:
            return super().backward(grad, input_grad)
        return self._backward_linear(grad, input_grad, relu_output=self._y)

    def _backward_linear(self, dz, input_grad=True, relu_output=None):
        dx, dk, db = ops.conv_backward(self._x, self.kernel.value, dz, self.strides,
                                       self.padding, self.dilation_rate,
                                       input_grad=input_grad, relu_output=relu_output)
        self.kernel.grad = dk
        if self.bias is not None:
            self.bias.grad = db
        return dx

    def compute_output_shape(self, input_shape):
        n, h, w, _ = input_shape
        if h is None or w is None:
            return (n, None, None, self.filters)
        geo = ops.conv_geometry((n, h, w, 1), self.kernel_size, self.strides,
                                self.padding, self.dilation_rate)
        return (n, geo.out_h, geo.out_w, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters, kernel_size=list(self.kernel_size),
            strides=list(self.strides), padding=self.padding,
            data_format=self.data_format, dilation_rate=list(self.dilation_rate),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
        )
        return config
