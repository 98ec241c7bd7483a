"""The trace of one layer on one image: the layer's own numbers, step by step.

A trace is a *view* over a real :mod:`convsim.layers` layer. It reads the
layer's attributes and weights (``layer.kernel``, ``layer.strides``,
``layer.padding``...), takes the window geometry from :mod:`convsim.shapes`
exactly as the ops do, and gets the outputs by calling the layer, so the
numbers are the ones ``model.predict`` computes. It checks nothing itself: the
layer's constructor checked its arguments and the call checks the input, each
with its own message.

The steps form a lazy sequence. ``trace[i]`` builds one frozen event
(:mod:`convsim.trace.events`) from views into the padded input and the kernel,
placed by :func:`convsim.kernels.reference.window`; the products and sums are
worked out only when asked for. The first layer of the cats-vs-dogs model makes
148*148*32 = 700,928 steps and 19 million products; none of them exists until
a lesson looks at it.

A trace is a snapshot of one forward pass: its kernel is the layer's own array
(no copy), so trace again after training the model further.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

import numpy as np

from convsim import layers, shapes
from convsim.errors import ArgumentError, WrongTypeError
from convsim.kernels import reference
from convsim.trace.events import ConvStep, DenseStep, PadEvent, PoolStep
from convsim.validation import as_float32, standardize_tuple

__all__ = ["ConvTrace", "DenseTrace", "LayerTrace", "PoolTrace", "trace_layer"]


class _Steps(Sequence):
    """Lazy steps: ``len`` is known, each item is built when indexed."""

    _count = 0

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

    def _make(self, index: int):  # pragma: no cover - every trace with steps has one
        raise NotImplementedError

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} of layer '{self.name}': "
                f"{self._count:,} steps>")


class _WindowSteps(_Steps):
    """Steps of a sliding window (convolution or pooling): map by map, and in
    each map row by row, in the order the window moves (stride order)."""

    def _setup(self, layer, image, seen, window, dilation, pads=None):
        """Call the layer on ``seen`` (the image, or the image with explicit
        zeros around it) and place the windows as :mod:`convsim.shapes` does."""
        self.layer, self.name = layer, layer.name
        self.strides, self.padding = layer.strides, layer.padding
        self.inputs = image
        self._called_on = seen
        self.outputs = layer(seen[None])[0]
        if pads is None:
            geo = shapes.window_geometry(image.shape[:2], window, self.strides,
                                         self.padding, dilation)
            pads = geo.pads
            seen = reference.pad(image, pads) if any(pads) else image
        self.out_h, self.out_w = self.outputs.shape[:2]
        self.pad = PadEvent(image.shape[:2], tuple(pads))
        self.padded = seen
        self._mask = self.pad.mask
        self._count = self.outputs.size

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


class ConvTrace(_WindowSteps):
    """A traced :class:`~convsim.layers.Conv2D` on one image; a lazy sequence
    of :class:`~convsim.trace.events.ConvStep`, ``out_h * out_w * filters`` long.

    Args:
        layer: a Conv2D layer (built, or built by this first call).
        image: ``(height, width, channels)``, ``(height, width)`` for one
            channel, or a batch of one.
        padding: optional explicit zeros ``(top, bottom, left, right)`` put
            around the image before the layer sees it, as PyTorch's
            ``padding=`` (or Keras's ZeroPadding2D) does; the layer itself must
            then have ``padding='valid'``. The trace shows them as padding.

    Attributes:
        inputs: the image, ``(height, width, channels)`` float32.
        padded: the image with the zero border the windows see.
        pad: the :class:`~convsim.trace.events.PadEvent`.
        outputs: ``(out_h, out_w, filters)``: what the layer returned.
        pre_activation: the layer's :meth:`~convsim.layers.Conv2D.linear`
            values, computed the first time they are asked for.
        kernel, bias: the layer's own weights (views, not copies).
    """

    def __init__(self, layer, image, padding=None):
        _check_layer(layer, layers.Conv2D, "a Conv2D")
        x = as_image(image)
        seen, pads = x, None
        if padding is not None:
            pads = standardize_tuple(padding, 4, "padding", allow_zero=True)
            if layer.padding != "valid":
                raise ArgumentError(
                    f"Explicit `padding` zeros need a layer with padding='valid' "
                    f"(layer '{layer.name}' would pad again). Received: padding="
                    f"{padding!r} with the layer's padding={layer.padding!r}")
            seen = reference.pad(x, pads)
        self._setup(layer, x, seen, layer.kernel_size, layer.dilation_rate, pads)
        if pads is not None:
            self.padding = pads
        self.dilation = layer.dilation_rate
        self.activation = layer.activation.name
        self.kernel = layer.kernel.value
        self.bias = (np.zeros(layer.filters, np.float32) if layer.bias is None
                     else layer.bias.value)

    @property
    def filters(self) -> int:
        return self.kernel.shape[3]

    @cached_property
    def pre_activation(self) -> np.ndarray:
        if self.activation == "linear":
            return self.outputs
        return self.layer.linear(self._called_on[None])[0]

    def step(self, row: int, col: int, filter: int = 0) -> ConvStep:
        """The step that writes output cell ``(row, col)`` of ``filter``."""
        return self[self._check_cell(row, col, filter, "filter", self.filters)]

    def _make(self, index: int) -> ConvStep:
        f, row, col, move = self._locate(index)
        size, strides = self.kernel.shape[:2], self.strides
        return ConvStep(
            index=index, filter=f, row=row, col=col, top=row * strides[0],
            left=col * strides[1], move=move,
            patch=reference.window(self.padded, row, col, size, strides,
                                   self.dilation),
            weights=self.kernel[:, :, :, f],
            is_padding=reference.window(self._mask, row, col, size, strides,
                                        self.dilation),
            bias=float(self.bias[f]), activation=self.activation,
            pre_activation_output=float(self.pre_activation[row, col, f]),
            output=float(self.outputs[row, col, f]),
        )


class PoolTrace(_WindowSteps):
    """A traced :class:`~convsim.layers.MaxPooling2D` or
    :class:`~convsim.layers.AveragePooling2D` on one image; a lazy sequence of
    :class:`~convsim.trace.events.PoolStep`, ``out_h * out_w * channels`` long.
    """

    def __init__(self, layer, image):
        _check_layer(layer, (layers.MaxPooling2D, layers.AveragePooling2D),
                     "a MaxPooling2D or AveragePooling2D")
        x = as_image(image)
        self._setup(layer, x, x, layer.pool_size, (1, 1))
        self.pool_size = layer.pool_size
        self.pool_kind = "max" if isinstance(layer, layers.MaxPooling2D) else "average"

    @property
    def channels(self) -> int:
        return self.inputs.shape[2]

    def step(self, row: int, col: int, channel: int = 0) -> PoolStep:
        """The step that writes output cell ``(row, col)`` of ``channel``."""
        return self[self._check_cell(row, col, channel, "channel", self.channels)]

    def _make(self, index: int) -> PoolStep:
        ch, row, col, move = self._locate(index)
        size, strides = self.pool_size, self.strides
        rows, cols = reference.real_cells(row, col, size, strides, self.pad.pads,
                                          self.inputs.shape[:2])
        return PoolStep(
            index=index, channel=ch, row=row, col=col, top=row * strides[0],
            left=col * strides[1], move=move,
            window=reference.window(self.padded, row, col, size, strides)[:, :, ch],
            is_padding=reference.window(self._mask, row, col, size, strides),
            kind=self.pool_kind, pads=(self.pad.pads[0], self.pad.pads[2]),
            cells=self.inputs[rows, cols, ch], origin=(rows.start, cols.start),
            output=float(self.outputs[row, col, ch]),
        )


class DenseTrace(_Steps):
    """A traced :class:`~convsim.layers.Dense` on one input; a lazy sequence of
    :class:`~convsim.trace.events.DenseStep`, one per output number (one per
    unit for a vector input)."""

    def __init__(self, layer, inputs):
        _check_layer(layer, layers.Dense, "a Dense")
        self.layer, self.name = layer, layer.name
        self.inputs = as_float32(inputs, "inputs")
        self.outputs = layer(self.inputs[None])[0]
        self.activation = layer.activation.name
        self.kernel = layer.kernel.value
        self.bias = (np.zeros(layer.units, np.float32) if layer.bias is None
                     else layer.bias.value)
        self._count = self.outputs.size

    @cached_property
    def pre_activation(self) -> np.ndarray:
        if self.activation == "linear":
            return self.outputs
        return self.layer.linear(self.inputs[None])[0]

    def _make(self, index: int) -> DenseStep:
        units = self.kernel.shape[1]
        vector, unit = divmod(index, units)
        position = tuple(int(i) for i in np.unravel_index(vector,
                                                          self.inputs.shape[:-1]))
        return DenseStep(
            index=index, unit=unit, position=position,
            inputs=self.inputs[position], weights=self.kernel[:, unit],
            bias=float(self.bias[unit]), activation=self.activation,
            pre_activation_output=float(self.pre_activation[position + (unit,)]),
            output=float(self.outputs[position + (unit,)]),
        )


class LayerTrace(_Steps):
    """A layer with no arithmetic worth stepping through (Flatten reshapes,
    Dropout passes its input on when predicting, Activation...): its input and
    output only, zero steps."""

    def __init__(self, layer, inputs):
        _check_layer(layer, layers.Layer, "a convsim")
        self.layer, self.name = layer, layer.name
        self.inputs = as_float32(inputs, "inputs")
        self.outputs = layer(self.inputs[None])[0]


def trace_layer(layer, image) -> ConvTrace | PoolTrace | DenseTrace | LayerTrace:
    """The trace of ``layer`` on one input (no batch axis): a
    :class:`ConvTrace`, :class:`PoolTrace`, :class:`DenseTrace`, or a
    :class:`LayerTrace` (no steps) for any other layer."""
    if isinstance(layer, layers.Conv2D):
        return ConvTrace(layer, image)
    if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
        return PoolTrace(layer, image)
    if isinstance(layer, layers.Dense):
        return DenseTrace(layer, image)
    return LayerTrace(layer, image)


def _check_layer(layer, kinds, what: str) -> None:
    if not isinstance(layer, kinds):
        raise WrongTypeError(f"`layer` must be {what} layer (convsim.layers). "
                             f"Received: "
                             f"layer={layer!r} of type {type(layer).__name__}")


def as_image(image) -> np.ndarray:
    """One image as ``(height, width, channels)`` float32."""
    x = as_float32(image, "image")
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    elif x.ndim == 2:
        x = x[:, :, None]
    if x.ndim != 3:
        raise ArgumentError("`image` must be one image: (height, width), (height, "
                            "width,"
                            f" channels) or (1, height, width, channels). "
                            f"Received: image.shape={np.shape(image)}")
    return x
