"""``models.Sequential`` and the functional ``models.Model``, as in Keras.

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(28, 28, 1)))
    ...
    model.summary()

A model is a graph of layer calls on symbolic tensors (see
:mod:`convsim.layers.base`). ``Sequential`` is the special case of a chain; the
functional ``Model(inputs=..., outputs=[...])`` can pick any tensors of an
existing graph, which is how the book's activation model reads the outputs of
the first 8 layers of a trained convnet.

Training (compile/fit/evaluate/predict) lives in :mod:`convsim.training`,
files in :mod:`convsim.saving`.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table

from convsim import saving
from convsim.layers import deserialize, serialize
from convsim.layers.base import KerasTensor, Layer, nodes_between, unique_name
from convsim.layers.core import InputLayer
from convsim.training import Trainer

__all__ = ["Model", "Sequential", "load_model"]

load_model = saving.load_model


class Model(Trainer):
    """A functional model: ``Model(inputs=input_tensor, outputs=tensor_or_list)``.

    ``predict`` returns one array, or a list of arrays when ``outputs`` is a list.
    """

    def __init__(self, inputs=None, outputs=None, name=None, trainable=True):
        self.name = name or unique_name(_default_name(self))
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
                raise ValueError("convsim models take exactly one input tensor. "
                                 f"Received {len(inputs)}.")
            inputs = inputs[0]
        if not isinstance(inputs, KerasTensor):
            raise TypeError("`inputs` must be a symbolic tensor such as "
                            f"layers.Input(shape) or model.input. Received: {inputs!r}")
        self._multi_output = isinstance(outputs, (list, tuple))
        outputs = list(outputs) if self._multi_output else [outputs]
        if not outputs or not all(isinstance(o, KerasTensor) for o in outputs):
            raise TypeError("`outputs` must be a symbolic tensor (e.g. layer.output) "
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
        raise ValueError(f"No such layer: {name}. Existing layers are: "
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
            raise ValueError(f"You called `set_weights(weights)` on model "
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
            raise ValueError(f"Input 0 of model '{self.name}' is incompatible: "
                             f"expected shape {expected}, found shape {got}")

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
            raise ValueError("convsim can only train models with a single output.")
        if len({id(n.layer) for n in self._nodes}) != len(self._nodes):
            raise ValueError("convsim cannot train a model that calls the same "
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
        table = Table(box=box.HEAVY_HEAD, show_lines=False)
        table.add_column("Layer (type)", no_wrap=True)
        table.add_column("Output Shape", no_wrap=True)
        table.add_column("Param #", justify="right", no_wrap=True)
        for layer in self._summary_layers():
            shape = str(self._summary_shape(layer)) if layer.built else "?"
            params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
            table.add_row(f"{layer.name} ({type(layer).__name__})", shape, params)
        trainable = sum(int(w.value.size) for w in self.trainable_weights)
        frozen = sum(int(w.value.size) for w in self.non_trainable_weights)
        total = trainable + frozen
        lines = []
        opt = self.optimizer
        opt_params = opt.count_params() if opt is not None and opt.built else 0
        lines.append(f" Total params: {_count(total + opt_params)}")
        lines.append(f" Trainable params: {_count(trainable)}")
        lines.append(f" Non-trainable params: {_count(frozen)}")
        if opt_params:
            lines.append(f" Optimizer params: {_count(opt_params)}")
        if print_fn is not None:
            recorder = Console(width=line_length or 100, record=True,
                               color_system=None, file=io.StringIO())
            _print_summary(recorder, self.name, table, lines)
            for line in recorder.export_text().splitlines():
                print_fn(line)
            return
        _print_summary(console or Console(), self.name, table, lines)

    def _summary_layers(self):
        return self.layers

    def _summary_shape(self, layer):
        return layer._inbound_nodes[0].output.shape if layer._inbound_nodes else "?"

    # ------------------------------------------------------------ files
    def save(self, filepath, overwrite=True, **kwargs):
        """Save architecture, weights, optimizer state (see :mod:`convsim.saving`)."""
        saving.save_model(self, filepath, overwrite=overwrite)

    def save_weights(self, filepath, overwrite=True):
        saving.save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath):
        saving.load_weights(self, filepath)

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
        built = [deserialize(c, custom_objects) for c in config["layers"]]
        model_input = built[0].output
        tensors = []
        for layer_index, source in config["nodes"]:
            parent = model_input if source == -1 else tensors[source]
            tensors.append(built[layer_index](parent))
        outs = [model_input if i == -1 else tensors[i] for i in config["outputs"]]
        return cls(model_input, outs if config["multi_output"] else outs[0],
                   name=config["name"])


class Sequential(Model):
    """A plain stack of layers, each feeding the next.

    Args:
        layers: optional list of layers (same as calling :meth:`add` for each).
        name: model name (default ``sequential``, ``sequential_1``, ...).
    """

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
                raise ValueError("An Input must come first in a Sequential model.")
            self._input = layer.output
            self.built = True
            return
        if not isinstance(layer, Layer):
            raise TypeError("Only instances of `convsim.layers.Layer` can be added "
                            f"to a Sequential model. Received: {layer!r} (of type "
                            f"{type(layer).__name__})")
        if any(existing.name == layer.name for existing in self._layers):
            raise ValueError("All layers added to a Sequential model should have "
                             f"unique names. Name '{layer.name}' is already the name "
                             "of a layer in this model. Update the `name` argument "
                             "to pass a unique name.")
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
            raise TypeError("There are no layers in the model.")
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
                raise ValueError("You must provide an `input_shape` argument.")
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
        model = cls(name=config["name"])
        if config.get("build_input_shape") is not None:
            model.add(InputLayer(batch_shape=tuple(config["build_input_shape"])))
        for layer_config in config["layers"]:
            model.add(deserialize(layer_config, custom_objects))
        return model


def _default_name(model) -> str:
    return "sequential" if isinstance(model, Sequential) else "functional"


def _count(n: int) -> str:
    size = float(n * 4)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{n:,} ({size:.2f} {unit})"
        size /= 1024
    return f"{n:,}"  # pragma: no cover


def _print_summary(console, name, table, lines):
    console.print(f'Model: "{name}"', style="bold", highlight=False)
    console.print(table)
    for line in lines:
        console.print(line, highlight=False)
