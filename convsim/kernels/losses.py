"""Cross-entropy losses and their gradients, one loss value per sample.

They follow Keras 3, including its protection against ``log(0)``:

* From probabilities (``from_logits=False``), Keras clips probabilities into
  ``[epsilon, 1 - epsilon]`` with ``epsilon = 1e-7`` (categorical losses rescale
  each row to sum to 1 first), then takes ``log`` of the clipped values: no
  epsilon is added inside the log. That is ``binary_crossentropy`` and
  ``categorical_crossentropy`` in keras/src/backend/tensorflow/nn.py (Keras
  3.15.1; ``tf.clip_by_value(output, epsilon(), 1.0 - epsilon())``), and the
  numpy, jax and torch backends clip the same way. (Keras 2's keras/backend.py
  also added epsilon inside the log: ``log(output + epsilon())``; Keras 3 no
  longer does.)
* The clip happens on float32 tensors, so its bounds are float32 numbers:
  ``CLIP_LOW = float32(1e-7) = 1.0000000117e-07`` and ``CLIP_HIGH =
  float32(1 - 1e-7) = 1 - 2**-23 = 0.99999988``. A confident wrong answer
  therefore costs ``-log(CLIP_LOW) = 16.118`` (label 1, probability 0) or
  ``-log(1 - CLIP_HIGH) = 23 log 2 = 15.942`` (label 0, probability 1), never
  infinity; Keras 3.15.1 (run with its torch backend) prints 16.118095 and
  15.942385.
* Where a value was clipped its gradient is 0, as for TensorFlow's clip, which
  zeroes it only strictly outside the bounds: a value exactly on a bound keeps
  its gradient (Keras 3.15.1 gives 2**23 at exactly CLIP_HIGH with label 0, and
  0 one float32 step above).
* From logits (``from_logits=True``) nothing is clipped: the log-probabilities
  are computed with the log-sum-exp trick, stable for any finite logit.

Small arrays ``(batch, classes)``, so these are plain vectorised NumPy in float64
(then float32 results), which also keeps ``log`` of tiny numbers accurate. Only
the clip bounds are float32, as in Keras; the row rescaling, ``1 - p``, the logs
and the sums stay float64. Keras computes those in float32, so it rounds at each
step (most visibly ``1 - p`` for a small ``p``, where a loss near 0 can be off
by a few percent); convsim gives the exact value of the same clipped formula.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # keras.config.epsilon()
# Keras clips float32 tensors, so the bounds it uses are EPSILON and 1 - EPSILON
# rounded to float32 (see the module docstring).
CLIP_LOW = float(np.float32(EPSILON))  # 1.0000000116860974e-07
CLIP_HIGH = float(np.float32(1.0 - EPSILON))  # 0.99999988079071044921875


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _normalized_clipped(output):
    total = output.sum(axis=-1, keepdims=True)
    probs = output / total
    return probs, total, np.clip(probs, CLIP_LOW, CLIP_HIGH)


def categorical_crossentropy(target, output, from_logits=False):
    """``-sum(target * log(p))`` per row; ``target`` one-hot (or soft) labels."""
    t, o = np.asarray(target, np.float64), np.asarray(output, np.float64)
    if from_logits:
        return (-(t * _log_softmax(o)).sum(axis=-1)).astype(np.float32)
    _, _, clipped = _normalized_clipped(o)
    return (-(t * np.log(clipped)).sum(axis=-1)).astype(np.float32)


def categorical_crossentropy_backward(target, output, from_logits=False):
    """Gradient of each row's loss with respect to ``output``."""
    t, o = np.asarray(target, np.float64), np.asarray(output, np.float64)
    if from_logits:
        probs = np.exp(_log_softmax(o))
        return (probs * t.sum(axis=-1, keepdims=True) - t).astype(np.float32)
    probs, total, clipped = _normalized_clipped(o)
    inside = (probs >= CLIP_LOW) & (probs <= CLIP_HIGH)
    g = np.where(inside, -t / clipped, 0.0)  # dL/d(normalised probs)
    # through the normalisation q = p / sum(p): dq_j/dp_i = (delta_ij - q_j) / sum(p)
    grad = (g - (g * probs).sum(axis=-1, keepdims=True)) / total
    return grad.astype(np.float32)


def sparse_categorical_crossentropy(target, output, from_logits=False):
    """Like :func:`categorical_crossentropy` with integer class labels ``(batch,)``."""
    return categorical_crossentropy(_one_hot(target, output), output, from_logits)


def sparse_categorical_crossentropy_backward(target, output, from_logits=False):
    return categorical_crossentropy_backward(
        _one_hot(target, output), output, from_logits
    )


def binary_crossentropy(target, output, from_logits=False):
    """Mean over the last axis of ``-(t log p + (1 - t) log(1 - p))``.

    Probabilities are clipped to ``[CLIP_LOW, CLIP_HIGH]`` first (float32 bounds,
    as Keras 3), then the logs and the mean are float64:

    >>> float(binary_crossentropy([[0.0, 1.0]], [[1.0, 0.0]])[0])  # 2 wrong
    16.03024...
    """
    t, o = np.asarray(target, np.float64), np.asarray(output, np.float64)
    if from_logits:
        # log(1 + exp(-|z|)) never overflows; this equals the formula above with
        # p = sigmoid(z) (TensorFlow's sigmoid_cross_entropy_with_logits).
        per_unit = np.maximum(o, 0) - o * t + np.log1p(np.exp(-np.abs(o)))
    else:
        p = np.clip(o, CLIP_LOW, CLIP_HIGH)
        per_unit = -(t * np.log(p) + (1.0 - t) * np.log(1.0 - p))
    return per_unit.mean(axis=-1).astype(np.float32)


def binary_crossentropy_backward(target, output, from_logits=False):
    t, o = np.asarray(target, np.float64), np.asarray(output, np.float64)
    units = o.shape[-1]
    if from_logits:
        sig = 0.5 * (1.0 + np.tanh(0.5 * o))  # sigmoid without overflow
        return ((sig - t) / units).astype(np.float32)
    inside = (o >= CLIP_LOW) & (o <= CLIP_HIGH)  # clipped values: gradient 0
    p = np.clip(o, CLIP_LOW, CLIP_HIGH)
    grad = np.where(inside, (p - t) / (p * (1.0 - p)), 0.0) / units
    return grad.astype(np.float32)


def _one_hot(labels, output):
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    hot = np.zeros((labels.size, np.shape(output)[-1]), dtype=np.float64)
    hot[np.arange(labels.size), labels] = 1.0
    return hot
