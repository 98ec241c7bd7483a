"""Every mistake convsim.ops rejects, with its wording pinned (argument, rule,
received value), and proof that odd-but-valid inputs are converted instead of
reaching numba as a typing error or a crash.

Every integer that reaches a kernel (strides, dilation, pool and kernel sizes)
is at most 2**31 - 1 (convsim.validation.MAX_SIZE): ``strides=2**64`` used to
reach numba as a TypingError, 2**62 as a raw OverflowError; the boundary itself
still computes the right numbers."""

from __future__ import annotations

import doctest
import re

import numpy as np
import pytest

from convsim import ops, validation
from convsim.errors import ArgumentError, ConvsimError

X = np.zeros((1, 5, 5, 2), np.float32)  # (batch, height, width, channels)
K = np.zeros((3, 3, 2, 4), np.float32)  # (kh, kw, in_channels, filters)
IMAGES = "of shape (batch, height, width, channels)"


def strides_error(name, value):
    return (f"The `{name}` argument must be a tuple of 2 positive integers. "
            f"Received: {name}={value!r}")


def too_large(name, value):
    return (f"The `{name}` argument must be a tuple of 2 positive integers, each at "
            f"most 2147483647 (2**31 - 1: convsim's kernels index in 64-bit integers "
            f"without overflow checks, and below 2**31 none can overflow). "
            f"Received: {name}={value!r}")


PADDING = "`padding` must be one of {'valid', 'same'}. Received: padding="
DATA_FORMAT = ("`data_format` must be 'channels_last' (or None): convsim stores "
               "images as (batch, height, width, channels). Received: data_format=")
NUMERIC = "must have a real numeric dtype (bool, int, uint or float). Received: "
AXIS = ("`axis` must be an integer in [-2, 1] for an array of shape (2, 3). "
        "Received: axis=")

