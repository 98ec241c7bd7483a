"""``layers.Input(shape=...)`` and ``InputLayer``: where a model's data comes in.
"""

from __future__ import annotations

from convsim.errors import ArgumentError
from convsim.layers.base import Layer
from convsim.layers.graph import KerasTensor, Node
from convsim.validation import positive_int, shape_tuple

__all__ = ['Input', 'InputLayer']


class InputLayer(Layer):
    """The model's entry point; holds the symbolic input tensor. No weights."""

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None,
                 name=None, **kwargs):
        kwargs.pop("trainable", None)
        if batch_shape is None and "batch_input_shape" in kwargs:
            batch_shape = kwargs.pop("batch_input_shape")
        super().__init__(name=name, dtype=dtype, **kwargs)
        if batch_size is not None:
            positive_int(batch_size, "batch_size")
        if batch_shape is not None:
            if not isinstance(batch_shape, (tuple, list)) or not batch_shape:
                raise ArgumentError("`batch_shape` must be a tuple (batch, ...), e.g. "
                                    "(None, 28, 28, 1). Received: "
                                    f"batch_shape={batch_shape!r}")
            batch_shape = (None, *shape_tuple(tuple(batch_shape)[1:], "batch_shape"))
        elif shape is not None:
            batch_shape = (batch_size, *shape_tuple(shape, "shape"))
        else:
            raise ArgumentError("You must pass a `shape` argument, e.g. "
                                "layers.Input(shape=(28, 28, 1)).")
        self.batch_shape = (None, *batch_shape[1:])
        self.built = True
        self._build_input_shape = self.batch_shape
        node = Node(self, None)
        node.output = KerasTensor(self.batch_shape, node, name=self.name)
        self._inbound_nodes.append(node)

    def call(self, inputs, training=False):
        return inputs

    def backward(self, grad, input_grad=True):
        return grad

    def get_config(self):
        return {"name": self.name, "batch_shape": list(self.batch_shape),
                "dtype": "float32"}


def Input(shape=None, batch_size=None, dtype=None, batch_shape=None,  # noqa: N802
          name=None) -> KerasTensor:
    """A symbolic input, e.g. ``layers.Input(shape=(28, 28, 1))`` (Keras's name)."""
    return InputLayer(shape, batch_size, dtype, batch_shape, name).output
