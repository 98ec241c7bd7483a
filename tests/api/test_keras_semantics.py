"""``layer.build(input_shape)`` called directly, with Keras 3's semantics.

What Keras 3 does (keras/src/layers/layer.py, 3.15.1: ``Layer.__new__`` wraps
every layer's ``build`` in ``build_wrapper``, which records the shape, sets
``built = True`` and calls ``_lock_state``; ``add_weight`` on a locked layer
raises ``ValueError`` "You cannot add new elements of state ..."), checked by
running Keras 3.15.1 itself::

    layer = keras.layers.Dense(2, activation="relu")
    layer.build((1, 2))                   # layer.built is True
    layer.set_weights([[[1, -1], [2, 0.5]], [0.5, -0.25]])
    layer(np.array([[1., 2.]]))           # [[5.5, 0.]] with exactly those weights
    layer.build((1, 2))                   # ValueError: ... already built ...
    keras.layers.MaxPooling2D().build(s)  # no weights: fine, records the shape s

Every convsim layer type is checked here: built after ``build``, the call uses
exactly the weights that were set, the weight list is unchanged by the call,
and (re)building layers inside a Sequential model leaves the model working.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from reference import (
    naive_avg_pool2d,
    naive_conv2d,
    naive_dense,
    naive_max_pool2d,
    naive_relu,
)

from convsim import initializers, layers, models

# Inputs and weights are small integers and halves: every product and sum in
# float32 is exact, so the layer must reproduce the float64 reference to the
# last bit; rtol 1e-6 only spares assert_allclose an exact comparison. Glorot
# weights instead of the ones set would be off by whole units.
RTOL = 1e-6

KERNEL_2x2 = np.array([[[[1.0, -1.0]], [[0.5, 2.0]]],
                       [[[-2.0, 1.0]], [[1.0, 0.5]]]], np.float32)  # (2, 2, 1, 2)
DENSE_W = np.array([[1.0, -1.0], [2.0, 0.5]], np.float32)
DENSE_B = np.array([0.5, -0.25], np.float32)


def _data(shape):
    """Small integers -3..3 (some negative, so ReLU matters), batch of 3."""
    return (np.arange(np.prod(shape)) % 7 - 3).reshape(shape).astype(np.float32)


# name, make(), shape given to build (batch 1, as in the issue), weights to set
# (None: the layer has none), data shape for the call (batch 3: the build's
# batch does not bind), the expected output computed with the set weights
LAYERS = {
    "InputLayer": (lambda: layers.InputLayer(shape=(3,)), (1, 3), None, (3, 3),
                   lambda x: x),
    "Conv2D": (lambda: layers.Conv2D(2, (2, 2), activation="relu"), (1, 4, 4, 1),
               [KERNEL_2x2, np.array([1.0, -0.5], np.float32)], (3, 4, 4, 1),
               lambda x: naive_relu(naive_conv2d(x, KERNEL_2x2, [1.0, -0.5]))),
    "Dense": (lambda: layers.Dense(2, activation="relu"), (1, 2),
              [DENSE_W, DENSE_B], (3, 2),
              lambda x: naive_relu(naive_dense(x, DENSE_W, DENSE_B))),
    "MaxPooling2D": (lambda: layers.MaxPooling2D((2, 2)), (1, 4, 4, 2), None,
                     (3, 4, 4, 2), lambda x: naive_max_pool2d(x, (2, 2))[0]),
    "AveragePooling2D": (lambda: layers.AveragePooling2D((2, 2)), (1, 4, 4, 2),
                         None, (3, 4, 4, 2), lambda x: naive_avg_pool2d(x, (2, 2))),
    "Flatten": (lambda: layers.Flatten(), (1, 2, 3, 2), None, (3, 2, 3, 2),
                lambda x: x.reshape(len(x), -1)),
    "Dropout": (lambda: layers.Dropout(0.5, seed=1), (1, 5), None, (3, 5),
                lambda x: x),  # inference: identity
    "Activation": (lambda: layers.Activation("relu"), (1, 5), None, (3, 5),
                   naive_relu),
    "Rescaling": (lambda: layers.Rescaling([0.5, -2.0], offset=1.0), (1, 3, 2),
                  None, (3, 3, 2), lambda x: x * [0.5, -2.0] + 1.0),
}
PARAMS = {"Conv2D": 2 * 2 * 1 * 2 + 2, "Dense": 2 * 2 + 2}


def test_every_layer_type_is_covered():
    """A new layer class must be added to LAYERS (the table below tests them)."""
    assert set(LAYERS) == set(layers._CLASSES)


@pytest.mark.parametrize("kind", LAYERS)
def test_build_then_call_uses_exactly_the_weights_that_were_set(kind):
    make, build_shape, weights, data_shape, expected = LAYERS[kind]
    layer = make()
    layer.build(build_shape)
    assert layer.built
    assert layer.count_params() == PARAMS.get(kind, 0)
    variables = layer.weights
    assert len(variables) == (0 if weights is None else len(weights))
    if weights is not None:
        layer.set_weights(weights)
    x = _data(data_shape)
    y = layer(x)
    assert layer.weights == variables  # the same Variable objects, none added
    for got, want in zip(layer.get_weights(), weights or [], strict=True):
        assert_array_equal(got, want)  # copied values, no arithmetic
    assert y.dtype == np.float32
    assert_allclose(y, expected(x), rtol=RTOL)


@pytest.mark.parametrize("kind", LAYERS)
def test_direct_build_records_what_the_first_call_records(kind):
    """Shape (batch as None), parameter count and config as a layer built by a
    call, so summary, saving and the trace see no difference."""
    make, build_shape, _, data_shape, _ = LAYERS[kind]
    direct, called = make(), make()
    direct.build(build_shape)
    called(_data(data_shape))
    assert direct._build_input_shape == called._build_input_shape \
        == (None, *build_shape[1:])
    assert direct.count_params() == called.count_params()
    config = {**direct.get_config(), "name": called.name}
    assert config == called.get_config()


@pytest.mark.parametrize("kind", ["Conv2D", "Dense"])
def test_building_a_built_layer_again_is_refused_and_keeps_its_weights(kind):
    """Keras 3: the second build's add_weight meets the locked state."""
    make, build_shape, weights, data_shape, expected = LAYERS[kind]
    layer = make()
    layer.build(build_shape)
    layer.set_weights(weights)
    variables = layer.weights
    other = (*build_shape[:-1], build_shape[-1] + 3)  # a different input depth
    for shape in (build_shape, other):
        with pytest.raises(ValueError, match=r"You cannot add new elements of state "
                           r"\(variables or sub-layers\) to a layer that is already "
                           r"built\. .* Received: add_weight\(name='kernel'"):
            layer.build(shape)
    assert layer.built and layer.weights == variables
    assert layer._build_input_shape == (None, *build_shape[1:])
    x = _data(data_shape)
    assert_allclose(layer(x), expected(x), rtol=RTOL)


