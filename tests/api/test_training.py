"""Training: whole-model gradients, fit/evaluate/predict on arrays and
iterators, History names, callbacks, the progress bar and reproducibility."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from convsim import callbacks, layers, losses, models, optimizers
from convsim.utils import set_random_seed, to_categorical


def quiet_console():
    buf = io.StringIO()
    return Console(file=buf, width=200, color_system=None), buf


def toy_data(n=96, seed=0, size=8):
    """Three classes a small convnet can learn: where the bright blob is."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    x = rng.normal(0, 0.3, size=(n, size, size, 1)).astype(np.float32)
    for i, c in enumerate(labels):
        x[i, 1:4, 1 + 2 * c:4 + 2 * c, 0] += 1.5
    return x, labels


def tiny_convnet(activation="relu", pool=layers.MaxPooling2D, out="softmax",
                 units=3):
    return models.Sequential([
        layers.Conv2D(3, (3, 3), activation=activation, input_shape=(8, 8, 2)),
        pool((2, 2)),
        layers.Conv2D(4, (2, 2), activation=activation, padding="same"),
        layers.Flatten(),
        layers.Dense(5, activation=activation),
        layers.Dense(units, activation=out),
    ])


def analytic_and_loss(model, x, y):
    """Model gradient (via fit's own step, with an optimizer that does nothing)
    and a float64 loss function of the weights."""
    y_pred = model._forward(x, training=True)
    values, grad = model._loss_and_grad(y, y_pred, need_grad=True)
    model._backward(grad / np.float32(len(values)),
                    fused=model._fused_layer is not None)
    grads = [v.grad.astype(np.float64).copy() for v in model.trainable_weights]

    def loss():
        out = model._forward(x, training=False)
        if model._fused_layer is not None:
            out = model._fused_layer.logits
        fused = model._fused_layer is not None
        return float(np.mean(model.loss.per_sample(y, out, from_logits=fused or None),
                             dtype=np.float64))

    return grads, loss


@pytest.mark.parametrize("activation, pool, out, loss_name, units, h", [
    ("tanh", layers.AveragePooling2D, "softmax", "categorical_crossentropy", 3, 1e-2),
    ("relu", layers.MaxPooling2D, "softmax", "categorical_crossentropy", 3, 1e-3),
    ("tanh", layers.MaxPooling2D, "sigmoid", "binary_crossentropy", 1, 1e-3),
    ("sigmoid", layers.AveragePooling2D, None, "mse", 3, 1e-2),
])
def test_whole_model_gradient_matches_directional_finite_differences(
        activation, pool, out, loss_name, units, h):
    """Directional derivatives: for unit directions d over *all* weights,
    (L(w + h d) - L(w - h d)) / 2h must equal grad . d. Each d is half the
    analytic gradient's direction, half random: a derivative of a good size
    (about |grad| / sqrt 2, far above float32 noise) that still exposes a
    gradient pointing the wrong way or with the wrong length.

    Why this form: the forward pass is float32, so each loss value carries a
    rounding error of ~1e-7 relative; a per-coordinate difference quotient with
    h ~ 1e-3 would be swamped for small coordinates, while a directional one
    sums every coordinate's contribution into one well-conditioned number.
    h = 1e-2 keeps float32 noise near 1e-5 relative; the curvature error is
    O(h^2) ~ 1e-4 here. ReLU/max-pool nets are only piecewise smooth, so they
    use h = 1e-3 (noise ~1e-4 relative), small enough that no unit or pooling
    window crosses its kink inside +-h: checked below, the ReLU on/off pattern
    and the max-pool winners are equal at both ends.
    """
    set_random_seed(11)
    model = tiny_convnet(activation, pool, out, units)
    model.compile("sgd", loss_name)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 8, 8, 2)).astype(np.float32)
    y = to_categorical(rng.integers(0, 3, 6), 3) if units == 3 else rng.integers(
        0, 2, (6, 1)).astype(np.float32)
    grads, loss = analytic_and_loss(model, x, y)
    weights = model.trainable_weights
    for _ in range(4):
        d = _unit([rng.normal(size=w.shape) for w in weights])
        d = _unit([a + b for a, b in zip(_unit(grads), d, strict=True)])
        base = [w.numpy() for w in weights]
        ends, patterns = [], []
        for sign in (1, -1):
            for w, b, v in zip(weights, base, d, strict=True):
                w.assign(b + sign * h * v)
            ends.append(loss())
            patterns.append(_kink_pattern(model, x))
        for w, b in zip(weights, base, strict=True):
            w.assign(b)
        for a, b in zip(patterns[0], patterns[1], strict=True):
            np.testing.assert_array_equal(a, b)
        numeric = (ends[0] - ends[1]) / (2 * h)
        analytic = sum(np.sum(g * v) for g, v in zip(grads, d, strict=True))
        # each float32 loss is off by up to a few ulps of |L|
        noise = 4 * float(np.finfo(np.float32).eps) * abs(ends[0]) / h
        assert numeric == pytest.approx(analytic, rel=2e-3, abs=noise)


