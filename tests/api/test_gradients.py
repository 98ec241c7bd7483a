"""convsim.trace.gradients: the gradient of a filter's mean activation or a
class score with respect to the input or a layer's output, from the real
layers' backward passes. Checked against central finite differences (a smooth
model, so the differences converge), against PyTorch's autograd on the book's
MNIST convnet (ReLU and max pooling, Dropout in inference mode), and for
leaving the model exactly as it was."""

from __future__ import annotations

import numpy as np
import pytest

from convsim import layers, models
from convsim.errors import ArgumentError, NotReadyError, WrongTypeError
from convsim.experiments.book_models import build_mnist_model
from convsim.trace.gradients import (
    class_score,
    filter_mean,
    gradient,
    model_layers,
)


def smooth_model(seed: int = 0):
    """Every kind of layer the book uses, with smooth activations (tanh,
    sigmoid, average pooling) so finite differences converge."""
    model = models.Sequential([
        layers.Input(shape=(8, 8, 2)),
        layers.Conv2D(3, 3, activation="tanh", name="c1"),
        layers.AveragePooling2D(2, name="pool"),
        layers.Conv2D(4, 2, padding="same", activation="sigmoid", name="c2"),
        layers.Flatten(name="flat"),
        layers.Dense(5, activation="tanh", name="hidden"),
        layers.Dropout(0.5, name="drop"),
        layers.Dense(3, activation="softmax", name="out"),
    ])
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 0.6, w.shape) for w in model.get_weights()])
    return model


def objective_from(model, objective, start: int, values: np.ndarray) -> np.ndarray:
    """The objective computed by hand from the output of layer ``start`` (-1:
    the input) through the following layers called as ``predict`` calls them."""
    chain = model_layers(model)
    top = chain.index(objective.layer)
    x = values
    for layer in chain[start + 1:top]:
        x = layer(x, training=False)
    out = (chain[top].linear(x) if objective.before_activation
           else chain[top](x, training=False))
    return objective.sign * np.moveaxis(out, -1, 0)[objective.channels].reshape(
        len(values), -1).astype(np.float64).mean(axis=1)


def central_differences(f, x: np.ndarray, eps: float) -> np.ndarray:
    flat, grad = x.astype(np.float64).ravel(), np.zeros(x.size)
    for i in range(x.size):
        up, down = flat.copy(), flat.copy()
        up[i] += eps
        down[i] -= eps
        grad[i] = (f(up.reshape(x.shape)) - f(down.reshape(x.shape)))[0] / (2 * eps)
    return grad.reshape(x.shape)


OBJECTIVES = {
    "first filter": lambda m: filter_mean(m, "c1", 2),
    "second filter": lambda m: filter_mean(m, "c2", 1),
    "class score": lambda m: class_score(m, 1),
    "negated score": lambda m: class_score(m, 2, sign=-1),
}


@pytest.mark.parametrize("name", OBJECTIVES)
def test_input_gradient_equals_finite_differences(name):
    model = smooth_model()
    objective = OBJECTIVES[name](model)
    x = np.random.default_rng(1).uniform(0, 1, (1, 8, 8, 2)).astype(np.float32)
    found = gradient(model, x, objective)
    assert found.wrt == "input" and found.at.shape == found.grad.shape == x.shape
    np.testing.assert_allclose(found.values, objective_from(model, objective, -1, x),
                               rtol=1e-6)
    expected = central_differences(
        lambda v: objective_from(model, objective, -1, v), x, eps=1e-2)
    assert np.abs(expected).max() > 1e-3  # a gradient worth comparing
    np.testing.assert_allclose(found.grad, expected, atol=2e-4 * np.abs(expected).max(),
                               rtol=1e-2)


@pytest.mark.parametrize("wrt", ["c1", "pool", "c2"])
def test_layer_gradient_equals_finite_differences(wrt):
    model = smooth_model(seed=3)
    objective = class_score(model, 0)
    x = np.random.default_rng(2).uniform(0, 1, (1, 8, 8, 2)).astype(np.float32)
    found = gradient(model, x, objective, wrt=wrt)
    start = [layer.name for layer in model_layers(model)].index(wrt)
    expected_at = x
    for layer in model_layers(model)[:start + 1]:
        expected_at = layer(expected_at)
    np.testing.assert_allclose(found.at, expected_at, rtol=1e-6)
    expected = central_differences(
        lambda v: objective_from(model, objective, start, v), found.at, eps=1e-2)
    assert found.wrt == wrt and np.abs(expected).max() > 1e-3
    np.testing.assert_allclose(found.grad, expected, atol=2e-4 * np.abs(expected).max(),
                               rtol=1e-2)


