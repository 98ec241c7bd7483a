"""Move an image a few pixels and compare what each layer makes of it.

Your notes' first property of convnets is translation invariance: a pattern
learned in one place is recognised anywhere. What a convolution actually has
is the property that makes this possible: its filter is the same at every
position, so moving the image moves the feature map with it. Cell ``i`` of a
layer whose cells start ``jump`` pixels apart sees pixels ``start + i * jump``
onwards; move the image ``d`` pixels and, when ``d`` is a multiple of the
jump, cell ``i + d / jump`` of the moved image sees exactly what cell ``i``
saw before, and holds the same number. That holds wherever the cell's field
(:mod:`convsim.trace.receptive_field`) lies inside the part of the image that
was moved in, not filled with zeros: the map's *interior*.

When the shift is not a multiple of the jump (1 pixel after a 2x2 pooling)
the map cannot move by a whole cell, and the numbers change; max pooling keeps
many of them anyway, because the largest value of a window often stays in
the window. :attr:`MapShift.kept` measures that. A Dense layer after Flatten
has one weight per cell, so it sees a moved map as a different input: nothing
here promises that the prediction stays the same, and the lesson measures it.

>>> import numpy as np
>>> shift_image(np.arange(9.0).reshape(3, 3), right=1)
array([[0., 0., 1.],
       [0., 3., 4.],
       [0., 6., 7.]], dtype=float32)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convsim.errors import ArgumentError
from convsim.trace.model import trace_model
from convsim.trace.receptive_field import LayerField, Span, receptive_fields
from convsim.validation import as_float32

__all__ = ["MapShift", "ShiftResult", "compare_maps", "compare_shift",
           "shift_image"]

#: A cell "keeps its value" when it moves by at most this share of the map's
#: largest value; cells below it in both images are dark, and left out.
TOLERANCE = 0.1


def shift_image(image, down: int = 0, right: int = 0) -> np.ndarray:
    """``image`` moved ``down`` and ``right`` whole pixels (negative: up,
    left). Zeros come in on the other side; what leaves the frame is lost."""
    x = as_float32(image, "image")
    for name, value in (("down", down), ("right", right)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) \
                or abs(value) >= x.shape[0 if name == "down" else 1]:
            raise ArgumentError(f"`{name}` must be a whole number of pixels smaller "
                                f"than the image ({x.shape[0]}×{x.shape[1]}). "
                                f"Received: {name}={value!r}")
    out = np.zeros_like(x)
    h, w = x.shape[:2]
    rows_to, rows_from = _overlap(h, down)
    cols_to, cols_from = _overlap(w, right)
    out[rows_to, cols_to] = x[rows_from, cols_from]
    return out


@dataclass(frozen=True, eq=False)
class MapShift:
    """One layer's maps before and after the image moved.

    Attributes:
        name, kind: the layer's name and class.
        jump: how many pixels apart the layer's cells start.
        cells: how many cells the maps move, ``(down, right)``, when the shift
            is a multiple of the jump; None otherwise.
        interior: ``(rows, cols)`` booleans over the moved image's map: the
            cells whose field saw only moved pixels (None when ``cells`` is).
        max_difference: the largest ``|moved image's map - the map moved by
            cells|`` over the interior and every channel (None likewise).
        kept: of the cells lit in either map, the share whose value changed
            by at most ``TOLERANCE`` of the map's peak, compared in place.
        before, after: the layer's maps ``(rows, cols, channels)`` for the
            image and for the moved image.
    """

    name: str
    kind: str
    jump: tuple[int, int]
    cells: tuple[int, int] | None
    interior: np.ndarray | None
    max_difference: float | None
    kept: float
    before: np.ndarray
    after: np.ndarray


@dataclass(frozen=True, eq=False)
class ShiftResult:
    """What a model makes of an image and of the same image moved."""

    down: int
    right: int
    image: np.ndarray
    moved: np.ndarray
    maps: list[MapShift]
    before: np.ndarray  # the model's output for the image
    after: np.ndarray  # and for the moved image
    lost: int  # lit pixels (any channel > 0) pushed out of the frame


def compare_maps(field: LayerField, before: np.ndarray, after: np.ndarray,
                 down: int, right: int) -> MapShift:
    """Compare one layer's maps ``before`` and ``after`` the image moved
    ``(down, right)`` pixels; ``field`` is the layer's receptive field."""
    kept = _kept(before, after)
    steps = [_cells(d, span.jump) for d, span in ((down, field.rows),
                                                  (right, field.cols))]
    if None in steps:
        return MapShift(field.name, field.kind, field.jump, None, None, None, kept,
                        before, after)
    height, width = field.image_hw
    rows = _interior(field.rows, before.shape[0], down, steps[0], height)
    cols = _interior(field.cols, before.shape[1], right, steps[1], width)
    interior = rows[:, None] & cols[None, :]
    difference = 0.0
    if interior.any():
        r, c = np.nonzero(interior)
        moved_back = before[r - steps[0], c - steps[1]]
        difference = float(np.abs(after[r, c] - moved_back).max())
    return MapShift(field.name, field.kind, field.jump, tuple(steps), interior,
                    difference, kept, before, after)


def compare_shift(model, image, down: int = 0, right: int = 0) -> ShiftResult:
    """Trace ``model`` on ``image`` and on ``image`` moved ``(down, right)``
    and compare every layer whose output is a map."""
    moved = shift_image(image, down, right)
    first, second = trace_model(model, image), trace_model(model, moved)
    fields = receptive_fields(model)
    maps = [compare_maps(field, a.outputs, b.outputs, down, right)
            for field, a, b in zip(fields, first, second, strict=True)
            if a.outputs.ndim == 3 and not field.whole and field.flat is None]
    lit = [int((np.asarray(x).max(axis=-1) > 0).sum()) for x in (first.inputs,
                                                                  moved)]
    lost = lit[0] - lit[1]
    return ShiftResult(down, right, first.inputs, second.inputs, maps,
                       first.outputs, second.outputs, lost)


def _overlap(n: int, d: int) -> tuple[slice, slice]:
    """``(to, from)``: where the kept part of an axis of ``n`` goes, moved ``d``."""
    return (slice(d, n), slice(0, n - d)) if d >= 0 else (slice(0, n + d),
                                                        slice(-d, n))


def _cells(d: int, jump: int) -> int | None:
    return d // jump if jump and d % jump == 0 else None


def _interior(span: Span, n: int, d: int, step: int, image: int) -> np.ndarray:
    """Along one axis: the cells of the moved map whose field lies inside the
    moved-in part of the image, and whose partner before the move exists."""
    index = np.arange(n)
    first = span.start + index * span.jump
    inside = (first >= max(d, 0)) & (first + span.size <= image + min(d, 0))
    return inside & (index - step >= 0) & (index - step < n)


def _kept(before: np.ndarray, after: np.ndarray) -> float:
    """The share of lit cells whose value stayed within TOLERANCE of the peak."""
    peak = float(max(np.abs(before).max(), np.abs(after).max()))
    if peak == 0:
        return 1.0
    tol = TOLERANCE * peak
    lit = (np.abs(before) > tol) | (np.abs(after) > tol)
    if not lit.any():
        return 1.0
    return float((np.abs(after - before) <= tol)[lit].mean())