REJECTIONS = [
    # --- rank and shape of arrays
    ("conv-3d-inputs", lambda: ops.conv(X[0], K), ValueError,
     f"`inputs` must be a 4D array {IMAGES}. Received: inputs.shape=(5, 5, 2)"),
    ("conv-3d-kernel", lambda: ops.conv(X, K[0]), ValueError,
     "`kernel` must be a 4D array of shape (kernel_h, kernel_w, in_channels, "
     "filters). Received: kernel.shape=(3, 2, 4)"),
    ("conv-channels", lambda: ops.conv(X, np.zeros((3, 3, 3, 4))), ValueError,
     "The kernel's input channels must match the inputs' channels. Received: "
     "inputs.shape=(1, 5, 5, 2) (2 channels) and kernel.shape=(3, 3, 3, 4) "
     "(kernel.shape[2]=3)"),
    ("conv-empty-kernel", lambda: ops.conv(X, np.zeros((0, 3, 2, 4))), ValueError,
     "Every kernel dimension must be >= 1. Received: kernel.shape=(0, 3, 2, 4)"),
    ("conv-no-filters", lambda: ops.conv(X, np.zeros((3, 3, 2, 0))), ValueError,
     "Every kernel dimension must be >= 1. Received: kernel.shape=(3, 3, 2, 0)"),
    ("conv-zero-height", lambda: ops.conv(np.zeros((1, 0, 5, 2)), K), ValueError,
     "`inputs` must have height, width and channels >= 1. "
     "Received: inputs.shape=(1, 0, 5, 2)"),
    ("pool-zero-channels", lambda: ops.max_pool(np.zeros((1, 4, 4, 0)), 2),
     ValueError, "`inputs` must have height, width and channels >= 1. "
     "Received: inputs.shape=(1, 4, 4, 0)"),
    ("conv-bias-shape", lambda: ops.conv(X, K, bias=np.zeros(3)), ValueError,
     "`bias` must have shape (4,), one value per filter. Received: bias.shape=(3,)"),
    ("conv-bias-rank", lambda: ops.conv(X, K, bias=np.zeros((1, 4))), ValueError,
     "`bias` must be a 1D array. Received: bias.shape=(1, 4)"),
    ("pool-3d-inputs", lambda: ops.max_pool(X[0], 2), ValueError,
     f"`inputs` must be a 4D array {IMAGES}. Received: inputs.shape=(5, 5, 2)"),
    ("avgpool-5d-inputs", lambda: ops.average_pool(X[None], 2), ValueError,
     f"`inputs` must be a 4D array {IMAGES}. Received: inputs.shape=(1, 1, 5, 5, 2)"),
    ("dense-1d", lambda: ops.dense(np.zeros(3), np.zeros((3, 2))), ValueError,
     "`inputs` must be a 2D array of shape (batch, units_in). "
     "Received: inputs.shape=(3,)"),
    ("dense-kernel-rank", lambda: ops.dense(np.zeros((2, 3)), np.zeros(3)),
     ValueError, "`kernel` must be a 2D array of shape (units_in, units). "
     "Received: kernel.shape=(3,)"),
    ("dense-mismatch", lambda: ops.dense(np.zeros((2, 3)), np.zeros((4, 2))),
     ValueError, "The kernel's rows must match the inputs' features. Received: "
     "inputs.shape=(2, 3) and kernel.shape=(4, 2)"),
    ("dense-bias", lambda: ops.dense(np.zeros((2, 3)), np.zeros((3, 2)),
                                     np.zeros(3)),
     ValueError, "`bias` must have shape (2,). Received: bias.shape=(3,)"),
    # --- grad_output must be shaped like the forward output
    ("conv-grad", lambda: ops.conv_backward(X, K, np.zeros((1, 2, 2, 4))),
     ValueError, "`grad_output` must have the shape of the forward output, "
     "(1, 3, 3, 4). Received: grad_output.shape=(1, 2, 2, 4)"),
    ("maxpool-grad", lambda: ops.max_pool_backward(X, np.zeros((1, 3, 3, 2)), 2),
     ValueError, "`grad_output` must have the shape of the forward output, "
     "(1, 2, 2, 2). Received: grad_output.shape=(1, 3, 3, 2)"),
    ("avgpool-grad", lambda: ops.average_pool_backward(X, np.zeros((1, 2, 2, 1)),
                                                       2, padding="same"),
     ValueError, "`grad_output` must have the shape of the forward output, "
     "(1, 3, 3, 2). Received: grad_output.shape=(1, 2, 2, 1)"),
    ("dense-grad", lambda: ops.dense_backward(np.zeros((2, 3)), np.zeros((3, 2)),
                                              np.zeros((2, 3))),
     ValueError, "`grad_output` must have the shape of the forward output, (2, 2). "
     "Received: grad_output.shape=(2, 3)"),
    ("relu-grad", lambda: ops.relu_backward(np.zeros(3), np.zeros(4)), ValueError,
     "`grad_output` must have the shape of the forward output, (3,). "
     "Received: grad_output.shape=(4,)"),
    ("softmax-grad", lambda: ops.softmax_backward(np.zeros((2, 3)), np.zeros(3)),
     ValueError, "`grad_output` must have the shape of the forward output, (2, 3). "
     "Received: grad_output.shape=(3,)"),
    # --- max_pool_backward's argmax is used as a memory index: checked
    ("argmax-shape", lambda: ops.max_pool_backward(
        X, np.zeros((1, 2, 2, 2)), 2, argmax=np.zeros((1, 2, 2, 1), np.int64)),
     ValueError, "`argmax` must have shape (1, 2, 2, 2). "
     "Received: argmax.shape=(1, 2, 2, 1)"),
    ("argmax-range", lambda: ops.max_pool_backward(
        X, np.zeros((1, 2, 2, 2)), 2, argmax=np.full((1, 2, 2, 2), 25)),
     ValueError, "`argmax` must hold positions row * width + col in [0, 24] "
     "(or -1 for no cell). Received: values from 25 to 25"),
    ("argmax-negative", lambda: ops.max_pool_backward(
        X, np.zeros((1, 2, 2, 2)), 2, argmax=np.full((1, 2, 2, 2), -7)),
     ValueError, "`argmax` must hold positions row * width + col in [0, 24] "
     "(or -1 for no cell). Received: values from -7 to -7"),
    ("argmax-float", lambda: ops.max_pool_backward(
        X, np.zeros((1, 2, 2, 2)), 2, argmax=np.zeros((1, 2, 2, 2))),
     TypeError, "`argmax` must be an integer array (from max_pool_with_argmax). "
     "Received: argmax.dtype=float64"),
    # --- window arguments: ints or pairs of positive ints
    ("strides-0", lambda: ops.conv(X, K, strides=0), ValueError,
     strides_error("strides", 0)),
    ("strides-pair-0", lambda: ops.conv(X, K, strides=(1, 0)), ValueError,
     strides_error("strides", (1, 0))),
    ("strides-negative", lambda: ops.conv(X, K, strides=-1), ValueError,
     strides_error("strides", -1)),
    ("strides-float", lambda: ops.conv(X, K, strides=1.5), ValueError,
     strides_error("strides", 1.5)),
    ("strides-bool", lambda: ops.conv(X, K, strides=True), ValueError,
     strides_error("strides", True)),
    ("strides-triple", lambda: ops.conv(X, K, strides=(1, 2, 3)), ValueError,
     strides_error("strides", (1, 2, 3))),
    ("strides-string", lambda: ops.conv(X, K, strides="2"), ValueError,
     strides_error("strides", "2")),
    ("dilation-0", lambda: ops.conv(X, K, dilation_rate=0), ValueError,
     strides_error("dilation_rate", 0)),
    ("dilation-backward", lambda: ops.conv_backward(X, K, np.zeros((1, 3, 3, 4)),
                                                    dilation_rate=(0, 1)),
     ValueError, strides_error("dilation_rate", (0, 1))),
    ("pool-size-0", lambda: ops.max_pool(X, 0), ValueError,
     strides_error("pool_size", 0)),
    ("pool-size-single", lambda: ops.average_pool(X, (2,)), ValueError,
     strides_error("pool_size", (2,))),
    ("pool-strides-0", lambda: ops.max_pool(X, 2, strides=0), ValueError,
     strides_error("strides", 0)),
    ("pool-backward-strides", lambda: ops.average_pool_backward(
        X, np.zeros((1, 2, 2, 2)), 2, strides=(2, -2)),
     ValueError, strides_error("strides", (2, -2))),
    ("kernel-size-0", lambda: ops.conv_geometry((1, 5, 5, 1), 0), ValueError,
     strides_error("kernel_size", 0)),
    # --- integers too large for the kernels' int64 arithmetic (were a numba
    # TypingError at 2**64 and a raw OverflowError at 2**62 with 'same')
    ("strides-2**64", lambda: ops.conv(X, K, strides=2**64), ValueError,
     too_large("strides", 2**64)),
    ("strides-2**31", lambda: ops.conv(X, K, strides=(1, 2**31)), ValueError,
     too_large("strides", (1, 2**31))),
    ("strides-uint64", lambda: ops.conv(X, K, strides=np.uint64(2**64 - 1)),
     ValueError, too_large("strides", np.uint64(2**64 - 1))),
    ("dilation-2**62", lambda: ops.conv(X, K, dilation_rate=2**62, padding="same"),
     ValueError, too_large("dilation_rate", 2**62)),
    ("dilation-backward-2**64", lambda: ops.conv_backward(
        X, K, np.zeros((1, 3, 3, 4)), dilation_rate=2**64), ValueError,
     too_large("dilation_rate", 2**64)),
    ("pool-size-2**63", lambda: ops.average_pool(X, 2**63, padding="same"),
     ValueError, too_large("pool_size", 2**63)),
    ("pool-strides-2**64", lambda: ops.max_pool(X, 2, strides=2**64), ValueError,
     too_large("strides", 2**64)),
    ("pool-backward-2**64", lambda: ops.max_pool_backward(
        X, np.zeros((1, 2, 2, 2)), 2, strides=(2, 2**64)), ValueError,
     too_large("strides", (2, 2**64))),
    ("kernel-size-2**64", lambda: ops.conv_geometry((1, 5, 5, 1), 2**64),
     ValueError, too_large("kernel_size", 2**64)),
    # --- conv_geometry's input_shape
    ("geometry-rank", lambda: ops.conv_geometry((5, 5, 1), 3), ValueError,
     "`input_shape` must be (batch, height, width, channels) with a known height "
     "and width. Received: input_shape=(5, 5, 1)"),
    ("geometry-unknown", lambda: ops.conv_geometry((1, None, 5, 1), 3), ValueError,
     "`input_shape` must be (batch, height, width, channels) with a known height "
     "and width. Received: input_shape=(1, None, 5, 1)"),
    ("geometry-string", lambda: ops.conv_geometry((1, "a", 5, 1), 3), ValueError,
     "`input_shape` must be a tuple (batch, ...) of non-negative integers or None. "
     "Received: input_shape=(1, 'a', 5, 1)"),
    ("geometry-2**64", lambda: ops.conv_geometry((1, 2**64, 5, 1), 3), ValueError,
     "`input_shape` must be a tuple (batch, ...) of non-negative integers or None, "
     "each at most 2147483647"),
    # --- flags
    ("input-grad-string", lambda: ops.conv_backward(X, K, np.zeros((1, 3, 3, 4)),
                                                    input_grad="no"),
     TypeError, "`input_grad` must be True or False. Received: input_grad='no'"),
    # --- padding and data_format
    ("padding-full", lambda: ops.conv(X, K, padding="full"), ValueError,
     PADDING + "'full'"),
    ("padding-none", lambda: ops.conv(X, K, padding=None), ValueError,
     PADDING + "None"),
    ("padding-int", lambda: ops.max_pool(X, 2, padding=1), ValueError,
     PADDING + "1"),
    ("padding-causal", lambda: ops.average_pool(X, 2, padding="causal"),
     ValueError, PADDING + "'causal'"),
    ("padding-misspelt", lambda: ops.conv(X, K, padding="smae"), ValueError,
     PADDING + "'smae'. Did you mean 'same'?"),
    ("channels-first-conv", lambda: ops.conv(X, K, data_format="channels_first"),
     ValueError, DATA_FORMAT + "'channels_first'"),
    ("channels-first-pool", lambda: ops.max_pool(X, 2,
                                                 data_format="channels_first"),
     ValueError, DATA_FORMAT + "'channels_first'"),
    ("channels-first-avg", lambda: ops.average_pool(X, 2, data_format="NCHW"),
     ValueError, DATA_FORMAT + "'NCHW'"),
    # --- a window that does not fit
    ("kernel-too-big", lambda: ops.conv(X, np.zeros((6, 3, 2, 1))), ValueError,
     "The kernel window 6x3 is larger than the 5x5 input with padding='valid'. "
     "Received: kernel_size=(6, 3), inputs.shape=(1, 5, 5, 2). Use a smaller "
     "kernel_size, or padding='same'."),
    ("dilated-too-big", lambda: ops.conv(X, K, dilation_rate=3), ValueError,
     "The kernel window 3x3 (spanning 7x7 with dilation_rate=(3, 3)) is larger "
     "than the 5x5 input with padding='valid'. Received: kernel_size=(3, 3), "
     "inputs.shape=(1, 5, 5, 2)."),
    ("pool-too-big", lambda: ops.max_pool(X, 6), ValueError,
     "The pool window 6x6 is larger than the 5x5 input with padding='valid'. "
     "Received: pool_size=(6, 6), inputs.shape=(1, 5, 5, 2). Use a smaller "
     "pool_size, or padding='same'."),
    ("avgpool-too-big", lambda: ops.average_pool(X, (2, 7)), ValueError,
     "The pool window 2x7 is larger than the 5x5 input with padding='valid'. "
     "Received: pool_size=(2, 7)"),
    # --- non-numeric arrays
    ("strings", lambda: ops.conv(np.full((1, 5, 5, 2), "a"), K), TypeError,
     "`inputs` " + NUMERIC + "inputs.dtype=<U1"),
    ("objects", lambda: ops.max_pool(np.empty((1, 4, 4, 1), object), 2), TypeError,
     "`inputs` " + NUMERIC + "inputs.dtype=object"),
    ("complex", lambda: ops.conv(X.astype(complex), K), TypeError,
     "`inputs` " + NUMERIC + "inputs.dtype=complex128"),
    ("datetime", lambda: ops.relu(np.array(["2024-01-01"], "datetime64[D]")),
     TypeError, "`x` " + NUMERIC + "x.dtype=datetime64[D]"),
    ("none", lambda: ops.conv(None, K), TypeError,
     "`inputs` " + NUMERIC + "inputs.dtype=object"),
    ("string-kernel", lambda: ops.conv(X, "kernel"), TypeError,
     "`kernel` " + NUMERIC + "kernel.dtype=<U6"),
    ("string-grad", lambda: ops.conv_backward(X, K, np.full((1, 3, 3, 4), "a")),
     TypeError, "`grad_output` " + NUMERIC + "grad_output.dtype=<U1"),
    ("string-bias", lambda: ops.dense(np.zeros((1, 2)), np.zeros((2, 2)), ["a", "b"]),
     TypeError, "`bias` " + NUMERIC + "bias.dtype=<U1"),
    ("ragged", lambda: ops.relu([[1, 2], [3]]), TypeError,
     "`x` must be a numeric array. Could not convert it: "),
    # --- softmax's axis
    ("softmax-axis", lambda: ops.softmax(np.zeros((2, 3)), axis=2), ValueError,
     AXIS + "2"),
    ("softmax-axis-neg", lambda: ops.softmax(np.zeros((2, 3)), axis=-3), ValueError,
     AXIS + "-3"),
    ("softmax-axis-string", lambda: ops.softmax(np.zeros((2, 3)), axis="a"),
     ValueError, AXIS + "'a'"),  # was a raw TypeError from a comparison
    ("softmax-axis-float", lambda: ops.softmax(np.zeros((2, 3)), axis=1.5),
     ValueError, AXIS + "1.5"),  # was a raw TypeError from np.moveaxis
    ("softmax-axis-bool", lambda: ops.softmax(np.zeros((2, 3)), axis=True),
     ValueError, AXIS + "True"),  # was taken as axis 1
    ("softmax-backward-axis", lambda: ops.softmax_backward(
        np.zeros((2, 3)), np.zeros((2, 3)), axis=2), ValueError, AXIS + "2"),
    ("softmax-scalar", lambda: ops.softmax(1.0), ValueError,
     "`x` must have at least 1 dimension for softmax. Received: a scalar"),
]


