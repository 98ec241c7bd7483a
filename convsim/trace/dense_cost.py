"""What Flatten hands the first Dense layer, and what pooling saves it.

The book's second reason for max pooling: without it, the last feature map
stays large, Flatten turns all of it into one long vector, and the Dense
layer after it needs one weight per number per unit. :func:`dense_cost`
works this out for any chain of layers on any input, from the layers' own
``compute_output_shape`` and the Dense layer's ``units``; no weights are made,
so asking what the cats-vs-dogs convnet would cost without pooling (1.3
billion weights, 5 GB of float32) costs nothing. :func:`without_pooling`
gives the same layers with the pooling layers left out, to compare.

>>> from convsim import layers, models
>>> model = models.Sequential([layers.Input(shape=(28, 28, 1)),
...     layers.Conv2D(8, 3), layers.MaxPooling2D(2), layers.Flatten(),
...     layers.Dense(10)])
>>> dense_cost(model.layers, (28, 28, 1)).weights       # 13*13*8 * 10
13520
>>> dense_cost(without_pooling(model.layers), (28, 28, 1)).weights
54080
"""

from __future__ import annotations

from dataclasses import dataclass

from convsim import layers
from convsim.trace.receptive_field import LayerField, receptive_fields

__all__ = ["DenseCost", "dense_cost", "without_pooling"]

POOLING = (layers.MaxPooling2D, layers.AveragePooling2D)


@dataclass(frozen=True)
class DenseCost:
    """Flatten's vector and the kernel of the Dense layer that takes it.

    Attributes:
        flat_shape: the map Flatten lays out, ``(height, width, channels)``.
        flat: the vector's length, ``height * width * channels``.
        units: the Dense layer's units.
        weights: its kernel, ``flat * units`` (the biases, ``units``, aside).
        last_map: the receptive field of the map Flatten lays out.
    """

    flat_shape: tuple
    flat: int
    units: int
    weights: int
    last_map: LayerField


def dense_cost(model_layers, input_shape) -> DenseCost | None:
    """The :class:`DenseCost` of the first Dense layer after Flatten in
    ``model_layers`` on ``(height, width, channels)`` inputs; None when there
    is no Flatten followed by a Dense layer."""
    chain = [layer for layer in model_layers
             if not isinstance(layer, layers.InputLayer)]
    fields = receptive_fields(chain, input_shape)
    kinds = [f.kind for f in fields]
    if "Flatten" not in kinds:
        return None
    flat_at = kinds.index("Flatten")
    dense = next((layer for layer, field in zip(chain, fields, strict=True)
                  if field.whole and isinstance(layer, layers.Dense)), None)
    if dense is None or flat_at == 0:
        return None
    flat = fields[flat_at]
    n = int(flat.output_shape[0])
    return DenseCost(flat.flat, n, dense.units, n * dense.units,
                     fields[flat_at - 1])


def without_pooling(model_layers) -> list:
    """The same layers (the same objects) with the pooling layers left out."""
    return [layer for layer in model_layers
            if not isinstance(layer, (*POOLING, layers.InputLayer))]
