"""Lesson: activations — one image through a trained convnet, layer by layer.

Run it::

    python -m convsim.lesson activations
    python -m convsim.lesson activations --lang ko --seed 3      # another digit
    python -m convsim.lesson activations --layer conv2d_1 --channel 7
    python -m convsim.lesson activations --model cats.h5 --image cat.jpg
    python -m convsim.lesson activations --save activations.png   # the figure

The book's first look inside a trained convnet (its section 5.4.1, your
notes' 컨브넷 학습 시각화): one image in, and what every convolution and
pooling layer outputs, its *activations*, from an activation model with one
output per layer; each channel is one feature map. The first layer's maps
still look like the image (edges, strokes); higher up they grow abstract, and
more stay blank: the pattern their filter looks for is not in this image.
Without ``--model``: the book's MNIST convnet, trained once on convsim's
digits (about 15 seconds the first time), and a bundled test digit.
"""

from __future__ import annotations

import io
import math
import os

import numpy as np
from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from convsim.errors import ArgumentError
from convsim.experiments.your_model import choose
from convsim.lesson.frames import Frame, Lesson, Question, ints_check
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.words import say
from convsim.viz.activation_view import (
    ChannelTiles,
    ChannelView,
    input_picture,
    tile_layout,
)
from convsim.viz.activations import (
    dead_words,
    layer_activations,
    picture_layers,
    save_activations_png,
)
from convsim.viz.conv_view import side_by_side
from convsim.viz.words import label

NAME = "activations"
TITLE = {"en": "Activations: inside a trained convnet",
         "ko": "활성화: 훈련된 컨브넷의 안"}
SUMMARY = {
    "en": "one digit (or your photo) through a trained convnet: every feature map "
          "of every layer",
    "ko": "숫자 하나(또는 내 사진)가 훈련된 컨브넷을 지나며 층마다 만드는 특성 맵",
}
FPS = 0.5
SIZE = None  # the model decides the input size
OPTIONS = {
    "model": ("FILE", "a saved model to look inside (default: the book's MNIST "
                      "convnet, trained once)"),
    "image": ("FILE", "your own picture (PNG or JPEG), resized for the model"),
    "layer": ("NAME", "only this layer (default: every convolution and pooling "
                      "layer)"),
    "channel": ("N", "the channel drawn alone (default: the notes' 21 and 2)"),
}
NOTES_CHANNELS = (21, 2)  # plt.matshow(first_layer_activation[0, :, :, 21]), then 2
OVERHEAD = 5  # lines around a page of tiles: title, header, caption box, status
PICTURE_SIDE = 28  # at 80x24, the input and a single channel shrink to about this

