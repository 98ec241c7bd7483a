"""Functional API over the kernels, named and ordered like ``keras.ops``.

A learner can write ``ops.conv(x, kernel, strides=2, padding="same")`` here and
``keras.ops.conv(x, kernel, strides=2, padding="same")`` in Keras and get the
same numbers. Every function here:

1. checks its arguments and explains any mistake (never a numba error);
2. accepts ints or pairs for window sizes, strides and dilation, like Keras,
   each at most 2**31 - 1 (:data:`convsim.validation.MAX_SIZE` says why);
3. converts arrays to C-contiguous float32 (computation is always float32);
4. works out sizes and padding in :mod:`convsim.shapes`, then calls a kernel.

Every function that calls a kernel is a :func:`~convsim.runtime.kernel_call`
(:mod:`convsim.runtime` states what that sets up and why).

Images are ``(batch, height, width, channels)`` (Keras's channels_last).
The ``*_backward`` functions give the gradients that training needs.
"""

from __future__ import annotations

import numpy as np

from convsim import shapes
from convsim.errors import ArgumentError, WrongTypeError
from convsim.kernels import activations as _act
from convsim.kernels import conv as _conv
from convsim.kernels import dense as _dense
from convsim.kernels import pool as _pool
from convsim.runtime import kernel_call
from convsim.validation import (
    PADDINGS,
    as_float32,
    build_shape,
    check_axis,
    check_bool,
    standardize_choice,
    standardize_data_format,
    standardize_tuple,
)

_IMAGES = " of shape (batch, height, width, channels)"

# ---------------------------------------------------------------- convolution


@kernel_call
def conv(
    inputs,
    kernel,
    strides=1,
    padding="valid",
    data_format=None,
    dilation_rate=1,
    *,
    bias=None,
    relu=False,
) -> np.ndarray:
    """2D convolution (cross-correlation, like every deep learning framework).

    Args:
        inputs: ``(batch, height, width, in_channels)``.
        kernel: ``(kernel_h, kernel_w, in_channels, filters)``.
        strides: int or pair; how far the window moves each step.
        padding: ``'valid'`` (no zeros) or ``'same'`` (TensorFlow's rule: output
            ``ceil(n / stride)``, odd extra zero at the bottom/right).
        data_format: ``None`` or ``'channels_last'`` (the only layout here).
        dilation_rate: int or pair; gaps between the kernel's taps.
        bias: optional ``(filters,)``, added to every output cell (convsim extra,
            so layers need no second pass).
        relu: ``True`` gives ``relu(conv(...))``, each cell through ReLU as it
            is written (convsim extra, for Conv2D(activation='relu')).

    Returns:
        ``(batch, out_h, out_w, filters)`` float32.

    >>> x = np.arange(25, dtype=np.float32).reshape(1, 5, 5, 1)
    >>> ops_out = conv(x, np.ones((3, 3, 1, 1)), strides=2)
    >>> ops_out[0, :, :, 0]  # 3x3 window, stride 2, 5x5 input -> 2x2
    array([[ 54.,  72.],
           [144., 162.]], dtype=float32)
    """
    x, k, b, geo, st, dil = _conv_setup(inputs, kernel, strides, padding,
                                        data_format, dilation_rate, bias)
    return _conv.conv2d_forward(x, k, b, st, geo.pads, dil, (geo.out_h, geo.out_w),
                                check_bool(relu, "relu"))


@kernel_call
def conv_backward(
    inputs, kernel, grad_output, strides=1, padding="valid", dilation_rate=1,
    *, input_grad=True, relu_output=None,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray]:
    """Gradients of :func:`conv`: ``(d_inputs, d_kernel, d_bias)``.

    ``grad_output`` is dL/d(outputs), shaped like the output of :func:`conv`.
    With ``input_grad=False`` ``d_inputs`` is ``None`` and is not computed (the
    first layer of a model needs no gradient for the images themselves).
    ``relu_output``: the outputs of ``conv(..., relu=True)``; ``grad_output``
    is then the gradient after the ReLU, whose own gradient is applied on the
    way (in the pass that sums ``d_bias``).
    """
    x, k, _, geo, st, dil = _conv_setup(inputs, kernel, strides, padding,
                                        None, dilation_rate, None)
    dy = _grad_like(grad_output, (x.shape[0], geo.out_h, geo.out_w, k.shape[3]))
    input_grad = check_bool(input_grad, "input_grad")
    if relu_output is not None:
        relu_output = as_float32(relu_output, "relu_output")
        if relu_output.shape != dy.shape:
            raise ArgumentError(f"`relu_output` must have the shape of the output, "
                                f"{dy.shape}. Received: {relu_output.shape}")
    return _conv.conv2d_backward(x, k, dy, st, geo.pads, dil, input_grad, relu_output)


