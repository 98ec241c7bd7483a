"""convsim.trace's backward pass: every traced sum adds up to the number the
layer's own backward computes, max pooling sends gradients only to winners,
ReLU blocks them where its input was not positive, the optimizer step is the
optimizer's, the gradients are the loss's derivatives (finite differences),
and tracing leaves the layer as it was."""

from __future__ import annotations

import doctest

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from reference import naive_conv2d, naive_max_pool2d, naive_relu

from convsim import errors, layers, optimizers, shapes, trace
from convsim.trace import backprop, backward, backward_events, update

conv_cases = st.fixed_dictionaries({
    "h": st.integers(1, 7), "w": st.integers(1, 7), "c": st.integers(1, 3),
    "f": st.integers(1, 3), "kh": st.integers(1, 4), "kw": st.integers(1, 4),
    "sh": st.integers(1, 3), "sw": st.integers(1, 3), "dh": st.integers(1, 2),
    "dw": st.integers(1, 2), "padding": st.sampled_from(["valid", "same"]),
    "activation": st.sampled_from([None, "relu", "tanh"]),
    "seed": st.integers(0, 2**16),
})


def conv_layer(case, rng):
    """A real Conv2D for ``case`` with random weights and bias (or None when
    the window does not fit)."""
    strides, dilation = (case["sh"], case["sw"]), (case["dh"], case["dw"])
    geo = shapes.window_geometry((case["h"], case["w"]), (case["kh"], case["kw"]),
                                 strides, case["padding"], dilation)
    if geo.out_h < 1 or geo.out_w < 1:
        return None, None
    layer = layers.Conv2D(case["f"], (case["kh"], case["kw"]), strides=strides,
                          padding=case["padding"], dilation_rate=dilation,
                          activation=case["activation"], name="conv")
    layer.build((None, case["h"], case["w"], case["c"]))
    layer.set_weights([rng.normal(size=layer.kernel.shape),
                       rng.normal(size=case["f"])])
    return layer, (geo.out_h, geo.out_w, case["f"])


def layer_gradients(layer, x, grad):
    """dL/dx and the weights' .grad from the layer, called here independently."""
    layer(x[None], training=True)
    dx = layer.backward(grad[None])[0]
    return dx, [np.array(w.grad) for w in layer.weights]


@given(conv_cases)
def test_every_traced_conv_gradient_adds_up_to_the_layers_own(case):
    assume(max(case["sh"], case["sw"]) == 1 or max(case["dh"], case["dw"]) == 1)
    rng = np.random.default_rng(case["seed"])
    layer, out_shape = conv_layer(case, rng)
    assume(layer is not None)
    x = rng.normal(size=(case["h"], case["w"], case["c"])).astype(np.float32)
    grad = rng.normal(size=out_shape).astype(np.float32)
    t = trace.trace_conv_backward(layer, x, grad)
    dx, (dk, db) = layer_gradients(layer, x, grad)

    np.testing.assert_array_equal(t.grad_inputs, dx)
    np.testing.assert_array_equal(t.kernel_grad, dk)
    np.testing.assert_array_equal(t.bias_grad, db)
    assert len(t.weights) == dk.size and len(t.cells) == x.size
    for step in t.weights:
        i, j, ch, f = step.tap
        assert t.weight(i, j, ch, f).index == step.index
        assert step.layer_grad == dk[i, j, ch, f]
        assert step.total == pytest.approx(dk[i, j, ch, f], rel=1e-4, abs=1e-4)
        assert not step.values[step.is_padding].any()  # padding zeros add nothing
    for step in t.cells:
        row, col, ch = step.cell
        assert t.cell(row, col, ch).index == step.index
        assert step.total == pytest.approx(dx[row, col, ch], rel=1e-4, abs=1e-4)
    for f in range(case["f"]):
        assert t.bias(f).total == pytest.approx(db[f], rel=1e-4, abs=1e-4)
    if case["activation"] == "relu":  # ReLU's backward step inside Conv2D
        blocked = t.forward.pre_activation <= 0
        assert not t.grad_pre_activation[blocked].any()
        np.testing.assert_array_equal(t.grad_pre_activation[~blocked],
                                      grad[~blocked])


