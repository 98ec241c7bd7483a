"""The trace of a whole model on one image: one layer trace per layer.

Each layer is traced on the real output of the layer before it, as
``model.predict`` passes it on, so every layer's ``outputs`` here is what
``models.Model(model.input, layer.output).predict(image[None])[0]`` gives.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from convsim import layers
from convsim.errors import ArgumentError, WrongTypeError
from convsim.models import Sequential
from convsim.trace.layer import trace_layer
from convsim.validation import as_float32

__all__ = ["ModelTrace", "trace_model"]


class ModelTrace(Sequence):
    """The traces of a model's layers, in order (the input layer left out).

    ``trace[i]`` is the trace of the ``i``-th layer; :meth:`get_layer` finds
    one by its name. ``inputs`` is the image, ``outputs`` what the model
    predicts for it.
    """

    def __init__(self, model, image):
        chain = _chain(model)
        self.model = model
        self.inputs = current = _one_input(model, image)
        self.layers = []
        for layer in chain:
            layer_trace = trace_layer(layer, current)
            self.layers.append(layer_trace)
            current = layer_trace.outputs

    @property
    def outputs(self) -> np.ndarray:
        return self.layers[-1].outputs if self.layers else self.inputs

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, index):
        return self.layers[index]

    def get_layer(self, name: str):
        """The trace of the layer called ``name`` (as ``model.get_layer``)."""
        for layer_trace in self.layers:
            if layer_trace.name == name:
                return layer_trace
        raise ArgumentError(f"No such layer: {name!r}. The traced layers are: "
                            f"{[t.name for t in self.layers]}.")


def trace_model(model, image) -> ModelTrace:
    """Trace every layer of ``model`` on one ``image`` (no batch axis).

    ``model`` is a :class:`~convsim.models.Sequential` or a functional
    :class:`~convsim.models.Model` whose layers form one chain (each layer
    takes the output of the one before it).

    >>> from convsim import layers, models
    >>> model = models.Sequential([layers.Input(shape=(4, 4, 1)),
    ...     layers.Conv2D(1, 3, kernel_initializer="ones", name="conv"),
    ...     layers.Flatten(name="flat")])
    >>> t = trace_model(model, np.ones((4, 4)))
    >>> [(layer.name, len(layer)) for layer in t]
    [('conv', 4), ('flat', 0)]
    >>> t.outputs
    array([9., 9., 9., 9.], dtype=float32)
    """
    return ModelTrace(model, image)


def _chain(model) -> list:
    """The model's layers in the order the image goes through them."""
    found = getattr(model, "layers", None)
    if found is None:
        raise WrongTypeError("`model` must be a convsim model (models.Sequential or "
                             f"models.Model). Received: model={model!r}")
    chain = [layer for layer in found if not isinstance(layer, layers.InputLayer)]
    if isinstance(model, Sequential):
        return chain
    tensor = model.input
    for layer in chain:
        if layer.input is not tensor:
            raise ArgumentError(
                f"trace_model follows one chain of layers, each taking the output "
                f"of the one before. In model '{model.name}', layer '{layer.name}' "
                f"does not. Trace its layers one by one with trace_layer.")
        tensor = layer.output
    if model.outputs != [tensor]:
        raise ArgumentError(
            f"trace_model follows one chain of layers to one output; the layers of "
            f"model '{model.name}' do not end at its output (it has "
            f"{len(model.outputs)} outputs, or uses a layer twice). Trace its "
            f"layers one by one with trace_layer.")
    return chain


def _one_input(model, image) -> np.ndarray:
    """``image`` as one input of the shape the model takes (when it says)."""
    x = as_float32(image, "image")
    try:
        expected = tuple(model.input.shape[1:])
    except AttributeError:  # a Sequential without an input shape yet
        return x
    candidates = [x, x[..., None]]  # one channel may come without its axis
    if x.ndim and x.shape[0] == 1:
        candidates.append(x[0])  # a batch of one
    for candidate in candidates:
        if candidate.ndim == len(expected) and all(
                e is None or e == n for e, n in zip(expected, candidate.shape,
                                                     strict=True)):
            return candidate
    raise ArgumentError(f"`image` must be one input of model '{model.name}': shape "
                        f"{expected} (without the batch axis). Received: "
                        f"image.shape={x.shape}")
