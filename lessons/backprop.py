"""Lesson: backprop — the backward pass of a tiny convnet, number by number.

Run it::

    python -m convsim.lesson backprop
    python -m convsim.lesson backprop --step --lang ko
    python -m convsim.lesson backprop --quiz --seed 3 --size 7

The book (chapter 2's "gradient-based optimization", used by every ``fit`` of
chapter 5): training needs, for every weight, the gradient of the loss, and
backpropagation computes it from the last layer to the first with the chain
rule. Here a real network, ``Conv2D(1, (3, 3))`` → ``relu`` →
``MaxPooling2D(2)``, scored with the mean squared error against a target, is
traced backwards: the loss's gradient, max pooling sending it to each window's
winner, ReLU blocking it where its input was negative, each filter weight's
and each input cell's gradient as a sum with the numbers in it, and one SGD
step (and RMSprop's, the book's optimizer) with the loss before and after.
Every number comes from the layers, the loss and the optimizers themselves
(:mod:`convsim.trace.backward`, :mod:`convsim.trace.update`).
"""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console

from convsim import optimizers, trace
from convsim.experiments.your_model import choose
from convsim.lesson.backward_story import (
    cell_frames,
    model_frames,
    pool_backward_frames,
    richest_cell,
    weight_frames,
)
from convsim.lesson.frames import Frame, Lesson, Question, number_check
from convsim.lesson.layout import Fit
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.viz import backward_view as view
from convsim.viz.backward_view import fmt_exact as exact
from convsim.viz.backward_view import fmt_factor as factor
from convsim.viz.grid import fmt_number

NAME = "backprop"
TITLE = {"en": "Backpropagation", "ko": "역전파"}
SUMMARY = {
    "en": "the backward pass of conv -> relu -> max pool, every gradient a sum "
          "with its numbers, then one SGD/RMSprop step",
    "ko": "합성곱 → 렐루 → 최대 풀링의 역전파: 기울기마다 숫자를 넣은 합, "
          "그리고 SGD/RMSprop 한 스텝",
}
FPS = 1.5
SIZE = (6, 4, 7)  # the input's side: 6x6 -> conv 4x4 -> pool 2x2
LEARNING_RATE = 0.01  # SGD's default in Keras
POOL = 2
LOSS = "mean_squared_error"
OPTIONS = {
    "model": ("FILE", "also take one weight of your saved model's first Conv2D "
                      "layer through backpropagation"),
    "image": ("FILE", "your own picture (PNG or JPEG) for that model (default: a "
                      "test digit)"),
}

