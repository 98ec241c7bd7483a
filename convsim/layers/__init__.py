"""Keras-named layers: ``from convsim import layers`` then ``layers.Conv2D(...)``.

Importing this package compiles nothing: the Numba kernels behind the layers
compile on their first call (and are cached on disk afterwards).
"""

from convsim.errors import ArgumentError
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

__all__ = [
    "Activation", "AveragePooling2D", "AvgPool2D", "Conv2D", "Dense", "Dropout",
    "Flatten", "Input", "InputLayer", "InputSpec", "KerasTensor", "Layer",
    "MaxPool2D", "MaxPooling2D", "Variable", "deserialize", "serialize",
]

_CLASSES = {cls.__name__: cls for cls in (
    Activation, AveragePooling2D, Conv2D, Dense, Dropout, Flatten, InputLayer,
    MaxPooling2D,
)}


def serialize(layer: Layer) -> dict:
    """``{"class_name": ..., "config": ...}``, the JSON form saved in model files."""
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize(config: dict, custom_objects: dict | None = None) -> Layer:
    """Re-create a layer from :func:`serialize`'s output."""
    classes = {**_CLASSES, **(custom_objects or {})}
    name = config.get("class_name") if isinstance(config, dict) else None
    if name not in classes:
        raise ArgumentError(
            f"Unknown layer class {name!r}. convsim knows {sorted(_CLASSES)}; pass "
            "custom_objects={'MyLayer': MyLayer} for your own layers."
        )
    return classes[name].from_config(config.get("config", {}))
