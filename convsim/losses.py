"""Loss functions by Keras name: ``loss='categorical_crossentropy'`` and friends.

A loss object gives one value per sample (:meth:`Loss.per_sample`) and its
gradient (:meth:`Loss.gradient`); ``loss(y_true, y_pred)`` is the batch mean,
which is what Keras reports and what ``fit`` minimises. The arithmetic lives in
:mod:`convsim.kernels.losses`: Keras 3 semantics (``binary_crossentropy`` and
``categorical_crossentropy`` of keras/src/backend/tensorflow/nn.py), clipping
probabilities to ``[1e-7, 1 - 1e-7]`` rounded to float32, as Keras's float32
tensors are, i.e. ``[1.0000000117e-07, 0.99999988]``: a probability of exactly 1
for a label 0 costs ``-log(1 - 0.99999988) = 15.942``, one of exactly 0 for a
label 1 costs ``-log(1.0000000117e-07) = 16.118``. The logs and the means are
float64.

Cross-entropies after a softmax/sigmoid output layer are computed *from the
logits* during training and evaluation (see :attr:`Loss.fused_activation`):
the gradient becomes ``probabilities - labels``, exact and stable, as in
TensorFlow's Keras.
"""

from __future__ import annotations

import numpy as np

from convsim.errors import ArgumentError
from convsim.kernels import losses as _k
from convsim.runtime import kernel_call
from convsim.validation import (
    binary_labels,
    check_bool,
    check_float,
    finite_values,
    from_config_dict,
    output_array,
    probability_rows,
    sparse_targets,
    targets_like,
    unknown_identifier,
)

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Loss",
           "MeanSquaredError", "SparseCategoricalCrossentropy", "get"]


class Loss:
    """Base class. Subclasses implement ``_values`` and ``_grads``, and
    ``check_targets`` when their labels follow a rule of their own."""

    fused_activation: str | None = None  # output activation it can fold in

    def __init__(self, name: str, from_logits: bool = False):
        self.name = name
        self.from_logits = check_bool(from_logits, "from_logits")

    def __call__(self, y_true, y_pred) -> float:
        values = self.per_sample(y_true, y_pred)
        if values.size == 0:
            raise ArgumentError("The mean loss of no samples is undefined. Received: "
                                f"y_pred.shape={np.shape(y_pred)}")
        return float(np.mean(values))

    @kernel_call
    def per_sample(self, y_true, y_pred, from_logits=None) -> np.ndarray:
        """Loss of each sample, ``(batch,)``."""
        y_pred = output_array(y_pred)
        t = self.prepare_targets(y_true, y_pred)
        return self._values(t, y_pred, self._logits(from_logits))

    @kernel_call
    def gradient(self, y_true, y_pred, from_logits=None) -> np.ndarray:
        """d(loss of each sample)/d(y_pred); divide by the batch size for the mean."""
        y_pred = output_array(y_pred)
        t = self.prepare_targets(y_true, y_pred)
        return self._grads(t, y_pred, self._logits(from_logits))

    def _logits(self, from_logits):
        if from_logits is None:
            return self.from_logits
        return check_bool(from_logits, "from_logits")

    def check_targets(self, y_true, output_shape) -> np.ndarray:
        """``y_true`` checked for a model output of ``output_shape`` (the whole
        dataset at once, if you like, before training): for this loss, finite
        numbers shaped like the output."""
        return finite_values(targets_like(y_true, tuple(output_shape)))

    def prepare_targets(self, y_true, y_pred) -> np.ndarray:
        """The checked targets as the kernels take them (float32, output's shape)."""
        return self.check_targets(y_true, y_pred.shape)

    def get_config(self) -> dict:
        return {"name": self.name, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class CategoricalCrossentropy(Loss):
    """``-sum(y_true * log(y_pred))`` per sample, for one-hot labels.

    Use it after ``to_categorical``; for integer labels use
    :class:`SparseCategoricalCrossentropy`. Soft labels are fine, as in Keras
    (``label_smoothing`` makes them; so may you); each row must be a probability
    distribution, ``>= 0`` and summing to 1. Keras computes a cross-entropy from
    any numbers without a word (a row ``[1, 1, 0]``, a NaN); convsim refuses
    them (:func:`convsim.validation.probability_rows`).
    """

    fused_activation = "softmax"

    def __init__(self, from_logits=False, label_smoothing=0.0,
                 name="categorical_crossentropy"):
        super().__init__(name, from_logits)
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0, 1)

    def check_targets(self, y_true, output_shape):
        hint = (" For integer class labels use loss='sparse_categorical_crossentropy' "
                "or convert them with to_categorical(labels).")
        t = targets_like(y_true, tuple(output_shape), hint=hint)
        one_unit = (" With one output unit, use loss='binary_crossentropy'."
                    if output_shape[-1] == 1 else "")
        return probability_rows(t, hint=one_unit)

    def prepare_targets(self, y_true, y_pred):
        t = self.check_targets(y_true, y_pred.shape)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + self.label_smoothing / t.shape[-1]
        return t

    def _values(self, t, p, logits):
        return _k.categorical_crossentropy(t, p, from_logits=logits)

    def _grads(self, t, p, logits):
        return _k.categorical_crossentropy_backward(t, p, from_logits=logits)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class SparseCategoricalCrossentropy(Loss):
    """Categorical cross-entropy with integer labels ``(batch,)``.

    Each label must be a whole number in ``[0, classes)``. Keras casts labels to
    integers, so it trains a label 2.7 as class 2 and a NaN label as whatever
    the cast makes; convsim refuses both
    (:func:`convsim.validation.sparse_labels`).
    """

    fused_activation = "softmax"

    def __init__(self, from_logits=False, name="sparse_categorical_crossentropy"):
        super().__init__(name, from_logits)

    def check_targets(self, y_true, output_shape):
        """The class indices, int64, shaped like the output without its last axis."""
        return sparse_targets(y_true, tuple(output_shape), hint=(
            " For one-hot labels use loss='categorical_crossentropy'."))

    def prepare_targets(self, y_true, y_pred):
        labels = self.check_targets(y_true, y_pred.shape)
        hot = np.zeros(y_pred.shape, np.float32)
        np.put_along_axis(hot, labels[..., None], 1.0, axis=-1)
        return hot

    def _values(self, t, p, logits):
        return _k.categorical_crossentropy(t, p, from_logits=logits)

    def _grads(self, t, p, logits):
        return _k.categorical_crossentropy_backward(t, p, from_logits=logits)