TEXT = {
    "en": {
        "intro": "Training changes every weight a little so that the loss goes down, "
                 "and for that it needs [bold]dL/dw[/]: how much the loss L changes "
                 "when a weight w changes a little. Backpropagation works these out "
                 "from the end of the network to the start with the chain rule, one "
                 "layer at a time. Our tiny network: Conv2D(1, (3, 3)) → relu → "
                 "MaxPooling2D(2), and the mean squared error against a target t: "
                 "L = {loss}.",
        "loss": "Step 1, the loss. L = mean((p - t)²) = ({squares}) / {n} = {loss}. "
                "For each output its gradient is dL/dp = 2 × (p - t) / {n} (above). "
                "Its sign says which way to go: a negative gradient means the "
                "output is too small (raising it lowers the loss), a positive one "
                "that it is too large.",
        "ask_loss": "What is dL/dp{cell}? (p{cell} = {p}, t{cell} = {t}, {n} "
                    "outputs)",
        "pool_intro": "Step 2, max pooling backwards.",
        "relu": "Step 3, relu backwards. relu(z) = max(z, 0) has slope 1 where z > 0 "
                "and slope 0 where z ≤ 0, so dL/dz = dL/da × slope: the gradient "
                "passes where z was positive and stops where relu stopped the value "
                "({n} cells marked).{note}",
        "relu_blocked": " The winner a{cell} was 0 (z{cell} = {z}): its gradient, "
                        "{g}, is blocked and never reaches the filter.",
        "relu_pass": " Every winner had z > 0, so every gradient passes.",
        "ask_relu": "dL/da{cell} = {g} and z{cell} = {z}. What is dL/dz{cell}?",
        "weights_intro": "Step 4, the filter's gradient. Weight w{tap} multiplied "
                         "one input cell in every window (blue): in output cell "
                         "\\[oy, ox] the cell x\\[oy + {i}, ox + {j}]. So dL/dw{tap} = "
                         "Σ dL/dz × that cell, over all {n} output cells. Only the "
                         "green ones have dL/dz ≠ 0 (pooling and relu sent nothing "
                         "to the others), so only {k} terms count.",
        "weights_done": "The whole gradient of the filter, and of the bias: it was "
                        "added to every output cell with slope 1, so dL/db = Σ dL/dz "
                        "= {b}. Conv2D's own backward() stored {same} in kernel.grad "
                        "and bias.grad: what the optimizer will use.",
        "same": "exactly these numbers", "close": "these numbers (to within {diff})",
        "cells_intro": "Step 5, the gradient for the input. Cell x{cell} was read by "
                       "every window over it (blue), each time through a different "
                       "weight. So dL/dx{cell} = Σ dL/dz × the weight that met it = "
                       "{total}. This is what a layer hands down to the layer "
                       "before it; a model's first layer skips it, since nobody "
                       "changes the image.",
        "cells_done": "dL/dx, complete. Seen all at once it is a convolution too: "
                      "dL/dz with {pad} zeros around it, convolved with the filter "
                      "turned by 180°. A layer below this one would receive it as "
                      "the gradient of its outputs.",
        "sgd": "Step 6, the update. SGD moves every weight against its gradient, "
               "w ← w - lr × dL/dw, with Keras's default learning rate lr = {lr}. The "
               "gradient largest in size is that of w{tap}: {before} - {lr} × {grad} = "
               "{after}. With every weight and the bias updated, the loss {moved}: "
               "{l0} → {l1}.",
        "fell": "falls", "rose": "rises",
        "ask_sgd": "w{tap} = {before}, dL/dw{tap} = {grad}, lr = {lr}. What is "
                   "w{tap} after the step?",
        "rmsprop": "The book's MNIST convnet uses optimizer='rmsprop' (lr = {lr}). "
                   "RMSprop keeps v, a running mean of each weight's squared "
                   "gradients, and divides the step by √v: v = 0.9 × 0 + 0.1 × "
                   "{grad}² = {v}, then w{tap} ← {before} - {lr} × {grad} / √({v} + "
                   "1e-7) = {after}. So on the first step every weight with a "
                   "gradient moves by about lr × √10 = {move}, whatever the size of "
                   "its gradient. Loss: {l0} → {l1}.",
        "outro": "That was one training step: forward pass, loss, backward pass "
                 "(pooling → relu → convolution, each layer handing the gradient "
                 "down), update. fit() repeats it for every batch: the book's MNIST "
                 "run takes {steps} steps ({batches} batches of {batch} × {epochs} "
                 "epochs), each one updating all {params} weights at once.",
    },
    "ko": {
        "intro": "학습은 손실이 줄어들도록 모든 가중치를 조금씩 바꿉니다. 그러려면 "
                 "[bold]dL/dw[/], 즉 가중치 w를 조금 바꿀 때 손실 L이 얼마나 "
                 "변하는지 알아야 합니다. 역전파는 연쇄 법칙으로 이 값을 네트워크의 "
                 "끝에서 처음까지 한 층씩 계산합니다. 여기서 쓰는 작은 네트워크: "
                 "Conv2D(1, (3, 3)) → relu → MaxPooling2D(2), 그리고 타깃 t와의 "
                 "평균 제곱 오차 손실 L = {loss}.",
        "loss": "1단계, 손실. L = mean((p - t)²) = ({squares}) / {n} = {loss}. "
                "출력마다 손실의 기울기는 dL/dp = 2 × (p - t) / {n}입니다 (위의 식). "
                "기울기의 부호가 방향을 알려 줍니다: 음수이면 출력이 너무 작아서 "
                "키우면 손실이 줄고, 양수이면 출력이 너무 큽니다.",
        "ask_loss": "dL/dp{cell}의 값은? (p{cell} = {p}, t{cell} = {t}, 출력 {n}개)",
        "pool_intro": "2단계, 최대 풀링의 역전파.",
        "relu": "3단계, 렐루의 역전파. relu(z) = max(z, 0)의 미분값은 z > 0인 곳에서 "
                "1, z ≤ 0인 곳에서 0입니다. 그래서 dL/dz = dL/da × 미분값: z가 "
                "양수였던 곳에서는 기울기가 통과하고, 렐루가 값을 막았던 곳({n}칸 "
                "표시)에서는 기울기도 막힙니다.{note}",
        "relu_blocked": " 최댓값 칸 a{cell}의 값은 0이었습니다 (z{cell} = {z}). "
                        "그래서 그 칸의 기울기({g})는 막혀 필터까지 가지 못합니다.",
        "relu_pass": " 모든 최댓값 칸에서 z > 0이었으므로 기울기가 모두 통과합니다.",
        "ask_relu": "dL/da{cell} = {g}, z{cell} = {z}. dL/dz{cell}의 값은?",
        "weights_intro": "4단계, 필터의 기울기. 가중치 w{tap}에는 윈도우마다 입력 칸 "
                         "하나가 곱해졌습니다 (파란색): 출력 칸 \\[oy, ox]에서는 "
                         "x\\[oy + {i}, ox + {j}]. 그래서 dL/dw{tap} = Σ dL/dz × 그 "
                         "칸이고, 출력 칸 {n}개 전체에 대한 합입니다. dL/dz ≠ 0인 칸은 "
                         "초록색뿐이므로 (풀링과 렐루가 나머지 칸에는 기울기를 보내지 "
                         "않았습니다) 0이 아닌 항은 {k}개입니다.",
        "weights_done": "필터 전체의 기울기와 편향의 기울기: 편향은 모든 출력 칸에 "
                        "미분값 1로 더해졌으므로 dL/db = Σ dL/dz = {b}입니다. "
                        "Conv2D의 backward() 메서드도 kernel.grad와 bias.grad에 {same} "
                        "저장했습니다. 옵티마이저가 쓰는 값이 바로 이것입니다.",
        "same": "정확히 같은 값을", "close": "같은 값을 (차이 {diff} 이내)",
        "cells_intro": "5단계, 입력의 기울기. 입력 칸 x{cell} 위에 놓였던 윈도우마다 "
                       "(파란색) 서로 다른 가중치가 그 칸에 곱해졌습니다. 그래서 "
                       "dL/dx{cell} = Σ dL/dz × 그 칸에 곱해진 가중치 = {total}입니다. "
                       "층은 이 값을 앞 층에 넘겨줍니다. 모델의 첫 번째 층은 이미지를 "
                       "바꿀 일이 없으므로 이 계산을 건너뜁니다.",
        "cells_done": "완성된 dL/dx. 한꺼번에 보면 이것도 합성곱입니다: dL/dz 둘레에 "
                      "0을 {pad}줄씩 붙이고 180° 돌린 필터로 합성곱한 결과입니다. 이 "
                      "층 앞에 다른 층이 있다면 그 층은 이 값을 출력의 기울기로 "
                      "받습니다.",
        "sgd": "6단계, 업데이트. 확률적 경사 하강법(SGD)은 모든 가중치를 기울기의 "
               "반대 방향으로 옮깁니다: w ← w - lr × dL/dw, 학습률 lr은 케라스 "
               "기본값 {lr}입니다. 기울기의 절댓값이 가장 큰 가중치는 w{tap}: "
               "{before} - {lr} × {grad} = {after}. 모든 가중치와 편향을 "
               "업데이트하면 손실이 {moved}: {l0} → {l1}.",
        "fell": "줄어듭니다", "rose": "늘어납니다",
        "ask_sgd": "w{tap} = {before}, dL/dw{tap} = {grad}, lr = {lr}. 업데이트한 "
                   "뒤 w{tap}의 값은?",
        "rmsprop": "책의 MNIST 컨브넷은 optimizer='rmsprop'을 씁니다 (lr = {lr}). "
                   "RMSprop은 가중치마다 기울기 제곱의 이동 평균 v를 유지하고, "
                   "업데이트 크기를 √v로 나눕니다: v = 0.9 × 0 + 0.1 × {grad}² = "
                   "{v}, 그다음 w{tap} ← {before} - {lr} × {grad} / √({v} + 1e-7) = "
                   "{after}. 그래서 첫 스텝에서는 기울기가 있는 모든 가중치가 기울기 "
                   "크기와 상관없이 약 lr × √10 = {move}만큼 움직입니다. 손실: {l0} → "
                   "{l1}.",
        "outro": "지금까지가 훈련 한 스텝입니다: 정방향 패스, 손실, 역방향 패스 "
                 "(풀링 → 렐루 → 합성곱, 층마다 기울기를 앞 층으로 전달), 업데이트. "
                 "fit()은 배치마다 이를 반복합니다. 책의 MNIST 훈련은 {steps}스텝 "
                 "({batch}개씩 {batches}배치 × {epochs}에포크)이고, 스텝마다 가중치 "
                 "{params}개를 한꺼번에 업데이트합니다.",
    },
}


