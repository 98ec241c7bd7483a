"""SGD, RMSprop and Adam with Keras 3's defaults and update rules.

For each weight ``w`` with gradient ``g`` (learning rate ``lr``):

* **SGD** (``learning_rate=0.01``): ``w -= lr * g``. With ``momentum``:
  ``m = momentum * m - lr * g`` then ``w += m`` (Nesterov: ``w += momentum * m -
  lr * g``).
* **RMSprop** (``learning_rate=0.001, rho=0.9, epsilon=1e-7``):
  ``v = rho * v + (1 - rho) * g**2`` then ``w -= lr * g / sqrt(v + epsilon)``.
  Note epsilon is *inside* the square root, as in Keras 3 and Keras 2.11+ (and
  in older Keras 2 with ``momentum > 0``); the optimizer_v2 of Keras 2.10 and
  earlier (``tf.keras.optimizers.legacy.RMSprop``) without momentum, and
  PyTorch, add it *outside* (``sqrt(v) + eps``). With epsilon = 1e-7 the two
  differ only for weights whose gradients are almost 0.
* **Adam** (``learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7``):
  ``m += (1 - beta_1) * (g - m)``, ``v += (1 - beta_2) * (g**2 - v)``, then
  ``w -= alpha * m / (sqrt(v) + epsilon)`` with the bias correction folded into
  ``alpha = lr * sqrt(1 - beta_2**t) / (1 - beta_1**t)`` at step ``t``.

The old Keras 2 spellings work too: ``Adam(lr=0.001)`` and your notes'
``optimizers.adam_v2.Adam(learning_rate=0.001)``.

Every hyperparameter is checked when the optimizer is made, whether you type
it or a model file holds it, because a bad one does not fail, it trains
nonsense: ``epsilon=-1`` or ``rho=nan`` turn the weights into NaN after one
step, ``decay=-1`` divides by zero at the second. The ranges: the learning
rate in (0, 3.4e38] and ``epsilon`` in [0, 3.4e38] (beyond float32's range
the float32 weights overflow); ``clipnorm`` and ``clipvalue`` > 0 (only one of
the two, as in Keras 3); ``decay`` >= 0; ``momentum`` in [0, 1] (Keras's own
check); ``rho``, ``beta_1`` and ``beta_2`` in [0, 1) (as PyTorch checks its
betas: at 1 the running mean never leaves 0, and Adam's bias correction
divides by 0); ``nesterov``, ``centered`` and ``amsgrad`` True or False (the
string ``'false'`` is true in Python).
"""

from __future__ import annotations

import types

import numpy as np

from convsim.errors import ArgumentError, WrongTypeError
from convsim.kernels import updates
from convsim.validation import (
    check_bool,
    check_float,
    construct,
    unknown_identifier,
)

__all__ = ["CLASS_NAMES", "SGD", "Adam", "Optimizer", "RMSprop", "adam_v2", "get"]

#: The largest learning rate or epsilon: about float32's largest number. The
#: weights are float32, and a larger step or epsilon overflows to infinity.
LARGEST = 3.4e38


