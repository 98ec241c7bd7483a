"""Lesson: dropout — half the units switched off at random, in training only.

Run it::

    python -m convsim.lesson dropout
    python -m convsim.lesson dropout --quiz --lang ko
    python -m convsim.lesson dropout --seed 3 --size 12

The book: dropout, one of the most effective and most used ways to fight
overfitting, was introduced by Geoffrey Hinton. During training a Dropout
layer sets each of its inputs to zero with probability ``rate`` and
multiplies the others by ``1 / (1 - rate)``, drawing a new random mask at
every step; when the model predicts, it passes everything through unchanged.
The book's cats-vs-dogs convnet adds ``Dropout(0.5)`` right after Flatten,
before the Dense(512) layer. Every number here comes from a real convsim
``Dropout`` layer called with ``training=True`` or ``training=False``.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from convsim import layers
from convsim.experiments.book_models import build_cats_model
from convsim.layers.graph import fresh_names
from convsim.lesson.frames import Frame, Lesson, Question, number_check
from convsim.lesson.layout import Fit
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.viz.conv_view import side_by_side
from convsim.viz.grid import Grid, fmt_number

NAME = "dropout"
TITLE = {"en": "Dropout", "ko": "드롭아웃"}
SUMMARY = {
    "en": "Dropout(0.5) in training: half the units zeroed at random, the rest "
          "doubled; a new mask every step; nothing changes when predicting",
    "ko": "훈련 중 Dropout(0.5): 유닛 절반을 무작위로 0으로, 나머지는 두 배로; "
          "스텝마다 새 마스크; 예측할 때는 그대로",
}
FPS = 0.5
SIZE = (8, 4, 12)  # how many units the example layer outputs
RATE = 0.5  # the book's Dropout(0.5)
#: The example: one sample's output of the layer before Dropout.
VECTOR = (0.8, 0.3, 1.2, 0.5, 0.9, 0.4, 1.1, 0.6)
#: The Dropout layer's seed when --seed is not given: its first mask keeps the
#: 0.8 of VECTOR, so the lesson can show 0.8 -> 1.6.
LAYER_SEED = 8
DRAWS = 10_000  # training steps averaged to show the expected sum

TEXT = {
    "en": {
        "intro": "One sample's output of a layer: {n} numbers. The book puts a "
                 "Dropout({rate}) layer after such a layer (in the cats-vs-dogs "
                 "convnet, right after Flatten) to fight overfitting. Watch what "
                 "it does in training, and what it does when predicting.",
        "step": "Training step {i}: Dropout({rate}) draws a random mask. {dropped} "
                "of the {n} units become 0 (each with probability {rate}); the "
                "other {kept} are multiplied by 1/(1 − {rate}) = {scale}: {v} → {w}.",
        "ask_kept": "A unit that is kept held {v}. What does it hold after "
                    "Dropout({rate}) in training?",
        "expected": "Why multiply by {scale}? Each unit survives with probability "
                    "1 − {rate}, so on average its output is (1 − {rate}) × {scale} "
                    "× its value = its value. Over {draws} training steps each unit's "
                    "mean is close to its input, and the sum stays about {total} "
                    "(this step: {this}; the mean of {draws} steps: {mean}). So the "
                    "next layer sees numbers of the same size in training and when "
                    "predicting.",
        "step2": "Training step {i}: a new mask; {changed} of the {n} units changed "
                 "from kept to dropped or back. Every step trains a different "
                 "thinned network, and no unit can count on a particular other "
                 "unit being there.",
        "predict": "Predicting (model.predict, model.evaluate: training=False): the "
                   "layer passes every number through unchanged, {v} stays {v}. All "
                   "units "
                   "work together. The book shows two ways to keep the sizes equal: "
                   "multiply by 1 − {rate} when predicting, or, as Keras and convsim "
                   "do, by {scale} in training, so predicting needs nothing.",
        "ask_predict": "And when the model predicts: what does the layer output "
                       "for {v}?",
        "why": "Why it helps (the book): noise in a layer's outputs breaks up "
               "patterns that are there by chance, the 'conspiracies' Hinton "
               "speaks of, which the network would otherwise memorise: less "
               "overfitting. In the book's convnet, {layers}: in this training "
               "step its Dropout({rate}) zeroed {dropped} of the {features} "
               "features Flatten hands to Dense({units}).",
        "ask_cats": "The cats-vs-dogs convnet's Flatten gives {features} features "
                    "and its Dropout has rate {rate}. About how many are zeroed in "
                    "one training step?",
        "cats_explain": "Each one with probability {rate}: about {rate} × "
                        "{features} = {expected}.",
        "inputs": "layer output", "mask": "mask (0 or {scale})",
        "train": "training step {i}", "test": "predicting",
        "means": "mean of {draws} steps",
        "counts": "this step: {kept} kept (×{scale}), {dropped} set to 0",
        "legend": "green (< > in plain text): kept, ×{scale}   0: dropped",
    },
    "ko": {
        "intro": "어떤 층이 샘플 하나에 대해 출력한 숫자 {n}개입니다. 책은 과대적합을 "
                 "막으려고 이런 층 뒤에 Dropout({rate}) 층을 둡니다(개 vs 고양이 "
                 "컨브넷에서는 Flatten 바로 뒤). 훈련할 때와 예측할 때 이 층이 무엇을 "
                 "하는지 봅시다.",
        "step": "훈련 스텝 {i}: Dropout({rate}) 층이 무작위 마스크를 뽑습니다. 유닛 "
                "{n}개 중 {dropped}개가 0이 되고(각각 확률 {rate}), 나머지 {kept}개는 "
                "1/(1 − {rate}) = {scale}배가 됩니다: {v} → {w}.",
        "ask_kept": "남은 유닛의 값: {v}. 훈련 중 Dropout({rate}) 층을 지나면 값은 "
                    "얼마일까요?",
        "expected": "왜 {scale}배를 할까요? 각 유닛은 확률 1 − {rate}(으)로 남으므로, "
                    "평균 출력은 (1 − {rate}) × {scale} × 값 = 값입니다. 훈련 스텝 "
                    "{draws}번에 걸친 각 유닛의 평균은 입력과 가깝고, 합도 거의 "
                    "그대로입니다(입력의 합: {total}, 이번 스텝: {this}, {draws}번의 "
                    "평균: {mean}). 그래서 다음 층은 훈련할 때와 예측할 때 같은 크기의 "
                    "숫자를 받습니다.",
        "step2": "훈련 스텝 {i}: 새 마스크입니다. 유닛 {n}개 중 {changed}개가 남음과 "
                 "0 사이에서 바뀌었습니다. 스텝마다 다른 작은 네트워크를 훈련하므로, "
                 "어떤 유닛도 특정한 다른 유닛이 있으리라 기댈 수 없습니다.",
        "predict": "예측할 때(model.predict, model.evaluate: training=False): 층은 "
                   "모든 숫자를 그대로 통과시킵니다, {v} → {v}. 모든 유닛이 함께 "
                   "일합니다. 책은 크기를 맞추는 두 가지 방법을 보여 줍니다: 예측할 때 "
                   "1 − {rate}배를 하거나, 케라스와 convsim처럼 훈련할 때 {scale}배를 "
                   "해서 예측할 때는 아무것도 하지 않습니다.",
        "ask_predict": "그러면 모델이 예측할 때 이 층은 {v}에 대해 무엇을 "
                       "출력할까요?",
        "why": "왜 도움이 될까요(책의 설명): 층의 출력에 잡음을 넣으면 우연히 생긴, "
               "중요하지 않은 패턴(힌튼이 '음모'라고 부른 것)이 깨집니다. 잡음이 "
               "없으면 네트워크가 이런 패턴을 외워 버리므로, 드롭아웃은 과대적합을 "
               "줄여 줍니다. 책의 컨브넷 {layers}: 이번 훈련 스텝에서 "
               "Dropout({rate}) 층이, Flatten 층이 Dense({units}) 층에 넘기는 특성 "
               "{features}개 중 {dropped}개를 0으로 만들었습니다.",
        "ask_cats": "개 vs 고양이 컨브넷의 Flatten은 특성 {features}개를 만들고 "
                    "Dropout 비율은 {rate}입니다. 훈련 스텝 한 번에 대략 몇 개가 0이 "
                    "될까요?",
        "cats_explain": "각각 확률 {rate}: 약 {rate} × {features} = "
                        "{expected}개.",
        "inputs": "층의 출력", "mask": "마스크 (0 또는 {scale})",
        "train": "훈련 스텝 {i}", "test": "예측",
        "means": "{draws}번의 평균",
        "counts": "이번 스텝: {kept}개 남음(×{scale}), {dropped}개는 0",
        "legend": "초록(일반 텍스트에서는 < >): 남음, ×{scale}   0: 드롭아웃",
    },
}


def make_vector(size: int | None = None, seed: int | None = None) -> np.ndarray:
    """The example outputs: VECTOR, or (another size or --seed) numbers from
    0.1 to 1.5, none of them 0 so that every 0 after dropout is a dropped unit."""
    n = size or SIZE[0]
    if seed is None and n == len(VECTOR):
        return np.array(VECTOR, np.float32)
    rng = np.random.default_rng(0 if seed is None else seed)
    return (rng.integers(1, 16, n) / 10).astype(np.float32)


def vectors(rows, kept=None) -> Fit:
    """Named rows of numbers, one column per unit, lined up; the last row's
    ``kept`` units marked (green, or ``< >`` in plain text). Where the units
    do not fit across the screen, the second half goes below the first."""
    values = np.stack([np.asarray(v, dtype=np.float32) for _, v in rows])
    chosen = np.zeros(values.shape, bool)
    if kept is not None:
        chosen[-1] = kept
    names = Text("\n".join(name for name, _ in rows), style="bold")

    def block(part: slice) -> Table:
        return side_by_side(names, Grid(values[:, part], chosen=chosen[:, part],
                                        labels=False), gap=1)

    half = (values.shape[1] + 1) // 2
    return Fit(lambda: block(slice(None)),
               lambda: Group(block(slice(None, half)), block(slice(half, None))))


def step_view(x, mask, y, title: str, lang: str) -> Group:
    """The layer's input, the mask it drew and its output."""
    words, scale = TEXT[lang], fmt_number(1 / (1 - RATE))
    return Group(vectors([(words["inputs"], x),
                          (say(words["mask"], scale=scale), mask), (title, y)],
                         kept=y != 0),
                 Text(say(words["legend"], scale=scale), style="grey50"))


