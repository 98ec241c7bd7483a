"""Optimizers: Keras 3 defaults, update rules (against float64 formulas written
out here and, where the formulas coincide, against PyTorch), aliases, state."""

from __future__ import annotations

import numpy as np
import pytest

from convsim import optimizers
from convsim.errors import ArgumentError, WrongTypeError
from convsim.layers.base import Variable


def make_vars(rng, shapes=((3, 2), (4,))):
    return [Variable(rng.normal(size=s), f"v{i}", f"v{i}") for i, s in
            enumerate(shapes)]


def run(opt, steps=5, seed=0):
    """Apply `steps` random gradients; return the final weights and grads used."""
    rng = np.random.default_rng(seed)
    variables = make_vars(rng)
    start = [v.numpy().astype(np.float64) for v in variables]
    grads = [[rng.normal(size=v.shape).astype(np.float32) for v in variables]
             for _ in range(steps)]
    for g in grads:
        opt.apply(g, variables)
    return start, grads, [v.numpy() for v in variables]


def test_keras_defaults():
    assert optimizers.get("rmsprop").get_config() == {
        "name": "RMSprop", "learning_rate": 0.001, "clipnorm": None,
        "clipvalue": None, "decay": 0.0, "rho": 0.9, "momentum": 0.0,
        "epsilon": 1e-7, "centered": False}
    adam = optimizers.get("adam")
    assert (adam.learning_rate, adam.beta_1, adam.beta_2, adam.epsilon) == (
        0.001, 0.9, 0.999, 1e-7)
    sgd = optimizers.get("sgd")
    assert (sgd.learning_rate, sgd.momentum, sgd.nesterov) == (0.01, 0.0, False)


def test_old_spellings_from_the_book():
    assert optimizers.adam_v2.Adam(lr=0.002).learning_rate == 0.002
    assert optimizers.adam_v2.Adam(learning_rate=0.003).lr == 0.003
    assert optimizers.rmsprop_v2.RMSprop(lr=1e-4).learning_rate == 1e-4
    assert isinstance(optimizers.gradient_descent_v2.SGD(), optimizers.SGD)