def _unit(arrays):
    norm = np.sqrt(sum(np.sum(a * a) for a in arrays))
    return [a / norm for a in arrays]


def _kink_pattern(model, x):
    """Which ReLUs are on and which cell wins each max-pool window."""
    pattern, h = [], x
    for layer in model.layers:
        h = layer(h, training=True)
        if getattr(layer, "activation", None) is not None and \
                layer.activation.name == "relu":
            pattern.append(h > 0)
        if isinstance(layer, layers.MaxPooling2D):
            pattern.append(layer._argmax.copy())
    return pattern


def test_fused_softmax_gradient_equals_the_unfused_chain_rule():
    set_random_seed(4)
    model = tiny_convnet()
    model.compile("sgd", "categorical_crossentropy")
    x = np.random.default_rng(0).normal(size=(5, 8, 8, 2)).astype(np.float32)
    y = to_categorical([0, 1, 2, 1, 0], 3)
    fused, _ = analytic_and_loss(model, x, y)
    model._fused_layer = None  # plain path: CCE on probabilities, softmax backward
    plain, _ = analytic_and_loss(model, x, y)
    for a, b in zip(fused, plain, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_fit_learns_and_history_uses_the_given_metric_names():
    set_random_seed(0)
    x, labels = toy_data()
    y = to_categorical(labels)
    model = models.Sequential([layers.Conv2D(4, 3, activation="relu",
                                             input_shape=(8, 8, 1)),
                               layers.MaxPooling2D(2), layers.Flatten(),
                               layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizers.RMSprop(learning_rate=0.01),
                  loss="categorical_crossentropy", metrics=["acc"])
    history = model.fit(x, y, epochs=8, batch_size=16, validation_data=(x, y),
                        verbose=0)
    assert list(history.history) == ["loss", "acc", "val_loss", "val_acc"]
    assert history.epoch == list(range(8))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    loss, acc = model.evaluate(x, y, verbose=0)
    assert acc > 0.9
    assert history.history["val_acc"][-1] == pytest.approx(acc)
    assert history.history["val_loss"][-1] == pytest.approx(loss, rel=1e-6)
    assert model.history is history


def test_accuracy_flavour_follows_the_loss():
    x = np.zeros((4, 2), np.float32)
    for loss, y, out, expected in [
        ("binary_crossentropy", np.array([1, 0, 1, 1]), [[0.9], [0.6], [0.4], [0.7]],
         0.5),
        ("sparse_categorical_crossentropy", np.array([1, 0, 1, 1]),
         [[0.1, 0.9], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]], 0.75),
        ("categorical_crossentropy", to_categorical([1, 0, 1, 1]),
         [[0.1, 0.9], [0.8, 0.2], [0.6, 0.4], [0.3, 0.7]], 0.75),
    ]:
        model = models.Sequential([layers.Dense(len(out[0]), input_shape=(2,),
                                                use_bias=False)])
        model.compile("sgd", loss, metrics=["accuracy"])
        model._forward = lambda x, training=False, out=out: np.array(out, np.float32)
        assert model.evaluate(x, y, verbose=0, return_dict=True)["accuracy"] == \
            expected


def test_validation_split_takes_the_last_samples():
    set_random_seed(1)
    x, labels = toy_data(40)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
    history = model.fit(x, labels, epochs=1, validation_split=0.25, verbose=0)
    val = model.evaluate(x[30:], labels[30:], verbose=0, return_dict=True)
    assert history.history["val_loss"][0] == pytest.approx(val["loss"], rel=1e-6)
    assert history.history["val_accuracy"][0] == pytest.approx(val["accuracy"])


class KerasLikeIterator:
    """Infinite, with len() = batches per epoch, like DirectoryIterator."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size, self.i = x, y, batch_size, 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __iter__(self):
        return self

    def __next__(self):
        start = (self.i % len(self)) * self.batch_size
        self.i += 1
        return (self.x[start:start + self.batch_size],
                self.y[start:start + self.batch_size])


def test_fit_on_iterators_and_the_fit_generator_alias():
    x, labels = toy_data(48)
    y = to_categorical(labels)

    def run(use_alias):
        set_random_seed(9)
        model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                                   layers.Dense(3, activation="softmax")])
        model.compile("rmsprop", "categorical_crossentropy", ["acc"])
        train = KerasLikeIterator(x, y, 16)
        valid = KerasLikeIterator(x, y, 12)
        fit = model.fit_generator if use_alias else model.fit
        return fit(train, steps_per_epoch=3, epochs=2, validation_data=valid,
                   validation_steps=4, verbose=0), train, valid

    history, train, valid = run(False)
    assert train.i == 6 and valid.i == 8
    assert set(history.history) == {"loss", "acc", "val_loss", "val_acc"}
    alias_history = run(True)[0]
    assert alias_history.history == history.history
    # len() gives the steps when steps_per_epoch is omitted
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy")
    it = KerasLikeIterator(x, y, 16)
    model.fit(it, epochs=2, verbose=0)
    assert it.i == 6
    gen = (batch for batch in [(x[:8], y[:8])] * 100)
    with pytest.raises(ValueError, match="`validation_steps` .* is required"):
        model.fit(it, epochs=1, validation_data=gen, verbose=0)


def test_a_generator_that_runs_out_stops_training_with_a_message():
    x, labels = toy_data(32)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    batches = ((x[i:i + 8], labels[i:i + 8]) for i in range(0, 32, 8))
    console, buf = quiet_console()
    history = model.fit(batches, epochs=3, verbose=0, console=console)
    assert history.epoch == [0]
    assert "Your input ran out of data; interrupting training" in buf.getvalue()


def test_predict_is_batched_and_matches_one_big_batch():
    set_random_seed(3)
    model = tiny_convnet()
    x = np.random.default_rng(2).normal(size=(37, 8, 8, 2)).astype(np.float32)
    whole = model.predict(x, batch_size=37, verbose=0)
    np.testing.assert_allclose(model.predict(x, batch_size=5, verbose=0), whole,
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(model.predict(x, verbose=0), whole, rtol=1e-6,
                               atol=1e-7)
    assert model.predict(x, batch_size=5, steps=2, verbose=0).shape == (10, 3)


def test_set_random_seed_makes_two_runs_identical():
    def run():
        set_random_seed(123)
        x, labels = toy_data(40, seed=5)
        model = models.Sequential([
            layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
            layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.3),
            layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", ["accuracy"])
        history = model.fit(x, labels, epochs=2, batch_size=8, verbose=0)
        return model.get_weights(), history.history

    (w1, h1), (w2, h2) = run(), run()
    assert h1 == h2
    for a, b in zip(w1, w2, strict=True):
        np.testing.assert_array_equal(a, b)


def test_early_stopping_restores_the_best_weights():
    x, labels = toy_data(24)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    scores = iter([0.5, 0.4, 0.45, 0.6, 0.7, 0.3])
    snapshots = []

    class FakeValLoss(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(scores)
            snapshots.append(self.model.get_weights())

    console, buf = quiet_console()
    stopper = callbacks.EarlyStopping(patience=2, restore_best_weights=True,
                                      verbose=1)
    history = model.fit(x, labels, epochs=6, verbose=0, console=console,
                        callbacks=[FakeValLoss(), stopper])
    assert history.epoch == [0, 1, 2, 3]
    assert stopper.best == 0.4 and stopper.best_epoch == 1
    for a, b in zip(model.get_weights(), snapshots[1], strict=True):
        np.testing.assert_array_equal(a, b)
    assert "Epoch 4: early stopping" in buf.getvalue()
    assert "best epoch: 2." in buf.getvalue()
    with pytest.raises(ValueError, match="watching `monitor='val_acc'`"):
        model.fit(x, labels, epochs=1, verbose=0,
                  callbacks=[callbacks.EarlyStopping(monitor="val_acc")])


def test_model_checkpoint_saves_the_best_epochs(tmp_path):
    x, labels = toy_data(24)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    scores = iter([0.5, 0.6, 0.4])

    class FakeValLoss(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs["val_loss"] = next(scores)

    pattern = str(tmp_path / "m-{epoch:02d}-{val_loss:.2f}.convsim")
    model.fit(x, labels, epochs=3, verbose=0, callbacks=[
        FakeValLoss(), callbacks.ModelCheckpoint(pattern, save_best_only=True)])
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "m-01-0.50.convsim", "m-03-0.40.convsim"]
    weights_only = tmp_path / "w.npz"
    model.fit(x, labels, epochs=1, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(weights_only, save_weights_only=True)])
    clone = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    clone.load_weights(weights_only)
    np.testing.assert_array_equal(clone.predict(x, verbose=0),
                                  model.predict(x, verbose=0))


def test_progress_output_verbose_1_and_2():
    x, labels = toy_data(40)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", ["acc"])
    console, buf = quiet_console()  # not a terminal: final lines only
    model.fit(x, labels, epochs=2, batch_size=16, verbose=1, console=console)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2"
    assert lines[1].startswith("3/3 ━━━━━━━━━━━━━━━━━━━━ ")
    assert "/step - loss: " in lines[1] and " - acc: " in lines[1]
    console, buf = quiet_console()
    model.fit(x, labels, epochs=1, batch_size=16, verbose=2, console=console,
              validation_data=(x, labels))
    lines = buf.getvalue().splitlines()
    assert lines[0] == "Epoch 1/1"
    assert lines[1].startswith("3/3 - ") and " - val_acc: " in lines[1]
    console, buf = quiet_console()
    model.fit(x, labels, epochs=1, verbose=0, console=console)
    assert buf.getvalue() == ""


def test_progress_bar_frames_with_a_fake_clock():
    from convsim.training.progbar import Progbar

    now = [0.0]
    buf = io.StringIO()
    console = Console(file=buf, width=120, color_system=None, force_terminal=True)
    bar = Progbar(4, console, clock=lambda: now[0])
    assert bar.render(0, {}).plain == "0/4 ━━━━━━━━━━━━━━━━━━━━ 0s"
    now[0] = 30.0
    assert bar.render(1, {"loss": 1.23456}).plain == \
        "1/4 ━━━━━━━━━━━━━━━━━━━━ 1:30 30s/step - loss: 1.2346"
    now[0] = 3720.0
    assert bar.render(4, {"loss": 0.0001}, finalize=True).plain == \
        "4/4 ━━━━━━━━━━━━━━━━━━━━ 1:02:00 930s/step - loss: 1.0000e-04"
    bar.update(4, {"loss": 0.5}, finalize=True)
    assert "4/4" in buf.getvalue()


def test_mistakes_get_keras_worded_errors():
    x, labels = toy_data(8)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    with pytest.raises(RuntimeError, match="You must call `compile\\(\\)`"):
        model.fit(x, labels, verbose=0)
    model.compile("rmsprop", "categorical_crossentropy")
    with pytest.raises(ValueError, match="sparse_categorical_crossentropy.*"
                                         "to_categorical"):
        model.fit(x, labels, verbose=0)
    with pytest.raises(ValueError, match="Data cardinality is ambiguous.*x sizes: "
                                         "8, y sizes: 7"):
        model.fit(x, to_categorical(labels, 3)[:7], verbose=0)
    model.compile("rmsprop", "sparse_categorical_crossentropy")
    with pytest.raises(ValueError, match=r"label value of 5 .* range of \[0, 3\)"):
        model.fit(x, np.full(8, 5), verbose=0)
    with pytest.raises(ValueError, match="Could not interpret loss identifier"):
        model.compile("rmsprop", "cross_entropy")
    with pytest.raises(ValueError, match="`epochs` must be a non-negative integer"):
        model.fit(x, labels, epochs=1.5, verbose=0)


def test_loss_objects_and_from_logits():
    x, labels = toy_data(30)
    set_random_seed(8)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3)])
    model.compile("adam", losses.SparseCategoricalCrossentropy(from_logits=True),
                  ["accuracy"])
    history = model.fit(x, labels, epochs=10, batch_size=10, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_same_losses_as_pytorch_from_the_same_weights_and_batches():
    """The book's MNIST convnet, copied weight for weight into PyTorch, trained on the
    same batches with SGD + momentum: the losses agree step after step. (Kernel
    layout differs: Keras (kh, kw, in, out) vs torch (out, in, kh, kw), and
    Flatten orders NHWC (h, w, c) vs NCHW (c, h, w), so Dense rows are permuted.)
    """
    torch = pytest.importorskip("torch")
    from convsim.experiments.book_models import build_mnist_model

    set_random_seed(6)
    model = build_mnist_model()
    model.compile(optimizers.SGD(0.05, momentum=0.9), "sparse_categorical_crossentropy")
    nn = torch.nn
    net = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10)).double()
    ours = [layer for layer in model.layers if layer.weights]
    theirs = [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for mine, other in zip(ours, theirs, strict=True):
            kernel = np.asarray(mine.kernel, np.float64)
            if kernel.ndim == 4:
                kernel = kernel.transpose(3, 2, 0, 1)
            elif kernel.shape[0] == 576:  # rows (h, w, c) -> (c, h, w)
                kernel = kernel.reshape(3, 3, 64, 64).transpose(2, 0, 1, 3).reshape(
                    576, 64).T
            else:
                kernel = kernel.T
            other.weight.copy_(torch.from_numpy(kernel.copy()))
            other.bias.copy_(torch.from_numpy(np.asarray(mine.bias, np.float64)))
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    for _ in range(4):
        x = rng.random((16, 28, 28, 1), dtype=np.float32)
        y = rng.integers(0, 10, 16)
        ours_loss = model.train_on_batch(x, y)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(
            net(torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float64))),
            torch.from_numpy(y))
        loss.backward()
        opt.step()
        assert ours_loss == pytest.approx(loss.item(), rel=1e-4)


def test_cats_recipe_tracks_pytorch_step_by_step():
    """The book's cats-vs-dogs layers (on 46x46 photos, so Flatten gives 128
    values), sigmoid + binary cross-entropy, Adam 1e-3: same weights and batches
    in PyTorch (float64, Adam applied with Keras's rule) give the same losses
    step after step. This is the recipe whose augmented run sits at 50% for many
    epochs; matching PyTorch rules out a convsim bug as the cause."""
    torch = pytest.importorskip("torch")
    nn = torch.nn

    set_random_seed(3)
    model = models.Sequential([
        layers.Conv2D(32, 3, activation="relu", input_shape=(46, 46, 3)),
        layers.MaxPooling2D(2), layers.Conv2D(64, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Conv2D(128, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Conv2D(128, 3, activation="relu"),
        layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dense(512, activation="relu"), layers.Dense(1, activation="sigmoid")])
    model.compile(optimizers.Adam(1e-3), "binary_crossentropy")
    net = nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3),
        nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(64, 128, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(128, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(128, 512), nn.ReLU(), nn.Linear(512, 1)).double()
    ours = [layer for layer in model.layers if layer.weights]
    theirs = [m for m in net if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():  # a 1x1 map: Flatten's order is the same in both
        for mine, other in zip(ours, theirs, strict=True):
            kernel = np.asarray(mine.kernel, np.float64)
            kernel = kernel.transpose(3, 2, 0, 1) if kernel.ndim == 4 else kernel.T
            other.weight.copy_(torch.from_numpy(kernel.copy()))
            other.bias.copy_(torch.from_numpy(np.asarray(mine.bias, np.float64)))
    params = list(net.parameters())
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    rng = np.random.default_rng(1)
    for step in range(1, 6):
        x = rng.random((8, 46, 46, 3), dtype=np.float32)
        y = rng.integers(0, 2, 8).astype(np.float32)
        ours_loss = model.train_on_batch(x, y)
        for p in params:
            p.grad = None
        logits = net(torch.from_numpy(x.transpose(0, 3, 1, 2).astype(np.float64)))
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits[:, 0], torch.from_numpy(y.astype(np.float64)))
        loss.backward()
        alpha = 1e-3 * (1 - 0.999**step) ** 0.5 / (1 - 0.9**step)
        with torch.no_grad():  # Keras: w -= alpha * m / (sqrt(v) + epsilon)
            for p, (m, v) in zip(params, moments, strict=True):
                m.mul_(0.9).add_(p.grad, alpha=0.1)
                v.mul_(0.999).addcmul_(p.grad, p.grad, value=0.001)
                p.sub_(alpha * m / (v.sqrt() + 1e-7))
        assert ours_loss == pytest.approx(loss.item(), rel=1e-4), step


def test_evaluate_and_predict_on_iterators_and_their_old_names():
    x, labels = toy_data(40)
    y = to_categorical(labels)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    model.compile("sgd", "categorical_crossentropy", ["acc"])
    expected = model.evaluate(x, y, batch_size=10, verbose=0)
    got = model.evaluate(KerasLikeIterator(x, y, 10), verbose=0)
    old = model.evaluate_generator(KerasLikeIterator(x, y, 10), steps=4)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(old, expected, rtol=1e-6)
    probs = model.predict(x, verbose=0)
    np.testing.assert_allclose(
        model.predict_generator(KerasLikeIterator(x, y, 10), steps=4), probs,
        rtol=1e-6)
    only_x = (x[i:i + 8] for i in range(0, 40, 8))
    np.testing.assert_allclose(model.predict(only_x, verbose=0), probs, rtol=1e-6)


def test_unknown_number_of_steps_is_shown_as_unknown():
    from convsim.training.progbar import Progbar

    bar = Progbar(None, Console(file=io.StringIO()), clock=lambda: 2.0)
    bar.start = 0.0
    assert bar.render(4, {"loss": 0.5}).plain == \
        "4/Unknown 2s 500ms/step - loss: 0.5000"


def test_an_interrupted_fit_stops_the_live_bar():
    x, labels = toy_data(32)
    model = models.Sequential([layers.Flatten(input_shape=(8, 8, 1)),
                               layers.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")

    class CtrlC(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                raise KeyboardInterrupt

    buf = io.StringIO()
    console = Console(file=buf, width=100, color_system=None, force_terminal=True)
    with pytest.raises(KeyboardInterrupt):
        model.fit(x, labels, batch_size=8, verbose=1, console=console,
                  callbacks=[CtrlC()])
    assert buf.getvalue().endswith("\x1b[?25h")  # cursor shown again


def test_a_resumed_epoch_counts_on_from_where_it_stopped():
    """After --resume, an epoch whose batches were all trained before the stop
    shows 7/7, not 0/7 (which reads as if nothing had been trained)."""
    import types

    from convsim.training.callbacks import ProgbarLogger

    console = Console(file=io.StringIO(), width=120, color_system=None)
    bar = ProgbarLogger(verbose=2)
    bar.set_model(types.SimpleNamespace(_epoch_first_step=7))
    bar.set_params({"epochs": 2, "steps": 7, "verbose": 2})
    bar.console = console
    bar.on_epoch_begin(1)
    bar.on_epoch_end(1, {"loss": 0.5})
    assert "Epoch 2/2\n7/7 - " in console.file.getvalue()
