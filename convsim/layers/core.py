"""Input, Dense, Flatten, Dropout and Activation, plus the activation plumbing
that Conv2D and Dense share.

Why layers remember their activation's input (``logits``) when asked: the model
pairs ``softmax`` + ``categorical_crossentropy`` (and ``sigmoid`` +
``binary_crossentropy``) into one step whose gradient is simply
``probabilities - labels``. That is what TensorFlow's Keras does too, and it
avoids dividing by probabilities that round to 0 in float32.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from convsim import initializers, ops, utils
from convsim.layers import activations
from convsim.layers.base import InputSpec, KerasTensor, Layer, Node, _as_shape

__all__ = ["Activation", "Dense", "Dropout", "Flatten", "Input", "InputLayer"]


class ActivatedLayer(Layer):
    """A layer computing ``y = activation(z)`` after its own linear part ``z``.

    Subclasses implement ``_backward_linear(dz)`` (gradients of the linear part).
    """

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.keep_logits = False  # set by Model.compile for the fused loss
        self.logits: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def _activate(self, z, training):
        y = activations.forward(self.activation, z)
        if self.keep_logits:
            self.logits = z
        if training:
            self._y = y
        return y

    def backward(self, grad, input_grad=True):
        if self._y is None:
            raise RuntimeError(f"Layer '{self.name}': call it with training=True "
                               "before backward().")
        dz = self.activation.backward(self._y, grad)
        return self._backward_linear(dz, input_grad)

    def backward_from_logits(self, dz, input_grad=True):
        """Backward pass given dL/dz directly (the activation already accounted)."""
        return self._backward_linear(dz, input_grad)

    def _backward_linear(self, dz, input_grad=True):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class InputLayer(Layer):
    """The model's entry point; holds the symbolic input tensor. No weights."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None,
                 name=None, **kwargs):
        kwargs.pop("trainable", None)
        if batch_shape is None and "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_shape is not None:
            batch_shape = (None, *_as_shape(tuple(batch_shape)[1:], "batch_shape"))
        elif shape is not None:
            batch_shape = (batch_size, *_as_shape(shape, "shape"))
        else:
            raise ValueError("You must pass a `shape` argument, e.g. "
                             "layers.Input(shape=(28, 28, 1)).")
        self.batch_shape = (None, *batch_shape[1:])
        self.built = True
        self._build_input_shape = self.batch_shape
        node = Node(self, None)
        node.output = KerasTensor(self.batch_shape, node, name=self.name)
        self._inbound_nodes.append(node)

    def call(self, inputs, training=False):
        return inputs

    def backward(self, grad, input_grad=True):
        return grad

    def get_config(self):
        return {"name": self.name, "batch_shape": list(self.batch_shape),
                "dtype": "float32"}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None,  # noqa: N802
          name=None) -> KerasTensor:
    """A symbolic input, e.g. ``layers.Input(shape=(28, 28, 1))`` (Keras's name)."""
    return InputLayer(shape, batch_size, dtype, batch_shape, name).output


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
        if not isinstance(units, numbers.Integral) or isinstance(units, bool) \
                or units < 1:
            raise ValueError("Received an invalid value for `units`, expected a "
                             f"positive integer. Received: units={units!r}")
        self.units = int(units)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.input_spec = InputSpec(min_ndim=2)

    def build(self, input_shape):
        features = input_shape[-1]
        if features is None:
            raise ValueError(f"The last dimension of the inputs to Dense '{self.name}'"
                             f" must be known. Received: input_shape={input_shape}")
        self.kernel = self.add_weight("kernel", (features, self.units),
                                      self.kernel_initializer)
        self.bias = (self.add_weight("bias", (self.units,), self.bias_initializer)
                     if self.use_bias else None)
        self.input_spec = InputSpec(min_ndim=2, axes={-1: features})

    def call(self, inputs, training=False):
        x2 = inputs.reshape(-1, inputs.shape[-1])
        bias = None if self.bias is None else self.bias.value
        z = ops.dense(x2, self.kernel.value, bias)
        if training:
            self._x2 = x2
            self._in_shape = inputs.shape
        return self._activate(z.reshape(*inputs.shape[:-1], self.units), training)

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


class Flatten(Layer):
    """``(batch, h, w, c)`` -> ``(batch, h*w*c)``, row by row then channel (NHWC)."""

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        from convsim.validation import standardize_data_format

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
        if not isinstance(rate, numbers.Real) or not 0 <= rate < 1:
            raise ValueError("Invalid value received for argument `rate`. Expected "
                             f"a float value between 0 and 1 (1 excluded). "
                             f"Received: rate={rate!r}")
        self.rate = float(rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.rng = utils.make_rng(seed)
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


class Activation(ActivatedLayer):
    """Applies an activation on its own: ``layers.Activation('relu')``."""

    def __init__(self, activation, **kwargs):
        super().__init__(activation=activation, **kwargs)

    def call(self, inputs, training=False):
        return self._activate(inputs, training)

    def _backward_linear(self, dz, input_grad=True):
        return dz
