"""Your notes' augmentation preview as a saved figure: a grid of augmented photos.

Your notes draw four augmented versions of one cat in a 2x2 grid with
``plt.subplot`` and ``plt.imshow(image.array_to_img(batch[0]))``, without axis
ticks, in a 5x5-inch figure. :func:`save_augmentation_grid` draws the same
grid into a PNG (no window needed, works on a server), and
:func:`augmentation_grid_figure` returns the matplotlib figure instead.

    >>> from convsim.preprocessing.image import (
    ...     ImageDataGenerator, preview_augmentations)
    >>> import numpy as np
    >>> datagen = ImageDataGenerator(rotation_range=30, horizontal_flip=True)
    >>> photo = np.random.default_rng(0).uniform(0, 255, (32, 32, 3))
    >>> figure = augmentation_grid_figure(preview_augmentations(photo, datagen))
    >>> len(figure.axes)
    4
"""

from __future__ import annotations

import math
import os

import numpy as np

from convsim.errors import ArgumentError
from convsim.preprocessing.image_utils import array_to_img

__all__ = ["augmentation_grid_figure", "save_augmentation_grid"]


def augmentation_grid_figure(images, rows: int | None = None,
                             cols: int | None = None, figsize=(5, 5),
                             original=None, title: str | None = None):
    """A matplotlib ``Figure`` showing ``images`` in a grid (2x2 for four).

    Args:
        images: a list (or batch array) of ``(height, width, channels)`` images
            in any value range: each is shown through ``array_to_img``, which
            stretches it to 0-255 like the code in your notes.
        rows, cols: grid size; by default as square as possible.
        figsize: figure size in inches (your notes use 5 x 5).
        original: optional unaugmented image shown first, titled "original".
        title: optional title over the whole figure.
    """
    from matplotlib.figure import Figure  # no pyplot: no global state, no window

    pictures = [np.asarray(img) for img in images]
    labels = [None] * len(pictures)
    if original is not None:
        pictures.insert(0, np.asarray(original))
        labels.insert(0, "original")
    if not pictures:
        raise ArgumentError("`images` is empty: nothing to draw.")
    count = len(pictures)
    if cols is None:
        cols = math.ceil(math.sqrt(count)) if rows is None else math.ceil(count / rows)
    if rows is None:
        rows = math.ceil(count / cols)
    if rows * cols < count:
        raise ArgumentError(f"A {rows}x{cols} grid cannot hold {count} images.")
    figure = Figure(figsize=figsize)
    for i, (picture, label) in enumerate(zip(pictures, labels, strict=True)):
        axes = figure.add_subplot(rows, cols, i + 1)
        shown = array_to_img(picture)
        axes.imshow(shown, cmap="gray" if shown.mode in ("L", "I") else None)
        axes.set_xticks([])
        axes.set_yticks([])
        if label:
            axes.set_title(label, fontsize=9)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return figure


def save_augmentation_grid(images, path, rows: int | None = None,
                           cols: int | None = None, figsize=(5, 5), dpi: int = 100,
                           original=None, title: str | None = None) -> str:
    """Draw :func:`augmentation_grid_figure` and save it (PNG by the file
    name's ending); returns the path written."""
    figure = augmentation_grid_figure(images, rows=rows, cols=cols,
                                      figsize=figsize, original=original,
                                      title=title)
    path = os.fspath(path)
    figure.savefig(path, dpi=dpi)
    return path