class Optimizer:
    """Base class: keeps per-weight state ("slots") and the step count.

    Args:
        learning_rate: step size (``lr`` is accepted as an old alias).
        clipnorm: if set, each gradient is rescaled to at most this L2 norm.
        clipvalue: if set, each gradient is clipped to ``[-clipvalue, clipvalue]``.
        decay: Keras 2's time decay: ``lr / (1 + decay * iterations)``.
    """

    slot_names: tuple[str, ...] = ()
    #: Slots holding running means of squared gradients: never negative.
    squared_slots: tuple[str, ...] = ()

    def __init__(self, learning_rate, name, clipnorm=None, clipvalue=None,
                 decay=0.0, **kwargs):
        if "lr" in kwargs:
            learning_rate = kwargs.pop("lr")
        if kwargs:
            raise WrongTypeError(f"Unrecognized keyword arguments passed to "
                                 f"{type(self).__name__}: {kwargs}")
        self.learning_rate = learning_rate
        if not isinstance(name, str):
            raise WrongTypeError(f"`name` must be a string. Received: name={name!r}")
        self.name = name
        self.clipnorm = _optional_positive(clipnorm, "clipnorm")
        self.clipvalue = _optional_positive(clipvalue, "clipvalue")
        if clipnorm is not None and clipvalue is not None:
            raise ArgumentError("Only one of `clipnorm` and `clipvalue` can be set. "
                                f"Received: clipnorm={clipnorm}, "
                                f"clipvalue={clipvalue}")
        self.decay = check_float(decay, "decay", 0)
        self.iterations = 0
        self.built = False
        self._slots: dict[str, list[np.ndarray]] = {}

    @property
    def learning_rate(self) -> float:
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value):
        self._learning_rate = check_float(value, "learning_rate", 0, LARGEST,
                                          low_open=True)

    lr = learning_rate  # Keras 2 attribute name

    def build(self, variables) -> None:
        """Create zero-filled slots shaped like each weight."""
        self._slots = {name: [np.zeros(v.shape, np.float32) for v in variables]
                       for name in self._active_slots()}
        self.built = True

    def _active_slots(self) -> tuple[str, ...]:
        return self.slot_names

    def apply(self, grads, variables) -> None:
        """One update of every variable from its gradient (Keras 3's ``apply``)."""
        variables = list(variables)
        grads = list(grads)
        if len(grads) != len(variables):
            raise ArgumentError(f"Got {len(grads)} gradients for {len(variables)} "
                                "variables.")
        if not self.built:
            self.build(variables)
        lr = self._learning_rate / (1.0 + self.decay * self.iterations)
        for i, (g, var) in enumerate(zip(grads, variables, strict=False)):
            if g is None:
                continue
            self._update(i, var.value, self._clip(np.asarray(g, np.float32)), lr)
        self.iterations += 1

    def apply_gradients(self, grads_and_vars) -> None:
        """Keras 2 style: a list of ``(gradient, variable)`` pairs."""
        pairs = list(grads_and_vars)
        self.apply([g for g, _ in pairs], [v for _, v in pairs])

    def _clip(self, g):
        if self.clipvalue is not None:  # as float32: 1e308 would overflow the cast
            bound = np.float32(min(self.clipvalue, LARGEST))
            g = np.clip(g, -bound, bound)
        if self.clipnorm is not None:
            norm = float(np.sqrt(np.sum(g.astype(np.float64) ** 2)))
            if norm > self.clipnorm:
                g = g * np.float32(self.clipnorm / norm)
        return g

    def _update(self, i, w, g, lr):  # pragma: no cover - abstract
        raise NotImplementedError

    # ------------------------------------------------------------ state
    def get_state(self) -> dict[str, np.ndarray]:
        """Everything needed to resume exactly: step count and slot arrays."""
        state = {"iterations": np.asarray(self.iterations, np.int64)}
        for name, arrays in self._slots.items():
            for i, arr in enumerate(arrays):
                state[f"{name}/{i}"] = arr
        return state

    def set_state(self, state, variables) -> None:
        """Restore :meth:`get_state`'s output for ``variables``. All of it is
        checked before anything changes: the keys this optimizer has, the step
        count (an integer >= 0), each slot's shape and values (finite, and
        never negative for running means of squared gradients), so a damaged
        state is refused instead of making NaN weights at the next step."""
        variables = list(variables)
        expected = {f"{slot}/{i}": tuple(v.shape) for slot in self._active_slots()
                    for i, v in enumerate(variables)}
        missing = sorted({"iterations", *expected} - set(state))
        unexpected = sorted(set(state) - {"iterations", *expected})
        if missing or unexpected:
            raise ArgumentError(
                f"This optimizer state does not fit {type(self).__name__} "
                f"({self.name}) with {len(variables)} weights: missing "
                f"{missing[:4]}, unexpected {unexpected[:4]}.")
        steps = np.asarray(state["iterations"])
        if steps.shape != () or steps.dtype.kind not in "iu" or int(steps) < 0:
            raise ArgumentError("The optimizer state's `iterations` must be an "
                                f"integer >= 0. Received: {steps!r}")
        for key, shape in expected.items():
            _check_slot(key, np.asarray(state[key]), shape,
                        key.split("/")[0] in self.squared_slots)
        self.build(variables)
        self.iterations = int(steps)
        for name, arrays in self._slots.items():
            for i, arr in enumerate(arrays):
                arr[...] = state[f"{name}/{i}"]

    def count_params(self) -> int:
        """What Keras 3 counts as the optimizer's variables (``summary()``'s
        "Optimizer params"): the step count, the learning rate (a variable
        unless it decays: Keras then holds a schedule instead) and the slots."""
        learning_rate = 1 if self.decay == 0 else 0
        return 1 + learning_rate + sum(a.size for arrays in self._slots.values()
                                       for a in arrays)

    def get_config(self) -> dict:
        return {"name": self.name, "learning_rate": self._learning_rate,
                "clipnorm": self.clipnorm, "clipvalue": self.clipvalue,
                "decay": self.decay}

    @classmethod
    def from_config(cls, config):
        """The optimizer made by its constructor, which checks ``config`` as it
        checks your arguments, with the same messages."""
        return construct(cls, config)

    def __repr__(self):
        return f"<{type(self).__name__} learning_rate={self._learning_rate}>"