def conv_geometry(input_shape, kernel_size, strides=1, padding="valid",
                  dilation_rate=1, what="kernel") -> shapes.Geometry2D:
    """Output size and padding of a convolution, after validating the arguments.

    ``input_shape`` is ``(batch, height, width, channels)``; the batch and the
    channels may be ``None``. ``what="pool"`` for a pooling window: a window
    that does not fit is then named by ``pool_size``, the pooling's own word.
    """
    shape = build_shape(input_shape)
    if len(shape) != 4 or shape[1] is None or shape[2] is None:
        raise ArgumentError("`input_shape` must be (batch, height, width, channels) "
                            "with a known height and width. Received: "
                            f"input_shape={input_shape!r}")
    kh_kw = standardize_tuple(kernel_size, 2, "kernel_size")
    st = standardize_tuple(strides, 2, "strides")
    dil = standardize_tuple(dilation_rate, 2, "dilation_rate")
    padding = standardize_choice(padding, PADDINGS, "padding")
    return shapes.fit_window(shape, kh_kw, st, padding, dil, what)


def _conv_setup(inputs, kernel, strides, padding, data_format, dilation_rate, bias):
    standardize_data_format(data_format)
    x = as_float32(inputs, "inputs", 4, _IMAGES)
    k = as_float32(kernel, "kernel", 4, " of shape (kernel_h, kernel_w, "
                   "in_channels, filters)")
    if k.shape[2] != x.shape[3]:
        raise ArgumentError(
            "The kernel's input channels must match the inputs' channels. Received: "
            f"inputs.shape={x.shape} ({x.shape[3]} channels) and kernel.shape="
            f"{k.shape} (kernel.shape[2]={k.shape[2]})"
        )
    if min(k.shape) < 1:
        raise ArgumentError(f"Every kernel dimension must be >= 1. Received: "
                            f"kernel.shape={k.shape}")
    st = standardize_tuple(strides, 2, "strides")
    dil = standardize_tuple(dilation_rate, 2, "dilation_rate")
    padding = standardize_choice(padding, PADDINGS, "padding")
    geo = shapes.fit_window(x.shape, k.shape[:2], st, padding, dil, "kernel")
    filters = k.shape[3]
    if bias is None:
        b = np.zeros(filters, dtype=np.float32)
    else:
        b = as_float32(bias, "bias", 1)
        if b.shape != (filters,):
            raise ArgumentError(f"`bias` must have shape ({filters},), one value per "
                                f"filter. Received: bias.shape={b.shape}")
    return x, k, b, geo, st, dil


# ---------------------------------------------------------------- pooling


