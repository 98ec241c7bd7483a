"""Narrated frames about where the windows go, for any traced convolution or pooling.

:mod:`convsim.lesson.story` shows the windows at work; this module says what
their geometry means, with the learner's own numbers:

* :func:`size_frame`: the output-size formula filled in
  (``floor((n + p_total - d×(k-1) - 1) / s) + 1``, and for ``'same'``
  TensorFlow's ``ceil(n / s)`` and its zeros), asked first with ``--quiz``;
* :func:`padding_frame`: where ``'same'`` puts its zeros (the odd one at the
  bottom/right);
* :func:`reach_frame`: the input rows and columns no window reads, and why;
* :func:`flip_frame`: deep learning's "convolution" is cross-correlation; the
  mathematical convolution flips the filter and gives another map.

Every number comes from the trace (its padding, its output, its windows) or
from :mod:`convsim.shapes`; the sentences only put them into words.
"""

from __future__ import annotations

import numpy as np
from rich.cells import cell_len
from rich.text import Text

from convsim import ops, shapes
from convsim.lesson.frames import Frame, Question, any_of_check
from convsim.lesson.layout import Fit
from convsim.lesson.words import say
from convsim.trace import ConvTrace, PoolTrace
from convsim.trace.reach import reach, runs
from convsim.viz import playground_view as view