def test_a_weight_meets_the_cells_its_steps_say():
    """With stride 2 and 'same' padding, weight (0, 0) meets the padded cells
    (0, 0), (0, 2), (2, 0), (2, 2)... and the input cell (2, 2) is covered by
    exactly the windows whose taps land on it."""
    layer = layers.Conv2D(1, 3, strides=2, padding="same", name="c")
    x = np.arange(36, dtype=np.float32).reshape(6, 6)
    t = trace.trace_conv_backward(layer, x, np.ones((3, 3)))
    top, _, left, _ = t.forward.pad.pads
    assert (top, left) == (0, 0)  # TensorFlow: the odd zero goes after
    step = t.weight(1, 2)
    assert step.cells()[:3] == [(1, 2), (1, 4), (1, 6)]
    assert step.values[0].tolist() == [x[1, 2], x[1, 4], 0.0]  # col 6 is a pad
    assert step.is_padding[0].tolist() == [False, False, True]
    cell = t.cell(2, 2)
    assert [(oy, ox, i, j) for oy, ox, _, i, j in cell.windows] == [
        (0, 0, 2, 2), (0, 1, 2, 0), (1, 0, 0, 2), (1, 1, 0, 0)]
    assert t.cell(1, 0).windows == ((0, 0, 0, 1, 0),)


@given(st.integers(2, 7), st.integers(2, 7), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 3), st.sampled_from(["valid", "same"]),
       st.integers(0, 2**16))