@pytest.mark.parametrize("call, error, message",
                         [r[1:] for r in REJECTIONS],
                         ids=[r[0] for r in REJECTIONS])
def test_rejections_name_argument_and_value(call, error, message):
    with pytest.raises(error, match=re.escape(message)) as info:
        call()
    # convsim's own error (never a numba or NumPy one), also a ValueError/TypeError
    assert isinstance(info.value, ConvsimError)


# ---------------------------------------------------------------- accepted inputs

SOURCE = np.random.default_rng(0).uniform(-1, 1, (2, 6, 6, 2)).astype(np.float32)


def readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


CONVERSIONS = {
    "int64": lambda a: (a * 10).astype(np.int64),
    "uint8": lambda a: ((a + 1) * 100).astype(np.uint8),
    "bool": lambda a: a > 0,
    "float64": lambda a: a.astype(np.float64),
    "float16": lambda a: a.astype(np.float16),
    "big-endian": lambda a: a.astype(">f4"),
    "fortran": np.asfortranarray,
    "strided": lambda a: np.repeat(a, 2, axis=1)[:, ::2],
    "reversed": lambda a: a[:, ::-1],
    "broadcast": lambda a: np.broadcast_to(a[:1], a.shape),
    "readonly": readonly,
    "nested-list": lambda a: a.tolist(),
}

