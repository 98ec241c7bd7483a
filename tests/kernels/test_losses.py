"""Keras-exact cross-entropies (convsim.kernels.losses) against per-sample
Python loops, Keras's documented examples, the values and gradients Keras 3.15.1
gives on and around its clip bounds (float32 1e-7 and 1 - 1e-7), finite
differences (including right next to the clip) and extreme inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_allclose, assert_array_equal
from reference import (
    CLIP_HIGH,
    CLIP_LOW,
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
# The most a single wrong answer costs: label 1 on probability 0 (clipped up to
# CLIP_LOW), and label 0 on probability 1 (clipped down to CLIP_HIGH = 1 - 2**-23,
# so -log(2**-23)); Keras 3.15.1 gives 16.118095 and 15.942385.
WRONG_LABEL_1 = -math.log(CLIP_LOW)  # 16.1180955...
WRONG_LABEL_0 = 23 * math.log(2)  # 15.9423851...
# The float32 neighbours of the bounds: the float32 spacing is 2**-47 around
# 1e-7 (in [2**-24, 2**-23)) and 2**-24 just below 1.
ULP_LOW, ULP_HIGH = 2.0**-47, 2.0**-24

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


def test_clip_bounds_are_keras_epsilon_rounded_to_float32():
    """What tf.clip_by_value(output, 1e-7, 1 - 1e-7) uses on a float32 tensor."""
    assert losses.CLIP_LOW == CLIP_LOW == float(np.float32(1e-7))
    assert losses.CLIP_HIGH == CLIP_HIGH == float(np.float32(1 - 1e-7))
    assert CLIP_HIGH == 0.99999988079071044921875 and CLIP_LOW > 1e-7
    for bound, ulp in ((CLIP_LOW, ULP_LOW), (CLIP_HIGH, ULP_HIGH)):
        below, above = np.float32(bound - ulp), np.float32(bound + ulp)
        assert below == bound - ulp and above == bound + ulp  # float32 numbers
        assert np.nextafter(np.float32(bound), np.float32(0)) == below
        assert np.nextafter(np.float32(bound), np.float32(1)) == above


# (label, probability, loss, d loss / d probability) as Keras 3.15.1 computes
# them (keras.ops.binary_crossentropy on float32 tensors, run with its torch
# backend; the TensorFlow backend's code is the same clip, log and sum): exactly
# 0 and 1, each bound, one float32 step inside and outside it, and two values
# further in. Keras rounds every step to float32; convsim, float64 to the end,
# is within 2 float32 ulps (2.4e-7) of every one of these.
KERAS_BINARY = [
    (0, 0.0, 1.0000001e-07, 0.0),
    (0, 1.0, 15.942385, 0.0),  # the worst case: 23 log 2, not -log(1e-7) = 16.118
    (1, 0.0, 16.118095, 0.0),
    (1, 1.0, 1.1920929e-07, 0.0),
    (0, CLIP_LOW, 1.0000001e-07, 1.0000001),  # on a bound: gradient kept
    (1, CLIP_LOW, 16.118095, -1e7),
    (0, CLIP_HIGH, 15.942385, 8388608.0),
    (1, CLIP_HIGH, 1.1920929e-07, -1.0000001),
    (0, CLIP_LOW + ULP_LOW, 1.00000015e-07, 1.0000001),  # one step inside
    (1, CLIP_LOW + ULP_LOW, 16.118095, -9999999.0),
    (0, CLIP_HIGH - ULP_HIGH, 15.53692, 5592405.0),
    (1, CLIP_HIGH - ULP_HIGH, 1.7881395e-07, -1.0000001),
    (0, CLIP_LOW - ULP_LOW, 1.0000001e-07, 0.0),  # one step outside: clipped
    (1, CLIP_LOW - ULP_LOW, 16.118095, 0.0),
    (0, CLIP_HIGH + ULP_HIGH, 15.942385, 0.0),
    (1, CLIP_HIGH + ULP_HIGH, 1.1920929e-07, 0.0),
    (0, 2e-7, 2.0000002e-07, 1.0000002),
    (1, 2e-7, 15.424949, -5e6),
    (0, 1 - 3e-7, 15.026094, 3355443.2),
    (1, 1 - 3e-7, 2.9802328e-07, -1.0000002),
]
KERAS_RTOL = 2.4e-7  # 2 float32 ulps: Keras's float32 rounding vs convsim's


@pytest.mark.parametrize("label, prob, loss, grad", KERAS_BINARY)
def test_binary_matches_keras_on_and_around_the_clip(label, prob, loss, grad):
    """Probabilities as float32, as ``Loss.per_sample`` passes them."""
    target, output = np.array([[label]], np.float32), np.array([[prob]], np.float32)
    assert_allclose(losses.binary_crossentropy(target, output), [loss],
                    rtol=KERAS_RTOL)
    assert_allclose(losses.binary_crossentropy_backward(target, output), [[grad]],
                    rtol=KERAS_RTOL)
    assert_allclose(losses.binary_crossentropy(target, output),
                    naive_binary_crossentropy(target, output), rtol=RTOL)


def test_probabilities_0_and_1_cost_the_clipped_value():
    """A confident wrong answer costs 16.118 (label 1) or 15.942 (label 0), never
    inf; a confident right one costs 1.2e-7 or 1e-7, never exactly log(1) from a
    0. Keras 3.15.1 gives categorical 16.118095 and 1.192093e-07 for these rows."""
    wrong = losses.categorical_crossentropy([[1, 0]], [[0.0, 1.0]])
    assert_allclose(wrong, [WRONG_LABEL_1], rtol=RTOL)
    assert_allclose(losses.sparse_categorical_crossentropy([0], [[0.0, 1.0]]),
                    [WRONG_LABEL_1], rtol=RTOL)
    right = losses.categorical_crossentropy([[0, 1]], [[0.0, 1.0]])
    assert_allclose(right, [-math.log(CLIP_HIGH)], rtol=RTOL)  # 1.19e-7, not 1e-7
    assert_allclose(losses.categorical_crossentropy([[0, 0, 1]], [[0.5, 0.5, 0.0]]),
                    [WRONG_LABEL_1], rtol=RTOL)
    assert_allclose(losses.binary_crossentropy([[1.0, 0.0]], [[0.0, 1.0]]),
                    [(WRONG_LABEL_1 + WRONG_LABEL_0) / 2], rtol=RTOL)
    assert_allclose(losses.binary_crossentropy([[1.0, 0.0]], [[1.0, 0.0]]),
                    [(-math.log(CLIP_HIGH) - math.log1p(-CLIP_LOW)) / 2], rtol=RTOL)
    # keras.losses.binary_crossentropy: the mean over the last axis, 8.01512
    assert_allclose(losses.binary_crossentropy([[0, 1, 1, 0]], [[1, 0, 1, 0]]),
                    [8.01512], rtol=1e-6)


def test_categorical_clips_normalised_probabilities_at_the_float32_bounds():
    """The row is rescaled (float64), then clipped at CLIP_LOW / CLIP_HIGH: a
    probability between 1 - 1e-7 and CLIP_HIGH (no float32 number, but float64
    rows reach the kernel directly) is clipped to CLIP_HIGH, with gradient 0."""
    between = 1 - 1.1e-7
    assert CLIP_HIGH < between < 1 - 1e-7  # inside the old float64 clip
    output = np.array([[between, 1 - between]])
    got = losses.categorical_crossentropy([[1.0, 0.0]], output)
    assert_allclose(got, [-math.log(CLIP_HIGH)], rtol=RTOL)
    grad = losses.categorical_crossentropy_backward([[1.0, 0.0]], output)
    assert_array_equal(grad, 0.0)  # the target's value was clipped
    assert_allclose(got, naive_categorical_crossentropy([[1.0, 0.0]], output),
                    rtol=RTOL)


def test_clipped_probabilities_get_zero_gradient_like_tf_clip():
    grad = losses.binary_crossentropy_backward([[1.0, 0.0, 1.0]], [[0.0, 1.0, 5e-8]])
    assert_array_equal(grad, 0.0)
    assert np.isfinite(losses.categorical_crossentropy_backward(
        [[1, 0, 0]], [[0.0, 1.0, 0.0]])).all()


@pytest.mark.parametrize("label, prob, bound", [
    (0, CLIP_HIGH, "high"), (1, CLIP_HIGH, "high"),
    (0, CLIP_LOW, "low"), (1, CLIP_LOW, "low"),
])
def test_binary_gradient_on_a_bound_is_the_one_sided_slope_inside(label, prob,
                                                                   bound):
    """On a bound the clipped loss has a kink; like TensorFlow's clip, convsim
    keeps the gradient of the inside. Checked against the one-sided difference
    of the reference taken from inside, with a step of 1e-6 of the distance to
    0 or 1 (its truncation error is ~5e-7 relative; the rounding of the
    difference, ~1e-16 * 16 / step, stays below 1e-7 relative here)."""
    h = 1e-6 * (1 - prob if bound == "high" else prob)
    inside = prob - h if bound == "high" else prob + h
    target = np.array([[label]], np.float64)

    def f(v):
        return naive_binary_crossentropy(target, np.array([[v]]))[0]

    slope = (f(prob) - f(inside)) / (prob - inside)
    grad = losses.binary_crossentropy_backward(target, np.array([[prob]]))
    assert_allclose(grad, [[slope]], rtol=RTOL)


def test_logits_are_never_clipped():
    """from_logits=True has no clip (log-sum-exp): a logit 20 on the wrong side
    costs 20 + log(1 + e^-20), above both clipped worst costs (16.118, 15.942),
    and a right one e^-20 = 2e-9, below the clipped 1e-7."""
    wrong, right = 20 + math.log1p(math.exp(-20)), math.log1p(math.exp(-20))
    assert_allclose(losses.binary_crossentropy([[0.0, 1.0]], [[20.0, -20.0]], True),
                    [wrong], rtol=RTOL)
    assert_allclose(losses.binary_crossentropy([[1.0, 0.0]], [[20.0, -20.0]], True),
                    [right], rtol=RTOL)
    assert_allclose(losses.categorical_crossentropy([[1.0, 0.0]], [[0.0, 20.0]],
                                                    True), [wrong], rtol=RTOL)
    assert_allclose(losses.categorical_crossentropy([[0.0, 1.0]], [[0.0, 20.0]],
                                                    True), [right], rtol=RTOL)
    sig = 1 / (1 + math.exp(-20))  # d/dz = (sigmoid(z) - t) / units
    assert_allclose(losses.binary_crossentropy_backward([[0.0]], [[20.0]], True),
                    [[sig]], rtol=RTOL)


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
    (1, CLIP_LOW + ULP_LOW), (0, CLIP_LOW + ULP_LOW),  # one float32 step inside
    (1, CLIP_HIGH - ULP_HIGH), (0, CLIP_HIGH - ULP_HIGH),
    (1, 5e-8), (0, 1.0), (1, 0.0), (0, 0.0),  # clipped: zero gradient
    (1, CLIP_LOW - ULP_LOW), (0, CLIP_HIGH + ULP_HIGH),  # one step outside
])
def test_binary_gradient_next_to_the_clip(target, output):
    """The unit under test next to an ordinary one (a nearly right 0.999, so its
    small loss adds little rounding to the differences). Steps: a millionth of
    the distance to 0 or 1 inside the clip, 1e-8 outside, and never more than
    half the distance to the nearest bound, so that both points stay on the
    same side of it (one float32 step from CLIP_LOW is only 7e-15 away)."""
    output = np.array([[output, 0.999]])
    inside = (output >= CLIP_LOW) & (output <= CLIP_HIGH)
    to_bound = np.minimum(np.abs(output - CLIP_LOW), np.abs(output - CLIP_HIGH))
    steps = np.minimum(np.where(inside, 1e-6 * np.minimum(output, 1 - output), 1e-8),
                       0.5 * to_bound)
    check_gradient("binary", np.array([[target, 1.0]]), output, False, steps,
                   relative=False)


def test_binary_logit_gradient_at_large_logits():
    output = np.array([[30.0, -30.0, 15.0, -0.5]])
    check_gradient("binary", np.array([[0.0, 1.0, 1.0, 0.0]]), output, True)
