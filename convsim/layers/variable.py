"""``Variable``: one weight of a layer (a kernel, a bias) and its gradient.

A layer keeps its weights as Variables so that the optimizer, the model file
and the lessons all see the same array under the same name
(``conv2d/kernel``), and the backward pass leaves each weight's gradient
beside it in ``.grad``.
"""

from __future__ import annotations

import numpy as np

from convsim.errors import ArgumentError

__all__ = ["Variable"]


class Variable:
    """A weight array with a name, plus the gradient of the last backward pass.

    ``np.asarray(layer.kernel)`` and ``layer.kernel.numpy()`` give the values.
    """

    def __init__(self, value, name: str, path: str, trainable: bool = True):
        self._value = np.asarray(value, dtype=np.float32, order="C")  # 0-d stays 0-d
        self.name = name
        self.path = path
        self.trainable = trainable
        self.grad: np.ndarray | None = None

    @property
    def value(self) -> np.ndarray:
        return self._value

    @property
    def shape(self) -> tuple:
        return self._value.shape

    @property
    def dtype(self) -> str:
        return "float32"

    def numpy(self) -> np.ndarray:
        return self._value.copy()

    def assign(self, value) -> None:
        """Overwrite the values in place (the shape must match)."""
        arr = np.asarray(value, dtype=np.float32)
        if arr.shape != self._value.shape:
            raise ArgumentError(f"The variable {self.path!r} has shape "
                                f"{self._value.shape}; cannot assign a value of shape "
                                f"{arr.shape}.")
        self._value[...] = arr

    def __array__(self, dtype=None, copy=None):
        return self._value if dtype is None else self._value.astype(dtype)

    def __repr__(self):
        return f"<Variable path={self.path}, shape={self.shape}, dtype=float32>"
