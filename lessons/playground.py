"""Lesson: playground — your own convolution (or pooling), every number worked out.

Run it::

    python -m convsim.lesson playground
    python -m convsim.lesson playground --size 7 --kernel 3 --stride 2 \\
        --padding same --dilation 1 --filters 2 --channels 3
    python -m convsim.lesson playground --size 15 --pool 2      # the book's 15 -> 7
    python -m convsim.lesson playground --quiz --lang ko

The other lessons show the book's examples; here the learner picks the
numbers, as in CNN Explainer or Dumoulin and Visin's convolution arithmetic,
and sees what convsim's real ``Conv2D`` (or ``MaxPooling2D``) does with them:

1. the layer the flags describe, in Keras's words;
2. the output size, the formula filled in with those numbers (for ``'same'``,
   TensorFlow's rule for the zeros, the odd one at the bottom/right);
3. which input rows and columns no window reads, and why;
4. every window, its products and sums, from the trace of the real layer;
5. for a convolution, a note for readers of maths books: deep learning's
   "convolution" is cross-correlation; the mathematical convolution flips the
   filter and gives another map, computed here.

A combination the layer refuses (a window larger than the padded input, a
stride of 0...) gets the layer's and ``convsim.ops``'s own error (:func:`settings`).
"""

from __future__ import annotations

import re

import numpy as np
from rich.console import Console

from convsim import layers, ops, shapes, trace
from convsim.errors import ArgumentError
from convsim.lesson import window_story
from convsim.lesson.frames import Frame, Lesson
from convsim.lesson.layout import Fit
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.story import TEXT as STORY
from convsim.lesson.story import conv_frames, move_caption, pool_caption, pool_question
from convsim.lesson.words import say
from convsim.validation import PADDINGS, positive_int, standardize_choice
from convsim.viz import playground_view as view
from convsim.viz.grid import fmt_number

NAME = "playground"
TITLE = {"en": "Playground", "ko": "합성곱 놀이터"}
SUMMARY = {
    "en": "your own --size, --kernel, --stride, --padding, --dilation, --filters, "
          "--channels (or --pool): output size, dropped rows, every window",
    "ko": "내가 고른 --size, --kernel, --stride, --padding, --dilation, --filters, "
          "--channels (또는 --pool): 출력 크기, 버려지는 행, 모든 윈도우",
}
FPS = 2.0
SIZE = (8, 1, 16)  # default, smallest, largest input side
DEFAULTS = {"kernel": 3, "stride": 2, "padding": "valid", "dilation": 1,
            "filters": 1, "channels": 1}
MOST = {"filters": 4, "channels": 4}  # maps a frame can show side by side
OPTIONS = {
    "kernel": ("K", "a K×K kernel (default 3)"),
    "stride": ("S", "strides (default 2, 1 with --dilation; with --pool, the pool "
                    "size)"),
    "padding": ("valid|same", "padding (default valid)"),
    "dilation": ("D", "dilation_rate: the kernel's taps D cells apart (default 1)"),
    "filters": ("F", "how many filters (default 1, at most 4)"),
    "channels": ("C", "input channels (default 1, at most 4; 3 is RGB)"),
    "pool": ("P", "a P×P max pooling instead of a convolution"),
}
LATER_FILTER_WINDOWS = 100  # above this, filters after the first show their map only

