"""Lesson: receptive-field — how much of the image one cell sees, layer by layer.

Run it::

    python -m convsim.lesson receptive-field
    python -m convsim.lesson receptive-field --quiz --lang ko
    python -m convsim.lesson receptive-field --model my_model.keras   # your model

The book (5.1.1-5.1.2): a convnet learns a spatial hierarchy of patterns. A
cell of the first 3x3 convolution sees 3x3 pixels; each layer after it looks
at a window of the cells below, so its cells see more of the image: in the
book's MNIST convnet 3x3, then 4x4 after the first pooling, 8x8, 10x10 and
18x18. Each number on screen is worked out from the real layers' kernel sizes,
strides, paddings and dilations (:mod:`convsim.trace.receptive_field`), never
copied from a table. Then the book's two reasons for max pooling, with the
numbers of the same model built without it: the last convolution would see
only 7x7 pixels, and the Dense layer would need 54 times as many weights.
"""

from __future__ import annotations

import numpy as np
from convsim.lessons.augmentation import load_photo
from PIL import Image
from rich.console import Console, Group
from rich.text import Text

from convsim import layers
from convsim.errors import ArgumentError
from convsim.experiments.book_models import build_cats_model, build_mnist_model
from convsim.experiments.your_model import sample_digit
from convsim.layers.graph import fresh_names
from convsim.lesson.frames import Frame, Lesson, Question, any_of_check
from convsim.lesson.layout import Fit
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.models import load_model
from convsim.trace.dense_cost import dense_cost, without_pooling
from convsim.trace.receptive_field import Box, LayerField, receptive_fields
from convsim.viz.conv_view import side_by_side
from convsim.viz.fields import cost_table, field_table, fields_picture

NAME = "receptive-field"
TITLE = {"en": "Receptive fields", "ko": "수용 영역"}
SUMMARY = {
    "en": "how much of the image one cell sees, layer by layer (3×3, 4×4, 8×8, "
          "...), and why pooling matters",
    "ko": "칸 하나가 보는 입력 영역이 층마다 커지는 과정(3×3, 4×4, 8×8, ...)과 "
          "풀링이 필요한 이유",
}
FPS = 0.5
SIZE = None
OPTIONS = {"model": ("FILE", "walk through a saved model instead")}
PICTURE_COLUMNS = 28  # a photo is shrunk to at most 28 characters (150 -> 25)

