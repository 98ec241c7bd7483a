"""``models.Sequential``: a plain stack of layers, each feeding the next.

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    ...
    model.summary()
"""

from __future__ import annotations

from convsim.errors import ArgumentError, WrongTypeError
from convsim.layers import deserialize, serialize
from convsim.layers.base import Layer
from convsim.layers.graph import KerasTensor
from convsim.layers.input import InputLayer
from convsim.models.model import Model, config_dict, config_list

__all__ = ["Sequential"]


class Sequential(Model):
    """A plain stack of layers, each feeding the next.

    Args:
        layers: optional list of layers (same as calling :meth:`add` for each).
        name: model name (default ``sequential``, ``sequential_1``, ...).
    """

    _DEFAULT_NAME = "sequential"

    def __init__(self, layers=None, name=None, trainable=True):
        super().__init__(name=name, trainable=trainable)
        self._layers: list[Layer] = []
        for layer in layers or []:
            self.add(layer)

    def add(self, layer) -> None:
        """Append a layer (or an ``Input``) on top of the stack."""
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if isinstance(layer, InputLayer):
            if self._layers or self._input is not None:
                raise ArgumentError("An Input must come first in a Sequential model.")
            self._input = layer.output
            self.built = True
            return
        if not isinstance(layer, Layer):
            raise WrongTypeError("Only instances of `convsim.layers.Layer` can be "
                                 "added "
                                 f"to a Sequential model. Received: {layer!r} (of type "
                                 f"{type(layer).__name__})")
        if any(existing.name == layer.name for existing in self._layers):
            raise ArgumentError("All layers added to a Sequential model should have "
                                f"unique names. Name '{layer.name}' is already the "
                                "name of a layer in this model. Update the `name` "
                                "argument to pass a unique name.")
        if not self._layers and self._input is None \
                and layer._batch_input_shape is not None:
            self._input = InputLayer(batch_shape=layer._batch_input_shape).output
        if self._input is not None:
            # calling the layer on the current output builds it (weights, shapes)
            tensor = layer(self._outputs[0] if self._outputs else self._input)
            self._nodes.append(tensor.node)
            self._outputs = [tensor]
            self.built = True
        self._layers.append(layer)

    def pop(self) -> Layer:
        if not self._layers:
            raise WrongTypeError("There are no layers in the model.")
        layer = self._layers.pop()
        if self._input is not None:
            self._connect()
        return layer

    def _connect(self):
        """(Re)create the symbolic chain from the input through every layer."""
        tensor = self._input
        self._nodes = []
        for layer in self._layers:
            tensor = layer(tensor)
            self._nodes.append(tensor.node)
        self._outputs = [tensor]

    def build(self, input_shape=None):
        """Create every layer's weights for inputs of ``input_shape``."""
        if self._input is None:
            if input_shape is None:
                raise ArgumentError("You must provide an `input_shape` argument.")
            self._input = InputLayer(batch_shape=(None, *tuple(input_shape)[1:])
                                     ).output
        self._connect()
        self.built = True

    @property
    def layers(self) -> list[Layer]:
        return list(self._layers)

    def _summary_layers(self):
        return self._layers

    def _summary_shape(self, layer):
        for node in self._nodes:
            if node.layer is layer:
                return node.output.shape
        return "?"

    def _output_layer(self):
        return self._layers[-1] if self._layers else None

    def _forward(self, x, training=False):
        if not self.built:
            self.build((None, *x.shape[1:]))
        self._check_input(x)
        for layer in self._layers:
            x = layer(x, training=training)
        return x

    def _backward(self, grad, fused=False):
        last = len(self._layers) - 1
        for i, layer in enumerate(reversed(self._layers)):
            needed = i != last  # the first layer's inputs are the images themselves
            if i == 0 and fused:
                grad = layer.backward_from_logits(grad, input_grad=needed)
            else:
                grad = layer.backward(grad, input_grad=needed)

    def get_config(self) -> dict:
        return {"name": self.name,
                "layers": [serialize(layer) for layer in self._layers],
                "build_input_shape": None if self._input is None
                else list(self._input.shape)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model :meth:`get_config` describes: its input shape, then each
        layer made by its own constructor (which checks its values) and added."""
        config = config_dict(config, "Sequential model")
        layer_configs = config_list(config, "layers", "Sequential model")
        model = cls(name=config.get("name"))
        if config.get("build_input_shape") is not None:
            model.add(InputLayer(batch_shape=config["build_input_shape"]))
        for layer_config in layer_configs:
            model.add(deserialize(layer_config, custom_objects))
        return model
