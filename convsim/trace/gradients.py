"""The gradient of one number of a model, with respect to its input or to a
layer's output, from the model's own layers.

The last pictures of chapter 5 ask a trained convnet questions with gradients:

* "what input excites this filter most?": the gradient of a filter's mean
  activation with respect to the input image, climbed step by step (gradient
  ascent, :mod:`convsim.trace.patterns`);
* "where in this image did the class come from?": the gradient of a class's
  score with respect to the last convolution layer's output (Grad-CAM,
  :mod:`convsim.trace.gradcam`).

Keras asks TensorFlow's automatic differentiation. convsim needs none: every
layer already has the backward pass training uses. :func:`gradient` runs the
model's real layers forward, then their ``backward`` from the chosen number
down to where the gradient is wanted. It is the training step's chain rule,
with two differences:

* the model is in *inference* mode, as ``predict`` runs it: layers that
  compute differently while training (Dropout drops units) are called with
  ``training=False`` (Dropout then passes the gradient through unchanged);
  every other layer is called with ``training=True`` only so that it keeps
  what its ``backward`` needs;
* the model is left exactly as it was: its weights are never written, and
  each weight's ``.grad`` and what each layer remembered for its backward pass
  are put back afterwards, so a training loop around it is not disturbed.

The number (an :class:`Objective`) is the mean over positions of one channel
of one layer's output, optionally before the layer's activation and with its
sign flipped: a filter's mean activation (:func:`filter_mean`) and a class's
score before softmax or sigmoid (:func:`class_score`, a ``Dense`` unit: one
"position") are both of this form. In a batch every image may ask about its
own channel, so 16 filters are climbed at once as 16 images.

>>> from convsim import layers, models
>>> model = models.Sequential([layers.Input(shape=(3, 3, 1)),
...     layers.Conv2D(1, 2, kernel_initializer="ones", name="conv")])
>>> g = gradient(model, np.ones((1, 3, 3, 1)), filter_mean(model, "conv", 0))
>>> float(g.values[0]), g.grad[0, :, :, 0].tolist()
(4.0, [[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]])
"""

from __future__ import annotations

import contextlib
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from convsim import layers
from convsim.errors import ArgumentError, NotReadyError, WrongTypeError
from convsim.trace.model import _chain
from convsim.validation import as_float32

__all__ = ["Gradient", "Objective", "class_score", "filter_mean", "gradient",
           "last_layer", "model_layers"]

#: Layers whose ``call(training=True)`` would change the numbers, not only
#: remember them: they run as ``predict`` runs them.
INFERENCE_ONLY = (layers.Dropout,)


@dataclass(frozen=True)
class Objective:
    """One number per image: ``sign * mean(output[..., channel])`` of ``layer``.

    ``output`` is the layer's output, or with ``before_activation`` its linear
    part ``z`` (``activation(z)`` is the output); the mean runs over every
    axis but the batch and the channels (a ``Dense`` output has none, so the
    number is the unit itself). ``channels`` holds one channel per image, or
    one for all.
    """

    layer: layers.Layer
    channels: int | tuple[int, ...]
    before_activation: bool = False
    sign: int = 1


@dataclass(frozen=True)
class Gradient:
    """What :func:`gradient` found.

    Attributes:
        values: ``(batch,)`` the objective for each image.
        wrt: ``"input"`` or the name of the layer whose output ``at`` is.
        at: ``(batch, ...)`` where the gradient was taken: the input images
            or that layer's output.
        grad: ``d values[i] / d at[i]`` for each image ``i``, shaped like ``at``.
    """

    values: np.ndarray
    wrt: str
    at: np.ndarray
    grad: np.ndarray


def model_layers(model) -> list[layers.Layer]:
    """The model's layers in the order an image goes through them (the input
    layer left out); a model whose layers do not form one chain is refused."""
    return _chain(model)