TEXT = {
    "en": {
        "intro": "{picture}, {h}×{w} pixels. One cell of a feature map does not see "
                 "all of it, only a patch: its receptive field. Follow the middle "
                 "cell of each layer of {model} and watch its field (gold) grow.",
        "book_model": "the book's MNIST convnet", "your_model": "your model {path}",
        "digit": "A handwritten {label}", "photo": "A photo",
        "conv_first": "{layer} ({k} window): each cell looks at a {k} patch of the "
                      "image itself. Its field is {size}: {working}, starting "
                      "from a single pixel (size 1, jump 1).",
        "conv": "{layer} ({k} window): each cell looks at {k} cells of the layer "
                "below. Those start {j} apart and each sees {r_in} per side, so "
                "together {working} pixels. Field: {size}.",
        "pool": "{layer} ({k} pooling, stride {s}): a window of {k} cells, {j} "
                "apart: {working}. Field: {size}. The stride makes neighbouring "
                "cells start {jump} apart ({jump_working}), so every window "
                "after it reaches further.",
        "flatten": "{layer} lays the {shape} cells out in one row of {n} numbers. "
                   "Each number still sees only its own cell's {size} pixels.",
        "dense": "{layer} (Dense, {u} units): each unit adds up all {n} numbers, so "
                 "it sees every pixel one of them saw: {size} pixels.",
        "unseen": " The last {rows} and {cols} of the image never reach it: "
                  "the windows of {layer} do not fill its {h}×{w} input and leave "
                  "its last row and column out.",
        "pixels": "{n} pixel", "pixels_many": "{n} pixels",
        "rows": "{n} row", "rows_many": "{n} rows",
        "cols": "{n} column", "cols_many": "{n} columns",
        "dense_more": "{layer} (Dense, {u} units): it sees what the layer before it "
                      "saw, {size} pixels.",
        "same": "{layer} ({kind}) keeps every cell in its place: still {size} "
                "pixels.",
        "ask": "Before the reveal: how many pixels per side does one cell of "
               "{layer} see?",
        "no_pool": "Without its pooling layers the last convolution sees only "
                   "{small} pixels ({grow}): too small a piece of the image to hold "
                   "a whole digit or face, so no layer could learn large shapes. And "
                   "{dense} would have "
                   "{times} times as many weights to learn from the same few "
                   "images: overfitting.",
        "no_pool_none": "This model has no pooling layers, so there is nothing to "
                        "compare: its last convolution sees {small} pixels and "
                        "Flatten gives {flat_with} numbers.",
        "cats": "The book's cats-vs-dogs convnet on {h}×{w} photos: four pooling "
                "layers double the jump four times, to {jump}, and the last "
                "pooled cell sees {size} pixels.",
        "with": "with pooling", "without": "without pooling",
        "cats_photo": "{picture}: the middle cell after each pooling layer, up "
                      "to {size} (gold). Without the four pooling layers, Dense({u}) "
                      "would need {times} times as many weights.",
    },
    "ko": {
        "intro": "{picture}, {h}×{w} 픽셀. 특성 맵의 칸 하나는 이 전체가 아니라 일부 "
                 "패치만 봅니다: 그 칸의 수용 영역입니다. {model}의 층마다 가운데 "
                 "칸을 따라가며 수용 영역(금색)이 커지는 것을 보세요.",
        "book_model": "책의 MNIST 컨브넷", "your_model": "저장한 모델 {path}",
        "digit": "손글씨 숫자 {label}", "photo": "사진 한 장",
        "conv_first": "{layer} ({k} 윈도우): 각 칸은 이미지 자체의 {k} 패치를 "
                      "봅니다. 수용 영역은 {size}: 픽셀 하나(크기 1, 간격 1)에서 "
                      "시작해 {working}.",
        "conv": "{layer} ({k} 윈도우): 각 칸은 아래 층의 {k} 칸을 봅니다. 그 칸들은 "
                "{j} 간격으로 놓여 있고 한 칸이 변마다 {r_in}(을)를 보므로, 합치면 "
                "{working}픽셀입니다. 수용 영역: {size}.",
        "pool": "{layer} ({k} 풀링, 스트라이드 {s}): {j} 간격의 {k} 칸 윈도우: "
                "{working}. 수용 영역: {size}. 스트라이드 때문에 이웃한 칸의 "
                "시작점이 {jump}씩 떨어지므로({jump_working}), 이후의 윈도우는 "
                "모두 더 멀리까지 닿습니다.",
        "flatten": "{layer} 층은 {shape} 칸을 숫자 {n}개의 한 줄로 펼칩니다. 숫자 "
                   "하나는 여전히 자기 칸의 {size} 픽셀만 봅니다.",
        "dense": "{layer} (Dense, 유닛 {u}개): 유닛마다 숫자 {n}개를 모두 더하므로, "
                 "그중 하나라도 본 픽셀은 모두 봅니다: {size} 픽셀.",
        "unseen": " 이미지의 마지막 {rows}(과)와 {cols}(은)는 여기까지 오지 못합니다: "
                  "{layer} 층의 윈도우가 {h}×{w} 입력을 다 채우지 못해 마지막 행과 "
                  "열을 버리기 때문입니다.",
        "pixels": "{n}픽셀", "pixels_many": "{n}픽셀",
        "rows": "{n}개 행", "rows_many": "{n}개 행",
        "cols": "{n}개 열", "cols_many": "{n}개 열",
        "dense_more": "{layer} (Dense, 유닛 {u}개): 앞 층이 본 영역을 그대로 봅니다, "
                      "{size} 픽셀.",
        "same": "{layer} ({kind}) 층은 칸의 위치를 바꾸지 않습니다: 여전히 {size} "
                "픽셀.",
        "ask": "공개하기 전에: {layer} 층의 칸 하나는 한 변에 몇 픽셀을 볼까요?",
        "no_pool": "풀링 층이 없으면 마지막 합성곱 층의 칸은 {small} 픽셀만 봅니다"
                   "({grow}): 숫자나 얼굴 전체가 들어가기에는 너무 작은 조각이라, 어느 "
                   "층도 큰 모양을 학습할 수 없습니다. 또 {dense} 층의 가중치가 "
                   "{times}배로 늘어, 같은 적은 이미지로 배우기에는 너무 많아집니다: "
                   "과대적합.",
        "no_pool_none": "이 모델에는 풀링 층이 없어 비교할 것이 없습니다: 마지막 "
                        "합성곱 층은 {small} 픽셀을 보고, Flatten은 숫자 "
                        "{flat_with}개를 만듭니다.",
        "cats": "책의 개 vs 고양이 컨브넷, {h}×{w} 사진: 풀링 층 네 개가 간격을 네 번 "
                "두 배로 늘려 {jump}(이)가 되고, 마지막 풀링 층의 칸은 {size} 픽셀을 "
                "봅니다.",
        "with": "풀링 있음", "without": "풀링 없음",
        "cats_photo": "{picture}: 풀링 층마다 가운데 칸의 수용 영역, {size}까지"
                      "(금색). 풀링 층 네 개가 없다면 Dense({u}) 층에는 가중치가 "
                      "{times}배 필요합니다.",
    },
}