TEXT = {
    "en": {
        "intro": "Your convolution: input {n}×{n}×{c}, {f} {filters} of "
                 "{k}×{k}×{c}, strides={s}, padding='{p}', dilation_rate={d}. In "
                 "Keras: [bold]layers.Conv2D({f}, {k}, strides={s}, padding='{p}', "
                 "dilation_rate={d})[/]. Every number that follows comes from "
                 "convsim's real Conv2D layer (inputs 0 to 3, weights -1 to 1, bias 0 "
                 "as Keras starts it).",
        "pool_intro": "Your max pooling: input {n}×{n}×{c}, pool_size={k}, "
                      "strides={s}, padding='{p}'. In Keras: [bold]layers."
                      "MaxPooling2D({k}, strides={s}, padding='{p}')[/]. It has no "
                      "weights: each window keeps its largest value, channel by "
                      "channel.",
        "big": " Where your input is bigger than the screen, a grid marked (part) "
               "shows the cells around the window, with their real row and column "
               "numbers.",
        "try": " Change any number: --size, --kernel, --stride, --padding, "
               "--dilation, --filters, --channels, or --pool 2.",
        "pool_try": " Change any number: --size, --pool, --stride, --padding, "
                    "--channels; without --pool, a convolution.",
        "detail_one": "The first window: the patch under it times the filter, cell "
                      "by cell: {taps} {products}, sum {sum}.",
        "detail": "The first window covers all {c} channels at once. Channel {ch}: "
                  "its patch times filter 1's {ch} slice, cell by cell: {taps} "
                  "{products}, sum {sum}.",
        "detail_pad": " The taps on the padding read zeros.",
        "next_filter": "Filter {f} has its own {k}×{k}×{c} weights: it slides over "
                       "the same {m} positions and writes its own map.",
        "later": "Filter {f} slides over the same {m} positions with its own "
                 "weights; here is its finished map (every window of filter 1 was "
                 "shown; --filters 1 to watch one).",
        "done": "Done: {m} windows per filter, {f} {filters}. The output is "
                "{oh}×{ow}×{f}, one map per filter: shape (1, {oh}, {ow}, {f}) for a "
                "batch of one image.",
        "pool_done": "Done: {m} windows per channel. The output is {oh}×{ow}×{c}: "
                     "pooling keeps the channels, shape (1, {oh}, {ow}, {c}).",
        "pool_others": " The other channels are pooled by the same windows.",
        "filter": "filter", "filters": "filters", "product": "product",
        "products": "products",
        "not_number": "--{flag} must be a whole number, e.g. --{flag} {example}. "
                      "Received: --{flag} {value}",
        "too_many": "The playground draws at most {most} {flag}. Received: --{flag} "
                    "{value}",
        "too_wide": "The playground draws windows at most {most} cells across, and "
                    "this one spans d×(k-1) + 1 = {d}×({k}-1) + 1 = {span} (--kernel "
                    "{k} --dilation {d}). ops.conv itself takes any size.",
        "too_wide_pool": "The playground draws windows at most {most} cells across. "
                         "Received: --pool {k}",
        "pool_only": "--{flag} is for a convolution; with --pool the layer is "
                     "MaxPooling2D(pool_size, strides, padding). Received: --{flag} "
                     "{value} with --pool {pool}",
        "size": "--size for the playground must be between {low} and {high}. "
                "Received: --size {value}",
    },
    "ko": {
        "intro": "내가 고른 합성곱: 입력 {n}×{n}×{c}, {k}×{k}×{c} 필터 {f}개, "
                 "strides={s}, padding='{p}', dilation_rate={d}. 케라스로 쓰면 "
                 "[bold]layers.Conv2D({f}, {k}, strides={s}, padding='{p}', "
                 "dilation_rate={d})[/]. 이어지는 모든 숫자는 convsim의 실제 Conv2D "
                 "층이 계산합니다 (입력 0~3, 가중치 -1~1, 편향은 케라스의 초깃값인 0).",
        "pool_intro": "내가 고른 최대 풀링: 입력 {n}×{n}×{c}, pool_size={k}, "
                      "strides={s}, padding='{p}'. 케라스로 쓰면 [bold]layers."
                      "MaxPooling2D({k}, strides={s}, padding='{p}')[/]. 가중치가 "
                      "없습니다: 윈도우마다, 채널마다 가장 큰 값만 남깁니다.",
        "big": " 입력이 화면보다 크면 (일부) 표시가 붙은 그리드가 윈도우 주변 칸만 "
               "실제 행·열 번호와 함께 보여 줍니다.",
        "try": " 값을 바꿔 보세요: --size, --kernel, --stride, --padding, "
               "--dilation, --filters, --channels, 또는 --pool 2.",
        "pool_try": " 값을 바꿔 보세요: --size, --pool, --stride, --padding, "
                    "--channels. --pool을 빼면 합성곱입니다.",
        "detail_one": "첫 번째 윈도우: 윈도우 아래의 패치와 필터를 요소별로 곱합니다. "
                      "곱 {taps}개의 합: {sum}.",
        "detail": "첫 번째 윈도우는 채널 {c}개를 한꺼번에 덮습니다. {ch} 채널: 패치와 "
                  "필터 1의 {ch} 조각을 요소별로 곱합니다. 곱 {taps}개의 합: {sum}.",
        "detail_pad": " 패딩 위의 탭은 0을 읽습니다.",
        "next_filter": "필터 {f}에는 자기만의 {k}×{k}×{c} 가중치가 있습니다: 같은 "
                       "{m}곳을 지나며 자기 맵을 만듭니다.",
        "later": "필터 {f}도 자기 가중치로 같은 {m}곳을 지나갑니다. 완성된 맵만 "
                 "보여 줍니다 (필터 1은 윈도우를 모두 보여 주었습니다. 하나만 보려면 "
                 "--filters 1).",
        "done": "끝: 필터마다 윈도우 {m}개, 필터 {f}개. 출력은 {oh}×{ow}×{f}, 필터마다 "
                "맵 하나: 이미지 한 장의 배치라면 크기 (1, {oh}, {ow}, {f}).",
        "pool_done": "끝: 채널마다 윈도우 {m}개. 출력은 {oh}×{ow}×{c}: 풀링은 채널 "
                     "수를 그대로 둡니다. 크기 (1, {oh}, {ow}, {c}).",
        "pool_others": " 다른 채널도 같은 윈도우로 풀링합니다.",
        "filter": "필터", "filters": "필터", "product": "곱", "products": "곱",
        "not_number": "--{flag}에는 정수를 주세요 (예: --{flag} {example}). 받은 값: "
                      "--{flag} {value}",
        "too_many": "놀이터가 그릴 수 있는 --{flag} 값은 최대 {most}입니다. 받은 값: "
                    "--{flag} {value}",
        "too_wide": "놀이터는 폭이 {most}칸 이하인 윈도우만 그립니다. 이 윈도우의 폭은 "
                    "d×(k-1) + 1 = {d}×({k}-1) + 1 = {span} (--kernel {k} --dilation "
                    "{d}). ops.conv 자체는 어떤 크기든 받습니다.",
        "too_wide_pool": "놀이터는 폭이 {most}칸 이하인 윈도우만 그립니다. 받은 값: "
                         "--pool {k}",
        "pool_only": "--{flag} 옵션은 합성곱용입니다. --pool을 주면 층은 MaxPooling2D"
                     "(pool_size, strides, padding)입니다. 받은 값: --{flag} {value}, "
                     "--pool {pool}",
        "size": "놀이터의 --size는 {low}부터 {high}까지입니다. 받은 값: --size {value}",
    },
}


