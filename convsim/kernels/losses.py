"""Cross-entropy losses and their gradients, one loss value per sample.

They follow Keras exactly, including its protection against ``log(0)``:

* From probabilities (``from_logits=False``), Keras first clips probabilities
  into ``[EPSILON, 1 - EPSILON]`` with ``EPSILON = 1e-7`` (categorical losses also
  rescale each row to sum to 1 first). A confident wrong answer therefore costs
  at most ``-log(1e-7) = 16.1``, never infinity. Where a value was clipped its
  gradient is 0, as for TensorFlow's clip.
* From logits (``from_logits=True``) nothing is clipped: the log-probabilities
  are computed with the log-sum-exp trick, stable for any finite logit.

Small arrays ``(batch, classes)``, so these are plain vectorised NumPy in float64
(then float32 results), which also keeps ``log`` of tiny numbers accurate.
"""

from __future__ import annotations

import numpy as np

EPSILON = 1e-7  # keras.config.epsilon()


def _log_softmax(logits):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _normalized_clipped(output):
    total = output.sum(axis=-1, keepdims=True)
    probs = output / total
    return probs, total, np.clip(probs, EPSILON, 1.0 - EPSILON)


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
    inside = (probs >= EPSILON) & (probs <= 1.0 - EPSILON)
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
    """Mean over the last axis of ``-(t log p + (1 - t) log(1 - p))``."""
    t, o = np.asarray(target, np.float64), np.asarray(output, np.float64)
    if from_logits:
        # log(1 + exp(-|z|)) never overflows; this equals the formula above with
        # p = sigmoid(z) (TensorFlow's sigmoid_cross_entropy_with_logits).
        per_unit = np.maximum(o, 0) - o * t + np.log1p(np.exp(-np.abs(o)))
    else:
        p = np.clip(o, EPSILON, 1.0 - EPSILON)
        per_unit = -(t * np.log(p) + (1.0 - t) * np.log(1.0 - p))
    return per_unit.mean(axis=-1).astype(np.float32)


def binary_crossentropy_backward(target, output, from_logits=False):
    t, o = np.asarray(target, np.float64), np.asarray(output, np.float64)
    units = o.shape[-1]
    if from_logits:
        sig = 0.5 * (1.0 + np.tanh(0.5 * o))  # sigmoid without overflow
        return ((sig - t) / units).astype(np.float32)
    inside = (o >= EPSILON) & (o <= 1.0 - EPSILON)
    p = np.clip(o, EPSILON, 1.0 - EPSILON)
    grad = np.where(inside, (p - t) / (p * (1.0 - p)), 0.0) / units
    return grad.astype(np.float32)


def _one_hot(labels, output):
    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    hot = np.zeros((labels.size, np.shape(output)[-1]), dtype=np.float64)
    hot[np.arange(labels.size), labels] = 1.0
    return hot