OPS = {
    "conv": lambda x: ops.conv(x, np.ones((3, 3, 2, 3)), 2, "same", bias=[1, 2, 3]),
    "conv_backward": lambda x: ops.conv_backward(x, np.ones((2, 2, 2, 1)),
                                                 np.ones((2, 5, 5, 1)))[0],
    "max_pool": lambda x: ops.max_pool(x, 2, 1, "same"),
    "max_pool_backward": lambda x: ops.max_pool_backward(x, np.ones((2, 3, 3, 2)),
                                                         2),
    "average_pool": lambda x: ops.average_pool(x, 3, 2, "same"),
    "average_pool_backward": lambda x: ops.average_pool_backward(
        x, np.ones((2, 3, 3, 2)), 2),
    "dense": lambda x: ops.dense(np.reshape(x, (2, -1)), np.ones((72, 3))),
    "relu": ops.relu,
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "softmax": lambda x: ops.softmax(x, axis=1),
}


@pytest.mark.parametrize("convert", CONVERSIONS.values(), ids=CONVERSIONS.keys())
def test_odd_but_valid_inputs_are_converted_to_float32(convert):
    """Each op gives the float32 result of the plain float32 C-ordered array."""
    odd = convert(SOURCE)
    plain = np.ascontiguousarray(np.asarray(odd), dtype=np.float32)
    for name, op in OPS.items():
        got = op(odd)
        assert got.dtype == np.float32, name
        np.testing.assert_array_equal(got, op(plain), err_msg=name)


