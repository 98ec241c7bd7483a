"""Rescaling: ``inputs * scale + offset`` as Keras 3 computes it (scale and
offset cast to float32 first), its gradient against finite differences, its
argument checks, and its way through convsim's files, Keras's files and the
trace. Keras's own predictions on a Rescaling model are checked by
test_keras_fixtures.py (``rescaling_convnet.keras``/``.h5``).
"""

from __future__ import annotations

import numpy as np
import pytest

from convsim import layers, models
from convsim.errors import ArgumentError, WrongTypeError
from convsim.layers import deserialize, serialize
from convsim.models.keras.registry import Report, layer_from_keras, layer_to_keras
from convsim.trace import trace_model
from convsim.trace.layer import LayerTrace

RNG = np.random.default_rng(5)
PIXELS = RNG.integers(0, 256, (3, 5, 4, 3)).astype(np.float32)


def small_model(rescaling: layers.Rescaling) -> models.Sequential:
    return models.Sequential([
        layers.Input(shape=(5, 4, 3)), rescaling,
        layers.Conv2D(2, 3, activation="relu", name="conv"),
        layers.Flatten(name="flat"), layers.Dense(1, activation="sigmoid",
                                                  name="out")])


# ---------------------------------------------------------------- forward
@pytest.mark.parametrize("scale, offset", [
    (1 / 255, 0.0), (1 / 127.5, -1), ([1 / 255, 0.5, 2.0], 0.0),
    (2, [0.0, 1.0, -1.0]), ([0.25], [3.0]), (np.float32(0.1), np.array(1.5)),
])
def test_forward_is_the_formula_in_float32(scale, offset):
    layer = layers.Rescaling(scale, offset=offset)
    want = (PIXELS * np.asarray(scale, np.float32)
            + np.asarray(offset, np.float32))
    for training in (False, True):
        got = layer(PIXELS, training=training)
        assert got.dtype == np.float32 and got.shape == PIXELS.shape
        np.testing.assert_array_equal(got, want)


def test_one_over_255_gives_0_to_1_like_the_books_rescale():
    out = layers.Rescaling(1.0 / 255)(np.array([[0.0, 255.0, 127.0]], np.float32))
    np.testing.assert_array_equal(out, [[0.0, np.float32(255 * np.float32(1 / 255)),
                                         np.float32(127 * np.float32(1 / 255))]])
    assert out.max() == pytest.approx(1.0, abs=1e-7)


def test_integer_pixels_are_cast_to_float32_first():
    pixels = PIXELS.astype(np.uint8)
    np.testing.assert_array_equal(layers.Rescaling(1 / 255)(pixels),
                                  layers.Rescaling(1 / 255)(PIXELS))


def test_shape_params_and_config():
    layer = layers.Rescaling([1.0, 2.0, 3.0], offset=-1, name="pixels")
    assert layer.compute_output_shape((None, 5, 4, 3)) == (None, 5, 4, 3)
    layer.build((None, 5, 4, 3))
    assert layer.count_params() == 0 and layer.weights == []
    config = layer.get_config()
    assert config["scale"] == [1.0, 2.0, 3.0] and config["offset"] == -1.0
    clone = deserialize(serialize(layer))
    assert clone.get_config() == config
    np.testing.assert_array_equal(clone(PIXELS), layer(PIXELS))


# ---------------------------------------------------------------- backward
@pytest.mark.parametrize("scale, offset", [(1 / 255, 0.0), ([0.5, -2.0, 3.0], 1.0)])
def test_backward_matches_finite_differences(scale, offset):
    """dL/dx of L = sum(y * r), against central differences in float64 of
    the layer's own forward pass (exact for a linear map, up to rounding)."""
    layer = layers.Rescaling(scale, offset=offset)
    x = RNG.normal(size=(2, 3, 2, 3)).astype(np.float32)
    r = RNG.normal(size=x.shape).astype(np.float32)
    layer(x, training=True)
    dx = layer.backward(r)
    assert dx.shape == x.shape and dx.dtype == np.float32
    eps = 1e-2
    for idx in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[idx] += eps
        down[idx] -= eps
        numeric = (np.sum(layer(up).astype(np.float64) * r)
                   - np.sum(layer(down).astype(np.float64) * r)) / (2 * eps)
        assert numeric == pytest.approx(float(dx[idx]), rel=1e-3, abs=1e-6)
    np.testing.assert_array_equal(dx, r * np.asarray(scale, np.float32))
    assert layer.backward(r, input_grad=False) is None  # a model's first layer


