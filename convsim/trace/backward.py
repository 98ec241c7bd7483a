"""The backward pass of one layer on one input, number by number.

Training needs, for every weight, how the loss changes when the weight
changes: ``dL/dw``. Backpropagation gets it layer by layer from the end: each
layer receives ``dL/d(its outputs)`` and passes ``dL/d(its inputs)`` to the
layer before it, keeping ``dL/d(its weights)`` for the optimizer. These traces
show that step for one layer, with the numbers the layer itself computes:

* :func:`trace_conv_backward`: a Conv2D. Each input cell gets, from every
  window that covered it, ``dL/dz`` times the weight that met it; each weight
  gets, from every output cell, ``dL/dz`` times the input cell it met; each
  bias the sum of ``dL/dz`` (z: the output before the activation);
* :func:`trace_pool_backward`: max pooling sends each window's gradient to the
  cell it kept, and 0 to the others (average pooling shares it);
* :func:`trace_activation_backward`: an Activation layer multiplies the
  gradient by its slope, ReLU's being 0 where its input was negative.

Like the forward traces (:mod:`convsim.trace.layer`) they are a *view*: the
gradients come from calling the layer (``training=True``) and its own
``backward``; the steps are lazy sequences whose events
(:mod:`convsim.trace.backward_events`) work the sums out with
:mod:`convsim.kernels.reference` when asked, so a test can check each sum
equals the layer's number. Tracing leaves the weights' ``.grad`` as they were.

>>> import numpy as np
>>> from convsim import layers
>>> conv = layers.Conv2D(1, 2, kernel_initializer="ones", name="c")
>>> t = trace_conv_backward(conv, np.arange(9.0).reshape(3, 3), np.ones((2, 2)))
>>> t.weight(0, 0).total, float(t.kernel_grad[0, 0, 0, 0])  # 0 + 1 + 3 + 4
(8.0, 8.0)
>>> t.cell(1, 1).windows  # the centre is in all four windows
((0, 0, 0, 1, 1), (0, 1, 0, 1, 0), (1, 0, 0, 0, 1), (1, 1, 0, 0, 0))
"""

from __future__ import annotations

import numpy as np

from convsim import layers
from convsim.errors import ArgumentError
from convsim.kernels import reference
from convsim.trace.backward_events import (
    ActivationGradStep,
    BiasGradStep,
    InputGradStep,
    PoolGradStep,
    WeightGradStep,
)
from convsim.trace.gradients import untouched
from convsim.trace.layer import ConvTrace, PoolTrace, _check_layer, _Steps
from convsim.validation import as_float32

__all__ = ["ActivationBackwardTrace", "ConvBackwardTrace", "PoolBackwardTrace",
           "trace_activation_backward", "trace_backward", "trace_conv_backward",
           "trace_pool_backward"]


class _Lazy(_Steps):
    """``count`` steps made by ``make(index)`` when asked for."""

    def __init__(self, name: str, count: int, make):
        self.name, self._count, self._make = name, count, make


def run_backward(layer, inputs: np.ndarray, grad_out: np.ndarray,
                 from_logits: bool = False):
    """``(dL/d(inputs), weight gradients)`` from the layer itself, for one input
    (no batch axis): a training call, then ``backward`` (or, ``from_logits``,
    ``backward_from_logits``: ``grad_out`` is then dL/dz, before the
    activation, as training gives it to a softmax output layer).

    The layer is left as it was (:func:`~convsim.trace.gradients.untouched`):
    each weight's ``.grad`` and what the layer remembered for its own backward
    pass are put back, so tracing a learner's model in the middle of training
    does not change its next step.
    """
    with untouched([layer]):
        layer(inputs[None], training=True)
        backward = layer.backward_from_logits if from_logits else layer.backward
        grad_in = backward(grad_out[None], input_grad=True)[0]
        grads = [None if w.grad is None else np.array(w.grad) for w in layer.weights]
    return grad_in, grads


def check_grad(grad_out, shape: tuple) -> np.ndarray:
    """``grad_out`` as float32 shaped like the layer's output ``shape`` (a
    batch of one, or a map without its channel axis when there is one
    channel, are taken too)."""
    g = as_float32(grad_out, "grad_out")
    if g.ndim == len(shape) + 1 and g.shape[0] == 1:
        g = g[0]
    if g.ndim == len(shape) - 1 and shape[-1] == 1:
        g = g[..., None]
    if g.shape != tuple(shape):
        raise ArgumentError(f"`grad_out` must be dL/d(outputs) of the layer, shaped "
                            f"like its output for this input, {tuple(shape)}. "
                            f"Received: grad_out.shape={np.shape(grad_out)}")
    return g


