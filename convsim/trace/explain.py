"""``explain(model, image, layer, at)``: the full working of one number of a
real network.

Pick one cell of a trained convnet (row 4, column 7 of filter 12 in
``conv2d_1``) and ask how it got its value. The answer has three parts, and
each comes from the real model, never from a second copy of its arithmetic:

* the products and sums: the layer is traced on what the layer below really
  gave it (:func:`~convsim.trace.trace_model`), and the trace's event for the
  cell holds the window, the weights and the sums, worked out with the helpers
  that define the kernels (:mod:`convsim.kernels.reference`);
* the receptive field: walking down the layers from the cell, each
  convolution or pooling widens the set of rows and columns by its own window,
  stride, dilation and padding, as the trace took them from
  :mod:`convsim.shapes`; at the bottom is the patch of the image that can
  change the cell;
* the check: a model ending at this layer (the book's "activation model") is
  asked for the cell with ``predict``, and the working must give that number,
  up to float32 rounding.

>>> from convsim import layers, models
>>> net = models.Sequential([layers.Input(shape=(5, 5, 1)),
...     layers.Conv2D(1, 3, kernel_initializer="ones", name="conv"),
...     layers.MaxPooling2D(2, name="pool")])
>>> why = explain(net, np.arange(25.0).reshape(5, 5), "conv", (1, 2, 0))
>>> why.value, why.predicted, why.check, why.field.box  # 7+8+9 + 12+13+14 + ...
(117.0, 117.0, True, (1, 2, 3, 3))
>>> explain(net, np.arange(25.0).reshape(5, 5), "pool", (0, 0, 0)).step.argmax
(1, 1)
"""

from __future__ import annotations

import numbers

import numpy as np

from convsim import activations, layers, models
from convsim.errors import ArgumentError, NotReadyError, WrongTypeError
from convsim.kernels import reference
from convsim.trace.explanation import (
    FLOAT32_EPS,
    Explanation,
    ReceptiveField,
    Terms,
    Window,
)
from convsim.trace.layer import ConvTrace, DenseTrace, PoolTrace
from convsim.trace.model import trace_model
from convsim.validation import did_you_mean

__all__ = ["EXPLAINABLE", "cell_names", "explain", "find_layer"]

#: The layers whose cells have a working to show, and what each is called.
EXPLAINABLE = {layers.Conv2D: "conv", layers.MaxPooling2D: "max",
               layers.AveragePooling2D: "average", layers.Dense: "dense",
               layers.Activation: "activation"}

#: How much float32 rounding the check allows, in units of float32's epsilon
#: times the size of the numbers added (sum of |products| and |bias|). The
#: layer adds its float32 products in its own order, the working adds them
#: in float64; 64 epsilons cover sums of thousands of terms.
ROUNDING = 64


def explain(model, image, layer, at=None) -> Explanation:
    """The working of one output number of ``model`` for ``image``.

    Args:
        model: a convsim model (:class:`~convsim.models.Sequential` or a
            functional chain), trained or not, e.g. from ``load_model``.
        image: one input as the model takes it, ``(height, width, channels)``
            (a 2-D grayscale image or a batch of one also do).
        layer: the layer's name, or its index among the model's layers in the
            order the image goes through them (the input layer not counted;
            ``-1`` is the last).
        at: which number of the layer's output: ``(row, col, channel)`` for a
            convolution or pooling, ``(unit,)`` (or just ``unit``) for Dense.
            ``None``: the largest number of the output (for the last Dense
            layer, the class the model predicts).

    Returns:
        An :class:`~convsim.trace.explanation.Explanation`.

    Raises:
        ArgumentError: no such layer, a layer with nothing to work out
            (Flatten, Dropout...), or ``at`` outside the layer's output;
            the message lists what is allowed.
    """
    traced = trace_model(model, image)
    index = find_layer(traced, layer)
    target = traced[index]
    at = _check_at(at, target)
    kind = next(k for cls, k in EXPLAINABLE.items() if isinstance(target.layer, cls))
    working = _WORKINGS[kind](target, at)
    predicted = _predicted(model, target.layer, traced.inputs, at)
    below = traced[index - 1].name if index > 0 else None
    return Explanation(
        model=model.name, layer=target.name, layer_type=type(target.layer).__name__,
        index=index, kind=kind, at=at, output_shape=tuple(target.outputs.shape),
        source=below, input_shape=tuple(target.inputs.shape),
        field=receptive_field(traced, index, at), predicted=predicted,
        output=float(target.outputs[at]), layer_outputs=target.outputs,
        config=target.layer.get_config(),
        flattened_from=_flattened_from(traced, index),
        **working, window=_window(target, at, below))


