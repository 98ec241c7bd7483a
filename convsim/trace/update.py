"""One optimizer step, weight by weight: what the gradient does to the weights.

Backpropagation ends with a gradient for every weight; the optimizer turns
it into a change. :func:`trace_update` runs a real convsim optimizer
(:mod:`convsim.optimizers`) for one step on *copies* of the weights, so a
lesson can show, for any single weight, its value before, its gradient, the
value after and what the optimizer kept (RMSprop's running mean of squared
gradients), and a test can check each number against the optimizer itself.

The optimizer starts fresh (made again from its config, with no state): the
step shown is the first one of a training run, and your optimizer's own state
is left alone.

>>> import numpy as np
>>> from convsim import optimizers
>>> t = trace_update(optimizers.SGD(learning_rate=0.1), [np.array([1.0, 2.0])],
...                  [np.array([5.0, -1.0])])
>>> step = t.step(0, 0)
>>> step.before, step.grad, round(step.after, 6)  # 1 - 0.1 * 5
(1.0, 5.0, 0.5)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from convsim import optimizers
from convsim.errors import ArgumentError
from convsim.layers import Variable
from convsim.validation import as_float32

__all__ = ["UpdateStep", "UpdateTrace", "trace_update"]


@dataclass(frozen=True, eq=False)
class UpdateStep:
    """One weight through one optimizer step.

    SGD: ``after = before - learning_rate * grad``. RMSprop first updates its
    running mean of squared gradients, ``velocity = rho * velocity + (1 - rho)
    * grad**2`` (``slots['velocity']``, after the step), then takes ``after =
    before - learning_rate * grad / sqrt(velocity + epsilon)``.
    """

    optimizer: str  # the optimizer's class name: 'SGD', 'RMSprop', 'Adam'
    learning_rate: float
    position: tuple[int, ...]  # (which weight array, index within it...)
    before: float
    grad: float
    after: float
    slots: Mapping[str, float]  # the optimizer's state for this weight, after

    @property
    def change(self) -> float:
        return self.after - self.before


class UpdateTrace:
    """A fresh copy of ``optimizer`` applied once to copies of ``weights``.

    Attributes:
        optimizer: the copy that took the step (its config is yours).
        before, grads, after: lists of float32 arrays, one per weight.
        state: the copy's :meth:`~convsim.optimizers.Optimizer.get_state`
            after the step.
    """

    def __init__(self, optimizer, weights, grads):
        given = optimizers.get(optimizer)
        self.optimizer = type(given).from_config(given.get_config())
        self.before = [as_float32(w, f"weights[{i}]").copy()
                       for i, w in enumerate(weights)]
        self.grads = [as_float32(g, f"grads[{i}]") for i, g in enumerate(grads)]
        if len(self.grads) != len(self.before):
            raise ArgumentError(f"`grads` must hold one gradient per weight: "
                                f"{len(self.before)}. Received: {len(self.grads)} "
                                "gradients")
        for i, (w, g) in enumerate(zip(self.before, self.grads, strict=True)):
            if w.shape != g.shape:
                raise ArgumentError(f"`grads[{i}]` must have the shape of "
                                    f"`weights[{i}]`, {w.shape}. Received: "
                                    f"grads[{i}].shape={g.shape}")
        copies = [Variable(w.copy(), f"weight_{i}", f"trace_update/weight_{i}")
                  for i, w in enumerate(self.before)]
        self.optimizer.apply(self.grads, copies)
        self.after = [v.numpy() for v in copies]
        self.state = self.optimizer.get_state()

    def step(self, weight: int, *index: int) -> UpdateStep:
        """The step of ``weights[weight][index]``."""
        if not 0 <= weight < len(self.before):
            raise IndexError(f"`weight` must be in [0, {len(self.before) - 1}]. "
                             f"Received: weight={weight}")
        shape = self.before[weight].shape
        if len(index) != len(shape) or not all(
                0 <= i < n for i, n in zip(index, shape, strict=True)):
            raise IndexError(f"`index` must be one position in weights[{weight}], "
                             f"of shape {shape}. Received: index={index}")
        slots = {key.split("/")[0]: float(value[index])
                 for key, value in self.state.items()
                 if key.endswith(f"/{weight}")}
        return UpdateStep(
            optimizer=type(self.optimizer).__name__,
            learning_rate=self.optimizer.learning_rate, position=(weight, *index),
            before=float(self.before[weight][index]),
            grad=float(self.grads[weight][index]),
            after=float(self.after[weight][index]), slots=slots)


def trace_update(optimizer, weights, grads) -> UpdateTrace:
    """One step of ``optimizer`` (an optimizer object or a name such as
    ``'sgd'``) on copies of ``weights`` given their ``grads`` (lists of arrays,
    one gradient per weight, as ``layer.get_weights()`` and the backward
    traces give them)."""
    return UpdateTrace(optimizer, weights, grads)
