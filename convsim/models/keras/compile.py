"""A Keras file's compile settings as convsim's, and back.

Keras 3 keeps them in ``config.json``'s ``compile_config`` (``{"optimizer",
"loss", "metrics", "loss_weights", "weighted_metrics", ...}``,
``Trainer.get_compile_config`` in keras/src/trainers/trainer.py); a legacy
``.h5`` in its ``training_config`` attribute, the optimizer as
``optimizer_config`` (``model_metadata`` in keras/src/legacy/saving/
saving_utils.py, and keras/saving/legacy/saving_utils.py at v2.13.1).

convsim has Adam, RMSprop and SGD (with Keras 2's ``decay``, or Keras 3's
``InverseTimeDecay`` schedule, which is the same rule), four losses and the
accuracies. An optimizer or loss it does not have, or a setting it cannot
honour (``weight_decay``, ``use_ema``, ``global_clipnorm``, a loss's
``reduction='sum'``), leaves the model uncompiled, with a note saying why;
a metric it does not have is left out, with a note. Nothing named is ever
imported: an optimizer counts only if its module is Keras's and its
registered name is none or the class's own.

Written back, the settings take the keys both Keras 3 and Keras 2.13's
optimizers accept (a legacy ``.h5`` must load in either).
"""

from __future__ import annotations

from convsim import losses, optimizers
from convsim.errors import ArgumentError, ConvsimError
from convsim.files.bounded_json import short
from convsim.models.keras.registry import custom_problem, neutral

__all__ = ["METRICS", "compile_from_keras", "compile_to_keras", "optimizer_to_keras"]

#: Keras's optimizer keys per class that mean the same in convsim.
_OPTIMIZER_KEYS = {"Adam": ("beta_1", "beta_2", "epsilon", "amsgrad"),
                   "RMSprop": ("rho", "momentum", "epsilon", "centered"),
                   "SGD": ("momentum", "nesterov")}
#: How Keras 2.11 to 2.15 name their own optimizers in a legacy ``.h5``:
#: ``@register_keras_serializable()`` (package "Custom") decorates them
#: (keras/optimizers/adam.py at v2.13.1, tf_keras/optimizers/adam.py) and
#: ``get_registered_name`` then gives ``Custom>Adam``. Accepted for these
#: three only, where no ``module`` says otherwise.
_KERAS2_NAMES = ("Custom>Adam", "Custom>RMSprop", "Custom>SGD")
#: Keys that change nothing convsim computes (EMA settings matter only with
#: ``use_ema``, which must be false).
_IGNORED = ("name", "jit_compile", "is_legacy_optimizer", "ema_momentum",
            "ema_overwrite_frequency")
#: Metric names convsim has (``metrics.get``), and Keras's classes for them.
METRICS = ("accuracy", "acc", "binary_accuracy", "categorical_accuracy",
           "sparse_categorical_accuracy")
_METRIC_CLASSES = {"BinaryAccuracy": "binary_accuracy",
                   "CategoricalAccuracy": "categorical_accuracy",
                   "SparseCategoricalAccuracy": "sparse_categorical_accuracy"}
_LOSS_NAMES = {"CategoricalCrossentropy": "categorical_crossentropy",
               "SparseCategoricalCrossentropy": "sparse_categorical_crossentropy",
               "BinaryCrossentropy": "binary_crossentropy",
               "MeanSquaredError": "mean_squared_error"}


# ---------------------------------------------------------------- from Keras
def compile_from_keras(settings: dict, notes: list) -> tuple | None:
    """``(optimizer, loss, metrics)`` for ``model.compile`` from Keras's
    settings (``optimizer`` or ``optimizer_config``), or ``None`` with a note
    when convsim cannot honour the optimizer or the loss."""
    why = []
    optimizer = _optimizer(settings.get("optimizer",
                                        settings.get("optimizer_config")), why)
    loss = _loss(settings.get("loss"), why)
    for key in ("loss_weights", "sample_weight_mode"):
        if not neutral(settings.get(key)):
            why.append(f"{key}={short(settings[key], 60)}")
    if why:
        notes.append(f"its compile settings hold {'; '.join(why)}, which convsim "
                     "cannot honour: the model is loaded uncompiled (compile it "
                     "before fit)")
        return None
    dropped, names = [], _metrics(settings.get("metrics"))
    dropped += [m for m in names if not isinstance(m, str) or m not in METRICS]
    if not neutral(settings.get("weighted_metrics")):
        dropped.append(f"weighted_metrics {short(settings['weighted_metrics'], 60)}")
    if dropped:
        notes.append(f"the metrics {short(dropped, 120)} are not ones convsim has "
                     f"(it has {', '.join(METRICS)}): left out")
    return optimizer, loss, [m for m in names if isinstance(m, str) and m in METRICS]


