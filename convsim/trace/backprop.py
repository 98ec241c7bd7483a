"""Backpropagation through a chain of layers, traced: the loss, then every
layer's backward pass from the last layer to the first.

This is one training step's backward half for one image, as ``fit`` does it
(:meth:`convsim.training.Trainer.train_on_batch`), with every layer's part
kept for a lesson to show: the forward pass through the real layers, the
loss against a target and its gradient, then each layer, last first,
receiving ``dL/d(its outputs)`` and passing ``dL/d(its inputs)`` on. Conv2D,
pooling and Activation layers get their number-by-number traces
(:mod:`convsim.trace.backward`); other layers (Flatten, Dense, Dropout) a
:class:`LayerBackward` with their input and output gradients only.

As in training, a softmax (or sigmoid) output layer scored with
cross-entropy passes ``dL/dz = probabilities - labels`` straight to its
linear part, the stable fused step. Unlike training, Dropout is left out (it
passes the gradient through, as when predicting), and nothing is changed:
each layer's weights' ``.grad`` are put back.

>>> import numpy as np
>>> from convsim import layers
>>> conv = layers.Conv2D(1, 2, kernel_initializer="ones", name="c")
>>> t = trace_backprop([conv], np.ones((2, 2)), np.zeros((1, 1, 1)))
>>> t.loss, t.grad_outputs.ravel().tolist()  # mean((4 - 0)**2), 2 * (4 - 0)
(16.0, [8.0])
>>> t.backward[0].kernel_grad.ravel().tolist()  # 8 * each input cell
[8.0, 8.0, 8.0, 8.0]
"""

from __future__ import annotations

import numpy as np

from convsim import layers, losses
from convsim.errors import ArgumentError
from convsim.layers.base import ActivatedLayer
from convsim.trace.backward import check_grad, run_backward, trace_backward
from convsim.trace.gradients import INFERENCE_ONLY
from convsim.trace.layer import as_image
from convsim.trace.model import _chain, _one_input
from convsim.validation import as_float32

__all__ = ["BackpropTrace", "LayerBackward", "trace_backprop", "trace_backprop_by_hand"]

#: Layers that take images ``(height, width, channels)``.
IMAGE_LAYERS = (layers.Conv2D, layers.MaxPooling2D, layers.AveragePooling2D)
#: Layers with a number-by-number backward trace.
TRACED = (layers.Conv2D, layers.MaxPooling2D, layers.AveragePooling2D,
          layers.Activation)


class LayerBackward:
    """A layer's backward pass with no steps: ``grad_outputs`` in,
    ``grad_inputs`` out (Dropout passes it through, as when predicting)."""

    def __init__(self, layer, inputs, grad_out, from_logits: bool = False):
        self.layer, self.name = layer, layer.name
        self.inputs = as_float32(inputs, "inputs")
        outputs = layer(self.inputs[None])[0]
        self.grad_outputs = check_grad(grad_out, outputs.shape)
        if isinstance(layer, INFERENCE_ONLY):
            self.grad_inputs = self.grad_outputs
        else:
            self.grad_inputs, _ = run_backward(layer, self.inputs, self.grad_outputs,
                                               from_logits)