def _chain(model_layers) -> list:
    return [layer for layer in model_layers
            if not isinstance(layer, layers.InputLayer)]


def picture_of(image, fields, title: str | None = None):
    return fields_picture(image, fields, PICTURE_COLUMNS, title)


# ---------------------------------------------------------------- narration
def caption(fields: list[LayerField], i: int, lang: str) -> str:
    """What layer ``i`` does to the field, with its numbers."""
    words, field = TEXT[lang], fields[i]
    before = fields[i - 1] if i else None
    size, name = _pair(field.size), f"'{field.name}'"
    if field.kind == "Conv2D":
        key = "conv_first" if field.rows_in.size == 1 else "conv"
        return say(words[key], layer=name, k=_pair(field.window),
                   j=_count("pixels", field.rows_in.jump, lang),
                   r_in=_count("pixels", field.rows_in.size, lang),
                   working=field.size_working(0), size=size)
    if field.kind in ("MaxPooling2D", "AveragePooling2D"):
        return say(words["pool"], layer=name, k=_pair(field.window),
                   s=field.strides[0], j=_count("pixels", field.rows_in.jump, lang),
                   working=field.size_working(0), size=size,
                   jump=_count("pixels", field.rows.jump, lang),
                   jump_working=field.jump_working(0))
    if field.kind == "Flatten" and field.flat is not None:
        return say(words["flatten"], layer=name, n=f"{field.output_shape[0]:,}",
                   shape=_pair(field.flat), size=size)
    if field.whole and before is not None and not before.whole:
        text = say(words["dense"], layer=name, u=field.output_shape[-1],
                   n=f"{before.output_shape[0]:,}", size=size)
        return text + unseen(fields[:i], field, lang)
    if field.whole:
        return say(words["dense_more"], layer=name, u=field.output_shape[-1],
                   size=size)
    return say(words["same"], layer=name, kind=field.kind, size=size)


def _count(key: str, n: int, lang: str) -> str:
    """``'1 pixel'``, ``'2 pixels'``; ``'2픽셀'``."""
    return TEXT[lang][key if n == 1 else key + "_many"].format(n=n)


