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
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from convsim import layers, shapes
from convsim.errors import ArgumentError
from convsim.experiments.book_models import build_cats_model
from convsim.layers.graph import fresh_names
from convsim.lesson.frames import Frame, Lesson, Question, ints_check
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.models import load_model

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
        "total": "Total: {sum} = {total} parameters. The largest share, {pct}%, is "
                 "in {layer}. Convolutions have few because one filter is shared by "
                 "every position of the image.",
        "ask": "What is the output shape of {layer} ({kind}), given its input "
               "{shape}?",
        "layer": "layer", "output": "output shape", "working": "how",
        "params": "params",
        "param_working": "parameter working", "unchanged": "unchanged",
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
        "total": "전체: {sum} = 파라미터 {total}개. 가장 많은 {pct}%가 {layer}에 "
                 "있습니다. 합성곱 층은 필터 하나를 이미지의 모든 위치가 공유하므로 "
                 "파라미터가 적습니다.",
        "ask": "{layer} ({kind})의 입력이 {shape}일 때 출력 크기는?",
        "layer": "층", "output": "출력 크기", "working": "계산", "params": "파라미터",
        "param_working": "파라미터 계산", "unchanged": "그대로",
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
        rows.append(Row(name, kind, shape, out, working, params, p_working, caption))
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


def table(rows: list[Row], shown: int, lang: str, total: bool = False) -> Table:
    words = TEXT[lang]
    t = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    t.add_column(words["layer"], no_wrap=True)
    t.add_column(words["output"], justify="right", no_wrap=True)
    t.add_column(words["working"])  # these two wrap on narrow terminals
    t.add_column(words["params"], justify="right")
    for i, row in enumerate(rows[:shown]):
        style = "bold on #1d3557" if i == shown - 1 and not total else None
        t.add_row(row.kind, fmt_shape(row.output_shape), row.working,
                  row.param_working, style=style)
    if total:
        t.add_section()
        t.add_row("Total", "", "", f"{sum(r.params for r in rows):,}", style="bold")
    return t


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
    head = Text(f"  input {fmt_shape(input_shape)}", style="bold")
    frames = [Frame(Group(head, table(rows, 0, lang)), intro, key=True, hold=1.5)]
    for i, row in enumerate(rows):
        question = None
        if model is None and i in QUIZ_LAYERS:
            question = Question(say(words["ask"], layer=row.name, kind=row.kind,
                                    shape=fmt_shape(row.input_shape)),
                                ints_check(row.output_shape),
                                fmt_shape(row.output_shape), row.caption)
        frames.append(Frame(Group(head, table(rows, i + 1, lang)), row.caption,
                            hold=1, question=question, data={"row": row}))
    total = sum(r.params for r in rows)
    biggest = max(rows, key=lambda r: r.params)
    frames.append(Frame(Group(head, table(rows, len(rows), lang, total=True)),
                        say(words["total"], total=f"{total:,}", sum=" + ".join(
                            f"{r.params:,}" for r in rows if r.params),
                            pct=round(100 * biggest.params / max(total, 1)),
                            layer=f"{biggest.kind} '{biggest.name}'"),
                        key=True, hold=3,
                        data={"rows": rows, "total": total}))
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
