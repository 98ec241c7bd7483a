"""Keras's legacy ``.h5`` model file: read safely, and written as Keras 3 does.

The layout (``save_model_to_hdf5`` and ``load_model_from_hdf5`` in
keras/src/legacy/saving/legacy_h5_format.py, Keras 3.15.1; the same in
keras/saving/legacy/hdf5_format.py at v2.13.1):

* root attributes ``model_config`` (JSON ``{"class_name", "config"}``),
  ``training_config`` (JSON, with the optimizer as ``optimizer_config``;
  only for a compiled model), ``keras_version`` and ``backend``;
* group ``model_weights``: attribute ``layer_names`` (``model.layers`` in
  order; split into ``layer_names0``, ``layer_names1``, ... when long), one
  group per layer with attribute ``weight_names``: the paths of its weights'
  datasets inside that group (``conv2d/kernel:0`` in Keras 2,
  ``sequential/conv2d/kernel`` in Keras 3), and ``top_level_model_weights``;
* group ``optimizer_weights``: attribute ``weight_names``, the datasets'
  paths in the optimizer's variable order.

Weights are matched as Keras's ``load_weights_from_hdf5_group`` matches
them: the file's layers that list weights, in ``layer_names`` order, to the
architecture's layers that have weights, in order; nothing is looked up by
a hard-coded path, and every path the file names is followed one hard link
at a time (:class:`.hdf5.H5Reader`). A file written by Keras 1 (no
``keras_version``, or ``1.x``) stored convolution kernels differently and is
refused.

convsim writes the same layout with Keras 3's optimizer variable order
(step count, learning rate, slots), and configs in the legacy form that
Keras 2.13's and Keras 3's legacy loaders both read; Keras 3.15 restores the
weights and compile settings but, as for its own ``.h5`` files, not the
optimizer's state.
"""

from __future__ import annotations

import json
import os

import numpy as np

from convsim import __version__
from convsim.errors import ModelFileError
from convsim.files import open_regular
from convsim.files.bounded_json import parse_json, short
from convsim.files.bounded_zip import Budget
from convsim.models.keras.hdf5 import H5Reader, write_h5
from convsim.models.keras.keras_zip import KERAS_VERSION

__all__ = ["LegacyH5", "legacy_h5_bytes"]

_HEADER_LIMIT = 64512  # HDF5_OBJECT_HEADER_LIMIT in legacy_h5_format.py


