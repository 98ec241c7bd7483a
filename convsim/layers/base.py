"""The Layer base class (its weights are :mod:`~convsim.layers.variable`'s
``Variable``), and ``ActivatedLayer``.

Every layer follows Keras's lifecycle:

1. ``__init__`` stores and validates the arguments (no weights yet);
2. ``build(input_shape)`` creates the weights once the input shape is known;
3. ``call(x, training)`` computes the outputs (and, when ``training``, keeps what
   ``backward`` needs);
4. ``backward(grad)`` turns dL/d(outputs) into dL/d(inputs) and stores each
   weight's gradient in ``variable.grad`` for the optimizer;
5. ``compute_output_shape``, ``get_config``/``from_config`` describe the layer.

``layer.build(input_shape)`` called by you builds exactly as the first call
does (Keras 3 semantics: the ``build_wrapper`` of ``Layer.__new__`` in
keras/src/layers/layer.py): every ``build`` is wrapped (:func:`_recorded_build`)
to record the shape, set ``built = True`` and lock the state, so weights set
after ``build`` are the ones the call uses. Locked, ``add_weight`` raises
``ValueError`` (Keras's ``Layer._lock_state``): a layer with weights refuses a
second ``build`` and keeps its weights; one without may be built again and
records the new shape, as in Keras.

Calling a layer on a symbolic tensor records a connection instead of computing
(:mod:`convsim.layers.graph`).

:class:`ActivatedLayer` is the base of Conv2D and Dense: a linear part ``z``
followed by an activation. Why layers remember ``z`` (the logits) when asked:
the model pairs ``softmax`` + ``categorical_crossentropy`` (and ``sigmoid`` +
``binary_crossentropy``) into one step whose gradient is simply
``probabilities - labels``. That is what TensorFlow's Keras does too, and it
avoids dividing by probabilities that round to 0 in float32.
"""

from __future__ import annotations

import contextvars
import functools
import math

import numpy as np

from convsim import activations, validation
from convsim.errors import ArgumentError, NotReadyError, WrongTypeError
from convsim.layers.graph import KerasTensor, Node, snake_case, unique_name
from convsim.layers.variable import Variable
from convsim.validation import (
    as_float32,
    build_shape,
    construct,
    input_shape_hint,
    shape_tuple,
    weight_shape,
)

__all__ = ["ActivatedLayer", "InputSpec", "Layer", "Variable", "WEIGHTS_BACKING"]

#: While a model is built from a file: ``[weight values unclaimed, file name]``.
WEIGHTS_BACKING = contextvars.ContextVar("weights_backing", default=None)


class InputSpec:
    """What a layer accepts: a rank (exact or minimum) and fixed axis sizes."""

    def __init__(self, ndim=None, min_ndim=None, axes=None):
        self.ndim, self.min_ndim, self.axes = ndim, min_ndim, dict(axes or {})


def _recorded_build(build):
    """Keras 3's ``build_wrapper`` (``Layer.__new__``, keras/src/layers/layer.py,
    3.15.1): run ``build``, record the shape, set ``built``, lock the state.

    Wrapped per class (``__init_subclass__``), not per instance, so a subclass's
    ``super().build()`` meets a second wrapper, which only runs the body. On
    purpose unlike Keras: an unbuilt layer checks the shape against ``input_spec``
    first (the call's message, not a later failure), the batch is recorded as
    ``None`` (as the first call records it), a failed ``build`` leaves no weights.
    """

    @functools.wraps(build)
    def build_wrapper(self, input_shape, *args, **kwargs):
        if self._building:  # super().build() from a subclass's build
            return build(self, input_shape, *args, **kwargs)
        shape = build_shape(input_shape)
        if not self.built:  # a built layer's rebuild meets Keras's lock instead
            self._check_input_shape(shape)
        weights_before = len(self._weights)
        self._building = True
        try:
            build(self, input_shape, *args, **kwargs)
        except BaseException:
            del self._weights[weights_before:]
            raise
        finally:
            self._building = False
        self._build_input_shape = shape
        self.built = True
        self._state_locked = True

    build_wrapper._convsim_recorded_build = True
    return build_wrapper


