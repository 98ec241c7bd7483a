"""Without h5py (``pip install convsim`` without the ``keras`` extra), Keras
files are refused in one line that says how to install it, nothing is written
and training does not start; convsim's own files need no h5py.

h5py is hidden for each test (``sys.modules["h5py"] = None`` makes ``import
h5py`` raise ImportError, as it does where h5py is not installed), so these
run, and mean the same, with or without h5py installed.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from convsim import layers, models
from convsim.errors import MissingPackageError, ModelFileError
from convsim.experiments import cli as train
from convsim.lesson import cli as lesson

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"
INSTALL = "pip install 'convsim[keras]'"


@pytest.fixture(autouse=True)
def no_h5py(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)


def small_model():
    model = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3),
                               layers.Flatten(), layers.Dense(2)])
    model.compile(optimizer="rmsprop", loss="mse")
    return model


def capture_console() -> Console:
    return Console(file=io.StringIO(), width=300, color_system=None)


@pytest.mark.parametrize("name", ["mnist_convnet.h5", "mnist_convnet.keras"])
def test_loading_a_keras_file_says_how_to_install_h5py(name):
    with pytest.raises(ModelFileError) as info:
        models.load_model(FIXTURES / name)
    message = str(info.value)
    assert message.endswith(f"needs h5py, which is not installed: {INSTALL}")
    assert "is an HDF5 file (probably saved by Keras)" in message
    assert "\n" not in message


@pytest.mark.parametrize("name", ["m.keras", "m.h5", "m.HDF5"])
def test_saving_a_keras_file_says_how_to_install_h5py_and_writes_nothing(
        tmp_path, name):
    with pytest.raises(MissingPackageError, match=r"as a Keras file .* needs h5py, "
                       r"which is not installed: pip install 'convsim\[keras\]'"):
        small_model().save(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_convsim_files_need_no_h5py(tmp_path):
    model = small_model()
    model.save(tmp_path / "m.convsim")
    x = np.ones((1, 6, 6, 1), np.float32)
    np.testing.assert_array_equal(models.load_model(tmp_path / "m.convsim")
                                  .predict(x, verbose=0), model.predict(x, verbose=0))


def test_train_refuses_a_keras_name_before_training(tmp_path):
    console = capture_console()
    status = train.main(["mnist", "--epochs", "1", "--limit", "64", "--no-plot",
                         "--save", str(tmp_path / "m.h5")], console=console)
    out = console.file.getvalue()
    assert status == 1
    assert out.startswith("Cannot write the outputs: Saving ")
    assert out.rstrip().endswith(f"needs h5py, which is not installed: {INSTALL}")
    assert "Epoch" not in out
    assert list(tmp_path.iterdir()) == []


def test_the_shapes_lesson_says_how_to_install_h5py():
    console = capture_console()
    status = lesson.main(["shapes", "--model", str(FIXTURES / "mnist_convnet.keras"),
                          "--no-animate"], console=console)
    lines = console.file.getvalue().strip().splitlines()
    assert status == 1
    assert lines == [f"error: {str(FIXTURES / 'mnist_convnet.keras')!r}: "
                     "model.weights.h5 is an HDF5 file (probably saved by Keras); "
                     f"reading it needs h5py, which is not installed: {INSTALL}"]
