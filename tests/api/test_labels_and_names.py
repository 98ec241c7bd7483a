"""Labels a loss cannot learn from, misspelt names, and every other bad argument
of the building blocks: each refused with a convsim.errors class whose message
names the argument, what was received and what is allowed.

Labels (issue 15, item 8). Before: a NaN sparse label gave ``IndexError: index
-9223372036854775808``, a label 2.7 trained as class 2, ``binary_crossentropy``
took a label 2 and ``categorical_crossentropy`` a row ``[1, 1, 0]``. Keras 3
(3.16.0, keras-team/keras 3422977) checks none of them: keras/src/losses/
losses.py casts ``y_true`` and computes; the backends cast sparse labels to
integers (backend/tensorflow/nn.py ``sparse_categorical_crossentropy``: 2.7 ->
2, NaN -> an out-of-range index refused on CPU only; backend/numpy/nn.py and
jax/nn.py: ``one_hot`` of an out-of-range index is a zero row, loss 0); the
accuracies (keras/src/metrics/accuracy_metrics.py) count such labels as misses.
convsim refuses them and says Keras would not.

What was tried on every public function of ops, losses, metrics, initializers,
activations and the layers' constructors (the table :data:`SWEEP` below, and
tests/api/test_ops_validation.py for ops' shapes and dtypes): NaN, inf,
negative, zero, huge (2**31, 2**62, 2**64, 10**12), bool, string, None,
wrong-rank (a scalar, a 3D image) and empty (0 samples, 0 classes) inputs.
What was raw before and is a convsim error now:

* ops: ``softmax(axis='a' | 1.5)`` (TypeError), ``axis=True`` (taken as 1);
  ``conv_geometry`` with a 3-element, None or string shape (IndexError,
  TypeError) or 2**64 (accepted); ``conv_backward(input_grad='no')`` (true);
  strides/dilation/pool sizes past 2**62 (numba TypingError, OverflowError);
* losses: string labels or outputs (ValueError from NumPy), a scalar output
  (IndexError, AxisError, TypeError, or a silent 1.2e-07), the mean of 0 samples
  (RuntimeWarning, nan), ``label_smoothing='a' | None`` (ValueError, TypeError),
  ``label_smoothing=5 | nan`` for binary (accepted), ``from_logits='False'``
  (true), NaN regression targets (a NaN loss), configs with unknown keys or a
  list (TypeError) from ``losses.get``;
* metrics: labels of another size (ValueError from reshape), string labels
  (silently 0), ``threshold='a'`` (UFuncTypeError), a scalar output;
* initializers: ``scale='a'``, ``minval='a'``, ``Constant('a')`` (TypeError,
  ValueError); ``scale``/``stddev``/``value`` NaN or inf (NaN or inf weights);
  ``minval > maxval``, ``stddev < 0`` (NumPy's ValueError at build); negative,
  float or 2**40 shapes (NumPy's ValueError); ``seed=-1`` (accepted until build);
* layers: ``Dense(2**64)``, ``Conv2D(2, 2**64)``, ``MaxPooling2D(2**64)``
  (accepted); ``Dense(10**12)`` (NumPy's "Unable to allocate 5.57 PiB");
  ``use_bias='False'`` (true); ``Dropout(False)`` (rate 0), ``noise_shape=5``
  (TypeError); ``Input(shape=(28.5, 28, 1))`` (truncated to 28),
  ``shape='28'`` (read as (2, 8)), ``shape=(True, 2)``, ``batch_shape=5``
  (TypeError), ``batch_size=-1`` (accepted).

What stays accepted, as in Keras: a batch of 0 samples through every op, soft
labels (label smoothing's, or any rows of probabilities), whole-number float
sparse labels (``[2.0, 0.0]``), float32 rows that miss 1 by rounding.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from convsim import activations, initializers, layers, losses, metrics, optimizers
from convsim.errors import ArgumentError, ConvsimError, WrongTypeError
from convsim.validation import probability_rows

P = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]], np.float32)  # (batch, classes)
SPARSE = "Sparse labels must be whole numbers in [0, 3), one class index per sample."
CAST = ("Keras would cast it to an integer without a word (2.7 trains as class 2, "
        "NaN as a meaningless index); convsim refuses it.")
BINARY = ("Binary labels must be numbers in [0, 1]: 0 or 1, or a probability "
          "between (a soft label).")
ROWS = ("Categorical labels must be probabilities: values >= 0 summing to 1 in each "
        "row (one-hot rows from to_categorical, or soft labels such as "
        "label_smoothing makes).")
SILENT = "Keras would train on it without a word; convsim refuses it."


def raises(error, message):
    return pytest.raises(error, match=re.escape(message))


# ---------------------------------------------------------------- labels


@pytest.mark.parametrize("label, shown", [(np.nan, "nan"), (2.7, "2.7"),
                                          (np.inf, "inf"), (-0.5, "-0.5")])
def test_a_sparse_label_that_is_not_a_whole_number_is_refused(label, shown):
    """NaN was ``IndexError: index -9223372036854775808``; 2.7 trained as class 2."""
    for call in (lambda: losses.sparse_categorical_crossentropy([0, label], P),
                 lambda: losses.SparseCategoricalCrossentropy().gradient(
                     [0, label], P, from_logits=True)):  # fit's fused path too
        with raises(ArgumentError, f"{SPARSE} Received: y_true[1]={shown}. {CAST}"):
            call()


def test_a_sparse_label_outside_the_classes_names_its_position():
    with raises(ArgumentError, "Received a label value of 3 which is outside the "
                "valid range of [0, 3). Sparse labels are class indices: "
                "y_true[1]=3."):
        losses.sparse_categorical_crossentropy([[0], [3]], P)
    with raises(ArgumentError, "Received a label value of -1 which is outside"):
        losses.sparse_categorical_crossentropy(np.array([-1, 0], np.int8), P)


def test_whole_number_float_and_bool_sparse_labels_still_train():
    want = losses.sparse_categorical_crossentropy(np.array([2, 0]), P)
    np.testing.assert_array_equal(
        losses.sparse_categorical_crossentropy([2.0, 0.0], P), want)
    np.testing.assert_array_equal(
        losses.sparse_categorical_crossentropy(np.array([True, False]), P),
        losses.sparse_categorical_crossentropy([1, 0], P))


@pytest.mark.parametrize("label, shown", [(2.0, "2.0"), (-1.0, "-1.0"),
                                          (np.nan, "nan"), (np.inf, "inf")])
def test_a_binary_label_outside_0_1_is_refused(label, shown):
    """A label 2 was accepted: its loss -(2 log p - log(1 - p)) goes below 0."""
    for from_logits in (False, True):
        with raises(ArgumentError, f"{BINARY} Received: y_true[1, 0]={shown}. "
                    f"{SILENT}"):
            losses.binary_crossentropy([[1.0], [label]], [[0.5], [0.5]],
                                       from_logits=from_logits)


def test_soft_binary_labels_are_accepted():
    got = losses.binary_crossentropy([0.25], [[0.5]])
    np.testing.assert_allclose(got, [math.log(2)], rtol=1e-6)


@pytest.mark.parametrize("rows, shown", [
    ([[1, 1, 0], [0, 0, 1]], "row y_true[0] sums to 2."),
    ([[0, 0, 0], [0, 0, 1]], "row y_true[0] sums to 0."),
    ([[0, 0, 1], [0.5, 0.4, 0]], "row y_true[1] sums to 0.9."),
    ([[0, 0, 1], [-1, 2, 0]], "y_true[1, 0]=-1."),
    ([[0, 0, 1], [0, np.nan, 1]], "y_true[1, 1]=nan."),
    ([[np.inf, 0, 0], [0, 0, 1]], "y_true[0, 0]=inf."),
])
def test_categorical_rows_that_are_not_distributions_are_refused(rows, shown):
    with raises(ArgumentError, f"{ROWS} Received: {shown} {SILENT}"):
        losses.categorical_crossentropy(rows, P)


def test_one_hot_soft_and_rounded_rows_are_accepted():
    """Keras accepts soft labels and so does convsim; float32 rows that miss 1
    by rounding (a softmax's output, label smoothing's arithmetic) too."""
    rng = np.random.default_rng(0)
    for classes in (2, 10, 1000):
        soft = rng.dirichlet(np.ones(classes), 64).astype(np.float32)
        probability_rows(soft)
        probability_rows(np.eye(classes, dtype=np.float32) * 0.9 + 0.1 / classes)
    smoothed = losses.CategoricalCrossentropy(label_smoothing=0.1)
    assert np.isfinite(smoothed([[0, 0, 1], [1, 0, 0]], P))
    with raises(ArgumentError, "row y_true[0] sums to 1.00001"):
        probability_rows([[0.5, 0.50001]])


def test_categorical_after_one_output_unit_says_use_binary():
    with raises(ArgumentError, "row y_true[1] sums to 0. " + SILENT +
                " With one output unit, use loss='binary_crossentropy'."):
        losses.categorical_crossentropy([[1], [0]], [[0.9], [0.2]])


def test_a_nan_regression_target_is_refused():
    with raises(ArgumentError, "`y_true` must hold finite numbers: a NaN or infinite "
                "target makes the loss, and after one step every weight, NaN. "
                "Received: y_true[1]=nan."):
        losses.MeanSquaredError()([1.0, np.nan], [0.5, 0.5])


def test_check_targets_checks_a_whole_dataset_before_training():
    labels = np.zeros(60_000)
    labels[59_999] = np.nan  # the last batch of an MNIST epoch
    loss = losses.get("sparse_categorical_crossentropy")
    with raises(ArgumentError, "Received: y_true[59999]=nan."):
        loss.check_targets(labels, (60_000, 10))
    assert loss.check_targets(labels[:-1], (59_999, 10)).dtype == np.int64


@pytest.mark.parametrize("metric, y_true, y_pred, message", [
    (metrics.sparse_categorical_accuracy, [0, np.nan], P,
     f"{SPARSE} Received: y_true[1]=nan. {CAST} (Raised by the metric "
     "sparse_categorical_accuracy.)"),
    (metrics.sparse_categorical_accuracy, [0, 2.7], P, "y_true[1]=2.7."),
    (metrics.binary_accuracy, [1, 2], [[0.9], [0.2]],
     f"{BINARY} Received: y_true[1, 0]=2. {SILENT} (Raised by the metric "
     "binary_accuracy.)"),
    (metrics.categorical_accuracy, [[1, 1, 0], [0, 0, 1]], P,
     f"{ROWS} Received: row y_true[0] sums to 2. {SILENT} (Raised by the metric "
     "categorical_accuracy.)"),
    (metrics.get("accuracy", "mean_squared_error").fn, [[1], [23.5]],
     [[0.9], [20.0]], "y_true[1, 0]=23.5. " + SILENT + " (Raised by the metric "
     "binary_accuracy.)"),
])
def test_accuracies_check_labels_like_their_losses(metric, y_true, y_pred, message):
    """Keras counts each of these as a miss without a word."""
    with raises(ArgumentError, message):
        metric(y_true, y_pred)


def test_accuracies_of_good_labels_are_unchanged():
    np.testing.assert_array_equal(metrics.sparse_categorical_accuracy([2.0, 1], P),
                                  [1, 0])
    np.testing.assert_array_equal(metrics.binary_accuracy([1, 0.0], [[0.9], [0.7]]),
                                  [1, 0])
    np.testing.assert_array_equal(
        metrics.categorical_accuracy([[0, 0, 1], [0.5, 0.25, 0.25]], P), [1, 1])
    assert metrics.binary_accuracy(np.zeros((0, 1)), np.zeros((0, 1))).shape == (0,)


LABEL_VALUES = st.one_of(st.floats(allow_nan=True, allow_infinity=True, width=32),
                         st.integers(-3, 5).map(float))


@given(labels=hnp.arrays(np.float32, (3,), elements=LABEL_VALUES))
def test_no_sparse_label_gives_a_non_finite_loss_or_a_foreign_error(labels):
    try:
        values = losses.sparse_categorical_crossentropy(labels, np.full((3, 4), 0.25))
    except ConvsimError:
        return
    assert np.isfinite(values).all() and np.array_equal(labels, np.round(labels))


@given(labels=hnp.arrays(np.float32, (2, 3), elements=LABEL_VALUES),
       kind=st.sampled_from(["binary", "categorical"]))
def test_no_label_gives_a_non_finite_or_negative_loss(labels, kind):
    fn = (losses.binary_crossentropy if kind == "binary"
          else losses.categorical_crossentropy)
    try:
        values = fn(labels, np.full((2, 3), 1 / 3, np.float32))
    except ConvsimError:
        return
    assert np.isfinite(values).all() and (values >= 0).all()


# ---------------------------------------------------------------- names


NAMES = [
    (lambda: layers.Conv2D(2, 3, padding="smae"),
     "`padding` must be one of {'valid', 'same'}. Received: padding='smae'. "
     "Did you mean 'same'?"),
    (lambda: layers.MaxPooling2D(2, padding="vaild"),
     "Received: padding='vaild'. Did you mean 'valid'?"),
    (lambda: layers.Dense(2, activation="relo"),
     "Could not interpret activation function identifier: 'relo'. Did you mean "
     "'relu'? Use one of ['linear', 'relu', 'sigmoid', 'softmax', 'tanh'] (or None "
     "for no activation)."),
    (lambda: activations.get("Sigmiod"), "'Sigmiod'. Did you mean 'sigmoid'?"),
    (lambda: optimizers.get("rmsprob"),
     "Could not interpret optimizer identifier: 'rmsprob'. Did you mean 'rmsprop'? "
     "Use one of ['adam', 'rmsprop', 'sgd'] or an optimizer object such as "
     "optimizers.RMSprop(learning_rate=1e-4)."),
    (lambda: losses.get("categorical_crossentropi"),
     "Could not interpret loss identifier: 'categorical_crossentropi'. Did you "
     "mean 'categorical_crossentropy'? Use one of ['binary_crossentropy', "),
    (lambda: losses.get("binary-crossentropy"),
     "Did you mean 'binary_crossentropy'?"),
    (lambda: metrics.get("acuracy"),
     "Could not interpret metric identifier: 'acuracy'. Did you mean 'accuracy'? "
     "Use 'accuracy' (or 'acc'), one of "),
    (lambda: initializers.get("glorot_unifrom"),
     "Could not interpret initializer identifier: 'glorot_unifrom'. Did you mean "
     "'glorot_uniform'? Use one of ['constant', "),
    (lambda: layers.Conv2D(2, 3, kernel_initializer="he_nromal"),
     "Did you mean 'he_normal'?"),
    (lambda: initializers.VarianceScaling(mode="fan_ni"),
     "`mode` must be one of {'fan_in', 'fan_out', 'fan_avg'}. Received: "
     "mode='fan_ni'. Did you mean 'fan_in'?"),
    # Keras names convsim does not have are named as such: 'elu' is no 'relu'
    (lambda: activations.get("elu"),
     "Could not interpret activation function identifier: 'elu'. Keras has 'elu'; "
     "convsim does not implement it. Use one of "),
    (lambda: optimizers.get("adamw"),
     "'adamw'. Keras has 'adamw'; convsim does not implement it."),
    (lambda: losses.get("huber"), "'huber'. Keras has 'huber'; convsim does not"),
    (lambda: metrics.get("precision"), "Keras has 'precision'; convsim does not"),
    (lambda: initializers.get("orthogonal"), "Keras has 'orthogonal'; convsim"),
]


@pytest.mark.parametrize("call, message", NAMES)
def test_a_misspelt_name_gets_a_suggestion(call, message):
    with raises(ArgumentError, message):
        call()


@pytest.mark.parametrize("call", [
    lambda: layers.Conv2D(2, 3, padding="full"), lambda: activations.get("xyz"),
    lambda: optimizers.get("quux"), lambda: losses.get(7), lambda: metrics.get(None),
])
def test_nothing_close_means_no_suggestion(call):
    with pytest.raises(ArgumentError) as info:
        call()
    assert "Did you mean" not in str(info.value)


def test_keras_class_names_are_accepted_like_keras():
    assert isinstance(losses.get("CategoricalCrossentropy"),
                      losses.CategoricalCrossentropy)
    assert isinstance(initializers.get("HeNormal"), initializers.HeNormal)
    assert initializers.VarianceScaling(mode="FAN_OUT",
                                        distribution="normal").get_config() == {
        "scale": 1.0, "mode": "fan_out", "distribution": "truncated_normal",
        "seed": None}


# ---------------------------------------------------------------- the sweep

AT_MOST = "at most 2147483647 (2**31 - 1"
RULE_SHAPE = "`shape` must be a tuple of positive integers (or None). Received: shape="
W = ArgumentError, WrongTypeError

#: (what was tried, the call, the error class, a fragment of its message)
SWEEP = [
    # losses and their arguments
    ("loss-string-labels", lambda: losses.categorical_crossentropy([["a"] * 3] * 2, P),
     WrongTypeError, "`y_true` must have a real numeric dtype"),
    ("loss-string-output", lambda: losses.binary_crossentropy([[1]], [["a"]]),
     WrongTypeError, "`y_pred` must have a real numeric dtype"),
    ("loss-scalar-output", lambda: losses.categorical_crossentropy(1.0, 1.0),
     ArgumentError, "`y_pred` must be at least 1D (batch, ...). "
     "Received: y_pred.shape=()"),
    ("loss-scalar-sparse", lambda: losses.sparse_categorical_crossentropy(1, 0.5),
     ArgumentError, "`y_pred` must be at least 1D"),
    ("loss-no-classes", lambda: losses.sparse_categorical_crossentropy(
        [0, 0], np.zeros((2, 0))), ArgumentError,
     "`y_pred` must have at least one value per sample. "
     "Received: y_pred.shape=(2, 0)"),
    ("loss-no-samples", lambda: losses.CategoricalCrossentropy()(
        np.zeros((0, 3)), np.zeros((0, 3))), ArgumentError,
     "The mean loss of no samples is undefined. Received: y_pred.shape=(0, 3)"),
    ("loss-shape", lambda: losses.binary_crossentropy([[1, 0, 1]], [[0.5], [0.5]]),
     ArgumentError, "Arguments `target` and `output` must have the same shape. "
     "Received: target.shape=(1, 3), output.shape=(2, 1)."),
    ("smoothing-string", lambda: losses.CategoricalCrossentropy(
        label_smoothing="a"), WrongTypeError,
     "`label_smoothing` must be a finite number in [0, 1]. "
     "Received: label_smoothing='a'"),
    ("smoothing-none", lambda: losses.CategoricalCrossentropy(label_smoothing=None),
     WrongTypeError, "Received: label_smoothing=None"),
    ("smoothing-5", lambda: losses.BinaryCrossentropy(label_smoothing=5),
     ArgumentError, "`label_smoothing` must be a finite number in [0, 1]. "
     "Received: label_smoothing=5"),
    ("smoothing-nan", lambda: losses.BinaryCrossentropy(label_smoothing=math.nan),
     ArgumentError, "Received: label_smoothing=nan"),
    ("from-logits-string", lambda: losses.CategoricalCrossentropy(
        from_logits="False"), WrongTypeError,
     "`from_logits` must be True or False. Received: from_logits='False'"),
    ("loss-config-key", lambda: losses.get(
        {"class_name": "BinaryCrossentropy", "config": {"bogus": 1}}),
     WrongTypeError, "Unrecognized keyword arguments passed to BinaryCrossentropy: "
     "{'bogus': 1}"),
    ("loss-config-list", lambda: losses.get(
        {"class_name": "BinaryCrossentropy", "config": [1]}), WrongTypeError,
     "The config of a BinaryCrossentropy must be a dict of its arguments. "
     "Received: config=[1]"),
    ("loss-config-class", lambda: losses.get({"class_name": "os.system"}),
     ArgumentError, "Could not interpret loss identifier: {'class_name': "),
    ("loss-config-value", lambda: losses.get(
        {"class_name": "CategoricalCrossentropy",
         "config": {"label_smoothing": -1}}), ArgumentError,
     "Received: label_smoothing=-1"),
    # metrics
    ("metric-size", lambda: metrics.binary_accuracy([1, 0, 1], [[0.5], [0.2]]),
     ArgumentError, "Received: target.shape=(3,), output.shape=(2, 1). (Raised by "
     "the metric binary_accuracy.)"),
    ("metric-sparse-size", lambda: metrics.sparse_categorical_accuracy([1, 0, 1], P),
     ArgumentError, "Received: y_true.shape=(3,) for y_pred.shape=(2, 3)."),
    ("metric-strings", lambda: metrics.sparse_categorical_accuracy(["a", "b"], P),
     WrongTypeError, "`y_true` must have a real numeric dtype"),
    ("metric-threshold", lambda: metrics.binary_accuracy([1], [[0.5]],
                                                         threshold="a"),
     WrongTypeError, "`threshold` must be a finite number. Received: threshold='a'"),
    ("metric-scalar", lambda: metrics.binary_accuracy(1, 0.5), ArgumentError,
     "`y_pred` must be at least 1D"),
    # initializers
    ("scale-string", lambda: initializers.VarianceScaling(scale="a"),
     WrongTypeError, "`scale` must be a finite number > 0. Received: scale='a'"),
    ("scale-nan", lambda: initializers.VarianceScaling(scale=math.nan),
     ArgumentError, "Received: scale=nan"),
    ("scale-inf", lambda: initializers.VarianceScaling(scale=math.inf),
     ArgumentError, "Received: scale=inf"),
    ("scale-0", lambda: initializers.VarianceScaling(scale=0), ArgumentError,
     "`scale` must be a finite number > 0. Received: scale=0"),
    ("minval-string", lambda: initializers.RandomUniform(minval="a"),
     WrongTypeError, "`minval` must be a finite number. Received: minval='a'"),
    ("minval-nan", lambda: initializers.RandomUniform(minval=math.nan),
     ArgumentError, "Received: minval=nan"),
    ("maxval-inf", lambda: initializers.RandomUniform(maxval=math.inf),
     ArgumentError, "`maxval` must be a finite number >= -0.05. Received: "
     "maxval=inf"),
    ("maxval-below-minval", lambda: initializers.RandomUniform(1, -1),
     ArgumentError, "`maxval` must be a finite number >= 1.0. Received: maxval=-1"),
    ("stddev-negative", lambda: initializers.RandomNormal(stddev=-1),
     ArgumentError, "`stddev` must be a finite number >= 0. Received: stddev=-1"),
    ("stddev-nan", lambda: initializers.RandomNormal(stddev=math.nan),
     ArgumentError, "Received: stddev=nan"),
    ("constant-nan", lambda: initializers.Constant(math.nan), ArgumentError,
     "`value` must be a finite number. Received: value=nan"),
    ("constant-string", lambda: initializers.Constant("a"), WrongTypeError,
     "Received: value='a'"),
    ("seed-negative", lambda: initializers.GlorotUniform(seed=-1), ArgumentError,
     "`seed` must be None or a non-negative integer. Received: seed=-1"),
    ("weight-negative", lambda: initializers.GlorotUniform()((-1, 2)),
     ArgumentError, "`shape` must be a tuple of non-negative integers. "
     "Received: shape=(-1, 2)"),
    ("weight-float", lambda: initializers.Zeros()((2.5, 2)), ArgumentError,
     "Received: shape=(2.5, 2)"),
    ("weight-huge", lambda: initializers.GlorotUniform()((2**40, 2**40)),
     ArgumentError, "A weight of shape (1099511627776, 1099511627776) would hold "
     "1,208,925,819,614,629,174,706,176 numbers; convsim creates weights of at "
     "most 2,147,483,647 numbers"),
    ("fans-string", lambda: initializers.compute_fans("ab"), ArgumentError,
     "Received: shape='ab'"),
    ("init-config-key", lambda: initializers.get(
        {"class_name": "Constant", "config": {"x": 1}}), WrongTypeError,
     "Unrecognized keyword arguments passed to Constant: {'x': 1}"),
    # layers' constructors
    ("units-2**64", lambda: layers.Dense(2**64), ArgumentError,
     f"`units` must be a positive integer {AT_MOST}"),
    ("units-10**12", lambda: layers.Dense(10**12), ArgumentError,
     "Received: units=1000000000000"),
    ("units-10**9-build", lambda: layers.Dense(10**9).build((None, 784)),
     ArgumentError, "A weight of shape (784, 1000000000) would hold "
     "784,000,000,000 numbers"),
    ("filters-2**64", lambda: layers.Conv2D(2**64, 3), ArgumentError,
     f"`filters` must be a positive integer {AT_MOST}"),
    ("kernel-size-2**64", lambda: layers.Conv2D(2, 2**64), ArgumentError,
     f"The `kernel_size` argument must be a tuple of 2 positive integers, each "
     f"{AT_MOST}"),
    ("kernel-size-2**30-build", lambda: layers.Conv2D(2, 2**30).build(
        (None, 5, 5, 1)), ArgumentError, "A weight of shape (1073741824, "),
    ("strides-2**64", lambda: layers.Conv2D(2, 3, strides=2**64), ArgumentError,
     f"The `strides` argument must be a tuple of 2 positive integers, each "
     f"{AT_MOST}"),
    ("dilation-2**64", lambda: layers.Conv2D(2, 3, dilation_rate=2**64),
     ArgumentError, "Received: dilation_rate=18446744073709551616"),
    ("pool-2**64", lambda: layers.MaxPooling2D(2**64), ArgumentError,
     f"The `pool_size` argument must be a tuple of 2 positive integers, each "
     f"{AT_MOST}"),
    ("pool-strides-2**62", lambda: layers.AveragePooling2D(2, strides=2**62),
     ArgumentError, "Received: strides=4611686018427387904"),
    ("use-bias-string", lambda: layers.Dense(2, use_bias="False"), WrongTypeError,
     "`use_bias` must be True or False. Received: use_bias='False'"),
    ("conv-use-bias-none", lambda: layers.Conv2D(2, 3, use_bias=None),
     WrongTypeError, "Received: use_bias=None"),
    ("dropout-false", lambda: layers.Dropout(False), ArgumentError,
     "Expected a float value between 0 and 1 (1 excluded). Received: rate=False"),
    ("dropout-nan", lambda: layers.Dropout(math.nan), ArgumentError,
     "Received: rate=nan"),
    ("noise-shape-string", lambda: layers.Dropout(0.5, noise_shape="ab"),
     ArgumentError, "`noise_shape` must be a tuple of positive integers (or None). "
     "Received: noise_shape='ab'"),
    ("noise-shape-zero", lambda: layers.Dropout(0.5, noise_shape=(None, 0)),
     ArgumentError, "Received: noise_shape=(None, 0)"),
    ("input-float", lambda: layers.Input(shape=(28.5, 28, 1)), ArgumentError,
     RULE_SHAPE + "(28.5, 28, 1)"),
    ("input-string", lambda: layers.Input(shape="28"), ArgumentError,
     RULE_SHAPE + "'28'"),
    ("input-bool", lambda: layers.Input(shape=(True, 2)), ArgumentError,
     RULE_SHAPE + "(True, 2)"),
    ("input-2**64", lambda: layers.Input(shape=(2**64, 2)), ArgumentError,
     f"`shape` must be a tuple of positive integers (or None), each {AT_MOST}"),
    ("input-batch-size", lambda: layers.Input(shape=(2,), batch_size=-1),
     ArgumentError, "`batch_size` must be a positive integer. Received: "
     "batch_size=-1"),
    ("input-batch-shape", lambda: layers.Input(batch_shape=5), ArgumentError,
     "`batch_shape` must be a tuple (batch, ...), e.g. (None, 28, 28, 1). "
     "Received: batch_shape=5"),
    ("input-shape-kwarg", lambda: layers.Dense(2, input_shape=(0, 3)),
     ArgumentError, "`input_shape` must be a tuple of positive integers"),
    ("activation-layer", lambda: layers.Activation("sofmax"), ArgumentError,
     "'sofmax'. Did you mean 'softmax'?"),
    ("activation-int", lambda: activations.get(5), ArgumentError,
     "Could not interpret activation function identifier: 5. Use one of"),
]


@pytest.mark.parametrize("call, error, message", [r[1:] for r in SWEEP],
                         ids=[r[0] for r in SWEEP])
def test_every_refusal_is_a_convsim_error_with_a_clear_message(call, error,
                                                               message):
    with raises(error, message) as info:
        call()
    assert isinstance(info.value, ConvsimError) and isinstance(info.value, W)


#: Pool sizes and strides: small, at and past the 2**31 - 1 bound, and the wrong
#: types (NaN, bools, None, text, pairs with a negative or huge member).
SIZES = st.one_of(st.integers(-2, 4),
                  st.sampled_from([2**31 - 1, 2**31, 2**63, 2**64]),
                  st.floats(allow_nan=True), st.booleans(), st.none(),
                  st.text(max_size=2),
                  st.tuples(st.integers(-1, 3), st.integers(-1, 2**64)))


@given(pool=SIZES, strides=SIZES, padding=st.sampled_from(["valid", "same", "Same",
                                                           "smae", 1]))
def test_any_pooling_arguments_give_a_result_or_a_convsim_error(pool, strides,
                                                               padding):
    x = np.ones((1, 4, 4, 1), np.float32)
    for make in (layers.MaxPooling2D, layers.AveragePooling2D):
        try:
            layer = make(pool, strides, padding)
        except ConvsimError:
            continue
        try:
            out = layer(x)
        except ConvsimError:
            continue
        assert out.shape[1:3] == layer.compute_output_shape(x.shape)[1:3]
        np.testing.assert_array_equal(out, 1.0)
