"""A layer's activations in the terminal: viridis pixels, two per character cell.

The same pictures as your notes' figure (:mod:`convsim.viz.activations`), made
to fit a terminal:

* :class:`ChannelTiles`: some channels of one layer, each scaled as the notes
  scale it (mean 128, one standard deviation 64 levels), side by side with
  its channel number above it; as many per row as the terminal is wide, at
  most the notes' 16. A map too big for the terminal is shrunk by a whole
  factor (each character pixel the mean of a ``scale x scale`` block).
* :class:`ChannelView`: one channel alone, like the notes'
  ``plt.matshow(first_layer_activation[0, :, :, 21], cmap='viridis')``: its
  raw values from smallest (dark purple) to largest (yellow), with a colour
  bar saying which numbers those are.
* :func:`tile_layout`: how big the tiles can be, and how many fit on one
  screen, so a lesson can page through a layer's channels.

In colour, a cell is ``▀`` with the top pixel as its foreground and the bottom
one as its background. Without colour (a pipe), a character ramp from ``' '``
(dark) to ``'@'`` (bright) stands in, as in :mod:`convsim.viz.image`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

import numpy as np
from PIL import Image
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from convsim.viz.activations import IMAGES_PER_ROW, LayerActivation, normalise_channels
from convsim.viz.grid import fmt_number
from convsim.viz.image import PLAIN_RAMP, Heatmap

__all__ = ["ChannelTiles", "ChannelView", "PixelImage", "TileLayout", "input_picture",
           "shrink", "tile_layout", "viridis"]

#: A page shows at least this many channels, or a sixth of the layer's if
#: that is more (all of them if the layer has fewer): tiles are shrunk until
#: they fit, so paging through a layer takes a few screens, not dozens.
MIN_PER_PAGE = 8
PAGES_AT_MOST = 6
DEAD_STYLE = Style(color="grey50")
LABEL_STYLE = Style(color="grey70")


@lru_cache(maxsize=1)
def _viridis_table() -> np.ndarray:
    from matplotlib import colormaps

    return (colormaps["viridis"](np.arange(256))[:, :3] * 255).round().astype(np.uint8)


def viridis(levels) -> np.ndarray:
    """``levels`` (uint8, any shape) as viridis RGB, shape ``(..., 3)``: the
    colours of the notes' ``cmap='viridis'`` (0 dark purple, 255 yellow)."""
    return _viridis_table()[np.asarray(levels, dtype=np.uint8)]


def shrink(picture: np.ndarray, scale: int) -> np.ndarray:
    """A uint8 ``(height, width)`` picture ``scale`` times smaller on each side
    (rounded up), each pixel the mean of its block (PIL's box filter)."""
    if scale == 1:
        return picture
    height, width = picture.shape
    size = (math.ceil(width / scale), math.ceil(height / scale))
    return np.asarray(Image.fromarray(picture).resize(size, Image.Resampling.BOX))


@dataclass
class PixelImage:
    """An RGB picture as half-block pixels, ``levels`` (0..255, the picture's
    brightness) for the plain-text ramp."""

    rgb: np.ndarray  # (rows, cols, 3) uint8
    levels: np.ndarray  # (rows, cols) uint8
    title: str | None = None

    @classmethod
    def from_levels(cls, levels: np.ndarray, title: str | None = None) -> PixelImage:
        """A uint8 picture drawn in viridis."""
        return cls(viridis(levels), np.asarray(levels, np.uint8), title)

    def _width(self) -> int:
        return max(self.rgb.shape[1], cell_len(self.title or ""))

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        return Measurement(self._width(), self._width())

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        width = self._width()
        if self.title:
            yield Text(self.title, style="bold", no_wrap=True)
        plain = console.color_system is None
        pad = " " * (width - self.rgb.shape[1])
        for line in _pixel_lines(self.rgb, self.levels, plain):
            yield from line
            yield Segment(pad + "\n")