# ---------------------------------------------------------------- the learner's numbers


def settings(lang: str = "en", size=None, kernel=None, stride=None, padding=None,
             dilation=None, filters=None, channels=None, pool=None) -> dict:
    """The layer the options describe, checked before anything is drawn.

    Values may be strings (the command line's) or ints. The layer's own
    constructor (``Conv2D`` or ``MaxPooling2D``) and :func:`convsim.ops.
    conv_geometry`, the check ``ops.conv`` makes, check them first, so a zero
    stride or a window larger than the padded input gets their message.

    Raises:
        ArgumentError: naming the flag, the rule and the value received.
    """
    t = TEXT[lang]
    given = dict(kernel=kernel, stride=stride, dilation=dilation, filters=filters,
                 channels=channels, pool=pool)
    num = {name: _whole(value, name, t, DEFAULTS.get(name))
           for name, value in given.items()}
    n = _whole(size, "size", t, SIZE[0])
    if not SIZE[1] <= n <= SIZE[2]:
        raise ArgumentError(t["size"].format(low=SIZE[1], high=SIZE[2], value=n))
    padding = standardize_choice(DEFAULTS["padding"] if padding is None else padding,
                                 PADDINGS, "padding")
    c = positive_int(num["channels"], "channels")
    if pool is not None:
        for name in ("kernel", "dilation", "filters"):
            if given[name] is not None:
                raise ArgumentError(t["pool_only"].format(flag=name, value=given[name],
                                                          pool=pool))
        k, s, d, f = num["pool"], num["pool"] if stride is None else num["stride"], 1, 0
        layers.MaxPooling2D(k, s, padding, name="max_pooling2d")
    else:
        k, d, f = num["kernel"], num["dilation"], num["filters"]
        # Keras refuses strides > 1 with dilation_rate > 1: a dilated default is 1
        s = num["stride"] if stride is not None else 1 if d != 1 else DEFAULTS["stride"]
        layers.Conv2D(f, k, strides=s, padding=padding, dilation_rate=d,
                      name="conv2d")
    ops.conv_geometry((1, n, n, c), k, s, padding, d,
                      what="pool" if pool is not None else "kernel")
    _check_drawable(t, k, d, pool is not None, filters=f, channels=c)
    return dict(n=n, c=c, k=k, s=s, p=padding, d=d, f=f, pool=pool is not None)


