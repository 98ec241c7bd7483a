"""``BackupAndRestore``: a training run that survives Ctrl+C, crashes and kill -9.

Keras 3's callback of the same name and arguments, made exact::

    backup = callbacks.BackupAndRestore(backup_dir="run.backup")
    model.fit(x, y, epochs=10, callbacks=[backup])   # Ctrl+C in epoch 4...
    model.fit(x, y, epochs=10, callbacks=[backup])   # ...goes on from there

At the end of every epoch (or every ``save_freq`` batches), and when Ctrl+C
stops training, it writes one checkpoint, ``backup_dir/latest.checkpoint``
(see :mod:`convsim.training.checkpoint`): the weights, the optimizer's state,
the epoch and the batch within it, the history so far, the other callbacks'
state (best metric), every random generator's state and how far iterator
data had got. A ``fit`` with a ``BackupAndRestore`` on the same folder starts
from that checkpoint, so a run stopped anywhere (mid-epoch included) and
continued on the same data ends bit-identical to one never stopped.

Differences from Keras: the checkpoint is written atomically (a killed write
leaves the previous one), Ctrl+C is handled (the current batch finishes, the
checkpoint is saved, then
:class:`~convsim.training.interrupts.TrainingInterrupted` is raised), a
mid-epoch checkpoint continues mid-epoch instead of at the epoch's start, and
the History that ``fit`` returns holds the whole run.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from rich.console import Console

from convsim.errors import ArgumentError, FileError, NotReadyError
from convsim.files import check_can_write
from convsim.training.callbacks import Callback
from convsim.training.checkpoint import (
    Checkpoint,
    read_checkpoint,
    write_checkpoint,
)

__all__ = ["CHECKPOINT_NAME", "BackupAndRestore", "checkpoint_path"]

#: The checkpoint's file name inside ``backup_dir``.
CHECKPOINT_NAME = "latest.checkpoint"


def checkpoint_path(backup_dir) -> Path:
    """Where :class:`BackupAndRestore` keeps its checkpoint for ``backup_dir``."""
    return Path(os.fspath(backup_dir)) / CHECKPOINT_NAME


class BackupAndRestore(Callback):
    """Back the training run up, and continue it from the backup.

    Args:
        backup_dir: the folder for the checkpoint (created if missing; its
            parent must exist). Use one folder per training run.
        save_freq: ``"epoch"`` (default): at the end of every epoch; a number
            N: every N batches; ``False``: only when Ctrl+C stops training.
        double_checkpoint: keep the previous checkpoint too
            (``latest.checkpoint.bkp``), used if the latest cannot be read.
        delete_checkpoint: delete the checkpoint when ``fit`` completes
            (Keras's default); ``False`` keeps it, so a later ``fit`` with more
            ``epochs`` continues the same run.
        resume: (convsim) ``False`` starts afresh even if ``backup_dir``
            holds a checkpoint, which is replaced at the first save.
        settings: (convsim) values a continued run must share with the run
            that wrote the checkpoint, e.g. ``{"seed": 7}``; a different value
            is refused with an error naming it.
    """

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False,
                 delete_checkpoint=True, *, resume=True, settings=None):
        super().__init__()
        if not backup_dir:
            raise ArgumentError("Empty `backup_dir` argument passed")
        batches = (isinstance(save_freq, int) and not isinstance(save_freq, bool)
                   and save_freq > 0)
        if not (save_freq == "epoch" or save_freq is False or batches):
            raise ArgumentError("Invalid value for argument `save_freq`. Received: "
                                f"save_freq={save_freq!r}. Expected either 'epoch', "
                                "a positive integer or False.")
        self.backup_dir = Path(os.fspath(backup_dir))
        self.save_freq = save_freq
        self._every = save_freq if batches else None  # batches between saves
        self.double_checkpoint = bool(double_checkpoint)
        self.delete_checkpoint = bool(delete_checkpoint)
        self.resume = bool(resume)
        self.settings = _plain(settings or {}, "settings")
        self.path = checkpoint_path(self.backup_dir)
        self._previous = self.path.with_name(CHECKPOINT_NAME + ".bkp")
        self._loop = None
        self._since_save = 0
        self._saved_at = None  # (epoch, step) of the last checkpoint written

    # ------------------------------------------------------------ hooks
    def on_train_begin(self, logs=None):
        self._loop = getattr(self.model, "_fit_loop", None)
        if self._loop is None:
            raise NotReadyError("BackupAndRestore works inside `fit()` only.")
        self._prepare_folder()
        self._since_save, self._saved_at = 0, None
        if self.resume:
            checkpoint = self.latest()
            if checkpoint is not None:
                if not self.model.built:
                    raise NotReadyError(
                        "To use the BackupAndRestore callback, your model must be "
                        "built before you call `fit()` (give its first layer an "
                        "`input_shape`, or call `model.build(input_shape)`).")
                self._check_settings(checkpoint)
                self._loop.resume_from = checkpoint
                if checkpoint.path == self.path:
                    progress = checkpoint.progress
                    self._saved_at = (progress["epoch"], progress["step"])

    def on_train_batch_end(self, batch, logs=None):
        if self._every is not None:
            self._since_save += 1
            if self._since_save >= self._every:
                self._since_save = 0
                self._save_quietly()

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save_quietly()

    def on_train_end(self, logs=None):
        if self.delete_checkpoint:
            for path in (self.path, self._previous):
                path.unlink(missing_ok=True)
            try:
                self.backup_dir.rmdir()  # only if nothing else is in it
            except OSError:
                pass
        self._loop = None

    # ------------------------------------------------------------ saving
    def save_now(self) -> Path:
        """Write the checkpoint of the run as it is now (between batches) and
        return its path. Nothing is written if the latest checkpoint is
        already of this point."""
        loop = self._loop
        if loop is None:
            raise NotReadyError("BackupAndRestore.save_now() works during `fit()` "
                                "only.")
        position = (loop.epoch, loop.step)
        if position == self._saved_at and self.path.is_file():
            return self.path
        checkpoint = loop.capture(self.settings)
        if self.double_checkpoint and self._saved_at is not None \
                and self.path.is_file():  # a checkpoint known to be good
            os.replace(self.path, self._previous)
        write_checkpoint(self.path, checkpoint)
        self._saved_at = position
        return self.path

    def _save_quietly(self) -> None:
        """A regular save: a failure (a full disk) is reported, and training
        goes on; the next save tries again."""
        try:
            self.save_now()
        except (OSError, FileError) as err:
            (self.console or Console()).print(
                f"Could not back up the training run to {str(self.path)!r}: {err}",
                markup=False, highlight=False)

    # ------------------------------------------------------------ restoring
    def latest(self) -> Checkpoint | None:
        """The checkpoint in ``backup_dir`` (the previous one if the latest
        cannot be read and ``double_checkpoint``), or None if there is none."""
        if not self.path.exists():
            if self.double_checkpoint and self._previous.is_file():
                return read_checkpoint(self._previous)
            return None
        try:
            return read_checkpoint(self.path)
        except FileError:
            if not (self.double_checkpoint and self._previous.is_file()):
                raise
            return read_checkpoint(self._previous)

    def _check_settings(self, checkpoint: Checkpoint) -> None:
        for key, value in self.settings.items():
            if key in checkpoint.settings and checkpoint.settings[key] != value:
                raise ArgumentError(
                    f"The checkpoint {str(checkpoint.path)!r} was written by a run "
                    f"with {key}={checkpoint.settings[key]!r}; this one has "
                    f"{key}={value!r}. Continue it with the same settings, or use "
                    "another backup_dir to start afresh.")

    def _prepare_folder(self) -> None:
        """Create ``backup_dir`` now and check it can be written, so a bad
        folder is found before training, not at the end of the first epoch."""
        if self.backup_dir.exists() and not self.backup_dir.is_dir():
            raise FileError(f"Cannot back up to {str(self.backup_dir)!r}: it is a "
                            "file; `backup_dir` must be a folder.")
        if not self.backup_dir.is_dir():
            check_can_write(self.backup_dir, "checkpoint folder")
            self.backup_dir.mkdir(exist_ok=True)
        check_can_write(self.path, "checkpoint")


def _plain(settings: dict, name: str) -> dict:
    """``settings`` as JSON will give it back (tuples become lists), so that
    values read from a checkpoint compare equal."""
    try:
        return json.loads(json.dumps(settings))
    except (TypeError, ValueError) as err:
        raise ArgumentError(f"`{name}` must hold only JSON values (numbers, "
                            f"strings, lists, dicts). Received: {err}") from None