TEXT = {
    "en": {
        "intro": "Input: {image}. Model: {model}. Its answer: {answer}. As in your "
                 "notes, an activation model with one output per layer returns "
                 "what each layer in the table makes of this one image: its "
                 "activations.",
        "channel": "Channel {k} of {layer} alone, as your notes draw channels 21 and "
                   "2 of the first layer: from {low} (dark purple) to {high} "
                   "(yellow). It is bright where its filter finds its pattern; "
                   "{lit}% of its cells are above 0.",
        "channel_dead": "Channel {k} of {layer} is {value} everywhere for this "
                        "image: the pattern its filter looks for is not here.",
        "first": "{layer}, the first layer: {n} maps of {h}×{w}, each channel "
                 "scaled as in your notes. Its filters answer to edges, strokes and "
                 "light or dark areas, so its maps still show the whole {subject}.",
        "pool": "{layer}: {how} of each {k} window of the maps below, so "
                "{h_in}×{w_in} becomes {h}×{w}; the same {n} channels, coarser.",
        "deeper": "{layer}: {n} maps of {h}×{w}. Higher up, maps grow abstract and "
                  "hard to read: they combine the patterns below into larger ones "
                  "and say less about how the {subject} looks.",
        "dead": " {dead}, so the patterns those filters look for are not in it.",
        "more": "{layer}, channels {a}-{b} of {n}.",
        "header": "{layer} ({kind}) {shape}  channels {a}-{b}  zeros {zeros}%  "
                  "dead {dead}",
        "ask": "{layer} ({kind}) takes the {shape} maps of the layer below. What "
               "shape does it output?",
        "summary": "Going up, dead (blank) channels go from {first_dead} of "
                   "{first_n} in {first} to {last_dead} of {last_n} in {last}. "
                   "{trend} A blank map is not a broken filter: its pattern is not "
                   "in this image. Upper layers say less about what the image looks "
                   "like and more about its class. (zeros: the share of values relu "
                   "set to 0.) --save activations.png draws every channel, as your "
                   "notes' figure does.",
        "summary_one": "{layer}: {dead}. A blank map is not a broken filter: its "
                       "pattern is not in this image. --save activations.png draws "
                       "every channel, as your notes' figure does.",
        "sparser": "Blank maps appear as you go up, as in the book's cat.",
        "not_sparser": "Here the upper layers have no more blank maps than the "
                       "first; the book's cat shows the trend more clearly.",
        "max": "max pooling keeps the largest value",
        "average": "average pooling keeps the mean",
        "digit": "digit", "image_subject": "image",
        "book_model": "the book's MNIST convnet (trained on convsim's digits)",
        "your_model": "your model {path}",
        "your_image": "your image {path}",
        "bundled": "a test digit from convsim's MNIST sample (a {label})",
        "class": "class {c} (probability {p})",
        "sigmoid": "{p} (above 0.5: class 1, a dog in the book)",
        "columns": ("layer", "output", "zeros", "dead"),
        "input": "input",
    },
    "ko": {
        "intro": "입력: {image}. 모델: {model}. 모델의 답: {answer}. 노트처럼 층마다 "
                 "출력이 하나씩 있는 활성화 모델을 만들면, 표에 있는 층이 이 이미지 "
                 "하나에 대해 각각 만든 특성 맵, 곧 활성화를 한 번에 돌려줍니다.",
        "channel": "{layer} 층의 채널 {k} 하나만 그립니다(노트에서 첫 층의 채널 21과 "
                   "2를 그린 방식). 진한 보라는 가장 작은 값 {low}, 노랑은 가장 큰 "
                   "값 {high}. 필터가 찾는 패턴이 있는 곳이 밝습니다. 0보다 큰 칸: "
                   "{lit}%.",
        "channel_dead": "{layer} 층의 채널 {k}: 이 이미지에서는 모든 곳의 값이 "
                        "{value}입니다. 이 필터가 찾는 패턴이 여기에는 없습니다.",
        "first": "첫 층 {layer}: {h}×{w} 특성 맵 {n}개, 채널마다 노트처럼 스케일을 "
                 "조정했습니다. 필터가 에지, 획, 밝거나 어두운 영역에 반응하므로 "
                 "맵에 {subject}의 모양이 거의 그대로 남아 있습니다.",
        "pool": "{layer}: 아래 층 맵의 {k} 윈도우마다 {how}, {h_in}×{w_in} → "
                "{h}×{w}. 채널 {n}개는 그대로이고 더 거칠어집니다.",
        "deeper": "{layer}: {h}×{w} 특성 맵 {n}개. 위로 갈수록 맵은 추상적이고 "
                  "알아보기 어려워집니다. 아래 층의 패턴을 묶어 더 큰 패턴을 찾고, "
                  "{subject}의 겉모습에 대한 정보는 줄어듭니다.",
        "dead": " {dead}. 그 필터들이 찾는 패턴이 이 이미지에 없다는 뜻입니다.",
        "more": "{layer}, 채널 {a}-{b} (전체 {n}개).",
        "header": "{layer} ({kind}) {shape}  채널 {a}-{b}  0인 값 {zeros}%  "
                  "죽은 채널 {dead}",
        "ask": "{layer} ({kind}) 층은 아래 층의 {shape} 맵을 받습니다. 출력 크기는?",
        "summary": "위로 올라가면 죽은(비어 있는) 채널이 {first} 층에서는 "
                   "{first_n}개 중 {first_dead}개, {last} 층에서는 {last_n}개 중 "
                   "{last_dead}개입니다. {trend} 빈 맵은 고장 난 필터가 아닙니다. 그 "
                   "필터가 찾는 패턴이 이 이미지에 없을 뿐입니다. 위층은 이미지의 "
                   "겉모습보다 클래스에 대한 정보를 더 많이 담습니다. (0인 값: relu가 "
                   "0으로 만든 값의 비율) --save activations.png로 노트의 그림처럼 "
                   "모든 채널을 그릴 수 있습니다.",
        "summary_one": "{layer}: {dead}. 빈 맵은 고장 난 필터가 아닙니다. 그 필터가 "
                       "찾는 패턴이 이 이미지에 없을 뿐입니다. --save "
                       "activations.png로 노트의 그림처럼 모든 채널을 그릴 수 "
                       "있습니다.",
        "sparser": "책의 고양이처럼 위로 갈수록 빈 맵이 나타납니다.",
        "not_sparser": "여기서는 위층의 빈 맵이 첫 층보다 많지 않습니다. 책의 "
                       "고양이에서는 이 경향이 더 뚜렷합니다.",
        "max": "가장 큰 값 하나만 남깁니다(최대 풀링)",
        "average": "평균 하나만 남깁니다(평균 풀링)",
        "digit": "숫자", "image_subject": "이미지",
        "book_model": "책의 MNIST 컨브넷(convsim에 들어 있는 숫자로 훈련)",
        "your_model": "저장한 모델 {path}",
        "your_image": "이미지 파일 {path}",
        "bundled": "convsim에 들어 있는 MNIST 테스트 숫자(정답 {label})",
        "class": "클래스 {c} (확률 {p})",
        "sigmoid": "{p} (0.5보다 크면 클래스 1, 책에서는 개)",
        "columns": ("층", "출력", "0인 값", "죽은 채널"),
        "input": "입력",
    },
}


