"""Frame sequences of a backward pass, step by step: the backward twin of
:mod:`convsim.lesson.story`.

* :func:`pool_backward_frames`: each max-pooling window placed, then its
  gradient sent to the cell it kept;
* :func:`weight_frames`: each filter weight's gradient, the sum over the
  output cells of ``dL/dz`` times the input cell the weight met;
* :func:`cell_frames`: each input cell's gradient, the sum over the windows
  that covered it of ``dL/dz`` times the weight that met it.

They draw a :mod:`convsim.trace.backward` trace with
:mod:`convsim.viz.backward_view` and narrate it in English or Korean; a lesson
puts its own words on the first frame of each sequence (``intro``) and adds
its opening and closing frames around them.
"""

from __future__ import annotations

import numpy as np

from convsim.lesson.frames import Frame, Question, ints_check, number_check
from convsim.lesson.words import say
from convsim.trace.backward import ConvBackwardTrace, PoolBackwardTrace
from convsim.viz import backward_view as view
from convsim.viz.grid import fmt_number

TEXT = {
    "en": {
        "pool_place": "Window {w} of a made p{w}, whose gradient is {g}. Which of "
                      "the window's cells does the gradient go to?",
        "pool_sent": "The window kept only a{cell} = {v}, so only that cell changes "
                     "p{w}: it gets all of the gradient, {g}. The other {n} cells get "
                     "0 (nudging them changes nothing).",
        "tie": " A tie: as in Keras, the first maximum in reading order wins.",
        "ask_pool": "Which cell of a gets the gradient of window {w}? Answer "
                    "row,column.",
        "weight": "Weight w{tap}: the cells it met times their dL/dz add up to "
                  "{total}.",
        "ask_weight": "What is dL/dw{tap}? (Multiply each green cell of x by its "
                      "dL/dz and add.)",
        "cell": "dL/dx{cell} = {total} ({k} windows covered it).",
        "ask_cell": "What is dL/dx{cell}? (Each blue output cell's dL/dz times the "
                    "weight that met x{cell}, added up.)",
    },
    "ko": {
        "pool_place": "a의 윈도우 {w}에서 나온 값 p{w}의 기울기는 {g}입니다. 이 "
                      "기울기는 윈도우의 어느 칸으로 갈까요?",
        "pool_sent": "윈도우는 a{cell} = {v}만 남겼으므로 p{w}에 영향을 주는 칸은 "
                     "그 칸뿐입니다. 그 칸이 기울기 전부({g})를 받고, 나머지 {n}칸은 "
                     "0을 받습니다 (조금 바꿔도 출력이 변하지 않습니다).",
        "tie": " 동점이면 케라스처럼 읽는 순서로 첫 번째 최댓값이 이깁니다.",
        "ask_pool": "윈도우 {w}의 기울기를 받는 a의 칸은? 행,열로 답하세요.",
        "weight": "가중치 w{tap}: 곱해진 칸과 그 dL/dz의 곱을 모두 더하면 "
                  "{total}입니다.",
        "ask_weight": "dL/dw{tap}의 값은? (x의 초록색 칸마다 dL/dz를 곱해 "
                      "더하세요.)",
        "cell": "dL/dx{cell} = {total} (윈도우 {k}개가 덮었습니다).",
        "ask_cell": "dL/dx{cell}의 값은? (파란 출력 칸의 dL/dz와 x{cell}에 곱해진 "
                    "가중치를 곱해 모두 더하세요.)",
    },
}


