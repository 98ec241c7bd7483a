"""Pictures of the backward pass: one gradient number and the grids it comes from.

Each function draws one event of :mod:`convsim.trace.backward` and the maps
around it, and nothing else (no state, no timing):

* :func:`weight_view`: the input cells one filter weight met (blue), those
  whose output has a gradient (green), ``dL/dz``, and ``dL/dw`` filling in;
* :func:`cell_view`: the output cells whose windows covered one input cell,
  the weights that met it, and ``dL/dx`` filling in;
* :func:`pool_view`: a max-pooling window, its winner, and ``dL/da``;
* :func:`relu_view`: where ReLU blocks the gradient;
* :func:`network_view`, :func:`loss_view`, :func:`filter_grad_view`,
  :func:`input_grad_view`, :func:`update_view`: a whole
  :class:`~convsim.trace.backprop.BackpropTrace` of a tiny convnet (input,
  filter, maps, target, loss), its loss gradient, its finished gradients, and
  one optimizer step.

Marks follow :class:`~convsim.viz.grid.Grid`: in plain text ``[ ]`` is blue,
``< >`` green and ``{ }`` gold, and each picture's :class:`Legend` says what
they mean in it. Labels are in English and Korean (:data:`LABELS`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from convsim.trace.backprop import BackpropTrace
from convsim.trace.backward import (
    ActivationBackwardTrace,
    ConvBackwardTrace,
    PoolBackwardTrace,
)
from convsim.trace.backward_events import InputGradStep, PoolGradStep, WeightGradStep
from convsim.trace.update import UpdateStep, UpdateTrace
from convsim.viz.conv_view import side_by_side
from convsim.viz.grid import Grid, fmt_number
from convsim.viz.image import Heatmap

LABELS = {
    "en": {
        "x": "input x", "w": "filter w", "z": "z = conv(x)", "a": "a = relu(z)",
        "p": "p = pool(a)", "t": "target t", "dp": "dL/dp", "da": "dL/da",
        "dz": "dL/dz", "dw": "dL/dw", "dx": "dL/dx",
        "met": "cells w{tap} met", "got": "dL/dz ≠ 0", "now": "just worked out",
        "window": "window", "winner": "winner", "blocked": "z ≤ 0: blocked",
        "covering": "windows over x{cell}", "taps": "weights that met it",
        "zeros": "{n} more terms are 0 × …", "w_new": "w after",
        "all_zero": "all {n} terms are 0 × …", "no_terms": "no window read it",
        "one_zero": "its one term is 0 × …", "change": "change × 1000",
        "its_grad": "its gradient", "image": "image", "filter": "filter",
        "more": "{k} more, {m} zeros",
    },
    "ko": {
        "x": "입력 x", "w": "필터 w", "z": "z = conv(x)", "a": "a = relu(z)",
        "p": "p = pool(a)", "t": "타깃 t", "dp": "dL/dp", "da": "dL/da",
        "dz": "dL/dz", "dw": "dL/dw", "dx": "dL/dx",
        "met": "w{tap}에 곱해진 칸", "got": "dL/dz ≠ 0", "now": "방금 계산한 값",
        "window": "윈도우", "winner": "최댓값 칸", "blocked": "z ≤ 0: 막힘",
        "covering": "x{cell} 위의 윈도우", "taps": "그 칸을 만난 가중치",
        "zeros": "나머지 {n}개 항은 0 × …", "w_new": "업데이트한 w",
        "all_zero": "{n}개 항 모두 0 × …", "no_terms": "이 칸을 읽은 윈도우 없음",
        "one_zero": "항 하나가 0 × …", "change": "변화량 × 1000",
        "its_grad": "윈도우의 기울기", "image": "이미지", "filter": "필터",
        "more": "그 밖에 {k}개, 0인 항 {m}개",
    },
}
BLUE, GREEN, GOLD = ("[ ]", "#2f6fdf"), ("< >", "green3"), ("{ }", "gold1")


def label(key: str, lang: str, **values) -> str:
    """The picture label ``key`` in ``lang`` (English for an unknown one)."""
    return LABELS.get(lang, LABELS["en"])[key].format(**values)


def at(*index: int) -> str:
    """``[0, 1]``: the NumPy-style index of a cell, for labels and sums."""
    return "[" + ", ".join(str(i) for i in index) + "]"


@dataclass
class Legend:
    """What the marks mean in one picture: ``(mark, colour), words`` pairs,
    shown as plain marks in a pipe and as coloured swatches in a terminal."""

    entries: tuple

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        text = Text(style="grey50")
        for k, ((mark, colour), words) in enumerate(self.entries):
            text.append("   " if k else "")
            if console.color_system is None:
                text.append(f"{mark} {words}")
            else:
                text.append("   ", style=f"on {colour}")
                text.append(f" {words}")
        yield text


def sum_line(name: str, grads, values, total: float, lang: str, *,
             limit: int | None = None, fmt=fmt_number) -> Text:
    """``name = g×v + g×v = total``, leaving out the terms whose gradient is 0
    (counted at the end), since max pooling makes most of them 0. With
    ``limit``, only the ``limit`` largest products are written out (a real
    model's sums have hundreds of terms); ``fmt`` formats the numbers."""
    grads, values = np.ravel(grads), np.ravel(values)
    kept = [(g, v) for g, v in zip(grads, values, strict=True) if g != 0]
    text = Text.assemble("  ", (name, "bold"), " = ")
    if not kept:  # nothing to add up: say why the gradient is 0
        text.append(fmt(total), style="bold")
        why = label({0: "no_terms", 1: "one_zero"}.get(len(grads), "all_zero"),
                    lang, n=len(grads))
        return text.append(f"   ({why})", style="grey50")
    shown = kept
    if limit is not None and len(kept) > limit:
        shown = sorted(kept, key=lambda gv: -abs(float(gv[0]) * float(gv[1])))[:limit]
    for k, (g, v) in enumerate(shown):
        text.append(" + " if k else "")
        text.append(fmt_factor(g, fmt), style="bold #ffb454")
        text.append("×")
        text.append(fmt_factor(v, fmt), style="bold #6ea8fe")
    text.append(" + …  =  " if len(shown) < len(kept) else "  =  ")
    text.append(fmt(total), style="bold")
    if len(shown) < len(kept):  # on a line of its own: the sum is long already
        text.append("\n    (" + label("more", lang, k=len(kept) - len(shown),
                                           m=len(grads) - len(kept)) + ")",
                    style="grey50")
    elif len(grads) > len(kept):
        text.append("   (" + label("zeros", lang, n=len(grads) - len(kept)) + ")",
                    style="grey50")
    return text


def hidden_after(shape, done: int) -> np.ndarray:
    """Cells at reading-order position ``done`` or later: not worked out yet."""
    return (np.arange(int(np.prod(shape))) >= done).reshape(shape)


def weight_view(bt: ConvBackwardTrace, step: WeightGradStep, done: int,
                lang: str = "en") -> RenderableType:
    """One weight's gradient: where it met the input, the output gradients,
    the products' sum, and ``dL/dw`` with ``done`` weights worked out."""
    i, j, ch, f = step.tap
    fwd = bt.forward
    top, _, left, _ = fwd.pad.pads
    met = np.zeros(fwd.padded.shape[:2], bool)
    useful = np.zeros_like(met)
    for (r, c), g in zip(step.cells(), step.grads.ravel(), strict=True):
        met[r, c] = True
        useful[r, c] = g != 0
    x = Grid(fwd.padded[:, :, ch], title=label("x", lang), window=met, chosen=useful,
             padding=fwd.pad.mask if any(fwd.pad.pads) else None, row_start=-top,
             col_start=-left)
    grads = Grid(step.grads, title=label("dz", lang), chosen=step.grads != 0)
    dw = bt.kernel_grad[:, :, ch, f]
    dw_grid = Grid(dw, title=label("dw", lang), current=(i, j),
                   hidden=hidden_after(dw.shape, done))
    legend = Legend(((BLUE, label("met", lang, tap=at(i, j))),
                     (GREEN, label("got", lang)), (GOLD, label("now", lang))))
    return Group(side_by_side(x, grads, dw_grid),
                 sum_line(f"dL/dw{at(i, j)}", step.grads, step.values, step.total,
                          lang), legend)


def cell_view(bt: ConvBackwardTrace, step: InputGradStep, done: int,
              lang: str = "en") -> RenderableType:
    """One input cell's gradient: the windows that covered it (their output
    cells), the weights that met it, and ``dL/dx`` with ``done`` cells done."""
    row, col, ch = step.cell
    fwd = bt.forward
    f = step.windows[0][2] if step.windows else 0
    out_mask = np.zeros((fwd.out_h, fwd.out_w), bool)
    out_useful = np.zeros_like(out_mask)
    taps = np.zeros(fwd.kernel.shape[:2], bool)
    taps_useful = np.zeros_like(taps)
    for (oy, ox, wf, i, j), g in zip(step.windows, step.grads, strict=True):
        if wf == f:
            out_mask[oy, ox] = taps[i, j] = True
            out_useful[oy, ox] = taps_useful[i, j] = g != 0
    grads = Grid(bt.grad_pre_activation[:, :, f], title=label("dz", lang),
                 window=out_mask, chosen=out_useful)
    weights = Grid(fwd.kernel[:, :, ch, f], title=label("w", lang), window=taps,
                   chosen=taps_useful)
    dx = bt.grad_inputs[:, :, ch]
    dx_grid = Grid(dx, title=label("dx", lang), current=(row, col),
                   hidden=hidden_after(dx.shape, done))
    legend = Legend(((BLUE, label("covering", lang, cell=at(row, col))),
                     (GREEN, label("got", lang)), (GOLD, label("now", lang))))
    return Group(side_by_side(grads, weights, dx_grid),
                 sum_line(f"dL/dx{at(row, col)}", step.grads, step.weights,
                          step.total, lang), legend)


def pool_view(bt: PoolBackwardTrace, step: PoolGradStep, done: int,
              lang: str = "en", reveal: bool = True) -> RenderableType:
    """One pooling window sending its gradient back: the window over ``a``
    and (``reveal``) its winner, ``dL/dp``, and ``dL/da`` for the first
    ``done`` windows."""
    fwd = step.forward
    ch = fwd.channel
    rows = slice(fwd.origin[0], fwd.origin[0] + fwd.cells.shape[0])
    cols = slice(fwd.origin[1], fwd.origin[1] + fwd.cells.shape[1])
    window = np.zeros(bt.forward.inputs.shape[:2], bool)
    window[rows, cols] = True
    winner = np.zeros_like(window)
    if step.winner is not None and reveal:
        winner[step.winner] = True
    shown = np.zeros_like(window)
    for k in range(done):
        w = bt.windows[k].forward
        shown[w.origin[0]:w.origin[0] + w.cells.shape[0],
              w.origin[1]:w.origin[1] + w.cells.shape[1]] = True
    a = Grid(bt.forward.inputs[:, :, ch], title=label("a", lang), window=window,
             chosen=winner)
    dp = Grid(bt.grad_outputs[:, :, ch], title=label("dp", lang),
              current=(fwd.row, fwd.col))
    da = Grid(bt.grad_inputs[:, :, ch], title=label("da", lang), window=window,
              chosen=winner & shown, hidden=~shown)
    legend = Legend(((BLUE, label("window", lang)), (GREEN, label("winner", lang)),
                     (GOLD, label("its_grad", lang))))
    return Group(side_by_side(a, dp, da), legend)


def relu_view(bt: ActivationBackwardTrace, channel: int = 0,
              lang: str = "en") -> RenderableType:
    """ReLU backwards: ``z`` with the cells where it blocks marked, the
    gradient arriving (``dL/da``) and the one leaving (``dL/dz``)."""
    z = bt.inputs[:, :, channel]
    blocked = z <= 0
    return Group(side_by_side(
        Grid(z, title=label("z", lang), chosen=blocked),
        Grid(bt.grad_outputs[:, :, channel], title=label("da", lang)),
        Grid(bt.grad_inputs[:, :, channel], title=label("dz", lang), chosen=blocked)),
        Legend(((GREEN, label("blocked", lang)),)))


def network_view(done: BackpropTrace, lang: str = "en", compact: bool = False
                 ) -> RenderableType:
    """The tiny convnet's forward pass: x, w, z; then a, p, t and the loss.
    ``compact`` puts a beside z and p, t and the loss below (fewer lines, for
    a big ``--size`` on a small screen)."""
    conv_back, relu_back, _ = done.backward
    fwd = conv_back.forward
    loss = Text.assemble("\n\n  L = mean((p - t)²) = ", (fmt_number(done.loss), "bold"))
    x, w, z, a, p, t = (
        Grid(fwd.inputs[:, :, 0], title=label("x", lang)),
        Grid(fwd.kernel[:, :, 0, 0], title=label("w", lang)),
        Grid(fwd.outputs[:, :, 0], title=label("z", lang)),
        Grid(relu_back.outputs[:, :, 0], title=label("a", lang)),
        Grid(done.outputs[:, :, 0], title=label("p", lang)),
        Grid(done.target[:, :, 0], title=label("t", lang)))
    if compact:
        return Group(side_by_side(x, w, z, a, gap=1), side_by_side(p, t, loss))
    return Group(side_by_side(x, w, z), side_by_side(a, p, t, loss))


def loss_view(done: BackpropTrace, lines, lang: str = "en") -> RenderableType:
    """The outputs, the target, the loss's gradient and ``lines`` (its working)."""
    grids = side_by_side(Grid(done.outputs[:, :, 0], title=label("p", lang)),
                         Grid(done.target[:, :, 0], title=label("t", lang)),
                         Grid(done.grad_outputs[:, :, 0], title=label("dp", lang),
                              current=(0, 0)))
    return Group(grids, *(Text("  " + line) for line in lines[:6]))


def filter_grad_view(bt: ConvBackwardTrace, lang: str = "en") -> RenderableType:
    """The filter, its whole gradient, and the bias's gradient as a sum."""
    bias = bt.bias(0)
    return Group(side_by_side(
        Grid(bt.forward.kernel[:, :, 0, 0], title=label("w", lang)),
        Grid(bt.kernel_grad[:, :, 0, 0], title=label("dw", lang))),
        sum_line("dL/db", bias.grads, np.ones_like(bias.grads), bias.total, lang))


def input_grad_view(bt: ConvBackwardTrace, lang: str = "en") -> RenderableType:
    """``dL/dz``, the filter and the whole ``dL/dx``."""
    return side_by_side(
        Grid(bt.grad_pre_activation[:, :, 0], title=label("dz", lang)),
        Grid(bt.forward.kernel[:, :, 0, 0], title=label("w", lang)),
        Grid(bt.grad_inputs[:, :, 0], title=label("dx", lang)))


def update_view(update: UpdateTrace, step: UpdateStep, tap, lang: str = "en"
                ) -> RenderableType:
    """The filter before, its gradient, the filter after (when two decimals
    show the change: SGD's, not RMSprop's first tiny step), and the weight
    ``tap``'s old and new value."""
    before, after = update.before[0][:, :, 0, 0], update.after[0][:, :, 0, 0]
    grids = [Grid(before, title=label("w", lang), current=tap),
             Grid(update.grads[0][:, :, 0, 0], title=label("dw", lang), current=tap)]
    if all(fmt_number(a) == fmt_exact(a) for a in after.ravel()):
        grids.append(Grid(after, title=label("w_new", lang), current=tap))
    else:  # RMSprop's first steps are about 0.003: shown in thousandths
        grids.append(Grid((after - before) * 1000, title=label("change", lang),
                          current=tap))
    line = Text.assemble("  ", (f"w{at(*tap)}", "bold"), ": ", fmt_exact(step.before),
                         " → ", (fmt_exact(step.after), "bold"))
    return Group(side_by_side(*grids), line)


def fmt_exact(value) -> str:
    """A number to six significant digits (an optimizer's small steps)."""
    return f"{float(value):.6g}"


def fmt_factor(value, fmt=fmt_number) -> str:
    """A number as a factor in a formula: ``(-2)`` when negative."""
    text = value if isinstance(value, str) else fmt(value)
    return f"({text})" if text.startswith("-") else text


def fmt_small(value) -> str:
    """Three significant digits: a trained model's gradients are small
    (``0.00123``, ``-4.5e-05``), and two decimals would show them as 0."""
    return f"{float(value):.3g}"


def model_view(bt: ConvBackwardTrace, image, filter: int, lang: str = "en"
               ) -> RenderableType:
    """A model's image and the first Conv2D layer's ``dL/dz`` for ``filter``
    (orange where raising z would raise the loss, blue where it would lower
    it), as pictures when they fit in 80 columns."""
    grads = bt.grad_pre_activation[:, :, filter]
    if image.shape[1] + grads.shape[1] + 4 > 80:
        return Text("")
    return side_by_side(
        Heatmap(np.mean(image, axis=2), title=label("image", lang)),
        Heatmap(grads, signed=True, title=f"dL/dz ({label('filter', lang)} {filter})"))
