"""The one-pass optimizer kernels give exactly the bits of the NumPy lines
that define each rule in convsim.optimizers.

The NumPy lines run when ``optimizers._one_pass`` says no (the test makes it
say no); the kernels run otherwise. Both see the same weights, gradients and
slots over several steps, with hyperparameters, learning-rate decay and
gradients (NaN and infinities included) drawn by hypothesis.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_array_equal

from convsim import optimizers
from convsim.layers.variable import Variable

FLOATS = st.floats(-1e6, 1e6, width=32) | st.sampled_from(
    [0.0, -0.0, 1e-30, -1e-30, 3e38, np.nan, np.inf, -np.inf])


def shapes():
    return hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=7)


@st.composite
def problems(draw):
    shape = draw(shapes())
    weights = draw(hnp.arrays(np.float32, shape, elements=st.floats(-10, 10,
                                                                     width=32)))
    grads = [draw(hnp.arrays(np.float32, shape, elements=FLOATS))
             for _ in range(draw(st.integers(1, 3)))]
    return weights, grads


OPTIMIZERS = st.one_of(
    st.builds(optimizers.RMSprop,
              learning_rate=st.floats(1e-6, 10), rho=st.floats(0, 0.999),
              epsilon=st.floats(0, 1), decay=st.sampled_from([0.0, 0.5])),
    st.builds(optimizers.Adam,
              learning_rate=st.floats(1e-6, 10), beta_1=st.floats(0, 0.999),
              beta_2=st.floats(0, 0.9999), epsilon=st.floats(0, 1),
              decay=st.sampled_from([0.0, 0.5])),
)


def run(make, weights, grads, one_pass):
    """The weights and the slots after one step per gradient."""
    with pytest.MonkeyPatch.context() as patch, np.errstate(all="ignore"):
        if not one_pass:
            patch.setattr(optimizers, "_one_pass", lambda *arrays: False)
        optimizer = make()
        variable = Variable(weights.copy(), "w", "layer/w")
        for g in grads:
            optimizer.apply([g], [variable])
    return variable.value, optimizer.get_state()


@settings(max_examples=150, deadline=None)
@given(problems(), OPTIMIZERS)
def test_one_pass_kernels_give_the_bits_of_the_numpy_lines(problem, optimizer):
    weights, grads = problem

    def make():
        return optimizers.get(optimizers.serialize(optimizer))

    fast_w, fast_state = run(make, weights, grads, one_pass=True)
    slow_w, slow_state = run(make, weights, grads, one_pass=False)
    assert_array_equal(fast_w.view(np.uint32), slow_w.view(np.uint32))
    assert fast_state.keys() == slow_state.keys()
    for key in fast_state:
        assert_array_equal(fast_state[key], slow_state[key], err_msg=key)


def test_the_kernels_really_run(monkeypatch):
    """The comparison above would prove nothing if the kernels never ran."""
    from convsim.kernels import updates

    called = []
    for name in ("rmsprop", "adam"):
        real = getattr(updates, name)
        monkeypatch.setattr(updates, name,
                            lambda *a, _real=real, _name=name: (called.append(_name),
                                                                _real(*a)))
    for make in (optimizers.RMSprop, optimizers.Adam):
        variable = Variable(np.ones((2, 3)), "w", "layer/w")
        make().apply([np.full((2, 3), 0.5, np.float32)], [variable])
    assert called == ["rmsprop", "adam"]


@pytest.mark.parametrize("make", [optimizers.RMSprop, optimizers.Adam])
def test_a_gradient_of_another_shape_never_reaches_a_kernel(make):
    """The kernels do not check bounds: a gradient that does not match its
    weight takes the NumPy lines, which refuse it as they always did."""
    variable = Variable(np.ones((2, 3)), "w", "layer/w")
    with pytest.raises(ValueError):
        make().apply([np.ones((4, 3), np.float32)], [variable])
