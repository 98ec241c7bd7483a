"""A first look: one 3x3 filter sliding over a 5x5 image, printed with rich.

Run it with ``python -m convsim demo``.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.table import Table

from convsim import ops

IMAGE = np.array(
    [
        [0, 0, 1, 1, 0],
        [0, 1, 1, 1, 0],
        [1, 1, 1, 0, 0],
        [0, 1, 1, 1, 0],
        [0, 0, 1, 1, 1],
    ],
    dtype=np.float32,
)
FILTER = np.array(
    [[1, 0, -1], [1, 0, -1], [1, 0, -1]], dtype=np.float32
)  # vertical edge


def grid(title: str, values: np.ndarray, highlight=None) -> Table:
    """A small matrix as a rich table; ``highlight`` is a set of (row, col) cells."""
    table = Table(title=title, show_header=False, show_lines=False, box=None)
    for _ in range(values.shape[1]):
        table.add_column(justify="right", min_width=4)
    for r, row in enumerate(values):
        cells = []
        for c, v in enumerate(row):
            text = f"{v:g}"
            cells.append(
                f"[reverse]{text}[/]" if highlight and (r, c) in highlight else text
            )
        table.add_row(*cells)
    return table


def run(console: Console | None = None) -> np.ndarray:
    """Print the image, the filter, the first patch's working and the feature map."""
    console = console or Console()
    feature_map = ops.conv(IMAGE[None, :, :, None], FILTER[:, :, None, None])[
        0, :, :, 0
    ]
    patch = IMAGE[0:3, 0:3]
    products = patch * FILTER
    console.rule("A 3x3 convolution on a 5x5 image")
    window = {(r, c) for r in range(3) for c in range(3)}
    console.print(grid("input (first window highlighted)", IMAGE, window))
    console.print(grid("filter: vertical edge", FILTER))
    terms = " + ".join(
        f"({p:g}*{f:g})" for p, f in zip(patch.ravel(), FILTER.ravel(), strict=True)
    )
    console.print(f"output[0, 0] = {terms}\n             = {products.sum():g}")
    console.print(
        grid("feature map: 'valid' padding, stride 1 -> 3x3", feature_map, {(0, 0)})
    )
    return feature_map
