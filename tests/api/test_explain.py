"""convsim.trace.explain: one output number worked out in full.

The property tests build small random models (Conv2D with any kernel, stride,
padding, dilation and activation; max or average pooling; an Activation
layer; Flatten and Dense) and check, for random cells, that

* the working (the products' partial sums, the bias, the activation) gives the
  number ``model.predict`` gives, within the float32 rounding it states;
* the receptive field is exact: changing any pixel outside it leaves the cell
  bit for bit unchanged, and (with positive weights and linear activations,
  so that no ReLU or max can hide a change) changing any pixel inside it
  changes the cell.
"""

from __future__ import annotations

import doctest
import importlib

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convsim import layers, models, trace
from convsim.errors import ArgumentError, WrongTypeError
from convsim.trace import explanation as explanation_module
from convsim.trace.explain import explain
from convsim.trace.receptive_field import receptive_field

# ``convsim.trace.explain`` is the function (exported by the package); the
# module of the same name is found by its full name.
explain_module = importlib.import_module("convsim.trace.explain")

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh", "softmax")
POOLS = {"max": layers.MaxPooling2D, "average": layers.AveragePooling2D}
#: A pixel changed by this much moves every cell it can reach (weights are at
#: least 0.5 in the positive models, a few layers deep).
NUDGE = 1e4


@st.composite
def conv_spec(draw):
    strides = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    dilation = (1, 1) if max(strides) > 1 else (draw(st.integers(1, 2)),
                                                draw(st.integers(1, 2)))
    return ("conv", dict(filters=draw(st.integers(1, 3)),
                         kernel_size=(draw(st.integers(1, 3)), draw(st.integers(1, 3))),
                         strides=strides, dilation_rate=dilation,
                         padding=draw(st.sampled_from(["valid", "same"])),
                         activation=draw(st.sampled_from(ACTIVATIONS))))


@st.composite
def pool_spec(draw):
    size = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3),
                                                  st.integers(1, 3))))
    return (draw(st.sampled_from(sorted(POOLS))),
            dict(pool_size=size, strides=strides,
                 padding=draw(st.sampled_from(["valid", "same"]))))


@st.composite
def small_models(draw):
    """``(input shape, layer specs, seed)``: a chain that fits its input."""
    shape = (draw(st.integers(4, 10)), draw(st.integers(4, 10)),
             draw(st.integers(1, 3)))
    spec = [draw(conv_spec())]
    if draw(st.booleans()):
        spec.append(draw(pool_spec()))
    if draw(st.booleans()):
        spec.append(("activation", dict(activation=draw(st.sampled_from(
            ACTIVATIONS)))))
    if draw(st.booleans()):
        spec.append(draw(conv_spec()))
    if draw(st.booleans()):
        spec += [("flatten", {}), ("dense", dict(
            units=draw(st.integers(1, 4)),
            activation=draw(st.sampled_from(ACTIVATIONS))))]
    return shape, spec, draw(st.integers(0, 2**16))


def build(shape, spec, seed, positive=False):
    """The model of ``spec`` with random weights and biases; ``positive``:
    weights in [0.5, 1.5] and every activation linear, so each pixel of a
    receptive field visibly moves the cell."""
    rng = np.random.default_rng(seed)
    made = {"conv": layers.Conv2D, "dense": layers.Dense, "flatten": layers.Flatten,
            "activation": layers.Activation, **POOLS}
    model = models.Sequential([layers.Input(shape=shape)], name="random")
    for i, (kind, args) in enumerate(spec):
        if positive and "activation" in args:
            args = {**args, "activation": "linear"}
        try:
            model.add(made[kind](**args, name=f"{kind}{i}"))
        except ArgumentError:  # the window does not fit what is left
            assume(False)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            draw = ((lambda s: rng.uniform(0.5, 1.5, s)) if positive
                    else (lambda s: rng.normal(0, 1, s)))
            layer.set_weights([draw(w.shape).astype(np.float32) for w in weights])
    return model


def probe(model, name):
    return models.Model(model.input, model.get_layer(name).output, name="probe")


def cell_values(model, name, images, at) -> np.ndarray:
    return probe(model, name).predict(images, verbose=0)[(slice(None), *at)]


