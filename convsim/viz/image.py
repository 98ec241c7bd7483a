"""Images, photos and response maps in the terminal, two pixels per character.

In colour, each character cell shows two pixels stacked: ``▀`` painted with
the top pixel as its foreground and the bottom pixel as its background, so a
28x28 digit takes 28 columns and 14 rows and its pixels stay square. In plain
text (a pipe), a character ramp stands in for brightness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

POSITIVE = np.array([255, 176, 0], dtype=float)  # orange: the filter's pattern is there
NEGATIVE = np.array([58, 160, 255], dtype=float)  # blue: the opposite pattern
ZERO = np.array([16, 16, 16], dtype=float)
WINDOW = np.array([47, 111, 223], dtype=float)
PLAIN_RAMP = " .:-=+*#%@"
PLAIN_POSITIVE = " ·+*#"
PLAIN_NEGATIVE = " ·-=≡"


@dataclass
class Heatmap:
    """A 2D array drawn as an image.

    Args:
        values: ``(rows, cols)``.
        title: shown above, centred.
        signed: draw negatives blue and positives orange around a black zero
            (for response maps); otherwise a grey ramp from ``vmin`` to ``vmax``.
        vmax: the value drawn at full strength (default: the largest magnitude).
        reveal_rows: only the first ``reveal_rows`` rows are drawn (a map
            filling in); the rest stays dark.
        window: ``(top, left, height, width)`` pixels tinted blue.
    """

    values: np.ndarray
    title: str | None = None
    signed: bool = False
    vmax: float | None = None
    reveal_rows: int | None = None
    window: tuple[int, int, int, int] | None = None

    def _levels(self) -> np.ndarray:
        """Values scaled to [-1, 1] (signed) or [0, 1]."""
        v = np.nan_to_num(np.asarray(self.values, dtype=float))
        if self.signed:
            top = self.vmax or float(np.abs(v).max()) or 1.0
            return np.clip(v / top, -1.0, 1.0)
        low = min(float(v.min()), 0.0)  # pixels: 0 is black
        top = (self.vmax if self.vmax is not None else float(v.max())) - low
        return np.clip((v - low) / (top or 1.0), 0.0, 1.0)

    def colours(self) -> np.ndarray:
        """``(rows, cols, 3)`` RGB in 0..255."""
        lv = self._levels()[..., None]
        if self.signed:
            rgb = np.where(lv >= 0, ZERO + lv * (POSITIVE - ZERO),
                           ZERO - lv * (NEGATIVE - ZERO))
        else:
            rgb = ZERO + lv * (np.array([255.0, 255.0, 255.0]) - ZERO)
        if self.window is not None:
            top, left, h, w = self.window
            rgb[top:top + h, left:left + w] = (rgb[top:top + h, left:left + w] * 0.45
                                               + WINDOW * 0.55)
        if self.reveal_rows is not None:
            rgb[self.reveal_rows:] = ZERO
        return rgb.astype(np.uint8)

    def _width(self) -> int:
        return max(np.shape(self.values)[1], cell_len(self.title or ""))

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        return Measurement(self._width(), self._width())

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        width = self._width()
        if self.title:
            centred = self.title.center(width - cell_len(self.title) + len(self.title))
            yield Text(centred, style="bold", no_wrap=True)
        if console.color_system is None:
            yield from self._plain(width)
            return
        rgb = self.colours()
        if rgb.shape[0] % 2:
            rgb = np.concatenate([rgb, np.zeros_like(rgb[:1])])
        pad = " " * (width - rgb.shape[1])
        for top, bottom in zip(rgb[0::2], rgb[1::2], strict=True):
            for a, b in zip(top, bottom, strict=True):
                style = Style(color=f"rgb({a[0]},{a[1]},{a[2]})",
                              bgcolor=f"rgb({b[0]},{b[1]},{b[2]})")
                yield Segment("▀", style)
            yield Segment(pad + "\n")

    def _plain(self, width: int) -> RenderResult:
        lv = self._levels()
        if self.reveal_rows is not None:
            lv = lv.copy()
            lv[self.reveal_rows:] = 0
        if lv.shape[0] % 2:
            lv = np.concatenate([lv, np.zeros_like(lv[:1])])
        # two pixel rows per text row: keep the stronger of the two, so a thin
        # edge (or a +/- pair, as edge filters make) is not averaged away
        top, bottom = lv[0::2], lv[1::2]
        pairs = np.where(np.abs(top) >= np.abs(bottom), top, bottom)
        for row in pairs:
            chars = [self._char(v) for v in row]
            yield Segment("".join(chars).ljust(width) + "\n")

    def _char(self, v: float) -> str:
        if not self.signed:
            return PLAIN_RAMP[min(int(v * len(PLAIN_RAMP)), len(PLAIN_RAMP) - 1)]
        ramp = PLAIN_POSITIVE if v >= 0 else PLAIN_NEGATIVE
        return ramp[min(int(abs(v) * len(ramp)), len(ramp) - 1)]


@dataclass
class Photo:
    """An RGB picture in the terminal: two pixels per character cell (``▀``
    with the top pixel as foreground, the bottom one as background); a
    brightness ramp in plain text."""

    pixels: np.ndarray  # (rows, cols, 3) uint8
    title: str | None = None

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        width = max(self.pixels.shape[1], cell_len(self.title or ""))  # 회전: 4
        return Measurement(width, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        if console.color_system is None:
            grey = self.pixels.astype(float) @ np.array([0.299, 0.587, 0.114])
            yield Heatmap(grey, title=self.title, vmax=255.0)
            return
        if self.title:
            yield Text(self.title, style="bold", no_wrap=True)
        rgb = self.pixels
        if rgb.shape[0] % 2:
            rgb = np.concatenate([rgb, np.zeros_like(rgb[:1])])
        for top, bottom in zip(rgb[0::2], rgb[1::2], strict=True):
            for a, b in zip(top, bottom, strict=True):
                yield Segment("▀", Style(color=f"rgb({a[0]},{a[1]},{a[2]})",
                                         bgcolor=f"rgb({b[0]},{b[1]},{b[2]})"))
            yield Segment.line()
