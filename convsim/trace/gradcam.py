"""Where a trained convnet looked: Grad-CAM, a class activation map (book 5.4.3).

The last convolution layer's output is a stack of maps, each saying where in
the image one learned pattern is. Grad-CAM asks which of those patterns matter
for one class, and then where they are:

1. ``maps``: the last convolution layer's output for the image,
   ``(rows, cols, channels)``;
2. ``grads``: the gradient of the class's score with respect to those maps
   (:func:`~convsim.trace.gradients.gradient`): how much the score would rise
   if a cell of a map grew;
3. ``weights``: each channel's gradient averaged over the map's positions,
   one number per channel: how much that channel matters for the class;
4. ``raw``: the maps weighted by those numbers and averaged over the channels;
5. ReLU keeps only the places that speak *for* the class, and dividing by the
   largest value puts the map in 0..1 (all zeros if nothing speaks for it:
   never a division by zero);
6. the small map is stretched to the input's size with bilinear
   interpolation (:func:`resize_bilinear`), to be drawn over the image.

The score is the class's logit, *before* softmax or sigmoid, as in Grad-CAM's
paper (Selvaraju et al., 2017) and the Keras example by the book's author. The
book's listing takes the softmax probability: near a probability of 1 the
softmax is flat, and its gradient fades away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convsim import layers
from convsim.errors import ArgumentError
from convsim.trace.gradients import class_score, gradient, last_layer
from convsim.validation import as_float32

__all__ = ["ClassMap", "grad_cam", "predicted_class", "resize_bilinear"]


@dataclass(frozen=True)
class ClassMap:
    """Grad-CAM for one image and one class (module docstring, steps 1-6).

    Attributes:
        layer: the convolution layer whose maps are weighted.
        index, sign: the class: unit ``index`` of the last Dense layer, its
            logit times ``sign`` (-1: class 0 of a one-unit sigmoid model).
        score: that logit times ``sign``.
        maps, grads: ``(rows, cols, channels)`` the layer's output and the
            score's gradient with respect to it.
        weights: ``(channels,)`` the mean of ``grads`` over positions.
        raw: ``(rows, cols)`` the weighted maps, averaged over channels.
        peak: the largest value of ``relu(raw)`` (0: nothing for the class).
        cam: ``(rows, cols)`` ``relu(raw) / peak`` in 0..1.
        heatmap: ``(height, width)`` ``cam`` resized to the input, 0..1.
    """

    layer: str
    index: int
    sign: int
    score: float
    maps: np.ndarray
    grads: np.ndarray
    weights: np.ndarray
    raw: np.ndarray
    peak: float
    cam: np.ndarray
    heatmap: np.ndarray


def predicted_class(model, image) -> tuple[int, int, np.ndarray]:
    """``(index, sign, probabilities)`` of the class the model predicts for one
    ``image`` ``(height, width, channels)``: the largest softmax output, or,
    for one sigmoid unit, class 1 (``sign=1``) above 0.5 and class 0
    (``sign=-1``) otherwise."""
    x = as_float32(image, "image")[None]
    probabilities = np.asarray(model(x, training=False), np.float64)[0]
    if probabilities.shape == (1,):
        return 0, (1 if probabilities[0] > 0.5 else -1), probabilities
    return int(np.argmax(probabilities)), 1, probabilities


def grad_cam(model, image, index: int | None = None, sign: int = 1,
             layer=None) -> ClassMap:
    """Grad-CAM of ``image`` ``(height, width, channels)`` for class ``index``
    (default: the predicted class, and its sign for a one-unit sigmoid
    model), on ``layer`` (default: the last Conv2D layer)."""
    x = as_float32(image, "image", ndim=3)
    if index is None:
        index, sign, _ = predicted_class(model, x)
    conv = layer if layer is not None else last_layer(
        model, layers.Conv2D, "Conv2D layer (Grad-CAM weights its maps)")
    found = gradient(model, x[None], class_score(model, index, sign), wrt=conv)
    maps, grads = found.at[0].astype(np.float64), found.grad[0].astype(np.float64)
    if maps.ndim != 3:
        raise ArgumentError(f"Grad-CAM needs a layer with maps (rows, cols, "
                            f"channels); layer '{found.wrt}' gives shape "
                            f"{maps.shape}. Received: layer={found.wrt!r}")
    weights = grads.mean(axis=(0, 1))
    raw = (maps * weights).mean(axis=-1)
    kept = np.maximum(raw, 0.0)
    peak = float(kept.max())
    cam = kept / peak if peak > 0 else np.zeros_like(kept)
    heatmap = resize_bilinear(cam, x.shape[:2])
    return ClassMap(found.wrt, int(index), int(sign), float(found.values[0]),
                    maps, grads, weights, raw, peak, cam, heatmap)


def resize_bilinear(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``values`` ``(rows, cols)`` resized to ``size`` ``(height, width)`` by
    bilinear interpolation, as OpenCV's ``cv2.resize`` (the book's), PIL's
    bilinear and PyTorch's ``align_corners=False`` do it: every cell is a
    square whose centre holds its value; an output pixel takes its centre's
    place in the input, ``(i + 0.5) * rows / height - 0.5``, and mixes the
    two nearest centres on each axis by distance. Past the outer centres the
    edge value is kept.
    """
    values = np.asarray(values, dtype=np.float64)
    out = values
    for axis, new in enumerate(size):
        old = values.shape[axis]
        where = np.clip((np.arange(new) + 0.5) * old / new - 0.5, 0, old - 1)
        low = np.floor(where).astype(int)
        high = np.minimum(low + 1, old - 1)
        frac = (where - low).reshape([-1 if a == axis else 1 for a in range(2)])
        out = (np.take(out, low, axis=axis) * (1 - frac)
               + np.take(out, high, axis=axis) * frac)
    return out
