"""A Keras model's architecture as convsim's, and back.

Keras describes a model as ``{"class_name": "Sequential" | "Functional",
"config": {"name", "layers": [...], ...}}``: Keras 3 in ``config.json``
(``Sequential.get_config`` in keras/src/models/sequential.py,
``Functional.get_config`` in keras/src/models/functional.py), Keras 2 in the
``model_config`` attribute of an ``.h5`` file (keras/engine/functional.py at
v2.13.1). A functional model's layers each list their calls
(``inbound_nodes``): in Keras 3 ``{"args": [keras tensor], "kwargs": {}}``
whose tensor names its ``keras_history`` ``[layer, node index, tensor
index]``, in Keras 2 ``[[layer, node index, tensor index, kwargs]]``; its
``input_layers`` and ``output_layers`` are such triples, one (Keras 3, a
single tensor) or a list. Both are read here, as ``functional_from_config``
and ``deserialize_node`` read them, but without running anything: every name
is looked up among the file's own layers and every index checked.

convsim's models take one input, and its layers one tensor each, so a
model with several inputs, a layer called on several tensors (``Add``,
``Concatenate``) or with keyword arguments is refused, named, together
with every layer convsim does not have (:mod:`.registry`).

:func:`model_to_keras` writes a convsim model as Keras 3 does, or in the
legacy form of Keras 2's ``.h5`` (``legacy=True``), which the legacy loaders
of Keras 2.13 and Keras 3 (``saving_utils.model_from_config``) both read.
"""

from __future__ import annotations

import numbers

from convsim.errors import ArgumentError, ModelFileError
from convsim.files.bounded_json import short
from convsim.models.keras.registry import (
    KERAS_LAYERS,
    Report,
    custom_problem,
    layer_from_keras,
    layer_to_keras,
    neutral,
    policy_problem,
)

__all__ = ["keras_layer_order", "model_from_keras", "model_to_keras", "refusal"]

_MODELS = {"Sequential": "Sequential", "Functional": "Functional",
           "Model": "Functional"}


def refusal(where: str, problems: list[str]) -> ModelFileError:
    """One error naming every problem, and what convsim reads."""
    return ModelFileError(
        f"{where} needs what convsim does not have: {'; '.join(problems)}. convsim "
        "reads Keras Sequential and functional models with one input, made of the "
        f"layers {sorted(set(KERAS_LAYERS.values()))}, in float32 and "
        "channels_last, without regularizers or constraints; no name in a model "
        "file is ever imported or run.")


def _damaged(where: str, what: str) -> ModelFileError:
    return ModelFileError(f"{where} is damaged or is not a Keras model file: {what}.")


# ---------------------------------------------------------------- from Keras
def model_from_keras(document, where: str) -> tuple[str, dict, list[str]]:
    """``(class name, config, notes)``: the convsim ``Sequential`` or
    ``Functional`` config of the Keras model ``document``, every layer made
    by :func:`.registry.layer_from_keras`; everything convsim cannot honour is
    refused in one :class:`ModelFileError`."""
    if not isinstance(document, dict) or not isinstance(document.get("config"),
                                                        dict):
        raise _damaged(where, f"its model config is {short(document, 60)}, not "
                       "{'class_name': ..., 'config': {...}}")
    report, name = Report(), document.get("class_name")
    config = document["config"]
    custom = custom_problem(document)
    if not isinstance(name, str) or name not in _MODELS or custom:
        raise refusal(where, [f"model class {short(name, 60)}"
                              + (f" with {custom}" if custom else "")])
    kind = _MODELS[name]
    layers = config.get("layers")
    if not isinstance(layers, list) or not layers:
        raise _damaged(where, f"its 'layers' is {short(layers, 60)}, not a list of "
                       "layers")
    problem = policy_problem(config.get("dtype"))
    report.problems += [f"the model's {problem}"] if problem else []
    converted = [layer_from_keras(entry, i, report) for i, entry in enumerate(layers)]
    graph = _graph(config, layers, where, report) if kind == "Functional" else None
    if report.problems:
        raise refusal(where, report.problems)
    out = {"name": config.get("name"), "layers": converted}
    if kind == "Sequential":  # its input: an InputLayer first, or this shape
        starts = converted[0]["class_name"] == "InputLayer"
        out["build_input_shape"] = None if starts else config.get("build_input_shape")
        return kind, out, report.notes
    order, nodes, outputs = graph
    out.update(layers=[converted[i] for i in order], nodes=nodes, outputs=outputs,
               multi_output=len(outputs) > 1)
    return kind, out, report.notes


