"""convsim.trace: a view over the real layers. Its outputs are ``model.predict``'s,
its steps' arithmetic (the kernels' reference helpers) gives those outputs, it
checks nothing twice, and it costs nothing until its steps are read."""

from __future__ import annotations

import doctest
import tracemalloc

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convsim import activations, layers, models, ops, shapes, trace
from convsim.experiments.book_models import build_cats_model
from convsim.trace import by_hand, events, layer, model

conv_cases = st.fixed_dictionaries({
    "h": st.integers(1, 8), "w": st.integers(1, 8), "c": st.integers(1, 3),
    "f": st.integers(1, 3), "kh": st.integers(1, 4), "kw": st.integers(1, 4),
    "sh": st.integers(1, 3), "sw": st.integers(1, 3), "dh": st.integers(1, 2),
    "dw": st.integers(1, 2), "padding": st.sampled_from(["valid", "same"]),
    "activation": st.sampled_from([None, "relu", "tanh", "sigmoid"]),
    "seed": st.integers(0, 2**16),
})


def _tap_value(x, iy, ix, ch):
    """The input a tap reads: a zero outside the image (independent of trace)."""
    if 0 <= iy < x.shape[0] and 0 <= ix < x.shape[1]:
        return x[iy, ix, ch]
    return 0.0


