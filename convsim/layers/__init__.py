"""Keras-named layers: ``from convsim import layers`` then ``layers.Conv2D(...)``.

Importing this package compiles nothing: the Numba kernels behind the layers
compile on their first call (and are cached on disk afterwards).
"""

from convsim.errors import ArgumentError, ConvsimError, WrongTypeError
from convsim.layers.activation import Activation
from convsim.layers.base import InputSpec, Layer, Variable
from convsim.layers.conv import Conv2D
from convsim.layers.dense import Dense
from convsim.layers.dropout import Dropout
from convsim.layers.flatten import Flatten
from convsim.layers.graph import KerasTensor
from convsim.layers.input import Input, InputLayer
from convsim.layers.pooling import (
    AveragePooling2D,
    AvgPool2D,
    MaxPool2D,
    MaxPooling2D,
)
from convsim.layers.rescaling import Rescaling

__all__ = [
    "CLASS_NAMES", "Activation", "AveragePooling2D", "AvgPool2D", "Conv2D", "Dense",
    "Dropout", "Flatten", "Input", "InputLayer", "InputSpec", "KerasTensor", "Layer",
    "MaxPool2D", "MaxPooling2D", "Rescaling", "Variable", "deserialize",
    "serialize", "unknown_classes",
]

_CLASSES = {cls.__name__: cls for cls in (
    Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, InputLayer,
    MaxPooling2D, Rescaling,
)}
#: The layer classes a config (``{"class_name": ...}``) may name.
CLASS_NAMES = tuple(sorted(_CLASSES))


def serialize(layer: Layer) -> dict:
    """``{"class_name": ..., "config": ...}``, the JSON form saved in model files."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """Re-create a layer from :func:`serialize`'s output, through the closed
    registry of convsim's layer classes (and your ``custom_objects``): a name
    in a config is looked up there, never imported. The class's constructor
    checks every value; its message then says which layer it was about."""
    if not isinstance(config, dict):
        raise WrongTypeError("A layer's config must be a dict {'class_name': ..., "
                             f"'config': {{...}}}}. Received: {repr(config):.200}")
    if unknown_classes([config], custom_objects):
        raise ArgumentError(
            f"Unknown layer class {repr(config.get('class_name')):.100}. convsim "
            f"knows {sorted(_CLASSES)}; pass custom_objects={{'MyLayer': MyLayer}} "
            "for your own layers.")
    cls = {**_CLASSES, **(custom_objects or {})}[config["class_name"]]
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise WrongTypeError(f"custom_objects[{config['class_name']!r}] must be a "
                             f"subclass of convsim.layers.Layer. Received: {cls!r}")
    try:
        return cls.from_config(config.get("config", {}))
    except ConvsimError as err:
        name = (config["config"].get("name") if isinstance(config.get("config"),
                                                           dict) else None)
        which = f"Layer {repr(name):.80}" if name is not None else "A layer"
        raise type(err)(f"{which} ({config['class_name']}): {err}") from err


def unknown_classes(configs, custom_objects: dict | None = None) -> list[str]:
    """The ``class_name`` of every layer config in ``configs`` that names no
    class convsim (or ``custom_objects``) has, with its position: e.g.
    ``["'Lambda' (layer 3)"]``. Empty when all can be made."""
    known = {**_CLASSES, **(custom_objects or {})}
    found = []
    for i, config in enumerate(configs):
        name = config.get("class_name") if isinstance(config, dict) else config
        if not isinstance(name, str) or name not in known:
            found.append(f"{repr(name):.60} (layer {i})")
    return found
