"""Pictures for the playground lesson: any convolution or pooling, in any terminal.

The learner chooses the sizes, so a picture cannot assume a small input: a
16×16 input padded to 22×22, a 7×7 filter and a 16×16 feature map do not fit
side by side in 80 columns. Two tools make every choice drawable:

* :func:`crop`/:func:`around`: a grid cut down to the part around the window
  (or the cell just written), its row and column labels still the real
  coordinates and its title marked "(part)";
* ``*_layouts`` functions: several layouts of the same picture, richest first
  (bigger crops, the products grid beside the output map), each a function
  that draws it; the lesson hands them to :class:`convsim.lesson.layout.Fit`,
  which shows the first that fits the terminal's width and the lines left.

The pictures only draw a traced step (:mod:`convsim.trace`); the lesson says
what they mean.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from convsim.trace import ConvStep, ConvTrace, PoolTrace
from convsim.trace.reach import Reach
from convsim.viz.conv_view import (  # noqa: F401 (around, crop: re-exported)
    CHANNEL_NAMES,
    around,
    crop,
    crop_around,
    filter_grid,
    input_grid,
    output_grid,
    products_grid,
    side_by_side,
    sum_text,
)
from convsim.viz.grid import STYLES, Grid, PlainLegend, fmt_number
from convsim.viz.words import label

VIEW = 9  # rows and columns of a cropped grid in the smallest terminal (80x24)
VIEWS = (16, VIEW)  # the crops tried, largest first, where there is room
WORDS = {
    "en": {"part": "part", "filter": "filter {f}", "flipped": "flipped",
           "flipped_filter": "flipped filter",
           "xcorr": "Conv2D", "conv": "with the flip", "reach": "windows per cell",
           "nobody": "· = read by no window", "differ": "differ",
           "sum": "sum", "products": "{n} products"},
    "ko": {"part": "일부", "filter": "필터 {f}", "flipped": "뒤집은 필터",
           "flipped_filter": "뒤집은 필터",
           "xcorr": "Conv2D", "conv": "뒤집어 계산", "reach": "칸마다 읽은 윈도우 수",
           "nobody": "· = 어느 윈도우도 읽지 않는 칸", "differ": "다른 값",
           "sum": "합", "products": "곱 {n}개"},
}


def words(lang: str) -> dict[str, str]:
    return WORDS.get(lang, WORDS["en"])


def channel_name(channel: int, channels: int, lang: str) -> str:
    """R, G, B for a colour input; 'channel 0', ... otherwise."""
    if channels == 3:
        return CHANNEL_NAMES[channel]
    return f"{label('channel', lang)} {channel}"


# ---------------------------------------------------------------- cropping


# ---------------------------------------------------------------- convolution


def conv_panels(trace: ConvTrace, step: ConvStep, channel: int, written: int,
                lang: str, hidden: bool = False) -> dict[str, Callable[[int], Grid]]:
    """The step's grids, each a function of how many cells it may show."""
    span = [d * (k - 1) + 1 for k, d in zip(step.weights.shape[:2], trace.dilation,
                                           strict=True)]
    name = (f", {channel_name(channel, trace.inputs.shape[2], lang)}"
            if trace.inputs.shape[2] > 1 else "")
    current = (step.row, step.col) if written > step.row * trace.out_w + step.col \
        else None
    filt = words(lang)["filter"].format(f=step.filter + 1)
    inputs = input_grid(trace, step, channel, lang=lang)
    inputs.title = f"{name[2:]}: {inputs.title}" if name else inputs.title
    return {
        "input": lambda v: crop_around(
            inputs, (step.top, step.top + span[0]), (step.left, step.left + span[1]),
            v, lang),
        "filter": lambda v: filter_grid(step, channel, f"{filt}{name}", lang),
        "products": lambda v: products_grid(step, channel, 0 if hidden else None,
                                            lang),
        "output": lambda v: crop_around(
            output_grid(trace, step.filter, written, current, lang=lang),
            (step.row, step.row + 1), (step.col, step.col + 1), v, lang),
    }


#: Rows of panels for a step, richest first: (panel, cells shown) side by side.
PRODUCT_ROWS = (
    *((("input", v), ("filter", 0), ("products", 0), ("output", v)) for v in VIEWS),
    *((("input", v), ("filter", 0), ("products", 0)) for v in VIEWS),
    (("input", 7), ("filter", 0), ("products", 0)),
    (("filter", 0), ("products", 0)),
    (("products", 0),),
)
OUTPUT_ROWS = (
    *((("input", v), ("filter", 0), ("products", 0), ("output", v)) for v in VIEWS),
    *((("input", v), ("filter", 0), ("output", v)) for v in VIEWS),
    (("input", VIEW), ("filter", 0), ("output", 5)),
    (("input", VIEW), ("output", 7)),
    (("input", 7), ("output", 5)),
    (("output", 5),),
)


