"""Lesson: channels — an RGB input, one 3x3 slice of the filter per channel.

Run it::

    python -m convsim.lesson channels
    python -m convsim.lesson channels --lang ko --quiz

A colour image has three channels (red, green, blue). A 3x3 filter of a
Conv2D layer on it is really 3x3x3: one 3x3 slice per input channel. Each
slice is multiplied with its own channel's patch, the three results are added
(plus the bias) into ONE output number, and relu keeps it if positive. Every
filter makes one output map, so the number of filters is the output's depth:
that is how ``Conv2D(32, (3, 3))`` turns 150x150x3 into 148x148x32.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console, Group
from rich.text import Text

from convsim import trace
from convsim.lesson.frames import Frame, Lesson, Question, ints_check, number_check
from convsim.lesson.layout import Fit
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.viz.conv_view import CHANNEL_NAMES, channels_view, side_by_side
from convsim.viz.grid import Grid, PlainLegend, fmt_number

NAME = "channels"
TITLE = {"en": "Channels", "ko": "채널과 필터 개수"}
SUMMARY = {
    "en": "an RGB input: one filter slice per channel, summed into one value; "
          "filters make the depth",
    "ko": "RGB 입력: 채널마다 필터 조각 하나, 세 결과를 더해 한 값; 필터 수가 출력 "
          "깊이",
}
FPS = 1.5
SIZE = (5, 4, 8)
FILTERS = 2
BIAS = (1.0, -1.0)
ACTIVATION = "relu"
BIG_LAYER_FILTERS = 64  # the quiz asks for the output shape of such a layer

TEXT = {
    "en": {
        "intro": "This input is {h}×{w}×3: red, green and blue. Each filter is "
                 "3×3×3: one 3×3 slice per input channel. The layer has {f} filters, "
                 "so it will make {f} output maps.",
        "channel": "Channel {name}: its patch times filter {k}'s {name} slice adds up "
                   "to {s}.",
        "total": "The three channel sums are added: {sums} = {total}. Plus the bias "
                 "{b} gives {pre}; relu keeps positives and turns negatives into 0: "
                 "output map {k}, cell ({r}, {c}) = [bold]{value}[/].",
        "next_filter": "Filter {k} has its own 3×3×3 weights and its own bias, and "
                       "makes its own output map.",
        "outro": "{f} filters → {f} output maps: the output is {h}×{w}×{f}. The "
                 "number of filters is the depth of the output. In the book's "
                 "cats-vs-dogs model, Conv2D(32, (3, 3)) on 150×150×3 gives "
                 "148×148×32: 32 filters, each 3×3×3.",
        "ask_shape": "A Conv2D layer with {n} filters of 3×3 on this {h}×{w}×3 input "
                     "(no padding): what is the output shape? (height×width×depth)",
        "why_shape": "Each filter makes one {oh}×{ow} map; {n} filters stack into "
                     "depth {n}.",
        "filter": "filter {k}",
    },
    "ko": {
        "intro": "이 입력은 {h}×{w}×3 입니다: 빨강, 초록, 파랑. 필터 하나는 3×3×3, "
                 "즉 입력 "
                 "채널마다 3×3 조각이 하나씩 있습니다. 이 층의 필터는 {f}개이므로 출력 "
                 "맵도 {f}개가 됩니다.",
        "channel": "{name} 채널: 패치와 필터 {k}의 {name} 조각을 곱해 더하면 {s}.",
        "total": "세 채널의 합을 더합니다: {sums} = {total}. 편향({b})을 더하면 {pre}, "
                 "렐루는 양수만 남기고 음수는 0으로 만듭니다: 출력 맵 {k}의 ({r}, "
                 "{c}) = "
                 "[bold]{value}[/].",
        "next_filter": "필터 {k}도 자기만의 3×3×3 가중치와 편향을 가지고, "
                       "자기만의 출력 맵을 만듭니다.",
        "outro": "필터 {f}개 → 출력 맵 {f}개: 출력은 {h}×{w}×{f} 입니다. 필터 개수가 "
                 "출력의 깊이입니다. 책의 개 vs 고양이 모델에서 Conv2D(32, (3, 3))는 "
                 "150×150×3을 148×148×32로 만듭니다: 3×3×3 필터 32개.",
        "ask_shape": "이 {h}×{w}×3 입력에 3×3 필터 {n}개짜리 Conv2D 층(패딩 없음)을 "
                     "적용하면 출력 크기는? (높이×너비×깊이)",
        "why_shape": "필터 하나가 {oh}×{ow} 맵 하나를 만들고, 필터 {n}개가 "
                     "쌓여 출력의 깊이가 됩니다.",
        "filter": "필터 {k}",
    },
}


def make_layer(size: int = SIZE[0], seed: int | None = None):
    """Small-integer RGB pixels and filters, so every sum can be checked by hand."""
    rng = np.random.default_rng(0 if seed is None else seed)
    image = rng.integers(0, 4, (size, size, 3)).astype(np.float32)
    kernel = rng.integers(-1, 2, (3, 3, 3, FILTERS)).astype(np.float32)
    return image, kernel


def _intro_view(t, lang) -> Fit:
    """The three input channels, then every filter's three slices: a row per
    filter where the screen is wide enough, else all six slices in one row,
    unnumbered (and the inputs too, on the smallest screens)."""
    def view(labels: bool, slices_per_row: int, gap: int):
        inputs = [Grid(t.inputs[:, :, c], title=name, labels=labels or
                       slices_per_row == 3)
                  for c, name in enumerate(CHANNEL_NAMES)]
        slices = [Grid(t.kernel[:, :, c, f], labels=slices_per_row == 3,
                       title=f"{TEXT[lang]['filter'].format(k=f + 1)} [{name}]")
                  for f in range(t.filters) for c, name in enumerate(CHANNEL_NAMES)]
        rows = [side_by_side(*slices[i:i + slices_per_row], gap=gap)
                for i in range(0, len(slices), slices_per_row)]
        return lambda: Group(side_by_side(*inputs), *rows, PlainLegend(lang))

    return Fit(view(True, 3, 2), view(True, 3 * t.filters, 1),
               view(False, 3 * t.filters, 1))


def build(lang: str = "en", seed: int | None = None, size: int | None = None
          ) -> Lesson:
    size = size or SIZE[0]
    image, kernel = make_layer(size, seed)
    t = trace.trace_conv(image, kernel, np.array(BIAS[:FILTERS]),
                         activation=ACTIVATION)
    words, per_map = TEXT[lang], t.out_h * t.out_w
    frames = [Frame(_intro_view(t, lang), say(words["intro"], h=size, w=size,
                                              f=t.filters), key=True, hold=4)]
    for index, step in enumerate(t):
        k = step.filter + 1
        first = index % per_map == 0
        if first and step.filter:
            frames.append(Frame(_view(t, step, 0, lang), say(words["next_filter"], k=k),
                                hold=3))
        if index == 0:  # the first step: one channel at a time
            for ch, name in enumerate(CHANNEL_NAMES):
                frames.append(Frame(_view(t, step, ch + 1, lang), say(
                    words["channel"], name=name, k=k,
                    s=fmt_number(step.channel_sums[ch])), hold=2, data={"step": step}))
        question = None
        if index == 1:
            question = Question(
                say("Filter {k}, cell ({r}, {c}): what will the output be (after "
                    "relu)?" if lang == "en" else "필터 {k}, ({r}, {c}) 칸의 출력은 "
                    "(렐루 후) 얼마일까요?", k=k, r=step.row, c=step.col),
                number_check(step.output), fmt_number(step.output),
                _total_caption(step, lang))
        frames.append(Frame(_view(t, step, 3, lang), _total_caption(step, lang),
                            key=index in (0, per_map, len(t) - 1), hold=2 if first
                            else 1, question=question, data={"step": step}))
    oh, ow = t.out_h, t.out_w
    n = BIG_LAYER_FILTERS
    shape_q = Question(say(words["ask_shape"], n=n, h=size, w=size),
                       ints_check([oh, ow, n]), f"{oh}×{ow}×{n}",
                       say(words["why_shape"], oh=oh, ow=ow, n=n))
    maps = [Grid(t.outputs[:, :, f], title=words["filter"].format(k=f + 1))
            for f in range(t.filters)]
    frames.append(Frame(Group(side_by_side(*maps), Text(
        f"  {size}×{size}×3  →  Conv2D({t.filters}, (3, 3))  →  {oh}×{ow}×{t.filters}",
        style="bold")), say(words["outro"], f=t.filters, h=oh, w=ow), key=True,
        hold=6, question=shape_q, data={"output": t.outputs}))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _total_caption(step, lang) -> str:
    sums = " + ".join(f"({fmt_number(s)})" if s < 0 else fmt_number(s)
                      for s in step.channel_sums)
    return say(TEXT[lang]["total"], sums=sums, total=fmt_number(step.total),
               b=fmt_number(step.bias), pre=fmt_number(step.pre_activation_output),
               k=step.filter + 1, r=step.row, c=step.col,
               value=fmt_number(step.output))


def _view(t, step, shown, lang) -> Fit:
    """The step as it fits the screen: the whole input of each channel with the
    maps below; else each channel's patch with the maps beside it, one above
    the other, or side by side, or only the map being written."""
    def view(**layout):
        return lambda: channels_view(t, step, shown, lang, **layout)

    return Fit(view(), view(whole_input=False, maps="beside"),
               view(whole_input=False, maps="row"),
               view(whole_input=False, maps="current"))


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size))
