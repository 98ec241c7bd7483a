"""What every ``train`` command does around ``fit``: never lose a run.

* Before anything long: every file the run will write (``--save``,
  ``--plot``, ``--history``, the checkpoint in ``--backup-dir``) is checked,
  so a missing or read-only folder is refused at once, not after hours.
* During training a :class:`~convsim.training.backup.BackupAndRestore`
  callback writes one checkpoint (weights, optimizer, epoch and batch,
  history, random generators, data positions) at the end of every epoch and
  when Ctrl+C stops the run.
* Ctrl+C: the current batch finishes (a Numba kernel is never interrupted),
  the checkpoint is saved, one line says where training stopped and which
  file is intact, the outputs are written and the command exits with 130. A
  second Ctrl+C exits at once; the last checkpoint written stays intact.
* ``--resume`` continues from the checkpoint: with the same options the
  continued run ends bit-identical to one never stopped. Without
  ``--resume``, the checkpoint of a stopped run is never overwritten.
"""

from __future__ import annotations

import argparse
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from rich.console import Console
from rich.text import Text

from convsim.errors import ConvsimError, message
from convsim.experiments.words import line, progress_words
from convsim.files import check_can_write
from convsim.models.keras import check_can_write_keras
from convsim.training import interrupts
from convsim.training.backup import BackupAndRestore, checkpoint_path
from convsim.training.checkpoint import read_summary
from convsim.training.interrupts import TrainingInterrupted

__all__ = ["RunFiles", "add_run_options", "check_outputs", "ctrl_c_stops_cleanly",
           "prepare_backup", "run_files", "train_until_done"]

CTRL_C_HELP = ("Ctrl+C stops after the current batch and saves a checkpoint; the "
               "same command with --resume continues exactly")


class RunFiles(NamedTuple):
    """Where a run writes (None: not written)."""

    model: Path | None
    plot: Path | None
    history: Path | None
    backup_dir: Path


def add_run_options(parser: argparse.ArgumentParser, groups) -> None:
    """Add ``--resume``, ``--history`` and ``--backup-dir``."""
    groups.training.add_argument(
        "--resume", action="store_true",
        help="continue the run stopped by Ctrl+C (or a crash) from its checkpoint "
             "in --backup-dir, up to --epochs in total; with the same options and "
             "--seed it ends exactly as if it had never stopped")
    groups.outputs.add_argument(
        "--history", metavar="JSON",
        help="the per-epoch history, rewritten after every epoch (default: next "
             "to the model, else next to the figure: NAME.history.json)")
    groups.outputs.add_argument(
        "--backup-dir", metavar="DIR",
        help="folder for the checkpoint written after every epoch and on Ctrl+C "
             "(default: next to the model, NAME.backup, else EXPERIMENT.backup)")


def run_files(args, default_plot: str, experiment: str) -> RunFiles:
    """The run's files from the options, with the defaults filled in."""
    model = Path(args.save) if args.save else None
    plot = None if args.no_plot else Path(args.plot or default_plot)
    if args.history:
        history = Path(args.history)
    elif model is not None or plot is not None:
        history = (model or plot).with_suffix(".history.json")
    else:
        history = None
    backup = (Path(args.backup_dir) if args.backup_dir
              else model.with_suffix(".backup") if model is not None
              else Path(f"{experiment}.backup"))
    return RunFiles(model, plot, history, backup)


def check_outputs(files: RunFiles, console: Console, lang: str = "en") -> bool:
    """Whether every file of the run can be written (else say why, in ``lang``)."""
    try:
        if files.model is not None:
            check_can_write_keras(files.model)
        for path, what in ((files.model, "model"), (files.plot, "figure"),
                           (files.history, "history")):
            if path is not None:
                check_can_write(path, what)
        if files.backup_dir.is_dir():
            check_can_write(checkpoint_path(files.backup_dir), "checkpoint")
        else:
            check_can_write(files.backup_dir, "checkpoint folder")
    except (OSError, ConvsimError) as err:  # ConvsimError: h5py missing
        console.print(line(lang, "cannot_write", err=message(err, lang)),
                      highlight=False)
        return False
    return True


