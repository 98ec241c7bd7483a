"""``python -m convsim train mnist``: help, a quick real run, outputs, errors."""

from __future__ import annotations

import io
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from convsim.datasets import mnist
from convsim.experiments import cli as train
from convsim.models import load_model


def run_cli(argv):
    buf = io.StringIO()
    console = Console(file=buf, width=200, color_system=None)
    status = train.main(argv, console=console)
    return status, buf.getvalue()


def test_help_lists_the_options(capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main(["mnist", "--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--epochs", "--batch-size", "--data", "--save", "--plot",
                   "--limit", "--seed", "CONVSIM_OFFLINE"):
        assert option in text
    assert train.main([]) == 2
    assert "mnist" in capsys.readouterr().out


@pytest.mark.subprocess
def test_module_entry_point_dispatches_train():
    result = subprocess.run([sys.executable, "-m", "convsim", "train", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "EXPERIMENT" in result.stdout and "mnist" in result.stdout


def test_quick_run_trains_reports_and_saves(tmp_path):
    plot, saved = tmp_path / "curves.png", tmp_path / "model.convsim"
    status, out = run_cli(["mnist", "--epochs", "2", "--limit", "256",
                           "--batch-size", "64", "--data", str(mnist.BUNDLED_DIR),
                           "--seed", "0", "--plot", str(plot), "--save",
                           str(saved), "--verbose", "2"])
    assert status == 0, out
    assert "mnist-sample" in out  # which data was used
    assert "4,000 train / 1,000 test images" in out
    assert "using the first 256 training and 256 test images" in out
    assert "Total params: 93,322" in out
    assert "Epoch 2/2" in out and "val_accuracy" in out
    assert "Test accuracy: " in out and "Saved the model to" in out
    with Image.open(plot) as image:
        assert image.format == "PNG" and image.size == (1000, 500)
    model = load_model(saved)
    accuracy = float(out.split("Test accuracy: ")[1].split()[0])
    (_, _), (x_test, y_test) = mnist.load_data(mnist.BUNDLED_DIR, verbose=False)
    x = x_test[:256].reshape(-1, 28, 28, 1).astype("float32") / 255
    predicted = model.predict(x, verbose=0).argmax(axis=1)
    assert np.mean(predicted == y_test[:256]) == pytest.approx(accuracy, abs=1e-4)


def test_missing_data_folder_is_reported(tmp_path):
    status, out = run_cli(["mnist", "--data", str(tmp_path / "nowhere"),
                           "--no-plot"])
    assert status == 1
    assert "Could not load the data" in out


@pytest.mark.parametrize("argv", [["mnist", "--epochs", "0"],
                                  ["mnist", "--batch-size", "x"]])
def test_bad_numbers_are_refused(argv, capsys):
    with pytest.raises(SystemExit):
        train.main(argv)
    assert "expected a positive integer" in capsys.readouterr().err