def nudge_each(image, pixels) -> np.ndarray:
    """One copy of ``image`` per pixel ``(row, col)``, that pixel raised by
    :data:`NUDGE` in every channel."""
    nudged = np.repeat(image[None], len(pixels), axis=0)
    nudged[np.arange(len(pixels)), pixels[:, 0], pixels[:, 1]] += NUDGE
    return nudged


def assert_unchanged(model, name, image, pixels, at):
    """Nudging any of ``pixels`` leaves cell ``at`` bit for bit as it was.

    The copies are compared with a batch of the same size holding the image
    unchanged: a convolution's float32 sums can round differently in another
    place of a batch (BLAS blocks the rows), never in the same place.
    """
    same = np.repeat(image[None], len(pixels), axis=0)
    np.testing.assert_array_equal(
        cell_values(model, name, nudge_each(image, pixels), at),
        cell_values(model, name, same, at))


@st.composite
def model_and_cell(draw):
    shape, spec, seed = draw(small_models())
    model = build(shape, spec, seed)
    usable = [layer for layer in model.layers
              if isinstance(layer, tuple(explain_module.EXPLAINABLE))]
    layer = draw(st.sampled_from(usable))
    out = tuple(layer.output.shape[1:])
    at = tuple(draw(st.integers(0, n - 1)) for n in out)
    image = np.random.default_rng(seed).random(shape, dtype=np.float32)
    return (shape, spec, seed), model, layer.name, at, image


@pytest.mark.slow  # 40 random models: 1-2 s
@given(model_and_cell())
def test_the_working_gives_what_predict_gives(case):
    _, model, name, at, image = case
    why = explain(model, image, name, at)
    assert why.at == at and why.layer == name
    assert why.output == why.predicted  # the trace is the model, bit for bit
    assert why.check, (why.value, why.predicted, why.tolerance)
    assert why.tolerance < 1e-3 * max(1.0, abs(why.predicted))
    if why.terms:  # the sum of the channels' partial sums, plus the bias
        np.testing.assert_allclose(why.total + why.bias, why.pre_activation,
                                   rtol=1e-12, atol=1e-12)
        assert why.products == sum(len(t) for t in why.terms)
    if why.kind == "conv":
        assert len(why.terms) == image.shape[2] or why.index > 0
        assert all(len(t) == len(why.window.rows) * len(why.window.cols)
                   for t in why.terms)
    _same_field_as_the_receptive_field_lesson(model, why)
    if why.kind == "max":
        below = why.step
        winner = below.argmax
        assert why.window.rows[0] <= winner[0] <= why.window.rows[-1]
        assert why.window.cols[0] <= winner[1] <= why.window.cols[-1]
        assert why.value == why.predicted


def _same_field_as_the_receptive_field_lesson(model, why):
    """trace.receptive_field works the field out another way (each layer's
    size, jump and start, clipped to the image): its rectangle always holds
    explain's, and is the same when no window reads padding zeros and the
    field has no gaps.

    explain's cells are exact, so its rectangle can be smaller: a window that
    reaches into a *middle* layer's padding reads zeros, not pixels, and a
    dilation or a stride larger than the window skips rows and columns
    (``solid`` speaks of one cell's span, so for a Dense unit after such a
    stride it stays True though the unit's field has gaps)."""
    field = why.field
    if field.is_empty:  # only padding zeros reach the cell (tested below)
        return
    lesson = receptive_field(model, why.layer)
    box = lesson.box(*(why.at[:2] if len(why.at) == 3 else why.at))
    assert box.top <= field.top and field.bottom < box.bottom
    assert box.left <= field.left and field.right < box.right
    no_padding = all(getattr(layer, "padding", "valid") == "valid"
                     for layer in model.layers)
    if lesson.solid and no_padding:
        assert (field.top, field.left, field.bottom + 1, field.right + 1) == (
            box.top, box.left, box.bottom, box.right)
        assert not field.has_gaps or lesson.whole


@pytest.mark.slow  # 40 random models: 1-2 s
@given(model_and_cell())
def test_pixels_outside_the_receptive_field_never_change_the_cell(case):
    _, model, name, at, image = case
    field = explain(model, image, name, at).field
    outside = np.argwhere(~field.mask)
    assume(len(outside))
    assert_unchanged(model, name, image, outside, at)


