"""Translation: moving an image moves the convolution's maps with it, cell for
cell, on the interior (convsim.trace.shift), and the translation lesson shows
the trained convnet's real maps and predictions."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from convsim.lessons import translation
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image
from rich.console import Console

from convsim import layers, models
from convsim.errors import ArgumentError
from convsim.experiments.book_models import build_mnist_model
from convsim.experiments.your_model import sample_digit
from convsim.lesson.frames import compose
from convsim.trace.shift import compare_maps, compare_shift, shift_image
from convsim.utils import set_random_seed


@pytest.fixture(scope="module")
def random_mnist():
    """The book's MNIST convnet with seeded random weights (no training)."""
    set_random_seed(7)
    return build_mnist_model()


@pytest.fixture(scope="module")
def digit():
    return sample_digit(None)[0][:, :, None]


# ---------------------------------------------------------------- moving
def test_shift_image_moves_and_fills_with_zeros():
    x = np.arange(1, 17, dtype=np.float32).reshape(4, 4)
    moved = shift_image(x, down=1, right=-2)
    np.testing.assert_array_equal(moved[1:, :2], x[:3, 2:])
    assert not moved[0].any() and not moved[:, 2:].any()
    np.testing.assert_array_equal(shift_image(x), x)


@pytest.mark.parametrize("kwargs, message", [
    ({"right": 4}, r"`right` must be a whole number of pixels smaller than the "
                   r"image \(4×4\). Received: right=4"),
    ({"down": 1.5}, r"Received: down=1.5"),
    ({"down": True}, r"Received: down=True"),
])
def test_shift_image_refuses_impossible_moves(kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        shift_image(np.zeros((4, 4)), **kwargs)


# ---------------------------------------------------------------- the maps
def test_first_conv_map_of_the_moved_digit_is_the_moved_map(random_mnist, digit):
    """By hand: a 'valid' 3×3 convolution of a digit moved (2, 3) equals the
    original map moved (2, 3) wherever the window saw no filled-in zero,
    i.e. rows >= 2 and columns >= 3 of the moved map."""
    result = compare_shift(random_mnist, digit, 2, 3)
    first = result.maps[0]
    np.testing.assert_allclose(first.after[2:, 3:], first.before[:-2, :-3],
                               rtol=0, atol=1e-6)
    expected = np.zeros((26, 26), bool)
    expected[2:, 3:] = True
    np.testing.assert_array_equal(first.interior, expected)
    assert first.cells == (2, 3) and first.max_difference <= 1e-6
    # and the model's own first layer computed these maps
    conv = random_mnist.layers[0]
    np.testing.assert_allclose(first.after, conv(shift_image(digit, 2, 3)[None])[0],
                               atol=1e-6)


def test_pooled_map_moves_one_cell_for_two_pixels(random_mnist, digit):
    result = compare_shift(random_mnist, digit, 0, 2)
    pooled = result.maps[1]  # 2x2 max pooling: cells 2 pixels apart
    assert pooled.kind == "MaxPooling2D" and pooled.cells == (0, 1)
    np.testing.assert_allclose(pooled.after[:, 1:], pooled.before[:, :-1], atol=1e-6)
    assert pooled.interior[:, 1:].all() and not pooled.interior[:, 0].any()
    odd = compare_shift(random_mnist, digit, 0, 1).maps[1]
    assert odd.cells is None and odd.interior is None and 0 <= odd.kept <= 1


@given(st.integers(-5, 5), st.integers(-5, 5), st.integers(0, 2**16))
def test_any_move_of_a_same_padded_conv_is_exact_on_the_interior(down, right, seed):
    """A 'same' 3×3 convolution with stride 1 and random weights on a random
    image: moved by any (down, right), the interior the field promises equals
    the map moved back, and the interior is exactly the cells whose window
    lies within the moved-in part."""
    rng = np.random.default_rng(seed)
    image = rng.random((12, 12, 2), dtype=np.float32)
    model = models.Sequential([layers.Input(shape=(12, 12, 2)),
                               layers.Conv2D(3, 3, padding="same")])
    result = compare_shift(model, image, down, right)
    (conv,) = result.maps
    rows = np.arange(12)
    lo_r, hi_r = max(down, 0), 12 + min(down, 0)
    lo_c, hi_c = max(right, 0), 12 + min(right, 0)
    ok_r = (rows - 1 >= lo_r) & (rows + 2 <= hi_r)
    ok_c = (rows - 1 >= lo_c) & (rows + 2 <= hi_c)
    np.testing.assert_array_equal(conv.interior, ok_r[:, None] & ok_c[None, :])
    r, c = np.nonzero(conv.interior)
    np.testing.assert_allclose(conv.after[r, c], conv.before[r - down, c - right],
                               atol=1e-5)


def test_kept_is_one_for_the_same_map_and_counts_only_lit_cells(random_mnist,
                                                                 digit):
    result = compare_shift(random_mnist, digit, 0, 0)
    assert all(m.kept == 1.0 and m.max_difference == 0 for m in result.maps)
    from convsim.trace.receptive_field import receptive_fields

    field = receptive_fields(random_mnist)[0]
    before = np.zeros((26, 26, 1), np.float32)
    before[5, 5] = 1.0
    after = np.zeros_like(before)
    after[5, 6] = 1.0  # one lit cell moved: both cells now differ fully
    assert compare_maps(field, before, after, 0, 1).kept == 0.0


# ---------------------------------------------------------------- the lesson
@pytest.mark.slow
def test_lesson_shows_the_trained_models_maps_and_predictions(trained_mnist):
    lesson = translation.build()
    conv = next(f for f in lesson.frames if "layer" in f.data)
    layer, shift = conv.data["layer"], conv.data["shift"]
    assert layer.cells == (0, translation.SHIFT) and layer.max_difference == 0
    assert conv.question.check(str(translation.SHIFT))
    kernel, bias = (w.numpy() for w in trained_mnist.layers[0].weights)
    assert layer.before.shape == (26, 26, kernel.shape[-1])
    runs = next(f for f in lesson.frames if "runs" in f.data)
    for (way, d), result in runs.data["runs"].items():
        down, right = (0, d) if way == "right" else (d, 0)
        moved = shift_image(shift.image, down, right)
        expected = trained_mnist.predict(moved[None], verbose=0)[0]
        np.testing.assert_allclose(result.after, expected, atol=1e-6)
        said = str(int(np.argmax(expected)))
        assert said in runs.caption
    asked = runs.question
    holds = int(np.argmax(runs.data["runs"]["right", 4].after)) == runs.data["label"]
    assert asked.check("y") == holds and asked.check("n") != holds


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lesson_fits_80_columns(trained_mnist, lang):
    lesson = translation.build(lang=lang)
    for i in range(len(lesson.frames)):
        console = Console(file=io.StringIO(), width=80, color_system=None)
        console.print(compose(lesson, i))
        text = console.file.getvalue()
        assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80


@pytest.mark.slow
def test_your_own_image(trained_mnist, tmp_path):
    pixels = (sample_digit(5)[0] * 255).astype(np.uint8)
    path = tmp_path / "my digit.png"
    Image.fromarray(pixels).save(path)
    lesson = translation.build(image=str(path))
    first = lesson.frames[0]
    assert first.data["subject"].label is None
    assert "my digit.png" in first.caption


@pytest.mark.slow
def test_lesson_runs_in_a_pipe_in_korean(trained_mnist):
    console = Console(file=io.StringIO(), width=100, color_system=None)
    result = translation.run(console=console, lang="ko")
    out = console.file.getvalue()
    assert result.shown and "평행 이동 불변성" in out and "측정 결과" in out


#: Code identifiers a Korean frame may show: class names, the dataset, options.
CODE_WORDS = {"MNIST", "convsim", "Conv2D", "MaxPooling2D", "AveragePooling2D",
              "Flatten", "Dense", "Dropout", "width_shift_range",
              "height_shift_range", "vs"}


def english_words(text: str) -> set[str]:
    """Latin words of two letters or more, layer names and code words aside."""
    text = re.sub(r"\b(conv2d|max_pooling2d|average_pooling2d|dense|flatten|"
                  r"dropout)\w*", "", text)
    found = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]+", text)) - CODE_WORDS
    return {w for w in found if set(w) != {"o"}}  # outlines drawn in plain text


