"""A convsim model from an opened Keras file, in an order that trusts nothing.

1. The architecture is translated (:func:`.architecture.model_from_keras`):
   everything convsim cannot honour is refused in one error, before anything
   is built.
2. It is built by convsim's own constructors while layers may create no more
   weight values than the file's datasets claim, nor than its budget can
   read (:data:`convsim.layers.base.WEIGHTS_BACKING`).
3. Each layer's datasets are found (the format decides how) and each is
   checked for its storage, dtype and the shape its layer needs, and counted
   against the budget, before its values are read; then checked for
   float32's range and assigned.
4. The compile settings are translated (:mod:`.compile`); the optimizer's
   arrays are read only if the file holds exactly the arrays, in Keras's
   order and shapes, that convsim's optimizer keeps
   (:mod:`.optimizer_state`), and convsim's ``set_state`` checks their values.

What was read differently (an initializer replaced, a metric left out, the
model left uncompiled) is returned as notes.
"""

from __future__ import annotations

from convsim.errors import ConvsimError, ModelFileError
from convsim.files.bounded_json import short
from convsim.layers.base import WEIGHTS_BACKING
from convsim.models import archive
from convsim.models.keras.architecture import model_from_keras
from convsim.models.keras.compile import compile_from_keras
from convsim.models.keras.optimizer_state import layout

__all__ = ["load_from"]

_INTEGERS = "iu"


def load_from(source, compile: bool, classes: dict) -> tuple:
    """``(model, notes)`` from an opened :class:`.keras_zip.KerasZip` or
    :class:`.legacy_h5.LegacyH5` ``source``; ``classes`` maps
    ``"Sequential"`` and ``"Functional"`` to convsim's model classes (passed
    in: :mod:`convsim.models.model` saves through this package)."""
    where = source.where
    kind, config, notes = model_from_keras(source.document, where)
    model = _build(classes[kind], config, source)
    names = [entry["config"].get("name") for entry in config["layers"]]
    by_name = {layer.name: layer for layer in model.layers}
    weighted = [by_name[n] for n in _keras_order(source, names)
                if n in by_name and by_name[n].weights]
    datasets = source.layer_variables(weighted)
    arrays = []
    for layer, found in zip(weighted, datasets, strict=True):
        if len(found) != len(layer.weights):
            raise ModelFileError(f"{where} holds {len(found)} weights for layer "
                                 f"{layer.name!r}, which has {len(layer.weights)}.")
        arrays += [source.reader.read(d, w.shape, f"weight {w.path!r}")
                   for d, w in zip(found, layer.weights, strict=True)]
    archive.assign_weights([w for layer in weighted for w in layer.weights], arrays,
                           where)
    if compile:
        _compile(model, source, notes)
    return model, notes


def _keras_order(source, names: list[str]) -> list[str]:
    """The layer names in the order of the file's config (Keras's
    ``model.layers`` order, in which it saved the weights)."""
    layers = source.document["config"]["layers"]
    order = [entry.get("name") or entry["config"].get("name") for entry in layers]
    wanted = set(names)
    return [n for n in order if isinstance(n, str) and n in wanted]


def _build(cls, config: dict, source):
    """The architecture, built by convsim's constructors, allowed no more
    weight values than the file's datasets claim and its budget can read."""
    claimed = sum(_size(source.reader.declared(d)[0])
                  for d in source.all_variables())
    token = WEIGHTS_BACKING.set([min(claimed, source.budget.left // 4),
                                 source.where])
    try:
        return cls.from_config(config)
    except (ModelFileError, MemoryError):
        raise
    except ConvsimError as err:  # a constructor or a shape check refused a value
        raise ModelFileError(f"{source.where} holds an architecture convsim cannot "
                             f"build: {err}") from err
    except Exception as err:  # nothing raw may escape
        raise archive.damaged(source.where, err) from err
    finally:
        WEIGHTS_BACKING.reset(token)


def _size(shape: tuple) -> int:
    size = 1
    for n in shape:
        size *= n
    return size


def _compile(model, source, notes: list) -> None:
    """The file's compile settings and optimizer state, where convsim has
    them (else a note says what was left out)."""
    if not source.settings:  # saved uncompiled (Keras 3 writes {}): nothing lost
        return
    settings = compile_from_keras(source.settings, notes)
    if settings is None:
        return
    optimizer, loss, metrics = settings
    try:
        model.compile(optimizer=optimizer, loss=loss, metrics=metrics)
    except ConvsimError as err:
        raise ModelFileError(f"{source.where} holds compile settings convsim "
                             f"cannot use: {err}") from err
    _restore_state(model, source, notes)


def _restore_state(model, source, notes: list) -> None:
    """The optimizer's arrays, if the file holds exactly what convsim's
    optimizer keeps (module docstring), into ``model.optimizer``."""
    found = source.optimizer_variables()
    if not found:
        return
    optimizer = model.optimizer
    config = source.settings.get("optimizer", source.settings.get(
        "optimizer_config"))
    config = config.get("config", {}) if isinstance(config, dict) else {}
    keras3 = (source.keras_version or "3").startswith("3")
    old_v2 = "decay" in config or config.get("is_legacy_optimizer") is True
    wanted = layout(optimizer, [w.shape for w in model.trainable_weights], keras3,
                    old_v2)
    declared = [source.reader.declared(d, "fiu")[0] for d in found]
    if [shape for _, shape in wanted] != declared:
        if len(found) > (2 if keras3 else 1):  # else: saved before any step
            notes.append(f"its optimizer state does not fit "
                         f"{type(optimizer).__name__} for this model "
                         f"({_misfit(wanted, declared)}): the optimizer starts "
                         "afresh")
        return
    state = {}
    for (key, shape), dataset in zip(wanted, found, strict=True):
        kinds = _INTEGERS if key == "iterations" else "f"
        state[key] = source.reader.read(dataset, shape, f"optimizer state {key!r}",
                                        kinds)
    try:
        if "learning_rate" in state:
            optimizer.learning_rate = float(state.pop("learning_rate"))
        optimizer.set_state(state, model.trainable_weights)
    except ConvsimError as err:
        raise ModelFileError(f"{source.where} holds an optimizer state convsim "
                             f"cannot use: {short(str(err), 300)} (load_model(path, "
                             "compile=False) loads the model without it)") from err


def _misfit(wanted: list, declared: list) -> str:
    """Where a file's optimizer arrays first differ from what convsim keeps."""
    if len(wanted) != len(declared):
        return (f"the file holds {len(declared)} arrays, convsim keeps "
                f"{len(wanted)} in Keras's order")
    i = next(i for i, (w, d) in enumerate(zip(wanted, declared, strict=True))
             if w[1] != d)
    return (f"array {i} has shape {declared[i]}, where convsim keeps "
            f"{wanted[i][0]} of shape {wanted[i][1]}")
