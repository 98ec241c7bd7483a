"""Lesson: translation — move a digit a few pixels and watch the trained convnet.

Run it::

    python -m convsim.lesson translation
    python -m convsim.lesson translation --quiz --lang ko
    python -m convsim.lesson translation --seed 3                # another digit
    python -m convsim.lesson translation --model m.keras --image seven.png

Your notes' first property of convnets: the patterns they learn are
translation invariant, learned in one place and recognised anywhere. Here the
trained MNIST convnet looks at a digit and at the same digit moved right or
down. The first layer's maps move with it, number for number (its filter is
the same everywhere); the pooled maps move by whole cells when the shift is a
multiple of their jump and otherwise keep many values; and the prediction is
measured, not assumed: the Dense layers give every position its own weights,
so this network trained on centred digits is not invariant to large shifts.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.text import Text

from convsim.errors import ArgumentError
from convsim.experiments.your_model import choose
from convsim.lesson.frames import Frame, Lesson, Question, number_check
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.models import load_model
from convsim.trace.shift import ShiftResult, compare_shift
from convsim.viz.conv_view import side_by_side
from convsim.viz.shift_view import (
    layers_table,
    map_view,
    maps_pair,
    percent,
    prob_table,
    probabilities,
    shifts_table,
)

NAME = "translation"
TITLE = {"en": "Translation invariance", "ko": "평행 이동 불변성"}
SUMMARY = {
    "en": "move a digit a few pixels: the feature maps move with it; does the "
          "trained convnet's prediction?",
    "ko": "숫자를 몇 픽셀 옮기면 특성 맵도 함께 움직입니다. 훈련된 컨브넷의 "
          "예측은 어떨까요?",
}
FPS = 0.4
SIZE = None
OPTIONS = {"model": ("FILE", "walk through a saved model instead"),
           "image": ("FILE", "your own image (PNG or JPEG)")}
SHIFT = 2  # the shift the maps are shown for, in pixels to the right
SHIFTS = (1, 2, 4, 6)  # the shifts the prediction is measured for

TEXT = {
    "en": {
        "intro": "Your notes: the patterns a convnet learns are translation "
                 "invariant, learned in one place and recognised anywhere. Let us "
                 "test it. Model: {model}. Image: {image}. It says {pred} ({p}).",
        "book_model": "the book's MNIST convnet, trained on convsim's 4,000 "
                      "bundled digits",
        "your_model": "your model {path}",
        "bundled": "a bundled test digit (a {label})", "your_image": "{path}",
        "moved": "The same image moved {d} right: zeros come in on the left, "
                 "nothing else changes. Watch the layers.",
        "conv": "{layer}, filter {f}: the same picture, {c} to the right. "
                "Inside the frame the moved image's map equals the old map moved "
                "by {c}, in all {n} maps (largest difference: {diff}). Outside it the "
                "windows see the zeros that came in. One filter, applied at every "
                "position: a pattern it finds in one place it finds anywhere.",
        "ask_cells": "The image moved {d} right. By how many cells does the "
                     "first layer's map move?",
        "pool": "{layer}: its cells start {j} apart, so {d} are {c}: inside the "
                "frame its maps moved by exactly that (largest difference: {diff}). "
                "A shift of 1 pixel is less than a cell: the map cannot move by "
                "part of a cell, yet {layer} keeps {kept} of its lit cells, against "
                "{conv_kept} for the first layer's map.",
        "layers": "Layer by layer: a shift that is a multiple of a layer's jump "
                  "moves its maps by whole cells, exactly; any other shift changes "
                  "them. After a 1-pixel move the first layer keeps {first} of its "
                  "lit cells and {best} keeps {kept}: pooling keeps the largest "
                  "value of each window, which often stays in the window. The "
                  "deeper the layer, the larger its jump.",
        "probs": "The prediction for the image moved {d}: {before} → {after}. "
                 "The maps moved, but Flatten gives every cell its own place and "
                 "Dense its own weights: moved features arrive on other weights.",
        "ask_pred": "The image moves {d} right. Will the model still say "
                    "{label}? (y/n)",
        "shifts": "Measured: {verdicts} {ending}",
        "changed": "The convolutions find the patterns anywhere; the whole "
                   "network is not invariant.",
        "held": "For this image the prediction held at every shift measured: "
                "that is this model on this image, not a promise for others.",
        "verdict": "moved {way}, it says {label} up to {held}{then}.",
        "verdict_none": "moved {way}, it no longer says {label} even at 1 pixel"
                        "{then}.",
        "then": "; at {d} it says {pred}",
        "pixels": "{n} pixel", "pixels_many": "{n} pixels",
        "cells": "{n} cell", "cells_many": "{n} cells",
        "right": "right", "down": "down",
        "outro_yours": "The convolution gives every pattern translation "
                       "invariance: its maps move with the image. Whether the whole "
                       "model keeps its answer depends on what its Dense layers "
                       "learnt; the book teaches a model moved images with data "
                       "augmentation (width_shift_range, height_shift_range).",
        "outro": "Why? This convnet only ever saw centred digits (MNIST centres "
                 "them), and its Dense layers learnt where the features of a "
                 "centred digit land. Translation invariance is what the "
                 "convolution gives each pattern; the book teaches the whole model "
                 "moved digits and photos with data augmentation "
                 "(width_shift_range, height_shift_range).",
        "original": "original", "moved_title": "moved {d} →",
    },
    "ko": {
        "intro": "노트에 따르면 컨브넷이 학습한 패턴은 평행 이동 불변성을 가집니다: 한 "
                 "곳에서 학습한 패턴을 어디서든 알아봅니다. 직접 확인해 봅시다. "
                 "모델: {model}. 이미지: {image}. 예측: {pred} ({p}).",
        "book_model": "책의 MNIST 컨브넷 (convsim에 들어 있는 숫자 4,000개로 훈련)",
        "your_model": "저장한 모델 {path}",
        "bundled": "번들 테스트 숫자 (정답 {label})", "your_image": "{path}",
        "moved": "같은 이미지를 오른쪽으로 {d} 옮겼습니다: 왼쪽에서 0이 들어오고, "
                 "나머지는 그대로입니다. 층마다 살펴봅시다.",
        "conv": "{layer} 층, 필터 {f}: 같은 그림이 오른쪽으로 {c} 옮겨졌습니다. "
                "테두리 안에서는 옮긴 이미지의 맵이 원래 맵을 {c} 옮긴 것과 같습니다"
                "(맵 {n}개 모두, 가장 큰 차이: {diff}). 테두리 밖의 윈도우는 새로 "
                "들어온 0을 봅니다. 필터 하나를 모든 위치에 적용하므로, 한 곳에서 찾은 "
                "패턴을 어디서든 찾습니다.",
        "ask_cells": "이미지를 오른쪽으로 {d} 옮겼습니다. 첫 번째 층의 맵은 몇 칸 "
                     "움직일까요?",
        "pool": "{layer} 층: 칸의 시작점이 {j} 간격이므로 {d}(은)는 {c}입니다: "
                "테두리 안에서 맵이 정확히 그만큼 움직였습니다(가장 큰 차이: "
                "{diff}). 1픽셀 이동은 한 칸보다 작습니다: 맵은 칸의 일부만큼 움직일 "
                "수 없지만, {layer} 층은 밝은 칸의 {kept}(을)를 유지합니다(첫 번째 "
                "층의 맵은 {conv_kept}).",
        "layers": "층별로 보면: 층의 간격의 배수만큼 옮기면 맵이 정확히 몇 칸 "
                  "움직이고, 그렇지 않으면 값이 바뀝니다. 1픽셀 이동 뒤 첫 번째 층은 "
                  "밝은 칸의 {first}, {best} 층은 {kept}(을)를 유지합니다: 풀링은 "
                  "윈도우마다 가장 큰 값을 남기는데, 그 값은 조금 움직여도 같은 "
                  "윈도우 안에 있기 쉽습니다. 깊은 층일수록 간격이 큽니다.",
        "probs": "{d} 옮긴 이미지의 예측: {before} → {after}. 맵은 함께 움직였지만, "
                 "Flatten은 칸마다 자리를, Dense는 자리마다 가중치를 따로 둡니다: "
                 "움직인 특성은 다른 가중치로 들어갑니다.",
        "ask_pred": "이미지를 오른쪽으로 {d} 옮깁니다. 모델의 예측은 여전히 "
                    "{label}일까요? (y/n)",
        "shifts": "측정 결과: {verdicts} {ending}",
        "changed": "합성곱은 패턴을 어디서든 찾지만, 네트워크 전체는 평행 이동 불변이 "
                   "아닙니다.",
        "held": "이 이미지에서는 측정한 모든 이동에서 예측이 그대로였습니다: 이 모델과 "
                "이 이미지의 결과일 뿐, 다른 이미지에 대한 약속은 아닙니다.",
        "verdict": "{way}(으)로 옮기면 {held}까지 예측 {label}{then}.",
        "verdict_none": "{way}(으)로 옮기면 1픽셀에서 벌써 예측이 {label}에서 "
                        "바뀝니다{then}.",
        "then": ", {d}에서는 예측 {pred}",
        "pixels": "{n}픽셀", "pixels_many": "{n}픽셀",
        "cells": "{n}칸", "cells_many": "{n}칸",
        "right": "오른쪽", "down": "아래쪽",
        "outro_yours": "합성곱은 각 패턴에 평행 이동 불변성을 줍니다: 맵이 이미지와 "
                       "함께 움직입니다. 모델 전체가 답을 지키는지는 Dense 층이 무엇을 "
                       "학습했는지에 달려 있습니다. 책은 데이터 "
                       "증식(width_shift_range, height_shift_range)으로 모델에 옮긴 "
                       "이미지를 가르칩니다.",
        "outro": "왜 그럴까요? 이 컨브넷은 가운데 놓인 숫자만 보았고(MNIST는 숫자를 "
                 "가운데에 놓습니다), Dense 층은 가운데 숫자의 특성이 놓이는 자리를 "
                 "학습했습니다. 평행 이동 불변성은 합성곱이 각 패턴에 주는 "
                 "성질입니다. 책은 데이터 증식(width_shift_range, "
                 "height_shift_range)으로 모델 전체에 옮긴 숫자와 사진을 가르칩니다.",
        "original": "원본", "moved_title": "{d} 이동 →",
    },
}


# ---------------------------------------------------------------- numbers
def _count(key: str, n: int, lang: str) -> str:
    """``'1 pixel'``, ``'2 pixels'``; ``'2픽셀'``."""
    return TEXT[lang][key if n == 1 else key + "_many"].format(n=n)


def verdicts(runs: dict, names, label: int, lang: str) -> str:
    """One sentence per direction: how far the prediction holds, and what it
    becomes after that."""
    words, sentences = TEXT[lang], []
    for way in ("right", "down"):
        preds = [(d, int(np.argmax(probabilities(r.after))))
                 for (w, d), r in runs.items() if w == way and d]
        held = next((i for i, (_, p) in enumerate(preds) if p != label),
                    len(preds))
        then = "".join(say(words["then"], d=_count("pixels", d, lang),
                           pred=names[p]) for d, p in preds[held:])
        sentences.append(say(
            words["verdict" if held else "verdict_none"], way=words[way],
            label=names[label], then=then,
            held=_count("pixels", preds[held - 1][0], lang) if held else ""))
    return " ".join(s[0].upper() + s[1:] for s in sentences)


# ---------------------------------------------------------------- the frames
def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          model: str | None = None, image: str | None = None) -> Lesson:
    """Frames for the trained MNIST convnet and a bundled digit, or for your
    ``model`` and ``image`` files."""
    words = TEXT[lang]
    subject = choose(_model(model, image), image, seed=seed, lang=lang)
    cache: dict = {}

    def moved(down: int, right: int) -> ShiftResult:
        if (down, right) not in cache:
            cache[down, right] = compare_shift(subject.model, subject.image, down,
                                               right)
        return cache[down, right]

    main = moved(0, SHIFT)
    probs = probabilities(main.before)
    names = [str(i) for i in range(probs.size)]
    label = subject.label if subject.label is not None else int(np.argmax(probs))
    intro = say(words["intro"], model=_model_words(model, lang),
                image=_image_words(image, label, lang),
                pred=names[int(np.argmax(probs))], p=percent(float(probs.max())))
    view = side_by_side(map_view(main.image.mean(axis=2), None, words["original"],
                                 1.0), prob_table(probs, None, names, lang=lang),
                        gap=1)
    frames = [Frame(view, intro, key=True, hold=3, data={"subject": subject})]
    frames += map_frames(main, moved, lang)
    frames += prediction_frames(main, moved, names, label, lang,
                                "outro" if model is None else "outro_yours")
    return Lesson(NAME, TITLE[lang], frames, lang)


def map_frames(main: ShiftResult, moved, lang: str) -> list[Frame]:
    """The moved digit, the first layer's maps, the first pooled maps, and
    every map layer for a 1-pixel and a SHIFT-pixel move."""
    words = TEXT[lang]
    d = _count("pixels", SHIFT, lang)
    first = main.maps[0]
    channel = int(first.before.mean(axis=(0, 1)).argmax())  # its strongest map
    cells = first.cells[1] if first.cells else 0
    frames = [
        Frame(side_by_side(map_view(main.image.mean(axis=2), None,
                                    words["original"], 1.0),
                           map_view(main.moved.mean(axis=2), None,
                                    say(words["moved_title"], d=d), 1.0), gap=1),
              say(words["moved"], d=d), key=True, hold=2),
        Frame(maps_pair(first, channel, d, lang), say(
            words["conv"], layer=f"'{first.name}'", f=channel, d=d,
            c=_count("cells", cells, lang), n=first.before.shape[-1],
            diff=f"{first.max_difference:g}"), key=True, hold=4,
            question=Question(say(words["ask_cells"], d=d), number_check(cells),
                              str(cells)),
            data={"layer": first, "shift": main, "channel": channel})]
    one = moved(0, 1)
    coarse = next((i for i, m in enumerate(main.maps) if m.jump[1] > 1), None)
    if coarse is not None:
        pooled = moved(0, main.maps[coarse].jump[1]).maps[coarse]
        if pooled.cells is not None:
            frames.append(_pool_frame(pooled, one.maps[coarse], one.maps[0], lang))
    best = max(one.maps[1:] or one.maps, key=lambda m: m.kept)
    frames.append(Frame(layers_table(one, main, lang), say(
        words["layers"], first=f"{one.maps[0].kept:.0%}", best=f"'{best.name}'",
        kept=f"{best.kept:.0%}"), key=True, hold=4, data={"one": one,
                                                          "main": main}))
    return frames


def _pool_frame(pooled, pooled_one, first_one, lang: str) -> Frame:
    """The first layer whose cells start more than a pixel apart."""
    words, j = TEXT[lang], pooled.jump[1]
    channel = int(pooled.before.mean(axis=(0, 1)).argmax())
    text = say(words["pool"], layer=f"'{pooled.name}'",
               j=_count("pixels", j, lang), d=_count("pixels", j, lang),
               c=_count("cells", pooled.cells[1], lang),
               diff=f"{pooled.max_difference:g}", kept=f"{pooled_one.kept:.0%}",
               conv_kept=f"{first_one.kept:.0%}")
    return Frame(maps_pair(pooled, channel, _count("pixels", j, lang), lang), text,
                 key=True, hold=4,
                 data={"pooled": pooled, "pooled_one": pooled_one,
                       "first_one": first_one})


def prediction_frames(main: ShiftResult, moved, names, label: int, lang: str,
                      outro: str = "outro") -> list[Frame]:
    """The probabilities before and after, then the prediction for every
    shift in SHIFTS, right and down, then why."""
    words = TEXT[lang]
    before, after = probabilities(main.before), probabilities(main.after)
    height, width = main.image.shape[:2]
    runs = {}
    for way in ("right", "down"):
        for d in SHIFTS:
            if d < (width if way == "right" else height):
                runs[way, d] = moved(0, d) if way == "right" else moved(d, 0)
    ask = SHIFTS[2] if len(SHIFTS) > 2 else SHIFTS[-1]
    asked = runs.get(("right", ask))
    question = None
    if asked is not None:
        holds = int(np.argmax(probabilities(asked.after))) == label
        question = Question(say(words["ask_pred"], d=_count("pixels", ask, lang),
                                label=names[label]), _yes_no(holds),
                            "y" if holds else "n")
    probs_text = say(words["probs"], d=_count("pixels", SHIFT, lang),
                     before=f"{names[int(np.argmax(before))]} "
                            f"({percent(float(before.max()))})",
                     after=f"{names[int(np.argmax(after))]} "
                           f"({percent(float(after.max()))})")
    changed = any(int(np.argmax(probabilities(r.after))) != label
                  for r in runs.values())
    ending = words["changed" if changed else "held"]
    return [
        Frame(prob_table(before, after, names, _count("pixels", SHIFT, lang), lang),
              probs_text, key=True,
              hold=4, data={"before": before, "after": after}),
        Frame(shifts_table(runs, names, label, lang), say(
            words["shifts"], verdicts=verdicts(runs, names, label, lang),
            ending=ending),
              key=True, hold=6, question=question, data={"runs": runs,
                                                         "label": label}),
        Frame(_far_view(runs, names, lang), words[outro], key=True, hold=6),
    ]


def _far_view(runs: dict, names, lang: str):
    """The digit moved furthest right and down, each with its prediction."""
    pictures = []
    for way, arrow in (("right", "→"), ("down", "↓")):
        far = max((d for w, d in runs if w == way), default=None)
        if far is not None:
            result = runs[way, far]
            pred = names[int(np.argmax(probabilities(result.after)))]
            title = f"{arrow} {_count('pixels', far, lang)}: {pred}"
            pictures.append(map_view(result.moved.mean(axis=2), None, title, 1.0))
    return side_by_side(*pictures, gap=1) if pictures else Text("")


def _model(model, image):
    """The model at ``model`` (None: the trained MNIST convnet), checked to
    take the bundled 28×28 digits when no ``image`` is given."""
    if model is None or image is not None:
        return model
    net = load_model(model)
    shape = tuple(net.input.shape[1:])
    if shape != (28, 28, 1):
        raise ArgumentError(f"The model in {model!r} takes images of shape {shape}, "
                            "and the bundled digits are (28, 28, 1): give one of "
                            "your images with --image FILE.")
    return net


def _yes_no(answer: bool):
    yes, no = {"y", "yes", "예", "네", "응"}, {"n", "no", "아니오", "아니요", "아니"}
    return lambda text: text.strip().lower() in (yes if answer else no)


def _model_words(model, lang: str) -> str:
    words = TEXT[lang]
    return words["book_model"] if model is None else say(words["your_model"],
                                                         path=model)


def _image_words(image, label: int, lang: str) -> str:
    words = TEXT[lang]
    return (say(words["bundled"], label=label) if image is None
            else say(words["your_image"], path=image))


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, model: str | None = None, image: str | None = None,
        player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size, model=model,
                             image=image))
