"""Real Keras files: ``.keras`` and legacy ``.h5``, read safely and written.

``models.load_model(path)`` comes here when the file's *content* is Keras's
(:func:`sniff`): an HDF5 file (a legacy ``.h5``), or a ZIP archive holding
``config.json`` and ``model.weights.h5`` (a ``.keras``), whatever its name.
``model.save('x.keras')`` and ``model.save('x.h5')`` (or ``.hdf5``) write
Keras's formats; every other name gets convsim's own file, the one that
keeps the whole training state (random generators included).

One room per job:

* :mod:`.hdf5`: HDF5 through h5py, every object checked before its values
  are read (h5py is imported only here, and only when a Keras file is met:
  ``pip install 'convsim[keras]'``);
* :mod:`.registry`: the closed mapping of Keras layer classes and config
  keys to convsim's, both ways; :mod:`.architecture`: whole models and
  their graphs; :mod:`.compile` and :mod:`.optimizer_state`: optimizers,
  losses, metrics and the optimizer's arrays;
* :mod:`.keras_zip` and :mod:`.legacy_h5`: the two file layouts;
  :mod:`.loading`: the order in which a file becomes a model.

Nothing a file names is imported, unpickled or run, and Keras and
TensorFlow are never imported: Keras's own ``safe_mode`` has been bypassed
(CVE-2025-1550, CVE-2025-9906) and its ``.h5`` loader ignores it
(CVE-2025-9905); convsim's reader has no code path that could run code.
"""

from __future__ import annotations

import os
from pathlib import Path

from convsim.errors import ModelFileError
from convsim.files import atomic_write, open_regular, regular_file
from convsim.files.bounded_json import parse_json
from convsim.files.bounded_zip import BoundedZip
from convsim.files.limits import MAX_JSON_BYTES
from convsim.models import archive
from convsim.models.keras.architecture import model_from_keras, model_to_keras
from convsim.models.keras.compile import compile_to_keras
from convsim.models.keras.hdf5 import h5py_module
from convsim.models.keras.keras_zip import KerasZip, keras_zip_bytes
from convsim.models.keras.legacy_h5 import LegacyH5, legacy_h5_bytes
from convsim.models.keras.loading import load_from
from convsim.models.keras.optimizer_state import state_to_keras

__all__ = ["EXTENSIONS", "HDF5_MAGIC", "check_can_write_keras", "keras_name",
           "load_model", "model_from_keras", "save_model", "sniff"]

#: File name endings ``model.save`` writes as Keras files.
EXTENSIONS = {".keras": "keras", ".h5": "h5", ".hdf5": "h5"}
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def keras_name(filepath) -> bool:
    """Whether ``model.save(filepath)`` writes a Keras file: a path (string
    or ``os.PathLike``) ending in ``.keras``, ``.h5`` or ``.hdf5``."""
    if not isinstance(filepath, (str, os.PathLike)):
        return False
    name = os.fspath(filepath)
    return isinstance(name, str) and any(name.lower().endswith(ending)
                                         for ending in EXTENSIONS)


def check_can_write_keras(filepath) -> None:
    """Raise (one line, with ``pip install 'convsim[keras]'``) if
    ``model.save(filepath)`` would write a Keras file but h5py is missing:
    a training command checks this before hours of training, not after."""
    if keras_name(filepath):
        h5py_module(doing=f"Saving {os.fspath(filepath)!r} as a Keras file (the "
                    "format of names ending in .keras, .h5 or .hdf5; any other "
                    "name saves convsim's own)",
                    doing_ko=f"{os.fspath(filepath)!r}: 이름이 .keras, .h5, .hdf5로 "
                    "끝나는 파일은 케라스 형식으로 저장되며(다른 이름은 convsim 자체 "
                    "형식), 케라스 형식으로 저장하려면")


def sniff(given: str) -> str | None:
    """``"h5"`` or ``"keras"`` if the regular file ``given`` holds a Keras
    model by its content, else ``None`` (convsim's own reader decides)."""
    where = repr(given)
    path = regular_file(given, "model file")
    try:
        with open_regular(path, where) as file:
            if file.read(8) == HDF5_MAGIC:
                return "h5"
            with BoundedZip(file, os.fstat(file.fileno()).st_size, where) as zipped:
                if "config.json" not in zipped:
                    return None
                if "model.weights.h5" in zipped:
                    return "keras"
                if "model.weights.npz" not in zipped:
                    return None
                document = parse_json(zipped.read("config.json", MAX_JSON_BYTES),
                                      f"{where}: config.json")
    except OSError:  # convsim's errors too: its own reader says what is wrong
        return None
    keras = isinstance(document, dict) and "format" not in document \
        and "class_name" in document
    return "keras" if keras else None


def load_model(given: str, kind: str, classes: dict, compile: bool = True):
    """``(model, notes)`` from the Keras file ``given`` (``kind`` from
    :func:`sniff`; ``classes``: convsim's ``{"Sequential": ..., "Functional":
    ...}``)."""
    where = repr(given)
    if kind == "h5":
        source = LegacyH5(Path(given), where)
    else:
        with BoundedZip.open(Path(given), where) as archive_file:
            source = KerasZip(archive_file)  # reads all it needs into memory
    try:
        return load_from(source, compile, classes)
    finally:
        source.close()


def save_model(model, filepath, overwrite: bool = True) -> None:
    """Write ``model`` as a Keras file: ``.keras`` (Keras 3's format) or
    ``.h5``/``.hdf5`` (the legacy format Keras 2 and 3 read), chosen by the
    extension. Everything is made in memory, then written atomically."""
    check_can_write_keras(filepath)
    path = archive.target_path(filepath, overwrite, "Keras model file")
    kind = EXTENSIONS.get(path.suffix.lower())
    if kind is None:
        raise ModelFileError(f"{str(path)!r} does not end in "
                             f"{' or '.join(EXTENSIONS)}: not a Keras file name.")
    legacy = kind == "h5"
    document = model_to_keras(model, legacy)
    settings = compile_to_keras(model, legacy)
    layers = _keras_layers(model, document)
    state = None
    if model.compiled and model.optimizer is not None:
        state = state_to_keras(model.optimizer, model.trainable_weights)
    if legacy:
        data = legacy_h5_bytes(document, settings, layers, state)
    else:
        document = _keras3_document(document, model, settings)
        data = keras_zip_bytes(document, layers, model.name, None if state is None
                               else (model.optimizer.name, state))
    atomic_write(path, lambda f: f.write(data))


def _keras_layers(model, document: dict) -> list:
    """The convsim layers in the order of Keras's ``model.layers`` (the
    order of the written config; a Sequential's input is not among them)."""
    by_name = {layer.name: layer for layer in model.layers}
    names = [entry["config"]["name"] for entry in document["config"]["layers"]]
    return [by_name[name] for name in names if name in by_name]


def _keras3_document(document: dict, model, settings) -> dict:
    """``config.json`` as ``serialize_keras_object`` writes a model."""
    functional = document["class_name"] == "Functional"
    shape = None if functional else list(model._input.shape)
    return {"module": "keras.src.models.functional" if functional else "keras",
            "class_name": document["class_name"], "config": document["config"],
            "registered_name": "Functional" if functional else None,
            "build_config": {"input_shape": shape}, "compile_config": settings}
