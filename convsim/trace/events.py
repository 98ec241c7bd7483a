"""Events of a traced forward pass: frozen records built on demand by convsim.trace.

Each event holds *views* into the padded input and the kernel, plus the
numbers the kernel wrote; the products and sums are computed only when a
lesson asks for them (properties), so building an event costs almost nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convsim import ops


def activate(values, activation: str) -> np.ndarray:
    """Apply an activation by name with the same kernels the layers use."""
    values = np.asarray(values, dtype=np.float32)
    if activation == "linear":
        return values
    return getattr(ops, activation)(values)


# ---------------------------------------------------------------- events


@dataclass(frozen=True, eq=False)
class PadEvent:
    """Zeros added around the input before the windows start sliding.

    ``pads`` is ``(top, bottom, left, right)``. With ``'same'`` and an odd
    total, TensorFlow puts the extra zero at the bottom/right.
    """

    input_hw: tuple[int, int]
    pads: tuple[int, int, int, int]

    @property
    def padded_hw(self) -> tuple[int, int]:
        top, bottom, left, right = self.pads
        return (self.input_hw[0] + top + bottom, self.input_hw[1] + left + right)

    @property
    def mask(self) -> np.ndarray:
        """``(padded_h, padded_w)`` booleans: True where a cell is a padding zero."""
        top, _, left, _ = self.pads
        h, w = self.input_hw
        mask = np.ones(self.padded_hw, dtype=bool)
        mask[top:top + h, left:left + w] = False
        return mask

    def is_padding(self, row: int, col: int) -> bool:
        """Whether the padded grid's cell ``(row, col)`` is a padding zero."""
        top, _, left, _ = self.pads
        h, w = self.input_hw
        return not (top <= row < top + h and left <= col < left + w)


@dataclass(frozen=True, eq=False)
class ConvStep:
    """One output cell of one filter: window, patch, products, sums, result.

    ``top``/``left`` locate the window in the *padded* input; ``move`` is how
    far it moved since the previous step of the same filter (``None`` for the
    first): ``(0, stride)`` along a row, or down one stride and back to the
    left edge at a new row. ``patch`` and ``weights`` are views, shaped
    ``(kernel_h, kernel_w, in_channels)``; everything else is computed when
    asked for.
    """

    index: int
    filter: int
    row: int
    col: int
    top: int
    left: int
    move: tuple[int, int] | None
    patch: np.ndarray
    weights: np.ndarray
    is_padding: np.ndarray  # (kernel_h, kernel_w) True where the tap reads a zero pad
    bias: float
    activation: str
    pre_activation_output: float  # what the kernel wrote before the activation
    output: float  # the kernel's final value (after the activation)

    @property
    def products(self) -> np.ndarray:
        """Element-wise ``patch * weights``, ``(kernel_h, kernel_w, in_channels)``."""
        return self.patch * self.weights

    @property
    def channel_sums(self) -> np.ndarray:
        """One sum per input channel (each channel has its own filter slice)."""
        return self.products.sum(axis=(0, 1), dtype=np.float64)

    @property
    def total(self) -> float:
        """Sum over all channels, before the bias."""
        return float(self.channel_sums.sum())

    @property
    def pre_activation(self) -> float:
        """``total + bias``, recomputed from the products."""
        return self.total + self.bias

    @property
    def value(self) -> float:
        """The activation of :attr:`pre_activation`, recomputed from the products."""
        return float(activate(np.float32(self.pre_activation), self.activation))


@dataclass(frozen=True, eq=False)
class PoolStep:
    """One pooling window of one channel and the value it keeps.

    ``window`` is a view of the padded input, ``(pool_h, pool_w)``; padding
    cells are not values (max and mean only look at real cells, like the
    kernels and TensorFlow). ``argmax`` is ``(row, col)`` in the unpadded
    input: the first maximum in reading order (a NaN wins).
    """

    index: int
    channel: int
    row: int
    col: int
    top: int
    left: int
    move: tuple[int, int] | None
    window: np.ndarray
    is_padding: np.ndarray
    kind: str  # 'max' or 'average'
    pads: tuple[int, int]  # (top, left) zeros, to convert to input coordinates
    output: float

    @property
    def values(self) -> np.ndarray:
        """The real cells of the window in reading order."""
        return self.window[~self.is_padding]

    @property
    def argmax(self) -> tuple[int, int]:
        """Input ``(row, col)`` of the kept cell (first max; NaN wins)."""
        rows, cols = np.nonzero(~self.is_padding)
        vals = self.window[rows, cols]
        nans = np.flatnonzero(np.isnan(vals))
        k = int(nans[0]) if nans.size else int(np.argmax(vals))
        return (self.top + int(rows[k]) - self.pads[0],
                self.left + int(cols[k]) - self.pads[1])

    @property
    def max(self) -> float:
        vals = self.values
        return float("nan") if np.isnan(vals).any() else float(vals.max())

    @property
    def mean(self) -> float:
        return float(self.values.sum(dtype=np.float64) / self.values.size)


@dataclass(frozen=True, eq=False)
class DenseStep:
    """One unit of a Dense layer: ``sum(inputs * kernel[:, unit]) + bias``."""

    index: int
    inputs: np.ndarray
    weights: np.ndarray
    bias: float
    activation: str
    output: float

    @property
    def products(self) -> np.ndarray:
        return self.inputs * self.weights

    @property
    def total(self) -> float:
        return float(self.products.sum(dtype=np.float64))
