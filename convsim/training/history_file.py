"""The per-epoch history of a training run, as a JSON file.

``python -m convsim train mnist`` and ``train cats-vs-dogs`` rewrite
``NAME.history.json`` after every epoch, so a run that is stopped (Ctrl+C) or
crashes still leaves its curve behind, and ``python -m convsim.lesson
overfitting --history FILE`` can read it, even while the run is going. The
file holds the run's settings next to Keras's ``history.history``::

    {"format": "convsim-history", "experiment": "cats-vs-dogs", "augment": true,
     "epochs_done": 2, "seconds_per_epoch": [106.1, 104.8],
     "history": {"loss": [...], "acc": [...], "val_loss": [...], ...}}

:func:`load_history` also reads a plain ``json.dump(history.history, f)``.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from convsim.errors import ArgumentError
from convsim.files import atomic_write, read_bytes
from convsim.training.callbacks import Callback

__all__ = ["HISTORY_FORMAT", "MAX_HISTORY_BYTES", "HistoryRecorder", "load_history"]

HISTORY_FORMAT = "convsim-history"
#: A history holds a few numbers per epoch: 64 MB is thousands of years of it.
MAX_HISTORY_BYTES = 64 * 2**20


class HistoryRecorder(Callback):
    """Keeps every epoch's logs and its duration, and rewrites ``path`` (JSON)
    after each epoch, so a long run that crashes or is stopped still leaves
    its curve behind (and a lesson can read a run that is still going).

    With ``BackupAndRestore`` its records are part of the checkpoint, so a
    resumed run's file holds the whole run, the epoch times included."""

    def __init__(self, path: Path | None, info: dict):
        super().__init__()
        self.path = path
        self.info = dict(info)
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.seconds: list[float] = []
        self._started = None  # perf_counter() when the current epoch began
        self._carried = 0.0  # seconds of the current epoch before a resume

    def _checkpoint_state(self) -> dict:
        """What a checkpoint keeps (BackupAndRestore)."""
        running = (0.0 if self._started is None
                   else time.perf_counter() - self._started)
        return {"history": self.history, "epoch": self.epoch,
                "seconds": self.seconds, "current_epoch_seconds": running}

    def _restore_checkpoint_state(self, state: dict) -> None:
        self.history = {k: [float(v) for v in values]
                        for k, values in state["history"].items()}
        self.epoch = [int(e) for e in state["epoch"]]
        self.seconds = [float(s) for s in state["seconds"]]
        self._carried = float(state.get("current_epoch_seconds", 0.0))

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter() - self._carried
        self._carried = 0.0

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._started)
        self._started = None
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(float(value))
        if self.path is not None:
            try:
                self.write()
            except OSError:  # the final save reports it; training goes on
                pass

    def write(self) -> None:
        """Write the JSON file atomically (temporary file, then rename)."""
        document = {"format": HISTORY_FORMAT, **self.info,
                    "epochs_done": len(self.epoch),
                    "seconds_per_epoch": [round(s, 2) for s in self.seconds],
                    "history": self.history}
        text = json.dumps(document, indent=1) + "\n"
        atomic_write(self.path, lambda f: f.write(text.encode("utf-8")))


def load_history(path) -> dict:
    """Read a history JSON file: ours (with ``"history"`` and run details) or
    Keras's own ``json.dump(history.history, f)``.

    Returns:
        ``{"history": {"acc": [...], "val_acc": [...], ...}, ...details}``.

    Raises:
        OSError: the file cannot be read (missing, not a regular file, larger
            than :data:`MAX_HISTORY_BYTES`).
        ValueError: it is not a history (no per-epoch ``loss`` list of numbers).
    """
    data = read_bytes(path, MAX_HISTORY_BYTES, "history file")
    try:
        document = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as err:  # bad JSON, UTF-8, or nesting
        raise ArgumentError(f"{os.fspath(path)!r} is not JSON: "
                            f"{type(err).__name__}: {err}") from None
    if isinstance(document, dict) and "history" not in document:
        document = {"history": document}
    logs = document.get("history") if isinstance(document, dict) else None
    if (not isinstance(logs, dict) or not isinstance(logs.get("loss"), list)
            or not logs["loss"] or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                for v in logs["loss"])):
        raise ArgumentError(f"{os.fspath(path)!r} is not a training history: it needs "
                            "a 'loss' list with one number per epoch (what "
                            "`python -m convsim train` writes, or "
                            "json.dump(history.history, f)).")
    return document