def _pixel_lines(rgb: np.ndarray, levels: np.ndarray, plain: bool) -> list[list]:
    """The picture as lines of segments, two pixel rows per line (an odd last
    row is drawn over the terminal's own background)."""
    lines = []
    for i in range(0, rgb.shape[0], 2):
        if plain:  # the brighter of the two rows, so thin strokes stay
            row = levels[i:i + 2].max(axis=0).astype(int)
            lines.append([Segment("".join(PLAIN_RAMP[v * len(PLAIN_RAMP) // 256]
                                          for v in row))])
            continue
        bottom = rgb[i + 1] if i + 1 < rgb.shape[0] else [None] * rgb.shape[1]
        lines.append([Segment("▀", _style(a, b))
                      for a, b in zip(rgb[i], bottom, strict=True)])
    return lines


def _style(top, bottom) -> Style:
    colour = f"rgb({top[0]},{top[1]},{top[2]})"
    if bottom is None:
        return Style(color=colour)
    return Style(color=colour, bgcolor=f"rgb({bottom[0]},{bottom[1]},{bottom[2]})")


def input_picture(image: np.ndarray, side: int, title: str | None = None):
    """A model's input ``(height, width, channels)`` in 0..1 as the terminal
    shows it, shrunk to at most ``side`` pixels a side: RGB in colour, other
    channel counts as grey (their mean)."""
    scale = math.ceil(max(image.shape[:2]) / side)
    levels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
    if image.shape[-1] == 3:
        rgb = np.stack([shrink(levels[:, :, c], scale) for c in range(3)], -1)
        grey = np.round(levels @ np.array([0.299, 0.587, 0.114])).astype(np.uint8)
        return PixelImage(rgb, shrink(grey, scale), title)
    grey = np.round(levels.mean(-1)).astype(np.uint8)
    return Heatmap(shrink(grey, scale), title=title, vmax=255.0)


class TileLayout(NamedTuple):
    """How a layer's channels fit a screen: shrink each map ``scale`` times;
    ``per_row`` tiles side by side, ``rows`` rows of them per page."""

    scale: int
    per_row: int
    rows: int

    @property
    def per_page(self) -> int:
        return self.per_row * self.rows


def tile_layout(height: int, width: int, channels: int, columns: int = 80,
                lines: int = 16, images_per_row: int = IMAGES_PER_ROW) -> TileLayout:
    """The least shrinking that puts :data:`MIN_PER_PAGE` channels, or a
    :data:`PAGES_AT_MOST`-th of them if more (all, if fewer), in ``columns``
    x ``lines`` character cells.

    A tile takes ``ceil(width / scale)`` columns plus one of gap, and a label
    line plus ``ceil(height / scale / 2)`` lines.

    >>> tile_layout(26, 26, 32, columns=80, lines=16)   # MNIST's first layer
    TileLayout(scale=2, per_row=5, rows=2)
    >>> tile_layout(26, 26, 32, columns=120, lines=37)
    TileLayout(scale=1, per_row=4, rows=2)
    """
    wanted = min(channels, max(MIN_PER_PAGE, math.ceil(channels / PAGES_AT_MOST)))
    for scale in range(1, max(height, width) + 1):
        tile_w, tile_h = math.ceil(width / scale), math.ceil(height / scale)
        per_row = min(images_per_row, channels, (columns + 1) // (tile_w + 1))
        rows = lines // (1 + math.ceil(tile_h / 2))
        if per_row >= 1 and rows >= 1 and per_row * rows >= wanted:
            return TileLayout(scale, per_row, min(rows, math.ceil(channels / per_row)))
    return TileLayout(max(height, width), max(1, min(images_per_row, channels,
                                                     (columns + 1) // 2)), 1)


@dataclass
class ChannelTiles:
    """Channels ``channels`` of one layer's activation, side by side.

    Each tile is the channel as the notes' grid shows it
    (:func:`~convsim.viz.activations.normalise_channels`), shrunk ``scale``
    times, under its channel number (dead channels' numbers grey, with
    ``×``). Tiles per row: as many as the console's width holds, at most
    ``images_per_row``.
    """

    activation: LayerActivation
    channels: Sequence[int]
    scale: int = 1
    images_per_row: int = IMAGES_PER_ROW
    title: str | None = None

    def __post_init__(self):
        pictures = normalise_channels(self.activation.values)
        self._tiles = [shrink(pictures[:, :, k], self.scale) for k in self.channels]
        self._dead = set(self.activation.dead.tolist())

    def _tile_width(self) -> int:
        return self._tiles[0].shape[1] if self._tiles else 0

    def _per_row(self, max_width: int) -> int:
        fit = (max_width + 1) // (self._tile_width() + 1)
        return max(1, min(self.images_per_row, len(self._tiles), fit))

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        per_row = self._per_row(options.max_width)
        width = per_row * (self._tile_width() + 1) - 1
        return Measurement(width, max(width, cell_len(self.title or "")))

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        if self.title:
            yield Text(self.title, style="bold", overflow="ellipsis", no_wrap=True)
        plain = console.color_system is None
        per_row = self._per_row(options.max_width)
        for start in range(0, len(self._tiles), per_row):
            numbers = self.channels[start:start + per_row]
            yield from self._labels(numbers)
            drawn = [_pixel_lines(viridis(tile), tile, plain)
                     for tile in self._tiles[start:start + per_row]]
            for line in range(len(drawn[0])):
                for i, tile_lines in enumerate(drawn):
                    if i:
                        yield Segment(" ")
                    yield from tile_lines[line]
                yield Segment.line()

    def _labels(self, numbers: Sequence[int]) -> RenderResult:
        width = self._tile_width()
        for i, k in enumerate(numbers):
            dead = k in self._dead
            text = f"{k}×" if dead else str(k)
            text = text if len(text) <= width else text[:width]
            yield Segment((" " if i else "") + text.ljust(width),
                          DEAD_STYLE if dead else LABEL_STYLE)
        yield Segment.line()


@dataclass
class ChannelView:
    """One channel alone, as ``plt.matshow(..., cmap='viridis')`` draws it:
    its smallest value dark purple, its largest yellow, shrunk ``scale``
    times (a big map) or each value drawn ``zoom`` x ``zoom`` pixels (a small
    one), with a colour bar of the values beside it."""

    values: np.ndarray  # (height, width) one channel's real values
    title: str | None = None
    scale: int = 1
    zoom: int = 1

    def levels(self) -> np.ndarray:
        """The channel scaled to 0..255 between its minimum and maximum (all 0
        for a channel with one value everywhere)."""
        v = np.asarray(self.values, np.float64)
        low, high = float(v.min()), float(v.max())
        if high == low:
            return np.zeros(v.shape, np.uint8)
        return np.round((v - low) / (high - low) * 255).astype(np.uint8)

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        from convsim.viz.conv_view import side_by_side

        picture = shrink(self.levels(), self.scale)
        picture = np.repeat(np.repeat(picture, self.zoom, 0), self.zoom, 1)
        lines = math.ceil(picture.shape[0] / 2)
        yield side_by_side(PixelImage.from_levels(picture, self.title),
                           ColourBar(float(np.min(self.values)),
                                     float(np.max(self.values)), lines,
                                     top_margin=1 if self.title else 0), gap=1)


@dataclass
class ColourBar:
    """A vertical viridis bar, ``lines`` tall, the largest value at the top."""

    low: float
    high: float
    lines: int
    top_margin: int = 0

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        width = 3 + max(len(fmt_number(self.low)), len(fmt_number(self.high)))
        return Measurement(width, width)

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        for _ in range(self.top_margin):
            yield Segment.line()
        plain = console.color_system is None
        for i in range(self.lines):
            level = round(255 * (1 - i / max(self.lines - 1, 1)))
            r, g, b = (int(c) for c in viridis(level))
            bar = (Segment(PLAIN_RAMP[level * len(PLAIN_RAMP) // 256] * 2) if plain
                   else Segment("██", Style(color=f"rgb({r},{g},{b})")))
            label = (fmt_number(self.high) if i == 0 else
                     fmt_number(self.low) if i == self.lines - 1 else "")
            yield from (bar, Segment(" " + label), Segment.line())