def find_layer(traced, layer) -> int:
    """The index, in a :class:`~convsim.trace.ModelTrace`, of ``layer`` (a
    name or an index), which must be one :data:`EXPLAINABLE` names."""
    names = [t.name for t in traced]
    if isinstance(layer, str):
        if layer not in names:
            raise ArgumentError(
                f"`layer` must be the name or index of a layer of model "
                f"'{traced.model.name}': {_listing(traced)}. Received: "
                f"layer={layer!r}.{did_you_mean(layer, names)}".rstrip("."))
        index = names.index(layer)
    elif isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
        if not -len(names) <= layer < len(names):
            raise ArgumentError(
                f"`layer` must be a layer's name or an index in [0, "
                f"{len(names) - 1}] (or from the end, -1 to -{len(names)}) for "
                f"model '{traced.model.name}': {_listing(traced)}. Received: "
                f"layer={layer}")
        index = int(layer) % len(names)
    else:
        raise WrongTypeError(f"`layer` must be a layer's name (str) or index "
                             f"(int). Received: layer={layer!r} of type "
                             f"{type(layer).__name__}")
    found = traced[index].layer
    if not isinstance(found, tuple(EXPLAINABLE)):
        usable = [t.name for t in traced if isinstance(t.layer, tuple(EXPLAINABLE))]
        raise ArgumentError(
            f"Layer '{found.name}' is a {type(found).__name__}: it passes numbers "
            f"on without arithmetic of its own to explain. explain works out "
            f"Conv2D, MaxPooling2D, AveragePooling2D, Dense and Activation "
            f"layers; in this model: {', '.join(usable) or 'none'}. Received: "
            f"layer={layer!r}")
    return index


def cell_names(output_shape: tuple[int, ...]) -> tuple[str, ...]:
    """What each number of ``at`` means for a layer's output shape."""
    if len(output_shape) == 3:
        return ("row", "col", "channel")
    if len(output_shape) == 1:
        return ("unit",)
    return tuple(f"axis{i}" for i in range(len(output_shape) - 1)) + ("unit",)


def _listing(traced) -> str:
    return ", ".join(f"{t.name} {tuple(t.outputs.shape)}" for t in traced)


def _check_at(at, target) -> tuple[int, ...]:
    """``at`` as a tuple of indices inside the layer's output (None: the
    largest output, first in reading order)."""
    shape = tuple(target.outputs.shape)
    if at is None:
        return tuple(int(i) for i in np.unravel_index(np.argmax(target.outputs),
                                                      shape))
    names = cell_names(shape)
    spelled = "(" + ", ".join(names) + ("," if len(names) == 1 else "") + ")"
    where = f"layer '{target.name}', whose output has shape {shape}"
    cell = (at,) if isinstance(at, numbers.Integral) else at
    try:
        cell = tuple(cell)
    except TypeError:
        raise WrongTypeError(f"`at` must be {spelled} for {where}. Received: "
                             f"at={at!r} of type {type(at).__name__}") from None
    if not all(isinstance(i, numbers.Integral) and not isinstance(i, bool)
               for i in cell):
        raise WrongTypeError(f"`at` must be whole numbers {spelled} for {where}. "
                             f"Received: at={at!r}")
    if len(cell) != len(shape):
        raise ArgumentError(f"`at` must be {spelled}: {len(shape)} number"
                            f"{'s' if len(shape) > 1 else ''} for {where}. "
                            f"Received: at={at!r}")
    if not all(0 <= i < n for i, n in zip(cell, shape, strict=True)):
        ranges = ", ".join(f"{name} in [0, {n - 1}]"
                           for name, n in zip(names, shape, strict=True))
        raise ArgumentError(f"`at` must be inside the output of {where}: "
                            f"{ranges}. Received: at={at!r}")
    return tuple(int(i) for i in cell)


