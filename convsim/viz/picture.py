"""Colour pictures in the terminal, and heat colours to draw over them.

:class:`Picture` draws an RGB image two pixels per character cell, as
:class:`~convsim.viz.image.Heatmap` draws a grey one: ``▀`` painted with the
top pixel as its foreground and the bottom pixel as its background, in true
colour. In plain text (a pipe) colour is lost, so a picture falls back to a
brightness ramp, of its own pixels or of the values it stands for (a heat
map's heat, not the brightness of its colours).

:func:`jet` is the colour map of the book's Grad-CAM figure (OpenCV's
``COLORMAP_JET``, matplotlib's ``'jet'``): dark blue for 0, through cyan,
green and yellow, to dark red for 1. :func:`blend` lays it over a photo.

>>> jet(np.array([0.0, 0.5, 1.0])).tolist()
[[0, 0, 128], [128, 255, 128], [128, 0, 0]]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from convsim.viz.image import Heatmap

__all__ = ["Picture", "blend", "enlarge", "heat_picture", "jet", "photo_picture",
           "resize_picture", "to_rgb"]


def jet(values: np.ndarray) -> np.ndarray:
    """``values`` in 0..1 (any shape) as ``(..., 3)`` uint8 RGB colours.

    Each channel is a tent, ``1.5 - |4x - centre|`` clipped to 0..1, centred
    at 3/4 (red), 1/2 (green) and 1/4 (blue): the classic 'jet' ramp.
    """
    x = np.clip(np.nan_to_num(np.asarray(values, dtype=np.float64)), 0.0, 1.0)
    rgb = np.stack([np.clip(1.5 - np.abs(4 * x - c), 0.0, 1.0) for c in (3, 2, 1)],
                   axis=-1)
    return np.round(rgb * 255).astype(np.uint8)


def to_rgb(image: np.ndarray) -> np.ndarray:
    """An image as the model takes it, ``(height, width, 1 or 3)`` (or 2-D) in
    0..1, as ``(height, width, 3)`` uint8 RGB."""
    x = np.asarray(image, dtype=np.float64)
    if x.ndim == 2:
        x = x[:, :, None]
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return np.round(np.clip(x[:, :, :3], 0.0, 1.0) * 255).astype(np.uint8)


def blend(image_rgb: np.ndarray, colours: np.ndarray, alpha: float = 0.4
          ) -> np.ndarray:
    """``colours`` laid over ``image_rgb`` (both uint8 RGB, same size) at
    ``alpha``: ``(1 - alpha) * image + alpha * colours``.

    The book adds ``0.4 * heatmap`` to the photo, which burns bright photos
    out to white; a weighted mean keeps both visible at any brightness.
    """
    mixed = ((1 - alpha) * np.asarray(image_rgb, np.float64)
             + alpha * np.asarray(colours, np.float64))
    return np.round(np.clip(mixed, 0, 255)).astype(np.uint8)


def resize_picture(pixels: np.ndarray, side: int) -> np.ndarray:
    """``(rows, cols, 3)`` uint8 pixels resized so the longer side is ``side``:
    averaged boxes when shrinking (no aliasing), copied pixels when enlarging
    (a small picture stays sharp, each pixel a visible square)."""
    pixels = np.asarray(pixels, dtype=np.uint8)
    rows, cols = pixels.shape[:2]
    scale = side / max(rows, cols)
    size = (max(1, round(cols * scale)), max(1, round(rows * scale)))
    if size == (cols, rows):
        return pixels
    how = Image.Resampling.BOX if scale < 1 else Image.Resampling.NEAREST
    return np.asarray(Image.fromarray(pixels).resize(size, how))


@dataclass
class Picture:
    """An RGB picture drawn two pixels per character cell.

    Args:
        pixels: ``(rows, cols, 3)`` uint8.
        title: shown above, centred.
        plain: ``(rows, cols)`` values for the plain-text ramp (default: the
            pixels' brightness), e.g. the heat under a heat map's colours.
    """

    pixels: np.ndarray
    title: str | None = None
    plain: np.ndarray | None = None

    def _width(self) -> int:
        return max(np.shape(self.pixels)[1], cell_len(self.title or ""))

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        return Measurement(self._width(), self._width())

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        if console.color_system is None:
            values = self.plain
            if values is None:
                values = np.asarray(self.pixels, float) @ [0.299, 0.587, 0.114]
                yield Heatmap(values, title=self.title, vmax=255.0)
            else:
                yield Heatmap(values, title=self.title, vmax=1.0)
            return
        width = self._width()
        if self.title:
            pad = width - cell_len(self.title)
            yield Text(" " * (pad // 2) + self.title + " " * (pad - pad // 2),
                       style="bold", no_wrap=True)
        rgb = np.asarray(self.pixels, dtype=np.uint8)
        if rgb.shape[0] % 2:
            rgb = np.concatenate([rgb, np.zeros_like(rgb[:1])])
        pad = " " * (width - rgb.shape[1])
        for top, bottom in zip(rgb[0::2], rgb[1::2], strict=True):
            for a, b in zip(top, bottom, strict=True):
                yield Segment("▀", Style(color=f"rgb({a[0]},{a[1]},{a[2]})",
                                         bgcolor=f"rgb({b[0]},{b[1]},{b[2]})"))
            yield Segment(pad + "\n")


def enlarge(values: np.ndarray, side: int) -> np.ndarray:
    """A small 2-D map enlarged by copying cells to about ``side`` across, so
    each cell stays a visible square (a 3x3 map at 28: 9x9 pixels a cell)."""
    k = max(1, side // max(np.shape(values)))
    return np.repeat(np.repeat(values, k, axis=0), k, axis=1)


def photo_picture(image: np.ndarray, side: int, title: str | None = None
                  ) -> Picture:
    """An image as a model takes it (0..1, 1 or 3 channels), ``side`` wide."""
    return Picture(resize_picture(to_rgb(image), side), title)


def heat_picture(heat: np.ndarray, side: int, title: str | None = None,
                 over: np.ndarray | None = None, alpha: float = 0.4) -> Picture:
    """A heat map (0..1) in :func:`jet` colours, alone or laid over ``over``
    (an image as the model takes it) at ``alpha``; in plain text, the heat."""
    colours = jet(heat)
    if over is not None:
        colours = blend(to_rgb(over), colours, alpha)
    levels = np.round(np.clip(np.nan_to_num(heat), 0, 1) * 255).astype(np.uint8)
    plain = resize_picture(np.repeat(levels[..., None], 3, axis=-1), side)
    return Picture(resize_picture(colours, side), title, plain=plain[..., 0] / 255)
