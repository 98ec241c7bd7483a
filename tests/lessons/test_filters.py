"""The filters lesson and the gradient ascent behind it (convsim.trace.patterns):
the climb raises the chosen filter's mean activation, each step has the size
asked for, the book's deprocessing, and the lesson built on the trained MNIST
convnet in English and Korean (numbers from the climb, frames within 80
columns, Korean without stray English)."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from convsim.lessons import filters
from rich.console import Console
from rich.measure import Measurement

from convsim import layers, models
from convsim.errors import ArgumentError
from convsim.lesson.frames import compose
from convsim.trace.patterns import ascend, deprocess_image


def tiny_model(side: int = 12, channels: int = 1):
    model = models.Sequential([
        layers.Input(shape=(side, side, channels)),
        layers.Conv2D(4, 3, activation="relu", name="c1"),
        layers.MaxPooling2D(2),
        layers.Conv2D(3, 3, activation="relu", name="c2"),
        layers.Flatten(),
        layers.Dense(2, activation="softmax"),
    ])
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
    return model


def mean_activation(model, layer: str, pixels: np.ndarray, scale=1 / 255):
    """The filter means computed independently, by an activation model."""
    probe = models.Model(model.input, model.get_layer(layer).output)
    return probe.predict(pixels * scale, verbose=0).mean(axis=(1, 2))


def test_gradient_ascent_raises_each_filters_mean_activation():
    model = tiny_model()
    climbed = ascend(model, "c2", [0, 1, 2], steps=30, step=5.0, keep=(0,))
    start = climbed.snapshots[0]
    before = mean_activation(model, "c2", start)[np.arange(3), [0, 1, 2]]
    after = mean_activation(model, "c2", climbed.images)[np.arange(3), [0, 1, 2]]
    np.testing.assert_allclose(climbed.before, before, rtol=1e-5)
    np.testing.assert_allclose(climbed.after, after, rtol=1e-5)
    awake = before > 0
    assert awake.any()
    assert np.all(after[awake] > before[awake] * 1.5)
    assert climbed.history.shape == (31, 3)


def test_the_start_is_the_books_grey_noise_and_each_step_has_the_asked_size():
    model = tiny_model()
    climbed = ascend(model, "c1", [0, 1, 2, 3], steps=1, step=3.0, keep=(0,))
    start = climbed.snapshots[0]
    assert start.min() >= 128 and start.max() <= 148 and start.shape == (4, 12, 12, 1)
    moved = climbed.images - start
    rms = np.sqrt((moved ** 2).mean(axis=(1, 2, 3)))
    awake = climbed.before > 0
    np.testing.assert_allclose(rms[awake], 3.0, rtol=1e-2)  # gradient / its RMS
    np.testing.assert_array_equal(moved[~awake], 0)  # no gradient, no step
    again = ascend(model, "c1", [0, 1, 2, 3], steps=1, step=3.0)
    np.testing.assert_array_equal(again.images, climbed.images)  # seed None: same
    other = ascend(model, "c1", [0, 1, 2, 3], steps=1, step=3.0, seed=5)
    assert not np.array_equal(other.images, climbed.images)


def test_deprocess_image_is_the_books():
    x = np.random.default_rng(0).normal(3.0, 7.0, (20, 20, 3))
    out = deprocess_image(x)
    assert out.dtype == np.uint8 and out.shape == x.shape
    expected = np.clip(np.clip((x - x.mean()) / (x.std() + 1e-5) * 0.1 + 0.5, 0, 1)
                       * 255, 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(out, expected)
    assert abs(out.mean() - 127.5) < 2 and abs(out.std() - 25.5) < 1.5
    np.testing.assert_array_equal(deprocess_image(np.full((4, 4, 1), 9.0)), 127)


def test_bad_arguments_are_refused_clearly():
    model = tiny_model()
    with pytest.raises(ArgumentError, match=r"`steps` must be a positive integer. "
                                            r"Received: steps=0"):
        ascend(model, "c1", 0, steps=0)
    with pytest.raises(ArgumentError, match=r"`step` must be a finite number > 0"):
        ascend(model, "c1", 0, step=-1.0)
    with pytest.raises(ArgumentError, match=r"`channel` must be an integer from 0 "
                                            r"to 3"):
        ascend(model, "c1", [0, 4])
    with pytest.raises(ArgumentError, match=r"--filters must be a positive integer"
                                            r".*Received: --filters 'many'"):
        filters.build(model=model, filters="many")
    with pytest.raises(ArgumentError, match=r"`filters` must be a positive integer"
                                            r". Received: filters=0"):
        filters.build(model=model, filters="0")
    dense_only = models.Sequential([layers.Input(shape=(4,)), layers.Dense(2)])
    with pytest.raises(ArgumentError, match="has no Conv2D layer"):
        filters.build(model=dense_only)


# ---------------------------------------------------------------- the lesson

ALLOWED_IN_KOREAN = re.compile(r"conv2d(_\d+)?|ReLU|MNIST|VGG16|sqrt|mean|save|"
                               r"convsim|filters\.png|png|filters")


def check_frames(lesson, lang: str) -> None:
    console = Console(file=io.StringIO(), width=80, color_system="truecolor",
                      force_terminal=True)
    for i, frame in enumerate(lesson.frames):
        width = Measurement.get(console, console.options, frame.render()).maximum
        assert width <= 80, (i, width)
        console.print(compose(lesson, i))
        if lang == "ko":
            text = frame.caption + (frame.question.prompt if frame.question else "")
            stray = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_.]+", text)
                     if not ALLOWED_IN_KOREAN.fullmatch(w)]
            assert not stray, (i, stray, text)


@pytest.fixture(scope="module")
def small_lessons(trained_mnist):
    """The lesson on the trained MNIST convnet, 4 filters a layer (fast)."""
    return {lang: filters.build(lang=lang, filters=4) for lang in ("en", "ko")}


def test_lesson_climbs_every_conv_layer_of_the_trained_convnet(small_lessons):
    lesson = small_lessons["en"]
    final = lesson.frames[-1].data["ascents"]
    assert [a.layer for a in final] == ["conv2d", "conv2d_1", "conv2d_2"]
    for ascent in final:
        assert ascent.filters == (0, 1, 2, 3)
        awake = ascent.before > 0
        assert np.all(ascent.after[awake] > ascent.before[awake])
    climb = [f.data for f in lesson.frames if "step" in f.data]
    assert [d["step"] for d in climb] == [0, 5, 10, 20, 40]
    assert climb[-1]["activation"] > climb[0]["activation"]
    pages = [f.data for f in lesson.frames if "silent" in f.data]
    for page in pages:
        ascent = next(a for a in final if a.layer == page["layer"])
        assert page["silent"] == int((ascent.history.max(axis=0) == 0).sum())
    question = next(f.question for f in lesson.frames if f.question)
    assert question.check("1") and not question.check("5")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lesson_frames_fit_80_columns_and_korean_is_korean(small_lessons, lang):
    check_frames(small_lessons[lang], lang)
    assert small_lessons[lang].title == filters.TITLE[lang]


def test_a_big_input_climbs_fewer_filters_and_steps_and_says_so():
    model = models.Sequential([layers.Input(shape=(66, 66, 1)),
                               layers.Conv2D(2, 3, activation="relu", name="c"),
                               layers.MaxPooling2D(4),
                               layers.Conv2D(10, 3, activation="relu", name="d")])
    rng = np.random.default_rng(1)
    model.set_weights([rng.normal(0.05, 0.3, w.shape) for w in model.get_weights()])
    lesson = filters.build(model=model)
    ascents = lesson.frames[-1].data["ascents"]
    assert [len(a.filters) for a in ascents] == [2, filters.BIG_FILTERS]
    assert all(len(a.history) == filters.BIG_STEPS + 1 for a in ascents)
    assert all(a.step == filters.BIG_STEP_SIZE for a in ascents)
    question = next(f.question for f in lesson.frames if f.question)
    assert question.check("2")  # the step this lesson takes
    assert "66×66" in lesson.frames[0].caption
    check_frames(lesson, "en")


@pytest.mark.slow  # matplotlib's first import
def test_save_figure_draws_every_layers_grid(tmp_path):
    path = filters.save_figure(tmp_path / "grids" / "filters.png",
                               model=tiny_model(), filters="3")
    assert path.endswith("filters.png")
    from PIL import Image

    with Image.open(path) as picture:
        assert picture.size[0] >= 600 and picture.format == "PNG"


@pytest.mark.slow
def test_default_lesson_shows_16_filters_a_layer(trained_mnist):
    lesson = filters.build()
    ascents = lesson.frames[-1].data["ascents"]
    assert [len(a.filters) for a in ascents] == [16, 16, 16]
    assert len(lesson.frames) == 1 + 5 + 3 * (1 + 2) + 1
