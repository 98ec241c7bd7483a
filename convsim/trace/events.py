"""Events of a traced forward pass: frozen records, built on demand by convsim.trace.

An event is one output number of one layer and where it came from. It holds
*views* into the (padded) input and the layer's own weights, plus the numbers
the layer wrote; the arithmetic a lesson shows (products, sums, the kept value
of a pooling window) is worked out only when asked for, with the same helpers
that define the kernels in :mod:`convsim.kernels.reference` (``conv_cell``,
``dense_unit``, ``max_of``, ``mean_of``). So building an event costs almost
nothing, and what it shows is the definition the fast kernels are tested
against.

>>> import numpy as np
>>> step = ConvStep(index=0, filter=0, row=0, col=0, top=0, left=0, move=None,
...                 patch=np.ones((2, 2, 1), np.float32),
...                 weights=np.full((2, 2, 1), 2, np.float32),
...                 is_padding=np.zeros((2, 2), bool), bias=-1.0,
...                 activation="relu", pre_activation_output=7.0, output=7.0)
>>> step.total, step.pre_activation, step.value
(8.0, 7.0, 7.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convsim import activations
from convsim.errors import ArgumentError
from convsim.kernels import reference

__all__ = ["ConvStep", "DenseStep", "PadEvent", "PoolStep"]


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
    ``(kernel_h, kernel_w, in_channels)``; ``output`` and
    ``pre_activation_output`` are what the layer itself computed. Everything
    else is worked out when asked for, as :func:`~convsim.kernels.reference.conv_cell`
    defines it.
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
    activation: str  # the layer's activation, by name ('linear', 'relu', ...)
    pre_activation_output: float  # what the layer computed before the activation
    output: float  # what the layer returned (after the activation)

    @property
    def products(self) -> np.ndarray:
        """Element-wise ``patch * weights``, ``(kernel_h, kernel_w, in_channels)``."""
        return self.patch * self.weights

    @property
    def channel_sums(self) -> np.ndarray:
        """One sum per input channel (each channel has its own filter slice)."""
        return np.array([reference.conv_cell(self.patch[:, :, c],
                                             self.weights[:, :, c], 0.0)
                         for c in range(self.patch.shape[2])])

    @property
    def total(self) -> float:
        """``sum(patch * filter)`` over all channels, before the bias."""
        return reference.conv_cell(self.patch, self.weights, 0.0)

    @property
    def pre_activation(self) -> float:
        """``sum(patch * filter) + bias``, worked out from the patch."""
        return reference.conv_cell(self.patch, self.weights, self.bias)

    @property
    def value(self) -> float:
        """The activation of :attr:`pre_activation`: what :attr:`output` should be."""
        return _activate(self.pre_activation, self.activation)


@dataclass(frozen=True, eq=False)
class PoolStep:
    """One pooling window of one channel and the value it keeps.

    ``window`` is a view of the padded input, ``(pool_h, pool_w)``; padding
    cells are not values (max and mean only look at real cells, like the
    kernels and TensorFlow). ``cells`` is the view of the real input cells
    under the window (``origin`` is the input ``(row, col)`` of ``cells[0, 0]``),
    as :func:`~convsim.kernels.reference.real_cells` finds them.
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
    cells: np.ndarray
    origin: tuple[int, int]
    output: float  # what the layer returned

    @property
    def values(self) -> np.ndarray:
        """The real cells of the window in reading order."""
        return self.cells.ravel()

    @property
    def argmax(self) -> tuple[int, int]:
        """Input ``(row, col)`` of the kept cell: the first maximum in reading
        order, but a NaN wins (:func:`~convsim.kernels.reference.max_of`)."""
        _, position = reference.max_of(self.values)
        row, col = divmod(position, self.cells.shape[1])
        return (self.origin[0] + row, self.origin[1] + col)

    @property
    def max(self) -> float:
        """What max pooling keeps (:func:`~convsim.kernels.reference.max_of`)."""
        return reference.max_of(self.values)[0]

    @property
    def mean(self) -> float:
        """What average pooling keeps (:func:`~convsim.kernels.reference.mean_of`)."""
        return reference.mean_of(self.values)


@dataclass(frozen=True, eq=False)
class DenseStep:
    """One unit of a Dense layer: ``sum(inputs * kernel[:, unit]) + bias``.

    ``position`` says which input vector it is: ``()`` for the usual vector
    input (after Flatten), an index of the leading axes otherwise (Dense works
    on the last axis, as in Keras).
    """

    index: int
    unit: int
    position: tuple[int, ...]
    inputs: np.ndarray
    weights: np.ndarray
    bias: float
    activation: str
    pre_activation_output: float
    output: float

    @property
    def products(self) -> np.ndarray:
        return self.inputs * self.weights

    @property
    def total(self) -> float:
        """``sum(inputs * weights)``, before the bias."""
        return reference.dense_unit(self.inputs, self.weights, 0.0)

    @property
    def pre_activation(self) -> float:
        """``sum(inputs * weights) + bias``, worked out from the inputs."""
        return reference.dense_unit(self.inputs, self.weights, self.bias)

    @property
    def value(self) -> float:
        """The activation of :attr:`pre_activation` (not for softmax, which
        needs every unit: read :attr:`output`)."""
        return _activate(self.pre_activation, self.activation)


def _activate(value: float, name: str) -> float:
    """The layer's activation of one number, rounded to float32 first as the
    layer stores it."""
    if name == "softmax":
        raise ArgumentError("softmax turns all the units into probabilities together, "
                            "so one cell's value cannot be worked out alone: read "
                            "`output`, which the layer computed.")
    fn = activations.get(name)
    return float(activations.forward(fn, np.float32(value)))