def test_a_model_trains_through_rescaling_in_the_middle():
    """Dense -> Rescaling(0.5) -> Dense is Dense -> Dense with the second
    kernel halved: the same outputs, and the same gradient reaches the first
    Dense, so one SGD step moves it the same way."""
    x = RNG.normal(size=(8, 4)).astype(np.float32)
    y = (RNG.random((8, 1)) > 0.5).astype(np.float32)
    first = layers.Dense(3, activation="tanh")
    with_layer = models.Sequential([layers.Input(shape=(4,)), first,
                                    layers.Rescaling(0.5), layers.Dense(1)])
    plain = models.Sequential([layers.Input(shape=(4,)), layers.Dense(3, activation=
                                                                      "tanh"),
                               layers.Dense(1)])
    w1, b1, w2, b2 = with_layer.get_weights()
    plain.set_weights([w1, b1, w2 * np.float32(0.5), b2])
    np.testing.assert_allclose(with_layer.predict(x, verbose=0),
                               plain.predict(x, verbose=0), rtol=1e-6, atol=1e-7)
    for model in (with_layer, plain):
        model.compile(optimizer="sgd", loss="mse")
        model.train_on_batch(x, y)
    np.testing.assert_allclose(with_layer.get_weights()[0], plain.get_weights()[0],
                               rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------- arguments
@pytest.mark.parametrize("make, error, message", [
    (lambda: layers.Rescaling("1/255"), WrongTypeError,
     r"`scale` must be a number, or a non-empty list of numbers \(one per "
     r"channel\). Received: scale='1/255'"),
    (lambda: layers.Rescaling(True), WrongTypeError, r"Received: scale=True"),
    (lambda: layers.Rescaling([]), WrongTypeError, r"Received: scale=\[\]"),
    (lambda: layers.Rescaling([[1.0, 2.0]]), WrongTypeError,
     r"Received: scale=\[\[1.0, 2.0\]\]"),
    (lambda: layers.Rescaling({"scale": 2}), WrongTypeError, r"Received: scale="),
    (lambda: layers.Rescaling(float("nan")), ArgumentError,
     r"`scale` must be a finite number. Received: scale=nan"),
    (lambda: layers.Rescaling([1.0, float("inf")]), ArgumentError,
     r"`scale\[1\]` must be a finite number. Received: scale\[1\]=inf"),
    (lambda: layers.Rescaling(1e39), ArgumentError,
     r"`scale` must be within float32's range .* Received: scale=1e\+39"),
    (lambda: layers.Rescaling(1.0, offset="zero"), WrongTypeError,
     r"`offset` must be a number.* Received: offset='zero'"),
    (lambda: layers.Rescaling([1.0, 2.0, 3.0], offset=[0.0, 1.0]), ArgumentError,
     r"`scale` and `offset` must give one number, or one per channel, for the "
     r"same number of channels"),
    (lambda: layers.Rescaling(1.0, dtype="float16"), ArgumentError,
     r"convsim layers compute in float32"),
    (lambda: layers.Rescaling(), TypeError, r"scale"),
])
def test_bad_arguments_are_explained(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_one_value_per_channel_must_fit_the_inputs():
    layer = layers.Rescaling([1.0, 2.0], name="two")
    with pytest.raises(ArgumentError, match=r"Layer 'two': `scale` has 2 values, "
                       r"one per channel, so its inputs must have 2 channels "
                       r"\(last axis\). Received: scale=\[1.0, 2.0\] for inputs of "
                       r"shape \(None, 5, 4, 3\)"):
        layer.build((None, 5, 4, 3))
    assert not layer.built
    with pytest.raises(ArgumentError, match=r"must have 2 channels"):
        small_model(layers.Rescaling(1.0, offset=[0.0, 1.0]))
    open_channels = layers.Rescaling([1.0, 2.0])
    open_channels.build((None, 5, None))  # channels unknown: checked at the call
    with pytest.raises(ArgumentError, match=r"must have 2 channels"):
        open_channels(PIXELS)
    assert layers.Rescaling([2.0])(PIXELS).shape == PIXELS.shape  # one for all


# ---------------------------------------------------------------- files
def test_convsim_file_round_trip(tmp_path):
    model = small_model(layers.Rescaling([1 / 255, 1 / 128, 1 / 64], offset=-0.5))
    model.compile(optimizer="adam", loss="binary_crossentropy")
    model.fit(PIXELS, np.array([[0.0], [1.0], [1.0]], np.float32), epochs=2,
              verbose=0)
    path = tmp_path / "model.convsim"
    model.save(str(path))
    again = models.load_model(str(path))
    assert type(again.layers[0]) is layers.Rescaling
    assert again.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(again.predict(PIXELS, verbose=0),
                                  model.predict(PIXELS, verbose=0))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_keras_file_round_trip(tmp_path, suffix):
    pytest.importorskip("h5py", reason="Keras files need h5py (pip install "
                        "'convsim[keras]')")
    model = small_model(layers.Rescaling([1 / 255, 0.5, 2.0], offset=1.0))
    path = tmp_path / f"model{suffix}"
    model.save(str(path))
    again = models.load_model(str(path))
    assert again.layers[0].get_config() == model.layers[0].get_config()
    np.testing.assert_array_equal(again.predict(PIXELS, verbose=0),
                                  model.predict(PIXELS, verbose=0))


def test_written_as_keras_3_writes_it():
    """Keras 3.15's ``serialize_keras_object(Rescaling(1./255))`` (less its
    DTypePolicy dict for the dtype and its ``build_config``, which convsim's
    model writer adds), and Keras 2's legacy ``.h5`` form."""
    layer = layers.Rescaling(1.0 / 255, name="rescaling")
    config = {"name": "rescaling", "trainable": True, "dtype": "float32",
              "scale": 0.00392156862745098, "offset": 0.0}
    assert layer_to_keras(layer, legacy=False) == {
        "module": "keras.layers", "class_name": "Rescaling", "config": config,
        "registered_name": None}
    assert layer_to_keras(layer, legacy=True) == {"class_name": "Rescaling",
                                                  "config": config}


POLICY = {"module": "keras", "class_name": "DTypePolicy",
          "config": {"name": "float32"}, "registered_name": None}


@pytest.mark.parametrize("scale", [
    [1.0, 2.0, 3.0],
    {"class_name": "__numpy__", "config": {"value": [1.0, 2.0, 3.0],
                                           "dtype": "float64"}},
])
def test_read_from_keras_configs(scale):
    """Keras 3 writes ``Rescaling(np.array([...]))``'s scale as a
    ``__numpy__`` object; tf_keras's ``.keras`` too; a list stays a list."""
    entry = {"module": "keras.layers", "class_name": "Rescaling",
             "config": {"name": "rescaling_1", "trainable": True, "dtype": POLICY,
                        "scale": scale, "offset": 0.5},
             "registered_name": None,
             "build_config": {"input_shape": [None, 2, 2, 3]}}
    report = Report()
    converted = layer_from_keras(entry, 1, report)
    assert report.problems == []
    layer = deserialize(converted)
    assert layer.scale == (1.0, 2.0, 3.0) and layer.offset == 0.5


def test_keras_configs_convsim_cannot_honour_are_named():
    report = Report()
    entry = {"class_name": "Rescaling", "config": {
        "name": "half", "dtype": {**POLICY, "config": {"name": "mixed_float16"}},
        "scale": 0.5, "offset": 0.0}}
    assert layer_from_keras(entry, 1, report) is None
    assert report.problems == ["layer 1 'half' (Rescaling): dtype 'mixed_float16' "
                               "(convsim computes in float32)"]
    with pytest.raises(WrongTypeError, match=r"Layer 'bad' \(Rescaling\): `scale` "
                       r"must be a number"):
        deserialize(layer_from_keras({"class_name": "Rescaling", "config": {
            "name": "bad", "scale": "x"}}, 1, Report()))


# ---------------------------------------------------------------- the trace
def test_trace_walks_a_rescaling_model():
    model = small_model(layers.Rescaling(1 / 255, name="pixels"))
    trace = trace_model(model, PIXELS[0])
    assert [layer.name for layer in trace] == ["pixels", "conv", "flat", "out"]
    first = trace[0]
    assert isinstance(first, LayerTrace) and len(first) == 0
    np.testing.assert_array_equal(first.outputs, PIXELS[0] * np.float32(1 / 255))
    np.testing.assert_allclose(trace.outputs.ravel(),
                               model.predict(PIXELS[:1], verbose=0).ravel(),
                               rtol=1e-6, atol=1e-7)
