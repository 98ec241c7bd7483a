"""Receptive fields: the recurrence in convsim.trace.receptive_field against an
independent check, and the receptive-field lesson's frames.

The independent check is a perturbation: give every layer positive weights and
zero biases and feed an all-zero image, so every activation is exactly 0. Light
one input pixel: every cell whose window holds a lit cell becomes positive
(positive weights, relu passes it, a max or mean of non-negative numbers with
one positive is positive), and no other cell changes. So the output cell is
positive exactly when the pixel is in its receptive field; the field claimed by
the recurrence must be exactly that set of pixels.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from convsim.lessons import receptive_field as lesson_module
from hypothesis import example, given
from hypothesis import strategies as st
from rich.console import Console

from convsim import layers, models
from convsim.errors import ArgumentError, WrongTypeError
from convsim.experiments.book_models import build_cats_model, build_mnist_model
from convsim.lesson.frames import compose
from convsim.trace.receptive_field import Box, receptive_field, receptive_fields


def positive_weights(chain, seed: int = 0) -> None:
    """Kernels uniform in [0.5, 1.5], biases 0 (see the module docstring)."""
    rng = np.random.default_rng(seed)
    for layer in chain:
        for weight in layer.weights:
            weight.value[...] = (0.0 if weight.value.ndim == 1 else
                                 rng.uniform(0.5, 1.5, weight.value.shape))


def lit_by_layer(chain, input_shape, pixels) -> list[np.ndarray]:
    """For each layer of ``chain``, ``lit[i, ...]``: its outputs (channels
    folded in) that change when pixel ``pixels[i]`` alone is lit."""
    x = np.zeros((len(pixels), *input_shape), np.float32)
    for i, (row, col) in enumerate(pixels):
        x[i, row, col, :] = 1.0
    found = []
    for layer in chain:
        x = layer(x)
        found.append(x.max(axis=-1) > 0 if x.ndim == 4 else x > 0)
    return found


def lit(chain, input_shape, pixels) -> np.ndarray:
    return lit_by_layer(chain, input_shape, pixels)[-1]


def reached(chain, input_shape, pixels, position) -> np.ndarray:
    """For each pixel, whether lighting it alone changes output ``position``
    of the last layer in ``chain`` (any channel)."""
    out = lit(chain, input_shape, pixels)
    return out[(slice(None), *position)].reshape(len(pixels), -1).max(axis=1)


def chain_of(model) -> list:
    return [layer for layer in model.layers
            if not isinstance(layer, layers.InputLayer)]


def every_pixel(height: int, width: int) -> list[tuple[int, int]]:
    return [(r, c) for r in range(height) for c in range(width)]


def inside(box: Box, pixels) -> np.ndarray:
    rows, cols = np.asarray(pixels).T
    return ((box.top <= rows) & (rows < box.bottom)
            & (box.left <= cols) & (cols < box.right))


def near_edges(first: int, stop: int, side: int) -> list[int]:
    """Positions on both sides of a field's two edges, within the image."""
    return sorted({p for edge in (first, stop) for p in range(edge - 2, edge + 2)
                   if 0 <= p < side})


# ---------------------------------------------------------------- the recurrence
@pytest.mark.slow
def test_mnist_fields_are_exact_for_every_cell_of_every_layer():
    model = build_mnist_model()
    chain = chain_of(model)
    positive_weights(chain)
    pixels = every_pixel(28, 28)
    fields = receptive_fields(model)
    assert [f.size[0] for f in fields[:5]] == [3, 4, 8, 10, 18]
    assert [f.rows.jump for f in fields[:5]] == [1, 2, 2, 4, 4]
    outputs = lit_by_layer(chain[:5], (28, 28, 1), pixels)
    for field, out in zip(fields[:5], outputs, strict=True):
        for position in np.ndindex(*field.output_shape[:2]):
            np.testing.assert_array_equal(
                out[(slice(None), *position)], inside(field.box(*position), pixels),
                err_msg=f"{field.name} cell {position}")


def test_mnist_dense_never_sees_the_last_two_rows_and_columns():
    """The claim the lesson makes: pixels outside the 26×26 coverage do not
    reach the first Dense layer at all; every pixel inside does."""
    model = build_mnist_model()
    chain = chain_of(model)
    positive_weights(chain)
    pixels = every_pixel(28, 28)
    at = next(i for i, layer in enumerate(chain) if isinstance(layer, layers.Dense))
    dense = receptive_field(model, chain[at].name)
    assert dense.whole and dense.box() == Box(0, 0, 26, 26)
    seen = reached(chain[:at + 1], (28, 28, 1), pixels, (0,))
    np.testing.assert_array_equal(seen, inside(dense.box(), pixels))


