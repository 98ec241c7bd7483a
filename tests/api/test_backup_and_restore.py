"""BackupAndRestore, the checkpoint and Ctrl+C inside ``fit``: fast, in-process.

Ctrl+C here is real: the test sends SIGINT to its own process (from a
callback, from inside a layer's forward pass, or from another thread while a
kernel runs), and ``fit`` must finish the batch, save the checkpoint and stop;
a second ``fit`` with the same callback must end bit-identical (weights and
history) to a run that was never stopped.
"""

from __future__ import annotations

import os
import signal
import threading
import time
import zipfile

import numpy as np
import pytest

from convsim import callbacks, layers, models
from convsim.errors import ArgumentError, FileError, ModelFileError
from convsim.preprocessing.image import ImageDataGenerator, prefetch
from convsim.training import interrupts
from convsim.training.backup import CHECKPOINT_NAME
from convsim.training.checkpoint import read_checkpoint, read_summary
from convsim.training.interrupts import TrainingInterrupted
from convsim.utils import set_random_seed

EPOCHS, BATCH = 3, 8  # 50 samples: 7 batches per epoch, the last one short


def make_model(dropout=0.3, units=16):
    set_random_seed(3)
    model = models.Sequential([
        layers.Input((6, 6, 1)), layers.Conv2D(4, 3, activation="relu"),
        layers.Flatten(), layers.Dense(units, activation="relu"),
        layers.Dropout(dropout), layers.Dense(3, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 6, 6, 1)).astype("float32")
    y = rng.integers(0, 3, 60)
    return (x[:50], y[:50]), (x[50:], y[50:])


def fit(model, data, backup=None, extra=(), epochs=EPOCHS, **kwargs):
    (x, y), validation = data
    cbs = [*extra, *([backup] if backup is not None else [])]
    return model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0,
                     validation_data=validation, callbacks=cbs, **kwargs)


@pytest.fixture(scope="module")
def unbroken(data):
    model = make_model()
    history = fit(model, data)
    return model.get_weights(), history.history


class CtrlC(callbacks.Callback):
    """Presses Ctrl+C (SIGINT to this process) as batch number ``at`` (counted
    over the whole run, from 1) begins."""

    def __init__(self, at):
        super().__init__()
        self.at, self.seen = at, 0

    def on_train_batch_begin(self, batch, logs=None):
        self.seen += 1
        if self.seen == self.at:
            os.kill(os.getpid(), signal.SIGINT)