# ---------------------------------------------------------------- the working


def _conv_working(trace: ConvTrace, at) -> dict:
    """Products grouped by input channel, the bias and the activation."""
    row, col, filt = at
    step = trace.step(row, col, filt)
    rows, cols = _window_coords(trace, row, col)
    positions = np.array([(r, c) for r in rows for c in cols])
    padding = step.is_padding.ravel()
    terms = tuple(Terms(channel=ch, positions=positions,
                        inputs=step.patch[:, :, ch].ravel(),
                        weights=step.weights[:, :, ch].ravel(), padding=padding)
                  for ch in range(step.patch.shape[2]))
    sums = None
    if step.activation == "softmax":  # needs every filter's sum at this place
        sums = np.array([trace.step(row, col, f).pre_activation
                         for f in range(trace.filters)])
    return _activated(step, terms, sums, filt)


def _dense_working(trace: DenseTrace, at) -> dict:
    """Every input times its weight, the bias and the activation."""
    units = trace.kernel.shape[1]
    position, unit = at[:-1], at[-1]
    vector = int(np.ravel_multi_index(position, trace.inputs.shape[:-1])) \
        if position else 0
    step = trace[vector * units + unit]
    count = len(step.inputs)
    terms = (Terms(channel=None, positions=np.arange(count)[:, None],
                   inputs=step.inputs, weights=step.weights,
                   padding=np.zeros(count, bool)),)
    sums = None
    if step.activation == "softmax":
        sums = np.array([trace[vector * units + u].pre_activation
                         for u in range(units)])
    return _activated(step, terms, sums, unit)


def _activated(step, terms, sums, index) -> dict:
    """The fields every weighted sum shares: bias, activation, value."""
    scale = sum(float(np.sum(np.abs(t.products), dtype=np.float64))
                for t in terms) + abs(step.bias)
    if sums is None:
        value = step.value
    else:
        softmax = activations.get("softmax")
        value = float(activations.forward(softmax, sums.astype(np.float32))[index])
    return dict(step=step, terms=terms, bias=step.bias,
                pre_activation=step.pre_activation, activation=step.activation,
                activation_inputs=sums, value=value,
                tolerance=ROUNDING * FLOAT32_EPS * scale + FLOAT32_EPS * abs(value))


def _pool_working(trace: PoolTrace, at) -> dict:
    """The window's real cells and the one kept (max) or their mean."""
    step = trace.step(*at)
    value = step.max if trace.pool_kind == "max" else step.mean
    scale = float(np.mean(np.abs(step.values), dtype=np.float64))
    rounding = 0.0 if trace.pool_kind == "max" else ROUNDING * FLOAT32_EPS * scale
    return dict(step=step, terms=(), bias=None, pre_activation=None,
                activation=None, activation_inputs=None, value=value,
                tolerance=rounding)


def _activation_working(trace, at) -> dict:
    """An Activation layer: its function of the number below (softmax: of
    every number along the last axis)."""
    fn = trace.layer.activation
    along = trace.inputs[at[:-1]]
    x = float(trace.inputs[at])
    sums = along if fn.name == "softmax" else None
    if sums is None:
        value = float(activations.forward(fn, np.float32(x)))
    else:
        value = float(activations.forward(fn, along.astype(np.float32))[at[-1]])
    return dict(step=None, terms=(), bias=None, pre_activation=x,
                activation=fn.name, activation_inputs=sums, value=value,
                tolerance=ROUNDING * FLOAT32_EPS * abs(x) + FLOAT32_EPS * abs(value))


_WORKINGS = {"conv": _conv_working, "dense": _dense_working, "max": _pool_working,
             "average": _pool_working, "activation": _activation_working}


def _predicted(model, layer, inputs: np.ndarray, at) -> float:
    """``model.predict``'s number for the cell: a model from the input to
    this layer's output (what the book calls an activation model)."""
    try:
        start = model.input
    except AttributeError:
        raise NotReadyError(f"explain needs a model that knows its input: build "
                            f"model '{model.name}' first, or give it an Input.") \
            from None
    probe = models.Model(start, layer.output, name=f"explain_{layer.name}")
    return float(probe.predict(inputs[None], verbose=0)[0][at])