def _check_drawable(t: dict, k: int, d: int, pool: bool, **counts) -> None:
    """What a frame of 80 columns can show: a window at most ``view.VIEW``
    cells across, at most ``MOST`` filters and channels."""
    span = shapes.effective_window(k, d)
    if span > view.VIEW:
        raise ArgumentError(t["too_wide_pool" if pool else "too_wide"].format(
            most=view.VIEW, d=d, k=k, span=span))
    for name, value in counts.items():
        if value > MOST[name]:
            raise ArgumentError(t["too_many"].format(most=MOST[name], flag=name,
                                                     value=value))


def _whole(value, flag: str, t: dict, default=None):
    """An int from a command-line string (``default`` for None); other values
    go on to the checks."""
    if value is None or not isinstance(value, str):
        return default if value is None else value
    if not re.fullmatch(r"\s*[+-]?\d+\s*", value):
        example = SIZE[0] if flag == "size" else DEFAULTS.get(flag, 2)
        raise ArgumentError(t["not_number"].format(flag=flag, example=example,
                                                   value=value))
    return int(value)


def make_input(n: int, channels: int, seed: int | None = None,
               distinct: bool = False) -> np.ndarray:
    """Small integers 0-3, ``(n, n, channels)``; ``distinct`` values (one
    maximum per pooling window) for pooling."""
    rng = np.random.default_rng(0 if seed is None else seed)
    if distinct:
        return np.stack([rng.choice(max(n * n, 20), n * n, replace=False).reshape(
            n, n) for _ in range(channels)], axis=-1).astype(np.float32)
    return rng.integers(0, 4, (n, n, channels)).astype(np.float32)


def make_kernel(k: int, channels: int, filters: int, seed: int | None = None
                ) -> np.ndarray:
    """Weights -1, 0 or 1, ``(k, k, channels, filters)``; never an all-zero filter."""
    rng = np.random.default_rng(1 if seed is None else seed + 1)
    kernel = rng.integers(-1, 2, (k, k, channels, filters)).astype(np.float32)
    for f in range(filters):
        if not kernel[:, :, :, f].any():
            kernel[k // 2, k // 2, 0, f] = 1
    return kernel


# ---------------------------------------------------------------- the frames


def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          kernel=None, stride=None, padding=None, dilation=None, filters=None,
          channels=None, pool=None) -> Lesson:
    """The frames of the lesson (nothing is drawn yet)."""
    g = settings(lang, size, kernel, stride, padding, dilation, filters, channels,
                 pool)
    image = make_input(g["n"], g["c"], seed, distinct=g["pool"])
    if g["pool"]:
        t = trace.trace_pool(image, g["k"], g["s"], g["p"])
        frames = _opening(t, g, lang) + _pool_windows(t, lang)
        frames.append(_done(t, g, lang))
    else:
        t = trace.trace_conv(image, make_kernel(g["k"], g["c"], g["f"], seed),
                             strides=g["s"], padding=g["p"], dilation_rate=g["d"])
        frames = _opening(t, g, lang) + _first_window(t, lang) + _conv_windows(t, lang)
        frames += [_done(t, g, lang), window_story.flip_frame(t, lang)]
    return Lesson(NAME, TITLE[lang], frames, lang)


def _opening(t, g, lang) -> list[Frame]:
    """The layer in Keras's words, its output size, its zeros, its unread rows."""
    words, c = TEXT[lang], g["c"]
    caption = say(words["pool_intro" if g["pool"] else "intro"], n=g["n"], c=c,
                  k=g["k"], s=g["s"], p=g["p"], d=g["d"], f=g["f"],
                  filters=words["filter" if g["f"] == 1 else "filters"])
    if max(*t.pad.padded_hw, t.out_h) > view.VIEW:
        caption += words["big"]
    frames = [Frame(Fit(*view.intro_layouts(t, lang)), caption, key=True, hold=10),
              window_story.size_frame(t, lang)]
    if g["p"] == "same":
        frames.append(window_story.padding_frame(t, lang))
    frames.append(window_story.reach_frame(t, lang))
    return frames


