"""Errors that teach: a wrong image shape is answered with the line of code
that fixes it, the layer is named, and each layer speaks its own words."""

from __future__ import annotations

import numpy as np
import pytest

from convsim import layers, models
from convsim.errors import ArgumentError
from convsim.experiments.book_models import build_cats_model, build_mnist_model
from convsim.validation import input_shape_hint

MNIST = (None, 28, 28, 1)


@pytest.mark.parametrize(("shape", "fix"), [
    ((32, 28, 28), "The images have no channels axis: add it as the book does, "
                   "x.reshape((-1, 28, 28, 1))."),
    ((28, 28, 1), "That is one image without the batch axis: give a batch of one, "
                  "np.expand_dims(x, 0) (shape (1, 28, 28, 1))."),
    ((28, 28), "That is one image without the batch and channels axes: "
               "x.reshape((1, 28, 28, 1))."),
    ((32, 1, 28, 28), "np.transpose(x, (0, 2, 3, 1))"),
    ((32, 28, 28, 3), "The model takes 1 channel (grayscale); these images have 3. "
                      "Load them with image.load_img(path, color_mode='grayscale')"),
    ((32, 32, 32, 1), "The model takes 28x28 images; these are 32x32: resize them"),
])
def test_each_common_mistake_gets_its_fix(shape, fix):
    assert fix in input_shape_hint(MNIST, shape)
    with pytest.raises(ArgumentError) as info:
        build_mnist_model().predict(np.zeros(shape, np.float32), verbose=0)
    message = str(info.value)
    assert message.startswith("Input 0 of model ")
    assert f"found shape {shape}. " in message and fix in message


def test_the_fix_really_fixes_it():
    """The lines the hints give make arrays the model takes."""
    model = build_mnist_model()
    x = np.zeros((32, 28, 28), np.float32)
    assert model.predict(x.reshape((-1, 28, 28, 1)), verbose=0).shape == (32, 10)
    one = np.zeros((28, 28, 1), np.float32)
    assert model.predict(np.expand_dims(one, 0), verbose=0).shape == (1, 10)
    first = np.zeros((32, 1, 28, 28), np.float32)
    assert model.predict(np.transpose(first, (0, 2, 3, 1)), verbose=0).shape == (32, 10)


def test_rgb_wanted_and_nothing_to_say():
    assert "The model takes 3 channels (RGB); these images have 1" in \
        input_shape_hint((None, 150, 150, 3), (2, 150, 150, 1))
    with pytest.raises(ArgumentError, match="color_mode='rgb'"):
        build_cats_model().predict(np.zeros((2, 150, 150, 1)), verbose=0)
    assert input_shape_hint(MNIST, (5,)) == ""
    assert input_shape_hint((None, 10), (3, 4)) == ""


def test_a_layer_called_on_one_image_says_so():
    with pytest.raises(ArgumentError, match=r"Full shape received: \(28, 28, 1\)\. "
                       r"A layer takes a batch of images.*np.expand_dims\(x, 0\)"):
        layers.Conv2D(2, 3)(np.zeros((28, 28, 1)))
    with pytest.raises(ArgumentError, match=r"np.expand_dims\(x, 0\) \(shape "
                       r"\(1, 28, 28, 1\)\)"):
        layers.Conv2D(2, 3, input_shape=(28, 28, 1))(np.zeros((28, 28, 1)))


def test_pooling_speaks_of_pool_size_and_the_layer_is_named():
    with pytest.raises(ArgumentError, match=r"^Layer 'too_big' \(MaxPooling2D\): "
                       r"The pool window 5x5 is larger than the 3x3 input .*"
                       r"pool_size=\(5, 5\).*Use a smaller pool_size"):
        models.Sequential([layers.Input((3, 3, 1)),
                           layers.MaxPooling2D(5, name="too_big")])
    with pytest.raises(ArgumentError, match=r"^Layer 'wide' \(Conv2D\): The kernel "
                       r"window 5x5 .*kernel_size=\(5, 5\)"):
        models.Sequential([layers.Input((3, 3, 1)), layers.Conv2D(2, 5, name="wide")])
