"""A trained network to look inside, offline: the book's MNIST convnet.

The lessons that look inside a network (its activations, one cell explained,
its filters, where it looked) need a *trained* one, and a learner may not
have trained one yet. :func:`pretrained_model` gives the book's MNIST convnet
trained with the book's recipe (RMSprop, categorical cross-entropy, batch 64,
5 epochs) on the 4,000 training digits bundled with convsim, so it works with
no network and no download. It is trained once, on first use (about 15
seconds on two cores, with a progress bar), and kept in convsim's cache
(``~/.cache/convsim/models/``; ``$XDG_CACHE_HOME`` is respected): no trained
weights are shipped with convsim, only the recipe.

The training is seeded, so every learner gets the same network on the same
kind of machine; its test accuracy on the 1,000 bundled test digits (95%
when measured) is kept beside it and shown by :func:`describe`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from rich.console import Console

from convsim.datasets.sources import cache_dir
from convsim.errors import ArgumentError, ModelFileError, message
from convsim.experiments.words import line
from convsim.files import atomic_write

__all__ = ["MODELS", "describe", "model_path", "pretrained_model"]

#: What can be asked for, and the file each is kept in. The recipe's version
#: is in the name: a changed recipe trains a new file instead of reusing the
#: old one.
MODELS = {"mnist": "mnist-convnet-v1.convsim"}
_RECIPE = {"epochs": 5, "batch_size": 64, "optimizer": "rmsprop",
           "loss": "categorical_crossentropy", "seed": 0}


def model_path(name: str = "mnist") -> Path:
    """Where the trained model ``name`` is kept (it may not exist yet)."""
    _check_name(name)
    return cache_dir() / "models" / MODELS[name]


def pretrained_model(name: str = "mnist", *, console: Console | None = None,
                     retrain: bool = False, lang: str = "en"):
    """The book's MNIST convnet, trained on the bundled digits.

    Loaded from the cache when it is there; otherwise trained now (a progress
    bar on ``console``, its words in ``lang``) and saved there first.
    ``retrain=True`` trains it again. A damaged cached file is trained again
    too, after saying so.
    """
    from convsim.models import load_model

    path = model_path(name)
    console = console or Console(stderr=True)
    if path.exists() and not retrain:
        try:
            return load_model(path)
        except ModelFileError as err:
            console.print(line(lang, "pretrained_unreadable", path=path,
                               err=message(err, lang)), highlight=False)
    return _train(path, console, lang)


def describe(name: str = "mnist") -> str:
    """One line for a lesson to show: what the model is and how good."""
    path = model_path(name)
    try:
        info = json.loads(path.with_suffix(".json").read_text())
        accuracy = f", {info['test_accuracy']:.1%} right on the 1,000 test digits"
    except (OSError, ValueError, KeyError, TypeError):
        accuracy = ""
    return ("the book's MNIST convnet, trained on convsim's 4,000 bundled "
            f"digits{accuracy}")


def _check_name(name) -> None:
    if name not in MODELS:
        raise ArgumentError(f"There is no trained model called {name!r}; "
                            f"convsim has {sorted(MODELS)}.")


def _train(path: Path, console: Console, lang: str = "en"):
    """Train the book's MNIST convnet with the book's recipe and keep it."""
    from convsim.datasets import mnist
    from convsim.experiments.book_models import build_mnist_model
    from convsim.layers.graph import fresh_names
    from convsim.training.callbacks import ProgbarLogger
    from convsim.utils import set_random_seed, to_categorical

    (x, y), (x_test, y_test) = mnist.load_data(mnist.BUNDLED_DIR, download=False,
                                               verbose=False)
    x = x.reshape((-1, 28, 28, 1)).astype("float32") / 255
    x_test = x_test.reshape((-1, 28, 28, 1)).astype("float32") / 255
    y, y_test = to_categorical(y, 10), to_categorical(y_test, 10)
    console.print(line(lang, "pretraining", n=f"{len(x):,}",
                       epochs=_RECIPE["epochs"], path=path), highlight=False)
    set_random_seed(_RECIPE["seed"])
    with fresh_names():  # the names the book prints (conv2d ... dense_1), always
        model = build_mnist_model()
    model.compile(optimizer=_RECIPE["optimizer"], loss=_RECIPE["loss"],
                  metrics=["accuracy"])
    start = time.perf_counter()
    progbar = [ProgbarLogger(1, lang=lang)] if console.is_terminal else []
    model.fit(x, y, epochs=_RECIPE["epochs"], batch_size=_RECIPE["batch_size"],
              verbose=0, callbacks=progbar, console=console)
    _, accuracy = model.evaluate(x_test, y_test, verbose=0)
    seconds = time.perf_counter() - start
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    info = {**_RECIPE, "train_digits": len(x), "test_accuracy": float(accuracy),
            "seconds": round(seconds, 1)}
    atomic_write(path.with_suffix(".json"),
                 lambda f: f.write(json.dumps(info, indent=1).encode()))
    console.print(line(lang, "pretrained", seconds=f"{seconds:.0f}",
                       accuracy=f"{accuracy:.1%}", n=f"{len(x_test):,}"),
                  highlight=False)
    return model
