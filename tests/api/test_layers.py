"""Layers: shapes and parameter counts against Keras's numbers, names, argument
checks, config round trips, Dropout, and each layer's backward pass against
finite differences of its own forward pass in float64 terms.

The Keras numbers are the ones ``model.summary()`` prints in Keras for the
the book's two convnets (chapter 5: 93,322 and 3,453,121 parameters).
"""

from __future__ import annotations

import numpy as np
import pytest

import convsim.random
from convsim import errors, layers, models
from convsim.experiments.book_models import build_cats_model as cats_model
from convsim.experiments.book_models import build_mnist_model as mnist_model
from convsim.layers import deserialize, serialize
from convsim.utils import clear_session

BOOK_MNIST = [  # (name, output shape, params) as Keras prints them
    ("conv2d", (None, 26, 26, 32), 320),
    ("max_pooling2d", (None, 13, 13, 32), 0),
    ("conv2d_1", (None, 11, 11, 64), 18_496),
    ("max_pooling2d_1", (None, 5, 5, 64), 0),
    ("conv2d_2", (None, 3, 3, 64), 36_928),
    ("flatten", (None, 576), 0),
    ("dense", (None, 64), 36_928),
    ("dense_1", (None, 10), 650),
]

BOOK_CATS = [
    ((None, 148, 148, 32), 896),
    ((None, 74, 74, 32), 0),
    ((None, 72, 72, 64), 18_496),
    ((None, 36, 36, 64), 0),
    ((None, 34, 34, 128), 73_856),
    ((None, 17, 17, 128), 0),
    ((None, 15, 15, 128), 147_584),
    ((None, 7, 7, 128), 0),
    ((None, 6272), 0),
    ((None, 512), 3_211_776),
    ((None, 1), 513),
]


def test_book_mnist_model_names_shapes_and_params_match_keras():
    clear_session()
    model = mnist_model()
    got = [(layer.name, layer.output.shape, layer.count_params())
           for layer in model.layers]
    assert got == BOOK_MNIST
    assert model.count_params() == 93_322
    assert model.name == "sequential"


def test_book_cats_vs_dogs_model_shapes_and_params_match_keras():
    model = cats_model()
    got = [(layer.output.shape, layer.count_params()) for layer in model.layers]
    assert got == BOOK_CATS
    assert model.count_params() == 3_453_121
    with_dropout = cats_model(dropout=True)
    assert with_dropout.count_params() == 3_453_121
    assert with_dropout.layers[9].output.shape == (None, 6272)


def test_auto_names_count_per_class_like_keras():
    clear_session()
    names = [layers.Conv2D(1, 3).name, layers.Conv2D(1, 3).name,
             layers.MaxPooling2D().name, layers.AveragePooling2D().name,
             layers.Dense(1).name, layers.Dropout(0.1).name,
             layers.Activation("relu").name, layers.Conv2D(1, 3, name="mine").name,
             layers.Conv2D(1, 3).name]
    assert names == ["conv2d", "conv2d_1", "max_pooling2d", "average_pooling2d",
                     "dense", "dropout", "activation", "mine", "conv2d_2"]
    clear_session()
    assert layers.Conv2D(1, 3).name == "conv2d"


def test_max_pooling_spellings_are_equivalent():
    a, b = layers.MaxPooling2D((2, 2)), layers.MaxPooling2D(2, 2)
    assert a.pool_size == b.pool_size == (2, 2)
    assert a.strides == b.strides == (2, 2)
    assert layers.MaxPooling2D(3, 1).strides == (1, 1)
    x = np.random.default_rng(0).normal(size=(2, 15, 15, 3)).astype(np.float32)
    np.testing.assert_array_equal(a(x), b(x))
    assert a(x).shape == (2, 7, 7, 3)  # floor((15 - 2) / 2) + 1


