"""Every fast kernel path equals its literal twin in convsim.kernels.reference.

The fast kernels are called directly, each path forced whatever
``DIRECT_MAX_PATCH`` would choose (the direct loops and im2col + BLAS, on one
thread or several, in big or tiny chunks), on small random problems, and so
are the literal loops, with the same arguments. The geometry both get comes
from tests/reference.py's own TensorFlow rule (``tf_padding``), not from
convsim.shapes, which is checked against that rule separately at the end.

Tolerances: the fast kernels sum in float32, the literal loops in float64. A
sum of T products of values in [-1, 1] is off by ~sqrt(T) * 6e-8 typically
and below T * 1.2e-7 at worst; ``rtol=1e-5, atol=1e-5 * sqrt(T)`` covers both
(see test_conv.py), while a real bug (a wrong tap, a missing pad, a swapped
axis) moves results by O(0.1).
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from reference import tf_geometry, tf_padding
from strategies import conv_arguments

from convsim import shapes
from convsim.kernels import conv as conv_kernels
from convsim.kernels import dense as dense_kernels
from convsim.kernels import patches
from convsim.kernels import pool as pool_kernels
from convsim.kernels import reference as literal
from convsim.runtime import tasks

RTOL = 1e-5


def atol(terms: int) -> float:
    return 1e-5 * math.sqrt(max(terms, 1))


def uniform(rng, shape):
    """float32 values in [-1, 1): the fast and the literal loops see the same bits."""
    return rng.uniform(-1, 1, shape).astype(np.float32)


@st.composite
def conv_problems(draw):
    """A small convolution: arrays, Keras-style arguments, and its geometry.

    Sometimes one input cell is NaN or infinite: it must spoil exactly the
    outputs and kernel gradients whose windows really read it, no more (the
    direct loops' missing cells at the end of an image must add nothing, not
    0 * inf)."""
    (n, h, w, c), (kh, kw, _, f), strides, padding, dilation = draw(
        conv_arguments(batch=(0, 3), channels=5, extra=7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x, k, b = uniform(rng, (n, h, w, c)), uniform(rng, (kh, kw, c, f)), uniform(rng, f)
    special = draw(st.sampled_from([None, None, np.nan, np.inf, -np.inf]))
    if special is not None and x.size:
        x.reshape(-1)[rng.integers(x.size)] = special
    pads, out_hw = tf_geometry((h, w), (kh, kw), strides, padding, dilation)
    dy = uniform(rng, (n, *out_hw, f))
    return x, k, b, dy, strides, dilation, pads, out_hw


# How the im2col + BLAS path cuts its work: threads running the tasks, output
# positions per chunk (odd and tiny ones put chunk edges inside windows).
im2col_settings = st.tuples(st.integers(1, 3), st.sampled_from([1, 3, 7, 512]))


@contextmanager
def im2col_work_split(threads, chunk_rows, x):
    """The BLAS path uses these threads and chunks inside the ``with`` block.

    With an infinite input, OpenBLAS multiplies it by the zeros that fill out
    its vector registers and NumPy reports "invalid value encountered in
    matmul", although the result is right (checked below): that warning is
    silenced for such inputs only (on every thread: the filter is global).
    """
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        if not np.isfinite(x).all():
            warnings.simplefilter("ignore", RuntimeWarning)
        for module in (tasks, patches):
            mp.setattr(module, "thread_count", lambda: threads)
        mp.setattr(patches, "CHUNK_ROWS", chunk_rows)
        yield


def geometry_tuple(k, strides, dilation, pads, out_hw):
    """The ``(kh, kw, sh, sw, dh, dw, top, left, out_h, out_w)`` of patches.py."""
    return (*k.shape[:2], *strides, *dilation, pads[0], pads[2], *out_hw)


# ---------------------------------------------------------------- convolution


@given(conv_problems(), im2col_settings)
def test_every_forward_path_equals_the_literal_loop(problem, settings):
    x, k, b, _, strides, dilation, pads, out_hw = problem
    want = literal.conv2d(x, k, b, strides, pads, dilation, out_hw)
    tol = atol(k.shape[0] * k.shape[1] * k.shape[2])

    for relu in (False, True):  # ReLU fused into the pass that writes y
        if relu:
            want = np.where(want < 0, np.float32(0), want)  # NaN stays NaN
        direct = conv_kernels._conv2d_direct(x, k, b, *strides, *dilation, pads[0],
                                             pads[2], *out_hw, relu)
        assert direct.dtype == np.float32 and direct.shape == want.shape
        assert_allclose(direct, want, rtol=RTOL, atol=tol)

        with im2col_work_split(*settings, x):
            blas = patches.conv2d_im2col(
                x, k, b, geometry_tuple(k, strides, dilation, pads, out_hw), relu)
            chosen = conv_kernels.conv2d_forward(x, k, b, strides, pads, dilation,
                                                 out_hw, relu)
        assert blas.dtype == np.float32 and blas.shape == want.shape
        assert_allclose(blas, want, rtol=RTOL, atol=tol)
        assert_allclose(chosen, want, rtol=RTOL, atol=tol)


@given(conv_problems(), im2col_settings, st.integers(1, 3))
def test_every_gradient_path_equals_the_literal_loop(problem, settings, shares):
    x, k, b, dy, strides, dilation, pads, out_hw = problem
    want_dx, want_dk, want_db = literal.conv2d_backward(x, k, dy, strides, pads,
                                                        dilation)
    kh, kw, c, f = k.shape
    sums = dy.shape[0] * out_hw[0] * out_hw[1]  # terms of dL/dkernel and dL/dbias
    dx_terms = kh * kw * f

    direct_dk = conv_kernels._kernel_grad_direct(x, dy, kh, kw, *strides, *dilation,
                                                 pads[0], pads[2], shares)
    assert_allclose(direct_dk, want_dk, rtol=RTOL, atol=atol(sums))

    with im2col_work_split(*settings, x):
        dx, blas_dk = patches.conv2d_backward_im2col(
            x, k, dy, geometry_tuple(k, strides, dilation, pads, out_hw),
            input_grad=True, kernel_grad=True)
    assert dx.dtype == np.float32 and dx.shape == x.shape
    assert_allclose(dx, want_dx, rtol=RTOL, atol=atol(dx_terms))
    assert_allclose(blas_dk.reshape(k.shape), want_dk, rtol=RTOL, atol=atol(sums))

    rows = dy.reshape(-1, f)
    same, db = conv_kernels._bias_grad(rows, rows, False)
    assert same is rows or same.base is not None  # dy itself, not a copy
    assert_allclose(db, want_db, rtol=RTOL, atol=atol(sums))

    for input_grad in (True, False):
        with im2col_work_split(*settings, x):
            got_dx, got_dk, got_db = conv_kernels.conv2d_backward(
                x, k, dy, strides, pads, dilation, input_grad)
        assert (got_dk.dtype, got_db.dtype) == (np.float32, np.float32)
        assert_allclose(got_dk, want_dk, rtol=RTOL, atol=atol(sums))
        assert_allclose(got_db, want_db, rtol=RTOL, atol=atol(sums))
        if input_grad:
            assert_allclose(got_dx, want_dx, rtol=RTOL, atol=atol(dx_terms))
        else:
            assert got_dx is None


@given(conv_problems(), im2col_settings)
def test_the_fused_relu_gradient_equals_relu_then_the_literal_loop(problem, settings):
    """``relu_output`` given: dy is the gradient after a ReLU, whose gradient
    (dy where the output is > 0, else 0; NaN outputs pass nothing) is applied
    in the bias pass. The literal loop gets the masked dy."""
    x, k, b, dy, strides, dilation, pads, out_hw = problem
    y = literal.conv2d(x, k, b, strides, pads, dilation, out_hw)
    y = np.where(y < 0, np.float32(0), y).astype(np.float32)
    dz = np.where(y > 0, dy, np.float32(0)).astype(np.float32)
    with np.errstate(invalid="ignore"):  # an infinite input times a 0 gradient
        want_dx, want_dk, want_db = literal.conv2d_backward(x, k, dz, strides, pads,
                                                            dilation)
    sums = dy.shape[0] * out_hw[0] * out_hw[1]
    dx_terms = k.shape[0] * k.shape[1] * k.shape[3]
    with im2col_work_split(*settings, x):
        got_dx, got_dk, got_db = conv_kernels.conv2d_backward(
            x, k, dy, strides, pads, dilation, True, relu_output=y)
    assert_allclose(got_dk, want_dk, rtol=RTOL, atol=atol(sums))
    assert_allclose(got_db, want_db, rtol=RTOL, atol=atol(sums))
    assert_allclose(got_dx, want_dx, rtol=RTOL, atol=atol(dx_terms))


def test_the_bias_gradient_adds_its_blocks_in_order_on_any_thread_count():
    """Rows are summed in blocks of BIAS_BLOCK (here three blocks and a bit),
    each block on its own float64 row: the result is the float64 sum, and the
    ReLU's gradient is applied row by row across the block edges."""
    rng = np.random.default_rng(7)
    rows = 3 * conv_kernels.BIAS_BLOCK + 5
    dy = uniform(rng, (rows, 6))
    y = np.maximum(uniform(rng, (rows, 6)), 0)
    y[::7] = np.nan  # a NaN output passes no gradient
    dz, db = conv_kernels._bias_grad(dy, y, True)
    want = np.where(y > 0, dy, 0)
    assert_array_equal(dz, want)
    assert_allclose(db, want.astype(np.float64).sum(axis=0), rtol=1e-12, atol=1e-12)
    _, db_plain = conv_kernels._bias_grad(dy, dy, False)
    assert_allclose(db_plain, dy.astype(np.float64).sum(axis=0), rtol=1e-12,
                    atol=1e-12)