class ConvBackwardTrace:
    """The backward pass of a :class:`~convsim.layers.Conv2D` on one image.

    Args:
        layer: a Conv2D layer.
        image: ``(height, width, channels)`` (or ``(height, width)``).
        grad_out: ``dL/d(outputs)``, shaped like the layer's output.

    Attributes:
        forward: the :class:`~convsim.trace.ConvTrace` of the same call.
        grad_outputs: ``dL/dy``, ``(out_h, out_w, filters)``.
        grad_pre_activation: ``dL/dz``, after the activation's backward step
            (the same as ``grad_outputs`` with no activation).
        grad_inputs: ``dL/dx`` as the layer's ``backward`` returned it.
        kernel_grad, bias_grad: what the layer's ``backward`` stored.
        weights: lazy :class:`WeightGradStep` s, filter by filter, each filter's
            taps channel by channel in reading order (:meth:`weight`).
        cells: lazy :class:`InputGradStep` s, channel by channel, each
            channel's cells in reading order (:meth:`cell`).
    """

    def __init__(self, layer, image, grad_out):
        _check_layer(layer, layers.Conv2D, "a Conv2D")
        self.forward = ConvTrace(layer, image)
        self.layer, self.name = layer, layer.name
        self.grad_outputs = check_grad(grad_out, self.forward.outputs.shape)
        self.grad_pre_activation = layer.activation.backward(
            self.forward.outputs[None], self.grad_outputs[None])[0]
        self.grad_inputs, grads = run_backward(layer, self.forward.inputs,
                                               self.grad_outputs)
        self.kernel_grad = grads[0]
        self.bias_grad = (np.zeros(layer.filters, np.float32) if layer.bias is None
                          else grads[1])
        kernel = self.forward.kernel
        self.weights = _Lazy(self.name, kernel.size, self._weight_step)
        self.cells = _Lazy(self.name, self.forward.inputs.size, self._input_step)

    def weight(self, i: int, j: int, channel: int = 0, filter: int = 0
               ) -> WeightGradStep:
        """The gradient of ``kernel[i, j, channel, filter]``."""
        kh, kw, channels, filters = self.forward.kernel.shape
        _check_index(((i, "i", kh), (j, "j", kw), (channel, "channel", channels),
                      (filter, "filter", filters)))
        return self.weights[((filter * channels + channel) * kh + i) * kw + j]

    def cell(self, row: int, col: int, channel: int = 0) -> InputGradStep:
        """The gradient of input cell ``(row, col, channel)``."""
        h, w, channels = self.forward.inputs.shape
        _check_index(((row, "row", h), (col, "col", w),
                      (channel, "channel", channels)))
        return self.cells[(channel * h + row) * w + col]

    def bias(self, filter: int = 0) -> BiasGradStep:
        """The gradient of the bias of ``filter``."""
        _check_index(((filter, "filter", self.forward.filters),))
        return BiasGradStep(filter, self.grad_pre_activation[:, :, filter],
                            float(self.bias_grad[filter]))

    def _weight_step(self, index: int) -> WeightGradStep:
        kh, kw, channels, _ = self.forward.kernel.shape
        rest, j = divmod(index, kw)
        rest, i = divmod(rest, kh)
        f, ch = divmod(rest, channels)
        fwd = self.forward
        out_hw, dilation = (fwd.out_h, fwd.out_w), fwd.dilation
        return WeightGradStep(
            index=index, tap=(i, j, ch, f), first=(i * dilation[0], j * dilation[1]),
            strides=fwd.strides, grads=self.grad_pre_activation[:, :, f],
            values=reference.tap_cells(fwd.padded, i, j, fwd.strides, dilation,
                                       out_hw)[:, :, ch],
            is_padding=reference.tap_cells(fwd.pad.mask[:, :, None], i, j,
                                           fwd.strides, dilation, out_hw)[:, :, 0],
            layer_grad=float(self.kernel_grad[i, j, ch, f]))

    def _input_step(self, index: int) -> InputGradStep:
        fwd = self.forward
        h, w, _ = fwd.inputs.shape
        rest, col = divmod(index, w)
        ch, row = divmod(rest, h)
        top, _, left, _ = fwd.pad.pads
        found = reference.covering_windows(row + top, col + left,
                                           fwd.kernel.shape[:2], fwd.strides,
                                           fwd.dilation, (fwd.out_h, fwd.out_w))
        windows = tuple((oy, ox, f, i, j) for oy, ox, i, j in found
                        for f in range(fwd.filters))
        return InputGradStep(
            index=index, cell=(row, col, ch), windows=windows,
            grads=np.array([self.grad_pre_activation[oy, ox, f]
                            for oy, ox, f, _, _ in windows], np.float32),
            weights=np.array([fwd.kernel[i, j, ch, f] for _, _, f, i, j in windows],
                             np.float32),
            layer_grad=float(self.grad_inputs[row, col, ch]))


