"""Which input cells the windows of a convolution or pooling reach, and which none.

A window op can leave input rows and columns unread: the output-size
formula's ``floor`` drops the rows left over after the last window (a 15×15
map pooled 2×2 gives 7×7 and never reads row 14), and a stride larger than
the window, or a dilated window's gaps, can jump over rows in the middle.
Such cells get no gradient either: nothing the network learns depends on them.

:func:`reach` counts, for every input cell, the windows of one output map
that read it. It places the windows with
:func:`convsim.kernels.reference.window`, the placement the kernels are
defined by, on the padding the trace recorded, so the answer is the layer's
own geometry, not a second copy of the formula.

>>> from convsim.trace import trace_pool
>>> import numpy as np
>>> cover = reach(trace_pool(np.zeros((5, 5)), 2))
>>> cover.dropped_rows, cover.dropped_cols
((4,), (4,))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convsim.kernels import reference
from convsim.trace.layer import ConvTrace, PoolTrace

__all__ = ["Reach", "reach", "runs"]


@dataclass(frozen=True)
class Reach:
    """How many windows read each input cell of a traced window op.

    Attributes:
        counts: ``(height, width)`` ints: the windows of one output map whose
            taps land on that input cell (padding zeros are not counted).
    """

    counts: np.ndarray

    @property
    def dropped_rows(self) -> tuple[int, ...]:
        """Input rows that no window reads (in input coordinates)."""
        return tuple(int(r) for r in np.flatnonzero(self.counts.sum(axis=1) == 0))

    @property
    def dropped_cols(self) -> tuple[int, ...]:
        """Input columns that no window reads."""
        return tuple(int(c) for c in np.flatnonzero(self.counts.sum(axis=0) == 0))

    def after_last(self, axis: int) -> tuple[int, ...]:
        """The dropped rows (``axis=0``) or columns (``1``) after the last one
        read: what the formula's ``floor`` leaves over at the bottom/right."""
        dropped = self.dropped_rows if axis == 0 else self.dropped_cols
        read = np.flatnonzero(self.counts.sum(axis=1 - axis) > 0)
        return tuple(i for i in dropped if read.size and i > read[-1])

    def skipped(self, axis: int) -> tuple[int, ...]:
        """The dropped rows or columns *not* after the last one read: jumped
        over by the stride, or between the taps of a dilated window."""
        dropped = self.dropped_rows if axis == 0 else self.dropped_cols
        after = set(self.after_last(axis))
        return tuple(i for i in dropped if i not in after)


def reach(trace: ConvTrace | PoolTrace) -> Reach:
    """Count the windows that read each input cell (one output map's windows).

    >>> from convsim.trace import trace_conv
    >>> t = trace_conv(np.zeros((7, 7)), np.ones((1, 1, 1, 1)), strides=3)
    >>> reach(t).counts[0]  # a 1x1 window, stride 3: columns 0, 3, 6
    array([1, 0, 0, 1, 0, 0, 1])
    """
    if isinstance(trace, ConvTrace):
        size, dilation = trace.kernel.shape[:2], trace.dilation
    else:
        size, dilation = trace.pool_size, (1, 1)
    padded = np.zeros((*trace.pad.padded_hw, 1), dtype=np.int64)
    for oy in range(trace.out_h):
        for ox in range(trace.out_w):
            reference.window(padded, oy, ox, size, trace.strides, dilation)[...] += 1
    top, _, left, _ = trace.pad.pads
    h, w = trace.pad.input_hw
    return Reach(padded[top:top + h, left:left + w, 0])


def runs(indices) -> list[tuple[int, int]]:
    """Consecutive runs ``(first, last)`` of sorted ints, to say "rows 7-9".

    >>> runs([1, 3, 4, 5, 9])
    [(1, 1), (3, 5), (9, 9)]
    """
    found: list[tuple[int, int]] = []
    for i in indices:
        if found and i == found[-1][1] + 1:
            found[-1] = (found[-1][0], i)
        else:
            found.append((i, i))
    return found