TEXT = {
    "en": {
        "legend": "n = {n} (input)   k = {k} (window)   s = {s} (stride)   d = {d} "
                  "(dilation)",
        "legend_pool": "n = {n} (input)   k = {k} (pool_size)   s = {s} (stride)   "
                       "d = 1 (no dilation)",
        "span": "window span", "out": "output", "total": "p_total", "check": "check",
        "split": "top = {t} // 2 = {a}, bottom = {t} - {a} = {b}",
        "cols": "  (left {l}, right {r})",
        "size": "The output size, with your numbers (rows and columns alike). {why} "
                "Each output map is [bold]{oh}×{ow}[/].",
        "why_valid": "padding='valid' adds no zeros (p_total = 0), so every window "
                     "must fit inside the input: floor counts the strides that fit.",
        "why_same": "padding='same' first sets the output size, ceil(n / s), then "
                    "adds just enough zeros for that many windows.",
        "ask": "Input {n}×{n}, window {k}×{k}, stride {s}, padding='{p}'{dil}: how "
               "big is each output map? (height×width)",
        "ask_dil": ", dilation {d}",
        "pad": "padding='same' puts zeros around your input (grey): {top} on top, "
               "{bottom} at the bottom, {left} on the left, {right} on the right.",
        "odd": " Their total, {total}, is odd: Keras/TensorFlow put the extra zero at "
               "the bottom and on the right (PyTorch's padding= puts the same number "
               "on every side).",
        "strided": " With stride {s}, 'same' does not keep the size: the output is "
                   "ceil({n} / {s}) = {o}. Only stride 1 keeps it.",
        "no_pad": "padding='same' adds no zeros here: {o} windows with stride {s} "
                  "need ({o}-1)×{s} + {span} = {need} rows, and the input has {n}.",
        "pool_pad": " Max pooling never keeps a padding cell: the zeros only make "
                    "room for the windows.",
        "all_read": "Every input row and column is read by at least one window. The "
                    "numbers count the windows that read each cell: where windows "
                    "overlap, a cell is read more than once.",
        "counts": "The numbers count the windows that read each cell; · is a cell "
                  "no window reads.",
        "after": " No window reads {rows}: the last window reaches down to row {b}, "
                 "and one more stride would need row {c}, past the last row, {last}. "
                 "The formula's floor drops what is left over.",
        "skip": " No window reads {rows}: the window is {tall} tall and moves {s} "
                "rows at a time, so it jumps over the rows between.",
        "same_cols": " The same goes for {cols}.",
        "other_cols": " No window reads {cols} either.",
        "lost": " These cells never reach the output, so training gets no gradient "
                "for them. (The book's cats-vs-dogs model does it too: its last "
                "pooling turns 15×15 into 7×7 and never reads row 14.)",
        "row": "row", "rows": "rows", "col": "column", "cols_word": "columns",
        "flip": "A note for readers of maths books: what deep learning calls "
                "convolution is [bold]cross-correlation[/]. Conv2D slides the filter "
                "as it is; the mathematical convolution (scipy.signal.convolve2d) "
                "first flips it, rows and columns reversed. {result} Learning does "
                "not mind: a network would simply learn the flipped filter.",
        "flip_differs": "With the flipped filter your input gives another map: "
                        "{n} of {m} cells differ.",
        "flip_same": "This filter is the same flipped, so both maps agree here; "
                     "most filters are not.",
        "flip_channels": " (Every channel's slice is flipped; the picture shows "
                         "filter 1's {ch} slice.)",
    },
    "ko": {
        "legend": "n = {n} (입력)   k = {k} (윈도우)   s = {s} (스트라이드)   d = {d} "
                  "(팽창)",
        "legend_pool": "n = {n} (입력)   k = {k} (pool_size)   s = {s} (스트라이드)   "
                       "d = 1 (팽창 없음)",
        "span": "윈도우 폭", "out": "출력", "total": "패딩 합", "check": "검산",
        "split": "위 = {t} // 2 = {a}, 아래 = {t} - {a} = {b}",
        "cols": "  (왼쪽 {l}, 오른쪽 {r})",
        "size": "내가 고른 값으로 계산한 출력 크기 (행과 열 모두 같음). {why} "
                "출력 특성 맵 하나의 크기: [bold]{oh}×{ow}[/].",
        "why_valid": "padding='valid'는 0을 덧붙이지 않으므로(패딩 합 = 0) 모든 "
                     "윈도우가 입력 안에 들어가야 합니다. 내림(floor())은 "
                     "들어가는 스트라이드만 셉니다.",
        "why_same": "padding='same'은 먼저 출력 크기 ceil(n / s)를 정하고, 그만큼의 "
                    "윈도우에 꼭 필요한 만큼만 0을 덧붙입니다.",
        "ask": "입력 {n}×{n}, 윈도우 {k}×{k}, 스트라이드 {s}, padding='{p}'{dil}: "
               "출력 특성 맵 하나의 크기는? (높이×너비)",
        "ask_dil": ", 팽창 {d}",
        "pad": "padding='same'이 입력 둘레에 0을 덧붙입니다(회색): 위 {top}줄, 아래 "
               "{bottom}줄, 왼쪽 {left}열, 오른쪽 {right}열.",
        "odd": " 0의 합계가 홀수({total})이므로 케라스/텐서플로는 남는 0 하나를 "
               "아래쪽과 오른쪽에 붙입니다 (파이토치의 padding= 인자는 모든 변에 같은 "
               "개수를 붙입니다).",
        "strided": " 스트라이드 {s}에서는 'same'도 크기를 유지하지 않습니다: 출력은 "
                   "ceil({n} / {s}) = {o}. 크기가 그대로인 것은 스트라이드 1일 "
                   "때뿐입니다.",
        "no_pad": "padding='same'이지만 여기서는 0을 덧붙이지 않습니다: 스트라이드 "
                  "{s}, 윈도우 {o}개에 필요한 폭 ({o}-1)×{s} + {span} = {need}행이 "
                  "입력의 {n}행을 넘지 않기 때문입니다.",
        "pool_pad": " 최대 풀링은 패딩 칸을 고르지 않습니다: 0은 윈도우가 놓일 자리를 "
                    "만들 뿐입니다.",
        "all_read": "입력의 모든 행과 열을 적어도 한 윈도우가 읽습니다. 숫자는 각 칸을 "
                    "읽는 윈도우의 수입니다: 윈도우가 겹치는 곳은 여러 번 읽힙니다.",
        "counts": "숫자는 각 칸을 읽는 윈도우의 수이고, ·는 어느 윈도우도 읽지 않는 "
                  "칸입니다.",
        "after": " {rows}: 어느 윈도우도 읽지 않습니다. 마지막 윈도우는 행 {b}까지 "
                 "닿고, 한 번 더 이동하면 행 {c}까지 필요하지만 마지막 행은 "
                 "{last}입니다. 공식의 내림(floor())이 남는 부분을 버립니다.",
        "skip": " {rows}: 어느 윈도우도 읽지 않습니다. 윈도우 높이는 {tall}인데 "
                "한 번에 {s}행씩 이동하므로 그 사이의 행을 건너뜁니다.",
        "same_cols": " {cols}도 마찬가지입니다.",
        "other_cols": " 읽히지 않는 {cols}.",
        "lost": " 이 칸들은 출력에 전혀 반영되지 않으므로 훈련 때 그래디언트도 받지 "
                "않습니다. (책의 개와 고양이 분류 모델도 마찬가지: 마지막 풀링이 "
                "15×15를 7×7로 만들며 행 14를 읽지 않습니다.)",
        "row": "행", "rows": "행", "col": "열", "cols_word": "열",
        "flip": "수학 책을 읽는 분을 위한 메모: 딥러닝에서 합성곱이라 부르는 연산은 "
                "사실 [bold]교차 상관[/]입니다. Conv2D는 필터를 그대로 밀고 가지만, "
                "수학의 합성곱(scipy.signal.convolve2d)은 먼저 필터를 뒤집습니다(행과 "
                "열을 거꾸로). {result} 학습에는 상관없습니다: 네트워크가 뒤집힌 "
                "필터를 배우면 그만입니다.",
        "flip_differs": "뒤집은 필터로 계산하면 다른 맵이 나옵니다: {m}칸 중 {n}칸이 "
                        "다릅니다.",
        "flip_same": "이 필터는 뒤집어도 같아서 두 맵이 같습니다. 대부분의 필터는 "
                     "그렇지 않습니다.",
        "flip_channels": " (채널마다 필터 조각을 모두 뒤집습니다. 그림은 필터 1의 "
                         "{ch} 조각입니다.)",
    },
}