def build(lang: str = "en", seed: int | None = None, size: int | None = None,
          model: str | None = None, image: str | None = None,
          layer: str | None = None, channel: str | None = None, *,
          screen: tuple[int, int] = (80, 24), console: Console | None = None
          ) -> Lesson:
    """The frames: the input, one channel alone, every chosen layer's channels
    (in pages that fit ``screen``, ``(columns, lines)``), then a summary.
    ``console`` shows the progress of training the book's model, the first
    time only."""
    subject = choose(model, image, console=console, seed=seed, lang=lang)
    activations = layer_activations(subject.model, subject.image,
                                    _checked_layer(subject.model, layer))
    side = _picture_side(screen)
    picture = input_picture(subject.image, side, TEXT[lang]["input"])
    frames = [_intro(subject, activations, picture, model, image, lang)]
    for k in _single_channels(channel, activations[0]):
        frames.append(_channel_frame(activations[0], k, picture, side, lang))
    for activation in activations:
        frames += _layer_frames(subject, activation, image, screen, lang)
    frames.append(_summary(activations, lang))
    return Lesson(NAME, TITLE[lang], frames, lang)


def _checked_layer(model, layer: str | None) -> str | None:
    """``--layer``, if it names a layer whose output is a stack of maps."""
    maps = [la.name for la in model.layers if len(tuple(la.output.shape)) == 4
            and type(la).__name__ != "InputLayer"]
    if layer is not None and layer not in maps:
        raise ArgumentError(f"--layer must name a layer of the model that outputs "
                            f"feature maps: {', '.join(maps)}. Received: --layer "
                            f"{layer}")
    return layer


def _intro(subject, activations, picture, model, image, lang) -> Frame:
    words = TEXT[lang]
    table = Table(*words["columns"][:2], box=None, pad_edge=False,
                  header_style="bold")
    for a in activations:
        table.add_row(a.name, _shape(a.values.shape))
    model_words = (words["book_model"] if model is None
                   else say(words["your_model"], path=os.path.basename(model)))
    image_words = (say(words["bundled"], label=subject.label) if image is None
                   else say(words["your_image"], path=os.path.basename(image)))
    caption = say(words["intro"], image=image_words, model=model_words,
                  answer=_answer(subject, lang))
    code = Text(_code(subject.model, activations), style="grey62")
    view = side_by_side(picture, Group(table, Text(""), code))
    return Frame(view, caption, key=True, hold=6,
                 data={"image": subject.image, "activations": activations})


