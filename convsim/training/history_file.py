"""The per-epoch history of a training run, as a JSON file.

``python -m convsim train cats-vs-dogs`` rewrites ``NAME.history.json`` after
every epoch, so a run that is stopped (Ctrl+C) or crashes still leaves its
curve behind, ``--resume`` can continue it, and ``python -m convsim.lesson
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
from convsim.files import atomic_write
from convsim.training.callbacks import Callback

__all__ = ["HISTORY_FORMAT", "HistoryRecorder", "load_history"]

HISTORY_FORMAT = "convsim-history"


class HistoryRecorder(Callback):
    """Keeps every epoch's logs and its duration, and rewrites ``path`` (JSON)
    after each epoch, so a long run that crashes or is stopped still leaves
    its curve behind (and a lesson can read a run that is still going)."""

    def __init__(self, path: Path | None, info: dict):
        super().__init__()
        self.path = path
        self.info = dict(info)
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.seconds: list[float] = []
        self._started = 0.0

    def restore(self, document: dict) -> None:
        """Continue the history of an earlier run (``load_history`` output)."""
        for key, values in document["history"].items():
            self.history[key] = [float(v) for v in values]
        self.epoch = list(range(len(document["history"]["loss"])))
        self.seconds = [float(s) for s in document.get("seconds_per_epoch", [])]

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._started)
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
        OSError: the file cannot be read.
        ValueError: it is not a history (no per-epoch ``loss`` list).
    """
    with open(path, encoding="utf-8") as f:
        try:
            document = json.load(f)
        except json.JSONDecodeError as err:
            raise ArgumentError(f"{os.fspath(path)!r} is not JSON: {err}") from None
    if isinstance(document, dict) and "history" not in document:
        document = {"history": document}
    logs = document.get("history") if isinstance(document, dict) else None
    if (not isinstance(logs, dict) or not isinstance(logs.get("loss"), list)
            or not logs["loss"]):
        raise ArgumentError(f"{os.fspath(path)!r} is not a training history: it needs "
                            "a 'loss' list with one value per epoch (what "
                            "`python -m convsim train cats-vs-dogs` writes, or "
                            "json.dump(history.history, f)).")
    return document