def prepare_backup(args, files: RunFiles, settings: dict, epochs: int,
                   console: Console, lang: str = "en") -> BackupAndRestore | None:
    """The run's BackupAndRestore, after looking at the checkpoint already in
    ``--backup-dir``: with --resume it must fit this run's ``settings`` and
    leave epochs to do; without, a stopped run's checkpoint is not replaced.
    None (after saying why, in ``lang``) when the run cannot start."""
    path = checkpoint_path(files.backup_dir)
    summary = _summary(path, args.resume, console, lang)
    if summary is False:
        return None
    backup = BackupAndRestore(files.backup_dir, delete_checkpoint=False,
                              resume=bool(args.resume and summary),
                              settings=settings)
    def say(key: str, **values) -> None:
        console.print(line(lang, key, **values), highlight=False)

    if summary is None:
        if args.resume:
            say("no_checkpoint_yet", folder=files.backup_dir)
        return backup
    progress = summary["progress"]
    where = progress_words(progress, lang)
    done = progress["epoch"] if progress["step"] == 0 else None
    finished = done is not None and done >= progress.get("epochs", 0)
    if not args.resume:
        if not finished:
            say("stopped_run", path=path, progress=where)
            return None
        say("afresh", folder=files.backup_dir)
        return backup
    for key, value in backup.settings.items():
        before = summary.get("settings", {}).get(key)
        if key in summary.get("settings", {}) and before != value:
            say("resume_mismatch", then=f"{key}={before!r}", now=f"{key}={value!r}")
            return None
    at = progress["epoch"] + (progress["step"] > 0)  # epochs begun
    if at > epochs:
        say("resume_past", progress=where, epochs=epochs, at=at)
        return None
    if done == epochs:
        say("finished", path=path, done=done)
        return backup
    say("resuming", path=path, progress=where)
    return backup


def _summary(path: Path, resume: bool, console: Console, lang: str = "en"):
    """The checkpoint's summary; None if there is none; False (after saying
    why) if it cannot be read and --resume needs it."""
    if not path.exists():
        return None
    try:
        return read_summary(path)
    except ConvsimError as err:
        if resume:
            console.print(line(lang, "cannot_resume", err=message(err, lang)),
                          highlight=False)
            return False
        console.print(line(lang, "unreadable", path=path, err=message(err, lang)),
                      highlight=False)
        return None


@contextmanager
def ctrl_c_stops_cleanly(backup: BackupAndRestore, lang: str = "en"):
    """Within the block, Ctrl+C stops training between batches; a second
    Ctrl+C exits at once (status 130), saying which checkpoint is intact.

    Yields a function telling whether Ctrl+C was pressed in the block (also
    after training, while the outputs were being written)."""

    def last_words() -> str:
        words = (line(lang, "intact", path=backup.path) if backup.path.is_file()
                 else line(lang, "none_written"))
        return Text.from_markup(words).plain  # printed as it is

    with interrupts.deferred(second="exit", last_words=last_words):
        yield interrupts.requested


def train_until_done(fit, console: Console, lang: str = "en") -> bool:
    """Call ``fit()``; True if Ctrl+C stopped it (the line saying where and
    which checkpoint is intact is printed, in ``lang``)."""
    try:
        fit()
    except TrainingInterrupted as stop:
        console.print()
        if stop.checkpoint:
            saved = line(lang, "intact_exactly", path=stop.checkpoint)
        else:
            saved = line(lang, "nothing_saved")
        where = stop.where if lang == "en" else _where_stopped(stop, lang)
        console.print(f"{line(lang, 'stopped', where=where)} {saved}",
                      highlight=False)
        return True
    return False


def _where_stopped(stop: TrainingInterrupted, lang: str) -> str:
    """Where training stopped, in ``lang``, read from the checkpoint it
    saved (the interruption's own words are English)."""
    try:
        return progress_words(read_summary(stop.checkpoint)["progress"], lang)
    except (ConvsimError, OSError, KeyError, TypeError):
        return stop.where