def _find(model, layer) -> tuple[int, layers.Layer]:
    """``(position in the chain, layer)`` for a layer or a layer's name."""
    chain = model_layers(model)
    for i, candidate in enumerate(chain):
        if candidate is layer or (isinstance(layer, str) and candidate.name == layer):
            return i, candidate
    raise ArgumentError(f"`layer` must be one of the layers of model "
                        f"'{model.name}', or its name: {[c.name for c in chain]}. "
                        f"Received: layer={getattr(layer, 'name', layer)!r}")


def last_layer(model, kind: type, what: str) -> layers.Layer:
    """The last layer of type ``kind`` on the model's chain (``what`` names it
    in the error when there is none)."""
    found = [layer for layer in model_layers(model) if isinstance(layer, kind)]
    if not found:
        raise ArgumentError(f"Model '{model.name}' has no {what}: its layers are "
                            f"{[layer.name for layer in model_layers(model)]}.")
    return found[-1]


def _channel_count(layer) -> int:
    shape = layer.output.shape if layer._inbound_nodes else None
    if shape is None or shape[-1] is None:
        raise NotReadyError(f"Layer '{layer.name}' has no known output shape: give "
                            "the model an input shape (layers.Input) first.")
    return int(shape[-1])


def _channels(value, count: int, name: str, layer) -> int | tuple[int, ...]:
    """One channel index (or a sequence of them) in ``[0, count)``."""
    many = isinstance(value, (Sequence, np.ndarray)) and not isinstance(value, str)
    values = list(value) if many else [value]
    bad = [v for v in values if not isinstance(v, numbers.Integral)
           or isinstance(v, (bool, np.bool_)) or not 0 <= v < count]
    if bad or not values:
        raise ArgumentError(f"`{name}` must be an integer from 0 to {count - 1} (layer "
                            f"'{layer.name}' has {count}), or one per image. "
                            f"Received: {name}={value!r}")
    return tuple(int(v) for v in values) if many else int(values[0])


def filter_mean(model, layer, channel) -> Objective:
    """The mean activation of filter ``channel`` of ``layer`` (a layer of the
    model or its name): the book's ``K.mean(layer_output[:, :, :, channel])``.
    ``channel`` may also hold one filter per image of the batch."""
    _, found = _find(model, layer)
    return Objective(found, _channels(channel, _channel_count(found), "channel",
                                      found))


def class_score(model, index, sign: int = 1) -> Objective:
    """The score of class ``index`` *before* softmax or sigmoid: unit ``index``
    of the last ``Dense`` layer's linear part (its logit).

    Grad-CAM uses the score rather than the probability: a softmax probability
    near 1 is flat, so its gradient says little. For a binary model with one
    sigmoid unit (the book's cats vs dogs) the logit speaks for class 1 (dog)
    and ``sign=-1`` turns it into class 0's (cat's) score.
    """
    if sign not in (1, -1) or isinstance(sign, bool):
        raise ArgumentError(f"`sign` must be 1 or -1. Received: sign={sign!r}")
    dense = last_layer(model, layers.Dense, "Dense layer to read class scores from")
    return Objective(dense, _channels(index, _channel_count(dense), "index", dense),
                     before_activation=True, sign=int(sign))


