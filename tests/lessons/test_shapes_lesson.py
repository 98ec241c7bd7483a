"""The shapes lesson: where the parameters really are, weight sharing said
truly for any model, and a table that fits 80×24 (issue 13, items 2 and 5).

The numbers each sentence must say are worked out here from the layers'
own ``count_params`` and output shapes, never copied from the lesson.
"""

from __future__ import annotations

import io
import math
import re

import pytest
from convsim.lessons import shapes
from rich.console import Console

from convsim import layers, models
from convsim.experiments.book_models import build_cats_model, build_mnist_model
from convsim.layers.graph import fresh_names
from convsim.lesson.frames import compose
from convsim.lesson.status import status_line


def saved(model, tmp_path, name="model.convsim") -> str:
    path = tmp_path / name
    model.save(str(path))
    return str(path)


@pytest.fixture
def mnist_path(tmp_path):
    with fresh_names():  # the names of the notes' model.summary()
        return saved(build_mnist_model(), tmp_path, "mnist.convsim")


def where(model):
    """Parameters per kind of layer, the total, and the largest layers."""
    kinds: dict[str, int] = {}
    for layer in model.layers:
        if layer.count_params():
            kind = type(layer).__name__
            kinds[kind] = kinds.get(kind, 0) + layer.count_params()
    most = max(layer.count_params() for layer in model.layers)
    largest = [f"{type(la).__name__} '{la.name}'" for la in model.layers
               if la.count_params() == most]
    return kinds, model.count_params(), most, largest


def totals_frame(lesson):
    return next(f for f in lesson.frames if f.caption.startswith(("Total:", "전체:")))


def test_the_cats_model_has_most_of_its_parameters_in_dense():
    with fresh_names():
        model = build_cats_model()
    kinds, total, most, largest = where(model)
    caption = totals_frame(shapes.build()).caption
    for kind, n in kinds.items():
        assert f"{kind} {round(100 * n / total)}% ({n:,})" in caption
    assert kinds["Dense"] > kinds["Conv2D"]
    assert caption.index("Dense ") < caption.index("Conv2D ")  # largest share first
    assert largest == ["Dense 'dense'"]
    assert (f"The largest layer is Dense 'dense': {most:,} parameters, "
            f"{round(100 * most / total)}% of the model.") in caption
    assert "joins 6,272 inputs to 512 units, (6272 + 1) * 512" in caption
    assert "Convolutions have few" not in caption


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_mnist_model_has_most_in_its_convolutions_and_a_tie(mnist_path, lang):
    """The book's MNIST convnet: the convolutions hold the larger share, and
    conv2d_2 and dense are tied for the largest layer (36,928 each)."""
    model = models.load_model(mnist_path)
    kinds, total, most, largest = where(model)
    assert kinds["Conv2D"] > kinds["Dense"] and len(largest) == 2
    caption = totals_frame(shapes.build(lang=lang, model=mnist_path)).caption
    conv = f"Conv2D {round(100 * kinds['Conv2D'] / total)}%"
    dense = f"Dense {round(100 * kinds['Dense'] / total)}%"
    assert caption.index(conv) < caption.index(dense)
    assert f"{kinds['Conv2D']:,}" in caption and f"{kinds['Dense']:,}" in caption
    if lang == "en":
        assert (f"The largest layers are {largest[0]} and {largest[1]}: {most:,} "
                "parameters each") in caption
        assert "The largest share" not in caption
    else:
        assert f"가장 큰 층은 {largest[0]}, {largest[1]}입니다" in caption
        assert f"각각 파라미터 {most:,}개" in caption


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("book", ["cats", "mnist"])
def test_weight_sharing_is_the_first_convolution_against_a_dense_layer(
        book, lang, mnist_path):
    """The last frame: the first Conv2D's filters are used at every position
    of its output; a Dense layer making the same output from the same input
    would need (inputs + 1) x outputs parameters."""
    lesson = shapes.build(lang=lang, model=None if book == "cats" else mnist_path)
    with fresh_names():
        model = build_cats_model() if book == "cats" else build_mnist_model()
    conv = next(la for la in model.layers if isinstance(la, layers.Conv2D))
    n_in = math.prod(conv.input.shape[1:])
    out = tuple(conv.output.shape[1:])
    caption = lesson.frames[-1].caption
    assert f"{conv.count_params():,}" in caption
    assert f"{out[0]}×{out[1]} = {out[0] * out[1]:,}" in caption
    assert f"({n_in:,} + 1) × {math.prod(out):,} = " \
           f"{(n_in + 1) * math.prod(out):,}" in caption
    assert lesson.frames[-1].key and lesson.frames[-2].key