class SGD(Optimizer):
    """Gradient descent, optionally with (Nesterov) momentum."""

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False,
                 name="SGD", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.momentum = check_float(momentum, "momentum", 0, 1)
        self.nesterov = check_bool(nesterov, "nesterov")

    def _active_slots(self):
        return ("momentum",) if self.momentum else ()

    def _update(self, i, w, g, lr):
        if not self.momentum:
            w -= lr * g
            return
        m = self._slots["momentum"][i]
        m *= self.momentum
        m -= lr * g
        if self.nesterov:
            w += self.momentum * m - lr * g
        else:
            w += m

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum,
                "nesterov": self.nesterov}


class RMSprop(Optimizer):
    """Divide each step by a running root-mean-square of recent gradients."""

    squared_slots = ("velocity",)

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7,
                 centered=False, name="RMSprop", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = check_float(rho, "rho", 0, 1, high_open=True)
        self.momentum = check_float(momentum, "momentum", 0, 1)
        self.epsilon = check_float(epsilon, "epsilon", 0, LARGEST)
        self.centered = check_bool(centered, "centered")

    def _active_slots(self):
        return ("velocity",) + (("momentum",) if self.momentum else ()) + (
            ("average_gradient",) if self.centered else ())

    def _update(self, i, w, g, lr):
        v = self._slots["velocity"][i]
        if not (self.centered or self.momentum) and _one_pass(w, g, v):
            updates.rmsprop(*_flat(w, g, v), np.float32(self.rho),
                            np.float32(1.0 - self.rho), np.float32(self.epsilon),
                            np.float32(lr))
            return
        v *= self.rho
        v += (1.0 - self.rho) * (g * g)
        if self.centered:
            avg = self._slots["average_gradient"][i]
            avg *= self.rho
            avg += (1.0 - self.rho) * g
            denominator = v - avg * avg + self.epsilon
        else:
            denominator = v + self.epsilon
        increment = lr * g / np.sqrt(denominator)
        if self.momentum:
            m = self._slots["momentum"][i]
            m *= self.momentum
            m += increment
            w -= m
        else:
            w -= increment

    def get_config(self):
        return {**super().get_config(), "rho": self.rho, "momentum": self.momentum,
                "epsilon": self.epsilon, "centered": self.centered}


class Adam(Optimizer):
    """Momentum plus RMSprop-style scaling, with bias correction (Kingma & Ba)."""

    squared_slots = ("velocity", "velocity_hat")

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7,
                 amsgrad=False, name="adam", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.beta_1 = check_float(beta_1, "beta_1", 0, 1, high_open=True)
        self.beta_2 = check_float(beta_2, "beta_2", 0, 1, high_open=True)
        self.epsilon = check_float(epsilon, "epsilon", 0, LARGEST)
        self.amsgrad = check_bool(amsgrad, "amsgrad")

    def _active_slots(self):
        return ("momentum", "velocity") + (("velocity_hat",) if self.amsgrad else ())

    def _update(self, i, w, g, lr):
        t = self.iterations + 1
        alpha = lr * np.sqrt(1.0 - self.beta_2**t) / (1.0 - self.beta_1**t)
        m, v = self._slots["momentum"][i], self._slots["velocity"][i]
        if not self.amsgrad and _one_pass(w, g, m, v):
            updates.adam(*_flat(w, g, m, v),
                         np.float32(1.0 - self.beta_1), np.float32(1.0 - self.beta_2),
                         np.float32(alpha), np.float32(self.epsilon))
            return
        m += (1.0 - self.beta_1) * (g - m)
        v += (1.0 - self.beta_2) * (g * g - v)
        if self.amsgrad:
            v_hat = self._slots["velocity_hat"][i]
            np.maximum(v_hat, v, out=v_hat)
            v = v_hat
        w -= np.float32(alpha) * m / (np.sqrt(v) + self.epsilon)

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "amsgrad": self.amsgrad}


