"""Lesson: shapes — the book's cats-vs-dogs convnet, layer by layer, with working.

Run it::

    python -m convsim.lesson shapes
    python -m convsim.lesson shapes --quiz
    python -m convsim.lesson shapes --model dogs_and_cats.keras   # your own model

Every row shows how its output shape and parameter count are worked out,
with the numbers filled in: ``floor((148 - 2) / 2) + 1 = 74`` for a pooling
layer, ``(3*3*64 + 1) * 128 = 73,856`` for a convolution. Together they add up
to the 3,453,121 parameters that ``model.summary()`` prints.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from convsim import layers, shapes
from convsim.errors import ArgumentError
from convsim.experiments.book_models import build_cats_model
from convsim.layers.graph import fresh_names
from convsim.lesson.frames import Frame, Lesson, Question, ints_check
from convsim.lesson.layout import Fit
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.models import load_model

from ._parameters import sharing_caption, totals_caption

NAME = "shapes"
TITLE = {"en": "Shapes and parameters", "ko": "출력 크기와 파라미터 수"}
SUMMARY = {
    "en": "the cats-vs-dogs convnet layer by layer: 150x150x3 -> ... -> 1, with the "
          "working",
    "ko": "개 vs 고양이 컨브넷을 층별로: 150×150×3 → ... → 1, 계산 과정과 함께",
}
FPS = 0.5
SIZE = (150, 46, 600)  # the input side; 46 is the smallest this model accepts
OPTIONS = {"model": ("FILE", "walk through a saved model instead")}
QUIZ_LAYERS = (1, 7, 8)  # ask for these output shapes first

TEXT = {
    "en": {
        "intro": "The convnet from the book's cats-vs-dogs example, input {shape}. "
                 "Each row: the layer, its output shape and how it is worked out, "
                 "and its parameters (weights + biases).",
        "model_intro": "Your model {path}, input {shape}.",
        "conv": "{layer}: a {k} window fits {working} times along each side (no "
                "padding), and {f} filters make depth {f}. Each filter has {k}×{c} "
                "weights plus 1 bias.",
        "conv_same": "{layer}: padding='same' keeps the size, {working}; {f} filters "
                     "make depth {f}.",
        "pool": "{layer}: a {k} window with stride {s} keeps one value per window: "
                "{working}. Depth unchanged; no weights.",
        "flatten": "Flatten: the {shape} block becomes one vector of {n} numbers for "
                   "the Dense layers.",
        "dense": "Dense({u}): each of its {u} units sees all {n} inputs, plus a bias: "
                 "{params} parameters.",
        "identity": "{layer}: changes nothing when predicting (Dropout only acts "
                    "while training).",
        "rescaling": "{layer}: each value becomes value × {scale} + {offset}; with "
                     "scale 1/255, pixels 0..255 become 0..1 (the book's "
                     "rescale=1./255, inside the model). Shape unchanged; no weights.",
        "other": "{layer}: output {shape}, {params} parameters.",
        "total": "Total: {sum} = {total} parameters. By kind of layer: {kinds}.",
        "kind_share": "{kind} {pct} ({params})",
        "largest": "The largest layer is {layer}: {params} parameters, {pct} of "
                   "the model.",
        "largest_tie": "The largest layers are {layers}: {params} parameters "
                       "each, {pct} of the model each.",
        "and": " and ",
        "dense_why": "A Dense layer has a weight for every pair of input and unit: "
                     "{layer} joins {n} inputs to {u} units, {working}.",
        "conv_why": "{layer} has {f} filters of {k}×{c} weights: {working}.",
        "no_params": "This model has no parameters to learn.",
        "sharing": "A convolution's parameters do not grow with the image (weight "
                   "sharing): {layer} uses the same {f} filters of {k}×{c} at all "
                   "{positions} positions of its {out} output, {params} parameters "
                   "in all. A Dense layer making the same {out} output from the "
                   "same {inp} input would need ({n_in} + 1) × {n_out} = {dense}: "
                   "one weight for every pair of input and output value, none "
                   "shared.",
        "ask": "What is the output shape of {layer} ({kind}), given its input "
               "{shape}?",
        "layer": "layer", "output": "output shape", "working": "how",
        "params": "params",
        "param_working": "parameter working", "unchanged": "unchanged",
        "input": "input", "total_row": "Total", "above": "⋮ {n} more above",
        "output_short": "output",
    },
    "ko": {
        "intro": "책의 개 vs 고양이 예제 컨브넷, 입력 {shape}. 각 행: 층, 출력 크기와 "
                 "계산 과정, 파라미터(가중치 + 편향) 수.",
        "model_intro": "저장한 모델 {path}, 입력 {shape}.",
        "conv": "{layer}: 패딩 없이 {k} 윈도우가 각 변을 따라 {working}번 "
                "들어가고, 필터 {f}개가 출력의 깊이가 됩니다. 필터 하나는 {k}×{c} "
                "가중치와 편향 1개.",
        "conv_same": "{layer}: padding='same'은 크기를 유지합니다, {working}; "
                     "필터 {f}개가 출력의 깊이가 됩니다.",
        "pool": "{layer}: {k} 윈도우(스트라이드 {s})가 윈도우마다 값 하나만 "
                "남깁니다: {working}. 깊이는 그대로, 가중치 없음.",
        "flatten": "Flatten: {shape} 덩어리를 Dense 층에 넣기 위해 숫자 {n}개의 "
                   "1차원 벡터로 펼칩니다.",
        "dense": "Dense({u}): 유닛 {u}개가 각각 입력 {n}개 전부와 편향 하나를 봅니다: "
                 "파라미터 {params}개.",
        "identity": "{layer}: 예측할 때는 아무것도 바꾸지 않습니다 (드롭아웃은 훈련 "
                    "중에만 동작).",
        "rescaling": "{layer}: 각 값이 값 × {scale} + {offset}이 됩니다; "
                     "scale이 1/255이면 픽셀 0..255가 0..1이 됩니다 (책의 "
                     "rescale=1./255를 모델 안에서). 크기는 그대로, 가중치 없음.",
        "other": "{layer}: 출력 {shape}, 파라미터 {params}개.",
        "total": "전체: {sum} = 파라미터 {total}개. 층 종류별로는 {kinds}.",
        "kind_share": "{kind} {pct}(파라미터 {params}개)",
        "largest": "가장 큰 층은 {layer}입니다: 파라미터 {params}개, 모델 "
                   "전체의 {pct}.",
        "largest_tie": "가장 큰 층은 {layers}입니다: 각각 파라미터 {params}개, "
                       "모델 전체의 {pct}씩.",
        "and": ", ",
        "dense_why": "Dense 층에는 입력과 유닛의 모든 쌍마다 가중치가 하나씩 "
                     "있습니다. {layer}: 입력 {n}개를 유닛 {u}개에 모두 연결하므로 "
                     "{working}.",
        "conv_why": "{layer}: {k}×{c} 가중치로 된 필터 {f}개, {working}.",
        "no_params": "이 모델에는 학습할 파라미터가 없습니다.",
        "sharing": "합성곱 층의 파라미터 수는 이미지가 커져도 늘지 않습니다(가중치 "
                   "공유). {layer}: 같은 {k}×{c} 필터 {f}개를 출력 {out}의 모든 "
                   "위치 {positions}곳에서 함께 써서, 파라미터는 모두 {params}개. "
                   "같은 {inp} 입력에서 같은 {out} 출력을 만드는 Dense 층이라면 "
                   "({n_in} + 1) × {n_out} = {dense}개가 필요합니다. 입력 값과 출력 "
                   "값의 모든 쌍마다 가중치가 하나씩이고, 공유하는 것이 없기 "
                   "때문입니다.",
        "ask": "{layer} ({kind})의 입력이 {shape}일 때 출력 크기는?",
        "layer": "층", "output": "출력 크기", "working": "계산", "params": "파라미터",
        "param_working": "파라미터 계산", "unchanged": "그대로",
        "input": "입력", "total_row": "합계", "above": "⋮ 위에 {n}개 더",
        "output_short": "출력",
    },
}


@dataclass(frozen=True)
class Row:
    """One layer's line: what goes in, what comes out, and how."""

    name: str  # the name the table shows (the book's, for the book's model)
    kind: str  # the layer's class: 'Conv2D', 'MaxPooling2D', ...
    input_shape: tuple
    output_shape: tuple
    working: str
    params: int
    param_working: str
    caption: str
    window: tuple | None = None  # a Conv2D's kernel size, for the sharing sentence


