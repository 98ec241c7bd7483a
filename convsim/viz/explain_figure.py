"""An explained cell as a picture to keep: ``explain ... --save cell.png``.

Two panels side by side:

* the input image with the receptive field outlined in gold and everything
  the cell cannot see dimmed (with a dilated convolution, the skipped rows and
  columns inside the outline are dimmed too);
* the layer's output for that channel with the cell outlined, or, for a Dense
  unit, its largest products as bars.

Above them, the working's last line as a formula. Every label is a layer
name, NumPy-style indices or numbers (``image[8:16, 14:22]``,
``conv2d_1[:, :, 12]``), so the figure reads the same in English and Korean
and needs no Korean font. Drawn with matplotlib's object API on its Agg
canvas (never pyplot), so it works without a display, like
:mod:`convsim.viz.plots`.
"""

from __future__ import annotations

import os

import numpy as np

from convsim.trace.explanation import Explanation
from convsim.viz.explain_view import number, result

__all__ = ["save_explanation_figure"]

GOLD = "#ffc800"
#: The bars of a Dense unit's figure: its largest products.
BARS = 10


def save_explanation_figure(why: Explanation, image: np.ndarray, path,
                            dpi: int = 100) -> str:
    """Draw ``why`` (explained for ``image``, ``(height, width, channels)``)
    and save it to ``path`` (PNG, SVG, PDF... by the extension). Returns the
    path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 4.4))
    FigureCanvasAgg(fig)
    left, right = fig.subplots(1, 2)
    _draw_field(left, why, np.asarray(image, dtype=float))
    if why.kind == "dense" or len(why.output_shape) != 3:
        _draw_products(right, why)
    else:
        _draw_map(right, why)
    fig.suptitle(formula(why), fontsize=11)
    fig.tight_layout()
    path = os.fspath(path)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path


def formula(why: Explanation) -> str:
    """The working in one line of numbers: ``relu(Σ x·w + b) = relu(−0.43 +
    (−0.005)) = 0``, ``max(…) = 0.40``."""
    value = result(why.value)
    if why.kind == "max":
        return f"{why.layer}{list(why.at)} = max(window) = {value}"
    if why.kind == "average":
        return f"{why.layer}{list(why.at)} = mean(window) = {value}"
    act = why.activation
    if why.kind == "activation":
        return f"{why.layer}{list(why.at)} = {act}({number(why.pre_activation)}) = " \
               f"{value}"
    bias = f"({number(why.bias)})" if why.bias < 0 else number(why.bias)
    sums = f"{number(why.total)} + {bias}"
    if act == "linear":
        return f"{why.layer}{list(why.at)} = Σ x·w + b = {sums} = {value}"
    if act == "softmax":
        return (f"{why.layer}{list(why.at)} = softmax(z)[{why.at[-1]}], z = Σ x·w "
                f"+ b = {sums} = {number(why.pre_activation)} → {value}")
    return (f"{why.layer}{list(why.at)} = {act}(Σ x·w + b) = {act}({sums}) = "
            f"{act}({number(why.pre_activation)}) = {value}")


def _draw_field(ax, why: Explanation, image: np.ndarray) -> None:
    from matplotlib.patches import Rectangle

    field = why.field
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim == 2:
        ax.imshow(image, cmap="gray", interpolation="nearest")
    else:
        ax.imshow(np.clip(image, 0, 1), interpolation="nearest")
    shade = np.zeros((*field.image_hw, 4))
    shade[~field.mask] = (0, 0, 0, 0.6)  # what the cell cannot see
    ax.imshow(shade, interpolation="nearest")
    ax.add_patch(Rectangle((field.left - 0.5, field.top - 0.5), field.width,
                           field.height, fill=False, edgecolor=GOLD, linewidth=2))
    ax.set_title(f"image[{field.top}:{field.bottom + 1}, "
                 f"{field.left}:{field.right + 1}]", fontsize=10)


def _draw_map(ax, why: Explanation) -> None:
    """The layer's output for the cell's channel, the cell outlined."""
    from matplotlib.patches import Rectangle

    row, col, channel = why.at
    ax.imshow(why.layer_outputs[:, :, channel], cmap="viridis",
              interpolation="nearest")
    ax.add_patch(Rectangle((col - 0.5, row - 0.5), 1, 1, fill=False,
                           edgecolor=GOLD, linewidth=2))
    ax.set_title(f"{why.layer}[:, :, {channel}]   [{row}, {col}] = "
                 f"{result(why.predicted)}", fontsize=10)


def _draw_products(ax, why: Explanation) -> None:
    """A Dense unit's (or a vector cell's) largest products, as bars."""
    if not why.terms:  # an Activation layer on a vector: its one input
        ax.barh([0], [why.pre_activation], color=GOLD)
        ax.set_yticks([0], [f"x[{why.at[-1]}]"])
    else:
        terms = why.terms[0]
        top = terms.largest(BARS)[::-1]
        ax.barh(np.arange(len(top)), terms.products[top],
                color=[GOLD if v >= 0 else "#3aa0ff" for v in terms.products[top]])
        ax.set_yticks(np.arange(len(top)), [f"x[{i}]" for i in top], fontsize=8)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel("x · w")
    ax.set_title(f"{why.layer}{list(why.at)} = {result(why.predicted)}",
                 fontsize=10)