@given(conv_problems())
def test_the_cell_by_cell_gradients_equal_the_fast_kernels(problem):
    """The gradients one input cell or one weight at a time (the sum over the
    output cells that used it, as the backprop lesson shows them) equal the
    fast kernels' and the output-by-output literal loop's."""
    x, k, _, dy, strides, dilation, pads, out_hw = problem
    dx = literal.conv2d_input_grad(x, k, dy, strides, pads, dilation)
    dk = literal.conv2d_kernel_grad(x, dy, k.shape[:2], strides, pads, dilation)
    assert (dx.dtype, dk.dtype, dx.shape, dk.shape) == (np.float32, np.float32,
                                                        x.shape, k.shape)
    want_dx, want_dk, _ = literal.conv2d_backward(x, k, dy, strides, pads, dilation)
    with im2col_work_split(1, 512, x):
        got_dx, got_dk, _ = conv_kernels.conv2d_backward(x, k, dy, strides, pads,
                                                         dilation, True)
    sums = dy.shape[0] * out_hw[0] * out_hw[1]
    dx_terms = k.shape[0] * k.shape[1] * k.shape[3]
    for got in (got_dx, want_dx):
        assert_allclose(dx, got, rtol=RTOL, atol=atol(dx_terms))
    for got in (got_dk, want_dk):
        assert_allclose(dk, got, rtol=RTOL, atol=atol(sums))