def unseen(fields: list[LayerField], field: LayerField, lang: str) -> str:
    """Why some pixels never reach the Dense layer ('' when all do): the first
    layer whose windows leave the last cells of its input out."""
    seen, (height, width) = field.box(), field.image_hw
    if (seen.height, seen.width) == (height, width):
        return ""
    covered, input_hw = Box(0, 0, height, width), field.image_hw
    for current in fields:
        if current.coverage() != covered:
            return say(TEXT[lang]["unseen"],
                       rows=_count("rows", height - seen.height, lang),
                       cols=_count("cols", width - seen.width, lang),
                       layer=f"'{current.name}'",
                       h=input_hw[0], w=input_hw[1])
        covered, input_hw = current.coverage(), current.output_shape[:2]
    return ""


def _pair(values) -> str:
    return "×".join(str(v) for v in values)


# ---------------------------------------------------------------- the frames
def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          model: str | None = None) -> Lesson:
    """Frames for the book's MNIST convnet (then its cats-vs-dogs convnet),
    or for the saved model at ``model``."""
    words = TEXT[lang]
    if model is None:
        with fresh_names():  # the names the book's model.summary() prints
            net = build_mnist_model()
        model_words = words["book_model"]
    else:
        net = load_model(model)
        model_words = say(words["your_model"], path=model)
    input_shape = _input_shape(net, model)
    model_layers = _chain(net.layers)
    fields = receptive_fields(model_layers, input_shape)
    image, picture_words = _picture(input_shape, seed, lang)
    title = "×".join(str(n) for n in input_shape[:2])
    frames = [Frame(picture_of(image, [], title), say(
        words["intro"], picture=picture_words, h=input_shape[0], w=input_shape[1],
        model=model_words), key=True, hold=2, data={"image": image})]
    frames += layer_frames(fields, image, title, lang)
    pooling = pooling_frame(model_layers, input_shape, image, lang)
    frames += [pooling] if pooling else []
    if model is None:
        frames += cats_frames(lang)
    return Lesson(NAME, TITLE[lang], frames, lang)


def layer_frames(fields: list[LayerField], image, title: str, lang: str) -> list[Frame]:
    """One frame per layer: the picture with the fields so far, the table."""
    maps = [i for i, f in enumerate(fields) if len(f.output_shape) == 3]
    convs = [i for i, f in enumerate(fields) if f.kind == "Conv2D"]
    pools = [i for i, f in enumerate(fields) if f.kind in ("MaxPooling2D",
                                                          "AveragePooling2D")]
    first_whole = next((i for i, f in enumerate(fields) if f.whole), None)
    keys = {convs[0] if convs else 0, pools[0] if pools else 0,
            maps[-1] if maps else 0, first_whole}
    frames = []
    for i, field in enumerate(fields):
        text = caption(fields, i, lang)
        question = None
        if i in convs[1:]:
            rows = field.size[0]
            question = Question(say(TEXT[lang]["ask"], layer=f"'{field.name}'"),
                                any_of_check([(rows,), field.size]),
                                f"{rows}×{field.size[1]}", text)
        view = side_by_side(picture_of(image, fields[:i + 1], title),
                            field_table(fields, i + 1, lang), gap=1)
        frames.append(Frame(view, text, key=i in keys, hold=2, question=question,
                            data={"field": field, "fields": fields[:i + 1]}))
    return frames


