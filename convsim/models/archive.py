"""The convsim model file: a safe, open format (``model.save(path)``).

A convsim model file is a ZIP archive (whatever its extension) holding:

* ``config.json``: the architecture (every layer's ``get_config``) and the
  ``compile`` settings (optimizer with its learning rate, loss, metric names);
* ``model.weights.npz``: the weights, in ``model.weights`` order;
* ``optimizer.npz``: the optimizer's step count and per-weight state (e.g.
  RMSprop's running mean of squared gradients), so training resumes exactly;
* ``metadata.json``: format version and the random generators' states (shuffling,
  Dropout), again so that continued training is identical;
* ``README.txt``: one line saying what the file is.

This module writes and reads the file; :mod:`convsim.models.saving` turns what
it reads back into a model (``models.load_model``). Nothing is pickled: arrays
are read with ``np.load(..., allow_pickle=False)``, so opening a model file
cannot run code. Files are written to a temporary file
first and then renamed, so a crash never leaves half a model behind.

``.h5`` paths (the book's ``model.save('dog_and_cat.h5')``) are accepted and
written in this format, not HDF5; the archive's README.txt says so. A real
HDF5 file from Keras cannot be read (convsim does not depend on h5py) and
gives a clear :class:`ModelFileError`.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from convsim import __version__, losses, optimizers
from convsim.errors import (
    AlreadyExistsError,
    IsAFolderError,
    MissingFileError,
    ModelFileError,
)
from convsim.files import atomic_write

__all__ = ["ModelFile", "ModelFileError", "load_weights", "read_model_file",
           "restore", "save_model", "save_weights"]

FORMAT = "convsim-model"
FORMAT_VERSION = 1
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_NOTE = ("This is a convsim model file: a ZIP archive of JSON (architecture, "
         "compile settings) and NumPy .npz arrays (weights, optimizer state), "
         "whatever its file extension (.h5 included); it is not HDF5.\n")


@dataclass(frozen=True)
class ModelFile:
    """What :func:`read_model_file` found in a model file."""

    path: Path
    class_name: str  # "Sequential" or "Functional"
    config: dict  # the model's get_config()
    compile_config: dict | None
    weights: list  # arrays, in model.weights order
    optimizer_state: dict | None
    rng_states: dict


# ---------------------------------------------------------------- save
def save_model(model, filepath, overwrite=True) -> None:
    path = _target(filepath, overwrite)
    config = {
        "format": FORMAT, "format_version": FORMAT_VERSION,
        "convsim_version": __version__,
        "class_name": "Sequential" if type(model).__name__ == "Sequential"
        else "Functional",
        "config": model.get_config(),
        "compile_config": _compile_config(model),
    }
    metadata = {"format": FORMAT, "format_version": FORMAT_VERSION,
                "rng_states": _rng_states(model)}
    weights = {f"w{i:04d}": w.value for i, w in enumerate(model.weights)}
    config["weight_paths"] = [w.path for w in model.weights]
    members = {
        "README.txt": _NOTE.encode(),
        "config.json": json.dumps(config, indent=1).encode(),
        "metadata.json": json.dumps(metadata).encode(),
        "model.weights.npz": _npz_bytes(weights),
    }
    opt = model.optimizer
    if opt is not None and opt.built:
        members["optimizer.npz"] = _npz_bytes(opt.get_state())
    atomic_write(path, lambda f: _write_zip(f, members))


def _compile_config(model):
    if not model.compiled:
        return None
    spec = model._compile_spec
    return {
        "optimizer": optimizers.serialize(model.optimizer),
        "loss": None if model.loss is None else losses.serialize(model.loss),
        "metrics": [m if isinstance(m, str) else getattr(m, "__name__", str(m))
                    for m in spec["metrics"]],
    }


def _rng_states(model):
    states = {"layers": {}}
    if model._shuffle_rng is not None:
        states["shuffle"] = model._shuffle_rng.bit_generator.state
    for layer in model.layers:
        rng = getattr(layer, "rng", None)
        if isinstance(rng, np.random.Generator):
            states["layers"][layer.name] = rng.bit_generator.state
    return states


def _npz_bytes(arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _write_zip(f, members):
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _target(filepath, overwrite) -> Path:
    path = Path(os.fspath(filepath))
    if path.is_dir():
        raise IsAFolderError(f"Cannot save to {str(path)!r}: it is a directory. "
                                "Give a file name such as 'model.convsim'.")
    if not overwrite and path.exists():
        raise AlreadyExistsError(f"{str(path)!r} already exists (overwrite=False).")
    if not path.parent.exists():
        raise MissingFileError(f"Cannot save to {str(path)!r}: the folder "
                               f"{str(path.parent)!r} does not exist.")
    return path


# ---------------------------------------------------------------- load
def read_model_file(filepath) -> ModelFile:
    """Everything a convsim model file holds, checked and read into memory.

    Raises:
        FileNotFoundError: no such file.
        ModelFileError (an OSError): not a convsim model file, or damaged.
    """
    path = Path(os.fspath(filepath))
    if not path.is_file():
        raise MissingFileError(f"No model file found at {str(path)!r}.")
    try:
        with zipfile.ZipFile(_check_magic(path)) as archive:
            return _read_members(archive, path)
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, EOFError,
            json.JSONDecodeError) as err:
        raise damaged(path, err) from err


def damaged(path, err) -> ModelFileError:
    """The error for a file whose contents do not make a model."""
    return ModelFileError(f"{str(path)!r} is damaged or is not a convsim model "
                          f"file ({type(err).__name__}: {err}).")


def _read_members(archive, path) -> ModelFile:
    names = set(archive.namelist())
    if "config.json" not in names or "model.weights.npz" not in names:
        raise ModelFileError(f"{str(path)!r} is a ZIP archive but not a convsim "
                             "model file (config.json or model.weights.npz missing).")
    config = _read_json(archive, "config.json")
    if config.get("format") != FORMAT:
        raise ModelFileError(f"{str(path)!r} is not a convsim model file (a Keras "
                             ".keras archive, perhaps?).")
    if config.get("format_version", 0) > FORMAT_VERSION:
        raise ModelFileError(f"{str(path)!r} was written by a newer convsim "
                             f"({config.get('convsim_version')}); upgrade convsim.")
    weights = _npz(archive, "model.weights.npz")
    metadata = (_read_json(archive, "metadata.json") if "metadata.json" in names
                else {})
    return ModelFile(
        path=path, class_name=config["class_name"], config=config["config"],
        compile_config=config.get("compile_config"),
        weights=[weights[f"w{i:04d}"] for i in range(len(weights))],
        optimizer_state=(_npz(archive, "optimizer.npz")
                         if "optimizer.npz" in names else None),
        rng_states=metadata.get("rng_states", {}))


def restore(model, contents: ModelFile, custom_objects, compile) -> None:
    """Put the file's weights, compile settings, optimizer state and random
    generators' states into ``model`` (built from ``contents.config``)."""
    _assign(model.weights, contents.weights, contents.path)
    compile_config = contents.compile_config
    if compile and compile_config:
        metric_ids = [(custom_objects or {}).get(m, m)
                      for m in compile_config["metrics"]]
        model.compile(optimizer=optimizers.get(compile_config["optimizer"]),
                      loss=None if compile_config["loss"] is None
                      else losses.get(compile_config["loss"]),
                      metrics=metric_ids)
        if contents.optimizer_state is not None:
            model.optimizer.set_state(contents.optimizer_state,
                                      model.trainable_weights)
    _restore_rngs(model, contents.rng_states)




