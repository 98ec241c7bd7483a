"""Small helpers with Keras's names: one-hot labels, seeding, clearing names.

``from convsim.utils import to_categorical`` replaces your notes'
``from tensorflow.keras.utils import to_categorical``.

``set_random_seed`` and ``make_rng`` live in :mod:`convsim.random` (where every
random number in convsim comes from); they are here too under Keras's names.
"""

from __future__ import annotations

import numpy as np

from convsim.errors import ArgumentError, WrongTypeError
from convsim.layers.graph import reset_names
from convsim.random import set_random_seed
from convsim.validation import positive_int

__all__ = ["clear_session", "set_random_seed", "to_categorical"]


def clear_session() -> None:
    """Forget the automatic layer names handed out so far, like
    ``keras.backend.clear_session()``: the next Conv2D is ``conv2d`` again."""
    reset_names()


def to_categorical(y, num_classes: int | None = None, dtype="float32") -> np.ndarray:
    """Turn integer class labels into one-hot rows (Keras's ``to_categorical``).

    Args:
        y: integer labels, shape ``(n,)`` (or ``(n, 1)``, which is squeezed).
        num_classes: number of classes; default ``max(y) + 1``.
        dtype: dtype of the result (``float32`` like Keras).

    Returns:
        ``(n, num_classes)`` array with a single 1 per row.

    >>> to_categorical([0, 2, 1])
    array([[1., 0., 0.],
           [0., 0., 1.],
           [0., 1., 0.]], dtype=float32)
    """
    labels = np.asarray(y)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or np.any(labels != np.round(labels)):
            raise ArgumentError("`y` must hold whole-number class labels. Received "
                                f"non-integer values such as {labels.ravel()[:3]}")
    elif labels.dtype.kind not in "biu":
        raise WrongTypeError(f"`y` must hold integer class labels. "
                             f"Received: y.dtype={labels.dtype}")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1).astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ArgumentError(f"Class labels must be >= 0. Received: {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    else:
        num_classes = positive_int(num_classes, "num_classes")
    if labels.size and labels.max() >= num_classes:
        raise ArgumentError(
            f"Class label {labels.max()} does not fit in num_classes={num_classes} "
            f"(labels must be 0 .. {num_classes - 1})."
        )
    out = np.zeros((labels.size, int(num_classes)), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out.reshape((*shape, int(num_classes)))
