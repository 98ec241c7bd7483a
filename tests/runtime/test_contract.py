"""convsim.runtime's contract: every kernel runs inside a ``kernel_call``.

Each public function of the fast kernel modules is replaced by a stand-in that
records, at the moment it runs, whether the process was prepared and whether a
kernel call was holding OpenBLAS at one thread; then everything that reaches
the kernels is exercised: training, evaluation and prediction of a convnet,
the losses, the ops on their own, the image augmentation and the trace.
"""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from convsim import layers, models, ops, runtime, trace
from convsim.kernels import activations, conv, dense, losses, pool, warp
from convsim.preprocessing.image import (
    ImageDataGenerator,
    apply_affine_transform,
    prefetch,
)
from convsim.runtime import blas

KERNEL_MODULES = (activations, conv, dense, losses, pool, warp)


@pytest.fixture
def calls(monkeypatch):
    """``(kernel name, prepared, BLAS held)`` for every kernel call."""
    seen = []
    for module in KERNEL_MODULES:
        for name, kernel in vars(module).items():
            if name.startswith("_") or not callable(kernel) or inspect.isclass(kernel):
                continue
            if getattr(kernel, "__module__", module.__name__) != module.__name__ \
                    and not hasattr(kernel, "py_func"):
                continue  # imported helpers such as numpy functions

            def stand_in(*args, _kernel=kernel, _name=name, **kwargs):
                seen.append((_name, runtime.prepared(), blas._holders > 0))
                return _kernel(*args, **kwargs)

            monkeypatch.setattr(module, name, stand_in)
    return seen


def test_every_kernel_call_is_prepared_and_holds_blas(calls):
    model = models.Sequential([
        layers.Conv2D(3, 3, activation="relu", input_shape=(8, 8, 1)),
        layers.MaxPooling2D(2),
        layers.Conv2D(2, 2, padding="same", activation="tanh"),
        layers.AveragePooling2D(1),
        layers.Flatten(),
        layers.Dropout(0.5, seed=0),
        layers.Dense(4, activation="sigmoid"),
        layers.Dense(3, activation="softmax"),
    ])
    model.compile("rmsprop", "categorical_crossentropy", metrics=["accuracy"])
    x = np.random.default_rng(0).random((6, 8, 8, 1), dtype=np.float32)
    y = np.eye(3, dtype=np.float32)[[0, 1, 2, 0, 1, 2]]
    model.fit(x, y, epochs=1, batch_size=3, verbose=0)
    model.evaluate(x, y, verbose=0)
    model.predict(x, verbose=0)
    binary = models.Sequential([layers.Dense(1, activation="sigmoid",
                                             input_shape=(2,))])
    binary.compile("adam", "binary_crossentropy")
    binary.train_on_batch(np.ones((2, 2)), np.array([0.0, 1.0]))
    ops.relu_backward(ops.relu(np.ones(3)), np.ones(3))
    trace.trace_conv(np.ones((5, 5)), np.ones((3, 3, 1, 1)))
    trace.trace_pool(np.ones((4, 4)), 2, kind="average")
    generator = ImageDataGenerator(rotation_range=30, zoom_range=0.2)
    next(generator.flow(np.ones((2, 6, 6, 1)), batch_size=2, seed=1))
    with prefetch(generator.flow(np.ones((2, 6, 6, 1)), batch_size=2)) as batches:
        next(batches)  # augmented on a background thread
    apply_affine_transform(np.ones((6, 6, 1)), theta=10)

    names = {name for name, _, _ in calls}
    assert {"conv2d_forward", "conv2d_backward", "max_pool2d_forward",
            "max_pool2d_backward", "average_pool2d_forward",
            "average_pool2d_backward", "dense_forward", "dense_backward", "relu",
            "relu_backward", "tanh", "sigmoid", "softmax",
            "categorical_crossentropy", "binary_crossentropy",
            "affine_warp_parallel", "affine_warp_serial"} <= names
    outside = [name for name, prepared, held in calls if not (prepared and held)]
    assert not outside, f"kernels called outside a kernel_call: {sorted(set(outside))}"


def test_the_count_comes_back_after_nested_and_concurrent_calls(monkeypatch):
    counts = [4]
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setattr(blas, "_openblas_controls", lambda: (
        lambda: counts[-1], lambda n: counts.append(n)))
    blas.hold_one_thread()
    blas.hold_one_thread()  # a nested call (or another thread's) changes nothing
    blas.release()
    assert counts == [4, 1]
    blas.release()
    assert counts == [4, 1, 4]
