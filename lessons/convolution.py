"""Lesson: convolution — a 3x3 filter slides over a small grayscale image.

Run it::

    python -m convsim.lesson convolution
    python -m convsim.lesson convolution --step --lang ko
    python -m convsim.lesson convolution --size 9 --seed 3 --quiz

The book (5.1.1): the window slides over the input, extracts a patch at every
position, multiplies it element-wise with the filter and adds the products up;
each sum is one cell of the output feature map. Here the image is a bright
rectangle on a dark background and the filter detects vertical edges, so the
feature map lights up exactly at the rectangle's left and right sides.
"""

from __future__ import annotations

import numpy as np
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from convsim import shapes, trace
from convsim.lesson.frames import Frame, Lesson
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.story import conv_frames, cropped_row
from convsim.lesson.words import say
from convsim.viz.conv_view import input_grid, output_grid
from convsim.viz.grid import Grid, PlainLegend, fmt_number
from convsim.viz.words import label

NAME = "convolution"
TITLE = {"en": "Convolution", "ko": "합성곱 연산"}
SUMMARY = {
    "en": "a 3x3 filter slides over a 7x7 image: patch, products, sum, feature map",
    "ko": "3×3 필터가 7×7 이미지 위를 슬라이딩: 패치, 요소별 곱, 합, 특성 맵",
}
FPS = 2.0
SIZE = (7, 5, 12)  # default, smallest, largest image side
BRIGHT = 3  # pixel value of the rectangle (the background is 0)
FILTER = np.array([[-1, 0, 1],
                   [-1, 0, 1],
                   [-1, 0, 1]], dtype=np.float32)  # vertical edges: right minus left

TEXT = {
    "en": {
        "intro": "A convolution slides a small [bold]window[/] over the image. At each "
                 "position it takes the [bold]patch[/] under the window, multiplies it "
                 "cell by cell with the [bold]filter[/] (also called the kernel), and "
                 "adds the {taps} products into one number of the output, the "
                 "[bold]feature map[/]. This filter subtracts the left column from the "
                 "right one: it looks for vertical edges.",
        "outro": "Done: {steps} window positions, {steps} output cells. The feature "
                 "map answers where the filter's pattern is in the image: +{edge} on "
                 "the rectangle's left edge (dark → bright), -{edge} on its right edge "
                 "(bright → dark, the pattern reversed), 0 where the image is flat. "
                 "Without padding the output is smaller than the input: {working}.",
        "outro_seeded": "Done: {steps} window positions, {steps} output cells. The "
                        "filter answers most where the image gets brighter from left "
                        "to right: {hi} at output cell {hi_at}. It is most negative "
                        "where the image gets darker: {lo} at {lo_at}. Without padding "
                        "the output is smaller than the input: {working}.",
        "formula": "output size = floor((input - window) / stride) + 1",
    },
    "ko": {
        "intro": "합성곱은 작은 [bold]윈도우[/]를 이미지 위에서 슬라이딩합니다. 각 "
                 "위치에서 "
                 "윈도우 아래의 [bold]패치[/]를 [bold]필터[/](커널)와 요소별로 곱하고, "
                 "곱 {taps}개를 모두 더해 출력 [bold]특성 맵[/]의 한 칸을 만듭니다. 이 "
                 "필터는 오른쪽 열에서 왼쪽 열을 빼므로 세로 에지를 찾습니다.",
        "outro": "끝: 윈도우 위치 {steps}곳, 출력 {steps}칸. 특성 맵은 필터의 패턴이 "
                 "있는 곳에 응답합니다: 사각형의 왼쪽 에지(어두움 → 밝음)에서 "
                 "+{edge}, 오른쪽 에지(밝음 → 어두움, 패턴이 뒤집힌 곳)에서 "
                 "-{edge}, 평평한 곳은 0. 패딩이 없으면 출력이 입력보다 작아집니다: "
                 "{working}.",
        "outro_seeded": "끝: 윈도우 위치 {steps}곳, 출력 {steps}칸. 이미지가 왼쪽에서 "
                        "오른쪽으로 밝아지는 곳에서 필터의 응답이 가장 큽니다: 출력 "
                        "{hi_at}에서 {hi}. 어두워지는 곳에서는 가장 작습니다: "
                        "{lo_at}에서 {lo}. 패딩이 없으면 출력이 입력보다 "
                        "작아집니다: {working}.",
        "formula": "출력 크기 = floor((입력 - 윈도우) / 스트라이드) + 1",
    },
}


def make_image(size: int = SIZE[0], seed: int | None = None) -> np.ndarray:
    """A bright rectangle on a dark background (or random 0-3 pixels with a seed)."""
    if seed is not None:
        return np.random.default_rng(seed).integers(0, 4, (size, size)).astype(
            np.float32)
    image = np.zeros((size, size), dtype=np.float32)
    left, right = size // 3, size - size // 3
    image[1:size - 1, left:right] = BRIGHT
    return image


def filter_grid(lang: str) -> Grid:
    """The 3×3 filter, titled in the lesson's language."""
    return Grid(FILTER, title=f"{label('filter', lang)} 3×3")


def build(lang: str = "en", seed: int | None = None, size: int | None = None
          ) -> Lesson:
    """The frames of the lesson (nothing is drawn yet)."""
    size = size or SIZE[0]
    t = trace.trace_conv(make_image(size, seed), FILTER[:, :, None, None])
    words = TEXT[lang]
    per_map = t.out_h * t.out_w
    working = shapes.output_size_working(size, 3)
    frames = [Frame(
        cropped_row((input_grid(t, None, lang=lang), filter_grid(lang),
                     output_grid(t, 0, 0, lang=lang)), PlainLegend(lang), lang=lang),
        say(words["intro"], taps=FILTER.size), key=True, hold=4)]
    keys = {0, 1, t.out_w, per_map - 1}
    quiz = {1, per_map // 2 + 1} if per_map > 3 else {per_map - 1}
    frames += conv_frames(t, lang, detail={0}, keys=keys, quiz=quiz)
    # the formula, then its numbers under the "=": two lines fit 80 columns
    formula = words["formula"]
    final = cropped_row(
        (input_grid(t, None, lang=lang), filter_grid(lang),
         output_grid(t, 0, per_map, lang=lang)),
        Text(f"  {formula}\n  {' ' * cell_len(formula[:formula.index('=')])}= "
             f"{working}", style="bold"), lang=lang)
    frames.append(Frame(final, _outro(t, seed, working, lang), key=True, hold=6,
                        data={"output": t.outputs[:, :, 0], "working": working}))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _outro(t, seed: int | None, working: str, lang: str) -> str:
    """What the feature map shows: the rectangle's two edges, or, for a random
    image (``--seed``), where its largest and most negative values are."""
    words, steps = TEXT[lang], t.out_h * t.out_w
    if seed is None:
        return say(words["outro"], steps=steps, edge=3 * BRIGHT, working=working)
    out = t.outputs[:, :, 0]
    hi, lo = (np.unravel_index(f(out), out.shape) for f in (np.argmax, np.argmin))
    return say(words["outro_seeded"], steps=steps, working=working,
               hi=fmt_number(out[hi]), hi_at=f"({hi[0]}, {hi[1]})",
               lo=fmt_number(out[lo]), lo_at=f"({lo[0]}, {lo[1]})")


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None) -> PlayResult:
    """Play the lesson (as plain key frames unless a player says otherwise)."""
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size))
