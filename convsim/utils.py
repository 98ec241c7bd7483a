"""Small helpers with Keras's names: one-hot labels, seeding, clearing names.

``from convsim.utils import to_categorical`` replaces the seed's
``from tensorflow.keras.utils import to_categorical``.

Randomness in convsim (initial weights, shuffling, dropout) comes from one place,
:func:`make_rng`, so :func:`set_random_seed` makes a whole script repeatable:
two runs give identical weights and identical training histories.
"""

from __future__ import annotations

import numbers
import random

import numpy as np

__all__ = ["clear_session", "make_rng", "set_random_seed", "to_categorical"]

# The seed sequence every random thing in convsim spawns its generator from.
# None means "not seeded": fresh OS entropy each time, like Keras without a seed.
_seed_sequence: np.random.SeedSequence | None = None


def set_random_seed(seed: int) -> None:
    """Make everything random in convsim (and Python's and NumPy's global RNGs)
    repeatable, like ``keras.utils.set_random_seed``.

    Call it once at the top of a script, before building the model. The layers
    created afterwards draw their initial weights, ``fit`` draws its shuffling and
    ``Dropout`` its masks from generators spawned in a fixed order from ``seed``.

    >>> set_random_seed(1337)
    >>> a = make_rng().random()
    >>> set_random_seed(1337)
    >>> a == make_rng().random()
    True
    """
    global _seed_sequence
    if (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)
            or seed < 0):
        raise ValueError(
            "Expected `seed` argument to be a non-negative integer. "
            f"Received: seed={seed!r}"
        )
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _seed_sequence = np.random.SeedSequence(seed)


def make_rng(seed: int | None = None) -> np.random.Generator:
    """A new ``np.random.Generator``.

    With an explicit ``seed`` (a layer's ``seed=`` argument) the generator depends
    on it alone. Otherwise it is the next one spawned from
    :func:`set_random_seed`'s sequence, or fresh entropy if no seed was set.
    """
    if seed is not None:
        if (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)
                or seed < 0):
            raise ValueError(f"`seed` must be a non-negative integer or None. "
                             f"Received: seed={seed!r}")
        return np.random.default_rng(int(seed))
    if _seed_sequence is None:
        return np.random.default_rng()
    return np.random.default_rng(_seed_sequence.spawn(1)[0])


def clear_session() -> None:
    """Forget the automatic layer names handed out so far, like
    ``keras.backend.clear_session()``: the next Conv2D is ``conv2d`` again."""
    from convsim.layers import base

    base.reset_names()


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
            raise ValueError("`y` must hold whole-number class labels. Received "
                             f"non-integer values such as {labels.ravel()[:3]}")
    elif labels.dtype.kind not in "biu":
        raise TypeError(f"`y` must hold integer class labels. "
                        f"Received: y.dtype={labels.dtype}")
    shape = labels.shape
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    labels = labels.reshape(-1).astype(np.int64)
    if labels.size and labels.min() < 0:
        raise ValueError(f"Class labels must be >= 0. Received: {labels.min()}")
    if num_classes is None:
        num_classes = int(labels.max()) + 1 if labels.size else 0
    elif not isinstance(num_classes, numbers.Integral) or num_classes < 1:
        raise ValueError(f"`num_classes` must be a positive integer. "
                         f"Received: num_classes={num_classes!r}")
    if labels.size and labels.max() >= num_classes:
        raise ValueError(
            f"Class label {labels.max()} does not fit in num_classes={num_classes} "
            f"(labels must be 0 .. {num_classes - 1})."
        )
    out = np.zeros((labels.size, int(num_classes)), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out.reshape((*shape, int(num_classes)))
