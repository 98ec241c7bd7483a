"""Checks for ImageDataGenerator's arguments, worded like Keras's errors.

Each returns the cleaned value or raises ``ValueError`` naming the argument,
the rule and what was received, before anything reaches the warp kernel.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from convsim.errors import ArgumentError
from convsim.validation import standardize_choice

__all__ = ["FILL_MODES", "number", "shift_range", "standardize_fill_mode",
           "standardize_order", "zoom_range"]

FILL_MODES = ("constant", "nearest", "reflect", "wrap")


def standardize_fill_mode(fill_mode) -> str:
    return standardize_choice(fill_mode, FILL_MODES, "fill_mode")


def standardize_order(order) -> int:
    if isinstance(order, numbers.Integral) and order in (0, 1):
        return int(order)
    raise ArgumentError("`interpolation_order` must be 0 (nearest pixel) or 1 "
                        f"(bilinear). Received: interpolation_order={order!r}")


def number(value, name: str, low: float = 0.0) -> float:
    if (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value >= low):
        return float(value)
    raise ArgumentError(f"`{name}` must be a finite number >= {low:g}. "
                        f"Received: {name}={value!r}")


def shift_range(value, name: str):
    """A float (fraction or pixels), an int (whole pixels) or a list of choices."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(number(value, name))
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return number(value, name)
    if isinstance(value, (list, tuple, np.ndarray)) and len(value) > 0:
        arr = np.asarray(value)
        if arr.ndim == 1 and arr.dtype.kind in "iuf" and np.all(np.isfinite(arr)):
            return arr
    raise ArgumentError(f"`{name}` must be a float, an int or a 1-D list of "
                        f"numbers. Received: {name}={value!r}")


def zoom_range(value) -> tuple[float, float]:
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        z = number(value, "zoom_range")
        low, high = 1.0 - z, 1.0 + z
    elif isinstance(value, (list, tuple, np.ndarray)) and len(value) == 2:
        low, high = (number(v, "zoom_range") for v in value)
    else:
        raise ArgumentError("`zoom_range` should be a float or a tuple or list of "
                            f"two floats. Received: zoom_range={value!r}")
    if not 0 < low <= high:
        raise ArgumentError("`zoom_range` must give 0 < lower <= upper zoom factors "
                            f"(a float z means [1 - z, 1 + z], so z < 1). "
                            f"Received: zoom_range={value!r}")
    return low, high
