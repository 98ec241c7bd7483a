"""Argument checks shared by ops, layers and the trainer.

Anything a user can get wrong is checked here, before it reaches a numba kernel,
so a mistake produces a sentence naming the argument, the rule and the value
received (Keras's wording), never a numba typing error or a crash.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable

import numpy as np

from convsim.errors import ArgumentError, WrongTypeError

PADDINGS = ("valid", "same")


def standardize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple:
    """Turn an int or an n-sequence of ints into an n-tuple of positive ints.

    >>> standardize_tuple(2, 2, "strides")
    (2, 2)
    >>> standardize_tuple((1, 0), 2, "strides")
    Traceback (most recent call last):
    ...
    convsim.errors.ArgumentError: The `strides` argument must be a tuple of 2 \
positive integers. Received: strides=(1, 0)
    """
    kind = "non-negative" if allow_zero else "positive"
    error = f"The `{name}` argument must be a tuple of {n} {kind} integers. "
    error += f"Received: {name}={value!r}"
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        values = tuple(value)
        if len(values) != n or not all(_is_int(v) for v in values):
            raise ArgumentError(error)
        values = tuple(int(v) for v in values)
    else:
        raise ArgumentError(error)
    lowest = 0 if allow_zero else 1
    if any(v < lowest for v in values):
        raise ArgumentError(error)
    return values


def positive_int(value, name: str, allow_zero: bool = False) -> int:
    """``value`` as an int, after checking it is a positive (or, with
    ``allow_zero``, non-negative) integer; ``True``/``False`` and floats are
    refused.

    >>> positive_int(64, "batch_size")
    64
    >>> positive_int(0, "epochs", allow_zero=True)
    0
    >>> positive_int(2.0, "batch_size")
    Traceback (most recent call last):
    ...
    convsim.errors.ArgumentError: `batch_size` must be a positive integer. \
Received: batch_size=2.0
    """
    lowest = 0 if allow_zero else 1
    if not _is_int(value) or value < lowest:
        kind = "non-negative" if allow_zero else "positive"
        raise ArgumentError(f"`{name}` must be a {kind} integer. "
                            f"Received: {name}={value!r}")
    return int(value)


def check_seed(seed, name: str = "seed") -> int | None:
    """A random seed: ``None`` (fresh randomness) or a non-negative integer.

    >>> check_seed(7)
    7
    >>> check_seed(-1)
    Traceback (most recent call last):
    ...
    convsim.errors.ArgumentError: `seed` must be None or a non-negative integer. \
Received: seed=-1
    """
    if seed is None:
        return None
    if not _is_int(seed) or seed < 0:
        raise ArgumentError(f"`{name}` must be None or a non-negative integer. "
                            f"Received: {name}={seed!r}")
    return int(seed)


def standardize_choice(value, allowed: tuple, name: str) -> str:
    """Check a string option (case-insensitive, like Keras) and lower-case it.

    >>> standardize_choice("SAME", PADDINGS, "padding")
    'same'
    """
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    choices = "{" + ", ".join(repr(a) for a in allowed) + "}"
    raise ArgumentError(f"`{name}` must be one of {choices}. Received: "
                        f"{name}={value!r}")


def standardize_data_format(data_format) -> None:
    """convsim is channels-last (NHWC) only, like Keras's default."""
    if data_format not in (None, "channels_last"):
        raise ArgumentError(
            "`data_format` must be 'channels_last' (or None): convsim stores images as "
            "(batch, height, width, channels). "
            f"Received: data_format={data_format!r}"
        )


def as_float32(x, name: str, ndim: int | None = None, what: str = "") -> np.ndarray:
    """A C-contiguous float32 copy/view of ``x``, after checking dtype and rank.

    Integers, booleans and floats are converted (uint8 pixels are common); strings,
    objects and complex numbers are refused because they have no sensible float32
    value.
    """
    if isinstance(x, np.ndarray):
        arr = x
    else:
        try:
            arr = np.asarray(x)
        except (ValueError, TypeError) as err:
            raise WrongTypeError(
                f"`{name}` must be a numeric array. Could not convert it: {err}"
            ) from None
    if arr.dtype.kind not in "biuf":
        raise WrongTypeError(
            f"`{name}` must have a real numeric dtype (bool, int, uint or float). "
            f"Received: {name}.dtype={arr.dtype}"
        )
    if ndim is not None and arr.ndim != ndim:
        raise ArgumentError(
            f"`{name}` must be a {ndim}D array{what}. "
            f"Received: {name}.shape={arr.shape}"
        )
    # Not np.ascontiguousarray: it turns a 0-d array (a scalar) into shape (1,),
    # so ``relu(3.0)`` would come back as ``[3.]``. ``order="C"`` keeps the rank.
    out = np.asarray(arr, dtype=np.float32, order="C")
    if not out.flags.writeable:
        # Numba compiles every kernel a second time (seconds each) for read-only
        # arrays (np.frombuffer, memory maps, a user's frozen array); a copy costs
        # far less. The kernels never write to their inputs either way.
        out = out.copy()
    return out


def shape_tuple(value, name: str) -> tuple:
    """A shape given by the user (``input_shape=(28, 28, 1)``): an int or a
    sequence of positive ints, ``None`` for a size left open.

    >>> shape_tuple((28, 28, 1), "input_shape")
    (28, 28, 1)
    """
    if isinstance(value, numbers.Integral):
        value = (value,)
    error = (f"`{name}` must be a tuple of positive integers (or None). "
             f"Received: {name}={value!r}")
    try:
        shape = tuple(None if v is None else int(v) for v in value)
    except (TypeError, ValueError):
        raise ArgumentError(error) from None
    if any(v is not None and v < 1 for v in shape):
        raise ArgumentError(error)
    return shape


def build_shape(input_shape) -> tuple:
    """``input_shape`` given to a layer's ``build``, checked, with ``None`` for
    the batch: ``(None, 28, 28, 1)``."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    if not shape or not all(v is None or (_is_int(v) and v >= 0) for v in shape):
        raise ArgumentError("`input_shape` must be a tuple (batch, ...) of "
                            "non-negative integers or None. Received: "
                            f"input_shape={input_shape!r}")
    return (None, *(None if v is None else int(v) for v in shape[1:]))


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