def test_the_dense_it_compares_with_is_a_real_dense_layer(tmp_path):
    """The count the sharing sentence gives is what a Dense layer of that many
    units on the flattened input really has."""
    model = models.Sequential([layers.Input(shape=(6, 5, 2)), layers.Conv2D(3, 3)])
    caption = shapes.build(model=saved(model, tmp_path)).frames[-1].caption
    dense = models.Sequential([layers.Input(shape=(6 * 5 * 2,)),
                               layers.Dense(4 * 3 * 3)])
    assert caption.endswith(f"= {dense.count_params():,}: one weight for every pair "
                            "of input and output value, none shared.")
    conv = model.layers[-1]
    assert (f"all 4×3 = 12 positions of its 4×3×3 output, {conv.count_params():,} "
            "parameters") in caption


def test_any_model_gets_true_sentences(tmp_path):
    """No convolution: no sharing frame, all of it Dense. A convolution the
    largest layer: its filters say why. No parameters at all: said so."""
    dense_only = models.Sequential([layers.Input(shape=(4, 4, 1)), layers.Flatten(),
                                    layers.Dense(3)])
    lesson = shapes.build(model=saved(dense_only, tmp_path, "d.convsim"))
    assert lesson.frames[-1].caption.startswith("Total: 51 = 51 parameters. By kind "
                                                "of layer: Dense 100% (51).")
    conv_big = models.Sequential([layers.Input(shape=(5, 5, 8)),
                                  layers.Conv2D(16, 3), layers.Flatten(),
                                  layers.Dense(1)])
    caption = totals_frame(shapes.build(
        model=saved(conv_big, tmp_path, "c.convsim"))).caption
    assert "The largest layer is Conv2D" in caption
    assert "has 16 filters of 3×3×8 weights: (3*3*8 + 1) * 16 = 1,168." in caption
    empty = models.Sequential([layers.Input(shape=(4, 4, 1)), layers.Flatten()])
    lesson = shapes.build(model=saved(empty, tmp_path, "e.convsim"))
    assert lesson.frames[-1].caption == shapes.TEXT["en"]["no_params"]


def test_a_small_share_is_not_rounded_to_none():
    from convsim.lessons._parameters import percent

    assert percent(513, 3_453_121) == "<1%"
    assert percent(0, 10) == "0%" and percent(5, 10) == "50%"


def screen_text(lesson, i: int, width: int, height: int) -> str:
    console = Console(file=io.StringIO(), width=width, height=height,
                      force_terminal=True, color_system=None)
    console.print(compose(lesson, i, status_line(lesson.lang, "playing"),
                          height=height))
    return console.file.getvalue()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_at_80x24_the_newest_row_and_the_total_stay_on_screen(lang):
    """The table scrolls (its header stays, a line says how many rows are
    above) and squeezes the working, so the row a caption talks about is
    always there; at 120 columns the working keeps its spaces."""
    lesson = shapes.build(lang=lang)
    rows = lesson.frames[-1].data["rows"]
    for i, row in enumerate(rows, 1):
        text = screen_text(lesson, i, 80, 24)
        assert len(text.splitlines()) <= 24
        assert row.working in text or shapes.compact(row.working) in text
        assert shapes.TEXT[lang]["layer"] in text  # the header
        above = re.search(r"⋮ \D*(\d+)", text)
        shown_rows = sum(1 for r in rows[:i] if r.working in text
                         or shapes.compact(r.working) in text)
        hidden = int(above.group(1)) if above else 0
        assert hidden + shown_rows + (not above) == i + 1  # + the input row
    last = screen_text(lesson, len(lesson.frames) - 2, 80, 24)
    assert f"{lesson.frames[-1].data['total']:,}" in last
    assert shapes.TEXT[lang]["total_row"] in last
    wide = screen_text(lesson, len(rows), 120, 45)
    assert "floor((15 - 2) / 2) + 1 = 7" in wide and "⋮" not in wide


def test_compact_working_drops_only_the_inner_spaces():
    assert (shapes.compact("floor((150 - 3) / 1) + 1 = 148")
            == "floor((150-3)/1)+1 = 148")
    assert (shapes.compact("floor((9 - 3) / 2) + 1 = 4 ; ceil(9 / 2) = 5")
            == "floor((9-3)/2)+1 = 4 ; ceil(9/2) = 5")
    assert shapes.compact("6272 → 512") == "6272 → 512"