def test_covering_windows_are_the_windows_that_read_a_cell():
    """Every (output cell, tap) pair that reads a padded cell, and no other:
    checked against the windows themselves, strides jumping over cells and
    dilated taps included."""
    size, strides, dilation, out_hw = (3, 2), (2, 1), (1, 2), (3, 4)
    padded_hw = (strides[0] * 2 + 3, strides[1] * 3 + dilation[1] + 1)
    reads = {}
    for oy in range(out_hw[0]):
        for ox in range(out_hw[1]):
            for i in range(size[0]):
                for j in range(size[1]):
                    cell = (oy * strides[0] + i * dilation[0],
                            ox * strides[1] + j * dilation[1])
                    reads.setdefault(cell, []).append((oy, ox, i, j))
    for row in range(padded_hw[0]):
        for col in range(padded_hw[1]):
            assert literal.covering_windows(row, col, size, strides, dilation,
                                            out_hw) == sorted(reads.get((row, col),
                                                                        []))


@pytest.mark.parametrize("special", [np.inf, np.nan])
@pytest.mark.parametrize("x_shape, kernel_size, strides, padding", [
    ((2, 5, 5, 1), (3, 3), (1, 1), "valid"),  # 9 cells per image: 2 fours + 1
    ((1, 6, 5, 2), (2, 3), (2, 1), "same"),  # 15 cells: 3 fours + 3
])
def test_a_non_finite_value_spoils_only_what_reads_it(x_shape, kernel_size, strides,
                                                      padding, special):
    """One input cell, then one output gradient, infinite or NaN, in every
    place in turn: the direct loops' results must be non-finite exactly where
    the literal loop's are. Their missing cells after the last four must add
    nothing, not 0 * inf; the hypothesis problems rarely put the value there."""
    rng = np.random.default_rng(11)
    x = uniform(rng, x_shape)
    k = uniform(rng, (*kernel_size, x_shape[3], 3))
    pads, out_hw = tf_geometry(x_shape[1:3], kernel_size, strides, padding)
    dy = uniform(rng, (x_shape[0], *out_hw, 3))
    args = (*strides, 1, 1, pads[0], pads[2])
    zeros = np.zeros(3, np.float32)
    for name, array in (("x", x), ("dy", dy)):
        for cell in range(array.size):
            spoiled = array.copy()
            spoiled.reshape(-1)[cell] = special
            xs, dys = (spoiled, dy) if name == "x" else (x, spoiled)
            # inf times a padding zero is NaN in both, and NumPy says so (the
            # kernel too when run with NUMBA_DISABLE_JIT=1)
            with np.errstate(invalid="ignore"):
                want = literal.conv2d_backward(xs, k, dys, strides, pads, (1, 1))[1]
                got = conv_kernels._kernel_grad_direct(xs, dys, *kernel_size, *args,
                                                       2)
            where = f"{special} at {name} cell {cell}"
            assert_allclose(got, want, rtol=RTOL, atol=atol(dy.size), err_msg=where)
            if name == "x":
                y = conv_kernels._conv2d_direct(xs, k, zeros, *args, *out_hw, False)
                want = literal.conv2d(xs, k, zeros, strides, pads, (1, 1), out_hw)
                assert_allclose(y, want, rtol=RTOL, atol=atol(k.size), err_msg=where)


