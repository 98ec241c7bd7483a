"""Lesson: filters — the pattern each filter of a trained convnet responds to most.

Run it::

    python -m convsim.lesson filters
    python -m convsim.lesson filters --lang ko --size 28
    python -m convsim.lesson filters --model my_cats.convsim --filters 4
    python -m convsim.lesson filters --save filters.png

The book (5.4.2) shows what a convnet's filters learned by asking, for each
filter, which input would make it respond most, and answers with gradient
ascent on the input: start from a grey image with a little noise, compute the
gradient of the filter's mean activation with respect to the image, divide it
by its root mean square, add it, and repeat 40 times
(:mod:`convsim.trace.patterns`, whose gradients come from the model's own
layers, :mod:`convsim.trace.gradients`). The picture is the climbed image,
brought back into a visible range (the book's ``deprocess_image``).

The model is the book's MNIST convnet trained on the bundled digits, or
``--model FILE``. For inputs larger than 64 pixels (the book's 150x150
cats-vs-dogs convnet) each step costs far more, so the lesson climbs fewer
filters and takes fewer steps, and says so.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console, Group

from convsim import layers
from convsim.errors import ArgumentError
from convsim.lesson.frames import Frame, Lesson, Question, number_check
from convsim.lesson.layout import Fit
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.trace.gradients import model_layers
from convsim.trace.patterns import ascend, deprocess_image
from convsim.validation import positive_int
from convsim.viz.conv_view import side_by_side
from convsim.viz.figures import mosaic, save_pattern_figure
from convsim.viz.picture import Picture, resize_picture

from ._trained import model_words, trained_model

NAME = "filters"
TITLE = {"en": "What the filters learned", "ko": "필터가 학습한 패턴"}
SUMMARY = {
    "en": "gradient ascent from a grey image: the pattern each filter of a trained "
          "convnet responds to most, layer by layer",
    "ko": "회색 이미지에서 시작하는 경사 상승법: 훈련된 컨브넷의 필터마다 가장 크게 "
          "반응하는 패턴을 층별로",
}
FPS = 0.5
SIZE = (14, 8, 40)  # pixels per side of each pattern drawn in the terminal
OPTIONS = {"model": ("FILE", "your trained model (convsim or Keras file)"),
           "filters": ("N", "how many filters of each layer (default 16, or 8 "
                            "for inputs over 64 pixels)")}

STEPS = 40  # the book's 40 steps
STEP_SIZE = 1.0  # the book's step: one grey level
FILTERS = 16  # the first 16 filters of each layer
BIG_INPUT = 64  # inputs larger than this (150x150 photos) climb less:
BIG_FILTERS, BIG_STEPS = 8, 20  # fewer filters, fewer steps ...
BIG_STEP_SIZE = 2.0  # ... twice as long: the same 40 grey levels in all
PER_PAGE, PER_ROW = 8, 4  # patterns per frame, per row: fits 80x24

TEXT = {
    "en": {
        "intro": "{model}. Which input makes one filter respond most? The book's "
                 "answer: start from a grey image with a little noise (grey "
                 "levels 128 to 148) and climb: gradient ascent on the input.",
        "step": "Each step takes the gradient of the filter's mean activation "
                "with respect to the image, divides it by its root mean square "
                "(sqrt(mean(g²)) + 1e-5) and adds it times {size}: every step "
                "moves the pixels about {size} in grey levels, uphill for this "
                "filter (the book's steps are 1).",
        "climb": "Filter {k} of {layer}, step {s} of {steps}: mean activation "
                 "{v} (it was {v0} on the grey start).",
        "ask": "A gradient has the value 0.002 in every pixel. After dividing it "
               "by its root mean square and multiplying by {size}, by how many "
               "grey levels does each pixel move?",
        "explain": "sqrt(mean(0.002²)) = 0.002, so the gradient becomes 1 "
                   "everywhere, times {size}: whatever the layer's scale, a "
                   "step has the same size.",
        "big": "Your model takes {h}×{w} images: each step runs it forward and "
               "backward, so the lesson climbs {n} filters per layer in {steps} "
               "steps of {size} grey levels (MNIST: 16 filters, 40 steps of 1).",
        "first": ("The first layer, {layer} ({n} filters), its four most "
                  "excited: the book finds edges and colours here. A filter whose "
                  "weights add up to more than 0 wants a brighter image everywhere "
                  "(a flat tile); an edge filter repeats its edge all over, as the "
                  "loss is a mean over every position."),
        "middle": ("{layer} ({n} filters), its four most excited: they combine "
                   "the edges of the layer before into what the book calls simple "
                   "textures: stripes, grids and dots repeated over the image."),
        "last": ("The last convolution, {layer} ({n} filters), its four most "
                 "excited: each cell sees a much larger part of the image, and the "
                 "patterns grow into parts of what the network tells apart "
                 "(strokes and curves of digits; eyes, feathers and leaves in the "
                 "book's VGG16)."),
        "page": ("Filters {a}-{b} of {layer}; above each, its number and its "
                 "mean activation after the climb."),
        "silent": "{silent} of them give 0 everywhere on the grey start: ReLU "
                  "sends no gradient back from 0, so their climb never starts "
                  "and they stay noise.",
        "silent_again": "{silent} of them stay 0 and noise (silent on grey).",
        "outro": "One filter of each layer, first to last: the one whose climb "
                 "drew the most pattern rather than an even brightening. The "
                 "deeper the layer, the larger and more complex its patterns: "
                 "edges, then textures, then parts. As your notes say: from "
                 "edges and textures up to ears, noses and eyes. "
                 "--save filters.png draws every grid in one figure.",
        "start": "start", "step_word": "step",
        "working": "climbing the filters' gradients...",
    },
    "ko": {
        "intro": "{model}. 어떤 입력이 필터 하나를 가장 크게 반응시킬까요? 책의 "
                 "답: 잡음을 조금 섞은 회색 이미지(회색 값 128~148)에서 시작해 "
                 "오르기, 곧 입력 공간에서의 경사 상승법입니다.",
        "step": "한 단계마다 필터의 평균 활성화에 대한 이미지의 기울기를 구해 "
                "제곱 평균의 제곱근(sqrt(mean(g²)) + 1e-5)으로 나누고 {size}배 "
                "해서 더합니다: 픽셀은 단계마다 회색 값으로 {size}쯤, 이 필터의 "
                "활성화가 커지는 쪽으로 움직입니다(책의 단계 크기는 1).",
        "climb": "{layer} 층의 필터 {k}, {steps}단계 중 {s}단계: 평균 활성화 "
                 "{v} (회색 시작 이미지에서는 {v0}).",
        "ask": "기울기가 모든 픽셀에서 0.002입니다. 제곱 평균의 제곱근으로 나누고 "
               "{size}배 하면 픽셀마다 회색 값이 얼마나 움직일까요?",
        "explain": "sqrt(mean(0.002²)) = 0.002이므로 기울기는 어디서나 1이 되고, "
                   "한 단계는 그 {size}배입니다: 층의 스케일이 어떻든 한 단계의 "
                   "크기는 같습니다.",
        "big": "이 모델의 입력은 {h}×{w} 이미지입니다: 단계마다 모델을 정방향과 "
               "역방향으로 한 번씩 실행하므로, 층마다 필터 {n}개를 회색 값 "
               "{size}씩 {steps}단계만 오릅니다 (MNIST: 필터 16개, 1씩 40단계).",
        "first": ("첫 번째 층 {layer} (필터 {n}개)에서 가장 크게 반응한 넷: "
                  "책은 여기서 에지와 색을 찾습니다. 가중치의 합이 0보다 큰 필터는 "
                  "어디서나 더 밝은 이미지를 원하고(평평한 타일), 에지 필터는 "
                  "에지를 이미지 전체에 반복합니다: 손실이 모든 위치의 평균이기 "
                  "때문입니다."),
        "middle": ("{layer} 층(필터 {n}개)에서 가장 크게 반응한 넷: 앞 층의 "
                   "에지를 조합해 책이 단순한 질감이라 부르는 것을 만듭니다: "
                   "이미지 전체에 반복되는 줄무늬, 격자, 점."),
        "last": ("마지막 합성곱 층 {layer} (필터 {n}개)에서 가장 크게 반응한 "
                 "넷: 한 칸이 이미지의 훨씬 넓은 부분을 보고, 패턴은 네트워크가 "
                 "구별하는 것의 부분으로 커집니다 (숫자의 획과 곡선, 책의 "
                 "VGG16에서는 눈, 깃털, 나뭇잎)."),
        "page": ("{layer} 층의 필터 {a}~{b}. 제목은 필터 번호와 오르기가 "
                 "끝난 뒤의 평균 활성화입니다."),
        "silent": "이 중 {silent}개는 회색 시작 이미지에서 어디서나 0입니다: "
                  "ReLU는 0에서 기울기를 돌려보내지 않으니 오르기가 시작되지 "
                  "않고 잡음으로 남습니다.",
        "silent_again": "이 중 {silent}개는 0인 채 잡음으로 남습니다(회색에 "
                        "반응하지 않음).",
        "outro": ("층마다 필터 하나를 첫 층부터 마지막 층까지 놓았습니다: "
                  "고르게 밝아지기보다 가장 뚜렷한 패턴을 그린 필터입니다. 깊은 "
                  "층일수록 패턴이 크고 복잡합니다: 에지, 질감, 그다음 부분. "
                  "노트의 말처럼 에지와 질감에서 시작해 귀, 코, 눈으로 "
                  "올라갑니다. --save filters.png 로 모든 격자를 그림 하나에 "
                  "그립니다."),
        "start": "시작", "step_word": "단계",
        "working": "필터마다 경사 상승법을 실행하는 중...",
    },
}


# ---------------------------------------------------------------- the climb
def filter_count(value) -> int | None:
    """``--filters`` as a positive integer (the command line gives text)."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = int(value.strip())
        except ValueError:
            raise ArgumentError("--filters must be a positive integer, how many "
                                f"filters of each layer to climb. Received: "
                                f"--filters {value!r}") from None
    return positive_int(value, "filters")