def _one_pass(w, g, *slots) -> bool:
    """Whether :mod:`convsim.kernels.updates` may do this step: the NumPy
    lines in each ``_update`` define the rule, and the kernel computes the
    same bits in one pass. It reads the arrays element by element without
    bounds checks, so the gradient and the slots must have exactly the
    weight's shape (the NumPy lines would broadcast or refuse anything else,
    as they always did), and the arrays it writes must be C-ordered float32."""
    return (g.shape == w.shape and g.dtype == np.float32
            and all(a.dtype == np.float32 and a.shape == w.shape
                    and a.flags.c_contiguous and a.flags.writeable
                    for a in (w, *slots)))


def _flat(w, g, *slots):
    """One-dimensional views of the weight and its slots (C-ordered, checked
    by :func:`_one_pass`) and of the gradient (copied only if it is not
    C-ordered), for :mod:`convsim.kernels.updates`."""
    return (w.reshape(-1), np.ascontiguousarray(g).reshape(-1),
            *(s.reshape(-1) for s in slots))


def _optional_positive(value, name):
    return None if value is None else check_float(value, name, 0, low_open=True)


def _check_slot(key: str, value: np.ndarray, shape: tuple, squared: bool) -> None:
    """One slot of a saved optimizer state: real, of ``shape``, finite in
    float32 and, for a running mean of squares, never negative."""
    if value.shape != shape or value.dtype.kind not in "fiu":
        raise ArgumentError(f"Optimizer state {key!r} must be real numbers of shape "
                            f"{shape}. Received: shape {value.shape} of {value.dtype}")
    wide = value.astype(np.float64)
    if wide.size and not (np.isfinite(wide).all()
                          and np.abs(wide).max() <= np.finfo(np.float32).max):
        raise ArgumentError(f"Optimizer state {key!r} holds NaN or infinite values "
                            "(or values beyond float32): the next step would make "
                            "every weight it touches NaN.")
    if squared and wide.size and wide.min() < 0:
        raise ArgumentError(f"Optimizer state {key!r} is a running mean of squared "
                            f"gradients but holds {wide.min():g}: it is never "
                            "negative, and the next step would take its root.")


# Keras 2.x module paths that readers of older books still type.
adam_v2 = types.SimpleNamespace(Adam=Adam)
rmsprop_v2 = types.SimpleNamespace(RMSprop=RMSprop)
gradient_descent_v2 = types.SimpleNamespace(SGD=SGD)

_BY_NAME = {"sgd": SGD, "rmsprop": RMSprop, "adam": Adam}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}
#: The optimizer classes a config (``{"class_name": ...}``) may name.
CLASS_NAMES = tuple(sorted(_BY_CLASS))


def get(identifier) -> Optimizer:
    """An optimizer from ``'rmsprop'``/``'adam'``/``'sgd'`` (Keras defaults), a
    config dict, or an :class:`Optimizer` object (returned as is). A misspelt
    name gets a suggestion: ``get('rmsprob')`` asks "Did you mean 'rmsprop'?"."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, dict) and identifier.get("class_name") in _BY_CLASS:
        return _BY_CLASS[identifier["class_name"]].from_config(identifier["config"])
    raise unknown_identifier(
        "optimizer", identifier, _BY_NAME,
        f"Use one of {sorted(_BY_NAME)} or an optimizer object such as "
        "optimizers.RMSprop(learning_rate=1e-4).",
        keras_only=("adadelta", "adafactor", "adagrad", "adamax", "adamw", "ftrl",
                    "lamb", "lion", "muon", "nadam"))


def serialize(optimizer: Optimizer) -> dict:
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}
