"""Frame sequences of a backward pass, step by step: the backward twin of
:mod:`convsim.lesson.story`.

* :func:`pool_backward_frames`: each max-pooling window placed, then its
  gradient sent to the cell it kept;
* :func:`weight_frames`: each filter weight's gradient, the sum over the
  output cells of ``dL/dz`` times the input cell the weight met;
* :func:`cell_frames`: each input cell's gradient, the sum over the windows
  that covered it of ``dL/dz`` times the weight that met it;
* :func:`model_frames`: the same for a real model (yours, or the book's MNIST
  convnet trained on convsim's digits): its loss on one image, one weight's
  gradient in its first Conv2D layer, and one optimizer step.

They draw a :mod:`convsim.trace.backward` trace with
:mod:`convsim.viz.backward_view` and narrate it in English or Korean; a lesson
puts its own words on the first frame of each sequence (``intro``) and adds
its opening and closing frames around them.
"""

from __future__ import annotations

import numpy as np
from rich.console import Group
from rich.text import Text

from convsim import layers, optimizers
from convsim.errors import ArgumentError
from convsim.lesson.frames import Frame, Question, ints_check, number_check
from convsim.lesson.words import say
from convsim.trace.backprop import trace_backprop
from convsim.trace.backward import ConvBackwardTrace, PoolBackwardTrace
from convsim.trace.update import trace_update
from convsim.viz import backward_view as view
from convsim.viz.grid import fmt_number

