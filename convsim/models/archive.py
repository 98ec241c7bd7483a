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
it reads back into a model (``models.load_model``). Files are written to a
temporary file first and then renamed, so a crash never leaves half a model.

Reading trusts nothing in the file (a model file is often downloaded):
the archive, its JSON and its arrays are read by :mod:`~convsim.files.bounded_zip`,
:mod:`~convsim.files.bounded_json` and :mod:`~convsim.files.npy_arrays` within the
limits of :mod:`convsim.files.limits` (a file under 10 MB costs at most 100 MB
of reading), every size checked before anything is inflated or allocated.
Nothing is unpickled, and nothing a file names is imported or run: class names
are looked up in convsim's closed registries. Any way a file can be wrong ends
in a :class:`~convsim.errors.ModelFileError` saying what is wrong.

This is what ``model.save`` writes for every name except ``.keras``, ``.h5``
and ``.hdf5``, which get real Keras files (:mod:`convsim.models.keras`, for
taking a model to Keras); only this format keeps the random generators'
state, so that a resumed ``fit`` continues exactly. ``load_model`` reads a
file by its content, not its name: a real Keras file (an HDF5 ``.h5``, or a
``.keras`` archive) is read by :mod:`convsim.models.keras`, and this format
loads from any name.
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
    ArgumentError,
    ConvsimError,
    FileError,
    ModelFileError,
    WrongTypeError,
)
from convsim.files import atomic_write, check_can_write, open_regular, regular_file
from convsim.files.bounded_json import expect, parse_json, short
from convsim.files.bounded_zip import BoundedZip
from convsim.files.limits import MAX_JSON_BYTES
from convsim.files.npy_arrays import read_npz

__all__ = ["FORMAT", "MODEL_CLASSES", "ModelFile", "ModelFileError", "assign_weights",
           "damaged", "load_weights", "path_argument", "read_model_file",
           "save_model", "save_weights", "target_path", "weight_list"]

FORMAT = "convsim-model"
FORMAT_VERSION = 1
#: The model classes a file may hold; no other name is ever looked up.
MODEL_CLASSES = ("Sequential", "Functional")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_NOTE = ("This is a convsim model file: a ZIP archive of JSON (architecture, "
         "compile settings) and NumPy .npz arrays (weights, optimizer state), "
         "whatever its file extension. Save to a .keras or .h5 name to get a file "
         "Keras can load.\n")
_FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class ModelFile:
    """What :func:`read_model_file` found in a model file, checked."""

    path: Path
    where: str  # the path as given, quoted, for messages
    class_name: str  # "Sequential" or "Functional"
    config: dict  # the model's get_config()
    compile_config: dict | None
    weights: list  # arrays, in model.weights order
    optimizer_state: dict | None
    rng_states: dict


# ---------------------------------------------------------------- save
def save_model(model, filepath, overwrite=True) -> None:
    """Write ``model`` to ``filepath``. The folder is checked, and the whole file
    made in memory, before anything is written."""
    path = target_path(filepath, overwrite, "model file")
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
    """The members into a ZIP archive: the text compressed, the ``.npz``
    arrays stored as they are. Trained float32 weights barely compress
    (deflate saved 8.6% of the cats-vs-dogs convnet's 13.8 MB of weights)
    and compressing them cost 1.5 s at every save of that model with its Adam
    state, a pause at the end of every epoch of ``train cats-vs-dogs``."""
    with zipfile.ZipFile(f, "w") as archive:
        for name, data in members.items():
            stored = name.endswith(".npz")
            archive.writestr(name, data, compress_type=zipfile.ZIP_STORED if stored
                             else zipfile.ZIP_DEFLATED)


def target_path(filepath, overwrite, what) -> Path:
    """Where to save (Keras files too), checked before any work: the folder
    exists and can be written, the path is not a folder, and it is new unless
    ``overwrite``."""
    path = check_can_write(path_argument(filepath, what), what)
    if not overwrite and path.exists():
        raise AlreadyExistsError(f"{str(path)!r} already exists (overwrite=False).")
    return path