def geometry(t: ConvTrace | PoolTrace) -> dict:
    """The numbers of the height axis: n, k, s, d, padding, span, out, pads."""
    k = t.kernel.shape[0] if isinstance(t, ConvTrace) else t.pool_size[0]
    d = t.dilation[0] if isinstance(t, ConvTrace) else 1
    top, bottom, left, right = t.pad.pads
    return dict(n=t.inputs.shape[0], k=k, s=t.strides[0], d=d, p=t.padding,
                span=shapes.effective_window(k, d), o=t.out_h, ow=t.out_w,
                top=top, bottom=bottom, left=left, right=right, total=top + bottom,
                pool=isinstance(t, PoolTrace))


# ---------------------------------------------------------------- output size


def formula_lines(g: dict, lang: str) -> list[str]:
    """The formula with the numbers of ``geometry()`` filled in, line by line."""
    t = TEXT[lang]
    width = max(cell_len(t[key]) for key in ("span", "out", "check")) + 2
    width = max(width, len("padding='valid'") + 2)
    n, k, s, d, total, o = g["n"], g["k"], g["s"], g["d"], g["total"], g["o"]
    dk = d * (k - 1)
    lines = [say(t["legend_pool" if g["pool"] else "legend"], n=n, k=k, s=s, d=d),
             _cell(t["span"], width) + f"d×(k-1) + 1 = {d}×({k}-1) + 1 = {g['span']}"]
    if g["p"] == "valid":
        inner = n + total - dk - 1
        lines += [_cell("padding='valid'", width) + f"{t['total']} = 0",
                  _cell(t["out"], width) + f"floor((n + {t['total']} - d×(k-1) - 1) "
                  "/ s) + 1",
                  _cell("", width) + f"= floor(({n} + 0 - {dk} - 1) / {s}) + 1 "
                  f"= floor({inner} / {s}) + 1 = {o}"]
        return lines
    lines += [_cell("padding='same'", width) + f"{t['out']} = ceil(n / s) = "
              f"ceil({n} / {s}) = {o}",
              _cell("", width) + f"{t['total']} = max(({t['out']} - 1)×s + "
              "d×(k-1) + 1 - n, 0)",
              _cell("", width + cell_len(t["total"]) + 1) + f"= max({o - 1}×{s} + "
              f"{g['span']} - {n}, 0) = {total}",
              _cell("", width) + say(t["split"], t=total, a=g["top"], b=g["bottom"])
              + say(t["cols"], l=g["left"], r=g["right"]),
              _cell(t["check"], width) + f"floor(({n} + {total} - {dk} - 1) / {s}) "
              f"+ 1 = {o}"]
    return lines


def _working(g: dict) -> str:
    """The one line that gives the output size (the quiz's explanation)."""
    if g["p"] == "same":
        return f"ceil({g['n']} / {g['s']}) = {g['o']}"
    return (f"floor(({g['n']} - {g['d']}×({g['k']}-1) - 1) / {g['s']}) + 1 = "
            f"{g['o']}")


