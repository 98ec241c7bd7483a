"""Receptive fields drawn: squares outlined on the input, and their table.

A :class:`FieldMap` is a :class:`~convsim.viz.image.Heatmap` of the input
(grey, two pixels per character) with rectangles outlined on it: the field of
one cell per layer, small to large, the newest in gold and the earlier ones in
blue. In plain text (a pipe) the outlines become ``o`` characters.

A 150x150 photo does not fit an 80-column terminal; :meth:`FieldMap.fitted`
shrinks the image by a whole factor (the mean of each block of pixels) and
the rectangles with it, rounding outwards so that no seen pixel is left out.

:func:`field_table` lists the layers with each one's field worked out
(``4 + (3-1)×2 = 8``) and its jump; :func:`cost_table` puts Flatten's size and
the Dense kernel with and without pooling side by side
(:mod:`convsim.trace.receptive_field`, :mod:`convsim.trace.dense_cost`).

>>> import numpy as np
>>> picture = FieldMap.fitted(np.zeros((150, 150)), [(48, 48, 94, 94)], columns=30)
>>> picture.values.shape, picture.boxes
((30, 30), ((9, 9, 19, 19),))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rich import box as boxes
from rich.console import RenderResult
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from convsim.trace.dense_cost import DenseCost
from convsim.trace.receptive_field import LayerField
from convsim.viz.image import Heatmap

__all__ = ["FieldMap", "cost_table", "field_table", "fields_picture"]

LABELS = {
    "en": {"layer": "layer", "output": "output", "field": "field", "jump": "jump",
           "all": "all cells", "with": "with pooling", "without": "without pooling"},
    "ko": {"layer": "층", "output": "출력", "field": "수용 영역", "jump": "간격",
           "all": "모든 칸", "with": "풀링 있음", "without": "풀링 없음"},
}

NEWEST = np.array([255, 200, 0], dtype=float)  # gold: the field being shown
EARLIER = np.array([70, 150, 255], dtype=float)  # blue: the fields before it
PLAIN_MARK = "o"


@dataclass
class FieldMap(Heatmap):
    """An image with rectangles outlined on it.

    Args:
        values: ``(rows, cols)`` grey image.
        boxes: rectangles ``(top, left, bottom, right)`` in pixels of
            ``values`` (ends excluded), drawn in order; the last one is the
            newest (gold), the others blue.
        (and :class:`~convsim.viz.image.Heatmap`'s title, vmax)
    """

    boxes: Sequence[tuple[int, int, int, int]] = ()

    @classmethod
    def fitted(cls, image: np.ndarray, boxes, columns: int,
               title: str | None = None) -> FieldMap:
        """``image`` shrunk by the smallest whole factor that makes it at most
        ``columns`` wide, the ``boxes`` (anything with ``top``, ``left``,
        ``bottom``, ``right``, or 4-tuples) shrunk with it."""
        grey = np.asarray(image, dtype=float)
        if grey.ndim == 3:
            grey = grey.mean(axis=2)
        factor = max(1, -(-grey.shape[1] // columns))
        rows, cols = grey.shape[0] // factor, grey.shape[1] // factor
        small = grey[:rows * factor, :cols * factor].reshape(
            rows, factor, cols, factor).mean(axis=(1, 3))
        scaled = []
        for box in boxes:
            top, left, bottom, right = _corners(box)
            scaled.append((top // factor, left // factor,
                           min(-(-bottom // factor), rows),
                           min(-(-right // factor), cols)))
        return cls(small, title=title, boxes=tuple(scaled))

    def outline(self) -> np.ndarray:
        """``(rows, cols)`` ints: 0 off every outline, else 1 + the index of
        the last box whose outline passes there."""
        shape = np.shape(self.values)
        marks = np.zeros(shape, dtype=int)
        for i, box in enumerate(self.boxes):
            top, left, bottom, right = _corners(box)
            if bottom <= top or right <= left:
                continue
            ring = np.zeros(shape, dtype=bool)
            ring[top:bottom, left:right] = True
            ring[top + 1:bottom - 1, left + 1:right - 1] = False
            marks[ring] = i + 1
        return marks

    def colours(self) -> np.ndarray:
        rgb = super().colours()
        if not self.boxes:
            return rgb
        marks = self.outline()
        last = len(self.boxes)
        rgb[marks == last] = NEWEST
        rgb[(marks > 0) & (marks < last)] = EARLIER
        return rgb

    def _plain(self, width: int) -> RenderResult:
        marks = self.outline() > 0
        if marks.shape[0] % 2:
            marks = np.concatenate([marks, np.zeros_like(marks[:1])])
        on_line = marks[0::2] | marks[1::2]
        for row, line in zip(super()._plain(width), on_line, strict=False):
            text = row.text.rstrip("\n")
            chars = [PLAIN_MARK if mark else c for c, mark in
                     zip(text, list(line) + [False] * len(text), strict=False)]
            yield Segment("".join(chars) + "\n")


def _corners(box) -> tuple[int, int, int, int]:
    if hasattr(box, "bottom"):
        return (box.top, box.left, box.bottom, box.right)
    top, left, bottom, right = box
    return (int(top), int(left), int(bottom), int(right))


def fields_picture(image, fields: Sequence[LayerField], columns: int,
                   title: str | None = None) -> FieldMap:
    """``image`` with the field of the middle cell of each layer in
    ``fields`` that slides a window outlined (and of the last layer, whatever
    it is, in gold), shrunk to at most ``columns`` characters."""
    shown = [f for f in fields if f.is_window or f.whole]
    if fields and fields[-1] not in shown:
        shown.append(fields[-1])
    return FieldMap.fitted(image, [f.box(*f.centre()) for f in shown], columns,
                           title=title)


def field_text(field: LayerField, lang: str = "en") -> str:
    """The field as the table shows it: the working for a window layer
    (``'4 + (3-1)×2 = 8'``), else the size."""
    rows, cols = field.size
    if field.whole:
        return f"{rows}×{cols} ({_words(lang)['all']})"
    if field.window != (1, 1):
        working = [field.size_working(0), field.size_working(1)]
        return working[0] if working[0] == working[1] else " ; ".join(working)
    return f"{rows}×{cols}"


def field_table(fields: Sequence[LayerField], shown: int | None = None,
                lang: str = "en") -> Table:
    """The first ``shown`` layers (all by default): kind, output, field and
    jump; the last one shown is highlighted."""
    words = _words(lang)
    shown = len(fields) if shown is None else shown
    table = Table(box=boxes.SIMPLE_HEAD, header_style="bold", pad_edge=False,
                  padding=(0, 1), show_edge=False)
    for key, justify in (("layer", "left"), ("output", "right"),
                         ("field", "left"), ("jump", "right")):
        table.add_column(words[key], justify=justify, no_wrap=True)
    for i, field in enumerate(fields[:shown]):
        table.add_row(field.kind, "×".join(str(n) for n in field.output_shape),
                      field_text(field, lang), str(field.rows.jump),
                      style="bold on #1d3557" if i == shown - 1 else None)
    return table


def cost_table(with_pool: DenseCost, without: DenseCost, lang: str = "en") -> Table:
    """Flatten's size and the Dense kernel, with and without pooling."""
    words = _words(lang)
    table = Table(box=None, header_style="bold", pad_edge=False, padding=(0, 1))
    for header in ("", "Flatten", f"Dense({with_pool.units})"):
        table.add_column(header, no_wrap=True)
    for cost, key in ((with_pool, "with"), (without, "without")):
        shape = "×".join(str(n) for n in cost.flat_shape)
        table.add_row(words[key], f"{shape} = {cost.flat:,}",
                      Text.assemble(f"{cost.flat:,}×{cost.units} = ",
                                    (f"{cost.weights:,}", "bold")))
    return table


def _words(lang: str) -> dict:
    return LABELS.get(lang, LABELS["en"])