TEXT = {
    "en": {
        "pool_place": "Window {w} of a made p{w}, whose gradient is {g}. Which of "
                      "the window's cells does the gradient go to?",
        "pool_sent": "The window kept only a{cell} = {v}, so only that cell changes "
                     "p{w}: it gets all of the gradient, {g}. The other {n} cells get "
                     "0 (nudging them changes nothing).",
        "pool_tie": "The window's largest value, {v}, is there {k} times. As in "
                    "Keras, the first in reading order, a{cell}, gets all of the "
                    "gradient, {g}; the other {n} cells get 0.",
        "ask_pool": "Which cell of a gets the gradient of window {w}? Answer "
                    "row,column.",
        "weight": "Weight w{tap}: the cells it met times their dL/dz add up to "
                  "{total}.",
        "ask_weight": "What is dL/dw{tap}? (Multiply each green cell of x by its "
                      "dL/dz and add.)",
        "cell": "dL/dx{cell} = {total} ({k} windows covered it).",
        "ask_cell": "What is dL/dx{cell}? (Each blue output cell's dL/dz times the "
                    "weight that met x{cell}, added up.)",
        "model_intro": "Now a real network: {model}, on {image}. It answers "
                       "{answer} (probability {prob}). Taking {target} as the right "
                       "answer, its cross-entropy loss is L = {loss}. "
                       "Backpropagation carries the gradient back through {n} "
                       "layers to the first Conv2D layer, '{layer}'. Right: its "
                       "dL/dz for filter {f} (orange above 0, blue below, black "
                       "where relu or max pooling passed nothing).{note}",
        "model_weight": "dL/dw{tap} of filter {f} in '{layer}' is a sum over its {n} "
                        "output cells of dL/dz × the pixel under the weight; {k} "
                        "terms are not 0 and the largest are written out. They add "
                        "up to {total}, what the layer's backward() stored in "
                        "kernel.grad.",
        "model_update": "A first {optimizer} step (learning rate {lr}) moves this "
                        "weight from {before} to {after}, and every other weight of "
                        "the model too: that was one training step on one image.",
        "book_model": "the book's MNIST convnet (trained on convsim's digits)",
        "your_model": "your model", "your_image": "your image",
        "digit": "a test digit", "label": "its label, {label},",
        "guess": "its own answer, {label},",
        "no_label": " Your image has no label, so the model's own answer stands in "
                    "for the right one.",
    },
    "ko": {
        "pool_place": "a의 윈도우 {w}에서 나온 값 p{w}의 기울기는 {g}입니다. 이 "
                      "기울기는 윈도우의 어느 칸으로 갈까요?",
        "pool_sent": "윈도우는 a{cell} = {v}만 남겼으므로 p{w}에 영향을 주는 칸은 "
                     "그 칸뿐입니다. 그 칸이 기울기 전부({g})를 받고, 나머지 {n}칸은 "
                     "0을 받습니다 (조금 바꿔도 출력이 변하지 않습니다).",
        "pool_tie": "윈도우에서 가장 큰 값({v})이 {k}칸에 있습니다. 케라스처럼 "
                    "읽는 순서로 첫 번째 칸 a{cell}에 기울기 전부({g})가 가고, "
                    "나머지 {n}칸은 0을 받습니다.",
        "ask_pool": "윈도우 {w}의 기울기를 받는 a의 칸은? 행,열로 답하세요.",
        "weight": "가중치 w{tap}: 곱해진 칸과 그 dL/dz의 곱을 모두 더하면 "
                  "{total}입니다.",
        "ask_weight": "dL/dw{tap}의 값은? (x의 초록색 칸마다 dL/dz를 곱해 "
                      "더하세요.)",
        "cell": "dL/dx{cell} = {total} (윈도우 {k}개가 덮었습니다).",
        "ask_cell": "dL/dx{cell}의 값은? (파란 출력 칸의 dL/dz와 x{cell}에 곱해진 "
                    "가중치를 곱해 모두 더하세요.)",
        "model_intro": "이제 실제 네트워크입니다: {model}, 입력은 {image}. 모델의 "
                       "답은 {answer} (확률 {prob}). 정답({target})을 기준으로 한 "
                       "크로스엔트로피 손실은 L = {loss}입니다. 역전파는 기울기를 층 "
                       "{n}개를 거쳐 첫 번째 Conv2D 층 '{layer}'까지 전달합니다. "
                       "오른쪽: 필터 {f}의 dL/dz (주황색은 0보다 큼, 파란색은 0보다 "
                       "작음, 검은색은 렐루나 최대 풀링이 아무것도 보내지 않은 곳)."
                       "{note}",
        "model_weight": "'{layer}' 층 필터 {f}의 dL/dw{tap}: 출력 칸 {n}개에 대해 "
                        "dL/dz × 그 가중치에 곱해진 픽셀을 모두 더한 값입니다. 0이 "
                        "아닌 항은 {k}개이고, 가장 큰 항들을 적었습니다. 모두 더하면 "
                        "{total}. 층의 backward() 메서드가 kernel.grad에 저장한 값과 "
                        "같습니다.",
        "model_update": "{optimizer}의 첫 스텝(학습률 {lr})은 이 가중치를 옮깁니다: "
                        "{before} → {after}. 모델의 다른 가중치도 모두 함께 "
                        "움직입니다. 이미지 하나로 훈련 한 스텝을 한 것입니다.",
        "book_model": "책의 MNIST 컨브넷(convsim에 들어 있는 숫자로 훈련)",
        "your_model": "저장한 모델", "your_image": "내 이미지",
        "digit": "테스트 숫자", "label": "레이블 {label}",
        "guess": "모델 자신의 답 {label}",
        "no_label": " 내 이미지에는 레이블이 없어서 모델의 답을 정답으로 "
                    "삼았습니다.",
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
        ties = int(np.count_nonzero(fwd.cells == fwd.max))
        caption = say(t["pool_sent" if ties == 1 else "pool_tie"],
                      cell=view.at(*step.winner), v=fmt_number(fwd.max), w=w, g=g,
                      n=fwd.cells.size - 1, k=ties)
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


def model_frames(subject, lang: str, name: str | None = None) -> list[Frame]:
    """Three key frames on a real model (a
    :class:`~convsim.experiments.your_model.Subject`; ``name``: your model's
    file, ``None`` for the book's model): its loss on the image
    and the first Conv2D layer's ``dL/dz``; one weight's gradient, the largest
    of the filter that matters most, as a sum; one first step of the model's
    optimizer (RMSprop if it has none)."""
    t = TEXT[lang]
    done, answer, prob, target = model_backprop(subject)
    k = next((i for i, layer in enumerate(done.layers)
              if isinstance(layer, layers.Conv2D)), None)
    if k is None:
        raise ArgumentError(f"`model` must have a Conv2D layer to follow the "
                            f"gradient into. Received: model '{subject.model.name}' "
                            f"with layers {[layer.name for layer in done.layers]}")
    bt = done.backward[k]
    f = int(np.argmax(np.abs(bt.kernel_grad).sum(axis=(0, 1, 2))))
    grads = np.abs(bt.kernel_grad[:, :, 0, f])
    i, j = (int(n) for n in np.unravel_index(int(np.argmax(grads)), grads.shape))
    step = bt.weight(i, j, 0, f)
    small = view.fmt_small
    model = t["book_model"] if name is None else f"{t['your_model']} {name}"
    image = t["your_image"] if subject.label is None else t["digit"]
    values = dict(model=model, image=image, answer=answer, prob=small(prob),
                  target=say(t["guess" if subject.label is None else "label"],
                             label=target), loss=small(done.loss),
                  note=t["no_label"] if subject.label is None else "",
                  n=len(done.layers) - k, layer=bt.name, f=f, tap=view.at(i, j))
    intro = Frame(view.model_view(bt, subject.image, f, lang),
                  say(t["model_intro"], **values), key=True, hold=8,
                  data={"model_backprop": done})
    line = view.sum_line(f"dL/dw{view.at(i, j)}", step.grads, step.values,
                         step.total, lang, limit=2, fmt=small)
    weight = Frame(Group(view.model_view(bt, subject.image, f, lang), line),
                   say(t["model_weight"], total=small(step.total),
                       k=int(np.count_nonzero(step.grads)), **{
                           **values, "n": step.grads.size}),
                   key=True, hold=8, data={"model_weight": step})
    optimizer = getattr(subject.model, "optimizer", None) or optimizers.RMSprop()
    update = trace_update(optimizer, [bt.forward.kernel, bt.forward.bias],
                          [bt.kernel_grad, bt.bias_grad]).step(0, i, j, 0, f)
    change = Text.assemble("  ", (f"w{view.at(i, j)}", "bold"), ": ",
                           view.fmt_exact(update.before), " → ",
                           (view.fmt_exact(update.after), "bold"))
    moved = Frame(Group(line, change), say(
        t["model_update"], optimizer=update.optimizer, lr=small(update.learning_rate),
        before=view.fmt_exact(update.before), after=view.fmt_exact(update.after)),
        key=True, hold=6, data={"model_update": update})
    return [intro, weight, moved]


def model_backprop(subject):
    """The model's backward pass on the subject's image, against its label
    (or, for your own image, the model's own answer): ``(trace, answer,
    probability, target label)``. One output unit is a sigmoid's probability
    of class 1 (binary cross-entropy); more are softmax classes."""
    probs = subject.model.predict(subject.image[None], verbose=0)[0].ravel()
    if probs.size == 1:
        answer = int(probs[0] > 0.5)
        prob = float(probs[0] if answer else 1 - probs[0])
    else:
        answer, prob = int(np.argmax(probs)), float(probs.max())
    label = answer if subject.label is None else subject.label
    if probs.size == 1:
        target, loss = np.array([label], np.float32), "binary_crossentropy"
    else:
        target, loss = np.eye(probs.size, dtype=np.float32)[label], \
            "categorical_crossentropy"
    return trace_backprop(subject.model, subject.image, target, loss), answer, \
        prob, label


def _bind(draw, *args):
    """A frame's view, drawn only when the frame is shown."""
    return lambda: draw(*args)