def _graph(config: dict, layers: list, where: str, report: Report):
    """``(layer order, nodes, outputs)`` of a Keras functional config in
    convsim's terms: the InputLayer first, each node ``[layer, input node]``
    with ``-1`` for the model's input, in an order where each node comes
    after the one it reads."""
    names = [_layer_name(entry, i, where) for i, entry in enumerate(layers)]
    if len(set(names)) != len(names):
        raise _damaged(where, "two of its layers have the same name")
    inputs = _refs(config.get("input_layers"), "input_layers", where)
    outputs = _refs(config.get("output_layers"), "output_layers", where)
    if len(inputs) != 1:
        report.problems.append(f"the model takes {len(inputs)} inputs (convsim "
                               "models take one)")
        return None
    first = inputs[0][0]
    if first not in names or layers[names.index(first)].get("class_name") \
            != "InputLayer":
        raise _damaged(where, f"its input {short(first, 60)} is not one of its "
                       "InputLayers")
    order = [names.index(first)] + [i for i in range(len(names))
                                     if names[i] != first]
    position = {names[i]: k for k, i in enumerate(order)}
    calls = _calls(layers, names, first, where, report)
    if report.problems:  # a call convsim cannot make: the graph is not its
        return None
    nodes, made = _resolve(calls, position, first, where)
    out = []
    for name, node_index, tensor_index in outputs:
        if (name, node_index) not in made or tensor_index != 0:
            raise _damaged(where, f"its output {short([name, node_index])} is no "
                           "layer call of the model")
        out.append(made[(name, node_index)])
    return order, nodes, out


def _layer_name(entry, i: int, where: str) -> str:
    name = entry.get("name") if isinstance(entry, dict) else None
    if name is None and isinstance(entry, dict) and isinstance(entry.get("config"),
                                                               dict):
        name = entry["config"].get("name")
    if not isinstance(name, str):
        raise _damaged(where, f"layer {i} has no name")
    return name


def _refs(value, key: str, where: str) -> list[tuple[str, int, int]]:
    """``[(layer, node index, tensor index)]`` from ``input_layers`` or
    ``output_layers``: one triple (Keras 3's single tensor) or a list."""
    if _is_ref(value):
        value = [value]
    if not isinstance(value, list) or not value or not all(map(_is_ref, value)):
        raise _damaged(where, f"its {key} is {short(value, 80)}, not a list of "
                       "[layer name, node index, tensor index]")
    return [(name, int(node), int(tensor)) for name, node, tensor in value]


def _is_ref(value) -> bool:
    return (isinstance(value, list) and len(value) == 3
            and isinstance(value[0], str) and all(
                isinstance(v, numbers.Integral) and not isinstance(v, bool)
                and 0 <= v < 2**31 for v in value[1:]))


def _calls(layers, names, first, where, report) -> list:
    """Every layer call: ``(layer name, its node index, (source layer,
    source node index))``, after checking each takes one tensor."""
    calls = []
    for entry, name in zip(layers, names, strict=True):
        nodes = entry.get("inbound_nodes", [])
        if name == first or entry.get("class_name") == "InputLayer":
            if name != first:
                report.problems.append(f"layer {short(name, 40)} is a second "
                                       "input (convsim models take one)")
            continue
        if not isinstance(nodes, list):
            raise _damaged(where, f"the inbound_nodes of layer {short(name, 40)} "
                           "are not a list")
        for k, node in enumerate(nodes):
            source = _source(node, name, where, report)
            if source is not None:
                calls.append((name, k, source))
    return calls


def _source(node, name: str, where: str, report: Report):
    """``(layer, node index)`` that one call of layer ``name`` reads."""
    if isinstance(node, dict):  # Keras 3
        args, kwargs = node.get("args"), node.get("kwargs", {})
        tensors = args if isinstance(args, list) else None
        if tensors and len(tensors) == 1 and isinstance(tensors[0], list):
            tensors = tensors[0]
        refs = [_history(t) for t in tensors or []]
    elif isinstance(node, list):  # Keras 2: [[layer, node, tensor, kwargs]]
        refs = [item[:3] if isinstance(item, list) else None for item in node]
        kwargs = {}
        for item in node:
            if isinstance(item, list) and len(item) == 4:
                kwargs = item[3]
    else:
        raise _damaged(where, f"a call of layer {short(name, 40)} is "
                       f"{short(node, 60)}")
    if len(refs) != 1:
        report.problems.append(f"layer {short(name, 40)} is called on {len(refs)} "
                               "tensors (convsim layers take one)")
        return None
    if not _is_ref(refs[0]) or refs[0][2] != 0:
        raise _damaged(where, f"a call of layer {short(name, 40)} reads "
                       f"{short(refs[0], 60)}")
    if not isinstance(kwargs, dict) or not all(map(neutral, kwargs.values())):
        report.problems.append(f"layer {short(name, 40)} is called with arguments "
                               f"{short(kwargs, 60)} (convsim passes none)")
    return refs[0][0], int(refs[0][1])


def _history(tensor):
    """The ``keras_history`` of Keras 3's serialized tensor, else ``None``."""
    if isinstance(tensor, dict) and tensor.get("class_name") == "__keras_tensor__" \
            and isinstance(tensor.get("config"), dict):
        return tensor["config"].get("keras_history")
    return None


