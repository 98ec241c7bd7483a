"""convsim.trace: the steps it records agree with the kernels, and cost nothing
until they are read."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from convsim import ops, shapes, trace
from convsim.trace.specs import from_model, model_input_shape

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
def test_conv_steps_reproduce_the_kernel(case):
    geo = shapes.window_geometry((case["h"], case["w"]), (case["kh"], case["kw"]),
                                 (case["sh"], case["sw"]), case["padding"],
                                 (case["dh"], case["dw"]))
    assume(geo.out_h > 0 and geo.out_w > 0)
    rng = np.random.default_rng(case["seed"])
    x = rng.normal(size=(case["h"], case["w"], case["c"])).astype(np.float32)
    k = rng.normal(size=(case["kh"], case["kw"], case["c"], case["f"]))
    b = rng.normal(size=case["f"])
    t = trace.trace_conv(x, k, b, (case["sh"], case["sw"]), case["padding"],
                         (case["dh"], case["dw"]), case["activation"])
    kernel_out = ops.conv(x[None], k, (case["sh"], case["sw"]), case["padding"],
                          dilation_rate=(case["dh"], case["dw"]), bias=b)[0]
    assert len(t) == geo.out_h * geo.out_w * case["f"]
    np.testing.assert_array_equal(t.pre_activation, kernel_out)
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
        np.testing.assert_allclose(step.products.sum() + step.bias,
                                   kernel_out[step.row, step.col, step.filter],
                                   rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(step.value, step.output, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        t.outputs, trace.activate(kernel_out, t.activation), rtol=1e-6, atol=1e-6)


pool_cases = st.fixed_dictionaries({
    "h": st.integers(1, 7), "w": st.integers(1, 7), "c": st.integers(1, 3),
    "ph": st.integers(1, 3), "pw": st.integers(1, 3), "sh": st.integers(1, 3),
    "sw": st.integers(1, 3), "padding": st.sampled_from(["valid", "same"]),
    "seed": st.integers(0, 2**16), "ties": st.booleans(),
})


@given(pool_cases)
def test_pool_steps_reproduce_the_kernels(case):
    geo = shapes.window_geometry((case["h"], case["w"]), (case["ph"], case["pw"]),
                                 (case["sh"], case["sw"]), case["padding"])
    assume(geo.out_h > 0 and geo.out_w > 0)
    rng = np.random.default_rng(case["seed"])
    shape = (case["h"], case["w"], case["c"])
    x = (rng.integers(0, 3, shape) if case["ties"] else rng.normal(size=shape))
    x = x.astype(np.float32)
    size, strides = (case["ph"], case["pw"]), (case["sh"], case["sw"])
    y, argmax = ops.max_pool_with_argmax(x[None], size, strides, case["padding"])
    mean = ops.average_pool(x[None], size, strides, case["padding"])[0]
    t = trace.trace_pool(x, size, strides, case["padding"])
    t_avg = trace.trace_pool(x, size, strides, case["padding"], kind="average")
    assert len(t) == len(t_avg) == geo.out_h * geo.out_w * case["c"]
    for step, avg in zip(t, t_avg, strict=True):
        r, c, ch = step.row, step.col, step.channel
        assert step.max == y[0, r, c, ch] == step.output
        iy, ix = step.argmax
        assert iy * case["w"] + ix == argmax[0, r, c, ch]
        np.testing.assert_allclose(avg.mean, mean[r, c, ch], rtol=1e-6, atol=1e-6)
        assert avg.output == mean[r, c, ch]


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


def test_steps_are_views_not_copies():
    x = np.arange(36, dtype=np.float32).reshape(6, 6, 1)
    t = trace.trace_conv(x, np.ones((3, 3, 1, 4)))
    step = t[7]
    assert np.shares_memory(step.patch, t.padded)
    assert np.shares_memory(step.weights, t.kernel)
    assert t.padded is t.inputs  # 'valid': no padded copy at all
    p = trace.trace_pool(x, 2)
    assert np.shares_memory(p[3].window, p.padded)


def test_index_errors_name_the_limits():
    t = trace.trace_conv(np.zeros((4, 4)), np.ones((3, 3, 1, 1)))
    with pytest.raises(IndexError, match="there are 4 steps"):
        t[4]
    assert t[-1].index == 3
    with pytest.raises(IndexError, match=r"`col` must be in \[0, 1\]"):
        t.step(0, 2)
    with pytest.raises(ValueError, match="`image` must be one image"):
        trace.trace_conv(np.zeros((2, 4, 4, 1)), np.ones((3, 3, 1, 1)))


def test_stack_of_the_cats_vs_dogs_base_matches_plain_forward():
    specs = [trace.Conv2DSpec(4, 3, activation="relu"), trace.Pool2DSpec(2),
             trace.Conv2DSpec(6, 3, activation="relu"), trace.Pool2DSpec(2),
             trace.FlattenSpec(), trace.DenseSpec(3, activation="sigmoid")]
    image = np.random.default_rng(3).random((14, 14, 3)).astype(np.float32)
    stack = trace.trace_stack(image, specs, seed=5)
    x = image[None]
    for spec in stack.specs[:4]:
        if isinstance(spec, trace.Conv2DSpec):
            x = ops.relu(ops.conv(x, spec.kernel, bias=spec.bias))
        else:
            x = ops.max_pool(x, spec.pool_size)
    assert [layer.outputs.shape for layer in stack][:4] == [
        (12, 12, 4), (6, 6, 4), (4, 4, 6), (2, 2, 6)]
    np.testing.assert_allclose(stack[3].outputs, x[0], rtol=1e-6)
    dense = stack[5]
    assert len(dense) == 3
    step = dense[1]
    expected = ops.sigmoid(np.float32(step.total + step.bias))
    np.testing.assert_allclose(step.output, expected, rtol=1e-6)


class _FakeConv:  # a duck-typed Keras-style layer, as convsim.layers will have
    def __init__(self, kernel, activation):
        self.kernel, self.bias = kernel, np.zeros(kernel.shape[3], np.float32)
        self.strides, self.padding, self.dilation_rate = (1, 1), "valid", (1, 1)
        self.activation = activation
        self.input_shape = (None, 6, 6, 1)


class MaxPooling2D:
    pool_size, strides, padding = (2, 2), (2, 2), "valid"


class Dropout:
    rate = 0.5


def test_from_model_adapts_duck_typed_layers():
    def relu(x):
        return x

    class Model:
        layers = [_FakeConv(np.ones((3, 3, 1, 2), np.float32), relu), MaxPooling2D(),
                  Dropout()]

    specs = from_model(Model())
    assert [s.layer_type for s in specs] == ["Conv2D", "MaxPooling2D", "Dropout"]
    assert specs[0].activation == "relu"
    assert model_input_shape(Model()) == (6, 6, 1)
    stack = trace.trace_stack(np.ones((6, 6)), Model())
    assert stack.outputs.shape == (2, 2, 2)
    assert stack.outputs[0, 0, 0] == 9.0

    class Weird:
        pass

    with pytest.raises(TypeError, match="cannot follow a Weird layer"):
        from_model([Weird()])


def test_spec_shapes_and_params_of_the_seed_model():
    specs = [trace.Conv2DSpec(32, 3), trace.Pool2DSpec(2), trace.Conv2DSpec(64, 3),
             trace.Pool2DSpec(2), trace.Conv2DSpec(128, 3), trace.Pool2DSpec(2),
             trace.Conv2DSpec(128, 3), trace.Pool2DSpec(2), trace.FlattenSpec(),
             trace.DenseSpec(512), trace.DenseSpec(1)]
    shape, total, outs = (150, 150, 3), 0, []
    for spec in specs:
        total += spec.count_params(shape)
        shape = spec.output_shape(shape)
        outs.append(shape)
    assert outs[0] == (148, 148, 32) and outs[7] == (7, 7, 128)
    assert outs[8] == (6272,) and outs[-1] == (1,)
    assert total == 3_453_121
    with pytest.raises(ValueError, match="does not fit the 2x2 input"):
        trace.Conv2DSpec(1, 3).output_shape((2, 2, 1))
    with pytest.raises(ValueError, match="`padding` must be one of"):
        trace.Conv2DSpec(1, 3, padding="full")


def test_explicit_pytorch_style_padding_is_np_pad_then_valid():
    x = np.random.default_rng(0).normal(size=(6, 6, 2)).astype(np.float32)
    k = np.random.default_rng(1).normal(size=(3, 3, 2, 3)).astype(np.float32)
    t = trace.trace_conv(x, k, strides=2, padding=(1, 1, 1, 1))
    expected = ops.conv(np.pad(x, ((1, 1), (1, 1), (0, 0)))[None], k, 2)[0]
    np.testing.assert_array_equal(t.outputs, expected)
    assert t.pad.pads == (1, 1, 1, 1) and t[0].is_padding[0].all()
    with pytest.raises(ValueError, match="`padding` argument must be a tuple of 4"):
        trace.trace_conv(x, k, padding=(1, -1, 0, 0))