def fmt_shape(shape) -> str:
    return "×".join(str(s) for s in shape)


def walk(model_layers, input_shape, lang: str = "en") -> list[Row]:
    """The rows of the table: each layer's own output shape
    (``compute_output_shape``) and parameter count (``count_params``), with the
    working from :mod:`convsim.shapes`. Rows keep no layer, so the model and
    its weights (320 MB of Dense kernel for a 600×600 input) go once walked."""
    words, rows, shape = TEXT[lang], [], tuple(input_shape)
    for layer in model_layers:
        name = layer.name
        out = tuple(layer.compute_output_shape((None, *shape))[1:])
        params = layer.count_params()
        kind = type(layer).__name__
        working, p_working, caption = _explain(layer, f"{kind} '{name}'", shape, out,
                                               params, words)
        window = tuple(layer.kernel_size) if isinstance(layer, layers.Conv2D) else None
        rows.append(Row(name, kind, shape, out, working, params, p_working, caption,
                        window))
        shape = out
    return rows


def _explain(layer, name, shape, out, params, words):
    """``(working, parameter working, caption)`` of one layer."""
    if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D,
                          layers.AveragePooling2D)):
        return _explain_window(layer, name, shape, params, words)
    if isinstance(layer, layers.Flatten):
        working = f"{'*'.join(str(s) for s in shape)} = {out[0]}"
        return working, "0", say(words["flatten"], shape=fmt_shape(shape), n=out[0])
    if isinstance(layer, layers.Dense):
        n, units = shape[-1], layer.units
        p_working = f"({n} + {int(layer.use_bias)}) * {units} = {params:,}"
        return (f"{n} → {units}", p_working,
                say(words["dense"], u=units, n=f"{n:,}", params=f"{params:,}"))
    if isinstance(layer, (layers.Dropout, layers.InputLayer)):
        return words["unchanged"], "0", say(words["identity"], layer=name)
    if isinstance(layer, layers.Rescaling):
        return words["unchanged"], "0", say(
            words["rescaling"], layer=name, scale=_factor_text(layer.scale),
            offset=_factor_text(layer.offset))
    working = words["unchanged"] if out == shape else fmt_shape(out)
    return working, f"{params:,}", say(words["other"], layer=name,
                                       shape=fmt_shape(out), params=f"{params:,}")