def test_max_pooling_sends_each_gradient_to_its_winner_only(h, w, size, stride,
                                                            channels, padding, seed):
    """Small integers make ties (the first maximum wins, as in the kernels)
    and overlapping windows add up."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-2, 3, (h, w, channels)).astype(np.float32)
    layer = layers.MaxPooling2D(size, stride, padding, name="pool")
    geo = shapes.window_geometry((h, w), (size, size), (stride, stride), padding)
    assume(geo.out_h > 0 and geo.out_w > 0)
    grad = rng.normal(size=(geo.out_h, geo.out_w, channels)).astype(np.float32)
    t = trace.trace_pool_backward(layer, x, grad)
    dx, _ = layer_gradients(layer, x, grad)
    np.testing.assert_array_equal(t.grad_inputs, dx)
    expected = np.zeros(x.shape)
    for step in t.windows:
        ch, origin = step.forward.channel, step.forward.origin
        row, col = step.winner
        assert x[row, col, ch] == step.forward.cells.max()
        assert step.grad == grad[step.forward.row, step.forward.col, ch]
        sent = step.sent
        assert sent[row - origin[0], col - origin[1]] == step.grad
        assert np.count_nonzero(sent) <= 1  # zeros everywhere else
        expected[row, col, ch] += step.grad
    assert_allclose(dx, expected, rtol=1e-6, atol=1e-6)
    winners = {(*s.winner, s.forward.channel) for s in t.windows}
    for cell in zip(*np.nonzero(dx), strict=True):
        assert tuple(int(c) for c in cell) in winners


def test_average_pooling_shares_each_gradient():
    x = np.arange(16, dtype=np.float32).reshape(4, 4, 1)
    layer = layers.AveragePooling2D(2, name="avg")
    t = trace.trace_pool_backward(layer, x, np.array([[4.0, 8.0], [0.0, -4.0]]))
    assert t.window(0, 1).winner is None
    assert t.window(0, 1).sent.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert t.grad_inputs[:, :, 0].tolist() == [[1, 1, 2, 2], [1, 1, 2, 2],
                                               [0, 0, -1, -1], [0, 0, -1, -1]]


@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 2**16))
def test_relu_blocks_the_gradient_where_its_input_was_not_positive(h, w, seed):
    rng = np.random.default_rng(seed)
    z = rng.integers(-2, 3, (h, w, 2)).astype(np.float32)  # zeros are common
    grad = rng.normal(size=z.shape).astype(np.float32)
    layer = layers.Activation("relu", name="relu")
    t = trace.trace_activation_backward(layer, z, grad)
    dz, _ = layer_gradients(layer, z, grad)
    np.testing.assert_array_equal(t.grad_inputs, dz)
    assert not dz[z <= 0].any()
    np.testing.assert_array_equal(dz[z > 0], grad[z > 0])
    for step in t.steps:
        assert step.passes == (step.pre_activation > 0)
        assert step.slope == (1.0 if step.passes else 0.0)
        assert step.value == step.layer_grad == dz[step.cell]
        assert t.step(*step.cell).index == step.index


def test_sigmoid_passes_its_slope():
    layer = layers.Activation("sigmoid", name="sig")
    t = trace.trace_activation_backward(layer, np.array([0.0, 2.0]), [1.0, 3.0])
    assert t.step(0).slope == pytest.approx(0.25)
    y = 1 / (1 + np.exp(-2.0))
    assert t.step(1).value == pytest.approx(3 * y * (1 - y), rel=1e-6)


def network_loss(x, kernel, bias, target):
    """conv -> relu -> 2x2 max pool -> mean squared error, in float64 with the
    tests' own loops (not convsim's layers)."""
    z = naive_conv2d(x[None], kernel, bias)
    pooled, _ = naive_max_pool2d(naive_relu(z), (2, 2))
    return float(np.mean((pooled[0] - target) ** 2))


def traced_network(x, kernel, bias, target):
    """The same network's gradients through the backward traces (float32)."""
    conv = layers.Conv2D(1, 3, name="conv")
    relu, pool = layers.Activation("relu", name="relu"), layers.MaxPooling2D(2)
    conv.build((None, *x.shape))
    conv.set_weights([kernel, bias])
    z = conv(x[None])[0]
    a = relu(z[None])[0]
    p = pool(a[None])[0]
    dp = (2 * (p - target) / p.size).astype(np.float32)  # d mean((p - t)^2) / dp
    da = trace.trace_pool_backward(pool, a, dp).grad_inputs
    dz = trace.trace_activation_backward(relu, z, da).grad_inputs
    return trace.trace_conv_backward(conv, x, dz)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_traced_gradients_are_the_losss_derivatives(seed):
    """Central differences of the float64 loss, one weight or input cell nudged
    at a time, agree with every traced sum. Random real numbers keep every
    nudge away from ReLU's kink and from ties in the pooling windows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 6, 1))
    kernel, bias = rng.normal(size=(3, 3, 1, 1)), rng.normal(size=1)
    target = rng.normal(size=(2, 2, 1))
    t = traced_network(x.astype(np.float32), kernel.astype(np.float32),
                       bias.astype(np.float32), target.astype(np.float32))
    eps = 1e-6

    def numeric(array, index):
        up, down = array.copy(), array.copy()
        up[index] += eps
        down[index] -= eps
        return up, down

    for step in t.weights:
        up, down = numeric(kernel, step.tap)
        want = (network_loss(x, up, bias, target)
                - network_loss(x, down, bias, target)) / (2 * eps)
        assert step.total == pytest.approx(want, rel=1e-3, abs=1e-4)
    for step in t.cells:
        up, down = numeric(x, step.cell)
        want = (network_loss(up, kernel, bias, target)
                - network_loss(down, kernel, bias, target)) / (2 * eps)
        assert step.total == pytest.approx(want, rel=1e-3, abs=1e-4)
    up, down = numeric(bias, 0)
    want = (network_loss(x, kernel, up, target)
            - network_loss(x, kernel, down, target)) / (2 * eps)
    assert t.bias(0).total == pytest.approx(want, rel=1e-3, abs=1e-4)


def test_some_gradient_is_not_zero_in_the_finite_difference_check():
    """The check above would pass trivially if everything were blocked."""
    rng = np.random.default_rng(0)
    x, kernel = rng.normal(size=(6, 6, 1)), rng.normal(size=(3, 3, 1, 1))
    t = traced_network(x.astype(np.float32), kernel.astype(np.float32),
                       np.zeros(1, np.float32), np.zeros((2, 2, 1), np.float32))
    assert np.count_nonzero(t.kernel_grad) >= 5


@pytest.mark.parametrize("optimizer", [optimizers.SGD(learning_rate=0.01),
                                       optimizers.RMSprop(),
                                       optimizers.Adam(learning_rate=0.01)])
def test_the_traced_step_is_the_optimizers_own(optimizer):
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=(3, 3, 1, 2)).astype(np.float32),
               rng.normal(size=2).astype(np.float32)]
    grads = [rng.normal(size=w.shape).astype(np.float32) for w in weights]
    t = trace.trace_update(optimizer, weights, grads)
    variables = [layers.Variable(w.copy(), "w", "w") for w in weights]
    type(optimizer).from_config(optimizer.get_config()).apply(grads, variables)
    for before, after, var in zip(weights, t.after, variables, strict=True):
        np.testing.assert_array_equal(after, var.value)
        assert not np.array_equal(after, before)
    step = t.step(0, 1, 2, 0, 1)
    assert (step.before, step.grad) == (weights[0][1, 2, 0, 1], grads[0][1, 2, 0, 1])
    assert step.after == t.after[0][1, 2, 0, 1]
    assert optimizer.iterations == 0 and not optimizer.built  # yours is untouched


def test_the_step_follows_the_books_formulas():
    """SGD: w - lr * g. RMSprop's first step: v = 0.1 * g**2, then
    w - lr * g / sqrt(v + 1e-7), about lr * 3.16 whatever the size of g."""
    weights, grads = [np.array([1.0, -0.5], np.float32)], [np.array([4.0, -0.02],
                                                                    np.float32)]
    sgd = trace.trace_update("sgd", weights, grads).step(0, 0)
    assert sgd.after == np.float32(1.0) - np.float32(0.01) * np.float32(4.0)
    assert sgd.optimizer == "SGD" and sgd.learning_rate == 0.01 and sgd.slots == {}
    rms = trace.trace_update(optimizers.RMSprop(), weights, grads)
    for k, g in enumerate(grads[0]):
        step = rms.step(0, k)
        v = 0.1 * float(g) ** 2
        assert step.slots["velocity"] == pytest.approx(v, rel=1e-6)
        assert step.change == pytest.approx(-0.001 * g / np.sqrt(v + 1e-7), rel=1e-4)
        assert abs(step.change) == pytest.approx(0.001 * np.sqrt(10), rel=1e-2)


def test_tracing_leaves_the_layer_as_it_was():
    layer = layers.Conv2D(2, 3, activation="relu", name="c")
    x = np.ones((5, 5, 1), np.float32)
    layer(x[None] * 2, training=True)
    kept_x, kept_y = layer._x, layer._y
    layer.kernel.grad = sentinel = np.full(layer.kernel.shape, 7, np.float32)
    trace.trace_conv_backward(layer, x, np.ones((3, 3, 2)))
    assert layer.kernel.grad is sentinel and layer.bias.grad is None
    assert layer._x is kept_x and layer._y is kept_y


def test_mistakes_get_a_clear_error():
    conv = layers.Conv2D(1, 3, name="c")
    x = np.zeros((5, 5), np.float32)
    with pytest.raises(errors.ArgumentError, match=r"`grad_out` must be dL/d\(outp"
                       r"uts\) of the layer, shaped like its output for this input, "
                       r"\(3, 3, 1\)\. Received: grad_out.shape=\(2, 2\)"):
        trace.trace_conv_backward(conv, x, np.zeros((2, 2)))
    with pytest.raises(errors.WrongTypeError, match="`layer` must be a Conv2D layer"):
        trace.trace_conv_backward(layers.MaxPooling2D(), x, np.zeros((2, 2)))
    with pytest.raises(errors.WrongTypeError, match="a Conv2D, MaxPooling2D, "
                                                    "AveragePooling2D or Activation"):
        trace.trace_backward(layers.Flatten(), x, np.zeros(25))
    with pytest.raises(errors.ArgumentError, match="softmax mixes all the cells"):
        trace.trace_activation_backward(layers.Activation("softmax"), x, x)
    t = trace.trace_conv_backward(conv, x, np.zeros((3, 3)))
    with pytest.raises(IndexError, match=r"`j` must be in \[0, 2\]. Received: j=3"):
        t.weight(0, 3)
    with pytest.raises(IndexError, match=r"`col` must be in \[0, 4\]"):
        t.cell(0, 5)
    with pytest.raises(errors.ArgumentError, match=r"`grads\[0\]` must have the "
                                                   r"shape of `weights\[0\]`, \(2,\)"):
        trace.trace_update("sgd", [np.zeros(2)], [np.zeros(3)])
    with pytest.raises(errors.ArgumentError, match="one gradient per weight: 2. "
                                                   "Received: 1 gradients"):
        trace.trace_update("sgd", [np.zeros(2), np.zeros(1)], [np.zeros(2)])
    with pytest.raises(IndexError, match="`index` must be one position"):
        trace.trace_update("sgd", [np.zeros(2)], [np.zeros(2)]).step(0, 2)


@pytest.mark.parametrize("module", [backprop, backward, backward_events, update])
def test_doctests(module):
    assert doctest.testmod(module).failed == 0


def test_backprop_through_a_model_is_one_training_step():
    """trace_backprop on the book's MNIST convnet (softmax + cross-entropy:
    the fused step) gives every Conv2D and Dense kernel the gradient that one
    train_on_batch with SGD(1) moves it by, and leaves the model as it was."""
    from convsim.experiments.book_models import build_mnist_model

    model = build_mnist_model()
    model.compile(optimizer=optimizers.SGD(learning_rate=1.0),
                  loss="categorical_crossentropy")
    rng = np.random.default_rng(5)
    x = rng.random((28, 28, 1)).astype(np.float32)
    target = np.eye(10, dtype=np.float32)[3]
    t = trace.trace_backprop(model, x, target, "categorical_crossentropy")
    assert t.fused and len(t.backward) == len(t.layers) == 8
    assert t.loss == pytest.approx(model.evaluate(x[None], target[None], verbose=0))
    assert all(w.grad is None for w in model.weights)  # nothing left behind
    before = [w.numpy() for w in model.trainable_weights]
    model.train_on_batch(x[None], target[None])
    moved = {id(w): b - w.numpy() for w, b in zip(model.trainable_weights, before,
                                                   strict=True)}
    convs = [b for b in t.backward if isinstance(b, backward.ConvBackwardTrace)]
    assert len(convs) == 3
    for traced in convs:
        assert_allclose(traced.kernel_grad, moved[id(traced.layer.kernel)],
                        rtol=1e-3, atol=1e-6)
        assert_allclose(traced.bias_grad, moved[id(traced.layer.bias)], rtol=1e-3,
                        atol=1e-6)
    assert t.grad_inputs.shape == (28, 28, 1)


def test_dropout_passes_the_gradient_and_no_target_is_the_forward_pass():
    dense = layers.Dense(2, kernel_initializer="ones", name="d")
    chain = [layers.Dropout(0.5, name="drop"), dense]
    x = np.array([1.0, 2.0, 3.0], np.float32)
    t = trace.trace_backprop(chain, x, np.zeros(2))
    assert isinstance(t.backward[0], backprop.LayerBackward)
    np.testing.assert_array_equal(t.backward[0].grad_inputs, t.backward[1].grad_inputs)
    np.testing.assert_array_equal(t.outputs, [6.0, 6.0])  # no unit was dropped
    forward_only = trace.trace_backprop(chain, x, None)
    assert forward_only.loss is None and forward_only.backward == []
    with pytest.raises(errors.ArgumentError, match="at least one layer"):
        trace.trace_backprop([], x, np.zeros(2))