def _optimizer(entry, why: list):
    """A convsim optimizer from Keras's serialized one, or ``None`` (``why``)."""
    name = entry.get("class_name") if isinstance(entry, dict) else entry
    if isinstance(entry, str) and entry.lower() in ("adam", "rmsprop", "sgd"):
        return optimizers.get(entry)
    if not isinstance(name, str):
        name = short(name, 60)
    elif name in _KERAS2_NAMES and "module" not in entry:
        name = name.split(">")[1]
    config = entry.get("config") if isinstance(entry, dict) else None
    custom = custom_problem(entry) if isinstance(entry, dict) else None
    if name not in _OPTIMIZER_KEYS or custom or not isinstance(config, dict):
        why.append(f"the optimizer {short(name, 60)}"
                   + (f" with {custom}" if custom else "")
                   + f" (convsim has {', '.join(sorted(_OPTIMIZER_KEYS))})")
        return None
    mine = {key: config[key] for key in ("clipnorm", "clipvalue", "decay",
                                         *_OPTIMIZER_KEYS[name]) if key in config}
    rate = config.get("learning_rate", config.get("lr"))
    schedule = _schedule(rate)
    if schedule is None:
        why.append(f"the learning rate {short(rate, 80)}")
        return None
    mine["learning_rate"], decay = schedule
    mine["decay"] = mine.get("decay", 0.0) or decay
    odd = [f"{key}={short(value, 40)}" for key, value in config.items()
           if key not in (*mine, "lr", *_IGNORED) and not neutral(value)
           and not (key == "weight_decay" and value == 0)]
    if odd:
        why.append(f"the optimizer setting(s) {', '.join(odd)}")
        return None
    try:
        return optimizers.get({"class_name": name, "config": mine})
    except ConvsimError as err:
        why.append(f"the optimizer {name} ({err})")
        return None


def _schedule(rate) -> tuple | None:
    """``(learning rate, decay)`` from a number or Keras's
    ``InverseTimeDecay`` (``lr / (1 + rate * step / steps)``: convsim's
    ``decay`` is ``rate / steps``), else ``None``."""
    if isinstance(rate, (int, float)) and not isinstance(rate, bool):
        return float(rate), 0.0
    config = rate.get("config") if isinstance(rate, dict) else None
    if (isinstance(config, dict) and rate.get("class_name") == "InverseTimeDecay"
            and custom_problem(rate) is None and not config.get("staircase")):
        first, steps = config.get("initial_learning_rate"), config.get("decay_steps")
        decay = config.get("decay_rate")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool)
               for v in (first, steps, decay)) and steps > 0:
            return float(first), float(decay) / float(steps)
    return None


def _loss(entry, why: list):
    """A convsim loss from Keras's (a name, Keras 3's ``{"class_name":
    "function", "config": name}``, or a serialized Loss), or ``None``."""
    if entry is None:
        return None
    if _keras_function(entry):
        entry = entry["config"]
    name = entry.get("class_name") if isinstance(entry, dict) else entry
    config = entry.get("config") if isinstance(entry, dict) else {}
    try:
        if isinstance(entry, str):
            return losses.get(entry)
        if isinstance(name, str) and name in _LOSS_NAMES \
                and custom_problem(entry) is None \
                and isinstance(config, dict):
            made = losses.get(name)
            keys = made.get_config()
            odd = [f"{k}={short(v, 40)}" for k, v in config.items()
                   if k not in keys and not _harmless_loss_key(k, v)]
            if not odd:
                return losses.get({"class_name": name, "config": {
                    k: v for k, v in config.items() if k in keys}})
            why.append(f"the loss {name} with {', '.join(odd)}")
            return None
    except ConvsimError:
        pass
    custom = custom_problem(entry) if isinstance(entry, dict) else None
    why.append(f"the loss {short(name, 60)}" + (f" with {custom}" if custom else "")
               + f" (convsim has {', '.join(sorted(_LOSS_NAMES.values()))})")
    return None


def _keras_function(entry) -> bool:
    """Whether ``entry`` is how Keras 3 writes a loss *function* by name:
    ``{"module": "builtins", "class_name": "function", "config": name,
    "registered_name": "function"}`` (what it writes after loading a legacy
    ``.h5``; ``module`` is the function's class's, Python's ``builtins``), or
    with a Keras module. Only the name is used, looked up among convsim's."""
    if not (isinstance(entry, dict) and entry.get("class_name") == "function"
            and isinstance(entry.get("config"), str)
            and entry.get("registered_name") in (None, "function")):
        return False
    return entry.get("module") == "builtins" or custom_problem(
        {**entry, "registered_name": None}) is None