def pool_backward_frames(bt: PoolBackwardTrace, lang: str, *, intro: str = "",
                         quiz: bool = True) -> list[Frame]:
    """Two frames per window: placed, then its gradient sent (``intro`` before
    the first window's words); the first and last are key frames. With
    ``quiz``, the first window with a single largest cell asks where the
    gradient goes."""
    t, frames = TEXT[lang], []
    asked = next((s.index for s in bt.windows if quiz and unique_max(s.forward)),
                 None)
    for step in bt.windows:
        fwd, k = step.forward, step.index
        w, g = view.at(fwd.row, fwd.col), fmt_number(step.grad)
        placed = say(t["pool_place"], w=w, g=g)
        frames.append(Frame(_bind(view.pool_view, bt, step, k, lang, False),
                            intro + " " + placed if k == 0 and intro else placed,
                            hold=1.5))
        caption = say(t["pool_sent"], cell=view.at(*step.winner),
                      v=fmt_number(fwd.max), w=w, g=g, n=fwd.cells.size - 1)
        caption += "" if unique_max(fwd) else t["tie"]
        if k == 0 and intro:
            caption = intro + " " + caption
        question = None if k != asked else Question(
            say(t["ask_pool"], w=w), ints_check(step.winner),
            "{},{}".format(*step.winner), caption)
        frames.append(Frame(_bind(view.pool_view, bt, step, k + 1, lang, True),
                            caption, key=k in (0, len(bt.windows) - 1), hold=2.5,
                            question=question, data={"window": step}))
    return frames


def unique_max(step) -> bool:
    """Whether the pooling window has one largest cell (no tie)."""
    cells = step.cells
    return int(np.count_nonzero(cells == cells.max())) == 1


def weight_frames(bt: ConvBackwardTrace, lang: str, *, intro: str = "",
                  quiz: bool = True) -> list[Frame]:
    """One frame per weight of the first filter and channel, ``dL/dw`` filling
    in; the first frame says ``intro`` and is a key frame. With ``quiz``, the
    second weight whose gradient is not 0 is asked for."""
    t, frames = TEXT[lang], []
    kh, kw = bt.forward.kernel.shape[:2]
    steps = [bt.weight(i, j) for i in range(kh) for j in range(kw)]
    asked = next((s.index for s in steps[1:] if quiz and s.total != 0), None)
    for step in steps:
        tap, first = view.at(*step.tap[:2]), step.index == 0
        caption = intro if first and intro else say(
            t["weight"], tap=tap, total=fmt_number(step.total))
        question = None if step.index != asked else Question(
            say(t["ask_weight"], tap=tap), number_check(step.total),
            fmt_number(step.total), caption)
        frames.append(Frame(_bind(view.weight_view, bt, step, step.index + 1, lang),
                            caption, key=first, question=question,
                            hold=6 if first else 1.5, data={"weight": step}))
    return frames


def cell_frames(bt: ConvBackwardTrace, lang: str, *, intro: str = "",
                quiz: bool = True) -> list[Frame]:
    """One frame per input cell of the first channel, ``dL/dx`` filling in.
    With ``intro``, a key frame before them says it about the cell with the
    most terms that are not 0 (:func:`richest_cell`). With ``quiz``, another
    cell with two or more such terms is asked for."""
    t, frames = TEXT[lang], []
    h, w = bt.forward.inputs.shape[:2]
    steps = [bt.cell(r, c) for r in range(h) for c in range(w)]
    example = richest_cell(steps)
    if intro:
        frames.append(Frame(_bind(view.cell_view, bt, example, 0, lang), intro,
                            key=True, hold=6, data={"example": example}))
    useful = [s for s in steps if np.count_nonzero(s.grads) >= 2
              and s.index != example.index]
    asked = useful[len(useful) // 2].index if quiz and useful else None
    for step in steps:
        cell = view.at(*step.cell[:2])
        caption = say(t["cell"], cell=cell, total=fmt_number(step.total),
                      k=len(step.windows))
        question = None if step.index != asked else Question(
            say(t["ask_cell"], cell=cell), number_check(step.total),
            fmt_number(step.total), caption)
        frames.append(Frame(_bind(view.cell_view, bt, step, step.index + 1, lang),
                            caption, question=question, hold=0.7,
                            data={"cell": step}))
    return frames


def richest_cell(steps):
    """The input cell whose gradient has the most terms that are not 0 (the
    first such in reading order): the best one to explain the sum with."""
    return max(steps, key=lambda s: (np.count_nonzero(s.grads), -s.index))


def _bind(draw, *args):
    """A frame's view, drawn only when the frame is shown."""
    return lambda: draw(*args)
