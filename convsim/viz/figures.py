"""Matplotlib figures of what a convnet learned: filter patterns and Grad-CAM.

* :func:`mosaic` lays small pictures out in a grid with black margins between
  them, as the book does for its grids of filter patterns;
* :func:`save_pattern_figure`: one such grid per layer, stacked, each titled
  (``lesson filters --save filters.png``);
* :func:`save_class_map_figure`: the image, the Grad-CAM heat map and the two
  laid over each other, side by side (``lesson gradcam --save cam.png``).

The pattern grids' titles hold layer names and numbers only, so they read the
same in every language; the class map's titles name the class in the lesson's
language when a font for it is given. Figures use matplotlib's object API and its
Agg canvas (never pyplot), so they work without a display, as
:mod:`convsim.viz.plots` does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

__all__ = ["mosaic", "save_class_map_figure", "save_pattern_figure"]


def mosaic(pictures: Sequence[np.ndarray], per_row: int, margin: int = 2
           ) -> np.ndarray:
    """``pictures`` (each ``(rows, cols, 3)`` uint8, all the same size) in a
    grid of ``per_row`` columns, ``margin`` black pixels between them."""
    rows, cols = pictures[0].shape[:2]
    count = -(-len(pictures) // per_row)
    grid = np.zeros((count * rows + (count - 1) * margin,
                     min(per_row, len(pictures)) * (cols + margin) - margin, 3),
                    np.uint8)
    for k, picture in enumerate(pictures):
        top, left = (k // per_row) * (rows + margin), (k % per_row) * (cols + margin)
        grid[top:top + rows, left:left + cols] = picture
    return grid


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, dpi: int) -> str:
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def save_pattern_figure(path, panels: Sequence[tuple[str, np.ndarray]],
                        dpi: int = 100) -> str:
    """Save one grid per layer, top to bottom; ``panels`` holds
    ``(title, mosaic)`` pairs. Returns the path."""
    widths = [grid.shape[1] for _, grid in panels]
    heights = [grid.shape[0] for _, grid in panels]
    width = 8.0
    fig = _figure(width, sum(width * h / max(widths) + 0.4 for h in heights))
    axes = fig.subplots(len(panels), 1, squeeze=False,
                        gridspec_kw={"height_ratios": heights})[:, 0]
    for ax, (title, grid) in zip(axes, panels, strict=True):
        ax.imshow(grid, interpolation="nearest")
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return _save(fig, path, dpi)


def save_class_map_figure(path, pictures: Sequence[tuple[str, np.ndarray]],
                          dpi: int = 100, font: str | None = None) -> str:
    """Save ``(title, picture)`` pairs side by side (each ``(rows, cols, 3)``
    uint8): the image, its heat map, both laid over each other. ``font``: a
    font file for the titles (a Hangul one for Korean). Returns the path."""
    from matplotlib.font_manager import FontProperties

    properties = FontProperties(fname=font) if font else None
    fig = _figure(3.2 * len(pictures), 3.6)
    axes = fig.subplots(1, len(pictures), squeeze=False)[0]
    for ax, (title, picture) in zip(axes, pictures, strict=True):
        ax.imshow(picture, interpolation="nearest")
        ax.set_title(title, fontsize=10, fontproperties=properties)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return _save(fig, path, dpi)
