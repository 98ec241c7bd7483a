"""``--model`` and ``--image`` for the lessons that look inside a network:
the learner's files, or convsim's trained MNIST convnet and a bundled digit."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from convsim import layers, models
from convsim.errors import ArgumentError
from convsim.experiments.your_model import choose, image_for_model, sample_digit


def rgb_model():
    return models.Sequential([layers.Input((12, 10, 3)), layers.Conv2D(2, 3),
                              layers.Flatten(), layers.Dense(2)])


def test_a_photo_is_read_at_the_models_size_and_scaled(tmp_path):
    path = tmp_path / "cat.png"
    pixels = np.random.default_rng(0).integers(0, 256, (30, 25, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    image = image_for_model(rgb_model(), str(path))
    assert image.shape == (12, 10, 3) and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1
    expected = np.asarray(Image.fromarray(pixels).resize((10, 12), Image.NEAREST))
    np.testing.assert_allclose(image, expected / 255, atol=1e-7)


def test_arrays_are_taken_as_they_are_and_checked():
    model = rgb_model()
    image = np.full((12, 10, 3), 255.0)
    np.testing.assert_array_equal(image_for_model(model, image), 1.0)
    with pytest.raises(ArgumentError, match=r"shape the model takes, \(12, 10, 3\). "
                       r"Received: an image of shape \(28, 28\)"):
        image_for_model(model, np.zeros((28, 28)))
    with pytest.raises(ArgumentError, match="NaN"):
        image_for_model(model, np.full((12, 10, 3), np.nan))


def test_a_bundled_digit_and_a_given_model():
    digit, label, words = sample_digit()
    assert digit.shape == (28, 28) and 0 <= label <= 9 and f"a {label}" in words
    assert sample_digit(3)[0].shape == (28, 28)
    model = rgb_model()
    subject = choose(model, np.zeros((12, 10, 3)))
    assert subject.model is model and subject.image.shape == (12, 10, 3)


@pytest.mark.slow
def test_no_arguments_give_the_trained_convnet_and_a_digit(trained_mnist, tmp_path):
    subject = choose()
    assert subject.image.shape == (28, 28, 1) and subject.label is not None
    assert "trained on convsim's 4,000 bundled digits" in subject.model_words
    path = tmp_path / "mine.convsim"
    trained_mnist.save(path)
    mine = choose(str(path))
    assert mine.model_words == f"your model {path}"