class BinaryCrossentropy(Loss):
    """``-(t log p + (1 - t) log(1 - p))``, averaged over the last axis.

    For a ``Dense(1, activation='sigmoid')`` output and 0/1 labels (the book's
    cats-vs-dogs model). Labels of shape ``(batch,)`` are accepted for outputs of
    shape ``(batch, 1)``, as in Keras. Probabilities are clipped as in Keras 3
    (module docstring): ``BinaryCrossentropy()([[0.0]], [[1.0]])`` is 15.942.

    Labels must be in ``[0, 1]`` (0/1, or soft labels between). Keras accepts a
    label 2 without a word, and its loss then falls below 0 and is smallest at
    the clip bound, not at the label; convsim refuses it
    (:func:`convsim.validation.binary_labels`).
    """

    fused_activation = "sigmoid"

    def __init__(self, from_logits=False, label_smoothing=0.0,
                 name="binary_crossentropy"):
        super().__init__(name, from_logits)
        self.label_smoothing = check_float(label_smoothing, "label_smoothing", 0, 1)

    def check_targets(self, y_true, output_shape):
        return binary_labels(targets_like(y_true, tuple(output_shape)))

    def prepare_targets(self, y_true, y_pred):
        t = self.check_targets(y_true, y_pred.shape)
        if self.label_smoothing:
            t = t * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        return t

    def _values(self, t, p, logits):
        return _k.binary_crossentropy(t, p, from_logits=logits)

    def _grads(self, t, p, logits):
        return _k.binary_crossentropy_backward(t, p, from_logits=logits)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


class MeanSquaredError(Loss):
    """``mean((y_true - y_pred) ** 2)`` over each sample's values.

    Targets must be finite: Keras trains on a NaN target without a word (and
    every weight is NaN one step later); convsim refuses it.
    """

    def __init__(self, name="mean_squared_error"):
        super().__init__(name, False)

    def _values(self, t, p, logits):
        diff = (p - t).astype(np.float64)
        return np.mean(diff * diff, axis=tuple(range(1, p.ndim))).astype(np.float32)

    def _grads(self, t, p, logits):
        per = int(np.prod(p.shape[1:])) if p.ndim > 1 else 1
        return (2.0 * (p - t) / per).astype(np.float32)

    def get_config(self):
        return {"name": self.name}


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}
# Keras losses convsim does not have: named as such, not "Did you mean" another.
_KERAS_ONLY = ("binary_focal_crossentropy", "categorical_focal_crossentropy",
               "categorical_hinge", "cosine_similarity", "ctc", "dice", "hinge",
               "huber", "kl_divergence", "kld", "log_cosh", "mae", "mape",
               "mean_absolute_error", "mean_absolute_percentage_error",
               "mean_squared_logarithmic_error", "msle", "poisson", "squared_hinge",
               "tversky")


def get(identifier) -> Loss:
    """A loss from its Keras name (``'categorical_crossentropy'``) or class name
    (``'CategoricalCrossentropy'``), a config, or a :class:`Loss` object. A
    misspelt name gets a suggestion."""
    use = (f"Use one of {sorted(_BY_NAME)} or a convsim.losses.Loss object.")
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, str) and identifier in _BY_CLASS:
        return _BY_CLASS[identifier]()
    if isinstance(identifier, dict):
        return from_config_dict(identifier, _BY_CLASS, "loss", use)
    raise unknown_identifier("loss", identifier, _BY_NAME, use,
                             keras_only=_KERAS_ONLY)


def serialize(loss: Loss) -> dict:
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def categorical_crossentropy(y_true, y_pred, from_logits=False) -> np.ndarray:
    """Per-sample categorical cross-entropy (Keras's functional form)."""
    return CategoricalCrossentropy(from_logits).per_sample(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False) -> np.ndarray:
    return SparseCategoricalCrossentropy(from_logits).per_sample(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False) -> np.ndarray:
    return BinaryCrossentropy(from_logits).per_sample(y_true, y_pred)