def test_class_scores_are_the_logits_before_softmax():
    model = smooth_model()
    x = np.random.default_rng(4).uniform(0, 1, (2, 8, 8, 2)).astype(np.float32)
    logits = np.stack([gradient(model, x, class_score(model, k)).values
                       for k in range(3)], axis=1)
    softmax = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, model.predict(x, verbose=0), rtol=1e-5)


def test_each_image_gets_the_gradient_of_its_own_channel():
    model = smooth_model()
    x = np.random.default_rng(5).uniform(0, 1, (3, 8, 8, 2)).astype(np.float32)
    together = gradient(model, x, filter_mean(model, "c2", [0, 3, 1]))
    for i, channel in enumerate([0, 3, 1]):
        alone = gradient(model, x[i:i + 1], filter_mean(model, "c2", channel))
        np.testing.assert_allclose(together.grad[i], alone.grad[0], rtol=1e-5,
                                   atol=1e-9)
        np.testing.assert_allclose(together.values[i], alone.values[0], rtol=1e-6)


def test_the_model_is_left_as_it_was():
    model = smooth_model()
    x = np.random.default_rng(6).uniform(0, 1, (2, 8, 8, 2)).astype(np.float32)
    model(x, training=True)  # as a training step leaves the layers
    weights = model.get_weights()
    sentinels = [np.full(w.shape, 7.0, np.float32) for w in model.weights]
    for w, s in zip(model.weights, sentinels, strict=True):
        w.grad = s
    remembered = [dict(vars(layer)) for layer in model.layers]
    drop = model.get_layer("drop")
    mask = drop._mask
    gradient(model, x[:1], class_score(model, 1))
    for before, after in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    assert all(w.grad is s for w, s in zip(model.weights, sentinels, strict=True))
    for layer, before in zip(model.layers, remembered, strict=True):
        assert vars(layer).keys() == before.keys()
        assert all(vars(layer)[k] is v for k, v in before.items())
    assert drop._mask is mask and mask is not None


def test_binary_sigmoid_model_score_is_the_logit_and_its_negative_the_other_class():
    model = models.Sequential([layers.Input(shape=(4, 4, 1)),
                               layers.Conv2D(2, 3, activation="relu", name="c"),
                               layers.Flatten(),
                               layers.Dense(1, activation="sigmoid", name="out")])
    rng = np.random.default_rng(7)
    model.set_weights([rng.normal(0, 1, w.shape) for w in model.get_weights()])
    x = rng.uniform(0, 1, (2, 4, 4, 1)).astype(np.float32)
    dog, cat = (gradient(model, x, class_score(model, 0, sign=s)) for s in (1, -1))
    probability = 1 / (1 + np.exp(-dog.values))
    np.testing.assert_allclose(probability, model.predict(x, verbose=0)[:, 0],
                               rtol=1e-5)
    np.testing.assert_array_equal(cat.values, -dog.values)
    np.testing.assert_array_equal(cat.grad, -dog.grad)


# ---------------------------------------------------------------- PyTorch

