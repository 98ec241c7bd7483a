r"""A small matrix as a rich renderable, with the cells a lesson talks about marked.

The same :class:`Grid` draws in colour on a terminal (the window as a blue
block, padding zeros dim on grey, the pooled maximum in green, the cell just
written in gold) and in plain text in a pipe, where colour is lost: there the
marks become brackets, and a legend says what they mean::

    ( ) zero padding   [ ] window   < > kept by the pool   { } just written

>>> from rich.console import Console
>>> import numpy as np
>>> console = Console(width=40, color_system=None)
>>> with console.capture() as cap:
...     console.print(Grid(np.array([[1, -2], [3, 4]]), window=np.eye(2, dtype=bool)))
>>> print("\n".join(line.rstrip() for line in cap.get().splitlines()))
    0   1
0 [ 1] -2
1   3 [ 4]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

# (colour style, plain-text marks) for each kind of cell, most important first
STYLES = {
    "current": ("bold black on gold1", "{}"),
    "chosen": ("bold black on green3", "<>"),
    "window_pad": ("bold grey70 on #26428b", "[]"),
    "window": ("bold white on #2f6fdf", "[]"),
    "padding": ("grey58 on grey23", "()"),
    "hidden": ("grey42", "  "),
    "negative": ("#ff8787", "  "),
    "plain": ("", "  "),
}
LEGEND = {
    "en": {"padding": "zero padding", "window": "window", "chosen": "kept by the pool",
           "current": "just written"},
    "ko": {"padding": "제로 패딩", "window": "윈도우", "chosen": "풀링이 고른 값",
           "current": "방금 쓴 값"},
}


def fmt_number(value) -> str:
    """Short, exact-looking numbers: ``3``, ``-0.25``, ``1.5``; ``nan`` stays."""
    value = float(value)
    if np.isnan(value):
        return "nan"
    if value.is_integer() and abs(value) < 1e7:
        return str(int(value))
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass
class Grid:
    """A 2D array drawn cell by cell.

    Args:
        values: ``(rows, cols)`` numbers.
        title: shown above.
        window, padding, chosen, hidden: ``(rows, cols)`` boolean masks (or
            None). ``hidden`` cells show ``·`` (an output not written yet).
        current: ``(row, col)`` of the cell just written, or None.
        row_start, col_start: label of the first row/column (``-1`` when the
            first row is a padding row, so labels stay input coordinates).
        labels: show row and column numbers.
    """

    values: np.ndarray
    title: str | None = None
    window: np.ndarray | None = None
    padding: np.ndarray | None = None
    chosen: np.ndarray | None = None
    hidden: np.ndarray | None = None
    current: tuple[int, int] | None = None
    row_start: int = 0
    col_start: int = 0
    labels: bool = True

    def kind(self, r: int, c: int) -> str:
        """Which style cell ``(r, c)`` gets (the first that applies)."""
        if self.current is not None and (r, c) == tuple(self.current):
            return "current"
        if _at(self.hidden, r, c):
            return "hidden"
        if _at(self.chosen, r, c):
            return "chosen"
        if _at(self.window, r, c):
            return "window_pad" if _at(self.padding, r, c) else "window"
        if _at(self.padding, r, c):
            return "padding"
        return "negative" if self.values[r, c] < 0 else "plain"

    def _widths(self) -> tuple[int, int, int]:
        """(label width, cell text width, total width) so tables never squeeze us."""
        values = np.atleast_2d(np.asarray(self.values))
        width = max([len(fmt_number(v)) for v in values.ravel()] + [1])
        rows, cols = values.shape
        label = max(len(str(self.row_start)), len(str(rows - 1 + self.row_start)))
        total = (label + 1 if self.labels else 0) + cols * (width + 2)
        return label, width, max(total, cell_len(self.title or ""))

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        total = self._widths()[2]
        return Measurement(total, total)

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        plain = console.color_system is None
        values = np.atleast_2d(np.asarray(self.values))
        texts = [[fmt_number(v) for v in row] for row in values]
        label_width, width, total = self._widths()
        table = Table(box=None, show_header=self.labels, padding=0, pad_edge=False,
                      header_style="grey50")
        rows, cols = values.shape
        if self.labels:
            table.add_column("", justify="left", style="grey50", no_wrap=True)
        for c in range(cols):
            # left-justified: right-justifying would strip the styled margin
            table.add_column(f"{c + self.col_start:>{width + 1}} ", justify="left",
                             min_width=width + 2, no_wrap=True)
        for r in range(rows):
            cells = [f"{r + self.row_start:>{label_width}} "] if self.labels else []
            for c in range(cols):
                kind = self.kind(r, c)
                text = "·" if kind == "hidden" else texts[r][c]
                style, marks = STYLES[kind]
                if plain:
                    cells.append(Text(f"{marks[0]}{text:>{width}}{marks[1]}"))
                else:
                    cells.append(Text(f" {text:>{width}} ", style=style))
            table.add_row(*cells)
        if self.title:
            pad = max(total - cell_len(self.title), 0)
            title = " " * (pad // 2) + self.title + " " * (pad - pad // 2)
            yield Text(title, style="bold", no_wrap=True)
        yield table


@dataclass
class PlainLegend:
    """What the plain-text marks mean; draws nothing when colours are shown."""

    lang: str = "en"
    kinds: tuple = ("padding", "window", "chosen", "current")

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        if console.color_system is None:
            names = LEGEND.get(self.lang, LEGEND["en"])
            parts = [f"{STYLES[k][1][0]} {STYLES[k][1][1]} {names[k]}"
                     for k in self.kinds]
            yield Text("   ".join(parts), style="grey50")


def _at(mask, r: int, c: int) -> bool:
    return mask is not None and bool(mask[r, c])


def window_mask(shape, top: int, left: int, size, dilation=(1, 1)) -> np.ndarray:
    """Boolean ``shape`` mask of the taps of a window at ``(top, left)``."""
    mask = np.zeros(shape, dtype=bool)
    (kh, kw), (dh, dw) = size, dilation
    mask[top:top + dh * (kh - 1) + 1:dh, left:left + dw * (kw - 1) + 1:dw] = True
    return mask