def path_argument(filepath, what) -> str:
    if not isinstance(filepath, (str, os.PathLike)):
        raise WrongTypeError(f"The {what} path must be a string or a path. "
                             f"Received: {short(filepath)}")
    path = os.fspath(filepath)
    if not isinstance(path, str) or "\0" in path:
        raise ArgumentError(f"The {what} path must be a string without NUL "
                            f"characters (no file name holds one). Received: "
                            f"{short(path)}")
    return path


def _open_archive(given: str, what: str, not_zip: str | ModelFileError
                  ) -> BoundedZip:
    """The regular file ``given`` opened as a :class:`BoundedZip` (an HDF5
    file refused with its own message); the system's errors made convsim's."""
    where = repr(given)
    path = regular_file(given, what)
    file = None
    try:
        file = open_regular(path, where)
        if file.read(8) == _HDF5_MAGIC:
            raise ModelFileError(
                f"{where} is an HDF5 file (probably saved by Keras). convsim reads "
                "weights from its own files only; models.load_model(path) reads "
                "a whole Keras model, weights included.")
        return BoundedZip(file, os.fstat(file.fileno()).st_size, where,
                          not_zip=not_zip)
    except BaseException as err:
        if file is not None:
            file.close()
        if isinstance(err, OSError) and not isinstance(err, ConvsimError):
            raise FileError(f"Cannot read the {what} {where}: "  # no permission, EIO
                            f"{err.strerror or err}.") from None
        raise


# ---------------------------------------------------------------- load
def read_model_file(filepath) -> ModelFile:
    """Everything a convsim model file holds, checked and read into memory.

    Raises:
        MissingFileError: no such file (NotARegularFileError: a FIFO, a device).
        ModelFileError: not a convsim model file, damaged or hostile
            (ModelFileTooLargeError: it holds, or claims, too much).
    """
    given = path_argument(filepath, "model file")
    where = repr(given)
    not_zip = (f"{where} is not a convsim model file (it should be a ZIP archive "
               "written by model.save()).")
    not_zip_ko = (f"convsim 모델 파일이 아닙니다: {where} (model.save()가 쓴 ZIP "
                  "파일이어야 합니다).")
    if given.lower().endswith(".keras"):
        not_zip += (" Nor is it a whole Keras .keras file, which is a ZIP archive "
                    "too: it is damaged or cut short.")
        not_zip_ko += (" 케라스의 .keras 파일도 아닙니다(이것도 ZIP 파일입니다): "
                       "손상되었거나 중간에 잘린 파일입니다.")
    not_a_model = ModelFileError(not_zip, ko=not_zip_ko)
    with _open_archive(given, "model file", not_a_model) as archive:
        if "config.json" not in archive or "model.weights.npz" not in archive:
            raise ModelFileError(f"{where} is a ZIP archive but not a convsim model "
                                 "file (config.json or model.weights.npz missing).")
        document = _check_document(parse_json(
            archive.read("config.json", MAX_JSON_BYTES), f"{where}: config.json"),
            where)
        metadata = {}
        if "metadata.json" in archive:
            metadata = expect(parse_json(archive.read("metadata.json", MAX_JSON_BYTES),
                                         f"{where}: metadata.json"),
                              dict, where, "metadata.json")
        with archive.nested("model.weights.npz") as npz:
            weights = weight_list(read_npz(npz), f"{where}: model.weights.npz")
        state = None
        if "optimizer.npz" in archive:
            with archive.nested("optimizer.npz") as npz:
                state = read_npz(npz)
    return ModelFile(
        path=Path(given), where=where, class_name=document["class_name"],
        config=document["config"], compile_config=document.get("compile_config"),
        weights=weights, optimizer_state=state,
        rng_states=expect(metadata.get("rng_states", {}), dict, where,
                          "metadata.json's 'rng_states'"))


def damaged(where: str, err) -> ModelFileError:
    """The error for a file whose contents do not make a model."""
    return ModelFileError(f"{where} is damaged or is not a convsim model file "
                          f"({type(err).__name__}: {short(err, 300)}).")