def test_case_insensitive_padding_and_numpy_integers_like_keras():
    want = ops.conv(SOURCE, np.ones((3, 3, 2, 1)), strides=2, padding="same")
    got = ops.conv(SOURCE, np.ones((3, 3, 2, 1)), strides=np.array([2, 2]),
                   padding="SAME", data_format="channels_last")
    np.testing.assert_array_equal(got, want)
    assert ops.max_pool(SOURCE, np.int64(2), padding="Valid").shape == (2, 3, 3, 2)


def test_docstring_examples():
    for module in (ops, validation.arguments, validation.labels):
        failures, tried = doctest.testmod(module)
        assert tried > 0 and failures == 0, module.__name__


def test_the_largest_allowed_integers_still_compute_the_right_numbers():
    """2**31 - 1 is allowed and exact: with 'same' padding a 3x3 kernel dilated
    that far has only its centre tap on the image (every other tap lands on
    padding), and a pooling window that large sees the whole image."""
    biggest = validation.MAX_SIZE
    kernel = np.random.default_rng(1).normal(size=(3, 3, 2, 3)).astype(np.float32)
    got = ops.conv(SOURCE, kernel, dilation_rate=biggest, padding="same")
    np.testing.assert_allclose(got, ops.conv(SOURCE, kernel[1:2, 1:2]), rtol=1e-5,
                               atol=1e-6)
    whole = ops.max_pool(SOURCE, biggest, strides=biggest, padding="same")
    np.testing.assert_array_equal(whole[:, 0, 0], SOURCE.max(axis=(1, 2)))
    assert ops.conv(SOURCE, kernel, strides=biggest).shape == (2, 1, 1, 3)
    with pytest.raises(ValueError, match=re.escape(too_large("strides", 2**31))):
        ops.conv(SOURCE, kernel, strides=biggest + 1)


def test_as_float32_keeps_rank_and_gives_one_array_type_to_numba():
    """Scalars stay 0-d (``relu(3.0)`` is a scalar, not ``[3.]``); read-only
    arrays are copied (numba would compile a second version of every kernel
    for them); a float32 C array passes through without a copy."""
    assert validation.as_float32(3, "x").shape == ()
    frozen = readonly(SOURCE)
    got = validation.as_float32(frozen, "x")
    assert got.flags.writeable and got.flags.c_contiguous
    assert validation.as_float32(SOURCE, "x") is SOURCE
    assert ops.relu(np.float32(-2)).shape == () and ops.sigmoid(0).item() == 0.5


def test_values_past_float32s_range_are_refused_not_made_infinite():
    with pytest.raises(ArgumentError, match=r"`x` holds values beyond float32's range"
                       r".*largest magnitude 1e\+39"):
        ops.relu(np.array([1.0, -1e39]))
    with pytest.raises(ArgumentError, match="`inputs` holds values beyond float32"):
        ops.conv(np.full((1, 3, 3, 1), 1e39), np.ones((3, 3, 1, 1)))
    # infinities the user gave stay theirs (a NaN or inf passes through)
    assert np.isinf(ops.relu(np.array([np.inf])))[0]
