"""Keras-exact cross-entropies (convsim.kernels.losses) against per-sample
Python loops, Keras's documented examples, finite differences (including right
next to the 1e-7 clip) and extreme inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from reference import (
    EPSILON,
    naive_binary_crossentropy,
    naive_categorical_crossentropy,
    naive_sparse_categorical_crossentropy,
    numerical_gradient,
)

from convsim.kernels import losses

# The losses compute in float64 and return float32, so a loss or gradient is
# within 1 float32 ulp (6e-8 relative) of the truth; rtol 1e-5 leaves room for
# the finite differences' own ~1e-9 error while any formula slip (a missing
# normalisation, the wrong clip) moves results by far more.
RTOL, ATOL = 1e-5, 1e-6
CLIPPED = -math.log(EPSILON)  # 16.118..., the most a single wrong answer costs

LOSSES = {
    "categorical": (losses.categorical_crossentropy,
                    losses.categorical_crossentropy_backward,
                    naive_categorical_crossentropy),
    "sparse": (losses.sparse_categorical_crossentropy,
               losses.sparse_categorical_crossentropy_backward,
               naive_sparse_categorical_crossentropy),
    "binary": (losses.binary_crossentropy,
               losses.binary_crossentropy_backward,
               naive_binary_crossentropy),
}


def make_problem(kind, rng, batch, classes, from_logits):
    """float32 targets and outputs of the kind each loss expects."""
    if from_logits:
        output = rng.normal(0, 4, (batch, classes))
    else:
        output = rng.uniform(0.01, 1, (batch, classes))  # not normalised: Keras
        if kind == "binary":  # rescales categorical rows, binary needs p < 1
            output = output * 0.98
    if kind == "sparse":
        target = rng.integers(0, classes, batch)
    elif kind == "binary":
        target = rng.integers(0, 2, (batch, classes)).astype(np.float32)
    else:
        target = rng.dirichlet(np.ones(classes), batch)  # soft labels allowed
    return target.astype(np.float32), output.astype(np.float32)


def check_gradient(kind, target, output, from_logits, steps=1e-6, relative=True):
    """dL/d(output) of L = sum_i loss_i * r_i vs central differences of the
    float64 reference. Each sample's loss depends only on its own row, so the
    differences are taken row by row: then the rounding error of the
    difference, ~1e-16 * |loss| / step, involves one row's loss, not all."""
    forward, backward, reference = LOSSES[kind]
    r = np.random.default_rng(7).uniform(0.5, 1.5, output.shape[0])
    per_sample = backward(target, output, from_logits)
    assert per_sample.dtype == np.float32 and per_sample.shape == output.shape
    steps = np.broadcast_to(steps, output.shape)
    want = np.stack([
        numerical_gradient(
            lambda row, i=i: float(reference(target[i:i + 1], row[None],
                                             from_logits)[0] * r[i]),
            output[i], steps[i], relative)
        for i in range(output.shape[0])
    ])
    assert_allclose(per_sample * r[:, None], want, rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("kind", LOSSES)
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
@given(batch=st.integers(1, 5), classes=st.integers(1, 6),
       seed=st.integers(0, 2**32 - 1))
def test_matches_reference(kind, from_logits, batch, classes, seed):
    forward, _, reference = LOSSES[kind]
    target, output = make_problem(kind, np.random.default_rng(seed), batch,
                                  classes, from_logits)
    got = forward(target, output, from_logits)
    assert got.dtype == np.float32 and got.shape == (batch,)
    assert_allclose(got, reference(target, output, from_logits), rtol=RTOL,
                    atol=ATOL)


def test_keras_documented_examples():
    """The examples in Keras's docstrings for the three losses."""
    y_pred = np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]])
    assert_allclose(losses.categorical_crossentropy([[0, 1, 0], [0, 0, 1]], y_pred),
                    [0.0513, 2.303], atol=1e-3)
    assert_allclose(losses.sparse_categorical_crossentropy([1, 2], y_pred),
                    [0.0513, 2.303], atol=1e-3)
    assert_allclose(losses.binary_crossentropy([[0, 1], [0, 0]],
                                               [[0.6, 0.4], [0.4, 0.6]]),
                    [0.916, 0.714], atol=1e-3)


def test_sparse_accepts_float_labels_and_a_trailing_axis():
    output = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]], np.float32)
    want = losses.sparse_categorical_crossentropy(np.array([2, 0]), output)
    assert_array_equal(losses.sparse_categorical_crossentropy([2.0, 0.0], output),
                       want)
    assert_array_equal(losses.sparse_categorical_crossentropy([[2], [0]], output),
                       want)


def test_categorical_rescales_rows_that_do_not_sum_to_one():
    assert_allclose(losses.categorical_crossentropy([[0, 1]], [[2.0, 2.0]]),
                    [math.log(2)], rtol=RTOL)


# ---------------------------------------------------------------- extremes


