"""The tracing model: every step of a forward pass, for one image, on demand.

A learner wants to see *each* patch, product, pad and stride; a computer wants
to run the whole layer at once. This module gives both without paying twice:

* the layer's output comes from the real kernels (:func:`convsim.ops.conv`,
  :func:`convsim.ops.max_pool`, ...), so the numbers in a lesson are the numbers
  a trained model computes;
* the steps form a lazy sequence. ``trace[i]`` builds one frozen event from
  *views* into the (padded) input and the kernel, and only multiplies the patch
  by the filter when you ask for ``step.products``. The first layer of the
  cats-vs-dogs model makes 148*148*32 = 700,928 steps and 19 million products;
  none of them exists until a lesson looks at it.

Sizes and paddings come from :mod:`convsim.shapes`, exactly as in the kernels.
Layers are described by small specs (:class:`~convsim.trace.specs.Conv2DSpec`,
...) named after the Keras layers; :func:`from_model` turns a Keras-style model
into specs by looking at its layers' attributes.

>>> import numpy as np
>>> image = np.arange(25.0).reshape(5, 5)
>>> t = trace_conv(image, np.ones((3, 3, 1, 1)), strides=2)
>>> len(t)  # 2x2 outputs, 1 filter
4
>>> step = t[1]
>>> (step.row, step.col, step.move)
(0, 1, (0, 2))
>>> float(step.products.sum()), float(step.output)
(72.0, 72.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from convsim import ops, shapes
from convsim.trace.events import (
    ConvStep,
    DenseStep,
    PadEvent,
    PoolStep,
    activate,
)
from convsim.trace.specs import (
    ACTIVATIONS,
    Conv2DSpec,
    DenseSpec,
    FlattenSpec,
    IdentitySpec,
    Pool2DSpec,
    from_model,
)
from convsim.validation import as_float32, standardize_tuple

__all__ = [
    "ACTIVATIONS", "Conv2DSpec", "DenseSpec", "FlattenSpec", "IdentitySpec",
    "Pool2DSpec", "from_model", "PadEvent", "ConvStep", "PoolStep", "DenseStep",
    "ConvTrace", "PoolTrace", "VectorTrace", "StackTrace", "trace_conv",
    "trace_pool", "trace_stack", "activate",
]


# ---------------------------------------------------------------- traces


class _Steps(Sequence):
    """Lazy steps: ``len`` is known, each item is built when indexed."""

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self._make(i) for i in range(*index.indices(self._count))]
        index = int(index)
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(f"step index out of range: there are {self._count} "
                             f"steps. Received: index={index}")
        return self._make(index)

    def _locate(self, index):
        """``(depth, row, col, move)`` for a step index (depth-major order)."""
        per_map = self.out_h * self.out_w
        depth, rest = divmod(index, per_map)
        row, col = divmod(rest, self.out_w)
        sh, sw = self.strides
        if col:
            move = (0, sw)
        elif row:
            move = (sh, -(self.out_w - 1) * sw)
        else:
            move = None
        return depth, row, col, move

    def _check_cell(self, row, col, depth, depth_name, depth_size):
        for name, value, size in (("row", row, self.out_h), ("col", col, self.out_w),
                                  (depth_name, depth, depth_size)):
            if not 0 <= value < size:
                raise IndexError(f"`{name}` must be in [0, {size - 1}]. "
                                 f"Received: {name}={value}")
        return (depth * self.out_h + row) * self.out_w + col


class ConvTrace(_Steps):
    """A traced 2D convolution of one image; a lazy sequence of :class:`ConvStep`.

    Steps go filter by filter, and within a filter row by row (stride order),
    so ``len(trace) == out_h * out_w * filters``.

    Attributes:
        inputs: ``(height, width, in_channels)`` float32.
        padded: the inputs with the zero border the windows see.
        pad: the :class:`PadEvent`.
        pre_activation: ``(out_h, out_w, filters)`` from :func:`convsim.ops.conv`.
        outputs: ``pre_activation`` after the activation (what the layer returns).
    """

    kind = "conv"

    def __init__(self, inputs, kernel, bias=None, strides=1, padding="valid",
                 dilation_rate=1, activation=None, name="conv2d"):
        x = _as_image(inputs)
        explicit = not isinstance(padding, str)
        if explicit:  # PyTorch style: zeros given per side, then a 'valid' conv
            pads = standardize_tuple(padding, 4, "padding", allow_zero=True)
            pre = ops.conv(_pad(x, pads)[None], kernel, strides, "valid",
                           dilation_rate=dilation_rate, bias=bias)[0]
        else:
            pre = ops.conv(x[None], kernel, strides, padding,
                           dilation_rate=dilation_rate, bias=bias)[0]
        self.name = name
        self.kernel = as_float32(kernel, "kernel")
        self.bias = (np.zeros(self.kernel.shape[3], np.float32) if bias is None
                     else as_float32(bias, "bias"))
        spec = Conv2DSpec(self.kernel.shape[3], self.kernel.shape[:2], strides,
                          "valid" if explicit else padding, dilation_rate, activation)
        self.strides, self.dilation = spec.strides, spec.dilation_rate
        self.padding, self.activation = spec.padding, spec.activation
        if explicit:
            self.padding = pads
        else:
            pads = shapes.window_geometry(x.shape[:2], self.kernel.shape[:2],
                                          self.strides, self.padding,
                                          self.dilation).pads
        self.out_h, self.out_w = pre.shape[:2]
        self.inputs = x
        self.pad = PadEvent(x.shape[:2], tuple(pads))
        self.padded = _pad(x, pads)
        self.pre_activation = pre
        self.outputs = activate(pre, self.activation)
        self._mask = self.pad.mask
        self._count = self.out_h * self.out_w * self.kernel.shape[3]

    @property
    def filters(self) -> int:
        return self.kernel.shape[3]

    def step(self, row: int, col: int, filter: int = 0) -> ConvStep:
        """The step that writes output cell ``(row, col)`` of ``filter``."""
        return self[self._check_cell(row, col, filter, "filter", self.filters)]

    def _make(self, index: int) -> ConvStep:
        f, row, col, move = self._locate(index)
        (sh, sw), (dh, dw) = self.strides, self.dilation
        kh, kw = self.kernel.shape[:2]
        top, left = row * sh, col * sw
        taps = (slice(top, top + dh * (kh - 1) + 1, dh),
                slice(left, left + dw * (kw - 1) + 1, dw))
        return ConvStep(
            index=index, filter=f, row=row, col=col, top=top, left=left, move=move,
            patch=self.padded[taps], weights=self.kernel[:, :, :, f],
            is_padding=self._mask[taps], bias=float(self.bias[f]),
            activation=self.activation,
            pre_activation_output=float(self.pre_activation[row, col, f]),
            output=float(self.outputs[row, col, f]),
        )


class PoolTrace(_Steps):
    """A traced max or average pooling; a lazy sequence of :class:`PoolStep`.

    Steps go channel by channel, row by row: ``out_h * out_w * channels``.
    ``outputs`` comes from :func:`convsim.ops.max_pool` /
    :func:`~convsim.ops.average_pool`.
    """

    kind = "pool"

    def __init__(self, inputs, pool_size=2, strides=None, padding="valid",
                 kind="max", name=None):
        x = _as_image(inputs)
        spec = Pool2DSpec(pool_size, strides, padding, kind)
        self.name = name or spec.name
        self.pool_kind, self.pool_size = spec.kind, spec.pool_size
        self.strides, self.padding = spec.strides, spec.padding
        pool = ops.max_pool if self.pool_kind == "max" else ops.average_pool
        self.outputs = pool(x[None], self.pool_size, self.strides, self.padding)[0]
        geo = shapes.window_geometry(x.shape[:2], self.pool_size, self.strides,
                                     self.padding)
        self.out_h, self.out_w = geo.out_h, geo.out_w
        self.inputs = x
        self.pad = PadEvent(x.shape[:2], geo.pads)
        self.padded = _pad(x, geo.pads)
        self._mask = self.pad.mask
        self._count = self.out_h * self.out_w * x.shape[2]

    @property
    def channels(self) -> int:
        return self.inputs.shape[2]

    def step(self, row: int, col: int, channel: int = 0) -> PoolStep:
        """The step that writes output cell ``(row, col)`` of ``channel``."""
        return self[self._check_cell(row, col, channel, "channel", self.channels)]

    def _make(self, index: int) -> PoolStep:
        ch, row, col, move = self._locate(index)
        (sh, sw), (ph, pw) = self.strides, self.pool_size
        top, left = row * sh, col * sw
        box = (slice(top, top + ph), slice(left, left + pw))
        return PoolStep(
            index=index, channel=ch, row=row, col=col, top=top, left=left, move=move,
            window=self.padded[box + (ch,)], is_padding=self._mask[box],
            kind=self.pool_kind, pads=(self.pad.pads[0], self.pad.pads[2]),
            output=float(self.outputs[row, col, ch]),
        )


class VectorTrace(Sequence):
    """Flatten (no steps) or Dense (one :class:`DenseStep` per unit)."""

    kind = "vector"

    def __init__(self, inputs, spec):
        self.name = spec.name
        self.inputs = np.ascontiguousarray(inputs, dtype=np.float32)
        self.spec = spec
        if isinstance(spec, DenseSpec):
            x = self.inputs.reshape(1, -1)
            self.outputs = activate(ops.dense(x, spec.kernel, spec.bias)[0],
                                    spec.activation)
        else:
            self.outputs = self.inputs.reshape(-1)

    def __len__(self) -> int:
        return len(self.outputs) if isinstance(self.spec, DenseSpec) else 0

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        unit = range(len(self))[index]
        return DenseStep(unit, self.inputs.reshape(-1), self.spec.kernel[:, unit],
                         float(self.spec.bias[unit]), self.spec.activation,
                         float(self.outputs[unit]))


class StackTrace(Sequence):
    """One trace per layer of a stack; each layer's input is the last one's output."""

    def __init__(self, image, layers, seed=0):
        specs = from_model(layers)
        rng = np.random.default_rng(seed)
        self.inputs = current = _as_image(image)
        self.specs, self.layers = [], []
        for spec in specs:
            spec = spec.with_weights(current.shape, rng)
            layer = _trace_layer(current, spec)
            self.specs.append(spec)
            self.layers.append(layer)
            current = layer.outputs

    @property
    def outputs(self) -> np.ndarray:
        return self.layers[-1].outputs if self.layers else self.inputs

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]


def _trace_layer(x, spec):
    if isinstance(spec, Conv2DSpec):
        return ConvTrace(x, spec.kernel, spec.bias, spec.strides, spec.padding,
                         spec.dilation_rate, spec.activation, spec.name)
    if isinstance(spec, Pool2DSpec):
        return PoolTrace(x, spec.pool_size, spec.strides, spec.padding, spec.kind,
                         spec.name)
    if isinstance(spec, (DenseSpec, FlattenSpec)):
        return VectorTrace(x, spec)
    return _Identity(x, spec.name)


@dataclass(frozen=True, eq=False)
class _Identity:
    """A layer that does nothing at inference (Dropout): zero steps."""

    outputs: np.ndarray
    name: str
    kind = "identity"

    def __len__(self) -> int:
        return 0


# ---------------------------------------------------------------- entry points


def trace_conv(image, kernel, bias=None, strides=1, padding="valid",
               dilation_rate=1, activation=None) -> ConvTrace:
    """Trace a convolution of one image.

    Args:
        image: ``(height, width)`` (grayscale), ``(height, width, channels)`` or
            a batch of one ``(1, height, width, channels)``.
        kernel: ``(kernel_h, kernel_w, in_channels, filters)``.
        bias, strides, dilation_rate: as :func:`convsim.ops.conv`.
        padding: ``'valid'``, ``'same'`` (TensorFlow's rule), or explicit zeros
            ``(top, bottom, left, right)`` as PyTorch's ``padding=`` gives them
            (``padding=1`` there is ``(1, 1, 1, 1)`` here).
        activation: ``None``/``'linear'``, ``'relu'``, ``'sigmoid'`` or ``'tanh'``.
    """
    return ConvTrace(image, kernel, bias, strides, padding, dilation_rate, activation)


def trace_pool(image, pool_size=2, strides=None, padding="valid",
               kind="max") -> PoolTrace:
    """Trace a max (``kind='max'``) or average (``'average'``) pooling."""
    return PoolTrace(image, pool_size, strides, padding, kind)


def trace_stack(image, layers, seed=0) -> StackTrace:
    """Trace a stack of layers (specs, or a Keras-style model) on one image.

    Specs without weights get Glorot-uniform kernels and zero biases from
    ``np.random.default_rng(seed)``, like a freshly built Keras model.
    """
    return StackTrace(image, layers, seed)


def _as_image(image) -> np.ndarray:
    x = as_float32(image, "image")
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    elif x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ValueError("`image` must be one image: (height, width), (height, width,"
                         f" channels) or (1, height, width, channels). "
                         f"Received: image.shape={np.shape(image)}")
    return x


def _pad(x: np.ndarray, pads) -> np.ndarray:
    top, bottom, left, right = pads
    if not any(pads):
        return x
    return np.pad(x, ((top, bottom), (left, right), (0, 0)))

