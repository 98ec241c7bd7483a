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
from convsim.validation import (
    binary_labels,
    check_float,
    output_array,
    probability_rows,
    sparse_targets,
    targets_like,
    unknown_identifier,
)

__all__ = ["Metric", "binary_accuracy", "categorical_accuracy", "get",
           "sparse_categorical_accuracy"]


class Metric(NamedTuple):
    """A metric's display ``name`` and ``fn(y_true, y_pred) -> per-sample values``."""

    name: str
    fn: object


def binary_accuracy(y_true, y_pred, threshold=0.5) -> np.ndarray:
    """``(y_pred > threshold) == y_true``, averaged over each sample's values.

    Labels must be in ``[0, 1]``, as for ``binary_crossentropy``; as in Keras a
    soft label (0.9) never equals a 0/1 prediction. Keras counts a label 2 as a
    miss without a word; convsim refuses it.
    """
    y_pred = output_array(y_pred)
    threshold = check_float(threshold, "threshold")
    t = _labels("binary_accuracy", binary_labels,
                lambda: targets_like(y_true, y_pred.shape))
    return _per_sample((y_pred > threshold).astype(np.float32) == t)


def categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """``argmax(y_pred) == argmax(y_true)``; ``y_true`` one-hot or soft rows, as
    for ``categorical_crossentropy`` (Keras takes the argmax of any numbers)."""
    y_pred = output_array(y_pred)
    t = _labels("categorical_accuracy", probability_rows,
                lambda: targets_like(y_true, y_pred.shape))
    return _per_sample(np.argmax(t, axis=-1) == np.argmax(y_pred, axis=-1))


def sparse_categorical_accuracy(y_true, y_pred) -> np.ndarray:
    """``argmax(y_pred) == y_true`` for class indices: whole numbers in
    ``[0, classes)``. Keras counts a label 2.7 or NaN as a miss without a word;
    convsim refuses it."""
    y_pred = output_array(y_pred)
    labels = _labels("sparse_categorical_accuracy", lambda t: t,
                     lambda: sparse_targets(y_true, y_pred.shape))
    return _per_sample(labels == np.argmax(y_pred, axis=-1))


def _labels(metric, check, shaped):
    """Checked labels; an error says which metric read them (with ``'accuracy'``
    convsim chooses it, so the name may be news)."""
    try:
        return check(shaped())
    except ArgumentError as err:
        raise ArgumentError(f"{err} (Raised by the metric {metric}.)") from None


def _per_sample(hits) -> np.ndarray:
    """The mean of each sample's hits (over every axis but the batch)."""
    hits = np.asarray(hits, np.float32)
    return hits.mean(axis=tuple(range(1, hits.ndim))) if hits.ndim > 1 else hits


def _auto_accuracy(loss_name):
    if loss_name == "binary_crossentropy":
        return binary_accuracy
    if loss_name == "sparse_categorical_crossentropy":
        return sparse_categorical_accuracy

    def accuracy(y_true, y_pred):
        if output_array(y_pred).shape[-1] == 1:
            return binary_accuracy(y_true, y_pred)
        return categorical_accuracy(y_true, y_pred)

    return accuracy


_FUNCTIONS = {
    "binary_accuracy": binary_accuracy,
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
}
# Keras metrics convsim does not have: named as such, not "Did you mean" another.
_KERAS_ONLY = ("auc", "binary_crossentropy", "categorical_crossentropy",
               "f1_score", "mae", "mean_absolute_error", "mean_squared_error",
               "mse", "precision", "recall", "sparse_categorical_crossentropy",
               "sparse_top_k_categorical_accuracy", "top_k_categorical_accuracy")


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
    raise unknown_identifier(
        "metric", identifier, ["accuracy", "acc", *_FUNCTIONS],
        f"Use 'accuracy' (or 'acc'), one of {sorted(_FUNCTIONS)}, or a function "
        "fn(y_true, y_pred) returning one value per sample.", keras_only=_KERAS_ONLY)