def pooling_frame(model_layers, input_shape, image, lang: str) -> Frame | None:
    """The model with and without its pooling layers: field and Dense size
    (None for a model with no Flatten and Dense layer to compare)."""
    words = TEXT[lang]
    with_pool = dense_cost(model_layers, input_shape)
    bare = without_pooling(model_layers)
    if with_pool is None:
        return None
    if len(bare) == len(_chain(model_layers)):
        return Frame(Text(""), say(words["no_pool_none"],
                                   small=_pair(with_pool.last_map.size),
                                   flat_with=f"{with_pool.flat:,}"),
                     key=True, data={"with": with_pool, "without": None})
    without = dense_cost(bare, input_shape)
    bare_fields = receptive_fields(bare, input_shape)
    grow = " → ".join(str(f.size[0]) for f in bare_fields if f.kind == "Conv2D")
    title = "×".join(str(n) for n in input_shape[:2])

    def pictures(columns: int):  # half as wide where the screen is small
        return lambda: Group(side_by_side(*(
            fields_picture(image, [cost.last_map], columns, f"{words[key]} {title}")
            for cost, key in ((with_pool, "with"), (without, "without")))),
            cost_table(with_pool, without, lang))

    text = say(words["no_pool"], small=_pair(without.last_map.size), grow=grow,
               dense=f"Dense({with_pool.units})",
               times=f"{round(without.weights / with_pool.weights):,}")
    return Frame(Fit(pictures(PICTURE_COLUMNS), pictures(PICTURE_COLUMNS // 2)),
                 text, key=True, hold=4,
                 data={"with": with_pool, "without": without,
                       "without_fields": bare_fields})


def cats_frames(lang: str) -> list[Frame]:
    """The book's cats-vs-dogs convnet: its table, then its fields on a photo."""
    words = TEXT[lang]
    with fresh_names():
        net = build_cats_model()
    input_shape = tuple(net.input.shape[1:])
    model_layers = _chain(net.layers)
    fields = receptive_fields(model_layers, input_shape)
    maps = [f for f in fields if len(f.output_shape) == 3]
    last = maps[-1]
    photo, path = load_photo()
    with_pool = dense_cost(model_layers, input_shape)
    without = dense_cost(without_pooling(model_layers), input_shape)
    size = _pair(last.size)
    table = field_table(fields, len(fields), lang)
    growth = Text("  " + " → ".join(str(f.size[0]) for f in maps), style="bold")
    # every layer's square would crowd a photo drawn 25 characters wide: the
    # squares after each pooling layer (4, 10, 22, 46 for the book's model)
    pooled = [f for f in maps if f.kind in ("MaxPooling2D", "AveragePooling2D")]
    picture = picture_of(photo, pooled or maps, _pair(input_shape[:2]))
    return [
        Frame(table, say(words["cats"], h=input_shape[0], w=input_shape[1],
                         jump=_count("pixels", last.rows.jump, lang), size=size)
              + unseen(fields, next(f for f in fields if f.whole), lang),
              key=True, hold=4, data={"cats_fields": fields}),
        Frame(Group(side_by_side(picture, Group(Text(""), growth)),
                    cost_table(with_pool, without, lang)),
              say(words["cats_photo"], picture=words["photo"], size=size,
                  u=with_pool.units,
                  times=f"{round(without.weights / with_pool.weights):,}"),
              key=True, hold=4,
              data={"cats_with": with_pool, "cats_without": without,
                    "photo": path}),
    ]


def _input_shape(net, path: str | None) -> tuple:
    """``(height, width, channels)`` the model takes."""
    shape = getattr(getattr(net, "input", None), "shape", None)
    if shape is None or None in tuple(shape)[1:] or len(shape) != 4:
        raise ArgumentError(f"The model in {path!r} must take images of a fixed "
                            "size (height, width, channels). Received a model whose "
                            f"input is {shape}.")
    return tuple(int(n) for n in tuple(shape)[1:])


def _picture(input_shape, seed, lang: str) -> tuple[np.ndarray, str]:
    """A digit for a 28×28×1 model, else a photo sized to the input."""
    words = TEXT[lang]
    height, width, channels = input_shape
    if (height, width, channels) == (28, 28, 1):
        digit, label, _ = sample_digit(seed)
        return digit, say(words["digit"], label=label)
    photo, _ = load_photo()
    if photo.shape[:2] != (height, width):
        resized = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
        photo = np.asarray(resized.resize((width, height)), dtype=np.float32)
    return photo, words["photo"]


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, model: str | None = None,
        player: Player | None = None) -> PlayResult:
    player = player or Player(console)
    return player.play(build(lang=lang, seed=seed, size=size, model=model))
