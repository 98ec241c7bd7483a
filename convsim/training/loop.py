"""The epochs and batches of one ``fit`` call, and where they are.

:class:`FitLoop` runs what ``fit`` promises (epochs of training steps, a
validation pass, the callbacks' hooks) and always knows its position: the
epoch in progress, the batches of it done, the epoch's running sums of the
loss and metrics, the shuffle generator's state when the epoch began and how
many batches it took from iterator data. That position is what a checkpoint
holds (:meth:`FitLoop.capture`), and what a resumed ``fit`` starts from
(:meth:`FitLoop.restore`): the same permutation, the first ``step`` batches
left out, the iterators moved on with ``skip``, every random generator where
it was, so the continued run is bit-identical to one never stopped.

Ctrl+C is acted on only between batches (:mod:`convsim.training.interrupts`):
``BackupAndRestore`` callbacks save a checkpoint there, then
:class:`~convsim.training.interrupts.TrainingInterrupted` is raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from convsim.errors import ArgumentError, FileError
from convsim.training import interrupts
from convsim.training.backup import BackupAndRestore
from convsim.training.checkpoint import Checkpoint
from convsim.training.data_adapters import array_batches, iterator_batches

__all__ = ["FitData", "FitLoop", "Means", "is_iterator"]

_RAN_OUT = ("Your input ran out of data; interrupting training. Make sure that your "
            "dataset or generator can generate at least `steps_per_epoch * epochs` "
            "batches (here {} * {}).")


class Means:
    """Running, sample-weighted means of the loss and metrics over an epoch."""

    def __init__(self, sums: dict | None = None, count: int = 0):
        self.sums: dict[str, float] = dict(sums or {})
        self.count = int(count)

    def add(self, model, loss_values, y, y_pred) -> dict:
        n = len(loss_values)
        self.count += n
        batch = {"loss": float(np.sum(loss_values, dtype=np.float64))}
        for metric in model.compiled_metrics:
            values = np.asarray(metric.fn(y, y_pred), dtype=np.float64)
            batch[metric.name] = float(values.sum() if values.ndim else values * n)
        for key, value in batch.items():
            self.sums[key] = self.sums.get(key, 0.0) + value
        return self.logs()

    def logs(self) -> dict:
        return {key: total / self.count for key, total in self.sums.items()}


@dataclass
class FitData:
    """What ``fit`` was given, checked (see ``Trainer._fit_data``)."""

    x: Any
    y: Any
    is_array: bool
    batch_size: int
    shuffle: bool
    steps: int | None
    epochs: int
    initial_epoch: int
    validation_data: Any
    validation_steps: int | None
    validation_batch_size: int
    validation_freq: int


class FitLoop:
    """One ``fit``: ``run()`` it; callbacks find it as ``model._fit_loop``."""

    def __init__(self, model, data: FitData, callbacks, history, console):
        self.model, self.data, self.cb = model, data, callbacks
        self.history, self.console = history, console
        self.epoch, self.step = data.initial_epoch, 0
        self.means = Means()
        self.shuffle_state = None  # the shuffle generator's, as the epoch began
        self.epoch_begun = False
        self.validating = False
        self.train_batches = 0  # taken from an iterator x, since the run began
        self.validation_batches = 0  # ... from iterator validation data
        self.resume_from: Checkpoint | None = None  # set by BackupAndRestore

    # ------------------------------------------------------------ running
    def run(self) -> dict:
        """Train until ``epochs`` (or a stop); returns the last epoch's logs."""
        with interrupts.deferred():
            self.cb.on_train_begin()
            if self.resume_from is not None:
                self.restore(self.resume_from)
            logs = {}
            trained = False
            while self.epoch < self.data.epochs and not self.model.stop_training:
                epoch_logs = self._epoch()
                if epoch_logs is None:
                    if not trained:
                        raise ArgumentError("The training data produced no batches: "
                                            "`fit` needs at least one sample.")
                    self.console.print(_RAN_OUT.format(self.data.steps,
                                                       self.data.epochs), markup=False)
                    break
                logs, trained = epoch_logs, True
            self.cb.on_train_end(logs)
        return logs

    def _epoch(self) -> dict | None:
        """The rest of the current epoch; its logs, or None if no batch came."""
        # Batches of this epoch trained before a resume: the progress bar
        # counts on from there rather than from 0.
        self.model._epoch_first_step = self.step
        self.cb.on_epoch_begin(self.epoch)
        for xb, yb in self._batches():
            self.cb.on_train_batch_begin(self.step)
            logs = self.model._train_step(xb, yb, self.means)
            self.step += 1
            if not self.data.is_array:
                self.train_batches += 1
            self.cb.on_train_batch_end(self.step - 1, logs)
            self._check()
        if self.means.count == 0:
            return None
        logs = self.means.logs()
        if (self.data.validation_data is not None
                and (self.epoch + 1) % self.data.validation_freq == 0):
            logs.update({f"val_{k}": v for k, v in self._validate().items()})
        finished = self.epoch
        self.epoch, self.step, self.means = self.epoch + 1, 0, Means()
        self.epoch_begun = False
        self.cb.on_epoch_end(finished, logs)
        self._check()
        return logs

    def _batches(self):
        """This epoch's batches from ``step`` on; arrays are shuffled with a
        permutation drawn from the shuffle generator as the epoch begins."""
        data, rng = self.data, self.model._shuffle_rng
        self.shuffle_state = None if rng is None else rng.bit_generator.state
        self.epoch_begun = True
        if not data.is_array:
            return iterator_batches(data.x, data.steps, start=self.step)
        order = rng.permutation(len(data.x)) if data.shuffle else None
        return array_batches(data.x, data.y, data.batch_size, order, data.steps,
                             self.step)

    def _validate(self) -> dict:
        taken = 0

        def after_batch():
            nonlocal taken
            taken += 1
            self._check()

        self.validating = True
        data = self.data
        logs = self.model._evaluate_source(data.validation_data, data.validation_steps,
                                           data.validation_batch_size,
                                           after_batch=after_batch)
        self.validating = False
        if is_iterator(data.validation_data):
            self.validation_batches += taken
        return logs

    # ------------------------------------------------------------ Ctrl+C
    def _check(self) -> None:
        interrupts.check(self.where, self._save_on_stop)

    def where(self) -> str:
        """Where training stands, e.g. ``"in epoch 2/5 after batch 41/100"``."""
        steps = self.data.steps or "?"
        if self.validating:
            return (f"in epoch {self.epoch + 1}/{self.data.epochs} during validation "
                    f"(all {self.step} batches trained; validation runs again)")
        if self.step == 0:
            return f"after epoch {self.epoch}/{self.data.epochs}"
        return (f"in epoch {self.epoch + 1}/{self.data.epochs} after batch "
                f"{self.step}/{steps}")

    def _save_on_stop(self):
        saved = None
        for callback in self.cb.callbacks:
            if isinstance(callback, BackupAndRestore):
                try:
                    saved = callback.save_now()
                except (OSError, FileError) as err:
                    self.console.print(f"Could not save the checkpoint: {err}",
                                       markup=False, highlight=False)
        return saved

    # ------------------------------------------------------------ checkpoints
    def capture(self, settings: dict | None = None) -> Checkpoint:
        """The run's complete state now, between two batches."""
        model, data = self.model, self.data
        progress = {"epoch": self.epoch, "step": self.step, "steps": data.steps,
                    "epochs": data.epochs, "stopped": bool(model.stop_training)}
        if data.is_array:
            progress.update(samples=len(data.x), batch_size=data.batch_size)
        rng = model._shuffle_rng
        shuffle = None if rng is None else (
            self.shuffle_state if self.epoch_begun else rng.bit_generator.state)
        optimizer = model.optimizer
        return Checkpoint(
            progress=progress, weights=[w.numpy() for w in model.weights],
            weight_names=[w.path for w in model.weights],
            optimizer=optimizer.get_state() if optimizer.built else None,
            sums=dict(self.means.sums), count=self.means.count,
            history={k: list(v) for k, v in self.history.history.items()},
            epochs_done=list(self.history.epoch),
            rng={"shuffle": shuffle,
                 "layers": [[layer.name, rng.bit_generator.state]
                            for layer, rng in _layer_rngs(model)]},
            data={"train_batches": self.train_batches,
                  "validation_batches": self.validation_batches},
            callbacks={key: callback._checkpoint_state()
                       for key, callback in self._stateful_callbacks()},
            settings=dict(settings or {}))

    def restore(self, checkpoint: Checkpoint) -> None:
        """Continue from ``checkpoint`` (after ``on_train_begin``)."""
        self._check_matches(checkpoint)
        model = self.model
        _set_rngs(model, checkpoint.rng, self._name(checkpoint))
        if checkpoint.optimizer is not None:
            model.optimizer.set_state(checkpoint.optimizer, model.trainable_weights)
        for variable, value in zip(model.weights, checkpoint.weights, strict=True):
            variable.assign(value)
        progress = checkpoint.progress
        self.epoch, self.step = progress["epoch"], progress["step"]
        model.stop_training = bool(progress.get("stopped", False))
        self.means = Means(checkpoint.sums, checkpoint.count)
        self.history.history = {k: list(v) for k, v in checkpoint.history.items()}
        self.history.epoch = list(checkpoint.epochs_done)
        model.history = self.history
        states = checkpoint.callbacks
        for key, callback in self._stateful_callbacks():
            if key in states:
                try:
                    callback._restore_checkpoint_state(states[key])
                except (KeyError, TypeError, ValueError, AttributeError) as err:
                    raise ArgumentError(
                        f"{self._name(checkpoint)!r} holds a state for {key} that "
                        f"cannot be used ({type(err).__name__}: {err}).") from None
        self.train_batches = int(checkpoint.data.get("train_batches", 0))
        self.validation_batches = int(checkpoint.data.get("validation_batches", 0))
        self._move_on(self.data.x, self.train_batches, "training data")
        self._move_on(self.data.validation_data, self.validation_batches,
                      "validation data")

    def _check_matches(self, checkpoint: Checkpoint) -> None:
        """Refuse a checkpoint of another model or another kind of data."""
        where = self._name(checkpoint)
        shapes = [tuple(w.shape) for w in self.model.weights]
        saved = [tuple(w.shape) for w in checkpoint.weights]
        if shapes != saved:
            raise ArgumentError(f"{where!r} holds the weights of another model "
                                f"({len(saved)} arrays, shapes {saved[:3]}...); this "
                                f"model has {len(shapes)}: {shapes[:3]}...")
        progress, data = checkpoint.progress, self.data
        now = ({"samples": len(data.x), "batch_size": data.batch_size}
               if data.is_array else {})
        now["steps"] = data.steps
        for key, value in now.items():
            if key in progress and progress[key] != value:
                raise ArgumentError(
                    f"{where!r} was written by a fit with {key}={progress[key]}; "
                    f"this fit has {key}={value}. Resume with the same data and "
                    "arguments (or use another backup_dir to start afresh).")

    @staticmethod
    def _name(checkpoint: Checkpoint) -> str:
        return str(checkpoint.path) if checkpoint.path else "the checkpoint"

    def _move_on(self, source, batches: int, what: str) -> None:
        """Move an iterator on past the ``batches`` the stopped run took."""
        if not batches or source is None or not is_iterator(source):
            return
        if callable(getattr(type(source), "skip", None)):
            source.skip(batches)
            return
        self.console.print(
            f"Note: the {what} ({type(source).__name__}) has no skip() method, so "
            f"it cannot be moved on past the {batches} batches the stopped run "
            "used: the resumed run sees other batches than an unbroken one.",
            markup=False, highlight=False)

    def _stateful_callbacks(self):
        """``(key, callback)`` for callbacks whose state a checkpoint keeps."""
        seen: dict[str, int] = {}
        for callback in self.cb.callbacks:
            if hasattr(callback, "_checkpoint_state"):
                name = type(callback).__name__
                seen[name] = seen.get(name, -1) + 1
                yield f"{name}.{seen[name]}", callback