def assert_same_run(model, history, unbroken):
    weights, logs = unbroken
    assert history.history == logs
    for a, b in zip(model.get_weights(), weights, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("at", [1, 5, 7, 8, 13, 21])
def test_ctrl_c_anywhere_then_fit_again_is_bit_identical(tmp_path, data, unbroken,
                                                         at):
    backup = callbacks.BackupAndRestore(tmp_path / "b")
    with pytest.raises(TrainingInterrupted) as stop:
        fit(make_model(), data, backup, [CtrlC(at)])
    epoch, step = divmod(at, 7)
    where = (f"in epoch {epoch + 1}/3 after batch {step}/7" if step
             else f"in epoch {epoch}/3 after batch 7/7")
    assert stop.value.where == where
    assert stop.value.checkpoint == str(tmp_path / "b" / CHECKPOINT_NAME)
    assert str(stop.value) == (f"Stopped by Ctrl+C {where}; everything up to there "
                               f"is in the checkpoint {stop.value.checkpoint!r}.")
    model = make_model()  # a new process would build it afresh, too
    history = fit(model, data, callbacks.BackupAndRestore(tmp_path / "b"))
    assert_same_run(model, history, unbroken)
    assert not (tmp_path / "b").exists()  # delete_checkpoint=True, as Keras


def test_ctrl_c_during_a_step_finishes_that_batch(tmp_path, data, unbroken,
                                                  monkeypatch):
    """SIGINT arrives inside the forward pass (between two kernels): the
    step completes (one optimizer update), then training stops."""
    model = make_model()
    dense = model.layers[2]
    calls = {"n": 0}
    original = dense.call

    def call(x, training=False):
        calls["n"] += training
        if training and calls["n"] == 10:
            os.kill(os.getpid(), signal.SIGINT)
        return original(x, training)

    monkeypatch.setattr(dense, "call", call)
    with pytest.raises(TrainingInterrupted, match="in epoch 2/3 after batch 3/7"):
        fit(model, data, callbacks.BackupAndRestore(tmp_path / "b"))
    assert model.optimizer.iterations == 10
    model = make_model()
    history = fit(model, data, callbacks.BackupAndRestore(tmp_path / "b"))
    assert_same_run(model, history, unbroken)


def test_ctrl_c_from_another_thread_while_kernels_run(tmp_path, data, unbroken):
    """Signals at arbitrary moments (mostly inside Numba kernels) never
    break a step: every run resumes to the same weights."""
    stopped = []
    for delay in (0.002, 0.02, 0.05, 0.1):
        model = make_model()
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
        backup = callbacks.BackupAndRestore(tmp_path / f"b{delay}")
        with interrupts.deferred():  # a signal after fit must not escape
            timer.start()
            try:
                fit(model, data, backup)
            except TrainingInterrupted as stop:
                stopped.append(stop.where)
            timer.join()
            time.sleep(0.01)
        model = make_model()
        history = fit(model, data, callbacks.BackupAndRestore(tmp_path / f"b{delay}"))
        assert_same_run(model, history, unbroken)
    assert stopped, "no signal arrived during training"


def test_ctrl_c_during_validation_reruns_only_the_validation(tmp_path, data,
                                                            unbroken, monkeypatch):
    model = make_model()
    original = type(model)._test_step
    calls = {"n": 0}

    def test_step(self, *args):
        calls["n"] += 1
        if calls["n"] == 3:  # validation of epoch 2 (two batches per pass)
            os.kill(os.getpid(), signal.SIGINT)
        return original(self, *args)

    monkeypatch.setattr(type(model), "_test_step", test_step)
    with pytest.raises(TrainingInterrupted, match="in epoch 2/3 during validation"):
        fit(model, data, callbacks.BackupAndRestore(tmp_path / "b"))
    monkeypatch.undo()
    assert read_summary(tmp_path / "b" / CHECKPOINT_NAME)["progress"]["step"] == 7
    model = make_model()
    history = fit(model, data, callbacks.BackupAndRestore(tmp_path / "b"))
    assert_same_run(model, history, unbroken)


def test_ctrl_c_without_backup_stops_after_the_batch_and_says_nothing_was_saved(
        data):
    model = make_model()
    with pytest.raises(TrainingInterrupted) as stop:
        fit(model, data, extra=[CtrlC(3)])
    assert "after batch 3/7; nothing was saved (no BackupAndRestore callback)" in str(
        stop.value)
    assert isinstance(stop.value, KeyboardInterrupt)
    assert model.optimizer.iterations == 3
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_ctrl_c_raises_at_once(data):
    class TwoPresses(callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)  # handled before the step runs
            time.sleep(0.01)

    model = make_model()
    with pytest.raises(KeyboardInterrupt) as stop:
        fit(model, data, extra=[TwoPresses()])
    assert type(stop.value) is KeyboardInterrupt
    assert model.optimizer.iterations == 0


def test_evaluate_and_predict_stop_between_batches(data):
    (x, y), _ = data
    model = make_model()

    timer = threading.Timer(0.0, os.kill, (os.getpid(), signal.SIGINT))
    with interrupts.deferred():
        timer.start()
        timer.join()
        time.sleep(0.01)
        with pytest.raises(TrainingInterrupted,
                           match="during evaluation after batch 1/7"):
            model.evaluate(x, y, batch_size=BATCH, verbose=0)
        with pytest.raises(TrainingInterrupted,
                           match="during prediction after batch 1/7"):
            model.predict(x, batch_size=BATCH, verbose=0)


def test_iterator_data_resume_at_the_same_augmented_batch(tmp_path, data):
    """flow() iterators with a seed are moved on with skip(): the resumed run
    sees the augmentations and dropout masks an unbroken run sees."""
    (x, y), (x_val, y_val) = data
    generator = ImageDataGenerator(rotation_range=30, zoom_range=0.2)

    def run(backup, extra=()):
        model = make_model()
        history = model.fit(generator.flow(x, y, batch_size=BATCH, seed=5),
                            steps_per_epoch=5, epochs=EPOCHS, verbose=0,
                            validation_data=generator.flow(x_val, y_val,
                                                           batch_size=4, seed=6),
                            validation_steps=2, callbacks=[*extra, backup])
        return model, history

    reference, reference_history = run(callbacks.BackupAndRestore(tmp_path / "ref"))
    with pytest.raises(TrainingInterrupted, match="in epoch 2/3 after batch 3/5"):
        run(callbacks.BackupAndRestore(tmp_path / "b"), [CtrlC(8)])
    assert read_summary(tmp_path / "b" / CHECKPOINT_NAME)["data"] == {
        "train_batches": 8, "validation_batches": 2}
    model, history = run(callbacks.BackupAndRestore(tmp_path / "b"))
    assert_same_run(model, history, (reference.get_weights(),
                                     reference_history.history))


def test_an_iterator_that_cannot_skip_is_named(tmp_path, data, capsys):
    (x, y), _ = data
    flow = ImageDataGenerator().flow(x, y, batch_size=BATCH, seed=1)
    backup = callbacks.BackupAndRestore(tmp_path / "b")
    with pytest.raises(TrainingInterrupted):
        make_model().fit(flow, steps_per_epoch=5, epochs=2, verbose=0,
                         callbacks=[CtrlC(2), backup])
    wrapped = prefetch(ImageDataGenerator().flow(x, y, batch_size=BATCH, seed=1))
    try:
        make_model().fit(wrapped, steps_per_epoch=5, epochs=2, verbose=0,
                         callbacks=[callbacks.BackupAndRestore(tmp_path / "b")])
    finally:
        wrapped.close()
    out = " ".join(capsys.readouterr().out.split())
    assert ("the training data (Prefetcher) has no skip() method, so it cannot be "
            "moved on past the 2 batches the stopped run used") in out


def test_save_freq_in_batches_and_kept_checkpoints_continue_longer_runs(
        tmp_path, data):
    """save_freq=3 writes mid-epoch checkpoints; delete_checkpoint=False keeps
    the last, and a later fit with more epochs continues the same run."""
    longer = make_model()
    longer_history = fit(longer, data, epochs=4)
    model = make_model()
    backup = callbacks.BackupAndRestore(tmp_path / "b", save_freq=3,
                                        delete_checkpoint=False)
    fit(model, data, backup, epochs=2)
    progress = read_summary(tmp_path / "b" / CHECKPOINT_NAME)["progress"]
    assert (progress["epoch"], progress["step"]) == (1, 5)  # batch 12 of 14
    model = make_model()
    history = fit(model, data, callbacks.BackupAndRestore(
        tmp_path / "b", delete_checkpoint=False), epochs=4)
    assert_same_run(model, history, (longer.get_weights(), longer_history.history))


def test_save_freq_false_saves_only_on_ctrl_c(tmp_path, data):
    backup = callbacks.BackupAndRestore(tmp_path / "b", save_freq=False)
    fit(make_model(), data, backup, epochs=1)
    assert not (tmp_path / "b" / CHECKPOINT_NAME).exists()
    with pytest.raises(TrainingInterrupted):
        fit(make_model(), data, backup, extra=[CtrlC(2)])
    assert read_summary(tmp_path / "b" / CHECKPOINT_NAME)["progress"]["step"] == 2


def test_the_checkpoint_holds_the_best_metric_and_history(tmp_path, data):
    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=5)
    backup = callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False,
                                        settings={"seed": 3})
    history = fit(make_model(), data, backup, extra=[stopper], epochs=2)
    checkpoint = read_checkpoint(tmp_path / "b" / CHECKPOINT_NAME)
    assert checkpoint.history == history.history
    assert checkpoint.epochs_done == [0, 1]
    state = checkpoint.callbacks["EarlyStopping.0"]
    assert state["best"] == stopper.best == min(history.history["val_loss"])
    assert checkpoint.settings == {"seed": 3}
    assert checkpoint.optimizer["iterations"] == 14
    assert checkpoint.where() == "the end of epoch 2/2"


