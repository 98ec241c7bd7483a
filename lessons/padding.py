"""Lesson: padding — 'valid' versus 'same', and where the odd zero goes.

Run it::

    python -m convsim.lesson padding
    python -m convsim.lesson padding --step --lang ko

Part 1: ``padding='valid'`` (Keras's default) adds nothing, so a 3x3 window
fits only 3x3 times on a 5x5 input: the output is 3x3. Part 2:
``padding='same'`` adds a border of zeros so the output keeps the input's
size, 5x5. Part 3: with stride 2 on an even (6x6) input, Keras/TensorFlow
need one zero row and column in total and put it at the bottom/right, while
PyTorch's ``padding=1`` puts one on every side. Same output shape, different
numbers: a classic source of confusion when porting a model.
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
from convsim.viz.grid import STYLES, Grid, PlainLegend
from convsim.viz.words import label

NAME = "padding"
TITLE = {"en": "Padding", "ko": "패딩"}
SUMMARY = {
    "en": "'valid' vs 'same' (5x5 -> 3x3 vs 5x5), and Keras's odd zero at the "
          "bottom/right vs PyTorch",
    "ko": "'valid'와 'same' (5×5 → 3×3, 5×5), 스트라이드 2에서 케라스와 파이토치의 "
          "패딩 차이",
}
FPS = 2.5
SIZE = (5, 3, 9)
FILTER = np.ones((3, 3), dtype=np.float32)  # adds up its patch: easy to check
STRIDE = 2  # for part 3
TORCH_PADDING = 1  # PyTorch's nn.Conv2d(..., padding=1): one zero on every side

TEXT = {
    "en": {
        "intro": "Input {n}×{n}, a 3×3 filter of ones (each output is the sum of its "
                 "patch). Keras's Conv2D takes padding='valid' (the default: no "
                 "padding) or padding='same' (zeros around the input).",
        "valid": "Part 1, padding='valid': the window must stay inside the input, so "
                 "it fits {o}×{o} times: {working}.",
        "same_pad": "Part 2, padding='same': zeros are added around the input (dim "
                    "grey). A 3×3 window needs 3 - 1 = 2 extra rows and 2 extra "
                    "columns: {top} on top, {bottom} at the bottom, {left} left, "
                    "{right} right. Now the window fits {n}×{n} times: {working}.",
        "compare": "'valid' gives {v}×{v}; 'same' keeps {n}×{n}. The border cells of "
                   "'same' are smaller: part of their window reads zeros.",
        "ask_same": "With padding='same' and stride 1, what shape will the output "
                    "of this {n}×{n} input be?",
        "tf": "Part 3: stride {s} on a {m}×{m} input with padding='same'. Keras/"
              "TensorFlow want ceil({m}/{s}) = {o} outputs, which needs {total} zero "
              "in total per axis: pad_before = {total}//2 = {top}, the odd one goes "
              "after: {bottom} at the bottom, {right} on the right.",
        "torch": "PyTorch's nn.Conv2d(..., stride={s}, padding={p}) puts {p} zero on "
                 "EVERY side: {m}+2 = {mp} wide, floor(({mp} - 3) / {s}) + 1 = {o} "
                 "outputs. Same shape, but its windows start one row and one column "
                 "earlier.",
        "diff": "Same {o}×{o} shape, different numbers (cells marked differ). To get "
                "Keras's result in PyTorch, pad explicitly: F.pad(x, (0, 1, 0, 1)) "
                "(left, right, top, bottom), then padding=0.",
        "ask_pads": "Keras, padding='same', stride {s}, {m}×{m} input, 3×3 window: "
                    "how many zero rows on top, and how many at the bottom?",
        "why_pads": "ceil({m}/{s}) = {o} outputs need ({o}-1)×{s} + 3 - {m} = {total} "
                    "zero; TensorFlow puts total//2 = {top} on top and the rest, "
                    "{bottom}, at the bottom.",
        "keras": "Keras / TensorFlow 'same'", "torch_title": "PyTorch padding=1",
    },
    "ko": {
        "intro": "입력 {n}×{n}, 모든 값이 1인 3×3 필터 (출력은 패치의 합). 케라스 "
                 "Conv2D는 padding='valid'(기본값: 패딩 없음)나 padding='same'(입력 "
                 "둘레에 0 추가)을 받습니다.",
        "valid": "1부: padding='valid'. 윈도우가 입력 안에만 놓일 수 있으므로 "
                 "{o}×{o}번 들어갑니다: {working}.",
        "same_pad": "2부: padding='same'. 입력 둘레에 0(회색)을 덧붙입니다. 3×3 "
                    "윈도우에는 행과 열이 3 - 1 = 2줄씩 더 필요합니다: 위 {top}, 아래 "
                    "{bottom}, 왼쪽 {left}, 오른쪽 {right}. 이제 윈도우가 {n}×{n}번 "
                    "들어갑니다: {working}.",
        "compare": "'valid'는 {v}×{v}, 'same'은 {n}×{n} 그대로. 'same'의 가장자리 "
                   "칸은 값이 작습니다: 윈도우 일부가 0을 읽기 때문입니다.",
        "ask_same": "padding='same', 스트라이드 1이면 이 {n}×{n} 입력의 출력 크기는?",
        "tf": "3부: {m}×{m} 입력에 스트라이드 {s}, padding='same'. 케라스/텐서플로는 "
              "출력 ceil({m}/{s}) = {o}개를 원하고, 그러려면 축마다 0이 모두 {total}개 "
              "필요합니다: 앞쪽 = {total}//2 = {top}, 남는 하나는 뒤쪽으로: 아래 "
              "{bottom}, 오른쪽 {right}.",
        "torch": "파이토치 nn.Conv2d(..., stride={s}, padding={p})는 모든 변에 0을 "
                 "{p}개씩 붙입니다: 너비 {m}+2 = {mp}, floor(({mp} - 3) / {s}) + 1 = "
                 "{o}. 크기는 같지만 윈도우가 한 행, 한 열 앞에서 시작합니다.",
        "diff": "크기는 둘 다 {o}×{o}이지만 값이 다릅니다 (표시된 칸). 파이토치에서 "
                "케라스와 "
                "같은 결과를 얻으려면 F.pad(x, (0, 1, 0, 1))로 직접 패딩하고 "
                "padding=0을 쓰세요.",
        "ask_pads": "케라스, padding='same', 스트라이드 {s}, {m}×{m} 입력, 3×3 윈도우: "
                    "위에 0이 몇 줄, 아래에 몇 줄 붙을까요?",
        "why_pads": "출력 ceil({m}/{s}) = {o}개에는 ({o}-1)×{s} + 3 - {m} = "
                    "{total}개의 "
                    "0이 필요합니다. 텐서플로는 total//2 = {top}개를 위에, 나머지 "
                    "{bottom}개를 아래에 붙입니다.",
        "keras": "케라스/텐서플로 'same'", "torch_title": "파이토치 padding=1",
    },
}


def make_inputs(size: int = SIZE[0], seed: int | None = None):
    """Small integers: the square input and an even one for part 3."""
    rng = np.random.default_rng(0 if seed is None else seed)
    even = size + size % 2
    return (rng.integers(0, 5, (size, size)).astype(np.float32),
            rng.integers(0, 5, (even, even)).astype(np.float32))


def filter_grid(lang: str) -> Grid:
    """The 3×3 filter, titled in the lesson's language."""
    return Grid(FILTER, title=f"{label('filter', lang)} 3×3")


