"""Checks of arguments: sizes, strides, choices, names, flags, arrays, shapes.

Anything a user can get wrong is checked here, before it reaches a numba kernel,
so a mistake produces a sentence naming the argument, the rule and the value
received (Keras's wording), never a numba typing error or a crash. A misspelt
name gets a suggestion (:func:`did_you_mean`).
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from collections.abc import Iterable

import numpy as np

from convsim.errors import ArgumentError, WrongTypeError

PADDINGS = ("valid", "same")

#: The largest size, step or count convsim accepts: 2**31 - 1. The kernels
#: compute positions such as ``out * stride + tap * dilation`` in 64-bit
#: integers, and Numba checks neither their overflow nor the indices they make;
#: with every factor below 2**31 no such product can overflow. (A Python int of
#: 2**64 would not even reach a kernel: Numba stops it with a typing error.) No
#: image, window or layer needs more.
MAX_SIZE = 2**31 - 1
_AT_MOST = (f"at most {MAX_SIZE} (2**31 - 1: convsim's kernels index in 64-bit "
            "integers without overflow checks, and below 2**31 none can overflow)")


def standardize_tuple(value, n: int, name: str, allow_zero: bool = False) -> tuple:
    """Turn an int or an n-sequence of ints into an n-tuple of positive ints,
    each at most :data:`MAX_SIZE`.

    >>> standardize_tuple(2, 2, "strides")
    (2, 2)
    >>> standardize_tuple((1, 0), 2, "strides")
    Traceback (most recent call last):
    ...
    convsim.errors.ArgumentError: The `strides` argument must be a tuple of 2 \
