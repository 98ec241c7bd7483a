"""``layers.Activation('relu')``: an activation as a layer of its own.
"""

from __future__ import annotations

from convsim.layers.base import ActivatedLayer

__all__ = ['Activation']


class Activation(ActivatedLayer):
    """Applies an activation on its own: ``layers.Activation('relu')``."""

    def __init__(self, activation, **kwargs):
        super().__init__(activation=activation, **kwargs)

    def call(self, inputs, training=False):
        return self._activate(inputs, training)

    def _backward_linear(self, dz, input_grad=True):
        return dz