def build(lang: str = "en", seed: int | None = None, size: int | None = None
          ) -> Lesson:
    n = size or SIZE[0]
    words = TEXT[lang]
    image, even = make_inputs(n, seed)
    kernel = FILTER[:, :, None, None]
    valid = trace.trace_conv(image, kernel)
    same = trace.trace_conv(image, kernel, padding="same")
    frames = [Frame(Group(side_by_side(input_grid(valid, None, lang=lang),
                                       filter_grid(lang))),
                    say(words["intro"], n=n), key=True, hold=4)]
    # part 1: valid
    v_frames = conv_frames(valid, lang, detail=(), keys={len(valid) - 1}, hold=0.7)
    frames.append(Frame(v_frames[0].view, say(
        words["valid"], o=valid.out_h, working=shapes.output_size_working(n, 3)),
        key=True, hold=3, data={"step": valid[0]}))  # Part 1 read in print too
    frames += v_frames
    # part 2: same
    top, bottom, left, right = same.pad.pads
    pad_caption = say(words["same_pad"], top=top, bottom=bottom, left=left,
                      right=right, n=same.out_h,
                      working=f"floor(({n} + 2 - 3) / 1) + 1 = {same.out_h}")
    frames.append(Frame(Group(side_by_side(input_grid(same, None, lang=lang),
                                           output_grid(same, 0, 0, lang=lang)),
                              PlainLegend(lang)), pad_caption, key=True, hold=5,
                        question=Question(say(words["ask_same"], n=n),
                                          ints_check([n, n]), f"{n}×{n}", pad_caption),
                        data={"pads": same.pad.pads}))
    frames += conv_frames(same, lang, detail={0}, keys={0, len(same) - 1},
                          quiz={same.out_w - 1}, hold=0.8)
    frames.append(Frame(Group(side_by_side(
        output_grid(valid, 0, len(valid), title="'valid'", lang=lang),
        output_grid(same, 0, len(same), title="'same'", lang=lang))),
        say(words["compare"], v=valid.out_h, n=same.out_h), key=True, hold=5,
        data={"valid_output": valid.outputs[:, :, 0],
              "same_output": same.outputs[:, :, 0]}))
    frames += _stride_two(even, kernel, lang)
    return Lesson(NAME, TITLE[lang], frames, lang)