def _harmless_loss_key(key: str, value) -> bool:
    """Keras loss settings convsim computes the same with."""
    return (neutral(value) or (key == "reduction" and value in (
        "sum_over_batch_size", "auto")) or (key == "axis" and value == -1)
        or (key == "dtype" and value == "float32") or key == "fn")


def _metrics(value) -> list:
    """Metric names from Keras's list (nested one level per output in Keras
    2's files; Keras 2's ``MeanMetricWrapper`` keeps the name and function)."""
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    if len(items) == 1 and isinstance(items[0], list):
        items = items[0]
    names = []
    for item in items:
        if isinstance(item, dict) and isinstance(item.get("config"), dict) \
                and custom_problem(item) is None:
            config, cls = item["config"], item.get("class_name")
            if isinstance(cls, str) and cls in _METRIC_CLASSES:
                item = _METRIC_CLASSES[cls]
            elif cls == "MeanMetricWrapper":
                item = config.get("name") if config.get("name") in ("accuracy",
                                                                    "acc") \
                    else config.get("fn")
        names.append(item if isinstance(item, str) else short(item, 60))
    return names


# ---------------------------------------------------------------- to Keras
def compile_to_keras(model, legacy: bool) -> dict | None:
    """Keras 3's ``compile_config`` of a compiled convsim ``model`` (Keras
    2's ``training_config`` when ``legacy``), or ``None`` if not compiled."""
    if not model.compiled:
        return None
    names = []
    for metric in model._compile_spec["metrics"]:
        if not (isinstance(metric, str) and metric.lower() in METRICS):
            raise ArgumentError(
                f"The model is compiled with the metric {short(metric, 60)}, which "
                f"a Keras file cannot hold (it holds {', '.join(METRICS)}; Keras "
                "would need your Python code to load anything else). Compile "
                "without it, or save to a convsim file (any other extension).")
        names.append(metric)
    optimizer = optimizer_to_keras(model.optimizer, legacy)
    settings = {"loss": _loss_to_keras(model.loss, legacy), "loss_weights": None,
                "metrics": names, "weighted_metrics": None}
    if legacy:
        return {**settings, "optimizer_config": optimizer}
    return {"optimizer": optimizer, **settings, "run_eagerly": False,
            "steps_per_execution": 1, "jit_compile": False}


def optimizer_to_keras(optimizer, legacy: bool) -> dict:
    """The optimizer serialized as Keras 3 writes it; a ``decay`` becomes
    Keras's ``InverseTimeDecay`` schedule, written with its ``module`` even
    in an ``.h5`` (Keras 3's legacy loader cannot read it without; Keras 2
    reads both forms).

    For a ``legacy`` ``.h5`` only the keys that both Keras 3's optimizers and
    Keras 2's *legacy* ones take: Keras 2 builds its legacy Adam for an
    ``.h5`` optimizer named plainly ``"Adam"`` (without Keras 2.11's
    ``is_legacy_optimizer: false``, which Keras 3 refuses), and that one
    refuses ``weight_decay`` or ``use_ema``. (Naming it ``"Custom>Adam"``, as
    Keras 2.11+ does, would suit Keras 2 but makes Keras 3's legacy loader
    fall back to a default Adam, losing the learning rate: measured with
    Keras 3.15.1 and tf_keras 2.21.)"""
    cls = type(optimizer).__name__
    mine = optimizer.get_config()
    rate = mine["learning_rate"]
    if mine["decay"]:
        rate = _serialized("InverseTimeDecay", {
            "initial_learning_rate": rate, "decay_steps": 1,
            "decay_rate": mine["decay"], "staircase": False,
            "name": "InverseTimeDecay"}, False, "keras.optimizers.schedules")
    config = {"name": mine["name"], "learning_rate": rate,
              "clipnorm": mine["clipnorm"], "global_clipnorm": None,
              "clipvalue": mine["clipvalue"]}
    if not legacy:
        config.update(weight_decay=None, use_ema=False, ema_momentum=0.99,
                      ema_overwrite_frequency=None, loss_scale_factor=None,
                      gradient_accumulation_steps=None)
    config.update({key: mine[key] for key in _OPTIMIZER_KEYS[cls]})
    return _serialized(cls, config, legacy, "keras.optimizers")


def _loss_to_keras(loss, legacy: bool):
    if loss is None:
        return None
    mine = loss.get_config()
    cls = type(loss).__name__
    if not mine.get("from_logits") and not mine.get("label_smoothing"):
        return _LOSS_NAMES[cls]
    return _serialized(cls, {**mine, "reduction": "sum_over_batch_size"}, legacy,
                       "keras.losses")


def _serialized(cls: str, config: dict, legacy: bool, module: str) -> dict:
    if legacy:
        return {"class_name": cls, "config": config}
    return {"module": module, "class_name": cls, "config": config,
            "registered_name": None}