def gradient(model, inputs, objective: Objective, wrt=None) -> Gradient:
    """The gradient of ``objective`` with respect to the input images
    (``wrt=None``) or to the output of layer ``wrt`` (a layer or its name, at
    or before the objective's layer).

    Args:
        model: a convsim model whose layers form one chain (the book's models).
        inputs: ``(batch, height, width, channels)`` images as the model takes
            them (for the book's models: pixels scaled to 0..1).
        objective: from :func:`filter_mean` or :func:`class_score`.
        wrt: where to stop: ``None`` for the input.

    Returns:
        A :class:`Gradient`; each image's gradient is that of its own number
        (images in a batch never mix in these models).
    """
    if not isinstance(objective, Objective):
        raise WrongTypeError("`objective` must come from filter_mean() or "
                             f"class_score(). Received: {objective!r}")
    chain = model_layers(model)
    top, target = _find(model, objective.layer)
    bottom = -1 if wrt is None else _find(model, wrt)[0]
    if bottom > top or (bottom == top and objective.before_activation):
        raise ArgumentError(
            f"`wrt` must be a layer before '{target.name}' (the objective's layer"
            f"{'' if objective.before_activation else ', or that layer itself'}). "
            f"Received: wrt={chain[bottom].name!r}")
    x = _batch(model, inputs)
    channels = _per_image(objective.channels, len(x))
    with untouched(chain[:top + 1]):
        seen = [x]  # seen[i + 1]: the output of chain[i]
        for layer in chain[:top + 1]:
            seen.append(layer(seen[-1], training=not isinstance(
                layer, INFERENCE_ONLY)))
        out = target.linear(seen[top]) if objective.before_activation else seen[-1]
        values, grad = _seed(out, channels, objective.sign)
        for i in range(top, bottom, -1):
            if i == top and objective.before_activation:
                grad = chain[i].backward_from_logits(grad)
            else:
                grad = chain[i].backward(grad)
    wrt_name = "input" if bottom < 0 else chain[bottom].name
    return Gradient(values, wrt_name, seen[bottom + 1], np.asarray(grad, np.float32))


def _batch(model, inputs) -> np.ndarray:
    """``inputs`` as a batch of the model's input shape."""
    x = as_float32(inputs, "inputs")
    try:
        expected = tuple(model.input.shape)
    except AttributeError:
        raise NotReadyError(f"Model '{model.name}' has no input shape yet: give it "
                            "one (layers.Input) before asking for gradients."
                            ) from None
    if x.ndim != len(expected) or len(x) == 0 or any(
            e is not None and e != n for e, n in zip(expected[1:], x.shape[1:],
                                                     strict=True)):
        raise ArgumentError(f"`inputs` must be a non-empty batch shaped {expected} "
                            f"for model '{model.name}'. Received: "
                            f"inputs.shape={x.shape}")
    if not np.all(np.isfinite(x)):
        raise ArgumentError("`inputs` holds NaN or infinite values.")
    return x


def _per_image(channels, batch: int) -> np.ndarray:
    if isinstance(channels, tuple):
        if len(channels) != batch:
            raise ArgumentError(f"`objective` asks about {len(channels)} channels, "
                                f"one per image, so `inputs` must hold "
                                f"{len(channels)} images. Received: {batch} images")
        return np.array(channels)
    return np.full(batch, channels)


def _seed(out: np.ndarray, channels: np.ndarray, sign: int):
    """Each image's number and ``d number / d out``: ``sign / positions`` on
    its channel, 0 elsewhere (the derivative of a mean is 1/count)."""
    batch = np.arange(len(out))
    chosen = np.moveaxis(out, -1, 1)[batch, channels]  # (batch, *positions)
    positions = chosen[0].size
    values = sign * chosen.reshape(len(out), -1).mean(axis=1, dtype=np.float64)
    seed = np.zeros_like(out)
    np.moveaxis(seed, -1, 1)[batch, channels] = np.float32(sign / positions)
    return values, seed


@contextlib.contextmanager
def untouched(chain: Sequence[layers.Layer]) -> Iterator[None]:
    """Put back, afterwards, what a forward and backward pass change in these
    layers: each weight's ``.grad`` and the attributes a layer keeps for its
    backward pass (its last inputs, masks, activations). Weights themselves
    are only read."""
    kept = [(layer, dict(vars(layer))) for layer in chain]
    grads = [(w, w.grad) for layer in chain for w in layer.weights]
    try:
        yield
    finally:
        for layer, attributes in kept:
            vars(layer).clear()
            vars(layer).update(attributes)
        for weight, grad in grads:
            weight.grad = grad