@pytest.mark.parametrize("make, message, error", [
    (lambda: optimizers.RMSprop(beta=0.9), "Unrecognized keyword", WrongTypeError),
    (lambda: optimizers.get("adamw"), "Could not interpret optimizer", ArgumentError),
    (lambda: optimizers.SGD(name=5), r"`name` must be a string. Received: name=5",
     WrongTypeError),
])
def test_bad_arguments(make, message, error):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("make, message, error", [
    # values that train nonsense: NaN weights after one step, a division by zero
    (lambda: optimizers.RMSprop(epsilon=-1),
     r"`epsilon` must be a finite number in \[0, 3.4e\+38\]. Received: epsilon=-1",
     ArgumentError),
    (lambda: optimizers.RMSprop(rho=float("nan")),
     r"`rho` must be a finite number in \[0, 1\). Received: rho=nan", ArgumentError),
    (lambda: optimizers.RMSprop(rho=1.0), r"`rho` must be a finite number in \[0, 1\)",
     ArgumentError),
    (lambda: optimizers.SGD(decay=-1),
     r"`decay` must be a finite number >= 0. Received: decay=-1", ArgumentError),
    (lambda: optimizers.Adam(learning_rate=-1),
     r"`learning_rate` must be a finite number in \(0, 3.4e\+38\]. Received: "
     r"learning_rate=-1", ArgumentError),
    (lambda: optimizers.SGD(learning_rate=1e39),
     r"`learning_rate` must be a finite number in \(0, 3.4e\+38\]. Received: "
     r"learning_rate=1e\+39", ArgumentError),
    (lambda: optimizers.Adam(learning_rate=float("inf")),
     r"`learning_rate` must be a finite number in \(0, 3.4e\+38\]. Received: "
     r"learning_rate=inf", ArgumentError),
    (lambda: optimizers.Adam(learning_rate="0.01"),
     r"`learning_rate` must be a finite number in \(0, 3.4e\+38\]. Received: "
     r"learning_rate='0.01'", WrongTypeError),
    (lambda: optimizers.Adam(beta_1=1.0),
     r"`beta_1` must be a finite number in \[0, 1\). Received: beta_1=1.0",
     ArgumentError),
    (lambda: optimizers.Adam(beta_2=-0.1), r"`beta_2` must be a finite number in",
     ArgumentError),
    (lambda: optimizers.Adam(epsilon=float("-inf")), r"`epsilon` must be a finite",
     ArgumentError),
    (lambda: optimizers.SGD(momentum=1.5),
     r"`momentum` must be a finite number in \[0, 1\]. Received: momentum=1.5",
     ArgumentError),
    (lambda: optimizers.RMSprop(momentum=-0.5), r"`momentum` must be a finite number",
     ArgumentError),
    (lambda: optimizers.SGD(clipnorm=0),
     r"`clipnorm` must be a finite number > 0. Received: clipnorm=0", ArgumentError),
    (lambda: optimizers.SGD(clipvalue=float("nan")), r"`clipvalue` must be a finite",
     ArgumentError),
    (lambda: optimizers.SGD(clipnorm=1.0, clipvalue=0.5),
     r"Only one of `clipnorm` and `clipvalue` can be set. Received: clipnorm=1.0, "
     r"clipvalue=0.5", ArgumentError),
    # the string 'false' is true in Python
    (lambda: optimizers.Adam(amsgrad="false"),
     r"`amsgrad` must be True or False. Received: amsgrad='false'", WrongTypeError),
    (lambda: optimizers.SGD(nesterov="no"), r"`nesterov` must be True or False",
     WrongTypeError),
    (lambda: optimizers.RMSprop(centered=2), r"`centered` must be True or False",
     WrongTypeError),
])
def test_hyperparameters_that_would_train_nonsense_are_refused(make, message, error):
    with pytest.raises(error, match=message):
        make()


def test_a_config_gets_the_constructors_checks():
    """A config (from a model file, say) goes through the same constructor."""
    config = optimizers.RMSprop().get_config()
    with pytest.raises(ArgumentError, match=r"`epsilon` must be a finite number in"):
        optimizers.RMSprop.from_config({**config, "epsilon": -1})
    with pytest.raises(WrongTypeError,
                       match=r"The config of a Adam must be a dict of its arguments. "
                             r"Received: config=\[1, 2\]"):
        optimizers.Adam.from_config([1, 2])
    with pytest.raises(WrongTypeError, match=r"multiple values for argument 'self'"):
        optimizers.Adam.from_config({"self": 1})
    with pytest.raises(WrongTypeError, match="Unrecognized keyword arguments passed "
                                             "to SGD: {'evil': 1}"):
        optimizers.SGD.from_config({"evil": 1})


def test_a_clip_value_beyond_float32_clips_nothing_and_warns_nothing():
    """1e308 is a valid clipvalue (it clips nothing); as a float32 bound it
    used to overflow NumPy's cast (a RuntimeWarning, an error in these tests)."""
    (var,) = make_vars(np.random.default_rng(0), [(3,)])
    before = var.numpy()
    optimizers.SGD(1.0, clipvalue=1e308).apply([np.full(3, 2.0, np.float32)], [var])
    np.testing.assert_allclose(before - var.numpy(), [2.0] * 3, rtol=1e-6)


def test_edges_of_the_ranges_are_accepted():
    assert optimizers.RMSprop(rho=0.0, epsilon=0.0).epsilon == 0.0
    assert optimizers.SGD(momentum=1.0, nesterov=1).nesterov is True
    assert optimizers.Adam(beta_1=0.0, beta_2=0.999999).beta_2 == 0.999999
    assert optimizers.Adam(np.float32(0.5)).learning_rate == 0.5