def test_probabilities_0_and_1_cost_the_clipped_value():
    """A confident wrong answer costs -log(1e-7) = 16.12, never inf; a confident
    right one costs ~1e-7, never exactly log(1) computed from a 0."""
    wrong = losses.categorical_crossentropy([[1, 0]], [[0.0, 1.0]])
    assert_allclose(wrong, [CLIPPED], rtol=RTOL)
    assert_allclose(losses.sparse_categorical_crossentropy([0], [[0.0, 1.0]]),
                    [CLIPPED], rtol=RTOL)
    right = losses.categorical_crossentropy([[0, 1]], [[0.0, 1.0]])
    assert 0 < right[0] < 2e-7
    assert_allclose(losses.binary_crossentropy([[1.0, 0.0]], [[0.0, 1.0]]),
                    [CLIPPED], rtol=RTOL)
    assert_allclose(losses.binary_crossentropy([[1.0, 0.0]], [[1.0, 0.0]]),
                    [-math.log(1 - EPSILON)], rtol=RTOL)


def test_clipped_probabilities_get_zero_gradient_like_tf_clip():
    grad = losses.binary_crossentropy_backward([[1.0, 0.0, 1.0]], [[0.0, 1.0, 5e-8]])
    assert_array_equal(grad, 0.0)
    assert np.isfinite(losses.categorical_crossentropy_backward(
        [[1, 0, 0]], [[0.0, 1.0, 0.0]])).all()


@pytest.mark.parametrize("kind", LOSSES)
def test_huge_logits_stay_finite_and_exact(kind):
    forward, backward, reference = LOSSES[kind]
    output = np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4]], np.float32)
    target = {"sparse": np.array([1, 1, 0]),
              "binary": np.array([[0, 1], [1, 0], [1, 1]], np.float32)}.get(
        kind, np.array([[0, 1], [0, 1], [1, 0]], np.float32))
    loss = forward(target, output, from_logits=True)
    grad = backward(target, output, from_logits=True)
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert_allclose(loss, reference(target, output, True), rtol=RTOL, atol=ATOL)
    if kind != "binary":  # all wrong by 2e4, right, a 50/50 tie
        assert_allclose(loss, [2e4, 0, math.log(2)], rtol=RTOL)
    else:  # per unit: 1e4 + 1e4, then 1e4 + 1e4, then 0 + 0 -> mean
        assert_allclose(loss, [1e4, 1e4, 0], rtol=RTOL, atol=ATOL)


# ---------------------------------------------------------------- gradients


@pytest.mark.parametrize("kind", LOSSES)
@pytest.mark.parametrize("from_logits", [False, True], ids=["probs", "logits"])
def test_gradients_match_finite_differences(kind, from_logits):
    target, output = make_problem(kind, np.random.default_rng(3), 4, 5, from_logits)
    check_gradient(kind, target, output, from_logits)


def test_categorical_gradient_next_to_the_clip():
    """Rows holding 3e-7 (just inside the clip), 5e-8 and 0 (clipped) and
    1 - 3e-7 (just inside the top): where the target sits on 3e-7 the gradient
    is ~1/3e-7, a million times the usual size, and must still match.

    Steps: a millionth of the value on the target class (the loss is
    -log(value / row sum) there, curved on the scale of the value itself) and
    1e-8 elsewhere (enters only through the row sum, and 1e-8 never moves a value
    across 1e-7). float64 rows, because 1 - 3e-7 is not a float32 number."""
    output = np.array([[1 - 3e-7 - 5e-8, 3e-7, 5e-8],
                       [0.5, 0.5 - 3e-7, 3e-7],
                       [1 - 3e-7, 3e-7, 0.0]])
    for target in ([[0, 1, 0], [0, 0, 1], [1, 0, 0]],
                   [[1, 0, 0], [1, 0, 0], [0, 1, 0]]):
        target = np.array(target, np.float64)
        steps = np.where(target > 0, 1e-6 * output, 1e-8)
        check_gradient("categorical", target, output, False, steps, relative=False)
        check_gradient("sparse", target.argmax(axis=1), output, False, steps,
                       relative=False)


@pytest.mark.parametrize("target, output", [
    (1, 2e-7), (0, 2e-7), (0, 1 - 3e-7), (1, 1 - 3e-7),  # just inside the clip
    (1, 5e-8), (0, 1.0), (1, 0.0), (0, 0.0),  # clipped: zero gradient
])
def test_binary_gradient_next_to_the_clip(target, output):
    """The unit under test next to an ordinary one (a nearly right 0.999, so its
    small loss adds little rounding to the differences). Steps: a millionth of
    the distance to 0 or 1 inside the clip, 1e-8 outside (stays outside)."""
    output = np.array([[output, 0.999]])
    inside = (output > EPSILON) & (output < 1 - EPSILON)
    steps = np.where(inside, 1e-6 * np.minimum(output, 1 - output), 1e-8)
    check_gradient("binary", np.array([[target, 1.0]]), output, False, steps,
                   relative=False)


def test_binary_logit_gradient_at_large_logits():
    output = np.array([[30.0, -30.0, 15.0, -0.5]])
    check_gradient("binary", np.array([[0.0, 1.0, 1.0, 0.0]]), output, True)
