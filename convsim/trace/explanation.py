"""What :func:`convsim.trace.explain` finds out about one number of a network.

Records only, no arithmetic of their own: :mod:`convsim.trace.explain` fills
them from a real model's trace (:mod:`convsim.trace.layer` and its events),
and pictures (:mod:`convsim.viz.explain_view`) read them. Three questions a
learner asks about one cell of a feature map each get a record:

* *Which pixels can change it?* :class:`ReceptiveField`, the cells of the input
  image it depends on, through every layer below.
* *Which numbers did this layer itself look at?* :class:`Window`, the window
  in the layer's own input (padding included).
* *How was it computed?* :class:`Terms`, every ``input × weight`` product, one
  group per input channel, with its partial sum; and the
  :class:`Explanation` that holds them with the bias, the activation, the
  result and the check against ``model.predict``.

>>> field = ReceptiveField(rows=(2, 3, 4), cols=(0, 1, 2), image_hw=(28, 28))
>>> field.box, field.contains(3, 1), field.contains(5, 1)
((2, 0, 3, 3), True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convsim.kernels import reference

__all__ = ["Explanation", "ReceptiveField", "Terms", "Window"]

#: float32's machine epsilon: the rounding unit of every number a layer stores.
FLOAT32_EPS = float(np.finfo(np.float32).eps)


@dataclass(frozen=True, eq=False)
class ReceptiveField:
    """The pixels of the input image one output cell depends on.

    Convolutions and pooling treat rows and columns separately, so the cells
    are every ``(row, col)`` with ``row`` in :attr:`rows` and ``col`` in
    :attr:`cols`. Usually they fill a rectangle (:attr:`box`); a dilated
    convolution skips rows and columns, and then the rectangle has gaps
    (:attr:`has_gaps`). A pixel outside these cells cannot change the output
    cell, whatever its value.
    """

    rows: tuple[int, ...]
    cols: tuple[int, ...]
    image_hw: tuple[int, int]

    # An empty field (a window that reads only padding zeros, through every
    # layer below) is the rectangle from (0, 0) to (-1, -1): 0 by 0 pixels.

    @property
    def is_empty(self) -> bool:
        """No pixel reaches the cell: only padding zeros (and biases) do."""
        return not self.rows or not self.cols

    @property
    def top(self) -> int:
        return 0 if self.is_empty else self.rows[0]

    @property
    def left(self) -> int:
        return 0 if self.is_empty else self.cols[0]

    @property
    def bottom(self) -> int:
        """The last row (inclusive)."""
        return -1 if self.is_empty else self.rows[-1]

    @property
    def right(self) -> int:
        """The last column (inclusive)."""
        return -1 if self.is_empty else self.cols[-1]

    @property
    def height(self) -> int:
        return self.bottom - self.top + 1

    @property
    def width(self) -> int:
        return self.right - self.left + 1

    @property
    def box(self) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of the rectangle around the cells."""
        return (self.top, self.left, self.height, self.width)

    @property
    def has_gaps(self) -> bool:
        """Whether some rows or columns inside the rectangle are skipped."""
        if self.is_empty:
            return False
        return len(self.rows) != self.height or len(self.cols) != self.width

    @property
    def is_whole_image(self) -> bool:
        return (len(self.rows), len(self.cols)) == tuple(self.image_hw)

    @property
    def mask(self) -> np.ndarray:
        """``(height, width)`` of the image: True on the cells of the field."""
        mask = np.zeros(self.image_hw, dtype=bool)
        if not self.is_empty:
            mask[np.ix_(self.rows, self.cols)] = True
        return mask

    def contains(self, row: int, col: int) -> bool:
        return row in self.rows and col in self.cols


@dataclass(frozen=True, eq=False)
class Window:
    """Where a convolution's or pooling's window sits in the layer's input.

    :attr:`rows` and :attr:`cols` are the input coordinates of its taps, in
    order; a coordinate below 0 or past the input's edge is a zero of the
    padding. ``source`` names what the layer reads: the layer below, or
    ``None`` for the image itself.
    """

    rows: tuple[int, ...]
    cols: tuple[int, ...]
    input_shape: tuple[int, int, int]
    source: str | None

    @property
    def top(self) -> int:
        return self.rows[0]

    @property
    def left(self) -> int:
        return self.cols[0]

    @property
    def bottom(self) -> int:
        return self.rows[-1]

    @property
    def right(self) -> int:
        return self.cols[-1]

    @property
    def reaches_padding(self) -> bool:
        """Whether some taps read zeros of the padding."""
        h, w = self.input_shape[:2]
        return self.top < 0 or self.left < 0 or self.bottom >= h or self.right >= w


