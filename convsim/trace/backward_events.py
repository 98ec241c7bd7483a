"""Events of a traced backward pass: where one number of a gradient comes from.

The forward events (:mod:`convsim.trace.events`) say how one output was made.
These say the reverse: how the loss's gradient reaches one input cell, one
filter weight, one pooled cell or one activation. Each is the chain rule for
that one number: a sum, over every output that used it, of the output's
gradient ``dL/dy`` times how much that output changes with it (the weight
that met the cell, the cell under the weight, 1 for the window's winner...).

An event holds views into the trace's arrays plus the number the layer's own
``backward`` wrote (``layer_grad``); the sums are worked out only when asked
for, with :func:`convsim.kernels.reference.gradient_cell`, the definition the
fast kernels are tested against. So a lesson can show the sum term by term and
a test can check that it adds up to what the layer computed.

>>> import numpy as np
>>> step = WeightGradStep(index=0, tap=(0, 0, 0, 0), first=(0, 0), strides=(1, 1),
...                       grads=np.array([[1.0, -2.0]]),
...                       values=np.array([[3.0, 1.0]]),
...                       is_padding=np.zeros((1, 2), bool), layer_grad=1.0)
>>> step.total  # 1*3 + (-2)*1
1.0
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convsim import activations
from convsim.kernels import reference
from convsim.trace.events import PoolStep

__all__ = ["ActivationGradStep", "BiasGradStep", "InputGradStep", "PoolGradStep",
           "WeightGradStep"]


@dataclass(frozen=True, eq=False)
class WeightGradStep:
    """``dL/dw`` for one filter weight ``w = kernel[i, j, channel, filter]``.

    The weight met one input cell in every window, so it collects, from every
    output cell of its filter, that cell's ``dL/dz`` times the input value it
    met: ``dL/dw = sum(grads * values)``.

    ``grads`` is ``dL/dz`` of the filter's map, ``(out_h, out_w)`` (z: the
    output before the activation); ``values`` the cell under the weight in each
    window, same shape (0 where it is a padding zero, which ``is_padding``
    marks). ``first`` is the padded ``(row, col)`` the weight meets in output
    cell (0, 0); each next output cell moves it one stride.
    """

    index: int
    tap: tuple[int, int, int, int]  # (i, j, channel, filter)
    first: tuple[int, int]
    strides: tuple[int, int]
    grads: np.ndarray
    values: np.ndarray
    is_padding: np.ndarray
    layer_grad: float  # what the layer's backward stored in kernel.grad

    @property
    def products(self) -> np.ndarray:
        """``dL/dz * value`` for every output cell, ``(out_h, out_w)``."""
        return self.grads * self.values

    @property
    def total(self) -> float:
        """``sum(dL/dz * value)``: what ``layer_grad`` should be."""
        return reference.gradient_cell(self.grads, self.values)

    def cells(self) -> list[tuple[int, int]]:
        """The padded ``(row, col)`` the weight met, one per output cell in
        reading order."""
        (top, left), (sh, sw) = self.first, self.strides
        out_h, out_w = self.grads.shape
        return [(top + oy * sh, left + ox * sw) for oy in range(out_h)
                for ox in range(out_w)]


@dataclass(frozen=True, eq=False)
class InputGradStep:
    """``dL/dx`` for one input cell ``(row, col, channel)``.

    Every window that covered the cell sends back its output's ``dL/dz`` times
    the weight that met the cell. ``windows`` lists them as ``(oy, ox, filter,
    i, j)``: output cell ``(oy, ox)`` of ``filter``, whose tap ``(i, j)`` read
    this cell; ``grads`` and ``weights`` hold the two factors of each term.
    """

    index: int
    cell: tuple[int, int, int]
    windows: tuple[tuple[int, int, int, int, int], ...]
    grads: np.ndarray
    weights: np.ndarray
    layer_grad: float  # what the layer's backward returned for this cell

    @property
    def products(self) -> np.ndarray:
        return self.grads * self.weights

    @property
    def total(self) -> float:
        """``sum(dL/dz * weight)`` over the covering windows (0 when none)."""
        return reference.gradient_cell(self.grads, self.weights)


@dataclass(frozen=True, eq=False)
class BiasGradStep:
    """``dL/db`` for one filter's bias: the bias is added to every output cell
    of the filter's map, each with slope 1, so ``dL/db = sum(dL/dz)``."""

    filter: int
    grads: np.ndarray  # dL/dz of the filter's map, (out_h, out_w)
    layer_grad: float

    @property
    def total(self) -> float:
        return reference.gradient_cell(self.grads, np.ones_like(self.grads))


@dataclass(frozen=True, eq=False)
class PoolGradStep:
    """One pooling window sending its output's gradient back.

    Max pooling kept one cell, so only that cell changes the output: it gets
    all of ``grad``, the other cells of the window 0. Average pooling shares
    ``grad`` equally among the window's real cells. ``forward`` is the window's
    forward :class:`~convsim.trace.events.PoolStep` (its cells and winner).
    """

    index: int
    forward: PoolStep
    grad: float  # dL/d(this window's output)

    @property
    def winner(self) -> tuple[int, int] | None:
        """Input ``(row, col)`` of the cell max pooling kept (None for average)."""
        return self.forward.argmax if self.forward.kind == "max" else None

    @property
    def sent(self) -> np.ndarray:
        """What this window sends to each of its real cells (shaped like
        ``forward.cells``): ``grad`` to the winner and 0 elsewhere, or
        ``grad / count`` to every cell for average pooling."""
        cells = self.forward.cells
        if self.forward.kind == "average":
            return np.full(cells.shape, self.grad / cells.size)
        sent = np.zeros(cells.shape)
        row, col = self.winner
        sent[row - self.forward.origin[0], col - self.forward.origin[1]] = self.grad
        return sent


@dataclass(frozen=True, eq=False)
class ActivationGradStep:
    """One cell through an activation backwards: ``dL/dz = dL/dy * slope``,
    the slope ``dy/dz`` of the activation at that cell.

    ReLU's slope is 1 where its input ``z`` was positive and 0 elsewhere: it
    blocks the gradient where it blocked the value.
    """

    index: int
    cell: tuple[int, ...]
    activation: str
    pre_activation: float  # z, what went in
    output: float  # y, what came out
    grad: float  # dL/dy
    layer_grad: float  # dL/dz as the layer's backward returned it

    @property
    def slope(self) -> float:
        """``dy/dz`` at this cell, from the activation's own backward rule
        (given ``y``, as the layer keeps it), for a gradient of 1."""
        fn = activations.get(self.activation)
        one = np.ones(1, np.float32)
        return float(fn.backward(np.array([self.output], np.float32), one)[0])

    @property
    def passes(self) -> bool:
        """Whether any gradient gets through (ReLU: ``z > 0``)."""
        return self.slope != 0

    @property
    def value(self) -> float:
        """``dL/dy * slope``: what ``layer_grad`` should be."""
        return self.grad * self.slope
