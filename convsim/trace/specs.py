"""Layer specs for :mod:`convsim.trace`: what a layer is, with or without weights.

A spec is the smallest description of a layer that tracing and the shape
lessons need, named after the Keras layer it stands for::

    Conv2DSpec(32, (3, 3), activation="relu")   # layers.Conv2D(32, (3, 3), ...)
    Pool2DSpec(2)                              # layers.MaxPooling2D((2, 2))
    FlattenSpec(), DenseSpec(512, activation="relu")

Specs work out their output shape and parameter count with
:mod:`convsim.shapes`. They may come without weights: :meth:`with_weights`
fills in Glorot-uniform kernels and zero biases, as a freshly built Keras
model would. :func:`from_model` turns a Keras-style model (anything with
``.layers`` whose layers have ``kernel``/``pool_size``/... attributes) into
specs, without importing :mod:`convsim.models`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np

from convsim import shapes
from convsim.validation import (
    PADDINGS,
    as_float32,
    standardize_choice,
    standardize_tuple,
)

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
POOL_KINDS = ("max", "average")


def activation_name(activation) -> str:
    """``None`` -> ``'linear'``; a function such as ``relu`` -> ``'relu'``."""
    if activation is None:
        return "linear"
    name = activation if isinstance(activation, str) else getattr(
        activation, "__name__", getattr(activation, "name", repr(activation)))
    return standardize_choice(name, ACTIVATIONS, "activation")


def _set(obj, **values) -> None:
    for key, value in values.items():
        object.__setattr__(obj, key, value)


def _glorot(shape, fan_in, fan_out, rng) -> np.ndarray:
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


@dataclass(frozen=True, eq=False)
class Conv2DSpec:
    """A ``Conv2D`` layer: ``filters`` filters of ``kernel_size``, sliding by
    ``strides``. ``kernel`` is ``(kernel_h, kernel_w, in_channels, filters)``."""

    filters: int
    kernel_size: tuple = (3, 3)
    strides: tuple = (1, 1)
    padding: str = "valid"
    dilation_rate: tuple = (1, 1)
    activation: str | None = None
    use_bias: bool = True
    kernel: np.ndarray | None = field(default=None, repr=False)
    bias: np.ndarray | None = field(default=None, repr=False)
    name: str = "conv2d"
    layer_type = "Conv2D"

    def __post_init__(self):
        _set(self, filters=standardize_tuple(self.filters, 1, "filters")[0],
             kernel_size=standardize_tuple(self.kernel_size, 2, "kernel_size"),
             strides=standardize_tuple(self.strides, 2, "strides"),
             padding=standardize_choice(self.padding, PADDINGS, "padding"),
             dilation_rate=standardize_tuple(self.dilation_rate, 2, "dilation_rate"),
             activation=activation_name(self.activation))
        if self.kernel is not None:
            kernel = as_float32(self.kernel, "kernel", 4, " of shape (kernel_h, "
                                "kernel_w, in_channels, filters)")
            if kernel.shape[:2] != self.kernel_size or kernel.shape[3] != self.filters:
                raise ValueError(
                    f"`kernel` must have shape {self.kernel_size + ('in_channels',)}"
                    f" + ({self.filters},). Received: kernel.shape={kernel.shape}")
            _set(self, kernel=kernel)
        if self.bias is not None:
            _set(self, bias=as_float32(self.bias, "bias", 1))

    def geometry(self, input_shape) -> shapes.Geometry2D:
        return _geometry(self, input_shape, self.kernel_size, self.dilation_rate)

    def output_shape(self, input_shape) -> tuple[int, int, int]:
        geo = self.geometry(input_shape)
        return (geo.out_h, geo.out_w, self.filters)

    def count_params(self, input_shape) -> int:
        kh, kw = self.kernel_size
        return (kh * kw * input_shape[-1] + int(self.use_bias)) * self.filters

    def with_weights(self, input_shape, rng) -> Conv2DSpec:
        """This spec with a kernel for ``input_shape`` (random if it has none)."""
        kh, kw = self.kernel_size
        channels = input_shape[-1]
        kernel, bias = self.kernel, self.bias
        if kernel is None:
            kernel = _glorot((kh, kw, channels, self.filters), kh * kw * channels,
                             kh * kw * self.filters, rng)
        elif kernel.shape[2] != channels:
            raise ValueError(f"Layer {self.name!r} expects {kernel.shape[2]} input "
                             f"channels. Received: input_shape={tuple(input_shape)}")
        if bias is None:
            bias = np.zeros(self.filters, np.float32)
        return replace(self, kernel=kernel, bias=bias)


@dataclass(frozen=True, eq=False)
class Pool2DSpec:
    """``MaxPooling2D`` (``kind='max'``) or ``AveragePooling2D`` (``'average'``).

    ``strides`` defaults to ``pool_size``, as in Keras.
    """

    pool_size: tuple = (2, 2)
    strides: tuple | None = None
    padding: str = "valid"
    kind: str = "max"
    name: str | None = None

    def __post_init__(self):
        size = standardize_tuple(self.pool_size, 2, "pool_size")
        strides = size if self.strides is None else standardize_tuple(
            self.strides, 2, "strides")
        kind = standardize_choice(self.kind, POOL_KINDS, "kind")
        _set(self, pool_size=size, strides=strides, kind=kind,
             padding=standardize_choice(self.padding, PADDINGS, "padding"),
             name=self.name or f"{kind}_pooling2d")

    @property
    def layer_type(self) -> str:
        return "MaxPooling2D" if self.kind == "max" else "AveragePooling2D"

    def geometry(self, input_shape) -> shapes.Geometry2D:
        return _geometry(self, input_shape, self.pool_size, (1, 1))

    def output_shape(self, input_shape) -> tuple[int, int, int]:
        geo = self.geometry(input_shape)
        return (geo.out_h, geo.out_w, input_shape[-1])

    def count_params(self, input_shape) -> int:
        return 0

    def with_weights(self, input_shape, rng) -> Pool2DSpec:
        return self


@dataclass(frozen=True, eq=False)
class FlattenSpec:
    """``Flatten``: ``(h, w, c)`` becomes a vector of ``h*w*c`` numbers."""

    name: str = "flatten"
    layer_type = "Flatten"

    def output_shape(self, input_shape) -> tuple[int]:
        return (math.prod(input_shape),)

    def count_params(self, input_shape) -> int:
        return 0

    def with_weights(self, input_shape, rng) -> FlattenSpec:
        return self


@dataclass(frozen=True, eq=False)
class DenseSpec:
    """``Dense(units)``: ``kernel`` is ``(inputs, units)``."""

    units: int
    activation: str | None = None
    use_bias: bool = True
    kernel: np.ndarray | None = field(default=None, repr=False)
    bias: np.ndarray | None = field(default=None, repr=False)
    name: str = "dense"
    layer_type = "Dense"

    def __post_init__(self):
        _set(self, units=standardize_tuple(self.units, 1, "units")[0],
             activation=activation_name(self.activation))
        if self.kernel is not None:
            _set(self, kernel=as_float32(self.kernel, "kernel", 2))
        if self.bias is not None:
            _set(self, bias=as_float32(self.bias, "bias", 1))

    def output_shape(self, input_shape) -> tuple[int]:
        if len(input_shape) != 1:
            raise ValueError(f"Layer {self.name!r} (Dense) expects a vector; add a "
                             f"Flatten layer first. Received: input_shape="
                             f"{tuple(input_shape)}")
        return (self.units,)

    def count_params(self, input_shape) -> int:
        return (math.prod(input_shape) + int(self.use_bias)) * self.units

    def with_weights(self, input_shape, rng) -> DenseSpec:
        self.output_shape(input_shape)
        n = math.prod(input_shape)
        kernel = self.kernel
        if kernel is None:
            kernel = _glorot((n, self.units), n, self.units, rng)
        bias = np.zeros(self.units, np.float32) if self.bias is None else self.bias
        return replace(self, kernel=kernel, bias=bias)


@dataclass(frozen=True, eq=False)
class IdentitySpec:
    """A layer that changes nothing at inference, such as ``Dropout``."""

    name: str = "dropout"
    layer_type: str = "Dropout"

    def output_shape(self, input_shape) -> tuple:
        return tuple(input_shape)

    def count_params(self, input_shape) -> int:
        return 0

    def with_weights(self, input_shape, rng) -> IdentitySpec:
        return self


SPECS = (Conv2DSpec, Pool2DSpec, FlattenSpec, DenseSpec, IdentitySpec)
_IDENTITY_LAYERS = ("Dropout", "InputLayer", "SpatialDropout2D", "GaussianNoise")


def _geometry(spec, input_shape, window, dilation) -> shapes.Geometry2D:
    if len(input_shape) != 3:
        raise ValueError(f"Layer {spec.name!r} expects (height, width, channels). "
                         f"Received: input_shape={tuple(input_shape)}")
    geo = shapes.window_geometry(tuple(input_shape[:2]), window, spec.strides,
                                 spec.padding, dilation)
    if geo.out_h < 1 or geo.out_w < 1:
        raise ValueError(
            f"Layer {spec.name!r}: the {window[0]}x{window[1]} window does not fit "
            f"the {input_shape[0]}x{input_shape[1]} input with padding="
            f"{spec.padding!r}. Use a smaller window, or padding='same'.")
    return geo


def from_model(model) -> list:
    """Specs for a Keras-style model, a list of layers, or a list of specs.

    Duck-typed, so it needs no import of :mod:`convsim.models`: a layer with
    ``pool_size`` is a pooling layer, one with a 4D ``kernel`` (or ``filters``
    and ``kernel_size``) is a Conv2D, a 2D ``kernel`` (or ``units``) a Dense.
    """
    layers = getattr(model, "layers", model)
    try:
        layers = list(layers)
    except TypeError:
        raise TypeError("`model` must be a model with `.layers` or a list of layers "
                        f"or specs. Received: {type(model).__name__}") from None
    return [spec_from_layer(layer) for layer in layers]


def spec_from_layer(layer):
    """The spec of one layer (specs pass through unchanged)."""
    if isinstance(layer, SPECS):
        return layer
    kind = type(layer).__name__
    name = getattr(layer, "name", None) or kind.lower()
    kernel = _array(getattr(layer, "kernel", None))
    bias = _array(getattr(layer, "bias", None))
    if hasattr(layer, "pool_size"):
        pool_kind = "average" if "Average" in kind else "max"
        return Pool2DSpec(layer.pool_size, getattr(layer, "strides", None),
                          getattr(layer, "padding", "valid"), pool_kind, name)
    if (kernel is not None and kernel.ndim == 4) or hasattr(layer, "kernel_size"):
        filters = kernel.shape[3] if kernel is not None else layer.filters
        size = kernel.shape[:2] if kernel is not None else layer.kernel_size
        return Conv2DSpec(filters, size, getattr(layer, "strides", 1),
                          getattr(layer, "padding", "valid"),
                          getattr(layer, "dilation_rate", 1),
                          getattr(layer, "activation", None),
                          getattr(layer, "use_bias", True), kernel, bias, name)
    if (kernel is not None and kernel.ndim == 2) or hasattr(layer, "units"):
        units = kernel.shape[1] if kernel is not None else layer.units
        return DenseSpec(units, getattr(layer, "activation", None),
                         getattr(layer, "use_bias", True), kernel, bias, name)
    if kind == "Flatten":
        return FlattenSpec(name)
    if kind in _IDENTITY_LAYERS:
        return IdentitySpec(name, kind)
    raise TypeError(
        f"convsim.trace cannot follow a {kind} layer ({name!r}). It understands "
        "Conv2D, MaxPooling2D, AveragePooling2D, Flatten, Dense and Dropout.")


def model_input_shape(model) -> tuple | None:
    """``(height, width, channels)`` a model expects, if it says (else None)."""
    candidates = [model, *list(getattr(model, "layers", []))[:1]]
    for obj in candidates:
        for attr in ("input_shape", "batch_input_shape", "_build_input_shape"):
            try:
                shape = getattr(obj, attr, None)
            except (AttributeError, ValueError, RuntimeError):
                shape = None
            if shape is None:
                continue
            shape = tuple(shape)
            if shape and shape[0] is None:
                shape = shape[1:]
            if shape and all(isinstance(s, (int, np.integer)) for s in shape):
                return tuple(int(s) for s in shape)
    return None


def _array(value):
    if value is None:
        return None
    if hasattr(value, "numpy"):
        value = value.numpy()
    return np.asarray(value)