@pytest.mark.slow  # 40 random models: 1-2 s
@given(model_and_cell())
def test_every_pixel_inside_the_receptive_field_can_change_the_cell(case):
    (shape, spec, seed), model, name, at, image = case
    positive = build(shape, spec, seed, positive=True)
    field = explain(positive, image, name, at).field
    assert field.rows == explain(model, image, name, at).field.rows
    inside = np.argwhere(field.mask)
    assume(len(inside))
    same = np.repeat(image[None], len(inside), axis=0)
    before = cell_values(positive, name, same, at)
    after = cell_values(positive, name, nudge_each(image, inside), at)
    assert np.all(after > before), inside[after <= before]


def tiny_model():
    return models.Sequential([
        layers.Input(shape=(6, 6, 2)),
        layers.Conv2D(3, 3, padding="same", activation="relu", name="conv"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Flatten(name="flat"),
        layers.Dense(4, activation="softmax", name="out")], name="tiny")


def test_a_convolution_cell_worked_out_by_hand():
    net = models.Sequential([layers.Input(shape=(4, 4, 2)),
                             layers.Conv2D(1, 2, strides=2, name="c")], name="hand")
    kernel = np.zeros((2, 2, 2, 1), np.float32)
    kernel[:, :, 0, 0] = [[1, 2], [3, 4]]
    kernel[:, :, 1, 0] = -1
    net.get_layer("c").set_weights([kernel, np.array([0.5], np.float32)])
    image = np.zeros((4, 4, 2), np.float32)
    image[2:, 2:, 0] = [[1, 1], [1, 2]]
    image[2:, 2:, 1] = 3
    why = explain(net, image, "c", (1, 1, 0))
    # channel 0: 1*1 + 2*1 + 3*1 + 4*2 = 14; channel 1: -3 * 4 = -12; + 0.5
    assert [t.partial_sum for t in why.terms] == [14.0, -12.0]
    assert (why.bias, why.pre_activation, why.value) == (0.5, 2.5, 2.5)
    assert why.terms[0].positions.tolist() == [[2, 2], [2, 3], [3, 2], [3, 3]]
    assert why.terms[1].products.tolist() == [-3.0] * 4
    assert why.window.rows == (2, 3) and why.field.box == (2, 2, 2, 2)
    assert why.source is None and why.check


def test_max_pooling_keeps_the_first_of_equal_maxima():
    net = models.Sequential([layers.Input(shape=(4, 4, 1)),
                             layers.MaxPooling2D(2, name="p")], name="pool_only")
    image = np.array([[0, 1, 5, 5], [1, 0, 2, 5], [0, 0, 0, 0], [0, 0, 0, 0]],
                     np.float32)
    why = explain(net, image, "p", (0, 1, 0))
    assert why.kind == "max" and why.value == 5.0 == why.predicted
    assert why.step.argmax == (0, 2)  # three 5s: the first in reading order
    average = models.Sequential([layers.Input(shape=(4, 4, 1)),
                                 layers.AveragePooling2D(2, name="a")], name="avg")
    mean = explain(average, image, "a", (0, 1, 0))
    assert mean.kind == "average" and mean.value == 17 / 4 and mean.check


def test_a_cell_whose_windows_read_only_padding_sees_no_pixel():
    # one row; a (2, 1) window dilated by 2 with 'same' padding puts its taps
    # on the zero rows above and below (TensorFlow pads 1 and 1)
    net = models.Sequential([layers.Input(shape=(1, 3, 1)), layers.Conv2D(
        1, (2, 1), dilation_rate=(2, 1), padding="same", name="c")], name="pads")
    net.get_layer("c").set_weights([np.ones((2, 1, 1, 1), np.float32),
                                    np.array([0.25], np.float32)])
    why = explain(net, np.ones((1, 3, 1), np.float32), "c", (0, 1, 0))
    assert why.field.is_empty and not why.field.mask.any()
    assert why.window.rows == (-1, 1) and why.terms[0].padding.all()
    assert why.value == 0.25 == why.predicted


def test_dense_after_flatten_names_its_inputs_and_sees_the_whole_image():
    net = tiny_model()
    image = np.random.default_rng(1).random((6, 6, 2), dtype=np.float32)
    why = explain(net, image, "out")  # no cell: the largest, the predicted class
    assert why.at == (int(np.argmax(net.predict(image[None], verbose=0)[0])),)
    assert why.kind == "dense" and why.activation == "softmax" and why.check
    assert why.flattened_from == ("pool", (3, 3, 3))
    assert len(why.activation_inputs) == 4 and why.products == 27
    assert why.field.is_whole_image and why.window is None
    biggest = why.terms[0].largest(3)
    sizes = np.abs(why.terms[0].products[biggest])
    assert list(sizes) == sorted(sizes, reverse=True)


def test_a_layer_is_found_by_name_or_index():
    net = tiny_model()
    image = np.ones((6, 6, 2), np.float32)
    assert explain(net, image, 0, (0, 0, 0)).layer == "conv"
    assert explain(net, image, -1, 2).layer == "out"
    assert explain(net, image, "pool", [1, 2, 0]).at == (1, 2, 0)
    assert explain(net, image, "conv", (np.int64(5), 5, 2)).at == (5, 5, 2)


@pytest.mark.parametrize("layer, at, error, message", [
    ("cnov", (0, 0, 0), ArgumentError,
     r"`layer` must be the name or index of a layer of model 'tiny': conv \(6, 6, "
     r"3\), pool \(3, 3, 3\), flat \(27,\), out \(4,\). Received: layer='cnov'. "
     r"Did you mean 'conv'\?"),
    (4, (0,), ArgumentError, r"index in \[0, 3\].*Received: layer=4"),
    (1.0, (0,), WrongTypeError, r"`layer` must be a layer's name \(str\) or index"),
    (True, (0,), WrongTypeError, "Received: layer=True"),
    ("flat", (0,), ArgumentError, r"Layer 'flat' is a Flatten.*in this model: "
                                  r"conv, pool, out. Received: layer='flat'"),
    ("pool", (3, 0, 0), ArgumentError,
     r"`at` must be inside the output of layer 'pool', whose output has shape "
     r"\(3, 3, 3\): row in \[0, 2\], col in \[0, 2\], channel in \[0, 2\]. "
     r"Received: at=\(3, 0, 0\)"),
    ("conv", (0, 0), ArgumentError,
     r"`at` must be \(row, col, channel\): 3 numbers for layer 'conv', whose "
     r"output has shape \(6, 6, 3\). Received: at=\(0, 0\)"),
    ("out", (4,), ArgumentError, r"unit in \[0, 3\]. Received: at=\(4,\)"),
    ("out", (-1,), ArgumentError, r"unit in \[0, 3\]"),
    ("out", (1.5,), WrongTypeError, r"whole numbers \(unit,\)"),
    ("out", "1", WrongTypeError, r"whole numbers \(unit,\)"),
    ("out", 0.5, WrongTypeError, r"`at` must be \(unit,\).*of type float"),
])
def test_bad_layers_and_cells_are_refused_naming_what_is_allowed(layer, at, error,
                                                                 message):
    with pytest.raises(error, match=message):
        explain(tiny_model(), np.ones((6, 6, 2), np.float32), layer, at)


def test_the_image_must_be_one_the_model_takes():
    with pytest.raises(ArgumentError, match=r"shape \(6, 6, 2\)"):
        explain(tiny_model(), np.ones((5, 6, 2), np.float32), "conv", (0, 0, 0))


def test_the_modules_examples_run():
    for module in (explain_module, explanation_module):
        failures, tried = doctest.testmod(module)
        assert tried and not failures


def test_explain_is_exported_from_the_trace():
    assert trace.explain is explain


@pytest.mark.slow
def test_the_trained_mnist_convnet_explained(trained_mnist):
    from convsim.experiments.your_model import sample_digit

    digit = sample_digit()[0][:, :, None]
    guess = explain(trained_mnist, digit, "dense_1")
    assert guess.at == (int(trained_mnist.predict(digit[None], verbose=0).argmax()),)
    for layer, at in (("conv2d_1", (4, 7, 12)), ("max_pooling2d_1", (2, 2, 5)),
                      ("dense", (3,)), ("conv2d_2", (1, 1, 0))):
        why = explain(trained_mnist, digit, layer, at)
        assert why.check, (layer, why.value, why.predicted)
    # The book's MNIST convnet never reads the last two rows and columns: its
    # windows and pools that do not fit leave them out, so the Dense units see
    # rows and columns 0..25 only; nudging a pixel there changes nothing.
    field = explain(trained_mnist, digit, "dense", (3,)).field
    edge = np.argwhere(~field.mask)
    assert len(edge) == 28 * 28 - 26 * 26 and edge.max(axis=1).min() == 26
    assert_unchanged(trained_mnist, "dense", digit, edge, (3,))