def _code(model, activations) -> str:
    """The notes' two lines that make the activations, for these layers."""
    names = [layer.name for layer in model.layers]  # Keras's list, as the notes
    chosen = [a.name for a in activations]
    if names[:len(chosen)] == chosen:  # the first layers, as in the notes
        outputs = ("[layer.output\n"
                   f"             for layer in model.layers[:{len(chosen)}]]")
    else:  # layer_names: the names in the table above
        outputs = ("[model.get_layer(name).output\n"
                   "             for name in layer_names]")
    return ("activation_model = models.Model(\n    inputs=model.input,\n"
            f"    outputs={outputs})\n"
            "activations = activation_model.predict(\n    img_tensor)")


def _answer(subject, lang) -> str:
    """What the model predicts for the image: a probability, or the likeliest
    class of several."""
    words = TEXT[lang]
    out = np.ravel(subject.model.predict(subject.image[None], verbose=0)[0])
    if out.size == 1:
        return say(words["sigmoid"], p=f"{float(out[0]):.3f}")
    c = int(np.argmax(out))
    return say(words["class"], c=c, p=f"{out[c]:.3f}")


def _single_channels(channel, activation) -> list[int]:
    """The channel(s) drawn alone: ``--channel``, else the notes' 21 and 2
    (those the layer has)."""
    n = activation.channels
    if channel is None:
        return [k for k in NOTES_CHANNELS if k < n] or [0]
    text = str(channel).strip()
    if not text.isdigit() or int(text) >= n:
        raise ArgumentError(f"--channel must be a channel number of layer "
                            f"'{activation.name}', from 0 to {n - 1}. Received: "
                            f"--channel {channel}")
    return [int(text)]


