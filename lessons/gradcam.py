"""Lesson: gradcam — where a trained convnet looked for its answer.

Run it::

    python -m convsim.lesson gradcam
    python -m convsim.lesson gradcam --seed 3 --lang ko
    python -m convsim.lesson gradcam --model dog_and_cant.h5 --image cc.png
    python -m convsim.lesson gradcam --target 4 --save cam.png

The book (5.4.3) ends chapter 5 with a class activation map (CAM): a heat
map over the input saying how much each place speaks for one class. Grad-CAM
builds it from the last convolution layer: the gradient of the class's score
says how much each of that layer's maps matters, the maps weighted by it and
averaged say where (:mod:`convsim.trace.gradcam`, with gradients from the
model's own layers, :mod:`convsim.trace.gradients`). It answers the question
the book asks of its elephant photo: did the network decide for the right
reasons?

The model is the book's MNIST convnet trained on the bundled digits and a
bundled test digit, or ``--model FILE`` and ``--image FILE`` (your notes'
cats-vs-dogs model and cc.png). ``--target`` explains another class than the
predicted one.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np
from rich.console import Console, Group
from rich.text import Text

from convsim.errors import ArgumentError
from convsim.lesson.frames import Frame, Lesson, Question, ints_check
from convsim.lesson.layout import fit_frames
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.trace.gradcam import ClassMap, grad_cam, predicted_class
from convsim.trace.gradients import model_layers
from convsim.viz.conv_view import side_by_side
from convsim.viz.figures import save_class_map_figure
from convsim.viz.image import Heatmap
from convsim.viz.picture import blend, enlarge, heat_picture, jet, photo_picture, to_rgb

from ._trained import class_name, is_path, model_words, target_class, trained_model

NAME = "gradcam"
TITLE = {"en": "Class activation map (Grad-CAM)", "ko": "클래스 활성화 맵 (Grad-CAM)"}
SUMMARY = {
    "en": "where a trained convnet looked: the class score's gradient weighs the "
          "last conv layer's maps into a heat map over the image",
    "ko": "훈련된 컨브넷이 어디를 보았나: 클래스 점수의 기울기로 마지막 합성곱 층의 "
          "특성 맵에 가중치를 주어 이미지 위의 히트맵으로",
}
FPS = 0.5
SIZE = (28, 16, 72)  # pixels per side of each picture drawn in the terminal
OPTIONS = {"model": ("FILE", "your trained model (convsim or Keras file)"),
           "image": ("PATH", "your own image"),
           "target": ("CLASS", "the class to explain (default: the predicted one)")}

ALPHA = 0.4  # the book lays the heat map over the image at 0.4
SHOWN_CHANNELS = 3  # the maps that matter most, drawn in the first steps

TEXT = {
    "en": {
        "intro": "{model}; {image}. Its answer: {answer}. Where in the image "
                 "did that answer come from? The book's class activation map "
                 "(Grad-CAM) finds out with a gradient.",
        "maps": "Step 1. The last convolution layer, {layer}, turns the image "
                "into {h}×{w}×{k} feature maps: each says where one learned "
                "pattern is. Here the {n} that matter most for {cls}.",
        "weights": "Step 2. The gradient of {cls}'s score ({score}, before the "
                   "{squash}) with respect to each map: how much the score would "
                   "rise if a cell grew. Its mean over the {h}×{w} cells is the "
                   "channel's weight: {low} to {high} here.",
        "sum": "Step 3. Weight every map and average them: orange cells speak "
               "for {cls} ({pos} of the {cells} here), blue ones against. ReLU "
               "keeps the orange; dividing by the largest ({peak}) puts the map "
               "in 0 to 1.",
        "nothing": "Step 3. Weight every map and average them: no cell speaks "
                   "for {cls} (all are 0 or less), so after ReLU the map is all "
                   "zeros; there is nothing to divide by, and nothing to show.",
        "ask": "How big are the feature maps of the last convolution layer, "
               "{layer}, for this {H}×{W} image? (rows×columns) The heat map "
               "will have one cell per position.",
        "explain": "Layer by layer: {chain}.",
        "stretch": "Step 4. Stretched to the image's {H}×{W} pixels by bilinear "
                   "interpolation (as the book's cv2.resize): each cell's value "
                   "sits at its centre and blends linearly into its neighbours'.",
        "overlay": "Where the model found evidence for {cls}: the heat "
                   "map in the book's jet colours (blue cold, red hot) over the "
                   "image at {alpha}. {hot}",
        "hot": "The hottest cell, row {i} and column {j} of the {h}×{w} map, "
               "is centred on pixel ({r}, {c}).",
        "cold": "It is all cold: nothing here speaks for {cls}.",
        "other": "And for {cls} ({p}): the gradient of another score weighs the "
                 "same maps differently, and the heat moves to what would speak "
                 "for it.",
        "outro": ("A class activation map shows whether a model decided for "
                  "the right reasons: on the book's African elephant photo the "
                  "calf's ears are hottest, probably what tells African "
                  "elephants from Indian ones. It is coarse, one cell per "
                  "position of the last convolution layer, {h}×{w} here. "
                  "--save cam.png draws the image, the map and both together."),
        "digit_image": "test digit {i} of the bundled sample (a {label})",
        "your_image": "your image {name}",
        "softmax": "softmax", "sigmoid": "sigmoid",
        "answer": "{cls} ({p})",
        "image": "image", "map_title": "ch {c}: {w}", "raw": "weighted mean",
        "cam": "ReLU, ÷ max", "cells": "{h}×{w} cells", "stretched": "bilinear",
        "overlay_title": "Grad-CAM: {cls}",
        "grad_title": "gradient, ch {c}", "weights_title": "ch  weight",
        "working": "following the gradient to the last convolution layer...",
        "no_digit": "The bundled digits are 28×28×1, and the model takes "
                    "{shape} images: give one with --image PATH.",
    },
    "ko": {
        "intro": "{model}, {image}. 모델의 답은 {answer}입니다. 이 답은 "
                 "이미지의 어디에서 나왔을까요? 책의 클래스 활성화 맵"
                 "(Grad-CAM)은 기울기로 그 답을 찾습니다.",
        "maps": "1단계. 마지막 합성곱 층({layer})은 이미지를 {h}×{w}×{k} 특성 "
                "맵으로 바꿉니다: 맵마다 학습한 패턴 하나가 어디 있는지 "
                "말합니다. 여기서는 {cls}에 가장 중요한 {n}개입니다.",
        "weights": "2단계. 각 맵에 대한 {cls} 점수({score}, {squash} 이전)의 "
                   "기울기: 한 칸이 커지면 점수가 얼마나 오를지입니다. {h}×{w} "
                   "칸의 평균이 그 채널의 가중치이고, 여기서는 {low}에서 "
                   "{high}까지입니다.",
        "sum": "3단계. 맵마다 가중치를 곱해 평균합니다: 주황 칸은 {cls} 쪽"
               "(여기서는 {cells}칸 중 {pos}칸), 파랑 칸은 반대쪽입니다. ReLU가 "
               "주황만 남기고, 가장 큰 값({peak})으로 나누면 맵이 0~1이 "
               "됩니다.",
        "nothing": "3단계. 맵마다 가중치를 곱해 평균합니다: {cls} 쪽인 칸이 "
                   "하나도 없어(모두 0 이하) ReLU 뒤의 맵은 모두 0입니다. 나눌 "
                   "값도, 보여 줄 것도 없습니다.",
        "ask": "이 {H}×{W} 이미지에서 마지막 합성곱 층({layer})의 특성 맵은 몇 "
               "행 몇 열일까요? 히트맵은 그 위치마다 한 칸입니다.",
        "explain": "층마다: {chain}.",
        "stretch": "4단계. 쌍선형 보간으로 이미지의 {H}×{W} 픽셀로 늘립니다(책의 "
                   "cv2.resize처럼): 칸의 값은 칸의 중심에 있고, 이웃 칸의 값과 "
                   "거리에 따라 선형으로 섞입니다.",
        "overlay": "모델이 {cls}(을)를 찾은 곳: 책의 cv2.COLORMAP_JET 색(파랑은 "
                   "차갑고 빨강은 뜨겁게)으로 칠한 히트맵을 {alpha}의 비율로 이미지 "
                   "위에 겹쳤습니다. {hot}",
        "hot": "가장 뜨거운 칸은 {h}×{w} 맵의 {i}행 {j}열이고, 중심은 픽셀 "
               "({r}, {c})입니다.",
        "cold": "모두 차갑습니다: 여기에는 {cls} 쪽인 곳이 없습니다.",
        "other": "그리고 {cls}({p})의 경우: 다른 점수의 기울기는 같은 맵에 다른 "
                 "가중치를 주고, 뜨거운 곳은 그 클래스 쪽인 곳으로 옮겨 갑니다.",
        "outro": ("클래스 활성화 맵은 모델이 옳은 이유로 결정했는지 보여 "
                  "줍니다: 책의 아프리카코끼리 사진에서 가장 뜨거운 곳은 아기 "
                  "코끼리의 귀로, 아마 아프리카코끼리와 인도코끼리를 구별하는 "
                  "곳일 겁니다. 마지막 합성곱 층의 위치마다 한 칸이라 "
                  "거칩니다(여기서는 {h}×{w}). --save cam.png 로 이미지, 맵, "
                  "둘을 겹친 그림을 그립니다."),
        "digit_image": "번들 샘플의 테스트 숫자 {i}(정답 {label})",
        "your_image": "내 이미지 {name}",
        "softmax": "소프트맥스", "sigmoid": "시그모이드",
        "answer": "{cls}({p})",
        "image": "이미지", "map_title": "채널 {c}: {w}", "raw": "가중 평균",
        "cam": "ReLU, ÷ 최댓값", "cells": "{h}×{w} 칸", "stretched": "쌍선형 보간",
        "overlay_title": "Grad-CAM: {cls}",
        "grad_title": "기울기, 채널 {c}", "weights_title": "채널  가중치",
        "working": "기울기를 마지막 합성곱 층까지 따라가는 중...",
        "no_digit": "번들 숫자는 28×28×1인데 모델의 입력은 {shape} 이미지입니다: "
                    "--image PATH 로 이미지를 주세요.",
    },
}


# ---------------------------------------------------------------- the subject
@dataclass(frozen=True)
class Case:
    """The model, the image, words for both, the prediction, and the class
    maps of the explained class and of another."""

    net: object
    image: np.ndarray
    model_words: str
    image_words: str
    probabilities: np.ndarray
    cam: ClassMap
    other: ClassMap


def load(model=None, image=None, seed=None, lang: str = "en"):
    """``(model, image (height, width, channels) in 0..1, model words, image
    words)``: ``--model``/``--image`` or the trained MNIST convnet and a
    bundled test digit (:func:`convsim.experiments.your_model.choose`)."""
    from convsim.experiments.your_model import choose

    words, net = TEXT[lang], trained_model(model, lang)
    shape = tuple(net.input.shape)[1:]
    if image is None and shape != (28, 28, 1):
        raise ArgumentError(say(words["no_digit"], shape="×".join(map(str, shape))))
    chosen = choose(net, image, seed=seed, lang=lang)
    if image is None:
        index = re.search(r"\d+", chosen.image_words).group()
        image_words = say(words["digit_image"], i=index, label=chosen.label)
    else:
        image_words = say(words["your_image"], name=os.path.basename(
            os.fspath(image)) if is_path(image) else "").rstrip()
    return net, chosen.image, model_words(model, lang), image_words


def explain(model=None, image=None, seed=None, target=None, lang="en") -> Case:
    """Grad-CAM of the explained class (``--target``, else the prediction) and
    of another one (the runner-up, or a binary model's other class)."""
    net, pixels, model_words, image_words = load(model, image, seed, lang)
    predicted, predicted_sign, probabilities = predicted_class(net, pixels)
    index, sign = target_class(target, probabilities.size)
    if index is None:
        index, sign = predicted, predicted_sign
    cam = grad_cam(net, pixels, index, sign)
    if probabilities.size == 1:
        other = grad_cam(net, pixels, 0, -sign)
    else:
        order = [int(k) for k in np.argsort(-probabilities, kind="stable")]
        other = grad_cam(net, pixels, next(k for k in order if k != index), 1)
    return Case(net, pixels, model_words, image_words, probabilities, cam, other)


def probability(case: Case, cam: ClassMap) -> float:
    """The model's probability for the class ``cam`` explains."""
    p = case.probabilities
    return float(p[cam.index] if p.size > 1 else p[0] if cam.sign > 0 else 1 - p[0])


# ---------------------------------------------------------------- pictures
def _map_view(cam: ClassMap, side: int, lang: str):
    words = TEXT[lang]
    top = [int(c) for c in np.argsort(-cam.weights, kind="stable")[:SHOWN_CHANNELS]]
    maps = [Heatmap(enlarge(cam.maps[:, :, c], side // 2),
                    title=say(words["map_title"], c=c, w=f"{cam.weights[c]:+.3g}"))
            for c in top]
    return side_by_side(*maps), top


def _weights_view(cam: ClassMap, top: int, side: int, lang: str):
    words = TEXT[lang]
    grads = Heatmap(enlarge(cam.grads[:, :, top], side // 2), signed=True,
                    title=say(words["grad_title"], c=top))
    order = np.argsort(-cam.weights, kind="stable")
    lines = [f"{c:>4}  {cam.weights[c]:+.4f}" if c >= 0 else "   …"
             for c in (*order[:4], -1, *order[-2:])]
    return side_by_side(grads, Group(Text(words["weights_title"], style="bold"),
                                     Text("\n".join(lines))))


# ---------------------------------------------------------------- frames
def _class_words(case: Case, cam: ClassMap, lang: str) -> str:
    return class_name(cam.index, cam.sign, case.probabilities.size, lang)


def _size_question(case: Case, lang: str) -> Question:
    """How big the last convolution layer's maps are: worked out layer by
    layer from the model's own output shapes."""
    words, (height, width) = TEXT[lang], case.image.shape[:2]
    chain = [f"{height}×{width}"]
    for layer in model_layers(case.net):
        shape = tuple(layer.output.shape)
        chain.append(f"{shape[1]}×{shape[2]} ({layer.name})")
        if layer.name == case.cam.layer:
            break
    h, w = case.cam.maps.shape[:2]
    return Question(say(words["ask"], layer=case.cam.layer, H=height, W=width),
                    ints_check((h, w)), f"{h}×{w}",
                    say(words["explain"], chain=" → ".join(chain)))


def _step_frames(case: Case, side: int, lang: str) -> list[Frame]:
    """Steps 1-3: the maps, their weights, the weighted mean through ReLU."""
    words, cam = TEXT[lang], case.cam
    cls = _class_words(case, cam, lang)
    (h, w, k), squash = cam.maps.shape, words[
        "sigmoid" if case.probabilities.size == 1 else "softmax"]
    view, top = _map_view(cam, side, lang)
    frames = [Frame(view, say(words["maps"], layer=cam.layer, h=h, w=w, k=k,
                              n=len(top), cls=cls), key=True, hold=6,
                    question=_size_question(case, lang),
                    data={"layer": cam.layer, "channels": top})]
    frames.append(Frame(_weights_view(cam, top[0], side, lang),
                        say(words["weights"], cls=cls, score=f"{cam.score:.3g}",
                            squash=squash, h=h, w=w,
                            low=f"{cam.weights.min():+.3g}",
                            high=f"{cam.weights.max():+.3g}"),
                        key=True, hold=6, data={"weights": cam.weights}))
    raw = Heatmap(enlarge(cam.raw, side), title=words["raw"], signed=True)
    coarse = Heatmap(enlarge(cam.cam, side), title=words["cam"], vmax=1.0)
    text = (say(words["sum"], cls=cls, peak=f"{cam.peak:.3g}", cells=h * w,
                pos=int((cam.raw > 0).sum())) if cam.peak > 0
            else say(words["nothing"], cls=cls))
    frames.append(Frame(side_by_side(raw, coarse), text, key=True, hold=6,
                        data={"raw": cam.raw, "cam": cam.cam, "peak": cam.peak}))
    return frames


def _hottest(cam: ClassMap, height: int, width: int, cls: str, lang: str) -> str:
    """Where the hottest cell of the coarse map is, and its centre in pixels."""
    words = TEXT[lang]
    if cam.peak == 0:
        return say(words["cold"], cls=cls)
    (h, w), (i, j) = cam.cam.shape, np.unravel_index(int(np.argmax(cam.cam)),
                                                     cam.cam.shape)
    return say(words["hot"], i=int(i), j=int(j), h=h, w=w,
               r=round((i + 0.5) * height / h - 0.5),
               c=round((j + 0.5) * width / w - 0.5))


def _picture_frames(case: Case, side: int, lang: str) -> list[Frame]:
    """Step 4 and the overlays: the explained class, then the other one."""
    words, cam, image = TEXT[lang], case.cam, case.image
    cls, other = (_class_words(case, c, lang) for c in (case.cam, case.other))
    height, width = image.shape[:2]
    cells = say(words["cells"], h=cam.cam.shape[0], w=cam.cam.shape[1])
    coarse = heat_picture(enlarge(cam.cam, max(height, width)), side, cells)
    smooth = heat_picture(cam.heatmap, side, words["stretched"])
    mine = heat_picture(cam.heatmap, side, say(words["overlay_title"], cls=cls),
                        image, ALPHA)
    theirs = heat_picture(case.other.heatmap, side,
                          say(words["overlay_title"], cls=other), image, ALPHA)
    return [
        Frame(side_by_side(coarse, smooth), say(words["stretch"], H=height, W=width),
              key=True, hold=6, data={"heatmap": cam.heatmap}),
        Frame(side_by_side(photo_picture(image, side, words["image"]), mine),
              say(words["overlay"], cls=cls,
                  alpha=ALPHA, hot=_hottest(cam, height, width, cls, lang)),
              key=True, hold=8),
        Frame(side_by_side(mine, theirs),
              say(words["other"], cls=other,
                  p=f"{probability(case, case.other):.3f}"),
              key=True, hold=8, data={"other": case.other}),
    ]


def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          model=None, image=None, target=None) -> Lesson:
    """The frames of the lesson (the gradients are all computed here)."""
    case = explain(model, image, seed, target, lang)
    frames = fit_frames(lambda side: _frames(case, side, lang), size or SIZE[0])
    return Lesson(NAME, TITLE[lang], frames, lang)


def _frames(case: Case, side: int, lang: str) -> list[Frame]:
    words, cls = TEXT[lang], _class_words(case, case.cam, lang)
    answer = say(words["answer"], cls=cls, p=f"{probability(case, case.cam):.3f}")
    intro = say(words["intro"], model=case.model_words, image=case.image_words,
                answer=answer)
    frames = [Frame(photo_picture(case.image, side, words["image"]), intro, key=True,
                    hold=6, data={"image": case.image,
                                  "probabilities": case.probabilities,
                                  "index": case.cam.index, "sign": case.cam.sign})]
    frames += _step_frames(case, side, lang)
    frames += _picture_frames(case, side, lang)
    h, w = case.cam.cam.shape
    return frames + [Frame(Text(""), say(words["outro"], h=h, w=w), key=True,
                           hold=6, data={"cam": case.cam})]


def save_figure(path, lang: str = "en", seed: int | None = None,
                size: int | None = None, model=None, image=None,
                target=None) -> str:
    """The image, its Grad-CAM heat map and both together, as the book shows
    them, in one PNG; returns the path. Korean titles need a Hangul font:
    without one the titles are English."""
    from convsim.viz.gif import find_fonts

    font = find_fonts().hangul if lang == "ko" else None
    titles = lang if font or lang == "en" else "en"
    case = explain(model, image, seed, target, titles)
    cam, words = case.cam, TEXT[titles]
    cls = class_name(cam.index, cam.sign, case.probabilities.size, titles)
    pictures = [(say(words["answer"], cls=cls, p=f"{probability(case, cam):.3f}"),
                 to_rgb(case.image)),
                (f"Grad-CAM · {cam.layer}", jet(cam.heatmap)),
                (say(words["overlay_title"], cls=cls),
                 blend(to_rgb(case.image), jet(cam.heatmap), ALPHA))]
    return save_class_map_figure(path, pictures, font=font)


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, model=None, image=None, target=None,
        player: Player | None = None) -> PlayResult:
    """Play the lesson (as plain key frames unless a player says otherwise)."""
    player = player or Player(console)
    with player.console.status(TEXT[lang]["working"]):
        lesson = build(lang=lang, seed=seed, size=size, model=model, image=image,
                       target=target)
    return player.play(lesson)
