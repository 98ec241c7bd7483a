"""Metrics for ``compile(metrics=[...])``: accuracy in its three Keras flavours.

``'accuracy'`` (or ``'acc'``) means different things for different losses, and
Keras picks for you, as we do:

* ``binary_crossentropy`` -> binary accuracy: ``(y_pred > 0.5) == y_true``;
* ``sparse_categorical_crossentropy`` -> ``argmax(y_pred) == y_true``;
* otherwise -> categorical accuracy: ``argmax(y_pred) == argmax(y_true)``
  (or binary accuracy when the model has a single output unit).

The name you type is the name you get back: ``metrics=['acc']`` gives
``history.history['acc']`` and ``['val_acc']``, as in the book.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from convsim.errors import ArgumentError

__all__ = ["Metric", "binary_accuracy", "categorical_accuracy", "get",
           "sparse_categorical_accuracy"]


class Metric(NamedTuple):
    """A metric's display ``name`` and ``fn(y_true, y_pred) -> per-sample values``."""

    name: str
    fn: object


def binary_accuracy(y_true, y_pred, threshold=0.5) -> np.ndarray:
    y_pred = np.asarray(y_pred)
    t = np.asarray(y_true, np.float32).reshape(y_pred.shape)
    hits = ((y_pred > threshold).astype(np.float32) == t).astype(np.float32)
    return hits.reshape(len(y_pred), -1).mean(axis=1)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    y_pred = np.asarray(y_pred)
    return (np.argmax(y_true, axis=-1) == np.argmax(y_pred, axis=-1)).astype(
        np.float32).reshape(len(y_pred), -1).mean(axis=1)


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    y_pred = np.asarray(y_pred)
    labels = np.asarray(y_true).reshape(y_pred.shape[:-1])
    return (labels == np.argmax(y_pred, axis=-1)).astype(np.float32).reshape(
        len(y_pred), -1).mean(axis=1)


def _auto_accuracy(loss_name):
    if loss_name == "binary_crossentropy":
        return binary_accuracy
    if loss_name == "sparse_categorical_crossentropy":
        return sparse_categorical_accuracy

    def accuracy(y_true, y_pred):
        if np.shape(y_pred)[-1] == 1:
            return binary_accuracy(y_true, y_pred)
        return categorical_accuracy(y_true, y_pred)

    return accuracy


_FUNCTIONS = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
}


def get(identifier, loss_name: str | None = None) -> Metric:
    """Resolve one entry of ``compile(metrics=[...])``.

    Args:
        identifier: ``'accuracy'``/``'acc'``, one of the function names above,
            or a function ``fn(y_true, y_pred)`` returning per-sample values.
        loss_name: the compiled loss's name, to choose the accuracy flavour.
    """
    if isinstance(identifier, str):
        key = identifier.lower()
        if key in ("accuracy", "acc"):
            return Metric(identifier, _auto_accuracy(loss_name))
        if key in _FUNCTIONS:
            return Metric(identifier, _FUNCTIONS[key])
    elif callable(identifier):
        return Metric(getattr(identifier, "__name__", "metric"), identifier)
    raise ArgumentError(
        f"Could not interpret metric identifier: {identifier!r}. Use 'accuracy' "
        f"(or 'acc'), one of {sorted(_FUNCTIONS)}, or a function "
        "fn(y_true, y_pred) returning one value per sample."
    )
