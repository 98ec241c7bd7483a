"""Keras's ``.keras`` archive: read within a budget, and written as Keras 3 does.

A ``.keras`` file (``saving_lib.save_model`` in keras/src/saving/saving_lib.py,
Keras 3.15.1) is a ZIP archive of

* ``config.json``: ``{"module", "class_name", "config", "registered_name",
  "build_config", "compile_config"}`` (``serialize_keras_object``);
* ``metadata.json``: ``{"keras_version", "date_saved"}``;
* ``model.weights.h5``: HDF5, one group per layer in ``model.layers`` order,
  named after its **class** (``layers/conv2d``, ``layers/conv2d_1``, ...: the
  ``_get_unique_name`` counter of ``_save_container_state``), the layer's
  variables in ``vars/0``, ``vars/1``, ...; the optimizer's in
  ``optimizer/vars/<i>``; the model's own (none) in ``vars``.

Keras 2.13 wrote the same under ``_layer_checkpoint_dependencies/``
(``_walk_trackable`` visited ``dir(model)`` in order, and that attribute came
before ``layers``; tf-keras moved it to ``layers/`` in commit a25d42d, and
Keras 3's ``H5IOStore.get`` still falls back to it), and its counter also
counted a layer met twice (fixed in 2.14), so names may skip numbers
(``dense``, ``dense_2``). convsim therefore matches, per class, the groups
holding variables in the order of their numbers to that class's layers in
the config's order, which is right for every version.

Reading goes through :class:`~convsim.files.bounded_zip.BoundedZip` (the zip
bomb checks of convsim's own files) and :class:`.hdf5.H5Reader`. Keras's
``model.weights.npz`` variant is refused: it stores each layer's variables as
a pickled dict, and convsim never unpickles.
"""

from __future__ import annotations

import datetime
import io
import json
import re
import zipfile

from convsim import __version__
from convsim.errors import ModelFileError
from convsim.files.bounded_json import parse_json, short
from convsim.files.bounded_zip import BoundedZip, MemoryFile
from convsim.files.limits import MAX_JSON_BYTES
from convsim.layers.graph import snake_case
from convsim.models.keras.hdf5 import H5Reader, write_h5

__all__ = ["KERAS_VERSION", "KerasZip", "keras_zip_bytes"]

#: The Keras version whose files convsim writes (and was checked against).
KERAS_VERSION = "3.15.1"
_GROUP = re.compile(r"(.+?)(?:_(\d+))?")


