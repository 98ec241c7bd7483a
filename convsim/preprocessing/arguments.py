"""Checks for the augmentation's arguments, worded like Keras's errors.

Each returns the cleaned value or raises :class:`~convsim.errors.ArgumentError`
naming the argument, the rule and what was received, before anything reaches
the warp kernel. Keras accepts any number here (and NaN, and 1e308, which end
in a crash or a raw NumPy error); convsim accepts every *finite* value that
still means something, up to these bounds:

* angles (``theta``, ``shear``, ``rotation_range``, ``shear_range``): at most
  :data:`MAX_DEGREES` = 1e6 degrees (2,777 turns; beyond, the angle modulo a
  turn loses its precision and means nothing);
* shifts in pixels (``tx``, ``ty``, ``width_shift_range`` and
  ``height_shift_range`` of 1 or more, their ints and lists): at most
  :data:`MAX_SHIFT` = 1e6 pixels (a fraction below 1 is a fraction of the
  image, as in Keras);
* zoom factors (``zx``, ``zy``, ``zoom_range``) and brightness factors
  (``brightness_range``): at most :data:`MAX_FACTOR` = 1000 (a picture
  shrunk 1000 times is one dot; a brightness factor of 255 already turns every
  pixel that is not black white);
* pixel values (``cval``, ``channel_shift_range``, ``rescale``): finite
  float32 numbers, at most 3.4e38 in size.

Within these, every sample position the warp computes for an image up to a
million pixels on a side stays below 1e10 pixels, well inside what
:func:`convsim.preprocessing.affine.warp_batch` accepts.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from convsim.errors import ArgumentError
from convsim.validation import standardize_choice

__all__ = ["DEGREES", "FILL_MODES", "MAX_DEGREES", "MAX_FACTOR", "MAX_SHIFT",
           "MAX_VALUE", "PIXELS", "brightness_range", "geometry", "number",
           "pixel_value", "shift_range", "shown", "standardize_fill_mode",
           "standardize_order", "zoom_range"]

FILL_MODES = ("constant", "nearest", "reflect", "wrap")
MAX_DEGREES = 1e6
MAX_SHIFT = 1e6
MAX_FACTOR = 1e3
MAX_VALUE = float(np.finfo(np.float32).max)

DEGREES, PIXELS = "a finite number of degrees", "a finite number of pixels"

#: The warp's parameters: (name, what it is, bound, value meaning "nothing").
_GEOMETRY = (("theta", DEGREES, MAX_DEGREES, 0.0),
             ("tx", PIXELS, MAX_SHIFT, 0.0),
             ("ty", PIXELS, MAX_SHIFT, 0.0),
             ("shear", DEGREES, MAX_DEGREES, 0.0),
             ("zx", "a finite zoom factor", MAX_FACTOR, 1.0),
             ("zy", "a finite zoom factor", MAX_FACTOR, 1.0))


def standardize_fill_mode(fill_mode) -> str:
    return standardize_choice(fill_mode, FILL_MODES, "fill_mode")


def standardize_order(order) -> int:
    if isinstance(order, numbers.Integral) and order in (0, 1):
        return int(order)
    raise ArgumentError("`interpolation_order` must be 0 (nearest pixel) or 1 "
                        f"(bilinear). Received: interpolation_order={shown(order)}")


def shown(value) -> str:
    """``repr(value)`` cut to 80 characters, for error messages (never raises:
    Python refuses to print an int of more than 4,300 digits)."""
    try:
        text = repr(value)
    except ValueError:
        return f"an int of about {int(value.bit_length() * 0.30103) + 1} digits"
    return text if len(text) <= 80 else text[:77] + "..."


def _real(value) -> float:
    """``float(value)`` for a real number that is not a bool, else NaN."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        try:
            return float(value)
        except (OverflowError, ValueError):  # an int or Fraction past 1.8e308
            return math.nan
    return math.nan


def number(value, name: str, low: float = 0.0, high: float = math.inf,
           what: str = "a finite number") -> float:
    """``value`` as a float, if it is a finite number in ``[low, high]``;
    ``what`` describes it in the error.

    >>> number(30, "rotation_range", high=MAX_DEGREES, what=DEGREES)
    30.0
    """
    v = _real(value)
    if math.isfinite(v) and low <= v <= high:
        return v
    if math.isinf(high):
        rule = f">= {low:g}"
    elif low == -high:
        rule = f"between -{high:g} and {high:g}"
    else:
        rule = f"between {low:g} and {high:g}"
    raise ArgumentError(f"`{name}` must be {what} {rule}. "
                        f"Received: {name}={shown(value)}")


def pixel_value(value, name: str, low: float = -MAX_VALUE) -> float:
    """A value in pixel units that float32 can hold (``cval``, a channel shift)."""
    return number(value, name, low, MAX_VALUE, "a finite float32 number")


def geometry(parameters: dict, name: str = "{}") -> tuple[float, ...]:
    """The warp's ``(theta, tx, ty, shear, zx, zy)``, each checked; keys missing
    from ``parameters`` mean no change. ``name`` formats each key for errors,
    e.g. ``"transform_parameters['{}']"``."""
    return tuple(
        number(parameters.get(key, default), name.format(key), -bound, bound, what)
        for key, what, bound, default in _GEOMETRY)


def shift_range(value, name: str):
    """A float (fraction below 1, pixels from 1), an int (whole pixels) or a
    1-D list of choices, each at most :data:`MAX_SHIFT` pixels."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(number(value, name, 0, MAX_SHIFT, PIXELS))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return number(value, name, 0, MAX_SHIFT, PIXELS)
    if isinstance(value, (list, tuple, np.ndarray)):
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):  # a ragged list
            arr = np.empty(0)
        if (arr.ndim == 1 and arr.size > 0 and arr.dtype.kind in "iuf"
                and np.all(np.abs(arr.astype(np.float64)) <= MAX_SHIFT)):
            return arr  # (NaN is not <= MAX_SHIFT)
    raise ArgumentError(f"`{name}` must be a float, an int or a 1-D list of "
                        f"finite numbers, each at most {MAX_SHIFT:g} pixels in size. "
                        f"Received: {name}={shown(value)}")


def zoom_range(value) -> tuple[float, float]:
    """Keras's float ``z`` (factors in ``[1 - z, 1 + z]``) or ``[low, high]``."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        z = number(value, "zoom_range")
        low, high = 1.0 - z, 1.0 + z
    elif ((isinstance(value, (list, tuple)) and len(value) == 2)
          or (isinstance(value, np.ndarray) and value.shape == (2,))):
        low, high = (number(v, "zoom_range") for v in value)
    else:
        raise ArgumentError("`zoom_range` should be a float or a tuple or list of "
                            f"two floats. Received: zoom_range={shown(value)}")
    if not 0 < low <= high <= MAX_FACTOR:
        raise ArgumentError("`zoom_range` must give zoom factors 0 < lower <= upper "
                            f"<= {MAX_FACTOR:g} (a float z means [1 - z, 1 + z], so "
                            f"z < 1). Received: zoom_range={shown(value)}")
    return low, high


def brightness_range(value) -> tuple[float, float] | None:
    """``None`` or two brightness factors ``0 <= low <= high <= MAX_FACTOR``."""
    if value is None:
        return None
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ArgumentError("`brightness_range should be tuple or list of two "
                            f"floats. Received: {shown(value)}")
    low, high = (number(v, "brightness_range", 0, MAX_FACTOR) for v in value)
    if low > high:
        raise ArgumentError("`brightness_range` must be (lower, upper) with lower "
                            f"<= upper. Received: brightness_range={shown(value)}")
    return low, high