def _factor_text(value) -> str:
    """A Rescaling factor as a learner wrote it: ``1/255`` for 0.00392...,
    ``0.5``, ``(-1)``, or one per channel ``[1/255, 0.5, 2]``."""
    if isinstance(value, tuple):
        return "[" + ", ".join(_factor_text(v) for v in value) + "]"
    text = f"{value:g}"
    inverse = 1 / value if value else 0
    if float(text) != value and abs(inverse) > 1 \
            and abs(inverse - round(inverse)) < 1e-9 * abs(inverse):
        text = f"{'-' if value < 0 else ''}1/{abs(round(inverse))}"
    return f"({text})" if value < 0 else text


def _explain_window(layer, name, shape, params, words):
    """A convolution or pooling: its window fits ``working`` times per side."""
    conv = isinstance(layer, layers.Conv2D)
    window = layer.kernel_size if conv else layer.pool_size
    dilation = layer.dilation_rate if conv else (1, 1)
    axes = [shapes.output_size_working(n, k, s, layer.padding, d)
            for n, k, s, d in zip(shape[:2], window, layer.strides, dilation,
                                  strict=True)]
    working = axes[0] if axes[0] == axes[1] else " ; ".join(axes)
    k = f"{window[0]}×{window[1]}"
    if not conv:
        return working, "0", say(words["pool"], layer=name, k=k,
                                 s=layer.strides[0], working=working)
    kh, kw = window
    p_working = (f"({kh}*{kw}*{shape[2]} + {int(layer.use_bias)}) * "
                 f"{layer.filters} = {params:,}")
    key = "conv_same" if layer.padding == "same" else "conv"
    return working, p_working, say(words[key], layer=name, k=k, c=shape[2],
                                   f=layer.filters, working=working)


def compact(working: str) -> str:
    """The working without its inner spaces, for narrow terminals:
    ``floor((150 - 3) / 1) + 1 = 148`` becomes ``floor((150-3)/1)+1 = 148``."""
    parts = []
    for part in working.split(" ; "):
        left, equals, right = part.rpartition(" = ")
        parts.append(left.replace(" ", "") + equals + right if equals else part)
    return " ; ".join(parts)


