"""NumPy's OpenBLAS gets one thread while convsim's kernels run, then its old count.

Run in a fresh Python each time: the thread count is process-wide state, and
these scripts import NumPy *before* convsim, as most users' scripts do.
"""

import os
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

# Every script starts OpenBLAS at 3 threads (any count but 1 would do; 3 works
# on any machine, OpenBLAS does not cap it at the number of cores), records the
# count in ``seen`` where it matters and prints it.
START = """
import numpy as np
from convsim.runtime.blas import _openblas_controls, blas_thread_count

if blas_thread_count() is None:
    print("not-openblas")
    raise SystemExit
_openblas_controls()[1](3)
seen = []
"""
END = """
print(" ".join(map(str, seen)))
"""

# Kernels that multiply matrices record the count they run with.
RECORD = """
from convsim.kernels import conv, dense

def recording(kernel):
    def wrapper(*args):
        seen.append(blas_thread_count())
        return kernel(*args)
    return wrapper

conv.conv2d_forward = recording(conv.conv2d_forward)
conv.conv2d_backward = recording(conv.conv2d_backward)
dense.dense_forward = recording(dense.dense_forward)
dense.dense_backward = recording(dense.dense_backward)
"""

# fit / evaluate / predict: one thread inside every kernel; between kernel calls
# (here, in a callback: the user's own code) and afterwards, the user's count.
FIT = RECORD + """
from convsim import layers, models
from convsim.callbacks import Callback

class Record(Callback):
    def on_train_batch_end(self, batch, logs=None):
        seen.append(blas_thread_count())

model = models.Sequential([layers.Conv2D(2, 3, input_shape=(4, 4, 1)),
                           layers.Flatten(),
                           layers.Dense(2, activation="softmax")])
model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
x, y = np.ones((4, 4, 4, 1), np.float32), np.array([0, 1, 0, 1])
model.fit(x, y, epochs=1, batch_size=4, verbose=0, callbacks=[Record()])
seen.append(blas_thread_count())
model.evaluate(x, y, verbose=0)
model.predict(x, verbose=0)
seen.append(blas_thread_count())
"""

# The count inside each kernel the matrix-product ops call, then after them.
OPS = RECORD + """
from convsim import ops

x, k = np.ones((1, 4, 4, 2), np.float32), np.ones((3, 3, 2, 5), np.float32)
y = ops.conv(x, k)
ops.conv_backward(x, k, np.ones_like(y))
ops.dense(np.ones((2, 3)), np.ones((3, 4)))
ops.dense_backward(np.ones((2, 3)), np.ones((3, 4)), np.ones((2, 4)))
seen.append(blas_thread_count())
"""


def run(script, **env):
    """What ``script`` printed, run in a fresh Python with ``env`` added."""
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    result = subprocess.run([sys.executable, "-c", START + script + END],
                            env={**base, **env}, capture_output=True, text=True,
                            check=True)
    out = result.stdout.strip().splitlines()[-1]
    if out == "not-openblas":
        pytest.skip("NumPy's BLAS here is not OpenBLAS")
    return out


def test_fit_runs_every_kernel_with_one_blas_thread_and_gives_the_count_back():
    # one training step: conv forward, dense forward, dense backward, conv
    # backward with 1 thread; the callback after the step, the code after fit,
    # then evaluate's and predict's forward passes, and the code after them
    assert run(FIT) == "1 1 1 1 3 3 1 1 1 1 3"


def test_an_openblas_num_threads_the_user_set_is_left_alone():
    assert run(FIT, OPENBLAS_NUM_THREADS="2") == "3 3 3 3 3 3 3 3 3 3 3"


def test_ops_that_multiply_matrices_use_one_blas_thread():
    """Lessons and users' own code call ops directly, outside fit()."""
    assert run(OPS) == "1 1 1 1 3"