class Layer:
    """Base class of every convsim layer. See the module docstring."""

    # Keras also accepts these in any layer's constructor (first layer's shape).
    _BASE_KWARGS = ("input_shape", "batch_input_shape", "batch_size", "input_dim")

    _building = _state_locked = False  # class defaults: set before __init__ runs

    def __init_subclass__(cls, **kwargs):
        """Wrap the subclass's own ``build``, once (:func:`_recorded_build`)."""
        super().__init_subclass__(**kwargs)
        build = cls.__dict__.get("build")
        if callable(build) and not getattr(build, "_convsim_recorded_build", False):
            cls.build = _recorded_build(build)

    def __init__(self, name=None, trainable=True, dtype=None, **kwargs):
        unknown = {k: v for k, v in kwargs.items() if k not in self._BASE_KWARGS}
        if unknown:
            raise WrongTypeError(f"Unrecognized keyword arguments passed to "
                                 f"{type(self).__name__}: {unknown}")
        if dtype not in (None, "float32", np.float32):
            raise ArgumentError(f"convsim layers compute in float32. "
                                f"Received: dtype={dtype!r}")
        if name is not None and (not isinstance(name, str) or not name
                                 or "/" in name):
            raise ArgumentError(f"Argument `name` must be a non-empty string without "
                                f"'/'. Received: name={name!r}")
        self.name = name or unique_name(snake_case(type(self).__name__))
        self.trainable = validation.check_bool(trainable, "trainable")
        self.built = False
        self.input_spec: InputSpec | None = None
        self._weights: list[Variable] = []
        self._inbound_nodes: list[Node] = []
        self._build_input_shape: tuple | None = None
        self._batch_input_shape = _batch_shape_from_kwargs(kwargs)

    # ------------------------------------------------------------ lifecycle
    @_recorded_build
    def build(self, input_shape) -> None:
        """Create the weights for ``(batch, ...)`` inputs; leaves the layer built
        (module docstring). Layers without weights need not override it."""

    def call(self, inputs: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__}.call")

    def backward(self, grad: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """dL/d(inputs) from dL/d(outputs) of the last ``call(training=True)``.

        Weight gradients are stored on the weights. With ``input_grad=False`` (the
        model's first layer: nobody needs the gradient of the images) a layer may
        skip computing dL/d(inputs) and return ``None``.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot be trained yet")

    def compute_output_shape(self, input_shape) -> tuple:
        return tuple(input_shape)

    def get_config(self) -> dict:
        config = {"name": self.name, "trainable": self.trainable, "dtype": "float32"}
        if self._batch_input_shape is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config: dict):
        """Made by the constructor, which checks ``config`` like your arguments."""
        return construct(cls, config)

    # ------------------------------------------------------------ calling
    def __call__(self, inputs, training=None):
        if isinstance(inputs, (list, tuple)) and len(inputs) == 1:
            inputs = inputs[0]
        if isinstance(inputs, KerasTensor):
            return self._call_symbolic(inputs)
        x = as_float32(inputs, "inputs")
        self._check_input_shape(x.shape)  # before build: its error names x's shape
        self._maybe_build(x.shape)
        self._check_input_shape(x.shape)
        return self.call(x, training=bool(training))

    def _call_symbolic(self, tensor: KerasTensor) -> KerasTensor:
        self._maybe_build(tensor.shape)
        self._check_input_shape(tensor.shape)
        try:
            shape = self.compute_output_shape(tensor.shape)
        except ArgumentError as err:  # say which layer of the model it is
            raise ArgumentError(f"Layer '{self.name}' ({type(self).__name__}): "
                                f"{err}") from None
        node = Node(self, tensor)
        node.output = KerasTensor(shape, node)
        self._inbound_nodes.append(node)
        return node.output

    def _maybe_build(self, input_shape) -> None:
        """Build on the first call; ``build``'s wrapper checks and records."""
        if not self.built:
            self.build((None, *tuple(input_shape)[1:]))

    def _expected_input(self) -> tuple:
        """``(None, height, width, channels)`` as far as this layer knows it
        (from ``input_shape=`` or an earlier build), for a shape hint."""
        known = self._batch_input_shape or self._build_input_shape
        return tuple(known) if known is not None and len(known) == 4 else (
            None, None, None, None)

    def _check_input_shape(self, shape) -> None:
        spec = self.input_spec
        if spec is None:
            return
        shape = tuple(shape)
        where = f'Input 0 of layer "{self.name}" is incompatible with the layer: '
        if spec.ndim is not None and len(shape) != spec.ndim:
            hint = input_shape_hint(self._expected_input(), shape)
            hint_ko = input_shape_hint(self._expected_input(), shape, "ko")
            raise ArgumentError(f"{where}expected ndim={spec.ndim}, found "
                                f"ndim={len(shape)}. Full shape received: {shape}"
                                + (f". {hint}" if hint else ""),
                                ko=f'층 "{self.name}"의 입력 0이 맞지 않습니다. '
                                f"기대하는 차원 수: ndim={spec.ndim}, 받은 차원 수: "
                                f"ndim={len(shape)}. 받은 크기: {shape}"
                                + (f". {hint_ko}" if hint_ko else ""))
        if spec.min_ndim is not None and len(shape) < spec.min_ndim:
            raise ArgumentError(f"{where}expected min_ndim={spec.min_ndim}, found "
                                f"ndim={len(shape)}. Full shape received: {shape}")
        for axis, size in spec.axes.items():
            if shape[axis] not in (None, size):
                raise ArgumentError(f"{where}expected axis {axis} of input shape to "
                                    f"have value {size}, but received input with "
                                    f"shape {shape}")

    # ------------------------------------------------------------ weights
    def add_weight(self, name, shape, initializer, trainable=True) -> Variable:
        """Create and track a weight, its shape checked before any allocation
        (and against :data:`WEIGHTS_BACKING`). After ``build`` the state is
        locked, as Keras 3's ``Layer._lock_state``: ValueError, weights kept."""
        if self._state_locked:
            raise ArgumentError(
                "You cannot add new elements of state (variables or sub-layers) to "
                "a layer that is already built. All state must be created in the "
                "`__init__()` method or in the `build()` method. Received: "
                f"add_weight(name={name!r}, shape={tuple(shape)}) on layer "
                f"'{self.name}', built for input_shape={self._build_input_shape}."
            )
        backing = WEIGHTS_BACKING.get()
        try:
            shape = weight_shape(shape)
            if backing is not None and math.prod(shape) > backing[0]:
                raise ArgumentError(f"shape {shape} needs {math.prod(shape):,} "
                                    f"values, but {backing[1]} holds only "
                                    f"{backing[0]:,} more: its architecture and "
                                    "its weights do not match.")
        except ArgumentError as err:
            raise ArgumentError(f"Layer '{self.name}' cannot create its weight "
                                f"{name!r}: {err}") from None
        if backing is not None:
            backing[0] -= math.prod(shape)
        value = initializer(shape)
        var = Variable(value, name, f"{self.name}/{name}", trainable)
        self._weights.append(var)
        return var

    @property
    def weights(self) -> list[Variable]:
        return list(self._weights)

    @property
    def trainable_weights(self) -> list[Variable]:
        if not self.trainable:
            return []
        return [w for w in self._weights if w.trainable]

    @property
    def non_trainable_weights(self) -> list[Variable]:
        return [w for w in self._weights if w not in self.trainable_weights]

    def get_weights(self) -> list[np.ndarray]:
        return [w.numpy() for w in self._weights]

    def set_weights(self, weights) -> None:
        weights = list(weights)
        if len(weights) != len(self._weights):
            raise ArgumentError(
                f"You called `set_weights(weights)` on layer '{self.name}' with a "
                f"weight list of length {len(weights)}, but the layer was expecting "
                f"{len(self._weights)} weights."
            )
        for var, value in zip(self._weights, weights, strict=False):
            var.assign(value)

    def count_params(self) -> int:
        if not self.built:
            raise ArgumentError(f"You tried to call `count_params` on layer "
                                f"'{self.name}', but the layer isn't built. You can "
                                "build it manually via: `layer.build(input_shape)`.")
        return int(sum(int(np.prod(w.shape)) for w in self._weights))

    # ------------------------------------------------------------ graph access
    @property
    def input(self) -> KerasTensor:
        return self._first_node("input").input

    @property
    def output(self) -> KerasTensor:
        return self._first_node("output").output

    @property
    def output_shape(self) -> tuple:
        return self.output.shape

    def _first_node(self, what):
        if not self._inbound_nodes:
            raise AttributeError(
                f"The layer {self.name} has never been called and thus has no "
                f"defined {what}. Give the model an input shape (input_shape= on "
                "its first layer, or layers.Input) so its layers are connected."
            )
        return self._inbound_nodes[0]

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


class ActivatedLayer(Layer):
    """A layer computing ``y = activation(z)`` after its own linear part ``z``.

    Subclasses implement ``_backward_linear(dz)`` (gradients of the linear part).
    """

    def __init__(self, activation=None, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)
        self.keep_logits = False  # set by Model.compile for the fused loss
        self.logits: np.ndarray | None = None
        self._y: np.ndarray | None = None

    def _activate(self, z, training):
        y = activations.forward(self.activation, z)
        if self.keep_logits:
            self.logits = z
        if training:
            self._y = y
        return y

    def backward(self, grad, input_grad=True):
        if self._y is None:
            raise NotReadyError(f"Layer '{self.name}': call it with training=True "
                                "before backward().")
        dz = self.activation.backward(self._y, grad)
        return self._backward_linear(dz, input_grad)

    def backward_from_logits(self, dz, input_grad=True):
        """Backward pass given dL/dz directly (the activation already accounted)."""
        return self._backward_linear(dz, input_grad)

    def _backward_linear(self, dz, input_grad=True):  # pragma: no cover - abstract
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


def _batch_shape_from_kwargs(kwargs) -> tuple | None:
    """Keras lets the first layer declare the input: ``input_shape=(28, 28, 1)``."""
    if kwargs.get("batch_input_shape") is not None:
        return shape_tuple(kwargs["batch_input_shape"], "batch_input_shape")
    if kwargs.get("input_shape") is not None:
        shape = shape_tuple(kwargs["input_shape"], "input_shape")
        return (kwargs.get("batch_size"), *shape)
    if kwargs.get("input_dim") is not None:
        return (kwargs.get("batch_size"), *shape_tuple((kwargs["input_dim"],),
                                                      "input_dim"))
    return None