def table(rows: list[Row], shown: int, lang: str, total: bool = False,
          input_shape: tuple | None = None, narrow: bool = False,
          start: int = 0) -> Table:
    """The layers ``start`` to ``shown`` (the last one highlighted), after the
    input; ``narrow`` squeezes the working, ``start`` > 0 says how many rows
    are above, scrolled away."""
    words = TEXT[lang]
    fmt = compact if narrow else str
    t = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False,
              show_edge=False)
    t.add_column(words["layer"], no_wrap=True)
    t.add_column(words["output_short" if narrow else "output"], justify="right",
                 no_wrap=True)
    t.add_column(words["working"], no_wrap=not narrow)  # wraps as a last resort
    t.add_column(words["params"], justify="right", no_wrap=not narrow)
    if start:
        t.add_row(Text(say(words["above"], n=start + (input_shape is not None)),
                       style="grey50"), "", "", "")
    elif input_shape is not None:
        t.add_row(words["input"], fmt_shape(input_shape), "", "", style="grey62")
    for i, row in enumerate(rows[start:shown], start):
        style = "bold on #1d3557" if i == shown - 1 and not total else None
        t.add_row(row.kind, fmt_shape(row.output_shape), fmt(row.working),
                  fmt(row.param_working), style=style)
    if total:
        t.add_section()
        t.add_row(words["total_row"], "", "", f"{sum(r.params for r in rows):,}",
                  style="bold")
    return t


def table_view(rows: list[Row], shown: int, lang: str, total: bool = False,
               input_shape: tuple | None = None) -> Fit:
    """The table as it fits the screen: whole with the working spaced out, or
    squeezed, or scrolled so the newest row (and the total) stay in sight."""
    def page(start: int, narrow: bool = True):
        return lambda: table(rows, shown, lang, total, input_shape, narrow, start)

    last = max(shown - 1, 0)
    return Fit(page(0, narrow=False), *(page(start) for start in range(last + 1)))


def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          model: str | None = None) -> Lesson:
    """Frames for the built-in model, or for the saved model at ``model``."""
    words = TEXT[lang]
    if model is not None:
        model_layers, input_shape = _load(model, size)
        intro = say(words["model_intro"], path=model, shape=fmt_shape(input_shape))
    else:
        n = size or SIZE[0]
        input_shape = (n, n, 3)
        with fresh_names():  # the names the book's model.summary() prints
            model_layers = build_cats_model(input_shape=input_shape).layers
        intro = say(words["intro"], shape=fmt_shape(input_shape))
    rows = walk(model_layers, input_shape, lang)
    frames = [Frame(table_view(rows, 0, lang, input_shape=input_shape), intro,
                    key=True, hold=1.5)]
    for i, row in enumerate(rows):
        question = None
        if model is None and i in QUIZ_LAYERS:
            question = Question(say(words["ask"], layer=row.name, kind=row.kind,
                                    shape=fmt_shape(row.input_shape)),
                                ints_check(row.output_shape),
                                fmt_shape(row.output_shape), row.caption)
        frames.append(Frame(table_view(rows, i + 1, lang, input_shape=input_shape),
                            row.caption, hold=1, question=question,
                            data={"row": row}))
    data = {"rows": rows, "total": sum(r.params for r in rows)}
    whole = table_view(rows, len(rows), lang, total=True, input_shape=input_shape)
    frames.append(Frame(whole, totals_caption(rows, words), key=True, hold=3,
                        data=data))
    sharing = sharing_caption(rows, words)
    if sharing:
        frames.append(Frame(whole, sharing, key=True, hold=3, data=data))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _load(path: str, size: int | None):
    """The layers of the saved model at ``path`` and the input shape to walk."""
    model = load_model(path)
    try:
        input_shape = tuple(model.input.shape[1:])
    except AttributeError:  # saved before it knew its input: build it for one
        input_shape = None
    if input_shape is None or None in input_shape:
        if size is None:
            raise ArgumentError(f"The model in {path!r} does not record its input "
                                "shape; pass --size N for an N×N×3 input.")
        channels = input_shape[-1] if input_shape and input_shape[-1] else 3
        if input_shape is None:
            model.build((None, size, size, channels))
        input_shape = (size, size, channels)
    return model.layers, input_shape


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, model: str | None = None,
        player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size, model=model))