@pytest.mark.slow
def test_korean_frames_leave_no_english_words(trained_mnist):
    lesson = translation.build(lang="ko")
    for i, frame in enumerate(lesson.frames):
        console = Console(file=io.StringIO(), width=100, color_system=None)
        console.print(compose(lesson, i))
        assert not english_words(console.file.getvalue()), frame.caption
        if frame.question:
            assert not english_words(frame.question.prompt)


@pytest.fixture
def photo_model(tmp_path):
    """A small colour model saved to a file, and a photo of its size."""
    set_random_seed(3)
    model = models.Sequential([layers.Input(shape=(16, 16, 3)),
                               layers.Conv2D(4, 3, activation="relu"),
                               layers.MaxPooling2D(2), layers.Flatten(),
                               layers.Dense(1, activation="sigmoid")])
    path = tmp_path / "mine.convsim"
    model.save(str(path))
    rng = np.random.default_rng(0)
    photo = tmp_path / "photo.png"
    Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(photo)
    return str(path), str(photo)


def test_your_model_and_photo(photo_model):
    path, photo = photo_model
    lesson = translation.build(model=path, image=photo)
    runs = next(f for f in lesson.frames if "runs" in f.data)
    label = runs.data["label"]
    held = all(int(np.argmax(translation.probabilities(r.after))) == label
               for r in runs.data["runs"].values())
    ending = translation.TEXT["en"]["held" if held else "changed"]
    assert ending in runs.caption
    assert lesson.frames[-1].caption == translation.TEXT["en"]["outro_yours"]
    probs = lesson.frames[0].data["subject"]
    assert probs.image.shape == (16, 16, 3)


def test_your_model_without_an_image_says_to_give_one(photo_model):
    path, _ = photo_model
    with pytest.raises(ArgumentError, match=r"takes images of shape \(16, 16, 3\).*"
                                            r"--image FILE"):
        translation.build(model=path)