positive integers. Received: strides=(1, 0)
    """
    kind = "non-negative" if allow_zero else "positive"
    rule = f"The `{name}` argument must be a tuple of {n} {kind} integers"
    received = f"Received: {name}={value!r}"
    if _is_int(value):
        values = (int(value),) * n
    elif isinstance(value, Iterable) and not isinstance(value, (str, bytes)):
        values = tuple(value)
        if len(values) != n or not all(_is_int(v) for v in values):
            raise ArgumentError(f"{rule}. {received}")
        values = tuple(int(v) for v in values)
    else:
        raise ArgumentError(f"{rule}. {received}")
    if any(v < (0 if allow_zero else 1) for v in values):
        raise ArgumentError(f"{rule}. {received}")
    if any(v > MAX_SIZE for v in values):
        raise ArgumentError(f"{rule}, each {_AT_MOST}. {received}")
    return values


def positive_int(value, name: str, allow_zero: bool = False) -> int:
    """``value`` as an int, after checking it is a positive (or, with
    ``allow_zero``, non-negative) integer of at most :data:`MAX_SIZE`;
    ``True``/``False`` and floats are refused.

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
    kind = "non-negative" if allow_zero else "positive"
    if not _is_int(value) or value < (0 if allow_zero else 1):
        raise ArgumentError(f"`{name}` must be a {kind} integer. "
                            f"Received: {name}={value!r}")
    if value > MAX_SIZE:
        raise ArgumentError(f"`{name}` must be a {kind} integer {_AT_MOST}. "
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


def check_bool(value, name: str) -> bool:
    """``True`` or ``False`` (NumPy's too, and 1/0). A string is refused: Python
    reads ``use_bias='False'`` as true, the opposite of what was meant.

    >>> check_bool(np.True_, "use_bias")
    True
    """
    if isinstance(value, (bool, np.bool_)) or (_is_int(value) and value in (0, 1)):
        return bool(value)
    raise WrongTypeError(f"`{name}` must be True or False. Received: {name}={value!r}")


def check_float(value, name: str, low=None, high=None, *, low_open=False,
                high_open=False) -> float:
    """A finite real number (not a bool), optionally within ``[low, high]``
    (``low_open``/``high_open`` exclude the end).

    >>> check_float(0.1, "label_smoothing", 0, 1)
    0.1
    >>> check_float(float("nan"), "rate", 0, 1, high_open=True)
    Traceback (most recent call last):
    ...
    convsim.errors.ArgumentError: `rate` must be a finite number in [0, 1). \
Received: rate=nan
    """
    if low is not None and high is not None:
        rule = f" in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    elif low is not None:
        rule = f" {'>' if low_open else '>='} {low}"
    else:
        rule = ""
    message = f"`{name}` must be a finite number{rule}. Received: {name}={value!r}"
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise WrongTypeError(message)
    number = float(value)
    too_low = low is not None and (number <= low if low_open else number < low)
    too_high = high is not None and (number >= high if high_open else number > high)
    if not math.isfinite(number) or too_low or too_high:
        raise ArgumentError(message)
    return number


def check_axis(axis, ndim: int, shape: tuple) -> int:
    """An axis of an array of ``shape``: an integer in ``[-ndim, ndim - 1]``."""
    if not _is_int(axis) or not -ndim <= axis < ndim:
        raise ArgumentError(f"`axis` must be an integer in [-{ndim}, {ndim - 1}] for "
                            f"an array of shape {shape}. Received: axis={axis!r}")
    return int(axis)


# ---------------------------------------------------------------- names


def did_you_mean(value, choices) -> str:
    """``" Did you mean 'same'?"`` when ``value`` is a string close to one of
    ``choices`` (difflib's similarity, ignoring case), else ``""``.

    >>> did_you_mean("smae", PADDINGS)
    " Did you mean 'same'?"
    """
    if not isinstance(value, str):
        return ""
    by_lower = {str(choice).lower(): choice for choice in choices}
    close = difflib.get_close_matches(value.lower(), list(by_lower), n=1)
    return f" Did you mean {by_lower[close[0]]!r}?" if close else ""


def standardize_choice(value, allowed: tuple, name: str) -> str:
    """Check a string option (case-insensitive, like Keras) and lower-case it.

    >>> standardize_choice("SAME", PADDINGS, "padding")
    'same'
    >>> standardize_choice("smae", PADDINGS, "padding")
    Traceback (most recent call last):
    ...
    convsim.errors.ArgumentError: `padding` must be one of {'valid', 'same'}. \
Received: padding='smae'. Did you mean 'same'?
    """
    if isinstance(value, str) and value.lower() in allowed:
        return value.lower()
    choices = "{" + ", ".join(repr(a) for a in allowed) + "}"
    suggestion = did_you_mean(value, allowed)
    raise ArgumentError(f"`{name}` must be one of {choices}. Received: "
                        f"{name}={value!r}" + (f".{suggestion}" if suggestion else ""))


def unknown_identifier(kind: str, identifier, names, use: str,
                       keras_only=()) -> ArgumentError:
    """The error a ``get()`` raises for a name it does not know: Keras's first
    sentence, then a suggestion (or, for a Keras name convsim does not have,
    that it is not implemented), then ``use``, what is accepted."""
    message = f"Could not interpret {kind} identifier: {identifier!r}."
    if isinstance(identifier, str) and identifier.lower() in keras_only:
        message += f" Keras has {identifier!r}; convsim does not implement it."
    else:
        message += did_you_mean(identifier, names)
    return ArgumentError(f"{message} {use}")


def construct(cls, config):
    """``cls(**config)``, after checking ``config`` is a dict of arguments
    ``cls``'s constructor takes; the constructor then checks their values, so
    a config read from a file gets the same checks and messages as arguments
    typed by hand (``from_config`` of layers and optimizers)."""
    try:
        inspect.signature(cls.__init__).bind(None, **config)
    except TypeError as err:
        why = f" ({err})" if isinstance(config, dict) else ""
        raise WrongTypeError(f"The config of a {cls.__name__} must be a dict of "
                             f"its arguments{why}. Received: "
                             f"config={repr(config):.200}") from None
    return cls(**config)


def from_config_dict(identifier: dict, classes: dict, kind: str, use: str):
    """An object from ``{"class_name": ..., "config": {...}}`` (Keras's
    serialised form): the class must be one of ``classes`` and the config a
    dict of its constructor's arguments, which then check their values."""
    name = identifier.get("class_name")
    if not isinstance(name, str) or name not in classes:
        raise unknown_identifier(kind, identifier, [], use)
    config = identifier.get("config", {})
    if not isinstance(config, dict):
        raise WrongTypeError(f"The config of a {name} must be a dict of its "
                             f"arguments. Received: config={config!r}")
    cls = classes[name]
    accepted = inspect.signature(cls.__init__).parameters
    open_ended = any(p.kind is p.VAR_KEYWORD for p in accepted.values())
    unknown = {k: v for k, v in config.items() if k not in accepted or k == "self"}
    if unknown and not open_ended:
        raise WrongTypeError(f"Unrecognized keyword arguments passed to {name}: "
                             f"{unknown}")
    return cls.from_config(config)


def standardize_data_format(data_format) -> None:
    """convsim is channels-last (NHWC) only, like Keras's default."""
    if data_format not in (None, "channels_last"):
        raise ArgumentError(
            "`data_format` must be 'channels_last' (or None): convsim stores images as "
            "(batch, height, width, channels). "
            f"Received: data_format={data_format!r}"
        )


# ---------------------------------------------------------------- arrays


def numeric_array(x, name: str) -> np.ndarray:
    """``x`` as a NumPy array of a real numeric dtype (bool, int, uint, float);
    strings, objects and complex numbers have no sensible float32 value."""
    try:
        arr = x if isinstance(x, np.ndarray) else np.asarray(x)
    except (ValueError, TypeError) as err:
        raise WrongTypeError(
            f"`{name}` must be a numeric array. Could not convert it: {err}"
        ) from None
    if arr.dtype.kind not in "biuf":
        raise WrongTypeError(
            f"`{name}` must have a real numeric dtype (bool, int, uint or float). "
            f"Received: {name}.dtype={arr.dtype}"
        )
    return arr


def as_float32(x, name: str, ndim: int | None = None, what: str = "",
               min_ndim: int = 0) -> np.ndarray:
    """A C-contiguous float32 copy/view of ``x``, after checking dtype and rank
    (exactly ``ndim``, or at least ``min_ndim``)."""
    arr = numeric_array(x, name)
    if (ndim is not None and arr.ndim != ndim) or arr.ndim < min_ndim:
        rank = (f"a {ndim}D array" if ndim is not None
                else f"at least {min_ndim}D")
        raise ArgumentError(f"`{name}` must be {rank}{what}. "
                            f"Received: {name}.shape={arr.shape}")
    # Not np.ascontiguousarray: it turns a 0-d array (a scalar) into shape (1,),
    # so ``relu(3.0)`` would come back as ``[3.]``. ``order="C"`` keeps the rank.
    # A finite value past float32's range (3.4e38) would silently become inf:
    # refused instead (the check is the cast itself: nothing extra to compute).
    with np.errstate(over="raise"):
        try:
            out = np.asarray(arr, dtype=np.float32, order="C")
        except FloatingPointError:
            raise ArgumentError(
                f"`{name}` holds values beyond float32's range (about 3.4e38), "
                "where convsim computes; they would become infinite. Received: "
                f"largest magnitude {np.nanmax(np.abs(arr[np.isfinite(arr)])):.3g}"
            ) from None
    if not out.flags.writeable:
        # Numba compiles every kernel a second time (seconds each) for read-only
        # arrays (np.frombuffer, memory maps, a user's frozen array); a copy costs
        # far less. The kernels never write to their inputs either way.
        out = out.copy()
    return out


def shape_tuple(value, name: str) -> tuple:
    """A shape given by the user (``input_shape=(28, 28, 1)``): an int or a
    sequence of positive ints of at most :data:`MAX_SIZE`, ``None`` for a size
    left open. Floats, bools and strings are refused (``28.5`` is no size).

    >>> shape_tuple((28, 28, 1), "input_shape")
    (28, 28, 1)
    """
    if isinstance(value, numbers.Integral):
        value = (value,)
    rule = f"`{name}` must be a tuple of positive integers (or None)"
    received = f"Received: {name}={value!r}"
    if not isinstance(value, Iterable) or isinstance(value, (str, bytes)):
        raise ArgumentError(f"{rule}. {received}")
    shape = tuple(value)
    if not all(v is None or (_is_int(v) and v >= 1) for v in shape):
        raise ArgumentError(f"{rule}. {received}")
    if any(v is not None and v > MAX_SIZE for v in shape):
        raise ArgumentError(f"{rule}, each {_AT_MOST}. {received}")
    return tuple(None if v is None else int(v) for v in shape)


def build_shape(input_shape) -> tuple:
    """``input_shape`` given to a layer's ``build``, checked, with ``None`` for
    the batch: ``(None, 28, 28, 1)``."""
    shape = tuple(input_shape) if isinstance(input_shape, (tuple, list)) else ()
    rule = ("`input_shape` must be a tuple (batch, ...) of non-negative integers "
            "or None")
    received = f"Received: input_shape={input_shape!r}"
    if not shape or not all(v is None or (_is_int(v) and v >= 0) for v in shape):
        raise ArgumentError(f"{rule}. {received}")
    if any(v is not None and v > MAX_SIZE for v in shape[1:]):
        raise ArgumentError(f"{rule}, each {_AT_MOST}. {received}")
    return (None, *(None if v is None else int(v) for v in shape[1:]))


def weight_shape(shape, name: str = "shape") -> tuple:
    """The shape of a weight to create: non-negative ints holding at most
    :data:`MAX_SIZE` numbers in all (8 GiB of float32), so a typo such as
    ``Dense(10**9)`` is refused before NumPy tries to allocate terabytes."""
    values = (shape,) if _is_int(shape) else shape
    ok = isinstance(values, Iterable) and not isinstance(values, (str, bytes))
    values = tuple(values) if ok else ()
    if not ok or not all(_is_int(v) and v >= 0 for v in values):
        raise ArgumentError(f"`{name}` must be a tuple of non-negative integers. "
                            f"Received: {name}={shape!r}")
    values = tuple(int(v) for v in values)
    if math.prod(values) > MAX_SIZE:
        raise ArgumentError(
            f"A weight of shape {values} would hold {math.prod(values):,} numbers; "
            f"convsim creates weights of at most {MAX_SIZE:,} numbers (2**31 - 1, "
            "8 GiB of float32, more than a CPU can train). Check the layer's units, "
            f"filters or kernel_size. Received: {name}={shape!r}"
        )
    return values


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)
