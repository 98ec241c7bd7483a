"""Lesson: feature maps — hand-made filters on a real MNIST digit.

Run it::

    python -m convsim.lesson feature-maps
    python -m convsim.lesson feature-maps --seed 7 --lang ko

A convolution layer's output is a stack of feature maps, or response maps:
each says, at every position of the input, how strongly the filter's pattern
is there. Here four classic 3x3 filters (vertical edges, horizontal edges,
blur, sharpen) slide over a real handwritten digit from the MNIST sample
bundled with convsim. A trained network's first layer learns filters much
like these by itself; deeper layers combine them into larger patterns.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.console import Console, Group
from rich.text import Text

from convsim import trace
from convsim.lesson.frames import Frame, Lesson, Question
from convsim.lesson.layout import Fit
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.viz.conv_view import side_by_side
from convsim.viz.grid import Grid, fmt_number
from convsim.viz.image import Heatmap

NAME = "feature-maps"
TITLE = {"en": "Feature maps", "ko": "특성 맵"}
SUMMARY = {
    "en": "edge, blur and sharpen filters on a real MNIST digit, and the response "
          "maps they make",
    "ko": "실제 MNIST 숫자에 에지·블러·샤프닝 필터를 적용해 응답 맵 보기",
}
FPS = 4.0
SIZE = None  # MNIST digits are 28x28
DIGIT_INDEX = 4  # a clear "4" in the bundled test sample (vertical and horizontal)
ROWS_PER_FRAME = 2


@dataclass(frozen=True)
class NamedFilter:
    key: str
    weights: np.ndarray
    name: dict


FILTERS = (
    NamedFilter("vertical", np.array([[-1, 0, 1]] * 3, np.float32),
                {"en": "vertical edges", "ko": "세로 에지"}),
    NamedFilter("horizontal", np.array([[-1] * 3, [0] * 3, [1] * 3], np.float32),
                {"en": "horizontal edges", "ko": "가로 에지"}),
    NamedFilter("blur", np.full((3, 3), 1 / 9, np.float32),
                {"en": "blur (mean)", "ko": "블러 (평균)"}),
    NamedFilter("sharpen", np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
                                    np.float32), {"en": "sharpen", "ko": "샤프닝"}),
)

TEXT = {
    "en": {
        "intro": "A real handwritten {label} from MNIST ({source}), 28×28 pixels "
                 "scaled to 0-1 as in the book. Four 3×3 filters will slide over "
                 "it; each makes one 26×26 response map.",
        "sweep": "Filter '{name}' sweeps rows {r0}-{r1}: each output cell is the sum "
                 "of a 3×3 patch times the filter.",
        "done": {
            "vertical": "Vertical edges: orange where the stroke starts (dark → "
                        "bright, left to right), blue where it ends. Horizontal "
                        "strokes stay dark: this filter does not see them.",
            "horizontal": "Horizontal edges: the crossbar lights up on its top and "
                          "bottom sides; the vertical strokes almost vanish.",
            "blur": "Blur: every cell is the mean of its 3×3 patch. The digit is "
                    "still there, softer; no edges are picked out.",
            "sharpen": "Sharpen: 5 × centre minus the 4 neighbours. Strokes get "
                       "crisp outlines; flat areas stay 0.",
        },
        "strongest": "Strongest response {v} at ({r}, {c}) = the sum of these 9 "
                     "products.",
        "outro": "Four filters, four feature maps: one 26×26×4 output. Each map "
                 "answers, everywhere, 'is my pattern here?'. A Conv2D layer learns "
                 "its filters from data; the first layer's often look like these.",
        "ask": "Filter '{name}' is shown. Will its map light up mostly on vertical "
               "strokes or on horizontal strokes? (v/h)",
        "fallback": "the bundled MNIST sample was not found ({why}); this is a "
                    "hand-drawn 4",
        "bundled": "bundled sample, test image {i}",
        "digit": "digit", "filter": "filter", "map": "response map",
        "patch": "patch at the max",
    },
    "ko": {
        "intro": "MNIST의 실제 손글씨 {label} ({source}), 28×28 픽셀을 책처럼 0-1로 "
                 "스케일 조정했습니다. 3×3 필터 네 개가 이 위를 슬라이딩하며 각각 "
                 "26×26 응답 맵을 만듭니다.",
        "sweep": "'{name}' 필터가 {r0}-{r1}행을 지나갑니다: 출력 한 칸은 3×3 패치와 "
                 "필터의 곱을 모두 더한 값입니다.",
        "done": {
            "vertical": "세로 에지: 획이 시작하는 곳(왼쪽에서 오른쪽으로 어두움 → "
                        "밝음)은 주황, 끝나는 곳은 파랑. 가로 획은 어둡게 남습니다: "
                        "이 필터는 가로 획을 보지 못합니다.",
            "horizontal": "가로 에지: 가로 획의 위쪽과 아래쪽이 밝아지고, 세로 획은 "
                          "거의 사라집니다.",
            "blur": "블러: 각 칸이 3×3 패치의 평균입니다. 숫자는 그대로지만 "
                    "부드러워지고, "
                    "에지를 골라내지 않습니다.",
            "sharpen": "샤프닝: 가운데 × 5 빼기 이웃 네 칸. 획의 윤곽이 또렷해지고 "
                       "평평한 곳은 0입니다.",
        },
        "strongest": "가장 강한 응답 {v}, 위치 ({r}, {c}) = 이 곱 9개의 합.",
        "outro": "필터 네 개, 특성 맵 네 개: 26×26×4 출력 하나. 각 맵은 모든 위치에서 "
                 "'내 패턴이 여기 있나?'에 답합니다. Conv2D 층은 필터를 데이터에서 "
                 "학습하고, 첫 층의 필터는 흔히 이런 모양이 됩니다.",
        "ask": "'{name}' 필터입니다. 이 필터의 맵은 세로 획과 가로 획 중 어디에서 주로 "
               "밝아질까요? (v=세로/h=가로)",
        "fallback": "번들 MNIST 샘플을 찾지 못해({why}) 손으로 그린 4를 씁니다",
        "bundled": "번들 샘플, 테스트 이미지 {i}",
        "digit": "숫자", "filter": "필터", "map": "응답 맵", "patch": "최댓값의 패치",
    },
}


def drawn_four() -> np.ndarray:
    """A 28x28 "4" drawn with strokes, used only if the MNIST sample is missing."""
    img = np.zeros((28, 28), np.float32)
    img[6:16, 8:10] = 1.0  # left stroke
    img[15:17, 8:22] = 1.0  # crossbar
    img[5:24, 18:20] = 1.0  # right stroke
    return img


def load_digit(seed: int | None = None, lang: str = "en"):
    """``(image 28x28 in [0, 1], label, where it came from)``."""
    try:
        from convsim.datasets import mnist

        (_, _), (images, labels) = mnist.load_data(path=mnist.BUNDLED_DIR,
                                                   verbose=False)
    except (ImportError, AttributeError, OSError, ValueError) as err:
        return drawn_four(), 4, say(TEXT[lang]["fallback"], why=type(err).__name__)
    index = DIGIT_INDEX if seed is None else int(
        np.random.default_rng(seed).integers(len(images)))
    return (images[index].astype(np.float32) / 255, int(labels[index]),
            say(TEXT[lang]["bundled"], i=index))


def _filter_question(f: NamedFilter, lang: str) -> Question:
    answer = "v" if f.key == "vertical" else "h"
    words = {"v": ("v", "vertical", "세로"), "h": ("h", "horizontal", "가로")}
    return Question(say(TEXT[lang]["ask"], name=f.name[lang]),
                    lambda text: text.strip().lower() in words[answer],
                    words[answer][1 if lang == "en" else 2],
                    TEXT[lang]["done"][f.key])


def build(lang: str = "en", seed: int | None = None, size: int | None = None
          ) -> Lesson:
    words = TEXT[lang]
    image, label, source = load_digit(seed, lang)
    digit = Heatmap(image, title=f"{words['digit']} {label}")
    frames = [Frame(digit, say(words["intro"], label=label, source=source),
                    key=True, hold=8, data={"image": image, "label": label})]
    maps = {}
    for f in FILTERS:
        t = trace.trace_conv(image, f.weights[:, :, None, None])
        response = t.outputs[:, :, 0]
        maps[f.key] = response
        vmax = float(np.abs(response).max()) or 1.0
        weights = Grid(f.weights, title=f.name[lang], labels=False)
        for r in range(0, t.out_h, ROWS_PER_FRAME):
            r1 = min(r + ROWS_PER_FRAME, t.out_h)
            band = Heatmap(image, title=digit.title, window=(r, 0, r1 - r + 2, 28))
            partial = Heatmap(response, title=words["map"], signed=True, vmax=vmax,
                              reveal_rows=r1)
            question = (_filter_question(f, lang) if r == 0 and f.key in (
                "vertical", "horizontal") else None)
            frames.append(Frame(side_by_side(band, weights, partial),
                                say(words["sweep"], name=f.name[lang], r0=r,
                                    r1=r1 - 1), hold=0.5, question=question))
        best = t.step(*np.unravel_index(int(np.argmax(response)), response.shape))
        patch = Grid(np.round(best.patch[:, :, 0], 2), title=words["patch"],
                     labels=False)
        caption = words["done"][f.key] + " " + say(
            words["strongest"], v=fmt_number(best.output), r=best.row, c=best.col)
        frames.append(Frame(side_by_side(digit, Group(weights, Text(""), patch),
                                         Heatmap(response, title=words["map"],
                                                 signed=True, vmax=vmax)),
            caption, key=True, hold=8, data={"filter": f.key, "map": response,
                                             "best": best}))
    frames.append(Frame(_overview(maps, lang), words["outro"], key=True,
                        hold=10, data={"maps": maps}))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _overview(maps, lang) -> Fit:
    """The four maps two by two; on a small screen, in one row at half size
    (each drawn pixel the strongest of a 2×2 block, so thin edges stay)."""
    def layout(halved: bool):
        tiles = [Heatmap(halve(maps[f.key]) if halved else maps[f.key],
                         title=f.name[lang], signed=f.key != "blur") for f in FILTERS]
        rows = [tiles] if halved else [tiles[:2], tiles[2:]]
        return Group(*(side_by_side(*row) for row in rows), Text(
            "  orange +   blue −" if lang == "en" else "  주황 +   파랑 −",
            style="grey50"))

    return Fit(lambda: layout(False), lambda: layout(True))


def halve(values: np.ndarray) -> np.ndarray:
    """A map at half size for drawing: each value the one of largest
    magnitude in its 2×2 block (a mean would fade a one-pixel edge)."""
    h, w = (n - n % 2 for n in values.shape)
    blocks = values[:h, :w].reshape(h // 2, 2, w // 2, 2).transpose(0, 2, 1, 3)
    blocks = blocks.reshape(h // 2, w // 2, 4)
    pick = np.abs(blocks).argmax(axis=2)
    return np.take_along_axis(blocks, pick[..., None], axis=2)[..., 0]


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size))
