"""Receptive fields: which pixels of the input one cell of a layer can see.

A cell of the first 3x3 convolution sees a 3x3 patch of the image. A cell of
the 2x2 max pooling after it looks at 2x2 of those cells, which together see
4x4 pixels; the next 3x3 convolution looks at 3x3 pooled cells, 2 pixels
apart, and sees 8x8. Along each axis three numbers say it all, layer by layer:

* ``size``: how many input pixels one cell sees (its receptive field);
* ``jump``: how far apart, in input pixels, two neighbouring cells' fields
  start (the product of the strides so far);
* ``start``: where cell 0's field starts (negative when it reaches into
  padding zeros).

A window layer (kernel ``k``, stride ``s``, dilation ``d``, ``p`` zeros
before the first row) turns the numbers of its input into its own::

    size_out  = size_in + (k - 1) * d * jump_in
    jump_out  = jump_in * s
    start_out = start_in - p * jump_in

and cell ``i`` of the layer sees the input pixels ``start + i * jump`` up to
``start + i * jump + size - 1``. The numbers come from the layers themselves
(``kernel_size``, ``strides``, ``dilation_rate``, ``padding``, with 'same''s
zeros from :mod:`convsim.shapes`), never from a table of the book's models.

Flatten only lays the cells out in a row, so each of its numbers still sees its
cell's field; a Dense layer after it mixes them all: each of its units sees
every pixel some cell of the flattened map saw (:meth:`LayerField.coverage`; often
the whole image, but a pooling window that does not fit drops the last rows).

>>> from convsim import layers, models
>>> model = models.Sequential([layers.Input(shape=(28, 28, 1)),
...     layers.Conv2D(4, 3), layers.MaxPooling2D(2), layers.Conv2D(4, 3)])
>>> [f.size for f in receptive_fields(model)]
[(3, 3), (4, 4), (8, 8)]
>>> receptive_field(model).box(1, 2)
Box(top=2, left=4, bottom=10, right=12)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from functools import cached_property

import numpy as np

from convsim import layers, shapes
from convsim.errors import ArgumentError, WrongTypeError
from convsim.trace.model import _chain
from convsim.validation import standardize_tuple

__all__ = ["Box", "LayerField", "Span", "receptive_field", "receptive_fields"]

#: Layers that keep every cell where it is (one cell in, one cell out).
POINTWISE = (layers.InputLayer, layers.Dropout, layers.Activation,
             layers.Rescaling)
#: Layers that slide a window over their input.
WINDOWS = (layers.Conv2D, layers.MaxPooling2D, layers.AveragePooling2D)


@dataclass(frozen=True)
class Span:
    """The receptive field along one axis (rows or columns), in input pixels.

    Cell ``i`` sees pixels ``start + i * jump`` up to, not including,
    ``start + i * jump + size``. ``jump`` is 0 when every output sees the
    same pixels (a Dense layer after Flatten).
    """

    size: int
    jump: int
    start: int

    def of(self, index: int) -> tuple[int, int]:
        """``(first, stop)`` of cell ``index``, not clipped to the image."""
        first = self.start + index * self.jump
        return first, first + self.size


@dataclass(frozen=True)
class Box:
    """A rectangle of input pixels: rows ``top:bottom``, columns ``left:right``
    (the ends excluded, as in a NumPy slice ``image[top:bottom, left:right]``)."""

    top: int
    left: int
    bottom: int
    right: int

    @property
    def height(self) -> int:
        return self.bottom - self.top

    @property
    def width(self) -> int:
        return self.right - self.left

    def contains(self, row: int, col: int) -> bool:
        return self.top <= row < self.bottom and self.left <= col < self.right


@dataclass(frozen=True)
class LayerField:
    """The receptive field of one layer's cells, and how it was worked out.

    Attributes:
        name, kind: the layer's name and class (``'Conv2D'``...).
        output_shape: the layer's output without the batch axis.
        rows, cols: the :class:`Span` of each axis after this layer.
        rows_in, cols_in: the spans of the layer's input (for the working).
        window, strides, dilation: the layer's window (``(1, 1)`` for a layer
            that keeps cells where they are).
        pads: ``(top, bottom, left, right)`` zeros the layer adds.
        image_hw: the model input's ``(height, width)``.
        flat: the ``(height, width, channels)`` map a Flatten layer laid out
            in a row (its unit ``k`` is that map's cell ``k``), else None.
        whole: every output sees the same pixels: all that the map before
            Flatten saw (a Dense layer after Flatten mixes every cell).
        solid: every pixel inside a cell's span reaches the cell; False when a
            dilation, or a stride larger than the window, leaves gaps.
        previous: the field of the layer before (None for the input), which
            :meth:`box` follows down to the pixels.
    """

    name: str
    kind: str
    output_shape: tuple
    rows: Span
    cols: Span
    rows_in: Span
    cols_in: Span
    window: tuple[int, int]
    strides: tuple[int, int]
    dilation: tuple[int, int]
    pads: tuple[int, int, int, int]
    image_hw: tuple[int, int]
    flat: tuple | None = None
    whole: bool = False
    solid: bool = True
    previous: LayerField | None = dataclass_field(default=None, repr=False,
                                                  compare=False)

    @property
    def size(self) -> tuple[int, int]:
        """``(rows, cols)``: how many input pixels one cell sees."""
        return (self.rows.size, self.cols.size)

    @property
    def jump(self) -> tuple[int, int]:
        return (self.rows.jump, self.cols.jump)

    @property
    def is_window(self) -> bool:
        """The layer slides a window (so its field grows or its jump does)."""
        return self.window != (1, 1) or self.strides != (1, 1)

    def box(self, *position: int, clip: bool = True) -> Box:
        """The input pixels output ``position`` can read: ``(row, col)`` for
        a map, ``(unit,)`` for a vector.

        By default the exact rectangle: each layer's window is followed down
        through the real cells it reads, so a window that reaches into
        padding (or into the last cells an earlier layer dropped) adds no
        pixels; it is empty when a cell reads only padding. ``clip=False``
        gives the textbook span ``start + i * jump`` .. ``+ size`` instead,
        which may reach outside the image.
        """
        row, col = (0, 0) if self.whole else self._cell(position)
        if not clip:
            (top, bottom), (left, right) = self.rows.of(row), self.cols.of(col)
            return Box(top, left, bottom, right)
        if self.whole:
            return self.previous.coverage()
        rows, cols = self._reads(0, row), self._reads(1, col)
        if rows is None or cols is None:
            return Box(0, 0, 0, 0)
        return Box(rows[0], cols[0], rows[1], cols[1])

    def centre(self) -> tuple[int, ...]:
        """The output position in the middle of the layer's map (or vector)."""
        if self.whole or self.flat is not None or len(self.output_shape) < 3:
            return (self.output_shape[0] // 2,)
        return (self.output_shape[0] // 2, self.output_shape[1] // 2)

    def coverage(self) -> Box:
        """The pixels seen by at least one cell: those outside it never reach
        this layer (a 'valid' window or pool that does not fit drops them)."""
        if self.whole:
            return self.box()
        ends = []
        for axis, n in enumerate((self.flat or self.output_shape)[:2]):
            reads = [r for r in self._all_reads[axis][:n] if r]
            ends.append((min(r[0] for r in reads), max(r[1] for r in reads))
                        if reads else (0, 0))
        return Box(ends[0][0], ends[1][0], ends[0][1], ends[1][1])

    def size_working(self, axis: int = 0) -> str:
        """How the size along ``axis`` (0 rows, 1 columns) is worked out:
        ``'4 + (3-1)×2 = 8'``, or the size alone when this layer keeps it."""
        span, before = (self.rows, self.rows_in) if axis == 0 else (self.cols,
                                                                    self.cols_in)
        k, d = self.window[axis], self.dilation[axis]
        if self.whole or k == 1:
            return str(span.size)
        factors = f"({k}-1)" + (f"×{d}" if d != 1 else "") + f"×{before.jump}"
        return f"{before.size} + {factors} = {span.size}"

    def jump_working(self, axis: int = 0) -> str:
        """``'2×2 = 4'`` (jump before × stride), or the jump it keeps."""
        span, before = (self.rows, self.rows_in) if axis == 0 else (self.cols,
                                                                    self.cols_in)
        if self.whole or self.strides[axis] == 1:
            return str(span.jump)
        return f"{before.jump}×{self.strides[axis]} = {span.jump}"

    def _reads(self, axis: int, index: int) -> tuple[int, int] | None:
        """``(first, stop)``: the pixels cell ``index`` reads along ``axis``
        (None when it reads only padding)."""
        return self._all_reads[axis][index]

    @cached_property
    def _all_reads(self) -> tuple[list, list]:
        """For each axis and each cell, ``(first, stop)`` of the pixels it
        reads: its window's real (not padding) cells, followed down to the
        input. The smallest first and largest stop over the window's cells,
        since with padding and dilation a later cell can start earlier."""
        before = self.previous
        if before is None:  # the input itself: cell i is pixel i
            return tuple([(i, i + 1) for i in range(n)] for n in self.image_hw)
        if not self.is_window:  # keeps every cell in its place
            return before._all_reads
        found = []
        for axis, below in enumerate(before._all_reads):
            k, s, d = self.window[axis], self.strides[axis], self.dilation[axis]
            pad, reads = self.pads[2 * axis], []
            for i in range(self.output_shape[axis]):
                taps = [below[t] for t in range(i * s - pad, i * s - pad + d * (k - 1)
                                                + 1, d)
                        if 0 <= t < len(below) and below[t]]
                reads.append((min(r[0] for r in taps), max(r[1] for r in taps))
                             if taps else None)
            found.append(reads)
        return tuple(found)

    def _cell(self, position: tuple[int, ...]) -> tuple[int, int]:
        """``(row, col)`` of a position, checked against the output shape."""
        if self.flat is not None:
            wanted, shape = 1, (int(np.prod(self.flat)),)
        elif len(self.output_shape) >= 3:
            wanted, shape = 2, self.output_shape[:2]
        else:
            wanted, shape = 1, self.output_shape[:1]
        if len(position) != wanted or not all(
                isinstance(p, (int, np.integer)) and 0 <= p < n
                for p, n in zip(position, shape, strict=False)):
            raise ArgumentError(
                f"The position in layer '{self.name}' must be {wanted} integer(s) "
                f"within its output {tuple(shape)}. Received: position="
                f"{tuple(position)}")
        if self.flat is not None:
            row, col, _ = np.unravel_index(position[0], self.flat)
            return int(row), int(col)
        return (int(position[0]), int(position[1])) if wanted == 2 else (0, 0)


def receptive_fields(model, input_shape=None) -> list[LayerField]:
    """The :class:`LayerField` of every layer of ``model``, in order.

    Args:
        model: a convsim model whose layers form one chain (Sequential, or a
            functional chain), or a sequence of layers.
        input_shape: ``(height, width, channels)``; needed when ``model`` is
            a list of layers or a model that does not know its input shape.

    Raises:
        ArgumentError: a layer whose field convsim cannot work out (one that
            mixes cells in another way), or a window that does not fit.
        WrongTypeError: ``model`` is neither a model nor a list of layers.
    """
    chain, image = _layers_and_input(model, input_shape)
    one = Span(1, 1, 0)  # the input: each pixel sees itself
    previous = LayerField("input", "Input", image, one, one, one, one, (1, 1),
                          (1, 1), (1, 1), (0, 0, 0, 0), image[:2])
    fields, shape = [], (None, *image)
    for layer in chain:
        if isinstance(layer, layers.InputLayer):
            continue
        out = tuple(layer.compute_output_shape(shape))
        if any(n is not None and n <= 0 for n in out[1:]):
            raise ArgumentError(
                f"Layer '{layer.name}' ({type(layer).__name__}) does not fit its "
                f"input {shape[1:]}: its output would be {out[1:]}.")
        previous = _next_field(layer, previous, shape[1:], out[1:])
        fields.append(previous)
        shape = out
    return fields


def receptive_field(model, layer: str | int | None = None,
                    input_shape=None) -> LayerField:
    """The :class:`LayerField` of one layer: by name, by index among the fields,
    or (``None``) the deepest layer whose output is still a map."""
    fields = receptive_fields(model, input_shape)
    if layer is None:
        maps = [f for f in fields if len(f.output_shape) == 3 and not f.whole]
        if not maps:
            raise ArgumentError("The model has no layer whose output is a map "
                                "(height, width, channels).")
        return maps[-1]
    if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
        if -len(fields) <= layer < len(fields):
            return fields[layer]
    for field in fields:
        if field.name == layer:
            return field
    raise ArgumentError(f"`layer` must be the name or index of one of the layers "
                        f"{[f.name for f in fields]}. Received: layer={layer!r}")


def _layers_and_input(model, input_shape) -> tuple[list, tuple]:
    """The chain of layers and the ``(height, width, channels)`` it takes."""
    if isinstance(model, Sequence) and not isinstance(model, str):
        chain = list(model)
        bad = [layer for layer in chain if not isinstance(layer, layers.Layer)]
        if bad:
            raise WrongTypeError(f"`model` must be a convsim model or a list of "
                                 f"convsim layers. Received a list holding {bad[0]!r}")
    else:
        chain = _chain(model)
        if input_shape is None:
            known = getattr(getattr(model, "input", None), "shape", None)
            input_shape = tuple(known[1:]) if known is not None else None
    if input_shape is None or None in tuple(input_shape):
        raise ArgumentError("The input shape is not known: pass input_shape="
                            "(height, width, channels). Received: input_shape="
                            f"{input_shape!r}")
    return chain, standardize_tuple(input_shape, 3, "input_shape")


def _next_field(layer, before: LayerField, in_shape: tuple,
                out_shape: tuple) -> LayerField:
    """The field after ``layer``, from the field before it."""
    common = dict(name=layer.name, kind=type(layer).__name__,
                  output_shape=out_shape, rows_in=before.rows,
                  cols_in=before.cols, image_hw=before.image_hw, previous=before)
    keep = dict(rows=before.rows, cols=before.cols, window=(1, 1), strides=(1, 1),
                dilation=(1, 1), pads=(0, 0, 0, 0), whole=before.whole,
                solid=before.solid)
    if isinstance(layer, WINDOWS):
        return _window_field(layer, before, in_shape, common)
    if isinstance(layer, layers.Flatten):
        flat = None if before.whole else (before.flat or tuple(in_shape))
        return LayerField(**common, **keep, flat=flat)
    if isinstance(layer, layers.Dense) and before.flat is not None:
        # each unit mixes every number of the vector: it sees what the whole
        # map before Flatten saw, the union of its cells' fields, which has
        # gaps when the cells' fields do not touch (jump > size)
        cover = before.coverage()
        solid = before.solid and all(span.jump <= span.size
                                     for span in (before.rows, before.cols))
        return LayerField(**common, **{
            **keep, "rows": Span(cover.height, 0, cover.top),
            "cols": Span(cover.width, 0, cover.left), "whole": True,
            "solid": solid})
    if isinstance(layer, (*POINTWISE, layers.Dense)):
        return LayerField(**common, **keep, flat=before.flat)
    raise ArgumentError(
        f"convsim cannot work out the receptive field after layer '{layer.name}' "
        f"of type {type(layer).__name__}; it knows Conv2D, MaxPooling2D, "
        "AveragePooling2D, Flatten, Dense, Dropout, Activation, Rescaling and "
        "InputLayer.")


def _window_field(layer, before: LayerField, in_shape: tuple,
                  common: dict) -> LayerField:
    """A convolution or pooling window: the recurrence, axis by axis."""
    if before.whole or before.flat is not None or len(in_shape) != 3:
        raise ArgumentError(f"Layer '{layer.name}' slides a window over a map, "
                            f"but its input is a vector {in_shape}.")
    conv = isinstance(layer, layers.Conv2D)
    window = tuple(layer.kernel_size if conv else layer.pool_size)
    dilation = tuple(layer.dilation_rate) if conv else (1, 1)
    spans, pads, solid = [], [], before.solid
    for axis, span in enumerate((before.rows, before.cols)):
        k, s, d = window[axis], layer.strides[axis], dilation[axis]
        pad = shapes.padding_amounts(in_shape[axis], k, s, layer.padding, d)
        spans.append(Span(span.size + (k - 1) * d * span.jump, span.jump * s,
                          span.start - pad.before * span.jump))
        pads += [pad.before, pad.after]
        # taps further apart than the field each one sees leave pixels unseen
        solid = solid and (k == 1 or d * span.jump <= span.size)
    return LayerField(**common, rows=spans[0], cols=spans[1], window=window,
                 strides=tuple(layer.strides), dilation=dilation, pads=tuple(pads),
                 solid=solid)