def _channel_frame(activation, k, picture, side, lang) -> Frame:
    words = TEXT[lang]
    values = activation.values[:, :, k]
    low, high = float(values.min()), float(values.max())
    scale = math.ceil(max(values.shape) / side)
    zoom = max(1, side // max(values.shape))  # small maps drawn bigger
    title = f"{activation.name} · {label('channel', lang)} {k}"
    view = side_by_side(picture, ChannelView(values, title, scale, zoom))
    if low == high:
        caption = say(words["channel_dead"], k=k, layer=activation.name,
                      value=f"{low:g}")
    else:
        caption = say(words["channel"], k=k, layer=activation.name,
                      low=f"{low:.3g}", high=f"{high:.3g}",
                      lit=round(100 * float(np.mean(values > 0))))
    return Frame(view, caption, key=True, hold=5,
                 data={"layer": activation.name, "channel": k, "values": values})


def _layer_frames(subject, activation, image, screen, lang) -> list[Frame]:
    """The pages of one layer's channels; the first carries the explanation,
    and the tiles leave room for it on the screen."""
    words = TEXT[lang]
    height, width, n = activation.values.shape
    columns, lines = screen
    explained, question = _explain(subject, activation, image, lang)
    room = lines - OVERHEAD - _caption_lines(explained, columns)
    layout = tile_layout(height, width, n, columns, max(room, 4))
    frames = []
    for a in range(0, n, layout.per_page):
        b = min(a + layout.per_page, n) - 1
        header = say(words["header"], layer=activation.name, kind=activation.kind,
                     shape=_shape(activation.values.shape), a=a, b=b,
                     zeros=round(100 * activation.zero_share),
                     dead=activation.dead.size)
        caption = explained if a == 0 else say(words["more"], layer=activation.name,
                                               a=a, b=b, n=n)
        frames.append(Frame(ChannelTiles(activation, range(a, b + 1), layout.scale,
                                         title=header),
                            caption, key=a == 0, hold=4 if a == 0 else 2,
                            question=question if a == 0 else None,
                            data={"activation": activation, "channels": (a, b),
                                  "scale": layout.scale}))
    return frames


def _caption_lines(caption: str, columns: int) -> int:
    """How many lines ``caption`` takes in its box on a ``columns``-wide screen."""
    console = Console(width=max(columns - 4, 20), file=io.StringIO())
    return len(console.render_lines(Text.from_markup(caption), pad=False))


def _explain(subject, activation, image, lang):
    """``(caption, question)`` for the first page of a layer."""
    words = TEXT[lang]
    layer = subject.model.get_layer(activation.name)
    height, width, n = activation.values.shape
    values = {"layer": activation.name, "n": n, "h": height, "w": width,
              "subject": words["digit"] if image is None else words["image_subject"]}
    question = None
    if hasattr(layer, "pool_size"):
        h_in, w_in, c_in = tuple(layer.input.shape)[1:]
        how = words["max" if activation.kind == "MaxPooling2D" else "average"]
        caption = say(words["pool"], how=how, h_in=h_in, w_in=w_in,
                      k="×".join(map(str, layer.pool_size)), **values)
        question = Question(say(words["ask"], layer=activation.name,
                                kind=activation.kind,
                                shape=_shape((h_in, w_in, c_in))),
                            ints_check(activation.values.shape),
                            _shape(activation.values.shape), caption)
    else:
        first = picture_layers(subject.model)[0].name == activation.name
        caption = say(words["first" if first else "deeper"], **values)
    if activation.dead.size:
        caption += say(words["dead"], dead=dead_words(activation, lang))
    return caption, question


def _summary(activations, lang) -> Frame:
    """A table of every layer's zeros and dead channels, and what they mean."""
    words = TEXT[lang]
    table = Table(*words["columns"], box=None, pad_edge=False, header_style="bold")
    for a in activations:
        table.add_row(a.name, _shape(a.values.shape),
                      f"{round(100 * a.zero_share)}%",
                      f"{a.dead.size} / {a.channels}")
    first, last = activations[0], activations[-1]
    if len(activations) == 1:
        caption = say(words["summary_one"], layer=first.name,
                      dead=dead_words(first, lang))
    else:
        trend = words["sparser" if last.dead.size / last.channels
                      > first.dead.size / first.channels else "not_sparser"]
        caption = say(words["summary"], first=first.name, first_n=first.channels,
                      first_dead=first.dead.size, last=last.name,
                      last_n=last.channels, last_dead=last.dead.size, trend=trend)
    rows = [(a.name, a.zero_share, int(a.dead.size)) for a in activations]
    return Frame(table, caption, key=True, hold=8, data={"rows": rows})


def _picture_side(screen: tuple[int, int]) -> int:
    """How many pixels a side the input and a single channel may take: two of
    them and a colour bar side by side, under a caption of about 5 lines."""
    columns, lines = screen
    return max(PICTURE_SIDE, min((lines - 11) * 2, (columns - 11) // 2))


def _shape(shape) -> str:
    return "×".join(str(s) for s in shape)


def save_figure(path, lang: str = "en", seed: int | None = None,
                size: int | None = None, model: str | None = None,
                image: str | None = None, layer: str | None = None,
                channel: str | None = None) -> str:
    """Your notes' figure for the lesson's model and image: every channel of
    every chosen layer, 16 per row, one panel per layer (PNG by the name)."""
    subject = choose(model, image, seed=seed, lang=lang)
    return save_activations_png(subject.model, subject.image, path,
                                _checked_layer(subject.model, layer), lang)


def run(console: Console | None = None, *, lang: str = "en", seed: int | None = None,
        size: int | None = None, model: str | None = None, image: str | None = None,
        layer: str | None = None, channel: str | None = None,
        player: Player | None = None) -> PlayResult:
    """Play the lesson, its pages sized for the player's console."""
    player = player or Player(console)
    screen = (player.console.width, player.console.height)
    return player.play(build(lang=lang, seed=seed, size=size, model=model,
                             image=image, layer=layer, channel=channel,
                             screen=screen, console=player.console))
