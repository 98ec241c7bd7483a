"""``models.load_model(path)`` and ``models.save_model(model, path)``.

``load_model`` reads a file by its content: a real Keras file (an HDF5
``.h5``, or a ``.keras`` archive, whatever its name) is read by
:mod:`convsim.models.keras`, anything else as convsim's own file. That format
(a ZIP of JSON and NumPy arrays, never pickle) and its safe reading are
:mod:`convsim.models.archive`; here a model is re-created from what it read,
in an order that lets nothing in the file cost more than it holds:

1. every class the file names is looked up in convsim's closed registries
   (layers, the two model classes, optimizers); all unknown ones are named
   in one error, and nothing is ever imported;
2. the architecture is built by the layers' own constructors (which check
   every value, with the messages you get when you type it) while layers may
   create no more weight values than the file holds
   (:data:`convsim.layers.base.WEIGHTS_BACKING`), so ``Dense(units=2**31 - 1)``
   in a small file is refused before anything is allocated;
3. the weights, the compile settings (optimizer hyperparameters checked by the
   optimizer's constructor), the optimizer state and the random generators'
   states are checked, then restored, so training resumes exactly.

Whatever goes wrong is a :class:`~convsim.errors.ModelFileError` naming the
file and the problem.
"""

from __future__ import annotations

import numpy as np
from rich.console import Console

from convsim import losses, optimizers
from convsim.errors import (
    ArgumentError,
    ConvsimError,
    ModelFileError,
    WrongTypeError,
)
from convsim.files.bounded_json import short
from convsim.layers import CLASS_NAMES, unknown_classes
from convsim.layers.base import WEIGHTS_BACKING, Layer
from convsim.models import archive, keras
from convsim.models.archive import ModelFile
from convsim.models.model import Model
from convsim.models.sequential import Sequential

__all__ = ["ModelFileError", "load_model", "save_model"]


def save_model(model, filepath, overwrite=True) -> None:
    """Same as ``model.save(filepath)``: a Keras file for ``.keras``, ``.h5``
    and ``.hdf5`` names, convsim's own for every other."""
    model.save(filepath, overwrite=overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True,
               console: Console | None = None):
    """Re-create a model saved with ``model.save`` or by Keras (weights, compile
    settings and optimizer state included), ready to ``predict`` or to
    continue ``fit``.

    ``safe_mode`` is accepted for Keras's signature: convsim reads no code from
    any file, so loading is always safe. ``compile=False`` leaves out the
    compile settings and the optimizer state. What a Keras file holds that
    convsim reads differently (a metric it does not have, an optimizer it
    cannot continue) is said on ``console`` (stderr by default), one line
    each, and kept in ``model.load_notes``.

    Raises:
        MissingFileError: no such file.
        ModelFileError (an OSError): not a model file, damaged or hostile, or
            a Keras model convsim cannot honour (everything named at once),
            or a Keras file while h5py is not installed (the message says
            ``pip install 'convsim[keras]'``); ModelFileTooLargeError when
            it holds or claims too much.
    """
    if custom_objects is not None and not isinstance(custom_objects, dict):
        raise WrongTypeError("`custom_objects` must be a dict {name: class}. "
                             f"Received: {short(custom_objects)}")
    given = archive.path_argument(filepath, "model file")
    kind = keras.sniff(given)
    if kind is not None:
        return _load_keras(given, kind, custom_objects, compile, console)
    contents = archive.read_model_file(given)
    _refuse_unknown_classes(contents, custom_objects, compile)
    _check_custom_layers(contents, custom_objects or {})
    model = _build(contents, custom_objects)
    archive.assign_weights(model.weights, contents.weights, contents.where)
    if compile and contents.compile_config:
        _compile(model, contents, custom_objects)
    _restore_rngs(model, contents)
    return model


def _load_keras(given: str, kind: str, custom_objects, compile, console) -> Model:
    """A model from a real Keras file (:mod:`convsim.models.keras`), its
    notes said on ``console`` and kept in ``model.load_notes``."""
    if custom_objects:
        raise WrongTypeError("`custom_objects` apply to convsim model files only: "
                             f"{given!r} is a Keras file, and convsim builds Keras "
                             "models from its own layers only. Received: "
                             f"custom_objects={short(custom_objects)}")
    model, notes = keras.load_model(given, kind, {"Sequential": Sequential,
                                                  "Functional": Model}, compile)
    model.load_notes = tuple(notes)
    if notes:
        console = console if console is not None else Console(stderr=True)
        for note in notes:
            console.print(f"Note: {given!r}: {note}.", markup=False,
                          highlight=False, soft_wrap=True)
    return model


