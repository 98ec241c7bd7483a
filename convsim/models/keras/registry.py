"""The closed mapping between Keras's layer configs and convsim's, both ways.

A Keras file names its layers (``{"class_name": "Conv2D", "config": {...}}``)
and, in Keras 3, the Python module of each (``"module": "keras.layers"``) and
the name it was registered under (``"registered_name"``). Keras imports that
module and looks the name up; convsim never does. :func:`layer_from_keras`
looks ``class_name`` up in :data:`KERAS_LAYERS` and nowhere else, and reads a
layer only if its module is Keras's own (``keras...`` or ``tf_keras...``) and
its registered name is none or the class's own: a custom class named
``Dense`` in ``module: "evil"``, or ``registered_name: "my_package>Dense"``,
is a custom object and is refused. ``Lambda`` (whose config holds Python
bytecode or a function's name), Keras 2's ``TFOpLambda``, nested models and
every other class are named in one error by the caller.

Each config key is copied, checked for the one value convsim can honour
(``groups: 1``, ``data_format: 'channels_last'``, no regularizers or
constraints, a float32 dtype policy), or refused; a key convsim does not
know is accepted only with a value that changes nothing (``None``, false,
empty), so a newer Keras's ``lora_rank: null`` loads and ``lora_rank: 8`` is
named. Every value then goes through convsim's own constructors. Initializers
only make new weights, so one convsim lacks (``Orthogonal``) is replaced by
the layer's default with a note rather than refused.

:func:`layer_to_keras` writes a convsim layer as Keras 3 writes it
(``keras/src/layers/*``'s ``get_config``; ``serialize_keras_object`` adds
``module`` and ``registered_name``), or in the legacy form of Keras 2's
``.h5`` files (``{"class_name", "config"}``, ``batch_input_shape``), which
Keras 2.13's and Keras 3's legacy loaders both read.
"""

from __future__ import annotations

import re

from convsim import activations, initializers
from convsim.errors import ArgumentError, ConvsimError
from convsim.files.bounded_json import short

__all__ = ["KERAS_LAYERS", "Report", "keras_module", "layer_from_keras",
           "layer_to_keras", "neutral", "policy_problem", "custom_problem"]

#: Keras layer class names convsim reads, and the convsim class of each.
KERAS_LAYERS = {
    "InputLayer": "InputLayer", "Conv2D": "Conv2D", "Convolution2D": "Conv2D",
    "MaxPooling2D": "MaxPooling2D", "MaxPool2D": "MaxPooling2D",
    "AveragePooling2D": "AveragePooling2D", "AvgPool2D": "AveragePooling2D",
    "Flatten": "Flatten", "Dense": "Dense", "Dropout": "Dropout",
    "Activation": "Activation", "Rescaling": "Rescaling",
}
#: Per convsim class, the Keras config keys that mean the same in convsim.
_COPIED = {
    "InputLayer": (),
    "Conv2D": ("filters", "kernel_size", "strides", "padding", "dilation_rate",
               "use_bias"),
    "Dense": ("units", "use_bias"),
    "MaxPooling2D": ("pool_size", "strides", "padding"),
    "AveragePooling2D": ("pool_size", "strides", "padding"),
    "Flatten": (), "Dropout": ("rate", "noise_shape", "seed"), "Activation": (),
    "Rescaling": ("scale", "offset"),
}
_ACTIVATED = ("Conv2D", "Dense", "Activation")
_INITIALIZED = ("Conv2D", "Dense")
_CHANNELS = ("Conv2D", "MaxPooling2D", "AveragePooling2D", "Flatten")
#: Keys convsim honours only with one value: (the value, what else means).
_MUST_BE = {"groups": 1, "data_format": "channels_last"}
_NONE_ONLY = ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
              "kernel_constraint", "bias_constraint")
#: Keys every layer may hold that need no translation.
_COMMON = ("name", "trainable", "dtype", "batch_input_shape", "batch_shape",
           "input_shape", "batch_size")
_CODE_LAYERS = ("Lambda", "TFOpLambda", "SlicingOpLambda")
_KERAS_MODULE = re.compile(r"(tf_)?keras(\.|$)")


class Report:
    """What a translation found: ``problems`` (what convsim cannot honour;
    the file is refused, all of them named at once) and ``notes`` (what was
    read differently, said to the learner)."""

    def __init__(self):
        self.problems: list[str] = []
        self.notes: list[str] = []


