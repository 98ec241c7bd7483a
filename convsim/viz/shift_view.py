"""Pictures for a moved image: maps before and after, and probability bars.

:func:`map_view` draws one feature map as a grey image (a small pooled map
enlarged so it lines up with the map it came from), with the part that moved
exactly (:attr:`convsim.trace.shift.MapShift.interior`) outlined in gold;
:func:`maps_pair` puts a layer's map for the image beside its map for the
moved image, on one brightness scale. :func:`prob_table` shows a classifier's
probabilities as bars, for the image and the moved image.
"""

from __future__ import annotations

import numpy as np
from rich import box
from rich.table import Table
from rich.text import Text

from convsim.trace.shift import MapShift
from convsim.viz.conv_view import side_by_side
from convsim.viz.fields import FieldMap

__all__ = ["bar", "map_view", "maps_pair", "percent", "prob_table"]

COLUMNS = 28  # maps are drawn at most this wide (an MNIST digit's width)
BAR = 16  # characters of a full probability bar
LABELS = {
    "en": {"original": "original", "moved": "moved {d} →", "class": "class"},
    "ko": {"original": "원본", "moved": "{d} 이동 →", "class": "클래스"},
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
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  padding=(0, 1), header_style="bold")
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


def _words(lang: str) -> dict:
    return LABELS.get(lang, LABELS["en"])
