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

__all__ = ["BinaryCrossentropy", "CategoricalCrossentropy", "Loss",
           "MeanSquaredError", "SparseCategoricalCrossentropy", "get"]


class Loss:
    """Base class. Subclasses implement ``_values`` and ``_grads``."""

    fused_activation: str | None = None  # output activation it can fold in

    def __init__(self, name: str, from_logits: bool = False):
        self.name = name
        self.from_logits = bool(from_logits)

    def __call__(self, y_true, y_pred) -> float:
        return float(np.mean(self.per_sample(y_true, y_pred)))

    @kernel_call
    def per_sample(self, y_true, y_pred, from_logits=None) -> np.ndarray:
        """Loss of each sample, ``(batch,)``."""
        y_pred = np.asarray(y_pred, np.float32)
        t = self.prepare_targets(y_true, y_pred)
        return self._values(t, y_pred, self._logits(from_logits))

    @kernel_call
    def gradient(self, y_true, y_pred, from_logits=None) -> np.ndarray:
        """d(loss of each sample)/d(y_pred); divide by the batch size for the mean."""
        y_pred = np.asarray(y_pred, np.float32)
        t = self.prepare_targets(y_true, y_pred)
        return self._grads(t, y_pred, self._logits(from_logits))

    def _logits(self, from_logits):
        return self.from_logits if from_logits is None else from_logits

    def prepare_targets(self, y_true, y_pred) -> np.ndarray:
        return _same_shape(y_true, y_pred)

    def get_config(self) -> dict:
        return {"name": self.name, "from_logits": self.from_logits}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


class CategoricalCrossentropy(Loss):
    """``-sum(y_true * log(y_pred))`` per sample, for one-hot labels.

    Use it after ``to_categorical``; for integer labels use
    :class:`SparseCategoricalCrossentropy`.
    """

    fused_activation = "softmax"

    def __init__(self, from_logits=False, label_smoothing=0.0,
                 name="categorical_crossentropy"):
        super().__init__(name, from_logits)
        if not 0.0 <= float(label_smoothing) <= 1.0:
            raise ArgumentError(f"`label_smoothing` must be in [0, 1]. "
                                f"Received: label_smoothing={label_smoothing!r}")
        self.label_smoothing = float(label_smoothing)

    def prepare_targets(self, y_true, y_pred):
        t = _same_shape(y_true, y_pred, hint=(
            " For integer class labels use loss='sparse_categorical_crossentropy' "
            "or convert them with to_categorical(labels)."))
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
    """Categorical cross-entropy with integer labels ``(batch,)``."""

    fused_activation = "softmax"

    def __init__(self, from_logits=False, name="sparse_categorical_crossentropy"):
        super().__init__(name, from_logits)

    def prepare_targets(self, y_true, y_pred):
        labels = np.asarray(y_true)
        if labels.ndim == y_pred.ndim and labels.shape[-1] == 1:
            labels = labels[..., 0]
        if labels.shape != y_pred.shape[:-1]:
            raise ArgumentError(
                f"Sparse labels must have one integer per sample, shape "
                f"{y_pred.shape[:-1]}. Received: y_true.shape={labels.shape} for "
                f"y_pred.shape={y_pred.shape}. For one-hot labels use "
                "loss='categorical_crossentropy'."
            )
        classes = y_pred.shape[-1]
        if labels.size and (labels.min() < 0 or labels.max() >= classes):
            bad = labels.max() if labels.max() >= classes else labels.min()
            raise ArgumentError(f"Received a label value of {bad} which is outside the "
                                f"valid range of [0, {classes}).")
        hot = np.zeros(y_pred.shape, np.float32)
        np.put_along_axis(hot, labels.astype(np.int64)[..., None], 1.0, axis=-1)
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
    """

    fused_activation = "sigmoid"

    def __init__(self, from_logits=False, label_smoothing=0.0,
                 name="binary_crossentropy"):
        super().__init__(name, from_logits)
        self.label_smoothing = float(label_smoothing)

    def prepare_targets(self, y_true, y_pred):
        t = _same_shape(y_true, y_pred)
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
    """``mean((y_true - y_pred) ** 2)`` over each sample's values."""

    def __init__(self, name="mean_squared_error"):
        super().__init__(name, False)

    def _values(self, t, p, logits):
        diff = (p - t).reshape(len(p), -1).astype(np.float64)
        return np.mean(diff * diff, axis=1).astype(np.float32)

    def _grads(self, t, p, logits):
        per = int(np.prod(p.shape[1:])) if p.ndim > 1 else 1
        return (2.0 * (p - t) / per).astype(np.float32)

    def get_config(self):
        return {"name": self.name}


def _same_shape(y_true, y_pred, hint="") -> np.ndarray:
    t = np.asarray(y_true, dtype=np.float32)
    if t.shape != y_pred.shape:
        if t.size == y_pred.size and t.shape[:1] == y_pred.shape[:1]:
            return t.reshape(y_pred.shape)  # (batch,) labels for (batch, 1) outputs
        raise ArgumentError(
            f"Arguments `target` and `output` must have the same shape. Received: "
            f"target.shape={t.shape}, output.shape={y_pred.shape}.{hint}"
        )
    return t


_BY_NAME = {
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
    "mean_squared_error": MeanSquaredError,
    "mse": MeanSquaredError,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}


def get(identifier) -> Loss:
    """A loss from its Keras name (``'categorical_crossentropy'``), a config, or
    a :class:`Loss` object."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_CLASS:
        return _BY_CLASS[identifier["class_name"]].from_config(identifier["config"])
    raise ArgumentError(f"Could not interpret loss identifier: {identifier!r}. Use one "
                        f"of {sorted(_BY_NAME)} or a convsim.losses.Loss object.")


def serialize(loss: Loss) -> dict:
    return {"class_name": type(loss).__name__, "config": loss.get_config()}


def categorical_crossentropy(y_true, y_pred, from_logits=False) -> np.ndarray:
    """Per-sample categorical cross-entropy (Keras's functional form)."""
    return CategoricalCrossentropy(from_logits).per_sample(y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False) -> np.ndarray:
    return SparseCategoricalCrossentropy(from_logits).per_sample(y_true, y_pred)


def binary_crossentropy(y_true, y_pred, from_logits=False) -> np.ndarray:
    return BinaryCrossentropy(from_logits).per_sample(y_true, y_pred)