# ---------------------------------------------------------------- the frames
def build(lang: str = "en", seed: int | None = None, size: int | None = None
          ) -> Lesson:
    """Frames from a real Dropout(RATE) layer on one sample's outputs."""
    words = TEXT[lang]
    x = make_vector(size, seed)
    layer = layers.Dropout(RATE, seed=LAYER_SEED if seed is None else seed)
    first = layer(x[None], training=True)[0]
    second = layer(x[None], training=True)[0]
    predicted = layer(x[None], training=False)[0]
    frames = [Frame(vectors([(words["inputs"], x)]), say(words["intro"], n=x.size,
                                                  rate=RATE), key=True, hold=2,
                    data={"inputs": x})]
    frames.append(_step_frame(x, first, 1, lang))
    frames.append(_expected_frame(x, first, layer, lang))
    changed = int(((first != 0) != (second != 0)).sum())
    frames.append(Frame(step_view(x, _mask(x, second), second,
                                  say(words["train"], i=2), lang),
                        say(words["step2"], i=2, changed=changed, n=x.size),
                        key=True, hold=3,
                        data={"outputs": second, "changed": changed}))
    v = fmt_number(x[0])
    frames.append(Frame(vectors([(words["inputs"], x), (words["test"], predicted)]),
                        say(words["predict"], v=v, rate=RATE,
                            scale=fmt_number(1 / (1 - RATE))), key=True, hold=3,
                        question=Question(say(words["ask_predict"], v=v),
                                          number_check(float(x[0])), v),
                        data={"predicted": predicted}))
    frames.append(_cats_frame(seed, lang))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _mask(x, y) -> np.ndarray:
    """The mask the layer multiplied by: its output over its input."""
    return y / x


