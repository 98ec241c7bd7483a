"""Lesson: stride — the window jumps, and the output shrinks.

Run it::

    python -m convsim.lesson stride
    python -m convsim.lesson stride --size 7 --quiz

The stride is the distance between two successive windows (1 by default).
With stride 2 the window skips every other position, so the output is about
half as wide: a 3x3 window with stride 2 over a 5x5 input without padding
fits only 2x2 times, floor((5 - 3) / 2) + 1 = 2. (The book uses max pooling,
not strides, to downsample; strided convolutions are common elsewhere.) On an
even input (``--size 6``) the formula's floor leaves the last row and column
unread, and the lesson says so.
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
from convsim.trace.reach import reach
from convsim.viz.conv_view import input_grid, output_grid, side_by_side
from convsim.viz.grid import Grid, PlainLegend
from convsim.viz.words import label

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
NOTES_SIZE = 5  # your notes' stride example: a 5×5 input

TEXT = {
    "en": {
        "intro": "The stride is the distance between two successive windows. Keras's "
                 "default is strides=1. Input {n}×{n}, a 3×3 filter, no padding.",
        "one": "Stride 1: the window moves one cell at a time and fits {o}×{o} times: "
               "{working}.",
        "two": "Stride 2: the window jumps two cells, skipping every other position. "
               "It fits only {o}×{o} times: {working}. The output is downsampled.",
        "unread": " Row {r} and column {c} are never read: a window starting at "
                  "{next} would stick out of the input, so the formula rounds down "
                  "and drops them.",
        "outro": "Output size = floor((input - window) / stride) + 1. Stride 1: "
                 "{w1}. Stride 2: {w2}. With padding='same' the output is "
                 "ceil(input / stride): {w3}. {slip}",
        "slip": "A common slip: a 3×3 window with stride 2 over this {n}×{n} "
                "input without padding gives {o2}×{o2}, not the {o1}×{o1} of "
                "stride 1.",
        "slip_notes": "Your notes give 4×4 for this case (stride 2 over 5×5, no "
                      "padding); counting the windows gives 2×2, not 4×4.",
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
        "unread": " 행 {r}(과)와 열 {c}(은)는 읽히지 않습니다: {next}에서 시작하는 "
                  "윈도우는 입력 밖으로 나가므로, 공식이 내림하며 버립니다.",
        "outro": "출력 크기 = floor((입력 - 윈도우) / 스트라이드) + 1. 스트라이드 1: "
                 "{w1}. 스트라이드 2: {w2}. padding='same'이면 ceil(입력 / "
                 "스트라이드): {w3}. {slip}",
        "slip": "흔한 착각: 패딩 없이 이 {n}×{n} 입력에 3×3 윈도우, 스트라이드 2를 "
                "쓰면 출력은 스트라이드 1의 {o1}×{o1}(이)가 아니라 {o2}×{o2}입니다.",
        "slip_notes": "노트에는 이 경우(패딩 없이 5×5에 스트라이드 2)의 출력이 "
                      "4×4로 적혀 있지만, 윈도우를 세어 보면 4×4가 아니라 "
                      "2×2입니다.",
        "ask": "스트라이드 2, 3×3 윈도우, 이 {n}×{n} 입력, 패딩 없음: 출력 크기는?",
        "why": "floor(({n} - 3) / 2) + 1 = {o}, 가로세로 모두.",
    },
}


def make_image(size: int = SIZE[0], seed: int | None = None) -> np.ndarray:
    rng = np.random.default_rng(0 if seed is None else seed)
    return rng.integers(0, 4, (size, size)).astype(np.float32)


def filter_grid(lang: str) -> Grid:
    """The 3×3 filter, titled in the lesson's language."""
    return Grid(FILTER, title=f"{label('filter', lang)} 3×3")


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
                                       filter_grid(lang)),
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
    caption = say(words["two"], o=two.out_h, working=w2)
    cover = reach(two)  # the rows and columns after the last window: unread
    rows, cols = cover.after_last(0), cover.after_last(1)
    if rows or cols:
        caption += say(words["unread"], r=", ".join(map(str, rows)),
                       c=", ".join(map(str, cols)),
                       next=two[len(two) - 1].top + STRIDES[1])
    frames.append(Frame(two_frames[0].view, caption, key=True, hold=4,
                        question=ask, data={"output_shape": two.outputs.shape[:2],
                                            "unread": (tuple(rows), tuple(cols))}))
    frames += two_frames
    frames.append(Frame(Group(side_by_side(
        output_grid(one, 0, len(one), title="strides=1", lang=lang),
        output_grid(two, 0, len(two), title="strides=2", lang=lang)),
        Text(f"  {w1}    {w2}", style="bold")),
        say(words["outro"], w1=w1, w2=w2, w3=w3, slip=_slip(n, one, two, lang)),
        key=True, hold=6,
        data={"stride1": one.outputs[:, :, 0], "stride2": two.outputs[:, :, 0]}))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _slip(n: int, one, two, lang: str) -> str:
    """The slip to warn about: your notes' own (4×4 for stride 2 over 5×5,
    where the windows make 2×2) on their input, else forgetting the stride."""
    words = TEXT[lang]
    if n == NOTES_SIZE and two.out_h == 2:
        return words["slip_notes"]
    return say(words["slip"], n=n, o1=one.out_h, o2=two.out_h)


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size))
