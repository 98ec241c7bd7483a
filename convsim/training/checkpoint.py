"""The training checkpoint: one file that holds everything to continue a run.

``BackupAndRestore`` writes it at the end of every epoch (or every N batches)
and when Ctrl+C stops training; ``fit`` with the same callback reads it and
carries on as if nothing had happened: with the same data, the continued run
ends bit-identical to one that was never stopped.

The file is a ZIP archive (stored, not compressed; never pickle) of:

* ``checkpoint.json``: the format and version; where the run is (``epoch``
  in progress, ``step``: batches of it done, ``steps`` per epoch, ``epochs``
  planned; for arrays the number of ``samples`` and the ``batch_size``); the
  epoch's running sums of the loss and metrics; the history so far; the
  random generators' states (the shuffle generator's at the start of the
  epoch, every layer's, e.g. Dropout's, now); how many batches were taken
  from iterator data (``skip`` moves a resumed iterator on past them); the
  state of other callbacks (EarlyStopping's and ModelCheckpoint's best metric,
  the history file's epoch times); the run's ``settings`` (e.g. the seed);
  the weights' names, shapes and dtypes;
* ``weights.npz``: the model's weights, in ``model.weights`` order;
* ``optimizer.npz``: the optimizer's step count and slots (absent before
  the first step);
* ``callbacks.npz``: arrays inside callback states (e.g. EarlyStopping's
  best weights), when there are any.

It is written with :func:`convsim.files.atomic_write` (temporary file, then
rename), so a crash, Ctrl+C or ``kill -9`` leaves the previous checkpoint or
the new one, never half of one.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from convsim import __version__
from convsim.errors import ModelFileError
from convsim.files import atomic_write, regular_file
from convsim.files.bounded_json import parse_json
from convsim.files.bounded_zip import BoundedZip
from convsim.files.npy_arrays import read_npz

__all__ = ["FORMAT", "Checkpoint", "read_checkpoint", "read_summary",
           "write_checkpoint"]

FORMAT = "convsim-checkpoint"
FORMAT_VERSION = 1
#: The JSON part holds the history (a few numbers an epoch), random generators'
#: states and positions: well under 100 KB for a 100-epoch run. 8 MiB leaves
#: room for thousands of epochs while parsing stays far below 100 MB.
MAX_JSON_BYTES = 8 * 2**20
_ARRAYS = ("weights.npz", "optimizer.npz", "callbacks.npz")
_NOTE = (b"This is a convsim training checkpoint (BackupAndRestore): a ZIP of "
         b"JSON and NumPy .npz arrays. fit() with the same BackupAndRestore, or "
         b"`python -m convsim train ... --resume`, continues the run.\n")


@dataclass
class Checkpoint:
    """Where a run is and everything needed to go on from there."""

    progress: dict  # epoch, step, steps, epochs (+ samples, batch_size)
    weights: list  # arrays, in model.weights order
    optimizer: dict | None = None  # the optimizer's get_state(), if it stepped
    sums: dict = field(default_factory=dict)  # the epoch's running sums
    count: int = 0  # samples in those sums
    history: dict = field(default_factory=dict)  # History.history
    epochs_done: list = field(default_factory=list)  # History.epoch
    rng: dict = field(default_factory=dict)  # {"shuffle": ..., "layers": {...}}
    data: dict = field(default_factory=dict)  # batches taken from iterators
    callbacks: dict = field(default_factory=dict)  # other callbacks' states
    settings: dict = field(default_factory=dict)  # what a resumed run must share
    weight_names: list = field(default_factory=list)
    path: Path | None = None

    def where(self) -> str:
        """E.g. ``"epoch 2/5, batch 41/100"`` or ``"the end of epoch 3/5"``."""
        return describe_progress(self.progress)


def describe_progress(progress: dict) -> str:
    """Words for a checkpoint's ``progress``."""
    epoch, step = progress["epoch"], progress["step"]
    epochs, steps = progress.get("epochs", "?"), progress.get("steps") or "?"
    if step == 0:
        return (f"the end of epoch {epoch}/{epochs}" if epoch
                else "the start of training")
    return f"epoch {epoch + 1}/{epochs}, batch {step}/{steps}"