def _step_frame(x, y, i: int, lang: str) -> Frame:
    words = TEXT[lang]
    kept = y != 0
    k = int(np.argmax(kept)) if kept.any() else 0
    v, w = fmt_number(x[k]), fmt_number(y[k] if kept.any() else x[k] * 2)
    scale = fmt_number(1 / (1 - RATE))
    return Frame(step_view(x, _mask(x, y), y, say(words["train"], i=i), lang),
                 say(words["step"], i=i, rate=RATE, dropped=int((~kept).sum()),
                     kept=int(kept.sum()), n=x.size, scale=scale, v=v, w=w),
                 key=True, hold=4,
                 question=Question(say(words["ask_kept"], v=v, rate=RATE),
                                   number_check(float(x[k]) / (1 - RATE)),
                                   fmt_number(float(x[k]) / (1 - RATE))),
                 data={"outputs": y, "kept": kept, "example": k})


def _expected_frame(x, y, layer, lang: str) -> Frame:
    """DRAWS training steps of a layer like ``layer`` (its own seed, so the
    lesson's layer draws its second mask as it would have)."""
    words = TEXT[lang]
    twin = layers.Dropout.from_config({**layer.get_config(),
                                       "seed": (layer.seed or 0) + 1})
    steps = twin(np.repeat(x[None], DRAWS, axis=0), training=True)
    means = steps.mean(axis=0)
    sums = steps.sum(axis=1, dtype=np.float64)
    view = vectors([(words["inputs"], x),
                    (say(words["means"], draws=f"{DRAWS:,}"), np.round(means, 2))])
    return Frame(view, say(words["expected"], scale=fmt_number(1 / (1 - RATE)),
                           rate=RATE, draws=f"{DRAWS:,}",
                           total=fmt_number(float(x.sum(dtype=np.float64))),
                           this=fmt_number(float(y.sum(dtype=np.float64))),
                           mean=fmt_number(float(sums.mean()))),
                 key=True, hold=5, data={"means": means, "sums": sums})


