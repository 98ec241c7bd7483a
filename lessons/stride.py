"""Lesson: stride — the window jumps, and the output shrinks.

Run it::

    python -m convsim.lesson stride
    python -m convsim.lesson stride --size 7 --quiz

The stride is the distance between two successive windows (1 by default).
With stride 2 the window skips every other position, so the output is about
half as wide: a 3x3 window with stride 2 over a 5x5 input without padding
fits only 2x2 times, floor((5 - 3) / 2) + 1 = 2. (The book uses max pooling,
not strides, to downsample; strided convolutions are common elsewhere.)
"""

from __future__ import annotations

import numpy as np
from rich.console import Console, Group
from rich.text import Text

from convsim import shapes, trace
from convsim.lesson.frames import Frame, Lesson, Question, ints_check
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.story import conv_frames
from convsim.lesson.words import say
from convsim.viz.conv_view import input_grid, output_grid, side_by_side
from convsim.viz.grid import Grid, PlainLegend

NAME = "stride"
TITLE = {"en": "Stride", "ko": "스트라이드"}
SUMMARY = {
    "en": "stride 1 vs 2: the window jumps, the output shrinks (5x5 -> 3x3 vs 2x2)",
    "ko": "스트라이드 1과 2: 윈도우가 건너뛰고 출력이 작아짐 (5×5 → 3×3, 2×2)",
}
FPS = 2.0
SIZE = (5, 5, 11)
FILTER = np.array([[1, 0, 1],
                   [0, 1, 0],
                   [1, 0, 1]], dtype=np.float32)  # an "X": corners plus centre
STRIDES = (1, 2)

TEXT = {
    "en": {
        "intro": "The stride is the distance between two successive windows. Keras's "
                 "default is strides=1. Input {n}×{n}, a 3×3 filter, no padding.",
        "one": "Stride 1: the window moves one cell at a time and fits {o}×{o} times: "
               "{working}.",
        "two": "Stride 2: the window jumps two cells, skipping every other position. "
               "It fits only {o}×{o} times: {working}. The output is downsampled.",
        "outro": "Output size = floor((input - window) / stride) + 1. Stride 1: "
                 "{w1}. Stride 2: {w2}. With padding='same' the output is "
                 "ceil(input / stride): {w3}. A common slip: a 3×3 window with stride "
                 "2 over a 5×5 input without padding gives 2×2, not 4×4.",
        "ask": "Stride 2, a 3×3 window, this {n}×{n} input, no padding: what shape "
               "is the output?",
        "why": "floor(({n} - 3) / 2) + 1 = {o}, in both directions.",
    },
    "ko": {
        "intro": "스트라이드는 연속한 두 윈도우 사이의 거리입니다. 케라스 기본값은 "
                 "strides=1. 입력 {n}×{n}, 3×3 필터, 패딩 없음.",
        "one": "스트라이드 1: 윈도우가 한 칸씩 이동하며 {o}×{o}번 들어갑니다: "
               "{working}.",
        "two": "스트라이드 2: 윈도우가 두 칸씩 건너뜁니다. {o}×{o}번만 들어갑니다: "
               "{working}. 출력이 다운샘플링됩니다.",
        "outro": "출력 크기 = floor((입력 - 윈도우) / 스트라이드) + 1. 스트라이드 1: "
                 "{w1}. 스트라이드 2: {w2}. padding='same'이면 ceil(입력 / "
                 "스트라이드): {w3}. 흔한 착각: 패딩 없이 5×5 입력에 3×3 윈도우, "
                 "스트라이드 2를 쓰면 출력은 4×4가 아니라 2×2입니다.",
        "ask": "스트라이드 2, 3×3 윈도우, 이 {n}×{n} 입력, 패딩 없음: 출력 크기는?",
        "why": "floor(({n} - 3) / 2) + 1 = {o}, 가로세로 모두.",
    },
}


def make_image(size: int = SIZE[0], seed: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(0 if seed is None else seed)
    return rng.integers(0, 4, (size, size)).astype(np.float32)


def build(lang: str = "en", seed: int | None = None, size: int | None = None
          ) -> Lesson:
    n = size or SIZE[0]
    words = TEXT[lang]
    image = make_image(n, seed)
    kernel = FILTER[:, :, None, None]
    one, two = (trace.trace_conv(image, kernel, strides=s) for s in STRIDES)
    w1, w2 = (shapes.output_size_working(n, 3, s) for s in STRIDES)
    w3 = shapes.output_size_working(n, 3, 2, "same")
    frames = [Frame(Group(side_by_side(input_grid(one, None, lang=lang),
                                       Grid(FILTER, title="filter 3×3")),
                          PlainLegend(lang)), say(words["intro"], n=n), key=True,
                    hold=4)]
    one_frames = conv_frames(one, lang, detail=(), keys={len(one) - 1}, hold=0.6)
    frames.append(Frame(one_frames[0].view, say(words["one"], o=one.out_h,
                                                working=w1), key=True, hold=3))
    frames += one_frames
    ask = Question(say(words["ask"], n=n), ints_check([two.out_h, two.out_w]),
                   f"{two.out_h}×{two.out_w}", say(words["why"], n=n, o=two.out_h))
    two_frames = conv_frames(two, lang, detail=(), place=range(len(two)),
                             keys=set(range(len(two))), hold=1.2)
    frames.append(Frame(two_frames[0].view, say(words["two"], o=two.out_h,
                                                working=w2), key=True, hold=4,
                        question=ask, data={"output_shape": two.outputs.shape[:2]}))
    frames += two_frames
    frames.append(Frame(Group(side_by_side(
        output_grid(one, 0, len(one), title="strides=1", lang=lang),
        output_grid(two, 0, len(two), title="strides=2", lang=lang)),
        Text(f"  {w1}    {w2}", style="bold")),
        say(words["outro"], w1=w1, w2=w2, w3=w3), key=True, hold=6,
        data={"stride1": one.outputs[:, :, 0], "stride2": two.outputs[:, :, 0]}))
    return Lesson(NAME, TITLE[lang], frames, lang)


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size))