def backprop(x, kernel, target, bias: float = 0.0):
    """The tiny convnet's pass: Conv2D(1, (3, 3)) with these weights, relu,
    2x2 max pooling, the loss, and each layer's backward trace."""
    return trace.trace_backprop_by_hand(x, kernel, target, np.full(1, bias),
                                        POOL, "relu", LOSS)


def make_example(size: int = SIZE[0], seed: int | None = None):
    """Pixels 0..3, a filter of -1, 0 and 1, and a target 2 or 4 away from each
    output, never below 0 (so every gradient is a small whole number). Drawn
    again until the example shows everything: a winner whose gradient relu
    lets through and, with two windows or more, one whose gradient it
    blocks."""
    rng = np.random.default_rng(0 if seed is None else seed)
    for _ in range(200):
        x = rng.integers(0, 4, (size, size, 1)).astype(np.float32)
        kernel = rng.integers(-1, 2, (3, 3)).astype(np.float32)
        p = backprop(x, kernel, None).outputs
        off = rng.choice([-4, -2, 2, 4], p.shape)
        target = np.where(p + off < 0, p - off, p + off)  # relu's p is never < 0
        done = backprop(x, kernel, target)
        pool_back, relu_back = done.backward[2], done.backward[1]
        passed = sum(relu_back.step(*w.winner, 0).passes for w in pool_back.windows)
        windows = len(pool_back.windows)
        if passed >= min(2, windows) and (windows < 2 or passed < windows):
            break
    return done