def plan(net, filters: int | None) -> tuple[list, int, int, float, bool]:
    """``(conv layers, filters per layer, steps, step size, big)``."""
    convs = [layer for layer in model_layers(net)
             if isinstance(layer, layers.Conv2D)]
    if not convs:
        raise ArgumentError(f"The model '{net.name}' has no Conv2D layer: there "
                            "are no filters to look at.")
    big = max(tuple(net.input.shape)[1:3]) > BIG_INPUT
    count = filters or (BIG_FILTERS if big else FILTERS)
    if big:
        return convs, count, BIG_STEPS, BIG_STEP_SIZE, big
    return convs, count, STEPS, STEP_SIZE, big


def climb(net, filters=None, seed=None) -> tuple[list, bool]:
    """Every conv layer's first filters, climbed; ``(ascents, big)``. Each
    keeps its start; the last layer's climb also pictures of the way up."""
    convs, count, steps, step, big = plan(net, filter_count(filters))
    keep = tuple(sorted({0, steps // 8, steps // 4, steps // 2, steps}))
    ascents = [ascend(net, conv, range(min(count, conv.filters)), steps=steps,
                      step=step, seed=seed,
                      keep=keep if conv is convs[-1] else (0,))
               for conv in convs]
    return ascents, big


def patterned(ascent) -> int:
    """The filter whose climb drew the most pattern: the largest share of the
    change from the start that is not an even brightening (a first layer's
    most excited filters often just brighten everything, which the picture,
    centred on its mean, cannot show)."""
    change = ascent.images - ascent.snapshots[0]
    axes = tuple(range(1, change.ndim))
    spread = change.std(axis=axes)
    share = spread / (np.abs(change.mean(axis=axes)) + spread + 1e-12)
    return int(np.argmax(np.where(ascent.after > 0, share, -1.0)))


# ---------------------------------------------------------------- pictures
def pattern(image: np.ndarray, side: int) -> np.ndarray:
    """A climbed image as RGB pixels ``side`` wide (the book's deprocessing)."""
    pixels = deprocess_image(image)
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    return resize_picture(pixels, side)


def tiles(ascent, picks, side: int) -> Fit:
    """Patterns ``picks`` of ``ascent`` in rows of :data:`PER_ROW`, each
    titled with its filter number and final mean activation (smaller than
    ``side`` where the screen is small)."""
    def draw(px: int) -> Group:
        pictures = [Picture(pattern(ascent.images[i], px),
                            f"{ascent.filters[i]}: {ascent.after[i]:.2f}")
                    for i in picks]
        return Group(*(side_by_side(*pictures[r:r + PER_ROW])
                       for r in range(0, len(pictures), PER_ROW)))
    return Fit.sized(draw, side)


def in_a_row(images, labels, side: int) -> Fit:
    """Pictures side by side, ``side`` wide or smaller where that fits."""
    return Fit.sized(lambda px: side_by_side(*(
        Picture(pattern(image, px), label) for image, label in zip(
            images, labels, strict=True))), side)


# ---------------------------------------------------------------- frames
def _climb_frames(ascent, side: int, lang: str) -> list[Frame]:
    """The climb of the last layer's most excited filter, picture by picture."""
    words = TEXT[lang]
    i = int(np.argmax(ascent.after - ascent.before))
    steps = len(ascent.history) - 1
    images, labels, frames = [], [], []
    for n, s in enumerate(sorted(ascent.snapshots)):
        labels.append(words["start"] if s == 0 else f"{words['step_word']} {s}")
        images.append(ascent.snapshots[s][i])
        caption = say(words["climb"], k=ascent.filters[i], layer=ascent.layer,
                      s=s, steps=steps, v=f"{ascent.history[s][i]:.3f}",
                      v0=f"{ascent.before[i]:.3f}")
        question = None
        if n == 1:
            size = f"{ascent.step:g}"
            caption = say(words["step"], size=size) + "\n" + caption
            question = Question(say(words["ask"], size=size),
                                number_check(ascent.step), size,
                                say(words["explain"], size=size))
        frames.append(Frame(in_a_row(list(images), list(labels), side), caption,
                            key=s == steps,
                            hold=2 if s < steps else 6, question=question,
                            data={"filter": ascent.filters[i], "step": s,
                                  "activation": float(ascent.history[s][i])}))
    return frames


def _layer_frames(ascent, role: str, channels: int, side: int, lang: str
                  ) -> list[Frame]:
    """The layer's four most excited patterns with what the book says of such
    a layer, then every climbed filter, :data:`PER_PAGE` per frame."""
    words = TEXT[lang]
    best = [int(i) for i in np.argsort(-ascent.after, kind="stable")[:PER_ROW]]
    frames = [Frame(tiles(ascent, best, side),
                    say(words[role], layer=ascent.layer, n=channels), key=True,
                    hold=8, data={"layer": ascent.layer, "best": best})]
    explained = False
    for a in range(0, len(ascent.filters), PER_PAGE):
        picks = range(a, min(a + PER_PAGE, len(ascent.filters)))
        silent = int(sum(ascent.history[:, i].max() == 0 for i in picks))
        caption = say(words["page"], a=ascent.filters[picks[0]],
                      b=ascent.filters[picks[-1]], layer=ascent.layer)
        if silent:
            key = "silent_again" if explained else "silent"
            caption += " " + say(words[key], silent=silent)
            explained = True
        frames.append(Frame(tiles(ascent, picks, side), caption, key=True, hold=6,
                            data={"layer": ascent.layer, "filters": ascent.filters,
                                  "before": ascent.before, "after": ascent.after,
                                  "silent": silent}))
    return frames


def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          model=None, filters=None) -> Lesson:
    """The frames of the lesson (all the climbing happens here)."""
    words = TEXT[lang]
    side = size or SIZE[0]
    net = trained_model(model, lang)
    ascents, big = climb(net, filters, seed)
    start = ascents[-1].snapshots[0][0]
    intro = say(words["intro"], model=model_words(model, lang))
    if big:
        h, w = tuple(net.input.shape)[1:3]
        intro += " " + say(words["big"], h=h, w=w, n=len(ascents[0].filters),
                           steps=len(ascents[0].history) - 1,
                           size=f"{ascents[0].step:g}")
    frames = [Frame(in_a_row([start], [words["start"]], 2 * side), intro,
                    key=True, hold=6, data={"start": start})]
    frames += _climb_frames(ascents[-1], side, lang)
    convs = plan(net, None)[0]
    for k, (ascent, conv) in enumerate(zip(ascents, convs, strict=True)):
        role = ("first" if k == 0 else "last" if k == len(ascents) - 1
                else "middle")
        frames += _layer_frames(ascent, role, conv.filters, side, lang)
    best = in_a_row([a.images[patterned(a)] for a in ascents],
                    [a.layer for a in ascents], side)
    frames.append(Frame(best, words["outro"], key=True, hold=8,
                        data={"ascents": ascents}))
    return Lesson(NAME, TITLE[lang], frames, lang)


def save_figure(path, lang: str = "en", seed: int | None = None,
                size: int | None = None, model=None, filters=None) -> str:
    """Every layer's grid of patterns in one PNG, as the book draws them;
    returns the path."""
    ascents, _ = climb(trained_model(model, lang), filters, seed)
    panels = []
    for ascent in ascents:
        pictures = [pattern(image, max(image.shape[:2])) for image in ascent.images]
        panels.append((f"{ascent.layer}  #{ascent.filters[0]}-{ascent.filters[-1]}",
                       mosaic(pictures, per_row=8)))
    return save_pattern_figure(path, panels)


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, model=None, filters=None,
        player: Player | None = None) -> PlayResult:
    """Play the lesson; the climb itself takes a moment (a status line says so)."""
    player = player or Player(console)
    with player.console.status(TEXT[lang]["working"]):
        lesson = build(lang=lang, seed=seed, size=size, model=model, filters=filters)
    return player.play(lesson)
