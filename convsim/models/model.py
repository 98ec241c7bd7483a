"""The functional ``models.Model``, as in Keras.

A model is a graph of layer calls on symbolic tensors (see
:mod:`convsim.layers.graph`). The functional ``Model(inputs=..., outputs=[...])``
can pick any tensors of an existing graph, which is how the book's activation
model reads the outputs of the first 8 layers of a trained convnet;
:class:`~convsim.models.sequential.Sequential` is the special case of a chain.

Training (compile/fit/evaluate/predict) comes from
:class:`~convsim.training.Trainer`, files from :mod:`convsim.models.archive`.
"""

from __future__ import annotations

import numbers

from rich.console import Console

from convsim.errors import ArgumentError, WrongTypeError
from convsim.layers import deserialize, serialize
from convsim.layers.base import Layer
from convsim.layers.graph import KerasTensor, nodes_between, unique_name
from convsim.layers.input import InputLayer
from convsim.models import archive, keras
from convsim.models.summary import print_summary
from convsim.training import Trainer
from convsim.validation import input_shape_hint

__all__ = ["Model", "config_dict", "config_list"]


class Model(Trainer):
    """A functional model: ``Model(inputs=input_tensor, outputs=tensor_or_list)``.

    ``predict`` returns one array, or a list of arrays when ``outputs`` is a list.
    """

    _DEFAULT_NAME = "functional"

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True):
        if name is not None and not isinstance(name, str):
            raise WrongTypeError(f"Argument `name` must be a string. Received: "
                                 f"name={repr(name):.100}")
        self.name = name or unique_name(self._DEFAULT_NAME)
        self.trainable = bool(trainable)
        self.built = False
        self._input = None
        self._outputs: list[KerasTensor] = []
        self._nodes = []
        self._multi_output = False
        if inputs is not None or outputs is not None:
            self._init_graph(inputs, outputs)

    def _init_graph(self, inputs, outputs):
        if isinstance(inputs, (list, tuple)):
            if len(inputs) != 1:
                raise ArgumentError("convsim models take exactly one input tensor. "
                                    f"Received {len(inputs)}.")
            inputs = inputs[0]
        if not isinstance(inputs, KerasTensor):
            raise WrongTypeError("`inputs` must be a symbolic tensor such as "
                                 "layers.Input(shape) or model.input. "
                                 f"Received: {inputs!r}")
        self._multi_output = isinstance(outputs, (list, tuple))
        outputs = list(outputs) if self._multi_output else [outputs]
        if not outputs or not all(isinstance(o, KerasTensor) for o in outputs):
            raise WrongTypeError("`outputs` must be a symbolic tensor (e.g. "
                                 "layer.output) "
                                 f"or a list of them. Received: {outputs!r}")
        self._input, self._outputs = inputs, outputs
        self._nodes = nodes_between(inputs, outputs)
        self.built = True

    # ------------------------------------------------------------ structure
    @property
    def layers(self) -> list[Layer]:
        found = [self._input.node.layer] if self._input is not None else []
        for node in self._nodes:
            if node.layer not in found:
                found.append(node.layer)
        return found

    @property
    def input(self) -> KerasTensor:
        if self._input is None:
            raise AttributeError(f"The model {self.name} has no defined input yet: "
                                 "give its first layer an input_shape, or build it.")
        return self._input

    inputs = property(lambda self: [self.input])

    @property
    def output(self):
        self.input  # noqa: B018 - same error when not built
        return list(self._outputs) if self._multi_output else self._outputs[0]

    outputs = property(lambda self: list(self._outputs))

    def get_layer(self, name=None, index=None) -> Layer:
        if index is not None:
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        raise ArgumentError(f"No such layer: {name}. Existing layers are: "
                            f"{[layer.name for layer in self.layers]}.")

    def _output_layer(self):
        return self._outputs[0].node.layer if len(self._outputs) == 1 else None

    # ------------------------------------------------------------ weights
    @property
    def weights(self):
        return [w for layer in self.layers for w in layer.weights]

    @property
    def trainable_weights(self):
        if not self.trainable:  # a frozen model (e.g. a pretrained base)
            return []
        return [w for layer in self.layers for w in layer.trainable_weights]

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for layer in self.layers for w in layer.non_trainable_weights]

    def get_weights(self):
        return [w.numpy() for w in self.weights]

    def set_weights(self, weights):
        weights, own = list(weights), self.weights
        if len(weights) != len(own):
            raise ArgumentError(f"You called `set_weights(weights)` on model "
                                f"'{self.name}' with {len(weights)} arrays, but it has "
                                f"{len(own)} weights.")
        for var, value in zip(own, weights, strict=False):
            var.assign(value)

    def count_params(self) -> int:
        return sum(layer.count_params() for layer in self.layers if layer.built)

    # ------------------------------------------------------------ compute
    def __call__(self, x, training=False):
        return self._forward(x, training=training)

    def _check_input(self, x):
        expected = self._input.shape
        got = tuple(x.shape)
        if len(got) != len(expected) or any(
                e is not None and e != g
                for e, g in zip(expected[1:], got[1:], strict=True)):
            hint = input_shape_hint(expected, got)
            hint_ko = input_shape_hint(expected, got, "ko")
            raise ArgumentError(f"Input 0 of model '{self.name}' is incompatible: "
                                f"expected shape {expected}, found shape {got}."
                                + (f" {hint}" if hint else ""),
                                ko=f"모델 '{self.name}'의 입력 0이 맞지 않습니다. "
                                f"기대하는 크기: {expected}, 받은 크기: {got}."
                                + (f" {hint_ko}" if hint_ko else ""))

    def _forward(self, x, training=False):
        self._check_input(x)
        values = {id(self._input): x}
        for node in self._nodes:
            values[id(node.output)] = node.layer(values[id(node.input)],
                                                 training=training)
        outs = [values[id(o)] for o in self._outputs]
        return outs if self._multi_output else outs[0]

    def _backward(self, grad, fused=False):
        if len(self._outputs) != 1:
            raise ArgumentError("convsim can only train models with a single output.")
        if len({id(n.layer) for n in self._nodes}) != len(self._nodes):
            raise ArgumentError("convsim cannot train a model that calls the same "
                                "layer twice.")
        grads = {id(self._outputs[0]): grad}
        for node in reversed(self._nodes):
            g = grads.pop(id(node.output), None)
            if g is None:
                continue  # this branch does not lead to the output
            key = id(node.input)
            needed = node.input is not self._input  # nobody needs d(loss)/d(images)
            if fused and node.output is self._outputs[0]:
                dx = node.layer.backward_from_logits(g, input_grad=needed)
            else:
                dx = node.layer.backward(g, input_grad=needed)
            if needed:
                grads[key] = grads[key] + dx if key in grads else dx

    def build(self, input_shape):
        """Functional models are built by construction."""

    # ------------------------------------------------------------ summary
    def summary(self, line_length=None, positions=None, print_fn=None,
                expand_nested=False, show_trainable=False, layer_range=None,
                console: Console | None = None):
        """Print the layers, output shapes and parameter counts as a rich table."""
        print_summary(self, line_length, print_fn, console)

    def _summary_layers(self):
        return self.layers

    def _summary_shape(self, layer):
        return layer._inbound_nodes[0].output.shape if layer._inbound_nodes else "?"

    # ------------------------------------------------------------ files
    def save(self, filepath, overwrite=True, **kwargs):
        """Save architecture, weights and optimizer state.

        The name chooses the format: ``.keras``, ``.h5`` and ``.hdf5`` write
        real Keras files (:mod:`convsim.models.keras`; they need h5py,
        ``pip install 'convsim[keras]'``) that Keras loads, to take the model
        to a GPU; every other name writes convsim's own file
        (:mod:`convsim.models.archive`), which also keeps the random
        generators' state so that ``fit`` continues exactly."""
        if keras.keras_name(filepath):
            keras.save_model(self, filepath, overwrite=overwrite)
        else:
            archive.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        archive.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        archive.load_weights(self, filepath)

    def get_config(self) -> dict:
        all_layers = self.layers
        index = {id(layer): i for i, layer in enumerate(all_layers)}
        producer = {id(node.output): i for i, node in enumerate(self._nodes)}
        producer[id(self._input)] = -1
        return {
            "name": self.name,
            "layers": [serialize(layer) for layer in all_layers],
            "nodes": [[index[id(n.layer)], producer[id(n.input)]] for n in self._nodes],
            "outputs": [producer[id(o)] for o in self._outputs],
            "multi_output": self._multi_output,
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model :meth:`get_config` describes: its layers (each checked by
        its constructor) called in the order of ``config["nodes"]``, each node
        ``[layer index, input]`` where the input is ``-1`` (the model's input)
        or an earlier node; every index is checked before it is used."""
        config = config_dict(config, "functional model")
        layer_configs = config_list(config, "layers", "functional model")
        built = [deserialize(c, custom_objects) for c in layer_configs]
        if not built or not isinstance(built[0], InputLayer):
            raise ArgumentError("The first layer of a functional model's config "
                                "must be its InputLayer. Received: "
                                f"{built[0] if built else 'no layers'}")
        tensors = [built[0].output]  # tensors[source + 1]: node source's output
        for i, node in enumerate(config_list(config, "nodes", "functional model")):
            layer_index, source = _node(node, i, len(built))
            tensors.append(built[layer_index](tensors[source + 1]))
        outputs = config_list(config, "outputs", "functional model")
        if not outputs or not all(_is_index(o, -1, len(tensors) - 1)
                                  for o in outputs):
            raise ArgumentError(
                "The `outputs` of a functional model's config must be a non-empty "
                "list of node indices, each -1 (the input) to "
                f"{len(tensors) - 2}. Received: outputs={repr(outputs):.100}")
        outs = [tensors[o + 1] for o in outputs]
        multi = config.get("multi_output", len(outs) > 1)
        if multi not in (True, False) or (not multi and len(outs) != 1):
            raise ArgumentError("`multi_output` must be true for several outputs, "
                                f"false for one. Received: multi_output={multi!r} "
                                f"for {len(outs)} outputs")
        return cls(built[0].output, outs if multi else outs[0],
                   name=config.get("name"))


def _is_index(value, low: int, high: int) -> bool:
    return (isinstance(value, numbers.Integral) and not isinstance(value, bool)
            and low <= value <= high)


def _node(node, i: int, layers: int) -> tuple[int, int]:
    """``[layer index, input]`` of node ``i``, checked: the layer is one of the
    config's (not the InputLayer, 0), the input is -1 or an earlier node."""
    if not (isinstance(node, (list, tuple)) and len(node) == 2):
        raise ArgumentError(f"Node {i} of a functional model's config must be "
                            "[layer index, input node index]. Received: "
                            f"{repr(node):.100}")
    layer_index, source = node
    if not _is_index(layer_index, 1, layers - 1):
        raise ArgumentError(f"Node {i} of a functional model's config calls layer "
                            f"{repr(layer_index):.40}; it can call layers 1 to "
                            f"{layers - 1} (layer 0 is the input).")
    if not _is_index(source, -1, i - 1):
        earlier = ("no earlier node" if i == 0 else "node 0" if i == 1
                   else f"an earlier node, 0 to {i - 1}")
        raise ArgumentError(f"Node {i} of a functional model's config takes the "
                            f"output of node {repr(source):.40}; it can take -1 (the "
                            f"model's input) or {earlier}.")
    return int(layer_index), int(source)


def config_dict(config, what: str) -> dict:
    """``config`` if it is a dict, else a WrongTypeError naming ``what``."""
    if not isinstance(config, dict):
        raise WrongTypeError(f"The config of a {what} must be a dict. Received: "
                             f"{repr(config):.100}")
    return config


def config_list(config: dict, key: str, what: str) -> list:
    """``config[key]`` if it is a list, else an error naming it."""
    value = config.get(key)
    if not isinstance(value, list):
        raise WrongTypeError(f"`{key}` in the config of a {what} must be a list. "
                             f"Received: {key}={repr(value):.100}")
    return value