def _resolve(calls, position: dict, first: str, where: str):
    """``(nodes, made)``: the calls as convsim nodes ``[layer, input node]``,
    each after the node it reads, and ``made[(layer, node index)]`` = the
    convsim node of that call (``-1``: the input). Linear time: each call
    waits on the one call it reads."""
    made = {(first, 0): -1}
    waiting: dict[tuple, list] = {}
    for name, k, source in calls:
        if source[0] not in position:
            raise _damaged(where, f"layer {short(name, 40)} reads "
                           f"{short(source[0], 40)}, which is not one of its layers")
        waiting.setdefault(source, []).append((name, k))
    nodes, ready = [], [(first, 0)]
    while ready:
        source = ready.pop()
        for name, k in waiting.pop(source, []):
            if (name, k) in made:
                raise _damaged(where, f"layer {short(name, 40)} has two calls "
                               f"numbered {k}")
            nodes.append([position[name], made[source]])
            made[(name, k)] = len(nodes) - 1
            ready.append((name, k))
    if waiting:
        stuck = sorted({name for pending in waiting.values() for name, _ in pending})
        raise _damaged(where, f"the calls of {short(stuck, 80)} read calls that "
                       "never happen (a loop, or a node index out of range)")
    return nodes, made


# ---------------------------------------------------------------- to Keras
def model_to_keras(model, legacy: bool) -> dict:
    """``{"class_name", "config"}`` of the convsim ``model`` as Keras writes
    it (Keras 3's form, or Keras 2's legacy ``.h5`` form)."""
    if model._input is None:
        raise ArgumentError(f"The model {model.name!r} has no input yet, so it has "
                            "no weights to save: give its first layer an "
                            "input_shape, or build it, first.")
    input_layer = model._input.node.layer
    if type(model).__name__ == "Sequential":
        layers = [layer_to_keras(input_layer, legacy)]
        layers += [layer_to_keras(layer, legacy) for layer in model.layers]
        return {"class_name": "Sequential",
                "config": {"name": model.name, "trainable": model.trainable,
                           "layers": layers}}
    calls: dict[int, list] = {}
    numbers_of = {id(input_layer.output.node): 0}
    for node in model._nodes:
        numbers_of[id(node)] = len(calls.setdefault(id(node.layer), []))
        calls[id(node.layer)].append(node)

    def history(tensor) -> list:
        return [tensor.node.layer.name, numbers_of[id(tensor.node)], 0]

    layers = []
    for layer in keras_layer_order(model):
        entry = layer_to_keras(layer, legacy)
        entry["name"] = layer.name
        entry["inbound_nodes"] = [_node(n.input, history(n.input), legacy)
                                  for n in calls.get(id(layer), [])]
        layers.append(entry)
    outputs = [history(t) for t in model._outputs]
    inputs = history(model._input)
    config = {"name": model.name, "trainable": model.trainable, "layers": layers,
              "input_layers": [inputs] if legacy else inputs,
              "output_layers": outputs if legacy or model._multi_output
              else outputs[0]}
    return {"class_name": "Functional", "config": config}


def _node(tensor, history: list, legacy: bool):
    """One layer call as Keras writes it (``serialize_node``)."""
    if legacy:
        return [[*history, {}]]
    return {"args": [{"class_name": "__keras_tensor__", "config": {
        "shape": list(tensor.shape), "dtype": "float32", "keras_history": history}}],
        "kwargs": {}}


def keras_layer_order(model) -> list:
    """The layers of a convsim functional ``model`` in the order Keras's
    ``Functional.layers`` gives them (``map_graph`` and ``_build_map`` in
    keras/src/ops/function.py): by depth, counted from the outputs, deepest
    first; layers of one depth in the order a depth-first walk from the
    outputs first meets them. Keras saves weights in this order."""
    first_seen, finished, walked = {}, set(), []
    for output in model._outputs:
        stack = [(output.node, False)]
        while stack:
            node, done = stack.pop()
            if done:
                finished.add(id(node))
                walked.append(node)
            elif id(node) not in finished:
                first_seen.setdefault(id(node.layer), len(first_seen))
                stack.append((node, True))
                if node.input is not None:
                    stack.append((node.input.node, False))
    node_depth, layer_depth, layers = {}, {}, {}
    for node in reversed(walked):
        depth = max(node_depth.setdefault(id(node), 0),
                    layer_depth.get(id(node.layer), 0))
        layer_depth[id(node.layer)] = node_depth[id(node)] = depth
        layers[id(node.layer)] = node.layer
        if node.input is not None:
            parent = id(node.input.node)
            node_depth[parent] = max(depth + 1, node_depth.get(parent, 0))
    return sorted(layers.values(), key=lambda layer: (-layer_depth[id(layer)],
                                                      first_seen[id(layer)]))