def _flattened_from(traced, index) -> tuple[str, tuple[int, ...]] | None:
    """For a Dense layer reading a Flatten: the layer flattened and its shape,
    so input ``i`` can be named as a cell ``(row, col, channel)`` there."""
    if index < 1 or not isinstance(traced[index - 1].layer, layers.Flatten):
        return None
    flat = traced[index - 1]
    source = traced[index - 2].name if index >= 2 else None
    return (source, tuple(flat.inputs.shape))


# ---------------------------------------------------------------- where


def _taps(trace: ConvTrace | PoolTrace, axis: int, cell: int) -> tuple[int, ...]:
    """Input coordinates, along ``axis`` (0: rows, 1: columns), of the taps
    of the windows at output position ``cell`` (padding zeros: below 0 or
    past the edge).

    The window is placed by :func:`~convsim.kernels.reference.window`, the
    kernels' own definition, over a line of coordinates padded as the trace
    padded the input: rows and columns are placed independently, so one axis
    at a time is enough.
    """
    before, after = trace.pad.pads[2 * axis:2 * axis + 2]
    n = trace.inputs.shape[axis]
    size = trace.kernel.shape[:2] if isinstance(trace, ConvTrace) else trace.pool_size
    dilation = trace.dilation if isinstance(trace, ConvTrace) else (1, 1)
    coords = np.arange(-before, n + after)[:, None, None]
    taps = reference.window(coords, cell, 0, (size[axis], 1), (trace.strides[axis], 1),
                            (dilation[axis], 1))
    return tuple(int(v) for v in taps.ravel())


def _window_coords(trace: ConvTrace | PoolTrace, row: int, col: int):
    """``(rows, cols)``: input coordinates of the taps of output cell
    ``(row, col)``."""
    return _taps(trace, 0, row), _taps(trace, 1, col)


def _window(trace, at, source) -> Window | None:
    if not isinstance(trace, (ConvTrace, PoolTrace)):
        return None
    rows, cols = _window_coords(trace, at[0], at[1])
    return Window(rows, cols, tuple(trace.inputs.shape), source)


def receptive_field(traced, index: int, at) -> ReceptiveField:
    """The image cells output cell ``at`` of layer ``index`` depends on.

    From the cell down to the image, each layer turns the rows and columns it
    must produce into the rows and columns it reads: a window op reads the
    taps of each of its windows (padding zeros are not pixels); a layer that
    keeps the spatial grid (an activation, Dense on each cell) reads the same
    place; Flatten, and any layer after it, every cell.
    """
    target = traced[index]
    span = ((at[0],), (at[1],)) if target.outputs.ndim == 3 else None
    for layer_trace in reversed(traced.layers[:index + 1]):
        span = _read_by(layer_trace, span)
    h, w = traced.inputs.shape[:2]
    rows, cols = span if span is not None else (tuple(range(h)), tuple(range(w)))
    if not rows or not cols:  # windows on padding zeros only: no pixel at all
        rows = cols = ()
    return ReceptiveField(tuple(rows), tuple(cols), (h, w))


def _read_by(layer_trace, span):
    """The input rows and columns a layer reads to make output ``span`` (None:
    every number of a vector)."""
    spatial = layer_trace.inputs.ndim == 3
    everything = (tuple(range(layer_trace.inputs.shape[0])),
                  tuple(range(layer_trace.inputs.shape[1]))) if spatial else None
    if span is None:
        return everything
    if isinstance(layer_trace, (ConvTrace, PoolTrace)):
        return tuple(_read_along(layer_trace, axis, span[axis]) for axis in (0, 1))
    if spatial and layer_trace.outputs.shape[:2] == layer_trace.inputs.shape[:2]:
        return span
    return everything


def _read_along(layer_trace, axis: int, cells) -> tuple[int, ...]:
    """The input positions along ``axis`` that the windows at ``cells`` read
    (padding zeros are not pixels, so they are left out)."""
    n = layer_trace.inputs.shape[axis]
    found = {tap for cell in cells for tap in _taps(layer_trace, axis, cell)}
    return tuple(sorted(tap for tap in found if 0 <= tap < n))
