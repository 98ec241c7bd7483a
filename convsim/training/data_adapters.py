"""Turn what ``fit``/``evaluate``/``predict`` receive into batches.

Arrays are cut into batches (shuffled each epoch when asked; ``uint8`` images
are converted batch by batch, never all at once). Iterators, such as the
book's ``flow_from_directory``, already yield ``(x_batch, y_batch)``; Keras-style
iterators are infinite, so an epoch takes ``steps`` batches from them.
"""

from __future__ import annotations

import numpy as np

from convsim.errors import ArgumentError, WrongTypeError

__all__ = ["array_batches", "iterator_batches", "split_validation",
           "standardize_arrays", "unpack_batch"]


def standardize_arrays(x, y):
    """Check that ``x`` (and ``y``) are arrays with one row per sample."""
    if isinstance(x, (list, tuple)) and len(x) == 1 and isinstance(x[0], np.ndarray):
        x = x[0]
    if x is None:
        raise ArgumentError("No input data: pass `x` (an array, or an iterator of "
                            "(x, y) batches).")
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise WrongTypeError(f"`x` must be numeric. Received: x.dtype={x.dtype}")
    if x.ndim == 0:
        raise ArgumentError("`x` must have a batch axis. Received a scalar.")
    if y is not None:
        y = np.asarray(y)
        if y.ndim == 0 or len(y) != len(x):
            raise ArgumentError(
                "Data cardinality is ambiguous. Make sure all arrays contain the "
                f"same number of samples. Received: x sizes: {len(x)}, "
                f"y sizes: {len(y) if y.ndim else 'a scalar'}"
            )
    return x, y


def split_validation(x, y, validation_split):
    """Keras's rule: the *last* ``validation_split`` fraction, before shuffling."""
    if not 0.0 < float(validation_split) < 1.0:
        raise ArgumentError(f"`validation_split` must be between 0 and 1. "
                            f"Received: validation_split={validation_split!r}")
    cut = int(len(x) * (1.0 - float(validation_split)))
    if cut == 0 or cut == len(x):
        raise ArgumentError(f"validation_split={validation_split} leaves no samples on "
                            f"one side of the split ({len(x)} samples).")
    return x[:cut], y[:cut], (x[cut:], y[cut:])


def array_batches(x, y, batch_size, order, steps, start=0):
    """Batches ``start`` to ``steps - 1`` of ``(x, y)``: consecutive rows, or
    the rows ``order`` (a permutation, drawn once per epoch) lists.

    Starting at ``start`` is how a resumed ``fit`` continues in the middle of
    an epoch: same permutation, the first ``start`` batches left out.
    """
    for i in range(start, steps):
        if order is None:
            sl = slice(i * batch_size, (i + 1) * batch_size)
            xb, yb = x[sl], (None if y is None else y[sl])
        else:
            idx = np.sort(order[i * batch_size:(i + 1) * batch_size])
            xb, yb = x[idx], (None if y is None else y[idx])
        yield _floats(xb), yb


def iterator_batches(it, steps, need_y=True, start=0):
    """Batches ``start`` to ``steps - 1`` of an epoch from an iterator (all it
    has if ``steps`` is None).

    Objects with ``__getitem__`` and ``__len__`` but no ``__next__`` (like
    ``keras.utils.Sequence``) are indexed ``start, start + 1, ...``; an
    iterator simply gives its next batches (a resumed ``fit`` moves it on
    with its ``skip`` method first).
    """
    if hasattr(it, "__next__"):
        source = it
    elif hasattr(it, "__getitem__") and hasattr(it, "__len__"):
        source = (it[i % len(it)] for i in range(start, steps if steps else len(it)))
    else:
        source = iter(it)
    count = start
    while steps is None or count < steps:
        try:
            batch = next(source)
        except StopIteration:
            return
        yield unpack_batch(batch, need_y)
        count += 1


def unpack_batch(batch, need_y=True):
    """``(x, y)`` from a batch; ``x`` alone is allowed when labels are not needed."""
    if isinstance(batch, (tuple, list)):
        if len(batch) == 2:
            x, y = batch
        elif len(batch) == 3:
            raise ArgumentError("Batches with sample weights (x, y, sample_weight) "
                                "are not supported yet.")
        elif len(batch) == 1 and not need_y:
            x, y = batch[0], None
        else:
            raise ArgumentError(f"A batch must be a tuple (x, y). Received a "
                                f"{type(batch).__name__} of length {len(batch)}.")
    elif not need_y:
        x, y = batch, None
    else:
        raise ArgumentError(f"Training batches must be tuples (x, y). Received: "
                            f"{type(batch).__name__}")
    x = np.asarray(x)
    if y is not None:
        y = np.asarray(y)
        if len(y) != len(x):
            raise ArgumentError(f"A batch has {len(x)} inputs but {len(y)} labels.")
    return _floats(x), y


def _floats(x):
    return np.ascontiguousarray(x, dtype=np.float32)