class KerasZip:
    """A ``.keras`` archive opened for reading (see the module docstring);
    the interface :mod:`convsim.models.keras.loading` reads through."""

    def __init__(self, archive: BoundedZip):
        self.where, self.budget = archive.where, archive.budget
        where = self.where
        self.document = parse_json(archive.read("config.json", MAX_JSON_BYTES),
                                   f"{where}: config.json")  # checked when read
        metadata = {}
        if "metadata.json" in archive:
            metadata = parse_json(archive.read("metadata.json", MAX_JSON_BYTES),
                                  f"{where}: metadata.json")
        version = metadata.get("keras_version") if isinstance(metadata, dict) \
            else None
        self.keras_version = version if isinstance(version, str) else None
        settings = self.document.get("compile_config") \
            if isinstance(self.document, dict) else None
        if settings is not None and not isinstance(settings, dict):
            raise ModelFileError(f"{where} is damaged: config.json's compile_config "
                                 f"is {short(settings)}, not an object.")
        self.settings = settings
        if "model.weights.h5" not in archive:
            raise ModelFileError(
                f"{where} keeps its weights in model.weights.npz, Keras's NumPy "
                "variant, which stores each layer's weights as a pickled dict; "
                "convsim never unpickles (pickle can run code). Save it in Keras "
                "with the default weights format (HDF5)."
                if "model.weights.npz" in archive else
                f"{where} is a Keras archive without model.weights.h5.")
        data = archive.read("model.weights.h5")
        self.reader = H5Reader(MemoryFile(data), f"{where}: model.weights.h5",
                               self.budget)
        try:
            self._layers = (self.reader.get(None, "layers") or self.reader.get(
                None, "_layer_checkpoint_dependencies"))
        except BaseException:
            self.reader.close()
            raise

    def close(self) -> None:
        self.reader.close()

    # ------------------------------------------------------------ weights
    def _variables(self, group) -> list:
        """The datasets ``vars/0``, ``vars/1``, ... of a layer's group."""
        holder = self.reader.get(group, "vars")
        names = self.reader.names(holder) if holder is not None else []
        wanted = [str(i) for i in range(len(names))]
        if sorted(names) != sorted(wanted):
            raise ModelFileError(f"{self.where}: model.weights.h5 is damaged: "
                                 f"{short(group.name + '/vars')} holds "
                                 f"{short(names)}; Keras numbers a layer's "
                                 "variables 0, 1, ...")
        return [self.reader.get(holder, name, "dataset") for name in wanted]

    def all_variables(self) -> list:
        """Every layer variable in the file (to count what it claims)."""
        if self._layers is None:
            return []
        return [v for name in self.reader.names(self._layers)
                for v in self._variables(self.reader.get(self._layers, name))]

    def layer_variables(self, layers) -> list[list]:
        """The datasets of each of ``layers`` (those with weights, in the
        config's order), found by class and number (module docstring)."""
        groups: dict[str, list] = {}
        for name in self.reader.names(self._layers) if self._layers else []:
            variables = self._variables(self.reader.get(self._layers, name))
            match = _GROUP.fullmatch(name)
            if variables:
                groups.setdefault(match[1], []).append(
                    (int(match[2] or 0), name, variables))
        for found in groups.values():
            found.sort(key=lambda item: item[0])
        out = []
        for layer in layers:
            found = groups.get(snake_case(type(layer).__name__), [])
            if not found:
                raise ModelFileError(f"{self.where}: model.weights.h5 holds no "
                                     f"weights for layer {layer.name!r} (a "
                                     f"{type(layer).__name__}).")
            out.append(found.pop(0)[2])
        extra = [name for found in groups.values() for _, name, _ in found]
        if extra:
            raise ModelFileError(f"{self.where}: model.weights.h5 holds weights for "
                                 f"{short(extra)}, which the architecture does not "
                                 "have.")
        return out

    def optimizer_variables(self) -> list | None:
        """The datasets ``optimizer/vars/0``, ``1``, ... or ``None``."""
        group = self.reader.get(None, "optimizer")
        return None if group is None else self._variables(group)


# ---------------------------------------------------------------- writing
def keras_zip_bytes(document: dict, layers: list, model_name: str, optimizer=None
                    ) -> bytes:
    """A ``.keras`` archive: ``document`` as ``config.json``, and the weights
    of ``layers`` (in Keras's ``model.layers`` order) and the optimizer's
    state ``(name, [(name, array)])`` in ``model.weights.h5``, laid out as
    Keras 3 does."""
    def fill(h5):
        counts: dict[str, int] = {}
        for layer in layers:
            base = snake_case(type(layer).__name__)
            name = base if base not in counts else f"{base}_{counts[base]}"
            counts[base] = counts.get(base, 0) + 1
            group = h5.create_group(f"layers/{name}/vars")
            group.attrs["name"] = layer.name
            for i, weight in enumerate(layer.weights):
                group.create_dataset(str(i), data=weight.value)
        h5.create_group("vars").attrs["name"] = model_name
        if optimizer is not None:
            group = h5.create_group("optimizer/vars")
            group.attrs["name"] = optimizer[0]
            for i, (_, value) in enumerate(optimizer[1]):
                group.create_dataset(str(i), data=value)

    weights = write_h5(fill)
    metadata = {"keras_version": KERAS_VERSION,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S"),
                "saved_by": f"convsim {__version__}"}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps(metadata),
                         zipfile.ZIP_DEFLATED)
        archive.writestr("config.json", json.dumps(document), zipfile.ZIP_DEFLATED)
        archive.writestr("model.weights.h5", weights)  # stored, as Keras does
    return buffer.getvalue()