@pytest.mark.slow
def test_cats_fields_are_exact_along_lines_through_them():
    """The cats-vs-dogs convnet on 150×150: the pixels on both sides of each
    edge of a cell's field, on the row and the column through its middle, for
    the middle and a corner cell of the last pooling layer (46×46, jump 16)
    and of the first one."""
    model = build_cats_model()
    chain = chain_of(model)
    positive_weights(chain)
    fields = receptive_fields(model)
    assert [f.size[0] for f in fields[:8]] == [3, 4, 8, 10, 18, 22, 38, 46]
    for i in (1, 7):
        field = fields[i]
        for position in (field.centre(), (0, field.output_shape[1] - 1)):
            box = field.box(*position)
            middle = ((box.top + box.bottom) // 2, (box.left + box.right) // 2)
            pixels = ([(middle[0], c) for c in near_edges(box.left, box.right, 150)]
                      + [(r, middle[1]) for r in near_edges(box.top, box.bottom, 150)])
            seen = reached(chain[:i + 1], (150, 150, 3), pixels, position)
            np.testing.assert_array_equal(seen, inside(box, pixels),
                                          err_msg=f"{field.name} {position}")


@st.composite
def small_chains(draw):
    """1-3 window layers of random geometry over a small image."""
    side = draw(st.integers(8, 16))
    chain, size = [], side
    for _ in range(draw(st.integers(1, 3))):
        k = draw(st.integers(1, 4))
        padding = draw(st.sampled_from(["valid", "same"]))
        kind = draw(st.sampled_from(["conv", "max", "average"]))
        dilation = draw(st.integers(1, 2)) if kind == "conv" else 1
        stride = 1 if dilation > 1 else draw(st.integers(1, 3))
        span = dilation * (k - 1) + 1
        if padding == "valid" and span > size:
            break
        if kind == "conv":
            chain.append(layers.Conv2D(1, k, strides=stride, padding=padding,
                                       dilation_rate=dilation, activation="relu"))
        else:
            pool = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
            chain.append(pool(k, strides=stride, padding=padding))
        size = (-(-size // stride) if padding == "same"
                else (size - span) // stride + 1)
    return side, chain


@given(small_chains(), st.integers(0, 10_000))
@example(case=(15, [layers.MaxPooling2D(2),  # drops pixel 14...
                    layers.MaxPooling2D(2, strides=3, padding="same"),  # ...which
                    layers.Conv2D(1, 1)]),  # this pad would have covered
         pick=2)
@example(case=(8, [layers.Conv2D(1, 2, padding="same", dilation_rate=2),
                   layers.MaxPooling2D(2, strides=1)]),  # cell 1 starts before 0
         pick=0)
def test_random_chains_fields_are_exact(case, pick):
    """Any kernel, stride, padding and dilation: where every pixel of the span
    reaches the cell (``solid``) the field is exactly the pixels that reach
    it; otherwise (gaps from a dilation or a stride larger than the window)
    every pixel that reaches it lies inside the field."""
    side, chain = case
    if not chain:
        return
    fields = receptive_fields(chain, (side, side, 1))
    x = np.zeros((1, side, side, 1), np.float32)
    for layer in chain:
        x = layer(x)  # builds the layers
    positive_weights(chain)
    last = fields[-1]
    rows, cols = last.output_shape[:2]
    position = (pick % rows, (pick // rows) % cols)
    pixels = every_pixel(side, side)
    seen = reached(chain, (side, side, 1), pixels, position)
    claimed = inside(last.box(*position), pixels)
    if last.solid:
        np.testing.assert_array_equal(seen, claimed)
    else:
        assert not (seen & ~claimed).any()


def test_same_padding_fields_start_in_the_padding_and_are_clipped():
    model = models.Sequential([layers.Input(shape=(6, 6, 1)),
                               layers.Conv2D(1, 3, padding="same"),
                               layers.Conv2D(1, 3, strides=2, padding="same")])
    first, second = receptive_fields(model)
    assert first.rows.start == -1 and first.box(0, 0, clip=False).top == -1
    assert first.box(0, 0) == Box(0, 0, 2, 2)
    # stride 2 on 6 cells: TensorFlow's one extra zero goes after, none before
    assert second.pads == (0, 1, 0, 1) and second.rows.start == -1
    assert second.size == (5, 5) and second.box(2, 2) == Box(3, 3, 6, 6)


def test_working_strings_show_the_recurrence():
    fields = receptive_fields(build_mnist_model())
    assert fields[2].size_working() == "4 + (3-1)×2 = 8"
    assert fields[3].jump_working() == "2×2 = 4"
    dilated = receptive_fields([layers.Conv2D(1, 3, dilation_rate=2)], (9, 9, 1))
    assert dilated[0].size_working() == "1 + (3-1)×2×1 = 5"


def test_bad_input_says_what_is_wrong():
    with pytest.raises(ArgumentError, match="input_shape"):
        receptive_fields([layers.Conv2D(1, 3)])
    with pytest.raises(WrongTypeError, match="list of convsim layers"):
        receptive_fields([layers.Conv2D(1, 3), "pool"], (8, 8, 1))
    with pytest.raises(ArgumentError, match="larger than the 4x4 input"):
        receptive_fields([layers.Conv2D(1, 5)], (4, 4, 1))
    field = receptive_field(build_mnist_model())
    with pytest.raises(ArgumentError, match=r"within its output \(3, 3\). "
                                            r"Received: position=\(3, 0\)"):
        field.box(3, 0)
    with pytest.raises(ArgumentError, match="name or index"):
        receptive_field(build_mnist_model(), "no_such_layer")


# ---------------------------------------------------------------- the lesson
def render(lesson, index: int, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(compose(lesson, index))
    return console.file.getvalue()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lesson_frames_show_the_real_fields(lang):
    lesson = lesson_module.build(lang=lang)
    expected = receptive_fields(build_mnist_model())
    shown = [f.data["field"] for f in lesson.frames if "field" in f.data]
    assert [f.size for f in shown] == [f.size for f in expected]
    assert [f.kind for f in shown] == [f.kind for f in expected]
    conv = next(f for f in lesson.frames if "field" in f.data
                and f.data["field"].size == (8, 8))
    assert "4 + (3-1)×2 = 8" in conv.caption and conv.question.check("8x8")
    assert ("Field: 8×8" if lang == "en" else "수용 영역: 8×8") in conv.caption
    for i in range(len(lesson.frames)):  # within 80 columns, nothing cut off
        text = render(lesson, i)
        assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80


def test_pooling_frame_numbers_match_models_built_both_ways():
    """Flatten's size and the Dense kernel without pooling, checked against
    the MNIST model really built without its pooling layers."""
    lesson = lesson_module.build()
    frame = next(f for f in lesson.frames if "without" in f.data)
    with_pool, without = frame.data["with"], frame.data["without"]
    bare = models.Sequential([layers.Input(shape=(28, 28, 1))] + [
        type(layer).from_config(layer.get_config())
        for layer in chain_of(build_mnist_model())
        if not isinstance(layer, layers.MaxPooling2D)])
    dense = next(layer for layer in bare.layers if isinstance(layer, layers.Dense))
    assert without.flat == bare.layers[3].compute_output_shape((None, 22, 22, 64))[1]
    assert (without.flat, without.units) == dense.kernel.shape
    assert without.weights == dense.kernel.value.size
    real = build_mnist_model()
    real_dense = next(layer for layer in real.layers if isinstance(layer,
                                                                   layers.Dense))
    assert (with_pool.flat, with_pool.units) == real_dense.kernel.shape
    assert without.last_map.size == (7, 7)
    assert f"{round(without.weights / with_pool.weights)} times" in frame.caption


def test_cats_frames_say_what_pooling_saves():
    lesson = lesson_module.build()
    frame = next(f for f in lesson.frames if "cats_with" in f.data)
    with_pool, without = frame.data["cats_with"], frame.data["cats_without"]
    model = build_cats_model()
    dense = next(layer for layer in model.layers if isinstance(layer, layers.Dense))
    assert (with_pool.flat, with_pool.units) == dense.kernel.shape
    # without pooling: four 3×3 'valid' convolutions take 2 pixels each
    side = 150 - 4 * 2
    assert without.flat == side * side * 128
    assert without.weights == without.flat * dense.units


def test_a_saved_model_is_walked(tmp_path):
    model = models.Sequential([layers.Input(shape=(20, 20, 3)),
                               layers.Conv2D(2, 5, strides=2, activation="relu"),
                               layers.Flatten(), layers.Dense(3)])
    path = tmp_path / "mine.convsim"
    model.save(str(path))
    lesson = lesson_module.build(model=str(path))
    fields = [f.data["field"] for f in lesson.frames if "field" in f.data]
    assert [f.size for f in fields] == [(5, 5), (5, 5), (19, 19)]
    last = lesson.frames[-1]
    assert last.data["without"] is None and "no pooling layers" in last.caption
    assert not any("cats_fields" in f.data for f in lesson.frames)


def test_lesson_runs_in_a_pipe():
    console = Console(file=io.StringIO(), width=100, color_system=None)
    result = lesson_module.run(console=console, lang="ko")
    assert result.shown and "수용 영역" in console.file.getvalue()


CODE_WORDS = {"MNIST", "convsim", "Conv2D", "MaxPooling2D", "AveragePooling2D",
              "Flatten", "Dense", "Dropout", "vs"}


def test_korean_frames_leave_no_english_words():
    lesson = lesson_module.build(lang="ko")
    for i, frame in enumerate(lesson.frames):
        text = re.sub(r"\b(conv2d|max_pooling2d|dense|flatten)\w*", "",
                      render(lesson, i, width=100))
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]+", text)) - CODE_WORDS
        words = {w for w in words if set(w) != {"o"}}  # outlines in plain text
        assert not words, (words, frame.caption)
        if frame.question:
            assert not set(re.findall(r"[A-Za-z_][A-Za-z0-9_]+", re.sub(
                r"\b(conv2d|max_pooling2d)\w*", "", frame.question.prompt)))