def neutral(value) -> bool:
    """Whether a config value convsim does not know changes nothing."""
    return value is None or value is False or value in ("", [], {}, ())


def keras_module(entry: dict) -> bool:
    """Whether a serialized object's ``module`` (if any) is Keras's own."""
    module = entry.get("module")
    return module is None or (isinstance(module, str)
                              and bool(_KERAS_MODULE.match(module)))


def custom_problem(entry: dict) -> str | None:
    """Why ``entry`` (``{"class_name", "module", "registered_name", ...}``) is
    a custom object rather than Keras's class of that name, or ``None``."""
    name, registered = entry.get("class_name"), entry.get("registered_name")
    if not keras_module(entry):
        return (f"module {short(entry.get('module'), 60)} (a custom class, "
                "not Keras's)")
    if registered is not None and registered != name:
        return f"registered name {short(registered, 60)} (a custom object)"
    return None


def policy_problem(value) -> str | None:
    """Why a dtype (or Keras 3 ``DTypePolicy``) is not float32, or ``None``."""
    if isinstance(value, dict) and value.get("class_name") in ("DTypePolicy",
                                                               "Policy"):
        config = value.get("config")
        value = config.get("name") if isinstance(config, dict) else config
    if value in (None, "float32"):
        return None
    return f"dtype {short(value, 60)} (convsim computes in float32)"


# ---------------------------------------------------------------- from Keras
def layer_from_keras(entry, index: int, report: Report) -> dict | None:
    """The convsim form ``{"class_name", "config"}`` of the Keras layer
    ``entry`` (position ``index``), or ``None`` after adding to
    ``report.problems`` why convsim cannot make it."""
    if not isinstance(entry, dict) or not isinstance(entry.get("config"), dict):
        report.problems.append(f"layer {index}: {short(entry, 60)} is not a layer "
                               "config {'class_name': ..., 'config': {...}}")
        return None
    keras_name, config = entry.get("class_name"), entry["config"]
    shown = keras_name if isinstance(keras_name, str) and keras_name.isidentifier() \
        and len(keras_name) <= 40 else short(keras_name, 40)
    label = f"layer {index} {short(config.get('name'), 40)} ({shown})"
    custom = custom_problem(entry)
    if keras_name in _CODE_LAYERS:
        report.problems.append(f"{label}: it holds Python code (bytecode or a "
                               "function's name), which convsim never runs")
        return None
    if not isinstance(keras_name, str) or keras_name not in KERAS_LAYERS or custom:
        why = custom or ("a nested model (convsim does not nest models)"
                         if keras_name in ("Sequential", "Functional", "Model")
                         else "a layer class convsim does not have")
        report.problems.append(f"{label}: {why}")
        return None
    cls = KERAS_LAYERS[keras_name]
    converted, problems = _convert(cls, config, report.notes, label)
    report.problems += [f"{label}: {p}" for p in problems]
    return None if problems else {"class_name": cls, "config": converted}


def _convert(cls: str, config: dict, notes: list, label: str):
    """``(convsim config, problems)`` for one layer's Keras ``config``."""
    out, problems = {}, []
    known = {*_COMMON, *_COPIED[cls], *_MUST_BE, *_NONE_ONLY, "activation",
             "kernel_initializer", "bias_initializer"}
    for key in _COPIED[cls]:
        if key in config:
            out[key] = _plain(config[key])
    for key in ("name", "trainable"):
        if key in config:
            out[key] = config[key]
    problem = policy_problem(config.get("dtype"))
    problems += [problem] if problem else []
    if cls == "InputLayer":
        out["batch_shape"] = config.get("batch_shape",
                                        config.get("batch_input_shape"))
    elif config.get("batch_input_shape") is not None:
        out["batch_input_shape"] = config["batch_input_shape"]
    if cls in _ACTIVATED:
        out["activation"] = _activation(config.get("activation"), problems)
    if cls in _INITIALIZED:
        for key, default in (("kernel_initializer", "glorot_uniform"),
                             ("bias_initializer", "zeros")):
            out[key] = _initializer(config.get(key, default), default, notes,
                                    f"{label}: {key}")
    problems += [f"{key}={short(config[key], 60)} (convsim has no {key})"
                 for key in _NONE_ONLY if config.get(key) is not None]
    for key, value in _MUST_BE.items():
        applies = key != "data_format" or cls in _CHANNELS
        if applies and config.get(key) not in (None, value):
            problems.append(f"{key}={short(config[key], 40)} (convsim has only "
                            f"{key}={value!r})")
    problems += [f"{key}={short(config[key], 60)}, which convsim cannot honour"
                 for key in config if key not in known and not neutral(config[key])]
    return out, problems


