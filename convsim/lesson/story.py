"""Frame sequences the lessons share: a convolution or a pooling, step by step.

:func:`conv_frames` turns a :class:`~convsim.trace.ConvTrace` into frames: the
window moving in stride order, its products appearing one by one for the
first step (the running sum), and each output cell being written; with
narration in English or Korean. :func:`pool_frames` does the same for pooling.
Lessons add their own opening and closing frames around these.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Sequence

from rich.console import Group
from rich.text import Text

from convsim.lesson.frames import Frame, Question, any_of_check, number_check
from convsim.lesson.layout import Fit
from convsim.lesson.words import say
from convsim.trace import ConvStep, ConvTrace, PoolTrace
from convsim.viz.conv_view import (
    crop_to_focus,
    input_grid,
    output_grid,
    side_by_side,
    step_view,
)
from convsim.viz.grid import PlainLegend, fmt_number

TEXT = {
    "en": {
        "first": "The window starts at the top-left corner (row {r}, column {c}). "
                 "The patch under it is multiplied cell by cell with the filter.",
        "right": "The window slides {s} column{plural} to the right (stride {s}).",
        "down": "End of the row: the window jumps back to the left edge and "
                "{s} row{plural} down.",
        "product": "Product {k} of {n}: {a} × {b} = {p}.   Running sum: [bold]{total}"
                   "[/]",
        "result": "The {n} products add up to {total}{bias}: output cell "
                  "({r}, {c}) = [bold]{value}[/].",
        "bias": ", plus the bias {b} gives {pre}",
        "act": ", and {act} makes it {value}",
        "ask_conv": "Output cell ({r}, {c}): what number will it be? (multiply the "
                    "patch by the filter and add)",
        "pool_first": "A {ph}×{pw} window over the top-left corner.",
        "pool_max": "Window ({r}, {c}) holds {vals}. Max pooling keeps the largest, "
                    "[bold]{m}[/] (input row {i}, column {j}).",
        "pool_mean": "Window ({r}, {c}) holds {vals}. Average pooling keeps their "
                     "mean, {sum} / {n} = [bold]{m}[/].",
        "ask_pool": "Which input cell will max pooling keep for window ({r}, {c})? "
                    "Answer row,column.",
    },
    "ko": {
        "first": "윈도우가 왼쪽 위 모서리(행 {r}, 열 {c})에서 시작합니다. "
                 "윈도우 아래의 패치와 필터를 요소별로 곱합니다.",
        "right": "윈도우가 오른쪽으로 {s}칸 이동합니다 (스트라이드 {s}).",
        "down": "행의 끝에 닿았습니다. 윈도우는 왼쪽 끝으로 돌아가 {s}칸 아래로 "
                "내려갑니다.",
        "product": "{n}개 중 {k}번째 곱: {a} × {b} = {p}.   "
                   "지금까지의 합: [bold]{total}[/]",
        "result": "곱 {n}개를 모두 더하면 {total}{bias}: 출력 ({r}, {c}) = "
                  "[bold]{value}[/].",
        "bias": ", 편향({b})을 더하면 {pre}",
        "act": ", {act} 활성화를 거치면 {value}",
        "ask_conv": "출력 ({r}, {c})의 값은 얼마일까요? (패치와 필터를 요소별로 곱해 "
                    "모두 더하세요)",
        "pool_first": "{ph}×{pw} 윈도우가 왼쪽 위 모서리에 놓였습니다.",
        "pool_max": "윈도우 ({r}, {c})의 값은 {vals}. 최대 풀링은 가장 큰 값 "
                    "[bold]{m}[/] 하나만 남깁니다 (입력 행 {i}, 열 {j}).",
        "pool_mean": "윈도우 ({r}, {c})의 값은 {vals}. 평균 풀링은 평균값"
                     "({sum} / {n} = [bold]{m}[/])을 남깁니다.",
        "ask_pool": "윈도우 ({r}, {c})에서 최대 풀링이 고를 입력 칸은? "
                    "행,열로 답하세요.",
    },
}


def move_caption(step, lang: str) -> str:
    t = TEXT[lang]
    if step.move is None:
        return say(t["first"], r=step.row, c=step.col)
    dy, dx = step.move
    s = dx if dy == 0 else dy
    return say(t["right" if dy == 0 else "down"], s=s, plural="" if s == 1 else "s")


def result_caption(step: ConvStep, lang: str) -> str:
    t = TEXT[lang]
    n = step.products.size
    bias = act = ""
    if step.bias != 0:
        bias = say(t["bias"], b=fmt_number(step.bias),
                   pre=fmt_number(step.pre_activation_output))
    if step.activation != "linear":
        act = say(t["act"], act=step.activation, value=fmt_number(step.output))
    return say(t["result"], n=n, total=fmt_number(step.total), r=step.row, c=step.col,
               value=fmt_number(step.output), bias=bias + act)


def conv_question(step: ConvStep, lang: str) -> Question:
    return Question(say(TEXT[lang]["ask_conv"], r=step.row, c=step.col),
                    number_check(step.output), fmt_number(step.output),
                    result_caption(step, lang))


def conv_frames(trace: ConvTrace, lang: str, *, filter: int = 0,
                detail: Container[int] = (0,), keys: Container[int] = (),
                quiz: Container[int] = (), place: Container[int] = (),
                hold: float = 1.0, view: Callable | None = None) -> list[Frame]:
    """Frames for every step of one filter of ``trace``.

    Args:
        detail: steps (index within the filter) whose products appear one at a
            time, with the running sum.
        keys: steps whose finished frame is a key frame (``--no-animate``).
        quiz: steps that ask the learner to predict the output first.
        place: steps shown twice: window placed, then the cell written (detail
            and quiz steps always are).
        view: ``view(trace, step, revealed)`` to draw a frame (default:
            :func:`~convsim.viz.conv_view.step_view`).
    """
    view = view or (lambda t, s, revealed: cropping(
        lambda v: step_view(t, s, revealed, lang, view=v)))
    per_map = trace.out_h * trace.out_w
    frames = []
    for k in range(per_map):
        step = trace[filter * per_map + k]
        taps = step.products.size
        data = {"step": step}
        placed = k in detail or k in quiz or k in place
        if placed:
            frames.append(Frame(_bind(view, trace, step, 0), move_caption(step, lang),
                                hold=hold * 2, data=data))
        if k in detail:
            flat = list(zip(step.patch.transpose(2, 0, 1).ravel(),
                            step.weights.transpose(2, 0, 1).ravel(), strict=True))
            running = 0.0
            for n, (a, b) in enumerate(flat[:taps], start=1):
                running += float(a) * float(b)
                caption = say(TEXT[lang]["product"], k=n, n=taps, a=fmt_number(a),
                              b=fmt_number(b), p=fmt_number(float(a) * float(b)),
                              total=fmt_number(running))
                frames.append(Frame(_bind(view, trace, step, n), caption, hold=hold,
                                    data=data))
        caption = result_caption(step, lang)
        if k not in detail and k not in quiz:
            caption = move_caption(step, lang) + " " + caption
        frames.append(Frame(_bind(view, trace, step, None), caption, key=k in keys,
                            hold=hold * (2 if k in detail else 1), data=data,
                            question=conv_question(step, lang) if k in quiz else None))
    return frames


def _bind(view, trace, step, revealed):
    return lambda: view(trace, step, revealed)


#: Crops tried for a big grid, after the whole grid (None): cells around the
#: window kept, largest first.
CROPS = (None, 9, 7, 5)


def cropping(draw: Callable[[int | None], object]) -> Fit:
    """``draw(None)`` (the whole picture) where it fits, else ``draw(view)``
    with the big grids cropped to ``view`` cells around the window."""
    return Fit(*(lambda v=v: draw(v) for v in CROPS))


def cropped_row(grids: Sequence[object], *below: object, lang: str = "en") -> Fit:
    """``grids`` side by side with ``below`` under them, the big grids cropped
    around their window or their corner where the whole row does not fit
    (and, where even that is too wide, the first grid above the others)."""
    def row(v, split=False):
        cut = [crop_to_focus(g, v, lang) for g in grids]
        rows = [cut[0], side_by_side(*cut[1:])] if split else [side_by_side(*cut)]
        return Group(*rows, *below)

    return Fit(*(lambda v=v: row(v) for v in CROPS),
               *(lambda v=v: row(v, split=True) for v in CROPS[1:]))



# ---------------------------------------------------------------- pooling


def pool_view(trace: PoolTrace, index: int, written: bool, lang: str,
              show_choice: bool = True, view: int | None = None):
    step = trace[index]
    chosen = step.argmax if (trace.pool_kind == "max" and show_choice) else None
    per_map = trace.out_h * trace.out_w
    k = index % per_map
    grid_in = input_grid(trace, step, step.channel, lang=lang, chosen=chosen)
    title = ("max pooling" if trace.pool_kind == "max" else "average pooling")
    if lang == "ko":
        title = "최대 풀링" if trace.pool_kind == "max" else "평균 풀링"
    grid_out = output_grid(trace, step.channel, k + written,
                           (step.row, step.col) if written else None,
                           title=f"{title} {trace.out_h}×{trace.out_w}", lang=lang)
    return Group(side_by_side(crop_to_focus(grid_in, view, lang),
                              Text("→", style="bold"),
                              crop_to_focus(grid_out, view, lang)),
                 PlainLegend(lang))


def pool_caption(trace: PoolTrace, index: int, lang: str) -> str:
    step, t = trace[index], TEXT[lang]
    vals = ", ".join(fmt_number(v) for v in step.values)
    if trace.pool_kind == "max":
        i, j = step.argmax
        return say(t["pool_max"], r=step.row, c=step.col, vals=vals,
                   m=fmt_number(step.output), i=i, j=j)
    return say(t["pool_mean"], r=step.row, c=step.col, vals=vals,
               sum=fmt_number(step.values.sum(dtype=float)), n=step.values.size,
               m=fmt_number(step.output))


def pool_question(trace: PoolTrace, index: int, lang: str) -> Question:
    step = trace[index]
    top, left = step.pads
    best = (step.window == step.max) & ~step.is_padding
    ties = [(step.top + r - top, step.left + c - left)
            for r, c in zip(*best.nonzero(), strict=True)]
    i, j = step.argmax
    return Question(say(TEXT[lang]["ask_pool"], r=step.row, c=step.col),
                    any_of_check(ties), f"{i},{j}", pool_caption(trace, index, lang))


def pool_frames(trace: PoolTrace, lang: str, *, channel: int = 0,
                keys: Container[int] = (), quiz: Container[int] = (),
                hold: float = 1.0) -> list[Frame]:
    """Two frames per window (placed, then value kept) for one channel."""
    per_map = trace.out_h * trace.out_w
    frames = []
    for k in range(per_map):
        index = channel * per_map + k
        step = trace[index]
        frames.append(Frame(_pool_bind(trace, index, False, lang),
                            move_caption(step, lang) if step.move else say(
                                TEXT[lang]["pool_first"], ph=step.window.shape[0],
                                pw=step.window.shape[1]),
                            hold=hold, data={"step": step}))
        question = (pool_question(trace, index, lang)
                    if k in quiz and trace.pool_kind == "max" else None)
        frames.append(Frame(_pool_bind(trace, index, True, lang),
                            pool_caption(trace, index, lang), key=k in keys,
                            hold=hold * 1.5, question=question, data={"step": step}))
    return frames


def _pool_bind(trace, index, written, lang):
    return lambda: cropping(lambda v: pool_view(trace, index, written, lang,
                                                show_choice=written, view=v))