def test_add_weight_after_build_names_the_weight_and_the_layer():
    layer = layers.Dense(2, name="head")
    layer(_data((3, 4)))
    with pytest.raises(ValueError, match=r"already built\. .*Received: add_weight\("
                       r"name='extra', shape=\(3,\)\) on layer 'head', built for "
                       r"input_shape=\(None, 4\)\."):
        layer.add_weight("extra", (3,), initializers.get("zeros"))
    assert len(layer.weights) == 2


@pytest.mark.parametrize("kind", ["MaxPooling2D", "AveragePooling2D", "Flatten",
                                  "Dropout", "Activation", "InputLayer"])
def test_a_layer_without_weights_may_be_built_again(kind):
    """Keras 3 too: nothing to add, so nothing is locked; the shape is updated."""
    make, build_shape, _, _, _ = LAYERS[kind]
    layer = make()
    layer.build(build_shape)
    other = (7, *(n + 1 for n in build_shape[1:]))
    layer.build(other)
    assert layer.built and layer.weights == []
    assert layer._build_input_shape == (None, *other[1:])


def test_build_checks_its_argument():
    for bad in (5, "ab", (), (None, -1), (None, 2.5), (None, True)):
        with pytest.raises(ValueError, match=r"`input_shape` must be a tuple "
                           r"\(batch, \.\.\.\) of non-negative integers or None\. "
                           r"Received: input_shape="):
            layers.Dense(2).build(bad)
    conv = layers.Conv2D(2, 3)
    with pytest.raises(ValueError, match="expected ndim=4, found ndim=2"):
        conv.build((None, 5))  # the call's message, before any weight exists
    assert not conv.built and conv.weights == []


def test_symbolic_call_after_build_keeps_the_weights():
    layer = layers.Dense(2)
    layer.build((None, 2))
    variables = layer.weights
    out = layer(layers.Input(shape=(2,)))
    assert out.shape == (None, 2) and layer.weights == variables