@kernel_call
def max_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Max pooling: the largest value of each window, channel by channel.

    ``strides`` defaults to ``pool_size`` (windows side by side), like Keras.

    >>> x = np.array([[1, 5], [3, 2]], dtype=np.float32).reshape(1, 2, 2, 1)
    >>> float(max_pool(x, 2)[0, 0, 0, 0])
    5.0
    """
    return _max_pool(inputs, pool_size, strides, padding, data_format, False)[0]


@kernel_call
def max_pool_with_argmax(inputs, pool_size, strides=None, padding="valid",
                         data_format=None) -> tuple[np.ndarray, np.ndarray]:
    """Max pooling plus, for each output, where the max was: ``row * width + col``
    in its image (ties: the first in reading order; NaN wins)."""
    return _max_pool(inputs, pool_size, strides, padding, data_format, True)


def _max_pool(inputs, pool_size, strides, padding, data_format, keep_argmax):
    """The maxima, and where they were when ``keep_argmax`` (else an empty
    array: predicting needs no backward pass)."""
    x, geo, size, st = _pool_setup(inputs, pool_size, strides, padding, data_format)
    top, _, left, _ = geo.pads
    return _pool.max_pool2d_forward(x, *size, *st, top, left, geo.out_h, geo.out_w,
                                    keep_argmax)


@kernel_call
def max_pool_backward(inputs, grad_output, pool_size, strides=None, padding="valid",
                      argmax=None) -> np.ndarray:
    """Gradient of :func:`max_pool` w.r.t. its inputs: each window's gradient goes
    to its max cell. Pass ``argmax`` from :func:`max_pool_with_argmax` to skip
    finding the maxima again."""
    x, geo, size, st = _pool_setup(inputs, pool_size, strides, padding, None)
    out_shape = (x.shape[0], geo.out_h, geo.out_w, x.shape[3])
    dy = _grad_like(grad_output, out_shape)
    if argmax is None:
        argmax = max_pool_with_argmax(x, size, st, padding)[1]
    else:
        argmax = _check_argmax(argmax, out_shape, x.shape[1] * x.shape[2])
    return _pool.max_pool2d_backward(dy, argmax, x.shape[1], x.shape[2])


def _check_argmax(argmax, out_shape, cells):
    """A user-supplied ``argmax`` is used as a memory index by the kernel, so an
    out-of-range value would write outside ``d_inputs`` (a crash, not an error)."""
    arr = np.asarray(argmax)
    if arr.dtype.kind not in "iu":
        raise WrongTypeError("`argmax` must be an integer array (from "
                             "max_pool_with_argmax)."
                             f" Received: argmax.dtype={arr.dtype}")
    if arr.shape != out_shape:
        raise ArgumentError(f"`argmax` must have shape {out_shape}. "
                            f"Received: argmax.shape={arr.shape}")
    if arr.size and (arr.min() < -1 or arr.max() >= cells):
        raise ArgumentError(
            f"`argmax` must hold positions row * width + col in [0, {cells - 1}] "
            f"(or -1 for no cell). Received: values from {arr.min()} to {arr.max()}"
        )
    return np.ascontiguousarray(arr, dtype=np.int64)


@kernel_call
def average_pool(inputs, pool_size, strides=None, padding="valid", data_format=None):
    """Average pooling; with ``'same'`` only real cells count (TensorFlow's rule)."""
    x, geo, size, st = _pool_setup(inputs, pool_size, strides, padding, data_format)
    top, _, left, _ = geo.pads
    return _pool.average_pool2d_forward(x, *size, *st, top, left, geo.out_h, geo.out_w)


@kernel_call
def average_pool_backward(inputs, grad_output, pool_size, strides=None,
                          padding="valid") -> np.ndarray:
    """Gradient of :func:`average_pool`: each window's gradient shared equally."""
    x, geo, size, st = _pool_setup(inputs, pool_size, strides, padding, None)
    dy = _grad_like(grad_output, (x.shape[0], geo.out_h, geo.out_w, x.shape[3]))
    top, _, left, _ = geo.pads
    return _pool.average_pool2d_backward(dy, x.shape[1], x.shape[2], *size, *st,
                                         top, left)


def _pool_setup(inputs, pool_size, strides, padding, data_format):
    standardize_data_format(data_format)
    x = as_float32(inputs, "inputs", 4, _IMAGES)
    size = standardize_tuple(pool_size, 2, "pool_size")
    st = size if strides is None else standardize_tuple(strides, 2, "strides")
    padding = standardize_choice(padding, PADDINGS, "padding")
    geo = shapes.fit_window(x.shape, size, st, padding, (1, 1), "pool")
    return x, geo, size, st


# ---------------------------------------------------------------- dense


@kernel_call
def dense(inputs, kernel, bias=None) -> np.ndarray:
    """``inputs @ kernel + bias`` for ``(batch, units_in)`` inputs."""
    x, k, b = _dense_setup(inputs, kernel, bias)
    return _dense.dense_forward(x, k, b)


@kernel_call
def dense_backward(inputs, kernel, grad_output):
    """Gradients of :func:`dense`: ``(d_inputs, d_kernel, d_bias)``."""
    x, k, _ = _dense_setup(inputs, kernel, None)
    dy = _grad_like(grad_output, (x.shape[0], k.shape[1]))
    return _dense.dense_backward(x, k, dy)


def _dense_setup(inputs, kernel, bias):
    x = as_float32(inputs, "inputs", 2, " of shape (batch, units_in)")
    k = as_float32(kernel, "kernel", 2, " of shape (units_in, units)")
    if k.shape[0] != x.shape[1]:
        raise ArgumentError(
            f"The kernel's rows must match the inputs' features. Received: "
            f"inputs.shape={x.shape} and kernel.shape={k.shape}"
        )
    if bias is None:
        b = np.zeros(k.shape[1], np.float32)
    else:
        b = as_float32(bias, "bias", 1)
    if b.shape != (k.shape[1],):
        raise ArgumentError(f"`bias` must have shape ({k.shape[1]},). "
                            f"Received: bias.shape={b.shape}")
    return x, k, b


# ---------------------------------------------------------------- activations


@kernel_call
def relu(x) -> np.ndarray:
    """``max(x, 0)``."""
    return _elementwise(_act.relu, as_float32(x, "x"))


@kernel_call
def sigmoid(x) -> np.ndarray:
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return _elementwise(_act.sigmoid, as_float32(x, "x"))


@kernel_call
def tanh(x) -> np.ndarray:
    return _elementwise(_act.tanh, as_float32(x, "x"))


@kernel_call
def softmax(x, axis=-1) -> np.ndarray:
    """Probabilities along ``axis`` (stable: the maximum is subtracted first)."""
    arr = as_float32(x, "x")
    moved = _rows_along(arr, axis)
    if arr.size == 0:  # nothing to normalise; reshape(-1, 0) would be ambiguous
        return arr.copy()
    out = _act.softmax(np.ascontiguousarray(moved.reshape(-1, moved.shape[-1])))
    return np.moveaxis(out.reshape(moved.shape), -1, axis)


@kernel_call
def relu_backward(outputs, grad_output) -> np.ndarray:
    """Gradient of :func:`relu` given its outputs and dL/d(outputs)."""
    return _elementwise(_act.relu_backward, *_pair(outputs, grad_output))


@kernel_call
def sigmoid_backward(outputs, grad_output) -> np.ndarray:
    return _elementwise(_act.sigmoid_backward, *_pair(outputs, grad_output))


@kernel_call
def tanh_backward(outputs, grad_output) -> np.ndarray:
    return _elementwise(_act.tanh_backward, *_pair(outputs, grad_output))


@kernel_call
def softmax_backward(outputs, grad_output, axis=-1) -> np.ndarray:
    y, dy = _pair(outputs, grad_output)
    ym, dym = _rows_along(y, axis), _rows_along(dy, axis)
    if y.size == 0:
        return dy.copy()
    flat = _act.softmax_backward(
        np.ascontiguousarray(ym.reshape(-1, ym.shape[-1])),
        np.ascontiguousarray(dym.reshape(-1, dym.shape[-1])),
    )
    return np.moveaxis(flat.reshape(ym.shape), -1, axis)


def _rows_along(arr, axis):
    if arr.ndim == 0:
        raise ArgumentError("`x` must have at least 1 dimension for softmax. "
                            "Received: a scalar")
    return np.moveaxis(arr, check_axis(axis, arr.ndim, arr.shape), -1)


def _elementwise(kernel, *arrays):
    """Run an element-wise kernel on flat views and restore the shape.

    Numba compiles one machine-code version per number of dimensions (a 2D
    Dense output, a 4D conv output, a scalar...), each taking seconds; flat
    C-contiguous views (free: no copy) mean one version serves every shape.
    """
    shape = arrays[0].shape
    return kernel(*(a.reshape(-1) for a in arrays)).reshape(shape)


def _pair(outputs, grad_output):
    y = as_float32(outputs, "outputs")
    dy = _grad_like(grad_output, y.shape)
    return y, dy


# ---------------------------------------------------------------- shared checks


def _grad_like(grad_output, shape) -> np.ndarray:
    dy = as_float32(grad_output, "grad_output")
    if dy.shape != tuple(shape):
        raise ArgumentError(f"`grad_output` must have the shape of the forward output, "
                            f"{tuple(shape)}. Received: grad_output.shape={dy.shape}")
    return dy
