"""Weight initializers with Keras's names, defaults and formulas.

Why it matters: a network learns only if its first forward pass neither dies out
nor explodes. Glorot (Xavier) uniform, Keras's default for Conv2D and Dense,
draws from ``U(-limit, limit)`` with ``limit = sqrt(6 / (fan_in + fan_out))`` so
each layer's outputs keep about the variance of its inputs. For a convolution
kernel ``(kernel_h, kernel_w, in_channels, filters)`` the fans are
``fan_in = kernel_h * kernel_w * in_channels`` and
``fan_out = kernel_h * kernel_w * filters``.

Random draws come from :func:`convsim.random.make_rng`, so
``convsim.utils.set_random_seed`` makes them repeatable.
"""

from __future__ import annotations

import math

import numpy as np

from convsim.errors import ArgumentError
from convsim.random import make_rng
from convsim.validation import (
    check_float,
    check_seed,
    from_config_dict,
    standardize_choice,
    unknown_identifier,
    weight_shape,
)

__all__ = ["Initializer", "GlorotUniform", "GlorotNormal", "HeUniform", "HeNormal",
           "RandomUniform", "RandomNormal", "Zeros", "Ones", "Constant", "get",
           "compute_fans"]


def compute_fans(shape) -> tuple[float, float]:
    """``(fan_in, fan_out)`` of a weight of this shape, as Keras computes them."""
    shape = weight_shape(shape)
    if len(shape) == 0:
        return 1.0, 1.0
    if len(shape) == 1:
        return float(shape[0]), float(shape[0])
    if len(shape) == 2:
        return float(shape[0]), float(shape[1])
    receptive = math.prod(shape[:-2])  # kernel_h * kernel_w
    return float(shape[-2] * receptive), float(shape[-1] * receptive)


class Initializer:
    """Base class: ``init(shape) -> float32 array``.

    The shape is checked first (:func:`convsim.validation.weight_shape`): a
    weight holds at most 2**31 - 1 numbers, so ``Dense(10**9)`` is refused
    with its shape instead of NumPy's "Unable to allocate 2.85 TiB".
    """

    def __init__(self, seed: int | None = None):
        self.seed = check_seed(seed)

    def __call__(self, shape, dtype="float32") -> np.ndarray:
        shape = weight_shape(shape)
        try:
            return np.asarray(self._draw(shape), dtype=dtype)
        except MemoryError:  # below the limit, but more than this machine has
            raise ArgumentError(
                f"A weight of shape {shape} ({4 * math.prod(shape):,} bytes of "
                "float32) does not fit in this computer's memory. Check the layer's "
                "units, filters or kernel_size."
            ) from None

    def _draw(self, shape):
        return self.sample(shape, make_rng(self.seed))

    def sample(self, shape, rng):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self) -> dict:
        return {"seed": self.seed}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({self.get_config()})"


class VarianceScaling(Initializer):
    """Samples with variance ``scale / n``, ``n`` from the fans (``mode``).

    ``'uniform'``: ``U(-sqrt(3 * scale / n), +...)``; ``'truncated_normal'``: a
    normal cut at two standard deviations, widened so the variance is still
    ``scale / n`` (Keras's correction factor 0.8796...).
    """

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal",
                 seed=None):
        super().__init__(seed)
        self.scale = check_float(scale, "scale", 0, low_open=True)
        self.mode = standardize_choice(mode, ("fan_in", "fan_out", "fan_avg"), "mode")
        if isinstance(distribution, str) and distribution.lower() == "normal":
            distribution = "truncated_normal"  # Keras's alias
        self.distribution = standardize_choice(
            distribution, ("uniform", "truncated_normal", "untruncated_normal"),
            "distribution")

    def sample(self, shape, rng):
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out,
             "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = math.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, size=shape)
        if self.distribution == "untruncated_normal":
            return rng.normal(0.0, math.sqrt(variance), size=shape)
        return _truncated_normal(rng, shape, math.sqrt(variance) / 0.87962566103423978)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode,
                "distribution": self.distribution, "seed": self.seed}


class GlorotUniform(VarianceScaling):
    """``U(-limit, limit)``, ``limit = sqrt(6 / (fan_in + fan_out))``; Keras default."""

    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(1.0, "fan_avg", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeUniform(VarianceScaling):
    """``U(-limit, limit)``, ``limit = sqrt(6 / fan_in)``: suits ReLU layers."""

    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "uniform", seed)

    def get_config(self):
        return {"seed": self.seed}


class HeNormal(VarianceScaling):
    def __init__(self, seed=None):
        super().__init__(2.0, "fan_in", "truncated_normal", seed)

    def get_config(self):
        return {"seed": self.seed}


class RandomUniform(Initializer):
    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        super().__init__(seed)
        self.minval = check_float(minval, "minval")
        self.maxval = check_float(maxval, "maxval", self.minval)

    def sample(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, size=shape)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        super().__init__(seed)
        self.mean = check_float(mean, "mean")
        self.stddev = check_float(stddev, "stddev", 0)

    def sample(self, shape, rng):
        return rng.normal(self.mean, self.stddev, size=shape)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class Constant(Initializer):
    def __init__(self, value=0.0):
        super().__init__(None)
        self.value = check_float(value, "value")

    def _draw(self, shape):  # no random numbers: takes none from the seed's stream
        return np.full(shape, self.value, dtype=np.float32)

    def get_config(self):
        return {"value": self.value}


class Zeros(Constant):
    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {}


class Ones(Constant):
    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {}


def _truncated_normal(rng, shape, stddev):
    """Normal samples redrawn until they fall within two standard deviations."""
    out = rng.normal(0.0, stddev, size=shape)
    bad = np.abs(out) > 2.0 * stddev
    while np.any(bad):
        out[bad] = rng.normal(0.0, stddev, size=int(bad.sum()))
        bad = np.abs(out) > 2.0 * stddev
    return out


_BY_NAME = {
    "glorot_uniform": GlorotUniform, "glorot_normal": GlorotNormal,
    "he_uniform": HeUniform, "he_normal": HeNormal,
    "random_uniform": RandomUniform, "random_normal": RandomNormal,
    "zeros": Zeros, "ones": Ones, "constant": Constant,
    "variance_scaling": VarianceScaling,
}
_BY_CLASS = {cls.__name__: cls for cls in _BY_NAME.values()}
# Keras initializers convsim does not have: named as such, not "Did you mean".
_KERAS_ONLY = ("identity", "lecun_normal", "lecun_uniform", "orthogonal",
               "truncated_normal")


def get(identifier) -> Initializer:
    """An initializer from a name (``'glorot_uniform'``) or class name
    (``'GlorotUniform'``), a config dict, or itself. A misspelt name gets a
    suggestion."""
    use = f"Use one of {sorted(_BY_NAME)} or an initializer object."
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str) and identifier.lower() in _BY_NAME:
        return _BY_NAME[identifier.lower()]()
    if isinstance(identifier, str) and identifier in _BY_CLASS:
        return _BY_CLASS[identifier]()
    if isinstance(identifier, dict):
        return from_config_dict(identifier, _BY_CLASS, "initializer", use)
    raise unknown_identifier("initializer", identifier, _BY_NAME, use,
                             keras_only=_KERAS_ONLY)


def serialize(initializer: Initializer) -> dict:
    return {"class_name": type(initializer).__name__,
            "config": initializer.get_config()}