# ---------------------------------------------------------------- writing
def write_checkpoint(path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically."""
    arrays: dict[str, np.ndarray] = {}
    document = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "convsim_version": __version__, "progress": checkpoint.progress,
        "sums": checkpoint.sums, "count": checkpoint.count,
        "history": checkpoint.history, "epochs_done": checkpoint.epochs_done,
        "rng": checkpoint.rng, "data": checkpoint.data,
        "callbacks": _encode(checkpoint.callbacks, arrays),
        "settings": checkpoint.settings,
        "weights": [{"name": name, "shape": list(w.shape), "dtype": str(w.dtype)}
                    for name, w in zip(checkpoint.weight_names, checkpoint.weights,
                                       strict=True)],
    }
    members = {"README.txt": _NOTE,
               "checkpoint.json": json.dumps(document).encode("utf-8"),
               "weights.npz": _npz({f"w{i:04d}": w
                                    for i, w in enumerate(checkpoint.weights)})}
    if checkpoint.optimizer is not None:
        members["optimizer.npz"] = _npz(checkpoint.optimizer)
    if arrays:
        members["callbacks.npz"] = _npz(arrays)
    atomic_write(path, lambda f: _write_zip(f, members))


def _encode(value, arrays: dict):
    """JSON-ready ``value``: arrays are moved to ``arrays`` and referred to."""
    if isinstance(value, np.ndarray):
        key = f"a{len(arrays):04d}"
        arrays[key] = value
        return {"__array__": key}
    if isinstance(value, dict):
        return {str(k): _encode(v, arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_encode(v, arrays) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _npz(arrays: dict) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _write_zip(handle, members: dict) -> None:
    with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


# ---------------------------------------------------------------- reading
def read_summary(path) -> dict:
    """Only ``checkpoint.json`` (progress, settings, history): quick, to say
    what a checkpoint holds before training starts.

    Raises:
        MissingFileError: no file there.
        ModelFileError: not a convsim checkpoint, or damaged.
    """
    with _open(path) as (archive, file):
        return _document(archive, file)


def read_checkpoint(path) -> Checkpoint:
    """The whole checkpoint at ``path``, checked.

    Raises:
        MissingFileError: no file there.
        ModelFileError: not a convsim checkpoint, or damaged.
    """
    with _open(path) as (archive, file):
        document = _document(archive, file)
        try:
            _check_fields(document, file)
            arrays = {name: read_npz(archive.nested(name)) for name in _ARRAYS
                      if name in archive}
            weights = [arrays["weights.npz"][f"w{i:04d}"]
                       for i in range(len(arrays["weights.npz"]))]
            _check_arrays(weights, arrays.get("optimizer.npz", {}), file)
            return Checkpoint(
                progress=document["progress"], weights=weights,
                optimizer=arrays.get("optimizer.npz"), sums=document["sums"],
                count=int(document["count"]), history=document["history"],
                epochs_done=list(document["epochs_done"]), rng=document["rng"],
                data=document["data"],
                callbacks=_decode(document["callbacks"],
                                  arrays.get("callbacks.npz", {})),
                settings=document["settings"],
                weight_names=[w["name"] for w in document["weights"]], path=file)
        except (KeyError, TypeError, ValueError, AttributeError, EOFError,
                zipfile.BadZipFile, RecursionError) as err:
            raise _damaged(file, err) from None


@contextmanager
def _open(path):
    """``with _open(path) as (archive, path)``: the checkpoint's ZIP archive,
    read within the limits every convsim file is read with
    (:mod:`convsim.files.bounded_zip`: member sizes checked before inflating,
    counted while reading)."""
    given = os.fspath(path)
    file = regular_file(given, "checkpoint")
    with BoundedZip.open(file, repr(given), not_zip=(
            f"{given!r} is not a convsim checkpoint (not a ZIP archive).")) as archive:
        yield archive, Path(given)


def _document(archive: BoundedZip, file: Path) -> dict:
    if "checkpoint.json" not in archive:
        raise ModelFileError(f"{str(file)!r} is not a convsim checkpoint (no "
                             "checkpoint.json inside).")
    document = parse_json(archive.read("checkpoint.json", MAX_JSON_BYTES),
                          f"{str(file)!r}: checkpoint.json", MAX_JSON_BYTES)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ModelFileError(f"{str(file)!r} is not a convsim checkpoint.")
    if document.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{str(file)!r} was written by a newer convsim "
                             f"({document.get('convsim_version')}); upgrade convsim.")
    progress = document.get("progress")
    if not (isinstance(progress, dict) and _count(progress.get("epoch"))
            and _count(progress.get("step"))):
        raise _damaged(file, "no valid progress")
    return document


def _check_fields(document: dict, file: Path) -> None:
    """Every field has the type a resumed fit relies on."""
    numbers = (int, float)
    sums, history = document["sums"], document["history"]
    if not (isinstance(sums, dict) and all(isinstance(v, numbers)
                                           for v in sums.values())
            and _count(document["count"])
            and isinstance(history, dict) and all(
                isinstance(v, list) and all(isinstance(x, numbers) for x in v)
                for v in history.values())
            and isinstance(document["epochs_done"], list)
            and all(_count(e) for e in document["epochs_done"])
            and all(isinstance(document[k], dict)
                    for k in ("rng", "data", "callbacks", "settings"))
            and all(_count(v) for v in document["data"].values())
            and isinstance(document["weights"], list)):
        raise _damaged(file, "a field has the wrong type")


def _check_arrays(weights: list, optimizer: dict, file: Path) -> None:
    """Weights are real floats, optimizer slots real numbers (a complex or
    text array would lose its meaning when assigned)."""
    if any(w.dtype.kind != "f" for w in weights) or any(
            a.dtype.kind not in "fiu" for a in optimizer.values()):
        raise _damaged(file, "an array is not of real numbers")


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _decode(value, arrays: dict):
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {k: _decode(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    return value


def _damaged(file, why) -> ModelFileError:
    """``why``: an exception, or words."""
    if isinstance(why, BaseException):
        why = f"{type(why).__name__}: {why}"
    return ModelFileError(f"{str(file)!r} is damaged or not a convsim checkpoint "
                          f"({why}).")