def _refuse_unknown_classes(contents: ModelFile, custom_objects, compile) -> None:
    """One error naming every class in the file convsim does not have (the
    optimizer's only if the model is to be compiled)."""
    layers = contents.config.get("layers")
    unknown = [f"layer class {item}" for item in unknown_classes(
        layers if isinstance(layers, list) else [], custom_objects)]
    optimizer = (contents.compile_config or {}).get("optimizer") if compile else None
    if isinstance(optimizer, dict) and optimizer.get("class_name") not in \
            optimizers.CLASS_NAMES:
        unknown.append(f"optimizer class {short(optimizer.get('class_name'), 60)}")
    if unknown:
        raise ModelFileError(
            f"{contents.where} needs what convsim does not have: "
            f"{'; '.join(unknown)}. convsim has the layers {list(CLASS_NAMES)} and "
            f"the optimizers {list(optimizers.CLASS_NAMES)}; no name in a model "
            "file is ever imported or run (your own layer classes can be given "
            "as custom_objects={'MyLayer': MyLayer}).")


def _check_custom_layers(contents: ModelFile, custom_objects: dict) -> None:
    """Your ``custom_objects`` that the file's layers name must be layer
    classes: a mistake of the call, said as such (not as a damaged file)."""
    layers = contents.config.get("layers")
    for config in layers if isinstance(layers, list) else []:
        name = config.get("class_name") if isinstance(config, dict) else None
        value = custom_objects.get(name) if isinstance(name, str) else None
        if value is not None and not (isinstance(value, type)
                                      and issubclass(value, Layer)):
            raise WrongTypeError(f"custom_objects[{name!r}] must be a subclass of "
                                 "convsim.layers.Layer: the file has a layer of "
                                 f"that class. Received: {short(value)}")


def _build(contents: ModelFile, custom_objects) -> Model:
    """The architecture, built by the layers' constructors, with no more
    weight values than the file holds."""
    cls = Sequential if contents.class_name == "Sequential" else Model
    token = WEIGHTS_BACKING.set(
        [sum(int(a.size) for a in contents.weights), contents.where])
    try:
        return cls.from_config(contents.config, custom_objects)
    except (ModelFileError, MemoryError):
        raise
    except ConvsimError as err:  # a constructor or a shape check refused a value
        raise ModelFileError(f"{contents.where} holds an architecture convsim "
                             f"cannot build: {err}") from err
    except Exception as err:  # nothing raw may escape
        raise archive.damaged(contents.where, err) from err
    finally:
        WEIGHTS_BACKING.reset(token)


def _compile(model: Model, contents: ModelFile, custom_objects) -> None:
    """The file's compile settings and optimizer state, each value checked by
    the optimizer's, the loss's and the metrics' own checks."""
    settings = contents.compile_config
    hint = " (load_model(path, compile=False) loads the model without them)"
    try:
        model.compile(
            optimizer=optimizers.get(settings.get("optimizer")),
            loss=None if settings.get("loss") is None
            else losses.get(settings["loss"]),
            metrics=[(custom_objects or {}).get(m, m)
                     for m in settings.get("metrics", [])])
        if contents.optimizer_state is not None:
            model.optimizer.set_state(contents.optimizer_state,
                                      model.trainable_weights)
    except (ModelFileError, MemoryError):
        raise
    except ConvsimError as err:
        raise ModelFileError(f"{contents.where} holds compile settings or an "
                             f"optimizer state convsim cannot use: {err}{hint}"
                             ) from err
    except Exception as err:  # nothing raw may escape
        raise archive.damaged(contents.where, err) from err


def _restore_rngs(model: Model, contents: ModelFile) -> None:
    """The shuffling and Dropout generators' states, so training continues on
    the batches and masks an unbroken run would have used."""
    states = contents.rng_states
    try:
        if "shuffle" in states:
            model._shuffle_rng = np.random.default_rng()
            _set_state(model._shuffle_rng, states["shuffle"])
        layer_states = states.get("layers", {})
        for layer in model.layers:
            state = layer_states.get(layer.name)
            if state is not None and isinstance(getattr(layer, "rng", None),
                                                np.random.Generator):
                _set_state(layer.rng, state)
    # NumPy's own checks raise these; ArgumentError is a ValueError too
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError) as err:
        raise ModelFileError(f"{contents.where} is damaged: its random generators' "
                             f"states cannot be used ({type(err).__name__}: "
                             f"{short(err, 200)}).") from err


def _set_state(rng: np.random.Generator, state) -> None:
    """Put ``rng`` in exactly ``state`` (NumPy checks its kind and fields; a
    state NumPy would silently change is refused too)."""
    rng.bit_generator.state = state
    if rng.bit_generator.state != state:
        raise ArgumentError(f"the state {short(state)} is not one PCG64 can hold")