def conv_step_layouts(trace: ConvTrace, step: ConvStep, lang: str, *,
                      channel: int = 0, written: int | None = None,
                      products: bool = False, hidden: bool = False,
                      max_terms: int = 12) -> list[Callable[[], RenderableType]]:
    """One window of a convolution: the input (one channel) with the window,
    the filter's slice, its products and the output map, as many as fit; then
    the sum. ``products=True`` puts the products first (the channel in detail)
    and sums that channel; otherwise the whole step is summed over channels.
    ``written``: output cells (stride order) shown, default up to this one.
    ``hidden``: the window only, its products and sum not yet shown (the
    learner is asked for them first)."""
    if written is None:
        written = step.row * trace.out_w + step.col + 1
    panels = conv_panels(trace, step, channel, written, lang, hidden)
    below = [*_sum_lines(step, channel, products, hidden, max_terms, lang),
             legend(trace, lang, "window", "current")]
    return [_layout(panels, row, below)
            for row in (PRODUCT_ROWS if products else OUTPUT_ROWS)]


def _sum_lines(step, channel, products, hidden, max_terms, lang) -> list[Text]:
    """The Σ line: the products written out, or the channels' sums added."""
    channels = step.patch.shape[2]
    taps = step.weights.shape[0] * step.weights.shape[1]
    if hidden:
        return [Text("  Σ = ?")]
    if (products or channels == 1) and taps <= max_terms:
        return [Text.assemble("  Σ ", sum_text(step, channel))]
    if products or channels == 1:
        total = fmt_number(step.channel_sums[channel])
        return [Text(f"  Σ {words(lang)['products'].format(n=taps)} = {total}")]
    sums = "  +  ".join(f"{channel_name(c, channels, lang)} {_signed(s)}"
                        for c, s in enumerate(step.channel_sums))
    return [Text.assemble("  Σ ", sums, "  =  ", (fmt_number(step.total), "bold"))]


def legend(trace: ConvTrace | PoolTrace, lang: str, *kinds: str) -> PlainLegend:
    """The plain-text legend of the marks a picture uses (zeros only if any)."""
    padded = ("padding",) if any(trace.pad.pads) else ()
    return PlainLegend(lang, padded + kinds)


def _layout(panels, row, below):
    return lambda: Group(side_by_side(*[panels[name](v) for name, v in row]), *below)


def _signed(value) -> str:
    text = fmt_number(value)
    return f"({text})" if text.startswith("-") else text


# ---------------------------------------------------------------- pooling


def pool_step_layouts(trace: PoolTrace, index: int, written: bool, lang: str
                      ) -> list[Callable[[], RenderableType]]:
    """One pooling window: the input channel with the window (and, once
    ``written``, the kept cell), beside the output map."""
    step = trace[index]
    per_map = trace.out_h * trace.out_w
    chosen = step.argmax if written and trace.pool_kind == "max" else None
    ph, pw = step.window.shape
    inputs = input_grid(trace, step, step.channel, lang=lang, chosen=chosen)
    out = output_grid(trace, step.channel, index % per_map + written,
                      (step.row, step.col) if written else None, lang=lang)
    marks = legend(trace, lang, "window", "chosen", "current")

    def layout(view_in, view_out):
        return lambda: Group(side_by_side(
            crop_around(inputs, (step.top, step.top + ph),
                        (step.left, step.left + pw), view_in, lang),
            Text("→", style="bold"),
            crop_around(out, (step.row, step.row + 1), (step.col, step.col + 1),
                        view_out, lang)), marks)

    return [*(layout(v, v) for v in VIEWS), layout(VIEW, 5), layout(7, 5)]


# ---------------------------------------------------------------- whole maps