def test_the_cases_above_reach_both_sides_of_the_threshold():
    """The hypothesis problems have patches of 1 to 80 values: some would take
    the direct loops in training, some im2col (each path is forced above
    anyway, but conv2d_forward/backward then choose both ways)."""
    assert 1 <= conv_kernels.DIRECT_MAX_PATCH < 4 * 4 * 5


@pytest.mark.parametrize("x_shape, k_shape, strides, pads, out_hw", [
    ((1, 5, 5, 1), (3, 3, 2, 1), (1, 1), (0, 0, 0, 0), (3, 3)),  # channels differ
    ((1, 5, 5, 1), (3, 3, 1, 1), (0, 1), (0, 0, 0, 0), (3, 3)),  # stride 0
    ((1, 5, 5, 1), (3, 3, 1, 1), (1, 1), (-1, 0, 0, 0), (3, 3)),  # negative pad
])
def test_inconsistent_geometry_is_refused_before_any_kernel_runs(
    x_shape, k_shape, strides, pads, out_hw
):
    x, k = np.zeros(x_shape, np.float32), np.zeros(k_shape, np.float32)
    with pytest.raises(ValueError, match="Inconsistent convolution geometry"):
        conv_kernels.conv2d_forward(x, k, np.zeros(k_shape[3], np.float32), strides,
                                    pads, (1, 1), out_hw)
    dy = np.zeros((x_shape[0], *out_hw, k_shape[3]), np.float32)
    with pytest.raises(ValueError, match="Inconsistent convolution geometry"):
        conv_kernels.conv2d_backward(x, k, dy, strides, pads, (1, 1))


# ---------------------------------------------------------------- pooling


