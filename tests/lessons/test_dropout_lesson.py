"""The dropout lesson shows what a real Dropout layer does: in training it
zeroes units at random and scales the rest by 1/(1 - rate), a new mask every
step, keeping the expected sum; when predicting it changes nothing."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from convsim.lessons import dropout
from rich.console import Console

from convsim import layers
from convsim.lesson.frames import compose


def frame_with(lesson, key: str):
    return next(f for f in lesson.frames if key in f.data)


def steps(lesson):
    return [f for f in lesson.frames if "outputs" in f.data]


def test_training_steps_zero_some_units_and_double_the_rest():
    lesson = dropout.build()
    x = frame_with(lesson, "inputs").data["inputs"]
    np.testing.assert_array_equal(x, np.array(dropout.VECTOR, np.float32))
    first, second = (f.data["outputs"] for f in steps(lesson))
    for y in (first, second):
        kept = y != 0
        np.testing.assert_array_equal(y[kept], x[kept] * np.float32(2))
        assert 0 < kept.sum() < x.size
    assert not np.array_equal(first != 0, second != 0)  # a new mask each step
    # the same as a Dropout(0.5) layer with the lesson's seed, step for step
    layer = layers.Dropout(0.5, seed=dropout.LAYER_SEED)
    np.testing.assert_array_equal(layer(x[None], training=True)[0], first)
    np.testing.assert_array_equal(layer(x[None], training=True)[0], second)


def test_the_example_is_0_8_to_1_6_and_the_quiz_asks_for_it():
    lesson = dropout.build()
    step = steps(lesson)[0]
    k = step.data["example"]
    assert dropout.VECTOR[k] == 0.8 and step.data["kept"][k]
    assert "0.8 → 1.6" in step.caption and "1/(1 − 0.5) = 2" in step.caption
    assert step.question.check("1.6") and not step.question.check("0.8")
    changed = frame_with(lesson, "changed").data["changed"]
    assert f"{changed} of the 8 units changed" in steps(lesson)[1].caption


def test_the_expected_sum_is_kept():
    lesson = dropout.build()
    x = np.array(dropout.VECTOR, np.float64)
    frame = frame_with(lesson, "sums")
    sums, means = frame.data["sums"], frame.data["means"]
    assert sums.shape == (dropout.DRAWS,)
    # each unit is 0 or 2x with probability 1/2: variance x**2 per unit
    sigma = np.sqrt((x ** 2).sum() / dropout.DRAWS)
    assert abs(sums.mean() - x.sum()) < 4 * sigma
    np.testing.assert_allclose(means, x, atol=4 * x.max() / np.sqrt(dropout.DRAWS))


def test_predicting_passes_everything_through_unchanged():
    lesson = dropout.build()
    frame = frame_with(lesson, "predicted")
    np.testing.assert_array_equal(frame.data["predicted"],
                                  np.array(dropout.VECTOR, np.float32))
    assert frame.question.check("0.8")


def test_the_real_layer_on_a_map():
    """A 4×4 map: training zeroes cells and doubles the others; predicting
    returns the map itself."""
    fmap = np.arange(1, 17, dtype=np.float32).reshape(1, 4, 4, 1)
    layer = layers.Dropout(0.5, seed=3)
    trained = layer(fmap, training=True)
    kept = trained != 0
    np.testing.assert_array_equal(trained[kept], fmap[kept] * 2)
    assert 0 < kept.sum() < 16
    np.testing.assert_array_equal(layer(fmap, training=False), fmap)


def test_the_cats_convnets_dropout_zeroes_about_half_of_flatten():
    lesson = dropout.build()
    frame = frame_with(lesson, "dropped")
    assert frame.data["features"] == 7 * 7 * 128 and frame.data["rate"] == 0.5
    # Binomial(6272, 0.5): mean 3136, standard deviation about 40
    assert abs(frame.data["dropped"] - 3136) < 6 * 40
    assert frame.question.check(str(frame.data["dropped"]))
    assert "flatten (6,272) → dropout (0.5) → dense (512)" in frame.caption


def test_seed_and_size_change_the_example():
    lesson = dropout.build(seed=3, size=12)
    x = frame_with(lesson, "inputs").data["inputs"]
    assert x.shape == (12,) and (x > 0).all()
    first = steps(lesson)[0].data["outputs"]
    np.testing.assert_array_equal(
        first, layers.Dropout(0.5, seed=3)(x[None], training=True)[0])


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("size", [8, 12])
def test_frames_fit_80_columns(lang, size):
    lesson = dropout.build(lang=lang, size=size)
    for i in range(len(lesson.frames)):
        console = Console(file=io.StringIO(), width=80, color_system=None)
        console.print(compose(lesson, i))
        text = console.file.getvalue()
        assert "…" not in text and max(len(line) for line in text.splitlines()) <= 80


def test_korean_frames_leave_no_english_words():
    lesson = dropout.build(lang="ko")
    allowed = {"Dropout", "Flatten", "Dense", "convsim", "model", "predict",
               "evaluate", "training", "False", "vs"}
    for i, frame in enumerate(lesson.frames):
        console = Console(file=io.StringIO(), width=100, color_system=None)
        console.print(compose(lesson, i))
        text = re.sub(r"\b(flatten|dropout|dense)\b", "", console.file.getvalue())
        words = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]+", text)) - allowed
        assert not words, (words, frame.caption)