def _cats_frame(seed: int | None, lang: str) -> Frame:
    """The book's cats-vs-dogs convnet with Dropout(0.5): one training step of
    its Dropout layer (the same config, with a seed) on Flatten's output."""
    words = TEXT[lang]
    with fresh_names():
        model = build_cats_model(dropout=True)
    chain = [layer for layer in model.layers
             if not isinstance(layer, layers.InputLayer)]
    at = next(i for i, layer in enumerate(chain)
              if isinstance(layer, layers.Dropout))
    flatten, dropout, dense = chain[at - 1], chain[at], chain[at + 1]
    features = int(flatten.output.shape[-1])  # 7*7*128 for 150×150 photos
    twin = layers.Dropout.from_config({**dropout.get_config(),
                                       "seed": LAYER_SEED if seed is None else seed})
    out = twin(np.ones((1, features), np.float32), training=True)[0]
    dropped = int((out == 0).sum())
    names = (f"{flatten.name} ({features:,}) → {dropout.name} ({dropout.rate:g}) → "
             f"{dense.name} ({dense.units})")
    expected = round(dropout.rate * features)
    question = Question(say(words["ask_cats"], features=f"{features:,}",
                            rate=f"{dropout.rate:g}"),
                        number_check(dropped, tolerance=0.05 * features),
                        f"{dropped:,}", say(words["cats_explain"],
                                            rate=f"{dropout.rate:g}",
                                            features=f"{features:,}",
                                            expected=f"{expected:,}"))
    counts = Text.assemble("  ", (say(words["counts"], kept=f"{features - dropped:,}",
                                      dropped=f"{dropped:,}",
                                      scale=fmt_number(1 / (1 - dropout.rate))),
                                  "grey70"))
    return Frame(Group(Text("  " + names, style="bold"), counts),
                 say(words["why"], layers=names, rate=f"{dropout.rate:g}",
                     dropped=f"{dropped:,}", features=f"{features:,}",
                     units=dense.units),
                 key=True, hold=6, question=question,
                 data={"dropped": dropped, "features": features,
                       "rate": dropout.rate})


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size))