def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          model=None, image=None, *, console: Console | None = None) -> Lesson:
    """The frames of the lesson (nothing is drawn yet). With ``model`` or
    ``image``, three more frames before the last take a real network through
    the same steps (the book's MNIST convnet when only ``image`` is given,
    trained first if it never was: ``console`` shows the progress)."""
    done = make_example(size or SIZE[0], seed)
    conv_back, relu_back, pool_back = done.backward
    frames = [Frame(_network(done, lang), say(TEXT[lang]["intro"],
                                                       loss=num(done.loss)),
                    key=True, hold=5, data={"backprop": done})]
    frames.append(_loss(done, lang))
    frames += pool_backward_frames(pool_back, lang, intro=TEXT[lang]["pool_intro"])
    frames.append(_relu(relu_back, pool_back, lang))
    frames += _weights(conv_back, lang)
    frames += _inputs(conv_back, lang)
    frames += [_update(done, optimizer, lang) for optimizer in (
        optimizers.SGD(learning_rate=LEARNING_RATE), optimizers.RMSprop())]
    if model is not None or image is not None:
        subject = choose(model, image, console=console, seed=seed, lang=lang)
        frames += model_frames(subject, lang, name=None if model is None else str(
            model if isinstance(model, str) else getattr(model, "name", model)))
    frames.append(_outro(done, lang))
    return Lesson(NAME, TITLE[lang], frames, lang)


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, model=None, image=None,
        player: Player | None = None) -> PlayResult:
    """Play the lesson (as plain key frames unless a player says otherwise)."""
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size, model=model,
                             image=image, console=player.console))


# ---------------------------------------------------------------- the six steps


def _loss(done, lang: str) -> Frame:
    """Step 1: the loss and its gradient for each output, numbers filled in."""
    p, t = done.outputs[:, :, 0], done.target[:, :, 0]
    g, n = done.grad_outputs[:, :, 0], done.outputs.size
    lines = [f"dL/dp{view.at(r, c)} = 2 × ({num(p[r, c])} - {factor(t[r, c])}) / "
             f"{n} = {num(g[r, c])}" for r in range(p.shape[0])
             for c in range(p.shape[1])]
    squares = " + ".join(f"({num(a)} - {factor(b)})²" for a, b in zip(
        p.ravel(), t.ravel(), strict=True))
    caption = say(TEXT[lang]["loss"], squares=squares, n=n, loss=num(done.loss))
    ask = say(TEXT[lang]["ask_loss"], cell=view.at(0, 0), p=num(p[0, 0]),
              t=num(t[0, 0]), n=n)
    return Frame(view.loss_view(done, lines, lang), caption, key=True, hold=5,
                 question=Question(ask, number_check(float(g[0, 0])), num(g[0, 0]),
                                   say("{line}", line=lines[0])),
                 data={"grad_outputs": done.grad_outputs})


