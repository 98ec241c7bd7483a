"""The lessons' trained network: the book's MNIST convnet, trained once on
the bundled digits and kept in convsim's cache."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from rich.console import Console

from convsim.datasets import mnist
from convsim.errors import ArgumentError
from convsim.experiments import pretrained


def quiet() -> Console:
    return Console(file=io.StringIO(), width=200)


@pytest.mark.slow
def test_the_model_is_trained_kept_and_loaded_again(trained_mnist):
    path = pretrained.model_path("mnist")
    assert path.is_file() and path.with_suffix(".json").is_file()
    info = json.loads(path.with_suffix(".json").read_text())
    assert info["train_digits"] == 4000 and info["epochs"] == 5
    (_, _), (x_test, y_test) = mnist.load_data(mnist.BUNDLED_DIR, verbose=False)
    x = x_test.reshape((-1, 28, 28, 1)).astype("float32") / 255
    guesses = trained_mnist.predict(x, verbose=0).argmax(axis=1)
    accuracy = float((guesses == y_test).mean())
    assert accuracy == pytest.approx(info["test_accuracy"], abs=1e-6)
    assert accuracy > 0.9  # an untrained one is right about 10% of the time
    console = quiet()
    again = pretrained.pretrained_model(console=console)
    assert console.file.getvalue() == ""  # loaded, not trained again
    for a, b in zip(again.weights, trained_mnist.weights, strict=True):
        np.testing.assert_array_equal(a.value, b.value)
    assert f"{info['test_accuracy']:.1%} right on the 1,000 test digits" in \
        pretrained.describe()


def test_a_damaged_kept_model_is_trained_again(trained_mnist, tmp_path,
                                               monkeypatch):
    """A kept file that cannot be read is said and trained again (the
    training itself is replaced here: the test above trains for real)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = pretrained.model_path("mnist")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a model")
    trained = []
    monkeypatch.setattr(pretrained, "_train", lambda where, console, lang="en": (
        trained.append(where), trained_mnist)[1])
    console = quiet()
    model = pretrained.pretrained_model(console=console)
    out = " ".join(console.file.getvalue().split())
    assert "cannot be read" in out and "training it again" in out
    assert trained == [path] and model is trained_mnist


def test_only_known_models():
    with pytest.raises(ArgumentError, match=r"no trained model called 'cifar'; "
                       r"convsim has \['mnist'\]"):
        pretrained.pretrained_model("cifar")


def test_the_layers_have_the_names_the_book_prints(trained_mnist):
    """Whatever ran before in the session (tests, a notebook), the trained
    model's layers are named as in a fresh session, as the lessons say."""
    assert [layer.name for layer in trained_mnist.layers] == [
        "conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1", "conv2d_2",
        "flatten", "dense", "dense_1"]