def test_rmsprop_rule_epsilon_inside_the_root():
    start, grads, final = run(optimizers.RMSprop(learning_rate=0.01, rho=0.8,
                                                 epsilon=1e-3))
    for i, w in enumerate(start):
        w, v = w.copy(), np.zeros_like(w)
        for g in grads:
            g = g[i].astype(np.float64)
            v = 0.8 * v + 0.2 * g * g
            w -= 0.01 * g / np.sqrt(v + 1e-3)
        np.testing.assert_allclose(final[i], w, rtol=1e-5, atol=1e-6)


def test_rmsprop_momentum_and_centered():
    start, grads, final = run(optimizers.RMSprop(0.01, momentum=0.5, centered=True))
    for i, w in enumerate(start):
        w, v, a, m = w.copy(), 0.0, 0.0, 0.0
        for g in grads:
            g = g[i].astype(np.float64)
            v = 0.9 * v + 0.1 * g * g
            a = 0.9 * a + 0.1 * g
            m = 0.5 * m + 0.01 * g / np.sqrt(v - a * a + 1e-7)
            w -= m
        np.testing.assert_allclose(final[i], w, rtol=1e-4, atol=1e-5)


def test_adam_rule_with_epsilon_hat():
    start, grads, final = run(optimizers.Adam(0.01, epsilon=1e-2))
    for i, w in enumerate(start):
        w, m, v = w.copy(), 0.0, 0.0
        for t, g in enumerate(grads, start=1):
            g = g[i].astype(np.float64)
            m = 0.9 * m + 0.1 * g
            v = 0.999 * v + 0.001 * g * g
            alpha = 0.01 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
            w -= alpha * m / (np.sqrt(v) + 1e-2)
        np.testing.assert_allclose(final[i], w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_rule(nesterov):
    start, grads, final = run(optimizers.SGD(0.1, momentum=0.9, nesterov=nesterov))
    for i, w in enumerate(start):
        w, m = w.copy(), 0.0
        for g in grads:
            g = g[i].astype(np.float64)
            m = 0.9 * m - 0.1 * g
            w += 0.9 * m - 0.1 * g if nesterov else m
        np.testing.assert_allclose(final[i], w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "nesterov", "rmsprop", "adam"])
def test_same_steps_as_pytorch_where_the_formulas_agree(name):
    """PyTorch places epsilon differently (RMSprop: sqrt(v) + eps; Adam: eps on
    the bias-corrected root), so compare with epsilon = 0 where the rules are
    then mathematically identical."""
    torch = pytest.importorskip("torch")
    ours, theirs = {
        "sgd": (lambda: optimizers.SGD(0.1, momentum=0.9),
                lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9)),
        "nesterov": (lambda: optimizers.SGD(0.1, momentum=0.9, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9,
                                               nesterov=True)),
        "rmsprop": (lambda: optimizers.RMSprop(0.01, epsilon=0.0),
                    lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=0.0)),
        "adam": (lambda: optimizers.Adam(0.01, epsilon=0.0),
                 lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.9, 0.999),
                                            eps=0.0)),
    }[name]
    start, grads, final = run(ours())
    params = [torch.tensor(w, dtype=torch.float64, requires_grad=True)
              for w in start]
    opt = theirs(params)
    for g in grads:
        for p, gi in zip(params, g, strict=True):
            p.grad = torch.tensor(gi, dtype=torch.float64)
        opt.step()
    for p, w in zip(params, final, strict=True):
        np.testing.assert_allclose(w, p.detach().numpy(), rtol=1e-4, atol=1e-5)


def test_clipping_and_decay():
    rng = np.random.default_rng(0)
    (var,) = make_vars(rng, [(4,)])
    before = var.numpy()
    opt = optimizers.SGD(1.0, clipnorm=0.5)
    opt.apply([np.array([3.0, 4.0, 0.0, 0.0], np.float32)], [var])
    np.testing.assert_allclose(before - var.numpy(), [0.3, 0.4, 0, 0], rtol=1e-6)
    opt = optimizers.SGD(1.0, clipvalue=0.1)
    before = var.numpy()
    opt.apply([np.array([3.0, -4.0, 0.05, 0.0], np.float32)], [var])
    np.testing.assert_allclose(before - var.numpy(), [0.1, -0.1, 0.05, 0],
                               rtol=1e-6)
    opt = optimizers.SGD(1.0, decay=1.0)
    opt.apply([np.ones(4, np.float32)], [var])
    before = var.numpy()
    opt.apply([np.ones(4, np.float32)], [var])  # lr / (1 + 1 * 1)
    np.testing.assert_allclose(before - var.numpy(), [0.5] * 4, rtol=1e-6)


