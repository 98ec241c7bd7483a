"""``python -m convsim train cats-vs-dogs``: the book's two experiments from the
command line, on a tiny tree of photos the tests write (batch size 2, so a
150x150 step is quick)."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import threading

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from convsim.experiments import cli as train
from convsim.experiments.book_models import build_cats_model
from convsim.experiments.cats_vs_dogs import describe
from convsim.training.checkpoint import read_checkpoint, read_summary
from convsim.training.history_file import HistoryRecorder, load_history

PER_CLASS = 3  # photos per class and split in conftest.py's `tree`
QUICK = ["--steps-per-epoch", "1", "--validation-steps", "1", "--batch-size", "2",
         "--seed", "0", "--verbose", "2"]


def capture_console() -> Console:
    return Console(file=io.StringIO(), width=120, color_system=None)


def number_after(text: str, label: str) -> float:
    return float(re.search(re.escape(label) + r"\s*([0-9.]+)", text).group(1))


def break_in_second_epoch(patch, exception):
    """Make training raise ``exception`` at the first batch of epoch 2."""
    def hook(self, batch, logs=None):
        if len(self.epoch) == 1:
            raise exception

    patch.setattr(HistoryRecorder, "on_train_batch_begin", hook,
                  raising=False)


def press_ctrl_c_in_epoch(patch, epoch=2):
    """A real Ctrl+C (SIGINT to this process) as ``epoch``'s first batch
    begins: the batch finishes, then the command stops."""
    def hook(self, batch, logs=None):
        if len(self.epoch) == epoch - 1 and not getattr(self, "pressed", False):
            self.pressed = True
            os.kill(os.getpid(), signal.SIGINT)

    patch.setattr(HistoryRecorder, "on_train_batch_begin", hook, raising=False)


def test_build_cats_model_is_the_books_convnet():
    model = build_cats_model()
    assert model.count_params() == 3_453_121
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "MaxPooling2D"] * 4 + ["Flatten", "Dense", "Dense"]
    assert model.layers[-1].units == 1
    assert model.layers[-1].activation.name == "sigmoid"
    assert type(model.optimizer).__name__ == "Adam"
    assert model.optimizer.learning_rate == pytest.approx(1e-3)
    assert model.loss.name == "binary_crossentropy"
    with_dropout = build_cats_model(dropout=0.5)
    assert type(with_dropout.layers[9]).__name__ == "Dropout"
    assert with_dropout.layers[9].rate == 0.5
    assert with_dropout.count_params() == 3_453_121
    slower = build_cats_model(learning_rate=1e-4)
    assert slower.optimizer.learning_rate == pytest.approx(1e-4)


def test_help_explains_the_experiments(capsys):
    with pytest.raises(SystemExit):
        train.main(["cats-vs-dogs", "--help"])
    out = capsys.readouterr().out
    for option in ("--data", "--augment", "--dropout", "--epochs",
                   "--steps-per-epoch", "--validation-steps", "--batch-size",
                   "--save", "--plot", "--history", "--seed", "--verbose",
                   "--resume", "--learning-rate"):
        assert option in out
    assert "100 with --augment" in out
    assert "the notes validate on the test folder" in out
    assert "Ctrl+C" in out


@pytest.mark.slow
def test_trains_reports_and_saves_everything(tree, tmp_path):
    from convsim.models import load_model
    from convsim.preprocessing.image import ImageDataGenerator

    out_dir = tmp_path / "runs"
    out_dir.mkdir()
    console = capture_console()
    status = train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "2",
                         "--save", str(out_dir / "m.convsim"),
                         "--plot", str(out_dir / "curves.png"), *QUICK],
                        console=console)
    out = console.file.getvalue()
    assert status == 0, out
    assert out.count(f"Found {2 * PER_CLASS} images belonging to 2 classes.") == 3
    assert "Total params: 3,453,121" in out
    assert "Epoch 2/2" in out

    document = json.loads((out_dir / "m.history.json").read_text())
    logs = document["history"]
    assert document["epochs_done"] == 2 and not document["interrupted"]
    assert len(document["seconds_per_epoch"]) == 2
    assert sorted(logs) == ["acc", "loss", "val_acc", "val_loss"]
    assert all(len(values) == 2 for values in logs.values())
    assert number_after(out, "Final validation accuracy:") == pytest.approx(
        logs["val_acc"][-1], abs=5e-5)
    assert number_after(out, "training accuracy") == pytest.approx(
        logs["acc"][-1], abs=5e-5)

    # the reported test accuracy is the saved model's on the test folder
    model = load_model(out_dir / "m.convsim")
    test = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
        tree / "test", target_size=(150, 150), batch_size=2, class_mode="binary",
        shuffle=False, console=capture_console())
    _, test_acc = model.evaluate(test, steps=len(test), verbose=0)
    assert number_after(out, "Test accuracy:") == pytest.approx(test_acc, abs=5e-5)
    assert document["test"]["acc"] == pytest.approx(test_acc)

    with Image.open(out_dir / "curves.png") as figure:
        assert figure.size == (1000, 500)  # the notes' figsize=(10, 5)
    # the checkpoint of the finished run stays, next to the model
    assert read_summary(out_dir / "m.backup" / "latest.checkpoint")["progress"][
        "epoch"] == 2


@pytest.mark.slow
def test_ctrl_c_keeps_the_history_the_figure_and_the_model(tree, tmp_path,
                                                            monkeypatch):
    from convsim.models import load_model

    press_ctrl_c_in_epoch(monkeypatch, 2)
    console = capture_console()
    status = train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "5",
                         "--save", str(tmp_path / "m.convsim"),
                         "--plot", str(tmp_path / "c.png"), *QUICK],
                        console=console)
    out = " ".join(console.file.getvalue().split())
    assert status == 130
    checkpoint = tmp_path / "m.backup" / "latest.checkpoint"
    assert (f"Ctrl+C: stopped in epoch 2/5 after batch 1/1. The checkpoint "
            f"{checkpoint} is intact; the same command with --resume continues "
            "exactly.") in out
    assert "Test accuracy" not in out
    document = json.loads((tmp_path / "m.history.json").read_text())
    assert document["interrupted"] and document["epochs_done"] == 1
    assert len(document["history"]["loss"]) == 1
    assert load_model(tmp_path / "m.convsim").count_params() == 3_453_121
    assert (tmp_path / "c.png").stat().st_size > 0
    assert read_summary(checkpoint)["progress"]["step"] == 1
    assert not [t for t in threading.enumerate()
                if t.name == "convsim-prefetch" and t.is_alive()]


@pytest.mark.slow
def test_ctrl_c_in_the_first_epoch_leaves_a_run_that_resumes(tree, tmp_path,
                                                             monkeypatch):
    """Issue 15: Ctrl+C in epoch 1 wrote a history file with no epoch in it,
    which --resume then refused."""
    history = tmp_path / "m.history.json"
    with monkeypatch.context() as patch:
        press_ctrl_c_in_epoch(patch, 1)
        console = capture_console()
        assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "2",
                           "--save", str(tmp_path / "m.convsim"), "--no-plot",
                           *QUICK], console=console) == 130
    assert "No complete epoch: no history to save." in console.file.getvalue()
    assert not history.exists()
    console = capture_console()
    assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "2",
                       "--save", str(tmp_path / "m.convsim"), "--no-plot",
                       "--resume", *QUICK], console=console) == 0, \
        console.file.getvalue()
    assert "Resuming from" in console.file.getvalue()
    assert load_history(history)["epochs_done"] == 2


@pytest.mark.slow
def test_a_stopped_run_is_not_overwritten_without_resume(tree, tmp_path,
                                                         monkeypatch):
    with monkeypatch.context() as patch:
        press_ctrl_c_in_epoch(patch, 2)
        assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "3",
                           "--save", str(tmp_path / "m.convsim"), "--no-plot",
                           *QUICK], console=capture_console()) == 130
    checkpoint = tmp_path / "m.backup" / "latest.checkpoint"
    before = checkpoint.read_bytes()
    console = capture_console()
    assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "3",
                       "--save", str(tmp_path / "m.convsim"), "--no-plot",
                       *QUICK], console=console) == 1
    out = " ".join(console.file.getvalue().split())
    assert "holds a stopped run (at epoch 2/3, batch 1/1). Add --resume" in out
    assert "Epoch" not in out
    assert checkpoint.read_bytes() == before


@pytest.mark.slow
def test_resume_continues_a_stopped_run(tree, tmp_path, monkeypatch):
    model_path = tmp_path / "m.convsim"

    with monkeypatch.context() as patch:
        press_ctrl_c_in_epoch(patch, 2)
        assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "3",
                           "--save", str(model_path), "--no-plot", *QUICK],
                          console=capture_console()) == 130
    first = json.loads((tmp_path / "m.history.json").read_text())["history"]
    console = capture_console()
    status = train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "2",
                         "--save", str(model_path), "--no-plot", "--resume",
                         *QUICK], console=console)
    out = " ".join(console.file.getvalue().split())
    assert status == 0, out
    assert (f"Resuming from {tmp_path / 'm.backup' / 'latest.checkpoint'} at "
            "epoch 2/3, batch 1/1.") in out
    assert "Epoch 2/2" in out and "Epoch 1/2" not in out
    document = json.loads((tmp_path / "m.history.json").read_text())
    assert document["epochs_done"] == 2 and not document["interrupted"]
    for key, values in document["history"].items():
        assert len(values) == 2 and values[0] == first[key][0]
    # fewer epochs than done, or a different experiment: refused before training
    for extra in (["--epochs", "1"], ["--epochs", "5", "--augment"]):
        console = capture_console()
        assert train.main(["cats-vs-dogs", "--data", str(tree), "--save",
                           str(model_path), "--no-plot", "--resume", *QUICK,
                           *extra], console=console) == 1
        assert "Epoch" not in console.file.getvalue()
    # a finished run: nothing to train, its outputs are written again (a kill
    # during the final save loses nothing)
    model_path.unlink()
    console = capture_console()
    assert train.main(["cats-vs-dogs", "--data", str(tree), "--save",
                       str(model_path), "--no-plot", "--resume", "--epochs", "2",
                       *QUICK], console=console) == 0
    out = " ".join(console.file.getvalue().split())
    assert "has finished its 2 epoch(s): nothing to train" in out
    assert "Epoch" not in out and "Test accuracy" in out and model_path.exists()
    assert json.loads((tmp_path / "m.history.json").read_text())["history"] == \
        document["history"]


class HardKill(BaseException):
    """Stands in for kill -9: nothing after it runs, not even the final save."""


@pytest.mark.slow
def test_a_killed_run_can_resume_from_its_last_complete_epoch(tree, tmp_path,
                                                              monkeypatch):
    model_path = tmp_path / "m.convsim"

    with monkeypatch.context() as patch:
        break_in_second_epoch(patch, HardKill)
        with pytest.raises(HardKill):
            train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "3",
                        "--save", str(model_path), "--no-plot", *QUICK],
                       console=capture_console())
    checkpoint = read_checkpoint(tmp_path / "m.backup" / "latest.checkpoint")
    assert checkpoint.progress["epoch"] == 1 and checkpoint.progress["step"] == 0
    assert len(checkpoint.history["loss"]) == 1
    assert json.loads((tmp_path / "m.history.json").read_text())["epochs_done"] == 1
    console = capture_console()
    status = train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "2",
                         "--save", str(model_path), "--no-plot", "--resume",
                         *QUICK], console=console)
    out = " ".join(console.file.getvalue().split())
    assert status == 0, out
    assert "at the end of epoch 1/3." in out and "Epoch 2/2" in out


@pytest.mark.parametrize("augment, learning_rate, expected_rate", [
    (False, None, 1e-3), (True, None, 1e-4), (True, "0.001", 1e-3)])
def test_options_reach_the_model_and_the_generator(tree, tmp_path, monkeypatch,
                                                   augment, learning_rate,
                                                   expected_rate):
    """--augment switches on the notes' generator, 100 epochs and the book's
    learning rate unless one is given; --dropout adds the layer (checked
    without training: fit is replaced)."""
    from convsim import models

    seen = {}

    def fake_fit(self, x, **kwargs):
        seen.update(kwargs, model=self, batches=x)
        raise KeyboardInterrupt

    monkeypatch.setattr(models.Sequential, "fit", fake_fit)
    options = ["--augment", "--dropout", "0.5"] if augment else []
    if learning_rate:
        options += ["--learning-rate", learning_rate]
    status = train.main(["cats-vs-dogs", "--data", str(tree), *options, "--no-plot",
                         "--backup-dir", str(tmp_path / "b")],
                        console=capture_console())
    assert status == 130
    assert seen["epochs"] == (100 if augment else 30)
    assert seen["steps_per_epoch"] == 100 and seen["validation_steps"] == 50
    generator = seen["batches"].generator.image_data_generator
    assert generator.rotation_range == (40 if augment else 0)
    assert generator.shear_range == (0.4 if augment else 0)
    assert generator.horizontal_flip is augment
    assert generator.rescale == pytest.approx(1 / 255)
    assert seen["validation_data"].generator.image_data_generator.rotation_range == 0
    assert seen["validation_data"].generator.directory.endswith("validation")
    layer_types = [type(layer).__name__ for layer in seen["model"].layers]
    assert ("Dropout" in layer_types) is augment
    assert seen["model"].optimizer.learning_rate == pytest.approx(expected_rate)
    assert describe(augment, 0.5 if augment else None) == (
        "convnet with augmentation + dropout 0.5" if augment else "plain convnet")


def test_missing_photos_say_how_to_get_them(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CONVSIM_DATA", raising=False)
    for argv in (["--data", str(tmp_path)], []):
        console = capture_console()
        assert train.main(["cats-vs-dogs", *argv], console=console) == 1
        # The message holds a temporary path, so where the console wraps it
        # depends on the machine: compare with the line breaks taken out.
        out = " ".join(console.file.getvalue().split())
        assert "python -m convsim.datasets cats-vs-dogs" in out
        assert "Epoch" not in out


@pytest.mark.parametrize("option", ["--save", "--plot", "--history",
                                    "--backup-dir"])
@pytest.mark.parametrize("problem", ["missing folder", "a file as folder"])
def test_unwritable_outputs_fail_before_training(tree, tmp_path, option, problem):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    folder = tmp_path / "missing" if problem == "missing folder" else blocker
    console = capture_console()
    status = train.main(["cats-vs-dogs", "--data", str(tree),
                         option, str(folder / "out"), *QUICK],
                        console=console)
    out = console.file.getvalue()
    assert status == 1 and "Cannot write the outputs" in out
    assert "Epoch" not in out and "Found" not in out


def test_bad_option_values_are_refused(capsys):
    for argv in (["--dropout", "1.5"], ["--epochs", "0"], ["--validate-on", "x"],
                 ["--learning-rate", "0"], ["--learning-rate", "nan"]):
        with pytest.raises(SystemExit):
            train.main(["cats-vs-dogs", *argv])
    assert "expected a number in [0, 1), got 1.5" in capsys.readouterr().err


def test_load_history_reads_ours_and_keras_dicts(tmp_path):
    keras_style = tmp_path / "keras.json"
    keras_style.write_text(json.dumps({"loss": [0.7, 0.5], "acc": [0.5, 0.8]}))
    assert load_history(keras_style)["history"]["acc"] == [0.5, 0.8]
    ours = tmp_path / "ours.json"
    ours.write_text(json.dumps({"format": "convsim-history", "augment": True,
                                "history": {"loss": [0.6]}}))
    assert load_history(ours)["augment"] is True
    for bad in ("[1, 2]", '{"acc": [0.5]}', '{"loss": []}', "not json"):
        path = tmp_path / "bad.json"
        path.write_text(bad)
        with pytest.raises(ValueError, match="bad.json"):
            load_history(path)


@pytest.mark.slow
def test_a_resumed_seeded_run_equals_the_uninterrupted_one(tree, tmp_path,
                                                           monkeypatch):
    """Same augmented batches, dropout masks and optimizer steps: the history
    and the weights after a kill + --resume are those of one unbroken run."""
    from convsim.models import load_model

    options = ["--augment", "--dropout", "0.5", "--no-plot", *QUICK]
    whole = tmp_path / "whole.convsim"
    assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "3",
                       "--save", str(whole), *options],
                      console=capture_console()) == 0
    broken = tmp_path / "broken.convsim"
    with monkeypatch.context() as patch:
        break_in_second_epoch(patch, HardKill)
        with pytest.raises(HardKill):
            train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "3",
                        "--save", str(broken), *options],
                       console=capture_console())
    assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "3",
                       "--save", str(broken), "--resume", *options],
                      console=capture_console()) == 0
    history = {name: json.loads((tmp_path / f"{name}.history.json").read_text())
               for name in ("whole", "broken")}
    assert history["broken"]["history"] == history["whole"]["history"]
    for a, b in zip(load_model(whole).get_weights(), load_model(broken).get_weights(),
                    strict=True):
        assert np.array_equal(a, b)


@pytest.mark.slow
def test_resuming_with_another_seed_is_refused(tree, tmp_path):
    model_path = tmp_path / "m.convsim"
    assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "1",
                       "--save", str(model_path), "--no-plot", *QUICK],
                      console=capture_console()) == 0
    console = capture_console()
    quick_seed_1 = [*QUICK[:-4], "--seed", "1", *QUICK[-2:]]
    assert train.main(["cats-vs-dogs", "--data", str(tree), "--epochs", "2",
                       "--save", str(model_path), "--no-plot", "--resume",
                       *quick_seed_1], console=console) == 1
    assert "seed=0" in console.file.getvalue()