def _layer_rngs(model):
    """``(layer, generator)`` for the layers that draw random numbers while
    training (Dropout's masks), in the model's order."""
    for layer in model.layers:
        rng = getattr(layer, "rng", None)
        if isinstance(rng, np.random.Generator):
            yield layer, rng


def _set_rngs(model, states: dict, where: str) -> None:
    """Put the generators where the checkpoint says (layers by position: a
    model rebuilt in the same process may have other layer names)."""
    layers = list(_layer_rngs(model))
    saved = states.get("layers", [])
    if len(saved) != len(layers):
        raise ArgumentError(f"{where!r} holds {len(saved)} layer random generators; "
                            f"this model has {len(layers)} (another model?).")
    try:
        if states.get("shuffle") is not None:
            rng = np.random.default_rng()
            rng.bit_generator.state = states["shuffle"]
            model._shuffle_rng = rng
        for (_, rng), (_, state) in zip(layers, saved, strict=True):
            rng.bit_generator.state = state
    except (TypeError, ValueError, KeyError) as err:
        raise ArgumentError(f"{where!r} holds a random generator state convsim "
                            f"cannot use ({type(err).__name__}: {err}).") from None


def is_iterator(x) -> bool:
    """Whether ``fit`` treats ``x`` as a source of batches (not an array)."""
    return hasattr(x, "__next__") or (hasattr(x, "__iter__") and hasattr(
        x, "__getitem__") and not isinstance(x, (np.ndarray, list, tuple)))
