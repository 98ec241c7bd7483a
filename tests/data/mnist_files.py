"""Tiny MNIST-format data sets written to disk, for the loader tests."""

from __future__ import annotations

import gzip

import numpy as np
from numpy.testing import assert_array_equal

from convsim.datasets import sources
from convsim.datasets.idx import write_idx

NAMES = sources.STANDARD_FILES


def tiny_arrays(n_train=6, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


def write_folder(folder, arrays, gz=True):
    for key, name in NAMES.items():
        write_idx(folder / (name + (".gz" if gz else "")), arrays[key])
    return folder


def assert_same(loaded, arrays):
    (x_train, y_train), (x_test, y_test) = loaded
    assert_array_equal(x_train, arrays["x_train"])
    assert_array_equal(y_train, arrays["y_train"])
    assert_array_equal(x_test, arrays["x_test"])
    assert_array_equal(y_test, arrays["y_test"])


def gz_files(arrays):
    """The four standard .gz files' bytes, as a mirror would serve them."""
    files = {}
    for key, name in NAMES.items():
        header = bytes([0, 0, 8, arrays[key].ndim])
        header += np.asarray(arrays[key].shape, ">u4").tobytes()
        files[name + ".gz"] = gzip.compress(header + arrays[key].tobytes(), mtime=0)
    return files