def test_a_checkpoint_of_another_run_is_refused(tmp_path, data):
    backup = callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False,
                                        settings={"seed": 3})
    with pytest.raises(TrainingInterrupted):
        fit(make_model(), data, backup, extra=[CtrlC(2)])
    with pytest.raises(ArgumentError, match=r"holds the weights of another model"):
        fit(make_model(units=8), data, backup)
    (x, y), validation = data
    with pytest.raises(ArgumentError, match=r"written by a fit with batch_size=8; "
                                            r"this fit has batch_size=5"):
        make_model().fit(x, y, batch_size=5, epochs=2, verbose=0, callbacks=[backup])
    other = callbacks.BackupAndRestore(tmp_path / "b", settings={"seed": 4})
    with pytest.raises(ArgumentError, match=r"written by a run with seed=3; this "
                                            r"one has seed=4"):
        fit(make_model(), data, other)
    fresh = callbacks.BackupAndRestore(tmp_path / "b", resume=False)
    history = fit(make_model(), data, fresh, epochs=1)
    assert len(history.history["loss"]) == 1


def test_a_damaged_checkpoint_is_a_clear_error(tmp_path, data):
    backup = callbacks.BackupAndRestore(tmp_path / "b", double_checkpoint=True,
                                        delete_checkpoint=False)
    fit(make_model(), data, backup, epochs=2)
    path = tmp_path / "b" / CHECKPOINT_NAME
    assert (tmp_path / "b" / (CHECKPOINT_NAME + ".bkp")).is_file()
    good = path.read_bytes()
    for damage in (good[:len(good) // 2], b"PK\x03\x04" + bytes(100), b"{}",
                   good.replace(b'"convsim-checkpoint"', b'"something-else-!!"')):
        path.write_bytes(damage)
        with pytest.raises(ModelFileError, match=str(path)):
            read_checkpoint(path)
    # with double_checkpoint, the previous checkpoint is used instead
    history = fit(make_model(), data, backup, epochs=2)
    assert len(history.history["loss"]) == 2
    path.write_bytes(good[:100])
    plain = callbacks.BackupAndRestore(tmp_path / "b")
    with pytest.raises(ModelFileError):
        fit(make_model(), data, plain)


def test_a_member_inflating_past_the_budget_is_refused(tmp_path):
    """A checkpoint is read within the limits of every convsim file
    (convsim.files.limits): 200 MB of deflated zeros in a 200 KB file are refused
    before they are inflated."""
    from convsim.training.checkpoint import Checkpoint, write_checkpoint

    good = tmp_path / "good.checkpoint"
    write_checkpoint(good, Checkpoint(progress={"epoch": 1, "step": 0},
                                      weights=[np.ones(3, "f4")], weight_names=["w"]))
    path = tmp_path / "bomb.checkpoint"
    with zipfile.ZipFile(good) as source, zipfile.ZipFile(
            path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in source.namelist():
            if name != "weights.npz":
                archive.writestr(name, source.read(name))
        with archive.open("weights.npz", "w", force_zip64=True) as member:
            for _ in range(200):
                member.write(bytes(1_000_000))
    with pytest.raises(ModelFileError, match="weights.npz.*200,000,000 bytes"):
        read_checkpoint(path)


def test_a_bad_backup_dir_is_refused_before_training(tmp_path, data):
    model = make_model()
    with pytest.raises(FileError, match="does not exist"):
        fit(model, data, callbacks.BackupAndRestore(tmp_path / "no" / "b"))
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileError, match="it is a file"):
        fit(model, data, callbacks.BackupAndRestore(tmp_path / "file"))
    assert model.optimizer.iterations == 0


@pytest.mark.parametrize("kwargs, message", [
    ({"backup_dir": ""}, "Empty `backup_dir` argument passed"),
    ({"backup_dir": "b", "save_freq": 0}, "Invalid value for argument `save_freq`"),
    ({"backup_dir": "b", "save_freq": "batch"}, "Received: save_freq='batch'"),
    ({"backup_dir": "b", "settings": {"f": print}}, "`settings` must hold only JSON"),
])
def test_bad_arguments_get_keras_worded_errors(kwargs, message):
    with pytest.raises(ArgumentError, match=message):
        callbacks.BackupAndRestore(**kwargs)


def test_fit_on_zero_samples_is_refused(data):
    model = make_model()
    with pytest.raises(ArgumentError, match=r"`fit` received 0 samples \(x.shape="
                                            r"\(0, 6, 6, 1\)\)"):
        model.fit(np.zeros((0, 6, 6, 1), "float32"), np.zeros(0), verbose=0)
    with pytest.raises(ArgumentError, match="The training data produced no batches"):
        model.fit(iter([]), steps_per_epoch=2, verbose=0)
    with pytest.raises(ArgumentError, match="The training iterator is empty"):
        model.fit(ImageDataGenerator().flow(np.zeros((0, 6, 6, 1)), np.zeros(0)),
                  verbose=0)


@pytest.mark.parametrize("field, value, message", [
    ("weights", [np.ones(3, np.complex64)], "dtype 'complex64'; convsim reads"),
    ("history", {"loss": ["low"]}, "is damaged or not a convsim checkpoint"),
    ("count", -1, "is damaged or not a convsim checkpoint"),
    ("sums", {"loss": "1"}, "is damaged or not a convsim checkpoint")])
def test_a_checkpoint_with_wrong_types_is_refused(tmp_path, field, value, message):
    """Hand-edited or hostile contents never reach the model half-checked (a
    complex weight would silently lose its imaginary part)."""
    from convsim.training.checkpoint import Checkpoint, write_checkpoint

    fields = {"progress": {"epoch": 1, "step": 0}, "weights": [np.ones(3, "f4")],
              "weight_names": ["w"], field: value}
    write_checkpoint(tmp_path / "c", Checkpoint(**fields))
    with pytest.raises(ModelFileError, match=message):
        read_checkpoint(tmp_path / "c")


def test_a_callback_state_that_cannot_be_used_is_named(tmp_path, data):
    from convsim.training.checkpoint import write_checkpoint

    backup = callbacks.BackupAndRestore(tmp_path / "b", delete_checkpoint=False)
    fit(make_model(), data, backup, extra=[callbacks.EarlyStopping()], epochs=1)
    path = tmp_path / "b" / CHECKPOINT_NAME
    checkpoint = read_checkpoint(path)
    checkpoint.callbacks["EarlyStopping.0"]["best"] = "low"
    write_checkpoint(path, checkpoint)
    with pytest.raises(ArgumentError, match="holds a state for EarlyStopping.0 that "
                                            "cannot be used"):
        fit(make_model(), data, backup, extra=[callbacks.EarlyStopping()])