class BackpropTrace:
    """See :func:`trace_backprop`.

    Attributes:
        layers: the chain of layers, in the order the image goes through.
        inputs: what each layer received (``inputs[0]`` is the image).
        outputs: what the last layer returned.
        target, loss: the target and the loss (a float).
        fused: whether the last layer's activation is folded into the loss.
        grad_outputs: ``dL/d(outputs)`` (``dL/dz`` of the last layer when
            ``fused``).
        backward: one backward trace per layer, in the layers' order.
    """

    def __init__(self, chain, image, target, loss="mean_squared_error"):
        if isinstance(chain, (list, tuple)):
            self.layers = list(chain)
            x = as_float32(image, "image")
            if self.layers and isinstance(self.layers[0], IMAGE_LAYERS):
                x = as_image(x)  # one grayscale image may come as (height, width)
        else:
            self.layers = _chain(chain)
            x = _one_input(chain, image)
        if not self.layers:
            raise ArgumentError("`chain` must hold at least one layer. Received: "
                                "an empty chain")
        self.loss_function = losses.get(loss)
        self.inputs = [x]
        for layer in self.layers[:-1]:
            self.inputs.append(layer(self.inputs[-1][None])[0])
        last = self.layers[-1]
        self.outputs = last(self.inputs[-1][None])[0]
        self.target = None if target is None else np.asarray(target)
        if target is None:  # the forward pass only
            self.fused, self.loss, self.grad_outputs, self.backward = False, None, \
                None, []
            return
        self.fused = (isinstance(last, ActivatedLayer)
                      and not self.loss_function.from_logits
                      and last.activation.name == self.loss_function.fused_activation)
        scored = _logits(last, self.inputs[-1][None]) if self.fused else \
            self.outputs[None]
        fn, t = self.loss_function, self.target[None]
        self.loss = float(fn.per_sample(t, scored, from_logits=self.fused)[0])
        self.grad_outputs = fn.gradient(t, scored, from_logits=self.fused)[0]
        self.backward = self._backward()

    def _backward(self) -> list:
        """Each layer's trace, from the last to the first, each given the
        gradient the layer after it passed down."""
        traces, grad = [], self.grad_outputs
        for k in range(len(self.layers) - 1, -1, -1):
            layer, inputs = self.layers[k], self.inputs[k]
            fused = self.fused and k == len(self.layers) - 1
            if isinstance(layer, TRACED) and not fused:
                traced = trace_backward(layer, inputs, grad)
            else:
                traced = LayerBackward(layer, inputs, grad, from_logits=fused)
            traces.append(traced)
            grad = traced.grad_inputs
        return traces[::-1]

    @property
    def grad_inputs(self) -> np.ndarray:
        """``dL/d(image)``: what the first layer passed down."""
        return self.backward[0].grad_inputs


def _logits(layer, x) -> np.ndarray:
    """What the layer's activation receives: its linear part's output (an
    Activation layer has none: its input)."""
    return layer.linear(x) if hasattr(layer, "linear") else x


def trace_backprop(chain, image, target, loss="mean_squared_error") -> BackpropTrace:
    """The loss of one ``image`` against ``target`` and every layer's backward
    pass.

    Args:
        chain: a list of layers (each taking the one before's output), or a
            model whose layers form one chain (:func:`~convsim.trace.trace_model`).
        image: one input, without the batch axis.
        target: what the output should be (for ``'sparse_categorical_
            crossentropy'``: the label), without the batch axis; ``None`` for
            the forward pass only (no loss, no gradients).
        loss: a loss name or object, as ``model.compile`` takes it.
    """
    return BackpropTrace(chain, image, target, loss)


def trace_backprop_by_hand(image, kernel, target, bias=None, pool_size=2,
                           activation="relu", loss="mean_squared_error"
                           ) -> BackpropTrace:
    """A tiny convnet written out by hand, traced: ``Conv2D`` with this
    ``kernel`` ``(kernel_h, kernel_w, in_channels, filters)`` (or one 2-D
    filter) and ``bias`` (default zeros), then ``Activation(activation)``, then
    ``MaxPooling2D(pool_size)``; scored with ``loss`` against ``target``. The
    layers get fixed names, so no Keras-style default names are used up.

    >>> t = trace_backprop_by_hand(np.ones((4, 4)), np.ones((3, 3)),
    ...                            np.zeros((1, 1, 1)))
    >>> [type(b).__name__ for b in t.backward]
    ['ConvBackwardTrace', 'ActivationBackwardTrace', 'PoolBackwardTrace']
    >>> t.outputs.ravel().tolist(), t.loss  # a 2x2 map of 9s pooled to one 9
    ([9.0], 81.0)
    """
    kernel = as_float32(kernel, "kernel")
    if kernel.ndim == 2:
        kernel = kernel[:, :, None, None]
    kernel = as_float32(kernel, "kernel", 4, " of shape (kernel_h, kernel_w, "
                        "in_channels, filters)")
    filters = kernel.shape[3]
    conv = layers.Conv2D(filters, kernel.shape[:2], name="conv2d")
    conv.build((None, None, None, kernel.shape[2]))
    conv.set_weights([kernel, np.zeros(filters) if bias is None else bias])
    chain = [conv, layers.Activation(activation, name=activation or "linear"),
             layers.MaxPooling2D(pool_size, name="max_pooling2d")]
    return BackpropTrace(chain, image, target, loss)