def _check_magic(path: Path) -> Path:
    with open(path, "rb") as f:
        head = f.read(8)
    if head == _HDF5_MAGIC:
        raise ModelFileError(
            f"{str(path)!r} is an HDF5 file (probably saved by Keras). convsim "
            "cannot read HDF5 models; re-create the model with convsim and save it "
            "with model.save(path)."
        )
    if not zipfile.is_zipfile(path):
        raise ModelFileError(f"{str(path)!r} is not a convsim model file (it should "
                             "be a ZIP archive written by model.save()).")
    return path


def _read_json(archive, name):
    return json.loads(archive.read(name).decode("utf-8"))




def _npz(archive, name) -> dict:
    with np.load(io.BytesIO(archive.read(name)), allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def _assign(variables, arrays, path):
    if len(arrays) != len(variables):
        raise ModelFileError(f"{str(path)!r} holds {len(arrays)} weight arrays but "
                             f"its architecture needs {len(variables)}.")
    for var, arr in zip(variables, arrays, strict=False):
        if tuple(arr.shape) != tuple(var.shape):
            raise ModelFileError(f"Weight {var.path!r} in {str(path)!r} has shape "
                                 f"{arr.shape}, expected {var.shape}.")
        var.assign(arr)


def _restore_rngs(model, states):
    if "shuffle" in states:
        rng = np.random.default_rng()
        rng.bit_generator.state = states["shuffle"]
        model._shuffle_rng = rng
    for layer in model.layers:
        state = states.get("layers", {}).get(layer.name)
        if state is not None and isinstance(getattr(layer, "rng", None),
                                            np.random.Generator):
            layer.rng.bit_generator.state = state


# ---------------------------------------------------------------- weights only
def save_weights(model, filepath, overwrite=True) -> None:
    """Only the weights, as one ``.npz`` archive (any file name)."""
    path = _target(filepath, overwrite)
    arrays = {f"w{i:04d}": w.value for i, w in enumerate(model.weights)}
    atomic_write(path, lambda f: f.write(_npz_bytes(arrays)))


def load_weights(model, filepath) -> None:
    path = Path(os.fspath(filepath))
    if not path.is_file():
        raise MissingFileError(f"No weights file found at {str(path)!r}.")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = [data[f"w{i:04d}"] for i in range(len(data.files))]
    except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as err:
        raise ModelFileError(f"{str(path)!r} is not a convsim weights file "
                             f"({type(err).__name__}: {err}).") from err
    _assign(model.weights, arrays, path)