@given(conv_cases)
def test_trace_conv_steps_reproduce_ops_conv(case):
    strides, dilation = (case["sh"], case["sw"]), (case["dh"], case["dw"])
    assume(max(strides) == 1 or max(dilation) == 1)  # Conv2D refuses both > 1
    geo = shapes.window_geometry((case["h"], case["w"]), (case["kh"], case["kw"]),
                                 strides, case["padding"], dilation)
    assume(geo.out_h > 0 and geo.out_w > 0)
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=(case["h"], case["w"], case["c"])).astype(np.float32)
    k = rng.normal(size=(case["kh"], case["kw"], case["c"], case["f"]))
    b = rng.normal(size=case["f"])
    t = trace.trace_conv(x, k, b, strides, case["padding"], dilation,
                         case["activation"])
    kernel_out = ops.conv(x[None], k, strides, case["padding"],
                          dilation_rate=dilation, bias=b)[0]
    assert len(t) == geo.out_h * geo.out_w * case["f"]
    np.testing.assert_array_equal(t.pre_activation, kernel_out)
    fn = activations.get(case["activation"])
    np.testing.assert_array_equal(t.outputs, activations.forward(fn, kernel_out))
    top, left = geo.rows.before, geo.cols.before
    for step in t:
        assert t.step(step.row, step.col, step.filter).index == step.index
        # the patch is what the formula says each tap reads
        for i in range(case["kh"]):
            for j in range(case["kw"]):
                iy = step.row * case["sh"] + i * case["dh"] - top
                ix = step.col * case["sw"] + j * case["dw"] - left
                outside = not (0 <= iy < case["h"] and 0 <= ix < case["w"])
                assert step.is_padding[i, j] == outside
                for ch in range(case["c"]):
                    assert step.patch[i, j, ch] == _tap_value(x, iy, ix, ch)
        cell = kernel_out[step.row, step.col, step.filter]
        assert step.pre_activation_output == cell
        np.testing.assert_allclose(step.pre_activation, cell, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(step.total + step.bias, cell, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(step.channel_sums.sum(), step.total, rtol=1e-12)
        np.testing.assert_allclose(step.value, step.output, rtol=1e-5, atol=1e-5)


pool_cases = st.fixed_dictionaries({
    "h": st.integers(1, 7), "w": st.integers(1, 7), "c": st.integers(1, 3),
    "ph": st.integers(1, 3), "pw": st.integers(1, 3), "sh": st.integers(1, 3),
    "sw": st.integers(1, 3), "padding": st.sampled_from(["valid", "same"]),
    "seed": st.integers(0, 2**16), "values": st.sampled_from(["normal", "ties",
                                                              "nan"]),
})


@given(pool_cases)
def test_trace_pool_steps_keep_what_the_reference_rule_keeps(case):
    """Ties go to the first cell in reading order, a NaN wins, padding is not a
    value: the steps (kernels.reference.max_of / mean_of) agree with the layer."""
    size, strides = (case["ph"], case["pw"]), (case["sh"], case["sw"])
    geo = shapes.window_geometry((case["h"], case["w"]), size, strides,
                                 case["padding"])
    assume(geo.out_h > 0 and geo.out_w > 0)
    rng = np.random.default_rng(case["seed"])
    shape = (case["h"], case["w"], case["c"])
    x = (rng.integers(0, 3, shape) if case["values"] == "ties"
         else rng.normal(size=shape)).astype(np.float32)
    if case["values"] == "nan":
        x[rng.random(shape) < 0.2] = np.nan
    y, argmax = ops.max_pool_with_argmax(x[None], size, strides, case["padding"])
    mean = ops.average_pool(x[None], size, strides, case["padding"])[0]
    t = trace.trace_pool(x, size, strides, case["padding"])
    t_avg = trace.trace_pool(x, size, strides, case["padding"], kind="average")
    assert len(t) == len(t_avg) == geo.out_h * geo.out_w * case["c"]
    for step, avg in zip(t, t_avg, strict=True):
        r, c, ch = step.row, step.col, step.channel
        np.testing.assert_array_equal([step.max, step.output], y[0, r, c, ch])
        iy, ix = step.argmax
        assert iy * case["w"] + ix == argmax[0, r, c, ch]
        window_values = step.window[~step.is_padding]
        np.testing.assert_array_equal(step.values, window_values)
        np.testing.assert_allclose(avg.mean, mean[r, c, ch], rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(avg.output, mean[r, c, ch])


@pytest.mark.parametrize("values, kept, cell", [
    ([[1, 3], [3, 2]], 3.0, (0, 1)),  # a tie: the first in reading order
    ([[1, np.nan], [9, 2]], np.nan, (0, 1)),  # a NaN wins over a larger number
    ([[np.nan, np.nan], [9, 2]], np.nan, (0, 0)),  # the first NaN
    ([[-5, -4], [-4, -9]], -4.0, (0, 1)),
])
def test_max_pooling_hand_picked_windows(values, kept, cell):
    t = trace.trace_pool(np.array(values, np.float32), 2)
    np.testing.assert_array_equal([t[0].max, t[0].output], [kept, kept])
    assert t[0].argmax == cell


def test_moves_follow_stride_order():
    t = trace.trace_conv(np.zeros((5, 5)), np.ones((3, 3, 1, 2)), strides=2)
    assert [(s.filter, s.row, s.col, s.move) for s in t] == [
        (0, 0, 0, None), (0, 0, 1, (0, 2)), (0, 1, 0, (2, -2)), (0, 1, 1, (0, 2)),
        (1, 0, 0, None), (1, 0, 1, (0, 2)), (1, 1, 0, (2, -2)), (1, 1, 1, (0, 2)),
    ]


def test_same_padding_with_stride_2_puts_the_odd_zero_bottom_right():
    t = trace.trace_conv(np.ones((4, 4)), np.ones((3, 3, 1, 1)), strides=2,
                         padding="same")
    assert t.pad.pads == (0, 1, 0, 1)
    assert t.padded.shape[:2] == t.pad.padded_hw == (5, 5)
    last = t.step(1, 1)
    assert last.is_padding.tolist() == [[False, False, True]] * 2 + [[True] * 3]
    assert last.output == 4.0  # only the 2x2 real cells count


def test_steps_are_views_of_the_layer_not_copies():
    x = np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    conv = layers.Conv2D(4, 3, name="views")
    t = trace.trace_layer(conv, x)
    step = t[7]
    assert np.shares_memory(step.patch, t.padded)
    assert np.shares_memory(step.weights, conv.kernel.value)
    assert t.padded is t.inputs  # 'valid': no padded copy at all
    p = trace.trace_pool(x, 2)
    assert np.shares_memory(p[3].window, p.padded)
    assert np.shares_memory(p[3].cells, p.inputs)


def test_index_errors_name_the_limits():
    t = trace.trace_conv(np.zeros((4, 4)), np.ones((3, 3, 1, 1)))
    with pytest.raises(IndexError, match="there are 4 steps"):
        t[4]
    assert t[-1].index == 3
    assert [s.index for s in t[1:3]] == [1, 2]
    with pytest.raises(IndexError, match=r"`col` must be in \[0, 1\]"):
        t.step(0, 2)
    with pytest.raises(ValueError, match="`image` must be one image"):
        trace.trace_conv(np.zeros((2, 4, 4, 1)), np.ones((3, 3, 1, 1)))


def _message(call) -> str:
    with pytest.raises((ValueError, TypeError)) as info:
        call()
    return str(info.value)


@pytest.mark.parametrize("arguments, layer_call", [
    ({"strides": (1, 0)}, lambda: layers.Conv2D(1, 3, strides=(1, 0))),
    ({"padding": "full"}, lambda: layers.Conv2D(1, 3, padding="full")),
    ({"activation": "swish"}, lambda: layers.Conv2D(1, 3, activation="swish")),
    ({"strides": 2, "dilation_rate": 2},
     lambda: layers.Conv2D(1, 3, strides=2, dilation_rate=2)),
    ({"image": np.zeros((2, 2))},  # the window does not fit: the call's message
     lambda: layers.Conv2D(1, 3)(np.zeros((1, 2, 2, 1)))),
])
def test_a_bad_argument_gets_the_layers_own_message(arguments, layer_call):
    arguments = {"image": np.zeros((5, 5)), "kernel": np.ones((3, 3, 1, 1)),
                 **arguments}
    assert _message(lambda: trace.trace_conv(**arguments)) == _message(layer_call)


def test_a_bad_pooling_argument_gets_the_layers_own_message():
    assert (_message(lambda: trace.trace_pool(np.zeros((4, 4)), 0))
            == _message(lambda: layers.MaxPooling2D(0)))
    assert (_message(lambda: trace.trace_pool(np.zeros((4, 4)), kind="min"))
            == "`kind` must be one of {'max', 'average'}. Received: kind='min'")


def test_explicit_pytorch_style_padding_is_zeros_then_a_valid_layer():
    x = np.random.default_rng(0).normal(size=(6, 6, 2)).astype(np.float32)
    k = np.random.default_rng(1).normal(size=(3, 3, 2, 3)).astype(np.float32)
    t = trace.trace_conv(x, k, strides=2, padding=(1, 1, 1, 1), activation="relu")
    expected = ops.conv(np.pad(x, ((1, 1), (1, 1), (0, 0)))[None], k, 2)[0]
    np.testing.assert_array_equal(t.pre_activation, expected)
    np.testing.assert_array_equal(t.outputs, ops.relu(expected))
    assert t.pad.pads == t.padding == (1, 1, 1, 1) and t[0].is_padding[0].all()
    assert t.inputs.shape == (6, 6, 2) and t.padded.shape == (8, 8, 2)
    with pytest.raises(ValueError, match="`padding` argument must be a tuple of 4"):
        trace.trace_conv(x, k, padding=(1, -1, 0, 0))
    with pytest.raises(ValueError, match="need a layer with padding='valid'"):
        trace.ConvTrace(layers.Conv2D(1, 3, padding="same"), x, padding=1)


# ------------------------------------------------------------ trained models

def _small_convnet_layers():
    """Every layer kind the trace knows, in one small chain."""
    return [
        layers.Conv2D(4, 3, activation="relu", name="valid"),
        layers.Conv2D(5, 3, strides=2, padding="same", activation="tanh",
                      name="same_strided"),
        layers.MaxPooling2D(2, name="max"),
        layers.Conv2D(3, 2, padding="same", name="linear"),
        layers.AveragePooling2D(2, strides=1, padding="same", name="average"),
        layers.Flatten(name="flatten"),
        layers.Dropout(0.5, seed=0, name="dropout"),
        layers.Dense(6, activation="relu", name="hidden"),
        layers.Dense(3, activation="softmax", name="probabilities"),
    ]


def _trained(model):
    rng = np.random.default_rng(0)
    x = rng.random((12, 13, 13, 2), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 12)]
    model.compile("adam", "categorical_crossentropy")
    model.fit(x, y, epochs=3, batch_size=4, verbose=0)
    return model, rng.random((13, 13, 2), dtype=np.float32)


def _sequential():
    return _trained(models.Sequential([layers.Input(shape=(13, 13, 2)),
                                       *_small_convnet_layers()]))


def _functional():
    inputs = layers.Input(shape=(13, 13, 2))
    x = inputs
    for each in _small_convnet_layers():
        x = each(x)
    return _trained(models.Model(inputs, x))


@pytest.mark.parametrize("build", [_sequential, _functional])
def test_the_trace_of_a_trained_model_reproduces_predict_for_every_layer(build):
    net, image = build()
    traced = trace.trace_model(net, image)
    assert [t.name for t in traced] == [
        "valid", "same_strided", "max", "linear", "average", "flatten", "dropout",
        "hidden", "probabilities"]
    for layer_trace in traced:
        up_to = models.Model(net.input, net.get_layer(layer_trace.name).output)
        np.testing.assert_array_equal(layer_trace.outputs,
                                      up_to.predict(image[None], verbose=0)[0])
    np.testing.assert_array_equal(traced.outputs, net.predict(image[None],
                                                              verbose=0)[0])
    assert traced.get_layer("max") is traced[2]
    _check_every_step(traced)


def _check_every_step(traced):
    """Each step's reference arithmetic gives the layer's own output cell."""
    for layer_trace in traced:
        if isinstance(layer_trace, trace.ConvTrace):
            for step in layer_trace:
                np.testing.assert_allclose(step.pre_activation,
                                           step.pre_activation_output, atol=1e-5)
                np.testing.assert_allclose(step.value, step.output, atol=1e-5)
        elif isinstance(layer_trace, trace.PoolTrace):
            kept = "max" if layer_trace.pool_kind == "max" else "mean"
            for step in layer_trace:
                np.testing.assert_allclose(getattr(step, kept), step.output,
                                           rtol=1e-6, atol=1e-7)
        elif isinstance(layer_trace, trace.DenseTrace):
            pre = np.array([s.pre_activation for s in layer_trace])
            np.testing.assert_allclose(pre, layer_trace.pre_activation, atol=1e-5)
            fn = activations.get(layer_trace.activation)
            np.testing.assert_allclose(activations.forward(fn, pre.astype(np.float32)),
                                       layer_trace.outputs, atol=1e-6)
        else:
            assert len(layer_trace) == 0
            np.testing.assert_array_equal(layer_trace.outputs.ravel(),
                                          layer_trace.inputs.ravel())


def test_trace_model_takes_one_image_in_the_shapes_predict_would():
    net, image = _sequential()
    first = trace.trace_model(net, image).outputs
    np.testing.assert_array_equal(trace.trace_model(net, image[None]).outputs, first)
    with pytest.raises(ValueError, match=r"shape \(13, 13, 2\).*\(12, 13, 2\)"):
        trace.trace_model(net, image[1:])
    with pytest.raises(ValueError, match="No such layer: 'nope'"):
        trace.trace_model(net, image).get_layer("nope")
    with pytest.raises(TypeError, match="`model` must be a convsim model"):
        trace.trace_model([layers.Flatten()], image)


def test_trace_model_follows_one_chain_only():
    inputs = layers.Input(shape=(4, 4, 1))
    first = layers.Conv2D(2, 3, name="a")(inputs)
    two_outputs = models.Model(inputs, [first, layers.Flatten(name="b")(first)])
    with pytest.raises(ValueError, match="one chain of layers to one output"):
        trace.trace_model(two_outputs, np.ones((4, 4)))
    skip = layers.Flatten(name="skip")(inputs)  # does not take 'a''s output
    with pytest.raises(ValueError, match="layer 'skip' does not"):
        trace.trace_model(models.Model(inputs, [first, skip]), np.ones((4, 4)))
    twice = layers.Dense(4, name="twice")
    vector = layers.Input(shape=(4,))
    with pytest.raises(ValueError, match="one chain of layers to one output"):
        trace.trace_model(models.Model(vector, twice(twice(vector))), np.ones(4))


def test_dense_on_more_than_a_vector_steps_through_every_position():
    dense = layers.Dense(2, activation="sigmoid", name="rows")
    x = np.arange(12, dtype=np.float32).reshape(3, 4) / 10
    t = trace.trace_layer(dense, x)
    assert len(t) == 6 and t.outputs.shape == (3, 2)
    step = t[3]
    assert (step.position, step.unit) == ((1,), 1)
    np.testing.assert_array_equal(step.inputs, x[1])
    np.testing.assert_allclose(step.value, t.outputs[1, 1], rtol=1e-6)
    softmax = trace.trace_layer(layers.Dense(2, activation="softmax", name="p"), x[0])
    with pytest.raises(ValueError, match="softmax"):
        softmax[0].value  # noqa: B018
    with pytest.raises(TypeError, match="`layer` must be a convsim layer"):
        trace.trace_layer(np.ones(3), x)
    with pytest.raises(TypeError, match="`layer` must be a Conv2D layer.*Dense"):
        trace.ConvTrace(dense, np.ones((4, 4)))


# ------------------------------------------------------------ cost


def test_tracing_the_book_model_makes_no_step_until_one_is_read():
    """700,928 steps in the first layer: tracing allocates the layers' outputs
    and nothing per step (a list of 700,928 events would take > 100 MiB)."""
    net = build_cats_model()
    image = np.random.default_rng(0).random((150, 150, 3), dtype=np.float32)
    trace.trace_model(net, image)  # compile the kernels first
    tracemalloc.start()
    traced = trace.trace_model(net, image)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    outputs = sum(t.outputs.nbytes for t in traced)
    assert len(traced[0]) == 148 * 148 * 32
    assert peak < 2 * outputs + 2**20
    step = traced[0].step(74, 74, 31)
    np.testing.assert_allclose(step.value, step.output, atol=1e-5)


def test_docstring_examples():
    for module in (trace, by_hand, events, layer, model):
        failures, tried = doctest.testmod(module)
        assert failures == 0, module.__name__
    assert doctest.testmod(trace)[1] > 0
