"""``python -m convsim train mnist``: help, a quick real run, outputs, errors."""

from __future__ import annotations

import io
import json
import os
import signal
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


QUICK = ["mnist", "--epochs", "2", "--limit", "192", "--batch-size", "64",
         "--data", str(mnist.BUNDLED_DIR), "--seed", "0", "--no-plot",
         "--verbose", "2"]


def press_ctrl_c_at_batch(monkeypatch, at):
    """A real Ctrl+C (SIGINT to this process) as training batch ``at``
    (counted over the run, from 1) begins."""
    from convsim.training.history_file import HistoryRecorder

    seen = {"n": 0}

    def hook(self, batch, logs=None):
        seen["n"] += 1
        if seen["n"] == at:
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(HistoryRecorder, "on_train_batch_begin", hook,
                        raising=False)


def test_help_says_what_ctrl_c_and_resume_do(capsys):
    with pytest.raises(SystemExit):
        train.main(["mnist", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for option in ("--resume", "--backup-dir", "--history"):
        assert option in text
    assert ("Ctrl+C stops after the current batch and saves a checkpoint" in text
            and "--resume continues exactly" in text)


@pytest.mark.parametrize("option", ["--save", "--history", "--backup-dir"])
def test_outputs_into_a_missing_folder_are_refused_before_training(tmp_path,
                                                                   option):
    """Issue 15: --save into a missing folder failed only after training."""
    status, out = run_cli([*QUICK, option, str(tmp_path / "missing" / "x")])
    assert status == 1
    assert "Cannot write the outputs" in out and "does not exist" in out
    assert "Epoch" not in out and "MNIST" not in out


@pytest.mark.slow
@pytest.mark.parametrize("at", [2, 3, 4])
def test_ctrl_c_saves_a_checkpoint_that_resumes_bit_identically(tmp_path,
                                                                monkeypatch, at):
    """Issue 15: train mnist had no Ctrl+C handling and no --resume."""
    from convsim.training.checkpoint import read_checkpoint

    status, out = run_cli([*QUICK, "--save", str(tmp_path / "whole.convsim")])
    assert status == 0, out
    with monkeypatch.context() as patch:
        press_ctrl_c_at_batch(patch, at)
        status, out = run_cli([*QUICK, "--save", str(tmp_path / "m.convsim")])
    checkpoint = tmp_path / "m.backup" / "latest.checkpoint"
    epoch, step = divmod(at, 3)
    where = (f"in epoch {epoch + 1}/2 after batch {step}/3" if step
             else f"in epoch {epoch}/2 after batch 3/3")
    assert status == 130
    assert (f"Ctrl+C: stopped {where}. The checkpoint {checkpoint} is intact; the "
            "same command with --resume continues exactly.") in " ".join(out.split())
    assert "Traceback" not in out and "Test accuracy" not in out
    saved = read_checkpoint(checkpoint)
    assert saved.optimizer["iterations"] == at
    status, out = run_cli([*QUICK, "--save", str(tmp_path / "m.convsim"),
                           "--resume"])
    assert status == 0, out
    assert f"Resuming from {checkpoint} at " in out
    for a, b in zip(load_model(tmp_path / "m.convsim").get_weights(),
                    load_model(tmp_path / "whole.convsim").get_weights(),
                    strict=True):
        assert np.array_equal(a, b)
    histories = [json.loads((tmp_path / f"{name}.history.json").read_text())
                 for name in ("m", "whole")]
    assert histories[0]["history"] == histories[1]["history"]


def test_resume_without_a_checkpoint_starts_at_the_beginning(tmp_path):
    status, out = run_cli([*QUICK, "--epochs", "1", "--resume",
                           "--backup-dir", str(tmp_path / "b")])
    assert status == 0, out
    assert f"No checkpoint in {tmp_path / 'b'} yet: training starts at the " \
           "beginning." in " ".join(out.split())
    assert "Epoch 1/1" in out
