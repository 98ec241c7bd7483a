"""Sequential and functional models: construction, summary, the notes'
activation model, weights access and the model-level errors."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from convsim import layers, models
from convsim.experiments.book_models import build_cats_model as cats_model
from convsim.experiments.book_models import build_mnist_model as mnist_model
from convsim.utils import clear_session, set_random_seed


def capture():
    buf = io.StringIO()
    return Console(file=buf, width=80, color_system=None, force_terminal=True), buf


def test_summary_is_keras_like_table():
    clear_session()
    console, buf = capture()
    mnist_model().summary(console=console)
    assert buf.getvalue() == """\
Model: "sequential"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┓
┃ Layer (type)                   ┃ Output Shape       ┃ Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━┩
│ conv2d (Conv2D)                │ (None, 26, 26, 32) │     320 │
│ max_pooling2d (MaxPooling2D)   │ (None, 13, 13, 32) │       0 │
│ conv2d_1 (Conv2D)              │ (None, 11, 11, 64) │  18,496 │
│ max_pooling2d_1 (MaxPooling2D) │ (None, 5, 5, 64)   │       0 │
│ conv2d_2 (Conv2D)              │ (None, 3, 3, 64)   │  36,928 │
│ flatten (Flatten)              │ (None, 576)        │       0 │
│ dense (Dense)                  │ (None, 64)         │  36,928 │
│ dense_1 (Dense)                │ (None, 10)         │     650 │
└────────────────────────────────┴────────────────────┴─────────┘
 Total params: 93,322 (364.54 KB)
 Trainable params: 93,322 (364.54 KB)
 Non-trainable params: 0 (0.00 B)
"""


def test_summary_cats_total_and_print_fn():
    lines = []
    cats_model().summary(print_fn=lines.append)
    assert " Total params: 3,453,121 (13.17 MB)" in lines
    assert any("(None, 7, 7, 128)" in line for line in lines)


def test_list_constructor_input_output_and_get_layer():
    clear_session()
    model = models.Sequential([layers.Input(shape=(6, 6, 2)),
                               layers.Conv2D(3, 3), layers.Flatten(),
                               layers.Dense(2)])
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "Flatten", "Dense"]
    assert model.input.shape == (None, 6, 6, 2)
    assert model.output.shape == (None, 2)
    assert model.get_layer("flatten") is model.layers[1]
    assert model.get_layer(index=2).name == "dense"
    with pytest.raises(ValueError, match="No such layer: nope"):
        model.get_layer("nope")


def test_deferred_build_on_first_data():
    model = models.Sequential([layers.Conv2D(2, 3), layers.Flatten(), layers.Dense(3)])
    console, buf = capture()
    model.summary(console=console)
    assert "0 (unbuilt)" in buf.getvalue()
    with pytest.raises(AttributeError, match="no defined input"):
        _ = model.input
    out = model.predict(np.zeros((5, 7, 7, 1)), verbose=0)
    assert out.shape == (5, 3)
    assert model.input.shape == (None, 7, 7, 1)
    assert model.count_params() == 2 * 9 + 2 + 50 * 3 + 3


def test_add_rejects_non_layers_and_duplicate_names():
    model = models.Sequential()
    with pytest.raises(TypeError, match="Only instances of `convsim.layers.Layer`"):
        model.add("conv2d")
    model.add(layers.Dense(2, name="same", input_shape=(3,)))
    with pytest.raises(ValueError, match="unique names.*'same'"):
        model.add(layers.Dense(2, name="same"))


def test_wrong_input_shape_is_explained():
    model = mnist_model()
    with pytest.raises(ValueError, match=r"expected shape \(None, 28, 28, 1\), "
                                         r"found shape \(2, 32, 32, 1\)"):
        model.predict(np.zeros((2, 32, 32, 1)), verbose=0)


def test_notes_activation_model_returns_first_eight_activations():
    set_random_seed(5)
    model2 = cats_model(dropout=True)
    layer_outputs = [layer.output for layer in model2.layers[:8]]
    activation_model = models.Model(inputs=model2.input, outputs=layer_outputs)
    img_tensor = np.random.default_rng(0).random((1, 150, 150, 3), dtype=np.float32)
    activations = activation_model.predict(img_tensor, verbose=0)
    assert isinstance(activations, list) and len(activations) == 8
    assert [a.shape for a in activations] == [
        (1, 148, 148, 32), (1, 74, 74, 32), (1, 72, 72, 64), (1, 36, 36, 64),
        (1, 34, 34, 128), (1, 17, 17, 128), (1, 15, 15, 128), (1, 7, 7, 128)]
    # the same numbers as running the layers one by one
    x = img_tensor
    for layer, act in zip(model2.layers[:8], activations, strict=True):
        x = layer(x)
        np.testing.assert_array_equal(act, x)
    names = [layer.name for layer in activation_model.layers]
    assert names[1:] == [layer.name for layer in model2.layers[:8]]


def test_functional_model_from_input_trains_and_summarises():
    set_random_seed(2)
    inputs = layers.Input(shape=(8, 8, 1))
    x = layers.Conv2D(4, 3, activation="relu")(inputs)
    x = layers.MaxPooling2D()(x)
    outputs = layers.Dense(3, activation="softmax")(layers.Flatten()(x))
    model = models.Model(inputs=inputs, outputs=outputs)
    console, buf = capture()
    model.summary(console=console)
    assert "(InputLayer)" in buf.getvalue() and "(None, 8, 8, 1)" in buf.getvalue()
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(64, 8, 8, 1)).astype(np.float32)
    ys = (xs[:, :4].sum(axis=(1, 2, 3)) > 0).astype(int) + (xs.mean(
        axis=(1, 2, 3)) > 0.2)
    before = model.evaluate(xs, ys, verbose=0)[0]
    model.fit(xs, ys, epochs=15, batch_size=16, verbose=0)
    after = model.evaluate(xs, ys, verbose=0)[0]
    assert after < 0.7 * before


def test_get_and_set_weights_round_trip():
    a, b = mnist_model(), mnist_model()
    x = np.random.default_rng(1).random((3, 28, 28, 1), dtype=np.float32)
    assert not np.allclose(a.predict(x, verbose=0), b.predict(x, verbose=0))
    b.set_weights(a.get_weights())
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    with pytest.raises(ValueError, match="with 1 arrays, but it has 10 weights"):
        b.set_weights([np.zeros(3)])
    assert [w.path for w in a.weights[:2]] == [f"{a.layers[0].name}/kernel",
                                               f"{a.layers[0].name}/bias"]


def test_a_frozen_model_does_not_train():
    model = models.Sequential([layers.Dense(2, input_shape=(3,))], trainable=False)
    model.compile("sgd", "mse")
    before = model.get_weights()
    model.fit(np.ones((4, 3)), np.zeros((4, 2)), verbose=0)
    for a, b in zip(before, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert model.trainable_weights == [] and len(model.non_trainable_weights) == 2


def test_fresh_names_name_layers_as_a_new_session_then_counting_goes_on():
    from convsim.layers.graph import fresh_names

    layers.Dense(1)  # the session has handed out 'dense' (or more) already
    before = layers.Dense(1).name
    with fresh_names():
        inside = [layers.Dense(1).name, layers.Dense(1).name]
    after = layers.Dense(1).name
    assert inside == ["dense", "dense_1"]
    assert int(after.rpartition("_")[2]) == int(before.rpartition("_")[2]) + 1
