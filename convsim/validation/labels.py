"""Checks of labels and targets: only what a loss (or an accuracy) can learn from.

Each loss reads its labels in its own way, so each has its own rule:

* sparse categorical: class indices, whole numbers in ``[0, classes)``
  (:func:`sparse_labels`);
* binary: numbers in ``[0, 1]``, 0 or 1 or a soft label between
  (:func:`binary_labels`);
* categorical: rows of probabilities, ``>= 0`` and summing to 1, one-hot or soft
  (:func:`probability_rows`);
* mean squared error: finite numbers (:func:`finite_values`).

Keras 3 checks none of these values (keras/src/losses/losses.py casts
``y_true`` to the output's dtype and computes; keras/src/backend/*/nn.py casts
sparse labels to integers). So in Keras a sparse label 2.7 trains as class 2,
NaN becomes a meaningless index (the TensorFlow backend refuses it on CPU with
"Received a label value of -2147483648", the NumPy and JAX backends silently
count it as loss 0), a binary label 2 gives a loss that falls below 0 and pulls
the prediction to the clip bound instead of the label, and a categorical row
``[1, 1, 0]`` is a cross-entropy of nothing. convsim refuses each of these with
a message saying where the bad label is, because a learner is better served by
an error than by a model that trains on nonsense.
"""

from __future__ import annotations

import numpy as np

from convsim.errors import ArgumentError
from convsim.validation.arguments import as_float32, numeric_array

_KERAS_SILENT = "Keras would train on it without a word; convsim refuses it."


def output_array(y_pred, name: str = "y_pred") -> np.ndarray:
    """A model's output as float32: at least ``(batch,)``, and at least one
    value per sample (an empty class axis has no loss)."""
    out = as_float32(y_pred, name, what=" (batch, ...)", min_ndim=1)
    if 0 in out.shape[1:]:
        raise ArgumentError(f"`{name}` must have at least one value per sample. "
                            f"Received: {name}.shape={out.shape}")
    return out


def targets_like(y_true, output_shape: tuple, hint: str = "") -> np.ndarray:
    """``y_true`` as a numeric array of ``output_shape``; ``(batch,)`` labels are
    accepted for ``(batch, 1)`` outputs, as in Keras."""
    t = numeric_array(y_true, "y_true")
    if t.shape != tuple(output_shape):
        if t.size == int(np.prod(output_shape)) and t.shape[:1] == output_shape[:1]:
            return t.reshape(output_shape)
        raise ArgumentError(
            f"Arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={t.shape}, output.shape={tuple(output_shape)}.{hint}"
        )
    return t


def sparse_targets(y_true, output_shape: tuple, hint: str = "") -> np.ndarray:
    """Sparse labels shaped like the output without its class axis (a trailing
    axis of 1 is dropped, as in Keras), then checked by :func:`sparse_labels`."""
    labels = numeric_array(y_true, "y_true")
    if labels.ndim == len(output_shape) and labels.shape[-1:] == (1,):
        labels = labels[..., 0]
    if labels.shape != tuple(output_shape[:-1]):
        raise ArgumentError(
            f"Sparse labels must have one integer per sample, shape "
            f"{tuple(output_shape[:-1])}. Received: y_true.shape={labels.shape} for "
            f"y_pred.shape={tuple(output_shape)}.{hint}"
        )
    return sparse_labels(labels, output_shape[-1])


def sparse_labels(labels, classes: int, name: str = "y_true") -> np.ndarray:
    """Class indices as int64, after checking each is a whole number in
    ``[0, classes)``.

    Keras casts labels to integers, so ``2.7`` trains as class 2 and NaN as
    whatever integer the cast makes; convsim refuses both.

    >>> sparse_labels([2.0, 0.0], 3)
    array([2, 0])
    >>> sparse_labels([2.7, 0.0], 3)
    Traceback (most recent call last):
    ...
    convsim.errors.ArgumentError: Sparse labels must be whole numbers in [0, 3), \
one class index per sample. Received: y_true[0]=2.7. Keras would cast it to an \
integer without a word (2.7 trains as class 2, NaN as a meaningless index); \
convsim refuses it.
    """
    arr = numeric_array(labels, name)
    if arr.dtype.kind == "f":
        with np.errstate(invalid="ignore"):
            not_whole = ~np.isfinite(arr) | (arr != np.floor(arr))
        if not_whole.any():
            raise ArgumentError(
                f"Sparse labels must be whole numbers in [0, {classes}), one class "
                f"index per sample. Received: {_first(arr, not_whole, name)}. Keras "
                "would cast it to an integer without a word (2.7 trains as class 2, "
                "NaN as a meaningless index); convsim refuses it."
            )
    outside = (arr < 0) | (arr >= classes)
    if outside.any():
        bad = arr[tuple(np.argwhere(outside)[0])]
        raise ArgumentError(
            f"Received a label value of {bad} which is outside the valid range of "
            f"[0, {classes}). Sparse labels are class indices: "
            f"{_first(arr, outside, name)}."
        )
    return arr.astype(np.int64)