def _relu(bt, pool_back, lang: str) -> Frame:
    """Step 3: relu lets the gradient through only where z was positive."""
    t = TEXT[lang]
    winners = [bt.step(*w.winner, 0) for w in pool_back.windows]
    blocked = [s for s in winners if not s.passes and s.grad != 0]
    focus = (blocked or winners)[0]
    cell, z = view.at(*focus.cell[:2]), num(focus.pre_activation)
    note = (say(t["relu_blocked"], cell=cell, z=z, g=num(focus.grad)) if blocked
            else t["relu_pass"])
    caption = say(t["relu"], n=int((bt.inputs <= 0).sum()), note="") + note
    return Frame(view.relu_view(bt, lang=lang), caption, key=True, hold=6,
                 question=Question(say(t["ask_relu"], cell=cell, g=num(focus.grad),
                                       z=z), number_check(focus.layer_grad),
                                   num(focus.layer_grad), caption),
                 data={"relu": bt, "focus": focus})


def _weights(bt, lang: str) -> list[Frame]:
    """Step 4: dL/dw weight by weight, then the whole filter and the bias."""
    t, first = TEXT[lang], bt.weight(0, 0)
    frames = weight_frames(bt, lang, intro=say(
        t["weights_intro"], tap=view.at(0, 0), i=0, j=0, n=first.grads.size,
        k=int(np.count_nonzero(first.grads))))
    bias = bt.bias(0)
    diff = max(abs(s.total - s.layer_grad) for s in [*bt.weights, bias])
    same = t["same"] if diff == 0 else say(t["close"], diff=f"{diff:.1g}")
    frames.append(Frame(view.filter_grad_view(bt, lang),
                        say(t["weights_done"], b=num(bias.total), same=same),
                        key=True, hold=5, data={"bias": bias,
                                                "largest_difference": diff}))
    return frames


def _inputs(bt, lang: str) -> list[Frame]:
    """Step 5: dL/dx cell by cell, then the whole of it."""
    t = TEXT[lang]
    example = richest_cell(list(bt.cells))
    frames = cell_frames(bt, lang, intro=say(
        t["cells_intro"], cell=view.at(*example.cell[:2]), total=num(example.total)))
    pad = max(bt.forward.kernel.shape[:2]) - 1
    frames.append(Frame(view.input_grad_view(bt, lang), say(t["cells_done"], pad=pad),
                        key=True, hold=5, data={"grad_inputs": bt.grad_inputs}))
    return frames


def _update(done, optimizer, lang: str) -> Frame:
    """Step 6: one step of ``optimizer`` on the filter and the bias, shown for
    the weight with the largest gradient, and the loss with the new weights."""
    t, bt = TEXT[lang], done.backward[0]
    update = trace.trace_update(optimizer, [bt.forward.kernel, bt.forward.bias],
                                [bt.kernel_grad, bt.bias_grad])
    grads = np.abs(bt.kernel_grad[:, :, 0, 0])
    i, j = np.unravel_index(int(np.argmax(grads)), grads.shape)
    step, tap = update.step(0, i, j, 0, 0), view.at(i, j)
    loss_after = backprop(done.inputs[0], update.after[0],
                          done.target, float(update.after[1][0])).loss
    values = dict(tap=tap, lr=exact(step.learning_rate), before=num(step.before),
                  grad=factor(step.grad), after=exact(step.after),
                  l0=num(done.loss), l1=exact(loss_after))
    data = {"update": update, "step": step, "loss_after": loss_after}
    picture = view.update_view(update, step, (i, j), lang)
    if step.optimizer == "RMSprop":
        changed = np.abs(update.after[0] - update.before[0])[bt.kernel_grad != 0]
        caption = say(t["rmsprop"], v=exact(step.slots["velocity"]),
                      move=exact(np.median(changed)), **values)
        return Frame(picture, caption, key=True, hold=8, data=data)
    caption = say(t["sgd"], moved=t["fell" if loss_after < done.loss else "rose"],
                  **values)
    ask = say(t["ask_sgd"], **{**values, "grad": num(step.grad)})
    return Frame(picture, caption, key=True, hold=8, data=data, question=Question(
        ask, number_check(step.after, 1e-3), exact(step.after), caption))


def _outro(done, lang: str) -> Frame:
    """One training step of the book's MNIST run, in numbers."""
    from convsim.experiments.book_models import build_mnist_model

    batches, batch, epochs = math.ceil(60_000 / 64), 64, 5
    caption = say(TEXT[lang]["outro"], steps=f"{batches * epochs:,}", batches=batches,
                  batch=batch, epochs=epochs,
                  params=f"{build_mnist_model().count_params():,}")
    return Frame(_network(done, lang), caption, key=True, hold=6)


def _network(done, lang: str) -> Fit:
    """The network's forward pass, compact where the usual one does not fit."""
    return Fit(view.network_view(done, lang), view.network_view(done, lang, True))


def num(value) -> str:
    """A number as the grids show it (up to two decimals)."""
    return fmt_number(value)