def _sequential():
    model = models.Sequential([
        layers.Input(shape=(4, 4, 1)), layers.Conv2D(2, (2, 2), activation="relu"),
        layers.MaxPooling2D((1, 1)), layers.AveragePooling2D((1, 1)),
        layers.Flatten(), layers.Dropout(0.5, seed=2), layers.Dense(3),
        layers.Activation("softmax"),
    ])
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(size=w.shape) for w in model.weights])
    return model


def test_build_on_layers_inside_a_sequential_leaves_the_model_working():
    """Each layer built again with the shape it has in the model: the ones with
    weights refuse (as in Keras), the others accept; predictions, weights,
    parameter count and summary stay as they were, and training still works."""
    model = _sequential()
    x = _data((3, 4, 4, 1))
    before, weights = model.predict(x, verbose=0), model.get_weights()
    summary_before = []
    model.summary(print_fn=summary_before.append)
    for layer in model.layers:
        shape = layer._build_input_shape
        if layer.weights:
            with pytest.raises(ValueError, match="already built"):
                layer.build(shape)
        else:
            layer.build(shape)
        assert layer.built and layer._build_input_shape == shape
    # same weights and the same arithmetic: bit-identical predictions
    assert_array_equal(model.predict(x, verbose=0), before)
    for got, want in zip(model.get_weights(), weights, strict=True):
        assert_array_equal(got, want)
    summary_after = []
    model.summary(print_fn=summary_after.append)
    assert summary_after == summary_before
    model.compile("sgd", "categorical_crossentropy")
    model.fit(x, np.eye(3, dtype=np.float32), epochs=1, verbose=0)
    assert len(model.weights) == len(weights)
    assert any(np.any(got != want)
               for got, want in zip(model.get_weights(), weights, strict=True))


def test_sequential_uses_layers_built_and_set_before_it_was_built():
    """Layers built by hand, then stacked: the model's first call connects them
    without building them again, so it computes with the weights that were set."""
    first, second = layers.Dense(2, activation="relu"), layers.Dense(1)
    first.build((None, 2))
    first.set_weights([DENSE_W, DENSE_B])
    second.build((None, 2))
    second.set_weights([np.array([[1.0], [-2.0]]), np.array([0.25])])
    model = models.Sequential([first, second])
    lines = []
    model.summary(print_fn=lines.append)  # not connected yet, but built
    assert any(first.name in line and line.rstrip(" │┃").endswith(" 6")
               for line in lines)
    x = _data((3, 2))
    want = naive_dense(naive_relu(naive_dense(x, DENSE_W, DENSE_B)),
                       [[1.0], [-2.0]], [0.25])
    assert_allclose(model.predict(x, verbose=0), want, rtol=RTOL)
    assert len(model.weights) == 4


def test_sequential_refuses_a_hand_built_layer_of_another_input_size():
    layer = layers.Dense(2)
    layer.build((None, 5))
    model = models.Sequential([layer])
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have "
                       "value 5"):
        model.predict(_data((3, 2)), verbose=0)
    assert len(layer.weights) == 2


class _Scaled(layers.Dense):
    """A user's subclass that extends Dense.build with super() and a weight."""

    def build(self, input_shape):
        super().build(input_shape)
        self.scale = self.add_weight("scale", (), initializers.get("ones"))

    def call(self, inputs, training=False):
        return super().call(inputs, training) * self.scale.value


class _Fails(layers.Layer):
    """A build that fails after creating a weight (e.g. a bad second weight)."""

    fail = True

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1],), initializers.get("ones"))
        if self.fail:
            raise ValueError("second weight refused")

    def call(self, inputs, training=False):
        return inputs * self.w.value


def test_subclass_build_calling_super_builds_once():
    layer = _Scaled(2)
    layer.build((None, 2))
    assert layer.built and [w.name for w in layer.weights] == ["kernel", "bias",
                                                               "scale"]
    layer.set_weights([DENSE_W, DENSE_B, np.float32(2.0)])
    x = _data((3, 2))
    assert_allclose(layer(x), 2 * naive_dense(x, DENSE_W, DENSE_B), rtol=RTOL)
    assert len(layer.weights) == 3


def test_a_failed_build_leaves_no_weights_and_can_be_retried():
    layer = _Fails()
    with pytest.raises(ValueError, match="second weight refused"):
        layer.build((None, 3))
    assert not layer.built and layer.weights == []
    layer.fail = False
    layer.build((None, 3))
    assert layer.built and len(layer.weights) == 1