@pytest.mark.parametrize("make, message", [
    (lambda: layers.Conv2D(0, 3),
     r"`filters` must be a positive integer. Received: filters=0"),
    (lambda: layers.Conv2D(8, (3, 0)),
     r"The `kernel_size` argument must be a tuple of 2 positive integers"),
    (lambda: layers.Conv2D(8, 3, padding="full"),
     r"`padding` must be one of \{'valid', 'same'\}. Received: padding='full'"),
    (lambda: layers.Conv2D(8, 3, strides=2, dilation_rate=2),
     r"`strides > 1` not supported in conjunction with `dilation_rate > 1`"),
    (lambda: layers.Conv2D(8, 3, activation="swishy"),
     r"Could not interpret activation function identifier: 'swishy'"),
    (lambda: layers.Dense(0), r"`units` must be a positive integer. Received: units=0"),
    (lambda: layers.Dropout(1.5), r"between 0 and 1.*Received: rate=1.5"),
    (lambda: layers.MaxPooling2D((2, 2, 2)),
     r"The `pool_size` argument must be a tuple of 2 positive integers"),
    (lambda: layers.Conv2D(8, 3, data_format="channels_first"),
     r"`data_format` must be 'channels_last'"),
])
def test_bad_arguments_are_explained(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unknown_keyword_is_a_type_error():
    with pytest.raises(TypeError, match=r"Unrecognized keyword arguments passed "
                                        r"to Conv2D: \{'filter_size': 3\}"):
        layers.Conv2D(8, 3, filter_size=3)


def test_incompatible_input_shape_is_explained():
    dense = layers.Dense(4)
    dense(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r'layer "dense.*expected axis -1 of input '
                                         r"shape to have value 3"):
        dense(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"expected ndim=4, found ndim=3"):
        layers.Conv2D(2, 3)(np.zeros((1, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"window 3x3 .*larger than the 2x2"):
        models.Sequential([layers.Conv2D(2, 3, input_shape=(2, 2, 1))])


LAYER_CASES = [
    (lambda: layers.Conv2D(3, (3, 2), strides=(2, 1), padding="same",
                           activation="relu"), (2, 7, 6, 2), (2, 4, 6, 3), 39),
    (lambda: layers.Conv2D(2, 2, dilation_rate=2, activation="tanh",
                           use_bias=False), (2, 6, 5, 3), (2, 4, 3, 2), 24),
    (lambda: layers.MaxPooling2D(3, 2, padding="same"), (2, 7, 6, 2),
     (2, 4, 3, 2), 0),
    (lambda: layers.AveragePooling2D((2, 3)), (2, 6, 7, 2), (2, 3, 2, 2), 0),
    (lambda: layers.Flatten(), (2, 3, 4, 5), (2, 60), 0),
    (lambda: layers.Dense(4, activation="sigmoid"), (3, 5), (3, 4), 24),
    (lambda: layers.Dense(4, activation="softmax"), (2, 3, 5), (2, 3, 4), 24),
    (lambda: layers.Activation("tanh"), (2, 3, 4), (2, 3, 4), 0),
    (lambda: layers.Rescaling(1 / 255), (2, 3, 4, 2), (2, 3, 4, 2), 0),
    (lambda: layers.Rescaling([0.5, -2.0], offset=1.0), (2, 3, 4, 2),
     (2, 3, 4, 2), 0),
]


@pytest.mark.parametrize("make, in_shape, out_shape, params", LAYER_CASES)
def test_layer_harness(make, in_shape, out_shape, params, monkeypatch):
    """Build, call, shapes/dtype, params, config round trip and backward, like
    Keras's run_layer_test; backward vs central differences of sum(out * w).

    The initial weights come from a fixed seed: with fresh random weights, a
    ReLU unit now and then sits within the finite difference's step of 0,
    where the difference is not the derivative, and the test failed at random.
    """
    monkeypatch.setattr(convsim.random, "_seed_sequence", np.random.SeedSequence(7))
    rng = np.random.default_rng(7)
    layer = make()
    x = rng.normal(size=in_shape).astype(np.float32)
    y = layer(x, training=True)
    assert y.shape == out_shape and y.dtype == np.float32
    assert layer.compute_output_shape((None, *in_shape[1:])) == (None, *out_shape[1:])
    assert layer.count_params() == params
    clone = deserialize(serialize(layer))
    assert clone.get_config() == layer.get_config()
    clone.build((None, *in_shape[1:]))
    assert clone.built  # build() alone leaves the layer built, as in Keras
    clone.set_weights(layer.get_weights())
    np.testing.assert_array_equal(clone(x), layer(x))
    # backward against finite differences of L = sum(y * r)
    r = rng.normal(size=out_shape).astype(np.float32)
    layer(x, training=True)
    dx = layer.backward(r)
    assert dx.shape == x.shape
    eps = 1e-2
    for idx in [tuple(rng.integers(0, n) for n in in_shape) for _ in range(6)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        numeric = (np.sum(layer(xp).astype(np.float64) * r)
                   - np.sum(layer(xm).astype(np.float64) * r)) / (2 * eps)
        assert numeric == pytest.approx(float(dx[idx]), abs=2e-2, rel=2e-2)
    for var in layer.weights:
        assert var.grad is not None and var.grad.shape == var.shape


def test_dropout_is_inverted_training_only_and_seeded():
    x = np.ones((200, 50), np.float32)
    drop = layers.Dropout(0.4, seed=3)
    np.testing.assert_array_equal(drop(x), x)  # inference: identity
    y = drop(x, training=True)
    kept = y != 0
    assert set(np.unique(y)) == {0.0, np.float32(1 / 0.6)}
    assert abs(kept.mean() - 0.6) < 0.02
    np.testing.assert_array_equal(drop.backward(np.ones_like(x)), y)
    again = layers.Dropout(0.4, seed=3)(x, training=True)
    np.testing.assert_array_equal(again, y)
    maps = layers.Dropout(0.5, noise_shape=(None, 1, 1, None), seed=1)
    z = maps(np.ones((4, 3, 3, 8), np.float32), training=True)
    assert np.all(z == z[:, :1, :1, :])  # whole feature maps dropped together


def test_input_and_symbolic_tensors():
    inp = layers.Input(shape=(28, 28, 1))
    assert inp.shape == (None, 28, 28, 1)
    out = layers.Conv2D(4, 3)(inp)
    assert out.shape == (None, 26, 26, 4)
    with pytest.raises(TypeError, match="symbolic tensor"):
        np.asarray(out)
    with pytest.raises(AttributeError, match="has never been called"):
        _ = layers.Dense(3).output


def test_weights_are_glorot_uniform_and_zero_bias():
    conv = layers.Conv2D(64, (3, 3))
    conv.build((None, 10, 10, 32))
    limit = np.sqrt(6 / (3 * 3 * 32 + 3 * 3 * 64))
    k = np.asarray(conv.kernel)
    assert k.shape == (3, 3, 32, 64)
    assert np.abs(k).max() <= limit and np.abs(k).max() > 0.95 * limit
    assert abs(k.std() - limit / np.sqrt(3)) < 0.02 * limit
    np.testing.assert_array_equal(np.asarray(conv.bias), np.zeros(64))


def test_dropout_noise_shape_must_fit_the_inputs():
    layer = layers.Dropout(0.5, noise_shape=(None, 1, 1, None), seed=1)
    x = np.ones((2, 3, 3, 4), np.float32)
    y = layer(x, training=True)
    # one decision per image and channel, shared over the 3x3 positions
    assert np.all(y == y[:, :1, :1, :])
    for bad in [(None, 2, 1, None), (None, 1, None), ()]:
        with pytest.raises(errors.ArgumentError, match=r"`noise_shape` must have one "
                           r"entry per input axis"):
            layers.Dropout(0.5, noise_shape=bad)(x, training=True)