def binary_labels(labels, name: str = "y_true") -> np.ndarray:
    """float32 labels, after checking each is in ``[0, 1]``: 0 or 1, or a soft
    label between (label smoothing makes 0.05 and 0.95).

    Keras accepts any number; a label 2 gives ``-(2 log p - log(1 - p))``, which
    goes below 0 and is smallest at the clip bound, not at the label.

    >>> binary_labels([[2.0]])
    Traceback (most recent call last):
    ...
    convsim.errors.ArgumentError: Binary labels must be numbers in [0, 1]: 0 or 1, \
or a probability between (a soft label). Received: y_true[0, 0]=2.0. Keras would \
train on it without a word; convsim refuses it.
    """
    arr = numeric_array(labels, name)
    with np.errstate(invalid="ignore"):
        bad = ~((arr >= 0) & (arr <= 1))  # NaN fails both comparisons
    if bad.any():
        raise ArgumentError(
            "Binary labels must be numbers in [0, 1]: 0 or 1, or a probability "
            f"between (a soft label). Received: {_first(arr, bad, name)}. "
            + _KERAS_SILENT
        )
    return arr.astype(np.float32)


def probability_rows(labels, name: str = "y_true", hint: str = "") -> np.ndarray:
    """float32 labels, after checking each row (the last axis) is a probability
    distribution: values ``>= 0`` summing to 1.

    One-hot rows (``to_categorical``) and soft labels (label smoothing makes
    ``[0.033, 0.933, 0.033]``) are both fine: Keras accepts soft labels and so
    does convsim. What cannot be a distribution is refused: a negative value,
    NaN or infinity, a row like ``[1, 1, 0]``. A row may miss 1 by the rounding
    of its float type: ``max(classes, 8)`` times its machine epsilon (float32's
    at least, 1.2e-7), enough for rows summed in float32 by any route.

    >>> probability_rows([[0.05, 0.9, 0.05]])
    array([[0.05, 0.9 , 0.05]], dtype=float32)
    """
    arr = numeric_array(labels, name)
    rule = ("Categorical labels must be probabilities: values >= 0 summing to 1 in "
            "each row (one-hot rows from to_categorical, or soft labels such as "
            "label_smoothing makes)")
    with np.errstate(invalid="ignore"):
        bad = ~(np.isfinite(arr) & (arr >= 0))
    if bad.any():
        raise ArgumentError(f"{rule}. Received: {_first(arr, bad, name)}. "
                            f"{_KERAS_SILENT}{hint}")
    if arr.size == 0:
        return arr.astype(np.float32)
    eps = np.finfo(arr.dtype).eps if arr.dtype.kind == "f" else 0.0
    tolerance = max(arr.shape[-1], 8) * max(eps, np.finfo(np.float32).eps)
    sums = arr.sum(axis=-1, dtype=np.float64)
    off = np.abs(sums - 1.0) > tolerance
    if off.any():
        row = tuple(int(i) for i in np.argwhere(off)[0])
        where = f"{name}[{', '.join(map(str, row))}]" if row else name
        raise ArgumentError(f"{rule}. Received: row {where} sums to {sums[row]:.7g}. "
                            f"{_KERAS_SILENT}{hint}")
    return arr.astype(np.float32)


def finite_values(values, name: str = "y_true") -> np.ndarray:
    """float32 targets, after checking none is NaN or infinite: one such target
    makes the loss NaN and, after one step, every weight."""
    arr = numeric_array(values, name)
    bad = ~np.isfinite(arr)
    if bad.any():
        raise ArgumentError(
            f"`{name}` must hold finite numbers: a NaN or infinite target makes the "
            f"loss, and after one step every weight, NaN. Received: "
            f"{_first(arr, bad, name)}. " + _KERAS_SILENT
        )
    return arr.astype(np.float32)


def _first(arr: np.ndarray, bad: np.ndarray, name: str) -> str:
    """``"y_true[1, 0]=nan"``: where the first bad value is, and what it is."""
    if arr.ndim == 0:
        return f"{name}={arr}"
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return f"{name}[{', '.join(map(str, index))}]={arr[index]}"