def _cell(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal cells (Hangul takes two)."""
    return text + " " * max(width - cell_len(text), 0)


def size_frame(t: ConvTrace | PoolTrace, lang: str) -> Frame:
    """The output size worked out; ``--quiz`` asks for it first."""
    g, words = geometry(t), TEXT[lang]
    lines = formula_lines(g, lang)
    why = words["why_valid" if g["p"] == "valid" else "why_same"]
    caption = say(words["size"], oh=g["o"], ow=g["ow"], why=why)
    dil = "" if g["pool"] else say(words["ask_dil"], d=g["d"])
    answers = [(g["o"], g["ow"]), (g["o"], g["ow"], t.outputs.shape[2])]
    if g["o"] == g["ow"]:
        answers.append((g["o"],))
    question = Question(say(words["ask"], n=g["n"], k=g["k"], s=g["s"], p=g["p"],
                            dil=dil), any_of_check(answers),
                        f"{g['o']}×{g['ow']}", _working(g))
    return Frame(Text("\n".join("  " + line for line in lines)), caption, key=True,
                 hold=8, question=question,
                 data={"out": (g["o"], g["ow"]), "pads": t.pad.pads,
                       "formula": lines})


# ---------------------------------------------------------------- padding


def padding_frame(t: ConvTrace | PoolTrace, lang: str) -> Frame:
    """Where ``'same'`` put its zeros (or why it needed none)."""
    g, words = geometry(t), TEXT[lang]
    if g["total"] == 0 and g["left"] + g["right"] == 0:
        caption = say(words["no_pad"], o=g["o"], s=g["s"], span=g["span"], n=g["n"],
                      need=(g["o"] - 1) * g["s"] + g["span"])
    else:
        caption = say(words["pad"], **g)
        if g["total"] % 2:
            caption += say(words["odd"], total=g["total"])
    if g["s"] > 1:
        caption += say(words["strided"], s=g["s"], n=g["n"], o=g["o"])
    if isinstance(t, PoolTrace):
        caption += words["pool_pad"]
    return Frame(Fit(*view.input_layouts(t, lang)), caption, key=True, hold=8,
                 data={"pads": t.pad.pads})


# ---------------------------------------------------------------- rows no window reads


def reach_frame(t: ConvTrace | PoolTrace, lang: str) -> Frame:
    """The windows per input cell, and every row and column none of them reads."""
    g, words, cover = geometry(t), TEXT[lang], reach(t)
    rows, cols = cover.dropped_rows, cover.dropped_cols
    if not rows and not cols:
        caption = words["all_read"]
    else:
        caption = words["counts"] + _dropped_rows(t, cover, g, lang)
        if cols == rows:
            caption += say(words["same_cols"], cols=named(cols, "col", lang))
        elif cols:
            caption += say(words["other_cols"], cols=named(cols, "col", lang))
        caption += words["lost"]
    return Frame(Fit(*view.reach_layouts(cover, lang)), caption, key=True, hold=10,
                 data={"counts": cover.counts, "dropped_rows": rows,
                       "dropped_cols": cols})


def _dropped_rows(t, cover, g, lang) -> str:
    words, text = TEXT[lang], ""
    after, skipped = cover.after_last(0), cover.skipped(0)
    if skipped:
        # rows between windows: only a stride longer than the window skips
        # them (Keras gives a dilated Conv2D stride 1)
        tall = f"{g['span']}행" if lang == "ko" else (
            f"{g['span']} row" + ("s" if g["span"] > 1 else ""))
        text += say(words["skip"], rows=named(skipped, "row", lang), tall=tall,
                    s=g["s"])
    if after:
        last_top = t[(t.out_h - 1) * t.out_w].top - g["top"]  # input coordinates
        bottom = last_top + g["span"] - 1
        text += say(words["after"], rows=named(after, "row", lang), b=bottom,
                    c=bottom + g["s"], last=g["n"] - 1)
    return text


def listed(indices, lang: str) -> str:
    """``1, 3, 5–7``: runs of rows or columns."""
    del lang  # the same in both languages
    return ", ".join(str(a) if a == b else f"{a}–{b}" for a, b in runs(indices))


def named(indices, what: str, lang: str) -> str:
    """``row 7``, ``rows 1, 3, 5`` (Korean ``행 7``)."""
    words = TEXT[lang]
    single = len(indices) == 1
    name = words[what] if single else words["rows" if what == "row" else "cols_word"]
    return f"{name} {listed(indices, lang)}"


# ---------------------------------------------------------------- the flip


def flip_frame(t: ConvTrace, lang: str) -> Frame:
    """Cross-correlation (what Conv2D computes) against the mathematical
    convolution: the same input run through ``ops.conv`` with every filter
    slice flipped (rows and columns reversed)."""
    words = TEXT[lang]
    flipped = np.ascontiguousarray(t.kernel[::-1, ::-1])
    conv = ops.conv(t.inputs[None], flipped, t.strides, t.padding,
                    dilation_rate=t.dilation)[0]
    xcorr = t.outputs
    differ = int((xcorr[:, :, 0] != conv[:, :, 0]).sum())
    if np.array_equal(flipped, t.kernel):
        result = words["flip_same"]
    else:
        result = say(words["flip_differs"], n=differ, m=xcorr[:, :, 0].size)
    caption = say(words["flip"], result=result)
    if t.kernel.shape[2] > 1:
        caption += say(words["flip_channels"], ch=view.channel_name(
            0, t.kernel.shape[2], lang))
    picture = Fit(*view.flip_layouts(t.kernel[:, :, 0, 0], flipped[:, :, 0, 0],
                                     xcorr[:, :, 0], conv[:, :, 0], lang))
    return Frame(picture, caption, key=True, hold=12,
                 data={"flipped": flipped, "xcorr": xcorr, "conv": conv,
                       "differ": differ})