class PoolBackwardTrace:
    """The backward pass of a :class:`~convsim.layers.MaxPooling2D` (or
    AveragePooling2D) on one image: one :class:`PoolGradStep` per window, in
    the order of the forward trace (``forward``); ``grad_inputs`` is what the
    layer's ``backward`` returned."""

    def __init__(self, layer, image, grad_out):
        self.forward = PoolTrace(layer, image)
        self.layer, self.name = layer, layer.name
        self.grad_outputs = check_grad(grad_out, self.forward.outputs.shape)
        self.grad_inputs, _ = run_backward(layer, self.forward.inputs,
                                           self.grad_outputs)
        self.windows = _Lazy(self.name, len(self.forward), self._window_step)

    def window(self, row: int, col: int, channel: int = 0) -> PoolGradStep:
        """The window that wrote output cell ``(row, col, channel)``."""
        return self._window_step(self.forward.step(row, col, channel).index)

    def _window_step(self, index: int) -> PoolGradStep:
        step = self.forward[index]
        return PoolGradStep(index=index, forward=step,
                            grad=float(self.grad_outputs[step.row, step.col,
                                                         step.channel]))


class ActivationBackwardTrace:
    """The backward pass of an :class:`~convsim.layers.Activation` layer with an
    element-wise activation (relu, sigmoid, tanh, linear): one
    :class:`ActivationGradStep` per cell, in C order (:meth:`step` by cell)."""

    def __init__(self, layer, inputs, grad_out):
        _check_layer(layer, layers.Activation, "an Activation")
        if layer.activation.name == "softmax":
            raise ArgumentError(
                "trace_activation_backward shows one cell at a time, and softmax "
                "mixes all the cells of a row. Received: layer "
                f"'{layer.name}' with activation='softmax'")
        self.layer, self.name = layer, layer.name
        self.inputs = as_float32(inputs, "inputs")
        self.outputs = layer(self.inputs[None])[0]
        self.grad_outputs = check_grad(grad_out, self.outputs.shape)
        self.grad_inputs, _ = run_backward(layer, self.inputs, self.grad_outputs)
        self.steps = _Lazy(self.name, self.inputs.size, self._cell_step)

    def step(self, *cell: int) -> ActivationGradStep:
        """The step of cell ``cell`` (one index per axis)."""
        if len(cell) != self.inputs.ndim:
            raise ArgumentError(f"`cell` needs one index per axis of the inputs "
                                f"{self.inputs.shape}. Received: cell={cell}")
        _check_index(tuple((c, f"cell[{k}]", n) for k, (c, n) in
                           enumerate(zip(cell, self.inputs.shape, strict=True))))
        return self.steps[int(np.ravel_multi_index(cell, self.inputs.shape))]

    def _cell_step(self, index: int) -> ActivationGradStep:
        cell = tuple(int(c) for c in np.unravel_index(index, self.inputs.shape))
        return ActivationGradStep(
            index=index, cell=cell, activation=self.layer.activation.name,
            pre_activation=float(self.inputs[cell]), output=float(self.outputs[cell]),
            grad=float(self.grad_outputs[cell]),
            layer_grad=float(self.grad_inputs[cell]))


def trace_conv_backward(layer, image, grad_out) -> ConvBackwardTrace:
    """The backward pass of a Conv2D ``layer`` on one ``image``, given
    ``grad_out = dL/d(outputs)`` (see :class:`ConvBackwardTrace`)."""
    return ConvBackwardTrace(layer, image, grad_out)


def trace_pool_backward(layer, image, grad_out) -> PoolBackwardTrace:
    """The backward pass of a pooling ``layer`` on one ``image``."""
    return PoolBackwardTrace(layer, image, grad_out)


def trace_activation_backward(layer, inputs, grad_out) -> ActivationBackwardTrace:
    """The backward pass of an Activation ``layer`` on one input."""
    return ActivationBackwardTrace(layer, inputs, grad_out)


def trace_backward(layer, inputs, grad_out):
    """The backward trace that fits ``layer``: Conv2D, pooling or Activation."""
    if isinstance(layer, layers.Conv2D):
        return ConvBackwardTrace(layer, inputs, grad_out)
    if isinstance(layer, (layers.MaxPooling2D, layers.AveragePooling2D)):
        return PoolBackwardTrace(layer, inputs, grad_out)
    _check_layer(layer, layers.Activation,
                 "a Conv2D, MaxPooling2D, AveragePooling2D or Activation")
    return ActivationBackwardTrace(layer, inputs, grad_out)


def _check_index(checks) -> None:
    """``IndexError`` naming the first of ``(value, name, size)`` out of range."""
    for value, name, size in checks:
        if not 0 <= value < size:
            raise IndexError(f"`{name}` must be in [0, {size - 1}]. "
                             f"Received: {name}={value}")