def _check_document(document, where: str) -> dict:
    """``config.json`` checked for the fields and types of the format."""
    expect(document, dict, where, "config.json")
    if document.get("format") != FORMAT:
        raise ModelFileError(f"{where} is not a convsim model file (a Keras .keras "
                             "archive, perhaps?).")
    version = expect(document.get("format_version"), int, where,
                     "config.json's 'format_version'")
    if version > FORMAT_VERSION:
        raise ModelFileError(f"{where} was written by a newer convsim "
                             f"({short(document.get('convsim_version'))}); upgrade "
                             "convsim.")
    name = expect(document.get("class_name"), str, where, "config.json's 'class_name'")
    if name not in MODEL_CLASSES:
        raise ModelFileError(
            f"{where} holds a model of class {short(name)}; convsim re-creates "
            f"{' and '.join(map(repr, MODEL_CLASSES))} models only (no name in a "
            "model file is ever imported or run).")
    expect(document.get("config"), dict, where, "config.json's 'config'")
    compile_config = expect(document.get("compile_config"), (dict, type(None)),
                            where, "config.json's 'compile_config'")
    if compile_config is not None:
        metrics = expect(compile_config.get("metrics", []), list, where,
                         "the compile settings' 'metrics'")
        for metric in metrics:
            expect(metric, str, where, "a metric in the compile settings")
    return document


def weight_list(arrays: dict, where: str) -> list:
    """The arrays ``w0000``, ``w0001``, ... in order; any other name, or a
    gap, means the file is damaged."""
    names = [f"w{i:04d}" for i in range(len(arrays))]
    if set(names) != set(arrays):
        raise ModelFileError(f"{where} is damaged: its arrays should be named "
                             f"w0000, w0001, ... in sequence; found "
                             f"{short(sorted(arrays))}.")
    return [arrays[name] for name in names]


def assign_weights(variables, arrays, where: str) -> None:
    """Put ``arrays`` into ``variables``, after checking all of them: the count,
    each shape, and that each value fits float32 (1e39 would become inf)."""
    variables = list(variables)
    if len(arrays) != len(variables):
        hint = (" (this model has no weights yet: give it an input shape or call "
                "it once)" if not variables else "")
        raise ModelFileError(f"{where} holds {len(arrays)} weight arrays but its "
                             f"architecture needs {len(variables)}{hint}.")
    for var, arr in zip(variables, arrays, strict=True):
        if tuple(arr.shape) != tuple(var.shape):
            raise ModelFileError(f"Weight {var.path!r} in {where} has shape "
                                 f"{arr.shape}, expected {var.shape}.")
        peak = _beyond_float32(arr)
        if peak is not None:
            raise ModelFileError(f"Weight {var.path!r} in {where} holds {peak:g}, "
                                 "beyond float32's range (3.4e38): convsim would "
                                 "make it infinite.")
    for var, arr in zip(variables, arrays, strict=True):
        var.assign(arr)


def _beyond_float32(arr: np.ndarray) -> float | None:
    """The largest finite magnitude in ``arr`` if float32 cannot hold it."""
    if arr.dtype.kind != "f" or arr.dtype.itemsize <= 4 or not arr.size:
        return None
    finite = np.abs(arr[np.isfinite(arr)])
    peak = float(finite.max()) if finite.size else 0.0
    return peak if peak > _FLOAT32_MAX else None


# ---------------------------------------------------------------- weights only
def save_weights(model, filepath, overwrite=True) -> None:
    """Only the weights, as one ``.npz`` archive (any file name)."""
    path = target_path(filepath, overwrite, "weights file")
    arrays = {f"w{i:04d}": w.value for i, w in enumerate(model.weights)}
    data = _npz_bytes(arrays)
    atomic_write(path, lambda f: f.write(data))


def load_weights(model, filepath) -> None:
    """Weights from :func:`save_weights`'s ``.npz`` (or from a whole model
    file), read as safely as :func:`read_model_file` reads, into ``model``."""
    given = path_argument(filepath, "weights file")
    where = repr(given)
    with _open_archive(given, "weights file", (
            f"{where} is not a convsim weights file (it should be an .npz archive "
            "written by save_weights() or a model file).")) as archive:
        if "model.weights.npz" in archive and "config.json" in archive:
            with archive.nested("model.weights.npz") as npz:
                arrays = read_npz(npz)
        else:
            arrays = read_npz(archive)
    assign_weights(model.weights, weight_list(arrays, where), where)
