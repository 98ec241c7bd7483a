"""Callbacks: code that ``fit`` runs at the start and end of epochs and batches.

``History`` (returned by ``fit``), ``EarlyStopping`` and ``ModelCheckpoint``
behave like Keras's. Subclass :class:`Callback` for your own::

    class PrintLoss(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            print(epoch, logs["loss"])

The progress bar itself is a callback too (:class:`ProgbarLogger`, added by
``fit`` when ``verbose`` is 1 or 2), drawn with rich on the console you pass.
"""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console

from convsim.errors import ArgumentError, WrongTypeError
from convsim.training.progbar import WORDS, Progbar

__all__ = ["Callback", "CallbackList", "EarlyStopping", "History",
           "ModelCheckpoint", "ProgbarLogger"]


class Callback:
    """Base class: override any ``on_...`` method. ``self.model`` is the model
    being trained and ``self.params`` holds ``epochs``, ``steps`` and ``verbose``.
    Set ``self.model.stop_training = True`` to stop after the current epoch."""

    def __init__(self):
        self.model = None
        self.params: dict = {}
        self.console: Console | None = None

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = dict(params)

    def _print(self, message: str) -> None:
        (self.console or Console()).print(message, markup=False, highlight=False)

    def on_train_begin(self, logs=None): ...
    def on_train_end(self, logs=None): ...
    def on_epoch_begin(self, epoch, logs=None): ...
    def on_epoch_end(self, epoch, logs=None): ...
    def on_train_batch_begin(self, batch, logs=None): ...
    def on_train_batch_end(self, batch, logs=None): ...
    def on_test_begin(self, logs=None): ...
    def on_test_end(self, logs=None): ...
    def on_test_batch_begin(self, batch, logs=None): ...
    def on_test_batch_end(self, batch, logs=None): ...


class CallbackList:
    """Calls the same hook on every callback, in order."""

    def __init__(self, callbacks, model, params, console):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise WrongTypeError(f"`callbacks` must be a list of Callback objects. "
                                     f"Received: {cb!r}")
            cb.set_model(model)
            cb.set_params(params)
            if cb.console is None:
                cb.console = console

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call_all(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)

        return call_all