@st.composite
def pool_problems(draw):
    padding = draw(st.sampled_from(["valid", "same"]))
    size = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    strides = (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
    lowest = size if padding == "valid" else (1, 1)
    h = draw(st.integers(lowest[0], lowest[0] + 7))
    w = draw(st.integers(lowest[1], lowest[1] + 7))
    shape = (draw(st.integers(0, 3)), h, w, draw(st.integers(1, 4)))
    pads, out_hw = tf_geometry((h, w), size, strides, padding)
    nans = draw(st.integers(0, 3))
    return shape, size, strides, pads, out_hw, nans, draw(st.integers(0, 2**32 - 1))


@given(pool_problems())
def test_max_pooling_equals_the_literal_loop_with_ties_and_nan(problem):
    """Small integers make ties common (the first maximum in reading order
    wins); a few NaN cells must win their windows, the first NaN first."""
    shape, size, strides, pads, out_hw, nans, seed = problem
    rng = np.random.default_rng(seed)
    x = rng.integers(-3, 4, shape).astype(np.float32)
    if x.size:
        x.reshape(-1)[rng.integers(0, x.size, nans)] = np.nan
    want, want_argmax = literal.max_pool2d(x, size, strides, pads, out_hw)
    y, argmax = pool_kernels.max_pool2d_forward(x, *size, *strides, pads[0], pads[2],
                                                *out_hw)
    assert_array_equal(argmax, want_argmax)  # the same cell chosen everywhere
    assert y.dtype == np.float32
    assert_allclose(y, want, rtol=RTOL)  # NaN where the literal loop has NaN
    predicting, nothing = pool_kernels.max_pool2d_forward(
        x, *size, *strides, pads[0], pads[2], *out_hw, False)
    assert_array_equal(predicting, y)  # the same maxima, and no places kept
    assert nothing.size == 0

    dy = uniform(rng, y.shape)
    overlap = math.ceil(size[0] / strides[0]) * math.ceil(size[1] / strides[1])
    dx = pool_kernels.max_pool2d_backward(dy, argmax, *shape[1:3])
    assert dx.dtype == np.float32 and dx.shape == x.shape
    assert_allclose(dx, literal.max_pool2d_backward(dy, argmax, *shape[1:3]),
                    rtol=RTOL, atol=atol(overlap))


@given(pool_problems())
def test_average_pooling_equals_the_literal_loop(problem):
    """With 'same' padding a window counts only its real cells."""
    shape, size, strides, pads, out_hw, _, seed = problem
    rng = np.random.default_rng(seed)
    x = uniform(rng, shape)
    y = pool_kernels.average_pool2d_forward(x, *size, *strides, pads[0], pads[2],
                                            *out_hw)
    assert y.dtype == np.float32
    assert_allclose(y, literal.average_pool2d(x, size, strides, pads, out_hw),
                    rtol=RTOL, atol=atol(size[0] * size[1]))

    dy = uniform(rng, y.shape)
    overlap = math.ceil(size[0] / strides[0]) * math.ceil(size[1] / strides[1])
    dx = pool_kernels.average_pool2d_backward(dy, *shape[1:3], *size, *strides,
                                              pads[0], pads[2])
    assert dx.dtype == np.float32 and dx.shape == x.shape
    assert_allclose(dx, literal.average_pool2d_backward(dy, shape[1:3], size,
                                                        strides, pads),
                    rtol=RTOL, atol=atol(overlap))


# ---------------------------------------------------------------- dense


@given(st.integers(0, 5), st.integers(1, 12), st.integers(1, 6),
       st.integers(0, 2**32 - 1))
def test_dense_equals_the_literal_loop(batch, units_in, units, seed):
    rng = np.random.default_rng(seed)
    x, k, b = uniform(rng, (batch, units_in)), uniform(rng, (units_in, units)), \
        uniform(rng, units)
    assert_allclose(dense_kernels.dense_forward(x, k, b), literal.dense(x, k, b),
                    rtol=RTOL, atol=atol(units_in))
    dy = uniform(rng, (batch, units))
    got = dense_kernels.dense_backward(x, k, dy)
    want = literal.dense_backward(x, k, dy)
    for g, w_, terms in zip(got, want, (units, batch, batch), strict=True):
        assert g.dtype == np.float32 and g.shape == w_.shape
        assert_allclose(g, w_, rtol=RTOL, atol=atol(terms))


# ---------------------------------------------------------------- geometry


@given(st.integers(1, 40), st.integers(1, 6), st.integers(1, 4), st.integers(1, 3),
       st.sampled_from(["valid", "same"]))
def test_shapes_py_follows_tensorflows_rule(n, window, stride, dilation, padding):
    """The geometry given to both twins above comes from tf_padding; training
    takes it from convsim.shapes: the two must agree wherever a window fits."""
    out, before, after = tf_padding(n, window, stride, padding, dilation)
    if out < 1:
        return  # the window does not fit: ops refuses it before any kernel
    geo = shapes.window_geometry((n, 1), (window, 1), (stride, 1), padding,
                                 (dilation, 1))
    assert (geo.out_h, *geo.rows) == (out, before, after)
