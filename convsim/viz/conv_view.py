"""Pictures of one convolution step: input and window, filter, products, sum, output.

These functions draw a :class:`~convsim.trace.ConvStep` (and the map around it)
and nothing else: no state, no timing. Lessons arrange them into frames.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from convsim.trace import ConvStep, ConvTrace, PoolStep, PoolTrace
from convsim.viz.grid import Grid, PlainLegend, fmt_number, window_mask
from convsim.viz.words import label

CHANNEL_NAMES = ("R", "G", "B")


def input_grid(trace: ConvTrace | PoolTrace, step: ConvStep | PoolStep | None,
               channel: int = 0, title: str | None = None, lang: str = "en",
               chosen: tuple[int, int] | None = None) -> Grid:
    """The (padded) input of one channel with the step's window highlighted.

    Labels are input coordinates, so padding rows/columns are numbered -1, n...
    """
    top, _, left, _ = trace.pad.pads
    values = trace.padded[:, :, channel]
    window = chosen_mask = None
    if step is not None:
        size = (step.weights.shape[:2] if isinstance(step, ConvStep)
                else step.window.shape)
        dilation = getattr(trace, "dilation", (1, 1))
        window = window_mask(values.shape, step.top, step.left, size, dilation)
    if chosen is not None:
        chosen_mask = np.zeros(values.shape, dtype=bool)
        chosen_mask[chosen[0] + top, chosen[1] + left] = True
    padding = trace.pad.mask if any(trace.pad.pads) else None
    if title is None:
        h, w = trace.inputs.shape[:2]
        title = f"{label('input', lang)} {h}×{w}"
        if padding is not None:
            ph, pw = trace.pad.padded_hw
            title = f"{label('padded', lang)} {ph}×{pw}"
    return Grid(values, title=title, window=window, padding=padding,
                chosen=chosen_mask, row_start=-top, col_start=-left)


def filter_grid(step: ConvStep, channel: int = 0, title: str | None = None,
                lang: str = "en") -> Grid:
    kh, kw = step.weights.shape[:2]
    return Grid(step.weights[:, :, channel],
                title=title or f"{label('filter', lang)} {kh}×{kw}")


def products_grid(step: ConvStep, channel: int = 0, revealed: int | None = None,
                  lang: str = "en") -> Grid:
    """``patch * filter`` of one channel; taps after ``revealed`` show ``·``."""
    products = step.products[:, :, channel]
    hidden = None
    if revealed is not None:
        hidden = (np.arange(products.size) >= revealed).reshape(products.shape)
    return Grid(products, title=label("products", lang), hidden=hidden,
                padding=step.is_padding if step.is_padding.any() else None)


def output_grid(trace: ConvTrace | PoolTrace, depth: int, written: int,
                current: tuple[int, int] | None = None, title: str | None = None,
                lang: str = "en") -> Grid:
    """Output map ``depth`` with its first ``written`` cells (stride order) shown."""
    values = trace.outputs[:, :, depth]
    hidden = (np.arange(values.size) >= written).reshape(values.shape)
    if title is None:
        title = f"{label('output', lang)} {values.shape[0]}×{values.shape[1]}"
    return Grid(values, title=title, hidden=hidden, current=current)


def sum_text(step: ConvStep, channel: int | None = None,
             revealed: int | None = None, lang: str = "en") -> Text:
    """``a×b + c×d + ... = total`` for one channel (or all), the running sum
    while ``revealed`` taps are shown; ``= ?`` before the first product (the
    window is placed and its sum is still to come: a 0 there would be a wrong
    number on the screen)."""
    patch, weights = step.patch, step.weights
    channels = range(patch.shape[2]) if channel is None else [channel]
    terms = [(patch[i, j, c], weights[i, j, c]) for c in channels
             for i in range(patch.shape[0]) for j in range(patch.shape[1])]
    shown = terms if revealed is None else terms[:revealed]
    if not shown:
        return Text.assemble("= ", ("?", "bold"))
    text = Text()
    for k, (a, b) in enumerate(shown):
        if k:
            text.append(" + ")
        text.append(_factor(a), style="bold #6ea8fe")
        text.append("×")
        text.append(_factor(b), style="bold #ffb454")
    total = sum(float(a) * float(b) for a, b in shown)
    text.append("  =  " if revealed is None or revealed >= len(terms) else "  …  ")
    text.append(fmt_number(total), style="bold")
    return text


def result_text(step: ConvStep, lang: str = "en") -> Text:
    """``sum + bias = pre-activation → relu → output``."""
    text = Text()
    text.append(f"{label('sum', lang)} {fmt_number(step.total)}")
    text.append(f"  + {label('bias', lang)} {fmt_number(step.bias)}")
    text.append(f"  =  {fmt_number(step.pre_activation_output)}", style="bold")
    if step.activation != "linear":
        text.append(f"  → {step.activation} → ")
        text.append(fmt_number(step.output), style="bold black on gold1")
    return text


def step_view(trace: ConvTrace, step: ConvStep, revealed: int | None = None,
              lang: str = "en", show_output: bool = True,
              view: int | None = None) -> RenderableType:
    """The whole picture of one step of a one-channel convolution; with
    ``view``, the input and the output cropped to ``view`` cells around the
    window and the cell being written (a small terminal, a big ``--size``)."""
    written = step.row * trace.out_w + step.col + (revealed is None)
    current = (step.row, step.col) if revealed is None else None
    panels = [input_grid(trace, step, lang=lang), filter_grid(step, lang=lang),
              products_grid(step, revealed=revealed, lang=lang)]
    if show_output:
        panels.append(output_grid(trace, step.filter, written, current, lang=lang))
    panels = [crop_to_focus(p, view, lang) if i in (0, 3) else p  # input, output
              for i, p in enumerate(panels)]
    lines = [side_by_side(*panels), Text.assemble("  Σ ", sum_text(step, 0, revealed))]
    if revealed is None:
        lines.append(Text.assemble("  ", result_text(step, lang)))
    lines.append(PlainLegend(lang))
    return Group(*lines)


def channels_view(trace: ConvTrace, step: ConvStep, shown_channels: int,
                  lang: str = "en", *, whole_input: bool = True,
                  maps: str = "below") -> RenderableType:
    """A multi-channel step: one row per input channel (its slice of the filter,
    its products and sum), then the total and every filter's output map.

    Smaller screens get the same step in less room: ``whole_input=False``
    shows each channel's patch (the cells under the window) instead of the
    whole input with the window on it, and ``maps`` puts the output maps
    ``"below"`` the channels, or beside them: one above the other
    (``"beside"``), side by side (``"row"``), or only the map being written
    (``"current"``).
    """
    rows = _channel_rows(trace, step, shown_channels, lang, whole_input)
    done = shown_channels >= trace.inputs.shape[2]
    written = step.row * trace.out_w + step.col + done
    grids = [output_grid(trace, f, written if f == step.filter else
                         (trace.outputs[:, :, f].size if f < step.filter else 0),
                         (step.row, step.col) if done and f == step.filter else None,
                         title=f"{label('output', lang)} {f + 1}", lang=lang)
             for f in range(trace.filters)]
    sums = []
    if done:
        added = " + ".join(_factor(s) for s in step.channel_sums)
        sums.append(Text.assemble("  Σ ", (added, "bold"), "  =  ",
                                  (fmt_number(step.total), "bold")))
        sums.append(Text.assemble("  ", result_text(step, lang)))
    if maps == "below":
        parts = [rows, *sums, side_by_side(*grids)]
    else:
        beside = {"beside": lambda: Group(*grids), "row": lambda: side_by_side(*grids),
                  "current": lambda: grids[step.filter]}[maps]()
        parts = [side_by_side(rows, beside), *sums]
    return Group(*parts, PlainLegend(lang))


def _channel_rows(trace: ConvTrace, step: ConvStep, shown_channels: int,
                  lang: str, whole_input: bool) -> Table:
    """One row per input channel: input (or patch), filter slice, products, sum;
    the channels not reached yet keep their products and sum hidden."""
    rows = Table(box=None, padding=(0, 2, int(whole_input), 0), header_style="bold",
                 pad_edge=False)
    k = step.filter + 1
    first = label("input", lang) if whole_input else label("patch", lang)
    for header in ("", first, f"{label('filter', lang)} {k}",
                   label("products", lang), label("sum", lang)):
        rows.add_column(header, vertical="middle")
    names = CHANNEL_NAMES if trace.inputs.shape[2] == 3 else None
    for ch in range(trace.inputs.shape[2]):
        name = names[ch] if names else f"{label('channel', lang)} {ch}"
        visible = ch < shown_channels
        if whole_input:
            seen = input_grid(trace, step, ch, lang=lang)
            seen.title, seen.labels = None, False
        else:
            padding = step.is_padding if step.is_padding.any() else None
            seen = Grid(step.patch[:, :, ch], labels=False, padding=padding,
                        window=np.ones(step.is_padding.shape, dtype=bool))
        products = products_grid(step, ch, revealed=None if visible else 0, lang=lang)
        products.title, products.labels = None, False
        rows.add_row(
            Text(name, style="bold"), seen,
            Grid(step.weights[:, :, ch], labels=False), products,
            Text.assemble(f"{name}: ", (
                fmt_number(step.channel_sums[ch]) if visible else "·", "bold")),
        )
    return rows


# ---------------------------------------------------------------- cropping


def around(lo: int, hi: int, length: int, view: int = 9) -> slice:
    """``view`` consecutive indices of ``range(length)`` centred on ``lo..hi-1``
    (all of them when ``length <= view``).

    >>> around(12, 15, 20, 9)  # a window over rows 12-14 of 20
    slice(9, 18, None)
    """
    if length <= view:
        return slice(0, length)
    start = (lo + hi) // 2 - view // 2
    start = min(max(start, hi - view, 0), lo, length - view)
    return slice(start, start + view)


def crop(grid: Grid, rows: slice, cols: slice, lang: str = "en") -> Grid:
    """``grid`` cut to ``rows`` × ``cols``, labels still the real coordinates."""
    h, w = np.shape(grid.values)
    if (rows.start, rows.stop, cols.start, cols.stop) == (0, h, 0, w):
        return grid

    def cut(mask):
        return None if mask is None else mask[rows, cols]

    current = grid.current
    if current is not None:
        r, c = current
        inside = rows.start <= r < rows.stop and cols.start <= c < cols.stop
        current = (r - rows.start, c - cols.start) if inside else None
    title = grid.title and f"{grid.title} ({label('part', lang)})"
    return dataclasses.replace(
        grid, values=grid.values[rows, cols], title=title, window=cut(grid.window),
        padding=cut(grid.padding), chosen=cut(grid.chosen), hidden=cut(grid.hidden),
        current=current, row_start=grid.row_start + rows.start,
        col_start=grid.col_start + cols.start)


def crop_around(grid: Grid, rows: tuple[int, int], cols: tuple[int, int],
                view: int, lang: str) -> Grid:
    """Crop ``grid`` to ``view`` cells around ``rows`` and ``cols`` (lo, hi)."""
    h, w = np.shape(grid.values)
    return crop(grid, around(*rows, h, view), around(*cols, w, view), lang)


def crop_to_focus(grid: RenderableType, view: int | None,
                  lang: str = "en") -> RenderableType:
    """``grid`` cropped to ``view`` cells around what it points at: the window,
    else the cell just written, else the chosen cell, else the next cell to
    write (the top-left corner when nothing is marked). Anything that is not a
    :class:`Grid`, and any grid when ``view`` is None, is returned as it is."""
    if view is None or not isinstance(grid, Grid):
        return grid
    marks = [m for m in (grid.window, grid.chosen) if m is not None and m.any()]
    if grid.current is not None:
        r, c = grid.current
        rows, cols = (r, r + 1), (c, c + 1)
    elif marks:
        where = np.nonzero(marks[0])
        rows = (int(where[0].min()), int(where[0].max()) + 1)
        cols = (int(where[1].min()), int(where[1].max()) + 1)
    elif grid.hidden is not None and grid.hidden.any():
        r, c = np.argwhere(grid.hidden)[0]
        rows, cols = (int(r), int(r) + 1), (int(c), int(c) + 1)
    else:
        rows = cols = (0, 1)
    return crop_around(grid, rows, cols, view, lang)


def side_by_side(*renderables: RenderableType, gap: int = 2) -> Table:
    """Renderables in one row, top-aligned, ``gap`` columns apart."""
    table = Table.grid(padding=(0, gap))
    for _ in renderables:
        table.add_column(vertical="top")
    table.add_row(*renderables)
    return table


def _factor(value) -> str:
    text = fmt_number(value)
    return f"({text})" if text.startswith("-") else text