@dataclass(frozen=True, eq=False)
class Terms:
    """The ``input × weight`` products of one input channel (a convolution) or
    of all the inputs (Dense), and their partial sum.

    ``positions`` says where each input is: ``(row, col)`` in the layer's input
    for a convolution (padding cells included, flagged in ``padding``), the
    index in the input vector for Dense. ``partial_sum`` is
    :func:`~convsim.kernels.reference.conv_cell` of the group without the
    bias: the kernels' own definition, in float64.
    """

    channel: int | None
    positions: np.ndarray  # (n, 2) for a convolution, (n, 1) for Dense
    inputs: np.ndarray  # (n,)
    weights: np.ndarray  # (n,)
    padding: np.ndarray  # (n,) True where the input is a zero of the padding

    @property
    def products(self) -> np.ndarray:
        """``inputs * weights``, one per term, as the layer multiplies them."""
        return self.inputs * self.weights

    @property
    def partial_sum(self) -> float:
        return reference.conv_cell(self.inputs, self.weights, 0.0)

    def __len__(self) -> int:
        return len(self.inputs)

    def largest(self, count: int) -> np.ndarray:
        """Indices of the ``count`` products largest in size (ties: reading
        order), biggest first: the terms that matter most to the sum."""
        order = np.argsort(-np.abs(self.products.astype(np.float64)), kind="stable")
        return order[:count]


@dataclass(frozen=True, eq=False)
class Explanation:
    """One output number of a real network, worked out in full.

    ``kind`` says how the layer made it: ``'conv'`` (Conv2D), ``'dense'``,
    ``'max'`` or ``'average'`` (pooling), ``'activation'`` (an Activation
    layer). ``step`` is the trace's own event for the cell
    (:class:`~convsim.trace.ConvStep`, :class:`~convsim.trace.PoolStep`,
    :class:`~convsim.trace.DenseStep`; ``None`` for an Activation layer).

    Three numbers say the working is right: :attr:`value` is what the
    working gives (the sums of :attr:`terms` in float64, plus the bias, through
    the activation), :attr:`output` what the traced layer returned, and
    :attr:`predicted` what ``model.predict`` gives for the cell (a model
    ending at this layer, as the book's activation model does). :attr:`check`
    is True when :attr:`value` and :attr:`predicted` agree within
    :attr:`tolerance`: float32 rounding, since the layer adds its float32
    products in its own order and the working adds them in float64.
    """

    model: str
    layer: str
    layer_type: str
    index: int
    kind: str
    at: tuple[int, ...]
    output_shape: tuple[int, ...]
    source: str | None  # the layer whose output this layer reads (None: the image)
    input_shape: tuple[int, ...]
    field: ReceptiveField
    window: Window | None
    step: object | None
    terms: tuple[Terms, ...]
    bias: float | None
    pre_activation: float | None
    activation: str | None
    activation_inputs: np.ndarray | None  # softmax: every sum it normalises
    value: float
    output: float
    predicted: float
    tolerance: float
    layer_outputs: np.ndarray  # the layer's whole output for this image
    config: dict  # the layer's get_config(): kernel size, strides, padding...
    flattened_from: tuple[str, tuple[int, ...]] | None = None  # Dense after Flatten

    @property
    def total(self) -> float | None:
        """Every product added up, before the bias (convolution and Dense)."""
        if not self.terms:
            return None
        return float(sum(terms.partial_sum for terms in self.terms))

    @property
    def products(self) -> int:
        """How many products the working has."""
        return sum(len(terms) for terms in self.terms)

    @property
    def difference(self) -> float:
        return abs(self.value - self.predicted)

    @property
    def check(self) -> bool:
        """The working gives ``model.predict``'s number (within rounding)."""
        if np.isnan(self.value) or np.isnan(self.predicted):
            return bool(np.isnan(self.value) and np.isnan(self.predicted))
        return self.difference <= self.tolerance

    @property
    def channel(self) -> int | None:
        """The output channel (filter) of a cell of a feature map."""
        return self.at[-1] if len(self.output_shape) == 3 else None