def _plain(value):
    """A value as plain JSON: Keras 3 writes a NumPy array given as an
    argument (``Rescaling(np.array([...]))``'s ``scale``) as ``{"class_name":
    "__numpy__", "config": {"value": [...], "dtype": ...}}``; its ``value``
    is what the argument held (the layer's constructor then checks it)."""
    if isinstance(value, dict) and value.get("class_name") == "__numpy__" \
            and isinstance(value.get("config"), dict):
        return value["config"].get("value")
    return value


def _activation(value, problems: list) -> str:
    """A Keras activation (a name, or Keras 3's ``{"class_name":
    "function", "config": name}``) as convsim's name."""
    if value is None:
        return "linear"
    name = value
    if isinstance(value, dict) and value.get("class_name") == "function" \
            and keras_module(value):
        name = value.get("config")
    if isinstance(name, str):
        try:
            return activations.get(name).name
        except ConvsimError:
            pass
    problems.append(f"activation {short(value, 60)}, which convsim does not have "
                    "(it has linear, relu, sigmoid, softmax, tanh)")
    return "linear"


def _initializer(value, default: str, notes: list, label: str):
    """A Keras initializer as convsim's, or ``default`` with a note."""
    name = value.get("class_name") if isinstance(value, dict) else value
    try:
        if isinstance(value, str):
            return initializers.serialize(initializers.get(value))
        if isinstance(value, dict) and custom_problem(value) is None \
                and isinstance(value.get("config"), dict):
            made = initializers.get(name)  # the class, with its default config
            keys = made.get_config()
            config = {k: v for k, v in value["config"].items() if k in keys}
            if all(neutral(v) for k, v in value["config"].items() if k not in keys):
                return initializers.serialize(initializers.get(
                    {"class_name": type(made).__name__, "config": config}))
    except ConvsimError:
        pass
    notes.append(f"{label} {short(name, 60)} is not one convsim has; "
                 f"'{default}' stands in (it only makes new weights: the file's "
                 "weights are loaded)")
    return default


# ---------------------------------------------------------------- to Keras
def layer_to_keras(layer, legacy: bool) -> dict:
    """The Keras config of the convsim ``layer`` (Keras 3's form, or the
    legacy ``.h5`` form when ``legacy``), without graph information."""
    cls = type(layer).__name__
    if cls not in _COPIED:
        raise ArgumentError(f"Layer {layer.name!r} is a {cls}, which Keras files "
                            "cannot hold (convsim writes the Keras layers "
                            f"{sorted(_COPIED)}); save to a convsim file (any "
                            "other extension) instead.")
    mine = layer.get_config()
    if cls == "InputLayer":
        shape = list(mine["batch_shape"])
        config = {"batch_shape": shape, "dtype": "float32", "sparse": False,
                  "ragged": False, "name": layer.name}
        if legacy:
            config["batch_input_shape"] = config.pop("batch_shape")
        return _serialized(cls, config, legacy, "keras.layers")
    config = {"name": layer.name, "trainable": layer.trainable, "dtype": "float32"}
    config.update({key: mine[key] for key in _COPIED[cls]})
    if cls in _CHANNELS:
        config["data_format"] = "channels_last"
    if cls == "Conv2D":
        config["groups"] = 1
    if cls in _ACTIVATED:
        config["activation"] = mine["activation"]
    if cls in _INITIALIZED:
        for key in ("kernel_initializer", "bias_initializer"):
            value = mine[key]
            config[key] = _serialized(value["class_name"], value["config"], legacy,
                                      "keras.initializers")
        config.update({key: None for key in _NONE_ONLY
                       if key != "activity_regularizer" or cls == "Conv2D"})
    return _serialized(cls, config, legacy, "keras.layers")


def _serialized(cls: str, config: dict, legacy: bool, module: str) -> dict:
    """``{"class_name", "config"}``, plus Keras 3's ``module`` and
    ``registered_name`` unless ``legacy``."""
    if legacy:
        return {"class_name": cls, "config": config}
    return {"module": module, "class_name": cls, "config": config,
            "registered_name": None}