class LegacyH5:
    """A legacy ``.h5`` model file opened for reading (module docstring); the
    interface :mod:`convsim.models.keras.loading` reads through."""

    def __init__(self, path, where: str):
        self.where = where
        self._file = open_regular(path, where)
        self.reader = None
        try:
            self.budget = Budget(os.fstat(self._file.fileno()).st_size, where)
            self.reader = H5Reader(self._file, where, self.budget)
            self._read_attributes()
        except BaseException:
            self.close()
            raise

    def _read_attributes(self) -> None:
        reader, where = self.reader, self.where
        text = reader.text(reader.file, "model_config")
        if text is None:
            raise ModelFileError(f"{where} is an HDF5 file without a model_config: "
                                 "a weights-only file (model.save_weights), or not "
                                 "a Keras model; load_model needs the whole model.")
        self.document = parse_json(text.encode(), f"{where}: model_config")
        training = reader.text(reader.file, "training_config")
        self.settings = None if training is None else parse_json(
            training.encode(), f"{where}: training_config")
        if self.settings is not None and not isinstance(self.settings, dict):
            raise ModelFileError(f"{where} is damaged: its training_config is "
                                 f"{short(self.settings)}, not an object.")
        version = reader.text(reader.file, "keras_version", 100)
        self.keras_version = version
        self._weights = reader.get(None, "model_weights")
        if self._weights is not None:
            inner = reader.text(self._weights, "keras_version", 100)
            self.keras_version = version or inner
        if self.keras_version is None or self.keras_version.startswith("1"):
            raise ModelFileError(f"{where} was written by Keras 1 "
                                 f"(keras_version {short(self.keras_version)}), "
                                 "which stored kernels differently; convsim reads "
                                 "files of Keras 2 and 3.")

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
        self._file.close()

    # ------------------------------------------------------------ weights
    def _layer_groups(self) -> list[tuple[str, list]]:
        """``(layer name, datasets)`` of every layer listing weights."""
        if self._weights is None:
            raise ModelFileError(f"{self.where} holds no model_weights group.")
        names = self.reader.strings(self._weights, "layer_names")
        if names is None:
            raise ModelFileError(f"{self.where} is damaged: its model_weights lists "
                                 "no layer_names.")
        found = []
        for name in names:
            group = self.reader.get(self._weights, name)
            if group is None:
                raise ModelFileError(f"{self.where} is damaged: it lists layer "
                                     f"{short(name)} but holds no group for it.")
            variables = self._datasets(group)
            if variables:
                found.append((name, variables))
        top = self.reader.get(self._weights, "top_level_model_weights")
        if top is not None and self._datasets(top):
            raise ModelFileError(f"{self.where} holds weights of the model itself "
                                 "(top_level_model_weights), which convsim models "
                                 "do not have.")
        return found

    def _datasets(self, group) -> list:
        names = self.reader.strings(group, "weight_names") or []
        datasets = []
        for name in names:
            dataset = self.reader.get(group, name, "dataset")
            if dataset is None:
                raise ModelFileError(f"{self.where} is damaged: {short(group.name)} "
                                     f"lists the weight {short(name)} but holds no "
                                     "dataset there.")
            datasets.append(dataset)
        return datasets

    def all_variables(self) -> list:
        return [v for _, variables in self._layer_groups() for v in variables]

    def layer_variables(self, layers) -> list[list]:
        """The datasets of each of ``layers`` (those with weights, in the
        config's order), matched by order as Keras does."""
        found = self._layer_groups()
        if len(found) != len(layers):
            raise ModelFileError(
                f"{self.where} holds weights for {len(found)} layers "
                f"({short([name for name, _ in found], 120)}), but its "
                f"architecture has {len(layers)} layers with weights.")
        return [variables for _, variables in found]

    def optimizer_variables(self) -> list | None:
        group = self.reader.get(None, "optimizer_weights")
        return None if group is None else self._datasets(group)


# ---------------------------------------------------------------- writing
def legacy_h5_bytes(document: dict, settings: dict | None, layers: list,
                    optimizer: list | None) -> bytes:
    """A legacy ``.h5`` file: the model ``document`` and compile ``settings``
    as JSON attributes, the weights of ``layers`` (Keras's ``model.layers``
    order) and the optimizer's ``[(name, array)]``, as Keras 3 writes them."""
    def fill(h5):
        h5.attrs["keras_version"] = KERAS_VERSION
        h5.attrs["backend"] = "convsim"
        h5.attrs["convsim_version"] = __version__
        h5.attrs["model_config"] = json.dumps(document).encode("utf-8")
        if settings is not None:
            h5.attrs["training_config"] = json.dumps(settings).encode("utf-8")
        group = h5.create_group("model_weights")
        _set_names(group, "layer_names", [layer.name for layer in layers])
        group.attrs["backend"] = b"convsim"
        group.attrs["keras_version"] = KERAS_VERSION.encode()
        for layer in sorted(layers, key=lambda layer: layer.name):
            _weights_group(group.create_group(layer.name),
                           [(w.path, w.value) for w in layer.weights])
        _weights_group(group.create_group("top_level_model_weights"), [])
        if optimizer is not None:
            _weights_group(h5.create_group("optimizer_weights"), optimizer)

    return write_h5(fill)


def _weights_group(group, weights: list) -> None:
    """``weight_names`` and one dataset per ``(path, array)``
    (``save_subset_weights_to_hdf5_group``)."""
    _set_names(group, "weight_names", [path for path, _ in weights])
    for path, value in weights:
        group.create_dataset(path, data=value)


def _set_names(group, key: str, names: list[str]) -> None:
    """Names as Keras stores them (``save_attributes_to_hdf5_group``): bytes
    (an empty float array for none), split into ``key0``, ``key1``, ... when
    one attribute would pass HDF5's 64 KiB object header."""
    data = (np.array([name.encode("utf-8") for name in names]) if names
            else np.array([], np.float64))
    chunks = 1
    while any(part.nbytes > _HEADER_LIMIT for part in np.array_split(data, chunks)):
        chunks += 1
    if chunks == 1:
        group.attrs[key] = data
        return
    for i, part in enumerate(np.array_split(data, chunks)):
        group.attrs[f"{key}{i}"] = part