def intro_layouts(trace: ConvTrace | PoolTrace, lang: str
                  ) -> list[Callable[[], RenderableType]]:
    """The input's first channel (its top-left corner when too big) and, for a
    convolution, filter 1's slice of that channel."""
    n, _, channels = trace.inputs.shape
    name = f" ({channel_name(0, channels, lang)})" if channels > 1 else ""
    size = f"{n}×{n}" + (f"×{channels}" if channels > 1 else "")
    grid = Grid(trace.inputs[:, :, 0], title=f"{label('input', lang)} {size}{name}")
    kernel = [Grid(trace.kernel[:, :, 0, 0], title=words(lang)["filter"].format(f=1)
                   + name)] if isinstance(trace, ConvTrace) else []

    def layout(v):
        return lambda: side_by_side(crop_around(grid, (0, 1), (0, 1), v, lang),
                                    *kernel)

    return [layout(v) for v in (*VIEWS, 7)]


def input_layouts(trace: ConvTrace | PoolTrace, lang: str, channel: int = 0
                  ) -> list[Callable[[], RenderableType]]:
    """The (padded) input of one channel with its zeros marked, cropped to the
    bottom-right corner (where 'same' puts its odd zero) when it is too big."""
    grid = input_grid(trace, None, channel, lang=lang)
    h, w = np.shape(grid.values)

    def layout(v):
        corner = crop_around(grid, (h - 1, h), (w - 1, w), v, lang)
        return lambda: Group(corner, legend(trace, lang)) if any(trace.pad.pads) \
            else corner

    return [layout(v) for v in (*VIEWS, 7)]


def output_maps(trace: ConvTrace | PoolTrace, lang: str, depths
                ) -> list[Callable[[], RenderableType]]:
    """Finished output maps side by side (cropped, or in two rows, to fit)."""
    count = trace.outputs.shape[2]
    pooled = isinstance(trace, PoolTrace)
    grids = [output_grid(trace, d, trace.out_h * trace.out_w, title=None if count == 1
                         else f"{label('output', lang)} " + (channel_name(
                             d, count, lang) if pooled else str(d + 1)), lang=lang)
             for d in depths]

    def layout(v, rows):
        def draw():
            cut = [crop_around(grid, (0, 1), (0, 1), v, lang) for grid in grids]
            if rows == 1:
                return side_by_side(*cut)
            half = (len(cut) + 1) // 2
            return Group(side_by_side(*cut[:half]), side_by_side(*cut[half:]))
        return draw

    return [layout(v, rows) for v, rows in ((16, 1), (16, 2), (9, 1), (7, 1), (5, 1),
                                             (5, 2), (3, 2))]


def reach_layouts(reach: Reach, lang: str) -> list[Callable[[], RenderableType]]:
    """How many windows read each input cell; ``·`` where none does. Cropped
    to the bottom-right corner (where ``floor`` drops rows) when too big."""
    counts = reach.counts
    grid = Grid(counts, title=words(lang)["reach"], hidden=counts == 0)
    h, w = counts.shape
    note = [] if counts.all() else [Text(words(lang)["nobody"], style="grey50")]

    def layout(v):
        return lambda: Group(crop_around(grid, (h - 1, h), (w - 1, w), v, lang),
                             *note)

    return [layout(v) for v in (*VIEWS, 7)]


def flip_layouts(kernel: np.ndarray, flipped: np.ndarray, xcorr: np.ndarray,
                 conv: np.ndarray, lang: str) -> list[Callable[[], RenderableType]]:
    """A filter slice and its flip (rows and columns reversed); the layer's
    map and the map of the flipped filter, the cells that differ marked."""
    w = words(lang)
    differ = xcorr != conv

    def layout(view, both):
        def draw():
            maps = [crop(Grid(m, title=t, chosen=differ), slice(0, min(view, len(m))),
                         slice(0, min(view, m.shape[1])), lang)
                    for m, t in ((xcorr, w["xcorr"]), (conv, w["conv"]))]
            filters = [Grid(kernel, title=label("filter", lang))] if both else []
            title = w["flipped"] if both else w["flipped_filter"]
            return Group(side_by_side(*filters, Grid(flipped, title=title), *maps),
                         MarkLegend(w["differ"]))
        return draw

    # a wide kernel leaves out the unflipped filter (the lesson showed it) first
    return [layout(v, both) for both in (True, False) for v in (*VIEWS, 7, 5, 3, 2)]


class MarkLegend:
    """What the marked (``chosen``) cells mean: ``< >`` in plain text, their
    green in colour."""

    def __init__(self, meaning: str):
        self.meaning = meaning

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        style, marks = STYLES["chosen"]
        mark = ((f"{marks[0]} {marks[1]}", "grey50") if console.color_system is None
                else ("   ", style))
        yield Text.assemble("  ", mark, (f" {self.meaning}", "grey50"))