def _first_window(t, lang) -> list[Frame]:
    """The first window channel by channel: its products and their sum."""
    step, channels = t[0], t.inputs.shape[2]
    taps = step.weights.shape[0] * step.weights.shape[1]
    frames = []
    for ch in range(channels):
        caption = say(TEXT[lang]["detail_one" if channels == 1 else "detail"],
                      c=channels, ch=view.channel_name(ch, channels, lang), taps=taps,
                      products=TEXT[lang]["product" if taps == 1 else "products"],
                      sum=fmt_number(step.channel_sums[ch]))
        if step.is_padding.any():
            caption += TEXT[lang]["detail_pad"]
        frames.append(Frame(_fit(view.conv_step_layouts, t, step, lang, channel=ch,
                                    written=0, products=True), caption, key=ch == 0,
                            hold=5, data={"step": step, "channel": ch}))
    return frames


def _conv_windows(t, lang) -> list[Frame]:
    """Every window of every filter (later filters faster, or only their map
    when there are many windows), from the trace of the layer."""
    per_map, words = t.out_h * t.out_w, TEXT[lang]
    kh, _, c = t.kernel.shape[:3]
    frames = []
    for f in range(t.filters):
        if f and per_map * (t.filters - 1) > LATER_FILTER_WINDOWS:
            frames.append(Frame(_fit(view.output_maps, t, lang, [f]),
                                say(words["later"], f=f + 1, m=per_map), hold=4))
            continue
        if f:
            frames.append(Frame(
                _fit(view.conv_step_layouts, t, t[f * per_map], lang, written=0),
                say(words["next_filter"], f=f + 1, k=kh, c=c, m=per_map), hold=4))
        frames += conv_frames(
            t, lang, filter=f, detail=(), keys={per_map - 1} if f == 0 else (),
            quiz={1} if f == 0 and per_map > 1 else (), hold=1 if f == 0 else 0.5,
            view=lambda tr, st, revealed: Fit(*view.conv_step_layouts(
                tr, st, lang, written=st.row * tr.out_w + st.col + (revealed is None),
                hidden=revealed is not None)))  # revealed 0: placed, not summed yet
    return frames


def _pool_windows(t, lang) -> list[Frame]:
    """Every window of the first channel: the window, then the value it keeps."""
    per_map = t.out_h * t.out_w
    frames = []
    for k in range(per_map):
        step = t[k]
        moved = move_caption(step, lang) if step.move else say(
            STORY[lang]["pool_first"], ph=step.window.shape[0], pw=step.window.shape[1])
        question = pool_question(t, k, lang) if k == 1 else None
        if question is not None:  # placed first: the learner picks before the reveal
            frames.append(Frame(_fit(view.pool_step_layouts, t, k, False, lang), moved,
                                hold=2, data={"step": step}))
        frames.append(Frame(_fit(view.pool_step_layouts, t, k, True, lang),
                            f"{moved} {pool_caption(t, k, lang)}",
                            key=k in (0, per_map - 1), hold=3 if k == 0 else 1.5,
                            question=question, data={"step": step}))
    return frames


def _done(t, g, lang) -> Frame:
    """Every output map, the output's shape, and what to try next."""
    words, m = TEXT[lang], t.out_h * t.out_w
    depth = t.outputs.shape[2]
    if g["pool"]:
        caption = say(words["pool_done"], m=m, oh=t.out_h, ow=t.out_w, c=depth)
        caption += words["pool_others"] if depth > 1 else ""
    else:
        caption = say(words["done"], m=m, f=depth, oh=t.out_h, ow=t.out_w,
                      filters=words["filter" if depth == 1 else "filters"])
    caption += words["pool_try" if g["pool"] else "try"]
    return Frame(_fit(view.output_maps, t, lang, range(depth)), caption, key=True,
                 hold=10, data={"output": t.outputs})


def _fit(layouts, *args, **kwargs):
    """A frame's picture: the first of ``layouts(*args, **kwargs)`` that fits
    the terminal, made only when the frame is shown."""
    return lambda: Fit(*layouts(*args, **kwargs))


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, player: Player | None = None,
        **options) -> PlayResult:
    """Play the lesson (as plain key frames unless a player says otherwise);
    ``options`` are those of :data:`OPTIONS` (``kernel=3``...), as for build()."""
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size, **options))
