"""Dense: every output unit sees every input, ``activation(x @ kernel + bias)``.
"""

from __future__ import annotations

import numpy as np

from convsim import initializers, ops
from convsim.errors import ArgumentError
from convsim.layers.base import ActivatedLayer, InputSpec
from convsim.validation import check_bool, positive_int

__all__ = ['Dense']


class Dense(ActivatedLayer):
    """Fully connected layer: ``activation(x @ kernel + bias)``.

    Args:
        units: number of outputs.
        activation: ``None``, ``'relu'``, ``'softmax'``, ``'sigmoid'``, ...
        use_bias: add a bias vector.
        kernel_initializer: Keras's default ``'glorot_uniform'``.
        bias_initializer: default ``'zeros'``.

    The kernel is ``(features, units)``; ``units * (features + 1)`` parameters.
    Inputs with more than 2 axes are transformed along the last one, as in Keras.
    """

    def __init__(self, units, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 **kwargs):
        super().__init__(activation=activation, **kwargs)
        self.units = positive_int(units, "units")
        self.use_bias = check_bool(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ArgumentError(f"The last dimension of the inputs to Dense "
                                f"'{self.name}'"
                                f" must be known. Received: input_shape={input_shape}")
        self.kernel = self.add_weight("kernel", (features, self.units),
                                      self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: features})

    def linear(self, inputs):
        """``inputs @ kernel + bias``: the layer before its activation, shaped
        like ``inputs`` with the last axis turned into ``units``.

        :meth:`call` is ``activation(linear(inputs))``. It is public so that
        :mod:`convsim.trace` can show a unit's value before its activation
        (softmax needs all of them) from the layer itself, not from a copy of
        its rule. The layer must be built.
        """
        inputs = np.asarray(inputs, dtype=np.float32)
        bias = None if self.bias is None else self.bias.value
        z = ops.dense(inputs.reshape(-1, inputs.shape[-1]), self.kernel.value, bias)
        return z.reshape(*inputs.shape[:-1], self.units)

    def call(self, inputs, training=False):
        z = self.linear(inputs)
        if training:
            self._x2 = inputs.reshape(-1, inputs.shape[-1])
            self._in_shape = inputs.shape
        return self._activate(z, training)

    def _backward_linear(self, dz, input_grad=True):
        dz2 = dz.reshape(-1, self.units)
        dx, dk, db = ops.dense_backward(self._x2, self.kernel.value, dz2)
        self.kernel.grad = dk
        if self.bias is not None:
            self.bias.grad = db
        return dx.reshape(self._in_shape)

    def compute_output_shape(self, input_shape):
        return (*tuple(input_shape)[:-1], self.units)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, use_bias=self.use_bias,
                      kernel_initializer=initializers.serialize(
                          self.kernel_initializer),
                      bias_initializer=initializers.serialize(self.bias_initializer))
        return config