def _stride_two(even, kernel, lang) -> list[Frame]:
    """Part 3: Keras's asymmetric 'same' versus PyTorch's symmetric padding=1."""
    words, m, s, p = TEXT[lang], even.shape[0], STRIDE, TORCH_PADDING
    tf = trace.trace_conv(even, kernel, strides=s, padding="same")
    pt = trace.trace_conv(even, kernel, strides=s, padding=(p, p, p, p))
    top, bottom, left, right = tf.pad.pads
    values = dict(s=s, m=m, o=tf.out_h, total=top + bottom, top=top, bottom=bottom,
                  right=right, p=p, mp=m + 2 * p)
    tf_caption = say(words["tf"], **values)
    frames = [Frame(_first_window(tf, words["keras"], lang), tf_caption, key=True,
                    hold=5, question=Question(
                        say(words["ask_pads"], **values), ints_check([top, bottom]),
                        f"{top}, {bottom}", say(words["why_pads"], **values)),
                    data={"tf_pads": tf.pad.pads})]
    frames += conv_frames(tf, lang, detail=(), hold=0.7)
    frames.append(Frame(_first_window(pt, words["torch_title"], lang),
                        say(words["torch"], **values), key=True, hold=5,
                        data={"torch_pads": pt.pad.pads}))
    frames += conv_frames(pt, lang, detail=(), hold=0.7)
    differ = tf.outputs[:, :, 0] != pt.outputs[:, :, 0]
    frames.append(Frame(Group(side_by_side(
        Grid(tf.outputs[:, :, 0], title=words["keras"], chosen=differ),
        Grid(pt.outputs[:, :, 0], title=words["torch_title"], chosen=differ)),
        DifferLegend(lang)), say(words["diff"], **values), key=True, hold=6,
        data={"tf_output": tf.outputs[:, :, 0], "torch_output": pt.outputs[:, :, 0]}))
    return frames


class DifferLegend:
    """Says which cells differ: marked ``< >`` in plain text, green in colour
    (where no brackets are drawn, so the legend shows the green instead)."""

    WORDS = {"en": "differ", "ko": "다른 값"}

    def __init__(self, lang: str):
        self.lang = lang

    def __rich_console__(self, console, options):
        differ = self.WORDS.get(self.lang, self.WORDS["en"])
        if console.color_system is None:
            yield Text(f"  < > {differ}", style="grey50")
        else:
            yield Text.assemble("  ", ("   ", STYLES["chosen"][0]), f" {differ}")


def _first_window(t, title, lang):
    step = t[0]
    grid = input_grid(t, step, lang=lang)
    grid.title = f"{title}: {grid.title}"
    return Group(side_by_side(grid, output_grid(t, 0, 0, lang=lang)),
                 PlainLegend(lang))


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size))