def test_state_round_trip_continues_identically():
    rng = np.random.default_rng(5)
    a, b = optimizers.Adam(0.01, amsgrad=True), optimizers.Adam(0.01, amsgrad=True)
    vars_a = make_vars(np.random.default_rng(1))
    vars_b = [Variable(v.numpy(), v.name, v.path) for v in vars_a]
    for _ in range(3):
        a.apply([rng.normal(size=v.shape).astype(np.float32) for v in vars_a],
                vars_a)
    b.set_state(a.get_state(), vars_b)
    for v_b, v_a in zip(vars_b, vars_a, strict=True):
        v_b.assign(v_a.numpy())
    g = [rng.normal(size=v.shape).astype(np.float32) for v in vars_a]
    a.apply(g, vars_a)
    b.apply(g, vars_b)
    assert a.iterations == b.iterations
    for v_a, v_b in zip(vars_a, vars_b, strict=True):
        np.testing.assert_array_equal(v_a.numpy(), v_b.numpy())


def trained_adam():
    opt = optimizers.Adam(0.01)
    variables = make_vars(np.random.default_rng(2))
    rng = np.random.default_rng(3)
    for _ in range(2):
        opt.apply([rng.normal(size=v.shape).astype(np.float32) for v in variables],
                  variables)
    return opt, variables


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("velocity/1"),
     r"This optimizer state does not fit Adam \(adam\) with 2 weights: missing "
     r"\['velocity/1'\], unexpected \[\]"),
    (lambda s: s.update({"momentum/7": np.zeros(1)}),
     r"missing \[\], unexpected \['momentum/7'\]"),
    (lambda s: s.update(iterations=np.asarray(-5)),
     r"The optimizer state's `iterations` must be an integer >= 0. "
     r"Received: array\(-5\)"),
    (lambda s: s.update(iterations=np.asarray(2.5)),
     r"`iterations` must be an integer >= 0"),
    (lambda s: s.update({"momentum/0": np.zeros((2, 3), np.float32)}),
     r"Optimizer state 'momentum/0' must be real numbers of shape \(3, 2\). "
     r"Received: shape \(2, 3\) of float32"),
    (lambda s: s.update({"momentum/0": np.zeros((3, 2), np.complex64)}),
     r"'momentum/0' must be real numbers of shape \(3, 2\). Received: shape "
     r"\(3, 2\) of complex64"),
    (lambda s: s.update({"momentum/1": np.full(4, np.nan, np.float32)}),
     r"Optimizer state 'momentum/1' holds NaN or infinite values"),
    (lambda s: s.update({"momentum/1": np.full(4, 1e39)}),
     r"'momentum/1' holds NaN or infinite values \(or values beyond float32\)"),
    (lambda s: s.update({"velocity/0": -np.ones((3, 2), np.float32)}),
     r"Optimizer state 'velocity/0' is a running mean of squared gradients but "
     r"holds -1: it is never negative"),
])
def test_a_damaged_optimizer_state_is_refused_and_changes_nothing(change, message):
    """A negative velocity or NaN slot would make NaN weights at the next step."""
    opt, variables = trained_adam()
    state = opt.get_state()
    before = {k: np.array(v) for k, v in state.items()}
    change(state)
    fresh = optimizers.Adam(0.01)
    with pytest.raises(ArgumentError, match=message):
        fresh.set_state(state, variables)
    assert not fresh.built and fresh.iterations == 0
    for key, value in opt.get_state().items():
        np.testing.assert_array_equal(value, before[key])
