"""Symbolic tensors and the graph of layer calls, plus the names layers get.

Calling a layer on a :class:`KerasTensor` (from ``layers.Input`` or another
layer's output) does no arithmetic: it records one :class:`Node` (this layer,
called on that tensor) and returns a new symbolic tensor of the output shape.
Following the nodes back from a model's outputs to its input gives the order
in which the layers run (:func:`nodes_between`); that is how ``model.input``,
``layer.output`` and ``models.Model(inputs=..., outputs=...)`` work, as in Keras.
"""

from __future__ import annotations

import collections
import contextlib
import re

from convsim.errors import ArgumentError, WrongTypeError

__all__ = ["KerasTensor", "Node", "fresh_names", "nodes_between", "reset_names",
           "snake_case", "unique_name"]

_NAME_COUNTS: collections.Counter = collections.Counter()


def unique_name(base: str) -> str:
    """``conv2d``, then ``conv2d_1``, ``conv2d_2``... per session, like Keras."""
    count = _NAME_COUNTS[base]
    _NAME_COUNTS[base] += 1
    return base if count == 0 else f"{base}_{count}"


def reset_names() -> None:
    _NAME_COUNTS.clear()


@contextlib.contextmanager
def fresh_names():
    """Inside the block, layers and models are named as in a fresh session
    (``conv2d``, ``conv2d_1``, ...); afterwards the session's own counting
    goes on where it was. For showing a model with the names the book prints,
    whatever ran before."""
    global _NAME_COUNTS
    saved, _NAME_COUNTS = _NAME_COUNTS, collections.Counter()
    try:
        yield
    finally:
        _NAME_COUNTS = saved


def snake_case(class_name: str) -> str:
    """``MaxPooling2D`` -> ``max_pooling2d`` (Keras's rule for default names)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", class_name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Node:
    """One call of a layer on a symbolic tensor: ``output = layer(input)``."""

    def __init__(self, layer, input_tensor, output_tensor=None):
        self.layer, self.input, self.output = layer, input_tensor, output_tensor


class KerasTensor:
    """A symbolic placeholder: a shape (``None`` = the batch) and where it came from.

    It holds no numbers. Build models with it; compute with ``model.predict``.
    """

    def __init__(self, shape, node: Node | None = None, name: str | None = None):
        self.shape = tuple(shape)
        self.dtype = "float32"
        self.node = node
        self.name = name or unique_name("keras_tensor")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __array__(self, dtype=None, copy=None):
        raise WrongTypeError(
            f"{self!r} is a symbolic tensor: it has a shape but no values. Use it to "
            "build a model (models.Model(inputs, outputs)) and call model.predict(x) "
            "to compute values."
        )

    def __repr__(self):
        return f"<KerasTensor shape={self.shape}, dtype=float32, name={self.name}>"


def nodes_between(inputs, outputs):
    """Layer calls from ``inputs`` to ``outputs``, each after the ones it needs."""
    order, seen = [], set()

    def visit(tensor):
        if tensor is inputs:
            return
        node = tensor.node
        if node is None or node.input is None:
            raise ArgumentError(f"Output tensor {tensor!r} is not connected to the "
                                f"model's input {inputs!r}.")
        visit(node.input)
        if id(node) not in seen:
            seen.add(id(node))
            order.append(node)

    for out in outputs:
        visit(out)
    return order