class History(Callback):
    """Records every epoch's logs: ``history.history['val_loss']`` etc."""

    def __init__(self):
        super().__init__()
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for key, value in (logs or {}).items():
            self.history.setdefault(key, []).append(value)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """``Epoch 1/5`` then a live bar per epoch (verbose=1) or one line (verbose=2);
    ``lang="ko"``: in Korean (``에포크 1/5``, ``ms/스텝``)."""

    def __init__(self, verbose=1, clock=None, lang: str = "en"):
        super().__init__()
        self.verbose = verbose
        self.clock = clock
        self.lang = lang
        self._bar: Progbar | None = None
        self._seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        epoch_word = WORDS.get(self.lang, WORDS["en"])["epoch"]
        self._print(f"{epoch_word} {epoch + 1}/{self.params.get('epochs', '?')}")
        self._bar = Progbar(self.params.get("steps"), self.console or Console(),
                            verbose=self.verbose, clock=self.clock, lang=self.lang)
        # a resumed epoch starts where the stopped run left it (training.loop)
        self._seen = getattr(self.model, "_epoch_first_step", 0)

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        self._bar.update(self._seen, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        self._bar.update(self._seen, logs or {}, finalize=True)

    def close(self):
        """Stop a live bar left running by an exception."""
        if self._bar is not None:
            self._bar.close()


def _monitor_op(monitor: str, mode: str):
    allowed = ("auto", "min", "max")
    if mode not in allowed:
        raise ArgumentError(f"`mode` must be one of {allowed}. Received: mode={mode!r}")
    if mode == "auto":
        maximize = monitor.endswith(("acc", "accuracy", "auc"))
        mode = "max" if maximize else "min"
    return (np.greater, -math.inf) if mode == "max" else (np.less, math.inf)


def _monitored(logs, monitor, who):
    logs = logs or {}
    if monitor not in logs:
        raise ArgumentError(
            f"{who} is watching `monitor={monitor!r}`, but the logs only have "
            f"{sorted(logs)}. (val_ keys need validation_data or validation_split.)"
        )
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop training when ``monitor`` has stopped improving for ``patience`` epochs.

    Args:
        monitor: a key of the logs, e.g. ``'val_loss'`` (default) or ``'val_acc'``.
        min_delta: smallest change that counts as an improvement.
        patience: epochs without improvement before stopping.
        mode: ``'min'``, ``'max'`` or ``'auto'`` (max for accuracies).
        baseline: stop unless the model beats this value within ``patience``.
        restore_best_weights: put back the weights of the best epoch at the end.
        start_from_epoch: epochs to wait before watching at all.
    """

    def __init__(self, monitor="val_loss", min_delta=0.0, patience=0, verbose=0,
                 mode="auto", baseline=None, restore_best_weights=False,
                 start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose = monitor, int(patience), verbose
        self.baseline, self.restore_best_weights = baseline, restore_best_weights
        self.start_from_epoch = int(start_from_epoch)
        self.monitor_op, self._initial = _monitor_op(monitor, mode)
        self.min_delta = abs(min_delta) * (1 if self.monitor_op is np.greater else -1)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_epoch = 0, 0, 0
        self.best, self.best_weights = self._initial, None

    def _improved(self, current, reference):
        return bool(self.monitor_op(current - self.min_delta, reference))

    def on_epoch_end(self, epoch, logs=None):
        if epoch < self.start_from_epoch:
            return
        current = _monitored(logs, self.monitor, "EarlyStopping")
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = self.model.get_weights()
        self.wait += 1
        if self._improved(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improved(current, self.baseline):
                self.wait = 0
                return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def _checkpoint_state(self) -> dict:
        """What a checkpoint keeps (BackupAndRestore): the best value so far."""
        return {"wait": self.wait, "stopped_epoch": self.stopped_epoch,
                "best": float(self.best), "best_epoch": self.best_epoch,
                "best_weights": self.best_weights}

    def _restore_checkpoint_state(self, state: dict) -> None:
        self.wait, self.stopped_epoch = int(state["wait"]), int(state["stopped_epoch"])
        self.best, self.best_epoch = float(state["best"]), int(state["best_epoch"])
        self.best_weights = state["best_weights"]

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose:
            self._print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose:
                self._print("Restoring model weights from the end of the best "
                            f"epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class ModelCheckpoint(Callback):
    """Save the model (or only its weights) after epochs.

    Args:
        filepath: where to save; may contain fields such as
            ``'model-{epoch:02d}-{val_loss:.2f}.convsim'``.
        monitor, mode: what "best" means when ``save_best_only``.
        save_best_only: only save when ``monitor`` improved.
        save_weights_only: ``model.save_weights`` instead of ``model.save``.
        save_freq: ``'epoch'`` or a number of batches.
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath, self.monitor, self.verbose = str(filepath), monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ArgumentError(f"Unrecognized save_freq: {save_freq!r}. Expected "
                                "save_freq to be 'epoch' or a positive integer.")
        self.save_freq = save_freq
        self.monitor_op, initial = _monitor_op(monitor, mode)
        self.best = initial if initial_value_threshold is None else float(
            initial_value_threshold)
        self._batches = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def _checkpoint_state(self) -> dict:
        """What a checkpoint keeps (BackupAndRestore): the best value so far."""
        return {"best": float(self.best), "batches": self._batches}

    def _restore_checkpoint_state(self, state: dict) -> None:
        self.best, self._batches = float(state["best"]), int(state["batches"])

    def on_train_batch_end(self, batch, logs=None):
        if isinstance(self.save_freq, int):
            self._batches += 1
            if self._batches % self.save_freq == 0:
                self._save(self._epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, logs)

    def _save(self, epoch, logs):
        logs = logs or {}
        try:
            path = self.filepath.format(epoch=epoch + 1, **logs)
        except KeyError as err:
            raise KeyError(f"Failed to format the ModelCheckpoint filepath "
                           f"{self.filepath!r}: no log named {err} (logs: "
                           f"{sorted(logs)})") from None
        if self.save_best_only:
            current = _monitored(logs, self.monitor, "ModelCheckpoint")
            if not self.monitor_op(current, self.best):
                if self.verbose:
                    self._print(f"Epoch {epoch + 1}: {self.monitor} did not improve "
                                f"from {self.best:.5f}")
                return
            if self.verbose:
                self._print(f"Epoch {epoch + 1}: {self.monitor} improved from "
                            f"{self.best:.5f} to {current:.5f}, saving model to "
                            f"{path}")
            self.best = current
        elif self.verbose:
            self._print(f"Epoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path)
        else:
            self.model.save(path)