def torch_mnist(model, dropout: bool):
    """The book's MNIST convnet in PyTorch with convsim's weights (NHWC
    flattening kept, so the Dense kernels line up), in eval mode."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    w = [torch.tensor(v) for v in model.get_weights()]

    def conv(k, b):
        layer = nn.Conv2d(k.shape[2], k.shape[3], k.shape[0])
        layer.weight.data, layer.bias.data = k.permute(3, 2, 0, 1).contiguous(), b
        return layer

    def dense(k, b):
        layer = nn.Linear(k.shape[0], k.shape[1])
        layer.weight.data, layer.bias.data = k.T.contiguous(), b
        return layer

    class NHWCFlatten(nn.Module):
        def forward(self, x):
            return x.permute(0, 2, 3, 1).reshape(len(x), -1)

    parts = [conv(w[0], w[1]), nn.ReLU(), nn.MaxPool2d(2), conv(w[2], w[3]),
             nn.ReLU(), nn.MaxPool2d(2), conv(w[4], w[5]), nn.ReLU(), NHWCFlatten()]
    parts += [nn.Dropout(0.5)] if dropout else []
    parts += [dense(w[6], w[7]), nn.ReLU(), dense(w[8], w[9])]
    return torch, nn.Sequential(*parts).eval()


def mnist_with(dropout: bool):
    model = build_mnist_model()
    if dropout:
        chain = model_layers(model)
        model = models.Sequential([layers.Input(shape=(28, 28, 1)), *chain[:5],
                                   layers.Dropout(0.5), *chain[5:]])
    rng = np.random.default_rng(8)
    model.set_weights([rng.normal(0, 0.1, w.shape) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("dropout", [False, True])
def test_mnist_convnet_gradients_equal_pytorch(dropout):
    model = mnist_with(dropout)
    torch, net = torch_mnist(model, dropout)
    x = np.random.default_rng(9).uniform(0, 1, (2, 28, 28, 1)).astype(np.float32)
    tx = torch.tensor(x).permute(0, 3, 1, 2).requires_grad_(True)
    logits = net(tx)
    logits[:, 3].sum().backward()
    found = gradient(model, x, class_score(model, 3))
    np.testing.assert_allclose(found.values, logits[:, 3].detach().numpy(), rtol=1e-4)
    expected = tx.grad.permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(found.grad, expected, atol=1e-5 * np.abs(expected).max(),
                               rtol=1e-3)
    # a filter of the second convolution, through ReLU and max pooling
    tx.grad = None
    second = net[:5](tx)  # conv, relu, pool, conv, relu: (batch, 64, 11, 11)
    second[:, 5].mean(dim=(1, 2)).sum().backward()
    found = gradient(model, x, filter_mean(model, model_layers(model)[2], 5))
    expected = tx.grad.permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(found.grad, expected, atol=1e-5 * np.abs(expected).max(),
                               rtol=1e-3)


# ---------------------------------------------------------------- errors

def test_bad_arguments_say_what_was_received_and_what_is_allowed():
    model = smooth_model()
    x = np.zeros((1, 8, 8, 2), np.float32)
    with pytest.raises(ArgumentError, match=r"`channel` must be an integer from 0 "
                                            r"to 2 .*Received: channel=3"):
        filter_mean(model, "c1", 3)
    with pytest.raises(ArgumentError, match=r"`channel`.*Received: channel=True"):
        filter_mean(model, "c1", True)
    with pytest.raises(ArgumentError, match=r"`layer` must be one of the layers of "
                                            r"model .*'c1'.*Received: layer='c9'"):
        filter_mean(model, "c9", 0)
    with pytest.raises(ArgumentError, match=r"`index` must be an integer from 0 to "
                                            r"2 .*Received: index=-1"):
        class_score(model, -1)
    with pytest.raises(ArgumentError, match=r"`sign` must be 1 or -1. Received: "
                                            r"sign=0"):
        class_score(model, 0, sign=0)
    with pytest.raises(ArgumentError, match=r"`inputs` must be a non-empty batch "
                                            r"shaped \(None, 8, 8, 2\).*"
                                            r"Received: inputs.shape=\(8, 8, 2\)"):
        gradient(model, x[0], class_score(model, 0))
    with pytest.raises(ArgumentError, match="NaN or infinite"):
        gradient(model, x * np.nan, class_score(model, 0))
    with pytest.raises(ArgumentError, match=r"`wrt` must be a layer before 'c2'.*"
                                            r"Received: wrt='out'"):
        gradient(model, x, filter_mean(model, "c2", 0), wrt="out")
    with pytest.raises(ArgumentError, match=r"`wrt` must be a layer before 'out' "
                                            r"\(the objective's layer\)"):
        gradient(model, x, class_score(model, 0), wrt="out")
    with pytest.raises(ArgumentError,
                       match=r"3 channels, one per image.*Received: 2 images"):
        gradient(model, np.zeros((2, 8, 8, 2)), filter_mean(model, "c1", [0, 1, 2]))
    with pytest.raises(WrongTypeError, match="`objective` must come from"):
        gradient(model, x, 0)


def test_a_model_without_dense_or_input_shape_is_refused_with_a_reason():
    convs = models.Sequential([layers.Input(shape=(5, 5, 1)),
                               layers.Conv2D(2, 3, name="c")])
    with pytest.raises(ArgumentError, match="has no Dense layer"):
        class_score(convs, 0)
    unbuilt = models.Sequential([layers.Conv2D(2, 3, name="c")])
    with pytest.raises(NotReadyError, match="no known output shape"):
        filter_mean(unbuilt, "c", 0)
