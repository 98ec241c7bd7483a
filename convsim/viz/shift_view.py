"""Pictures for a moved image: maps before and after, and probability bars.

:func:`map_view` draws one feature map as a grey image (a small pooled map
enlarged so it lines up with the map it came from), with the part that moved
exactly (:attr:`convsim.trace.shift.MapShift.interior`) outlined in gold;
:func:`maps_pair` puts a layer's map for the image beside its map for the
moved image, on one brightness scale. :func:`prob_table` shows a classifier's
probabilities as bars, for the image and the moved image; :func:`layers_table`
what two moves do to each layer's maps; :func:`shifts_table` the prediction
for each move.
"""

from __future__ import annotations

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from convsim.trace.shift import MapShift, ShiftResult
from convsim.viz.conv_view import side_by_side
from convsim.viz.fields import FieldMap

__all__ = ["bar", "layers_table", "map_view", "maps_pair", "percent", "prob_table",
           "probabilities", "shifts_table"]

COLUMNS = 28  # maps are drawn at most this wide (an MNIST digit's width)
BAR = 16  # characters of a full probability bar
LABELS = {
    "en": {"original": "original", "moved": "moved {d} →", "class": "class",
           "layer": "layer", "jump": "jump", "exact": "moves {c}, exact",
           "kept": "{k} of cells kept", "moved_by": "moved",
           "prediction": "prediction", "lost": "{n} lit pixels cut off",
           "pixels": "{n} pixel", "pixels_many": "{n} pixels",
           "cells": "{n} cell", "cells_many": "{n} cells"},
    "ko": {"original": "원본", "moved": "{d} 이동 →", "class": "클래스",
           "layer": "층", "jump": "간격", "exact": "{c} 이동, 정확히",
           "kept": "{k} 유지", "moved_by": "이동", "prediction": "예측",
           "lost": "밝은 픽셀 {n}개 잘림", "pixels": "{n}픽셀",
           "pixels_many": "{n}픽셀", "cells": "{n}칸", "cells_many": "{n}칸"},
}


def map_view(values: np.ndarray, interior=None, title: str | None = None,
             vmax: float | None = None) -> FieldMap:
    """One map ``(rows, cols)``; ``interior`` (booleans) outlined in gold."""
    scale = max(1, COLUMNS // values.shape[1])
    big = np.kron(values, np.ones((scale, scale)))
    boxes = []
    if interior is not None and interior.any():
        rows, cols = np.nonzero(interior)
        boxes = [(rows.min() * scale, cols.min() * scale,
                  (rows.max() + 1) * scale, (cols.max() + 1) * scale)]
    picture = FieldMap.fitted(big, boxes, COLUMNS, title=title)
    picture.vmax = vmax
    return picture


def maps_pair(layer: MapShift, channel: int, moved_by: str,
              lang: str = "en") -> Table:
    """Map ``channel`` of ``layer`` for the image and for the image moved
    (``moved_by``: how far, in words), on the same brightness scale."""
    words = _words(lang)
    before, after = layer.before[..., channel], layer.after[..., channel]
    peak = float(max(before.max(), after.max()))
    return side_by_side(
        map_view(before, None, words["original"], peak),
        map_view(after, layer.interior, words["moved"].format(d=moved_by), peak),
        gap=1)


def percent(p: float) -> str:
    """``'99.6%'``; ``'<0.1%'`` rather than a misleading ``'0.0%'``."""
    return "<0.1%" if 0 < p < 0.001 else f"{p:.1%}"


def bar(p: float) -> Text:
    """A probability as a bar of BAR characters and a percentage."""
    return Text.assemble(("█" * round(p * BAR)).ljust(BAR), f" {percent(p)}",
                         style="bold" if p >= 0.5 else None)


def prob_table(before, after=None, names=None, moved_by: str = "",
               lang: str = "en") -> Table:
    """Each class's probability for the image and, unless ``after`` is None,
    for the image moved (``moved_by``)."""
    words = _words(lang)
    names = names or [str(i) for i in range(len(before))]
    table = _table()
    headers = [words["class"], words["original"]]
    if after is not None:
        headers.append(words["moved"].format(d=moved_by))
    for header in headers:
        table.add_column(header, no_wrap=True)
    for i, name in enumerate(names):
        cells = [bar(float(before[i]))]
        if after is not None:
            cells.append(bar(float(after[i])))
        table.add_row(name, *cells)
    return table


def probabilities(output) -> np.ndarray:
    """One probability per class: a sigmoid's single output p is (1 - p, p)."""
    out = np.asarray(output, dtype=float).ravel()
    return np.array([1 - out[0], out[0]]) if out.size == 1 else out


def layers_table(first: ShiftResult, second: ShiftResult, lang: str = "en") -> Table:
    """Each map layer: what two moves (say 1 and 2 pixels right) do to it,
    moving its maps by whole cells exactly, or keeping a share of them."""
    words = _words(lang)
    table = _table()
    moves = [_count("pixels", r.right or r.down, lang) + (" →" if r.right else " ↓")
             for r in (first, second)]
    for header, justify in ((words["layer"], "left"), (words["jump"], "right"),
                            (moves[0], "left"), (moves[1], "left")):
        table.add_column(header, justify=justify, no_wrap=True)
    for a, b in zip(first.maps, second.maps, strict=True):
        table.add_row(a.name, str(a.jump[1]), _effect(a, lang), _effect(b, lang))
    return table


def shifts_table(runs: dict, names, label: int, lang: str = "en") -> Table:
    """One row per move ``(way, pixels) -> ShiftResult``: the prediction, the
    probability of class ``label``, and any lit pixels pushed out."""
    words = _words(lang)
    table = _table()
    for header in (words["moved_by"], words["prediction"], f"P({names[label]})", ""):
        table.add_column(header, no_wrap=True)
    for (way, d), result in runs.items():
        probs = probabilities(result.after)
        lost = words["lost"].format(n=result.lost) if result.lost else ""
        table.add_row(f"{'→' if way == 'right' else '↓'} {_count('pixels', d, lang)}",
                      names[int(np.argmax(probs))], percent(probs[label]), lost)
    return table


def _effect(layer: MapShift, lang: str) -> str:
    words = _words(lang)
    if layer.cells is not None and layer.max_difference == 0:
        moved = layer.cells[1] or layer.cells[0]
        return words["exact"].format(c=_count("cells", moved, lang))
    return words["kept"].format(k=f"{layer.kept:.0%}")


def _table() -> Table:
    return Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                 padding=(0, 1), header_style="bold")


def _count(key: str, n: int, lang: str) -> str:
    words = _words(lang)
    return words[key if n == 1 else key + "_many"].format(n=n)


def _words(lang: str) -> dict:
    return LABELS.get(lang, LABELS["en"])
