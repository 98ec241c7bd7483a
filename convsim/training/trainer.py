"""compile / fit / evaluate / predict, shared by ``Sequential`` and ``Model``.

One training step is exactly what chapter 2 of the book describes:

1. forward pass on a batch (``training=True``: Dropout active, layers keep what
   their backward pass needs);
2. the loss, averaged over the batch, and its gradient with respect to the
   predictions;
3. backward pass, layer by layer from the output, filling ``variable.grad``;
4. one optimizer update of every trainable weight.

Data can be NumPy arrays (``fit(x, y, batch_size=64)``) or, like
``fit_generator`` in the book, an iterator yielding ``(x_batch, y_batch)``
(e.g. ``flow_from_directory``), with ``steps_per_epoch`` batches per epoch.
"""

from __future__ import annotations

import math

import numpy as np
from rich.console import Console

from convsim import losses, metrics, optimizers
from convsim.errors import ArgumentError, NotReadyError, WrongTypeError
from convsim.layers.base import ActivatedLayer
from convsim.random import make_rng
from convsim.training import interrupts
from convsim.training.backup import BackupAndRestore
from convsim.training.callbacks import CallbackList, History, ProgbarLogger
from convsim.training.data_adapters import (
    array_batches,
    iterator_batches,
    split_validation,
    standardize_arrays,
)
from convsim.training.loop import FitData, FitLoop, Means, is_iterator
from convsim.training.progbar import Progbar
from convsim.validation import positive_int

__all__ = ["Trainer"]

_COMPILE_EXTRAS = ("run_eagerly", "jit_compile", "steps_per_execution",
                   "weighted_metrics", "loss_weights", "auto_scale_loss")


class Trainer:
    """Mixin with Keras's training API; the model supplies ``_forward`` and
    ``_backward`` and ``_output_layer``."""

    optimizer = None
    loss = None
    compiled = False
    stop_training = False
    history = None
    _shuffle_rng = None
    _fit_loop = None  # the FitLoop of the fit() in progress (BackupAndRestore)

    # ------------------------------------------------------------ compile
    def compile(self, optimizer="rmsprop", loss=None, metrics=None, **kwargs):
        """Choose the optimizer, the loss and the metrics to report.

        Args:
            optimizer: ``'rmsprop'``, ``'adam'``, ``'sgd'`` or an optimizer object.
            loss: ``'categorical_crossentropy'``, ``'binary_crossentropy'``,
                ``'sparse_categorical_crossentropy'``, ``'mse'`` or a Loss object.
            metrics: e.g. ``['accuracy']`` or ``['acc']`` (names are kept as given).
        """
        unknown = set(kwargs) - set(_COMPILE_EXTRAS)
        if unknown:
            raise WrongTypeError(f"Invalid keyword argument(s) in `compile()`: "
                                 f"{sorted(unknown)}")
        self.optimizer = optimizers.get(optimizer)
        self.loss = None if loss is None else losses.get(loss)
        if isinstance(metrics, (str, dict)) or callable(metrics):
            metrics = [metrics]
        loss_name = self.loss.name if self.loss is not None else None
        self.compiled_metrics = [_metric(m, loss_name) for m in (metrics or [])]
        self._compile_spec = {"optimizer": optimizer, "loss": loss,
                              "metrics": list(metrics or [])}
        self._setup_fused_loss()
        self.compiled = True

    def _setup_fused_loss(self):
        """Fold softmax+crossentropy (or sigmoid+BCE) into one stable step."""
        self._fused_layer = None
        out = self._output_layer()
        for layer in self.layers:
            if isinstance(layer, ActivatedLayer):
                layer.keep_logits = False
        if (self.loss is not None and not self.loss.from_logits
                and isinstance(out, ActivatedLayer)
                and out.activation.name == self.loss.fused_activation):
            out.keep_logits = True
            self._fused_layer = out

    def _require_compiled(self, what):
        if not self.compiled or self.loss is None:
            raise NotReadyError(f"You must call `compile()` with a loss before "
                                f"calling `{what}()`.")

    # ------------------------------------------------------------ one step
    def _loss_and_grad(self, y, y_pred, need_grad):
        """Per-sample losses and dL/d(output) (or dL/dz when fused)."""
        if self._fused_layer is not None:
            logits = self._fused_layer.logits
            values = self.loss.per_sample(y, logits, from_logits=True)
            grad = self.loss.gradient(y, logits, from_logits=True) if need_grad \
                else None
        else:
            values = self.loss.per_sample(y, y_pred)
            grad = self.loss.gradient(y, y_pred) if need_grad else None
        return values, grad

    def train_on_batch(self, x, y, return_dict=False):
        """One gradient step on one batch; returns the batch's loss (and metrics)."""
        self._require_compiled("train_on_batch")
        logs = self._train_step(*standardize_arrays(x, y), Means())
        return self._format_results(logs, return_dict)

    def _train_step(self, x, y, means):
        y_pred = self._forward(x, training=True)
        values, grad = self._loss_and_grad(y, y_pred, need_grad=True)
        self._backward(grad / np.float32(len(values)),
                       fused=self._fused_layer is not None)
        variables = self.trainable_weights
        self.optimizer.apply([v.grad for v in variables], variables)
        return means.add(self, values, y, y_pred)

    def test_on_batch(self, x, y, return_dict=False):
        self._require_compiled("test_on_batch")
        x, y = standardize_arrays(x, y)
        logs = self._test_step(x, y, Means())
        return self._format_results(logs, return_dict)

    def _test_step(self, x, y, means):
        y_pred = self._forward(x, training=False)
        values, _ = self._loss_and_grad(y, y_pred, need_grad=False)
        return means.add(self, values, y, y_pred)

    def predict_on_batch(self, x):
        return self._forward(np.asarray(x), training=False)

    # ------------------------------------------------------------ fit
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
            callbacks=None, validation_split=0.0, validation_data=None,
            shuffle=True, class_weight=None, sample_weight=None, initial_epoch=0,
            steps_per_epoch=None, validation_steps=None, validation_batch_size=None,
            validation_freq=1, console: Console | None = None) -> History:
        """Train for ``epochs`` epochs; returns a :class:`History`.

        ``x`` is an array (with labels ``y``) or an iterator of ``(x, y)`` batches.
        ``console`` (convsim extra) is where the progress bar is drawn.

        Ctrl+C stops training after the current batch (never inside a kernel)
        with :class:`~convsim.training.interrupts.TrainingInterrupted`, a
        ``KeyboardInterrupt``; with a
        :class:`~convsim.training.backup.BackupAndRestore` callback a checkpoint
        is saved first, and the next ``fit`` with it continues exactly there
        (the returned History then holds the whole run, earlier epochs too).
        """
        self._require_compiled("fit")
        if class_weight is not None or sample_weight is not None:
            raise ArgumentError("convsim does not support `class_weight` or "
                                "`sample_weight` yet.")
        verbose = 1 if verbose == "auto" else int(verbose)
        console = console or Console()
        if self._shuffle_rng is None:
            self._shuffle_rng = make_rng()
        data = self._fit_data(x, y, batch_size, epochs, shuffle, initial_epoch,
                              steps_per_epoch, validation_split, validation_data,
                              validation_steps, validation_batch_size,
                              validation_freq)
        self._maybe_build_from(data.x, data.is_array)
        history = History()
        cbs = _ordered(history, ProgbarLogger(verbose) if verbose else None,
                       callbacks or [])
        params = {"epochs": data.epochs, "steps": data.steps, "verbose": verbose}
        loop = FitLoop(self, data, CallbackList(cbs, self, params, console),
                       history, console)
        self.stop_training = False
        self._fit_loop = loop
        try:
            loop.run()
        except BaseException:  # e.g. Ctrl+C: leave the terminal tidy
            for callback in cbs:
                if isinstance(callback, ProgbarLogger):
                    callback.close()
            raise
        finally:
            self._fit_loop = None
        self.history = history
        return history

    def _fit_data(self, x, y, batch_size, epochs, shuffle, initial_epoch,
                  steps_per_epoch, validation_split, validation_data,
                  validation_steps, validation_batch_size,
                  validation_freq) -> FitData:
        """What :meth:`fit` was given, checked: arrays (split for
        ``validation_split``, Keras's rule: the last fraction, before
        shuffling) and their steps per epoch, or an iterator and its steps."""
        batch_size = (32 if batch_size is None
                      else positive_int(batch_size, "batch_size"))
        common = {"batch_size": batch_size, "shuffle": bool(shuffle),
                  "epochs": positive_int(epochs, "epochs", allow_zero=True),
                  "initial_epoch": positive_int(initial_epoch, "initial_epoch",
                                                allow_zero=True),
                  "validation_steps": validation_steps,
                  "validation_batch_size": validation_batch_size or batch_size,
                  "validation_freq": positive_int(validation_freq,
                                                  "validation_freq")}
        if is_iterator(x):
            if y is not None:
                raise ArgumentError("`y` must be None when `x` is an iterator of "
                                    "(x, y) batches.")
            steps = steps_per_epoch if steps_per_epoch is not None else _len(x)
            if steps_per_epoch is None and steps == 0:
                raise ArgumentError("The training iterator is empty (its length is "
                                    "0): `fit` needs at least one sample.")
            if steps is not None:
                steps = positive_int(steps, "steps_per_epoch")
            return FitData(x, y, False, steps=steps,
                           validation_data=validation_data, **common)
        x, y = standardize_arrays(x, y)
        if len(x) == 0:
            raise ArgumentError(f"`fit` received 0 samples (x.shape={x.shape}): "
                                "there is nothing to train on.")
        if validation_split:
            if validation_data is not None:
                raise ArgumentError("Pass either `validation_data` or "
                                    "`validation_split`, not both.")
            x, y, validation_data = split_validation(x, y, validation_split)
        steps = math.ceil(len(x) / batch_size)
        if steps_per_epoch is not None:
            steps = min(steps, positive_int(steps_per_epoch, "steps_per_epoch"))
        return FitData(x, y, True, steps=steps, validation_data=validation_data,
                       **common)

    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, verbose=1,
                      callbacks=None, validation_data=None, validation_steps=None,
                      validation_freq=1, class_weight=None, max_queue_size=10,
                      workers=1, use_multiprocessing=False, shuffle=True,
                      initial_epoch=0, console=None) -> History:
        """Deprecated Keras 2 name for ``fit`` with an iterator (kept for the book).

        ``max_queue_size``, ``workers`` and ``use_multiprocessing`` are accepted
        and ignored: batches are produced in the training thread.
        """
        return self.fit(generator, steps_per_epoch=steps_per_epoch, epochs=epochs,
                        verbose=verbose, callbacks=callbacks,
                        validation_data=validation_data,
                        validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight,
                        shuffle=shuffle, initial_epoch=initial_epoch, console=console)

    # ------------------------------------------------------------ evaluate
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto",
                 sample_weight=None, steps=None, callbacks=None, return_dict=False,
                 console: Console | None = None):
        """Loss (and metrics) over the data: ``test_loss, test_acc = evaluate(...)``."""
        self._require_compiled("evaluate")
        if sample_weight is not None:
            raise ArgumentError("convsim does not support `sample_weight` yet.")
        verbose = 1 if verbose == "auto" else int(verbose)
        source = x if is_iterator(x) else (x, y)
        if is_iterator(x) and y is not None:
            raise ArgumentError("`y` must be None when `x` is an iterator.")
        with interrupts.deferred():
            logs = self._evaluate_source(source, steps, batch_size or 32, verbose,
                                         console or Console())
        return self._format_results(logs, return_dict)

    def evaluate_generator(self, generator, steps=None, verbose=0, **kwargs):
        """Deprecated Keras 2 name for ``evaluate`` with an iterator."""
        return self.evaluate(generator, steps=steps, verbose=verbose,
                             console=kwargs.get("console"))

    def _evaluate_source(self, data, steps, batch_size, verbose=0, console=None,
                         after_batch=None):
        """The loss and metrics over ``data``; ``after_batch()`` runs after each
        batch (by default: stop there if Ctrl+C was pressed)."""
        if is_iterator(data):
            if steps is None:
                steps = _len(data)
                if steps is None:
                    raise ArgumentError("`validation_steps` (or `steps`) is required "
                                        "when the validation data is an iterator "
                                        "without a length.")
            batches = iterator_batches(data, steps)
        else:
            if not isinstance(data, (tuple, list)) or len(data) != 2:
                raise ArgumentError("`validation_data` must be a tuple (x_val, y_val) "
                                    "or an iterator of (x, y) batches (sample weights "
                                    f"are not supported). Received: {type(data)}")
            x, y = standardize_arrays(data[0], data[1])
            n_batches = math.ceil(len(x) / batch_size)
            steps = n_batches if steps is None else min(steps, n_batches)
            batches = array_batches(x, y, batch_size, None, steps)
        bar = Progbar(steps, console, verbose=verbose) if verbose else None
        means = Means()
        logs, done = {}, 0
        for xb, yb in batches:
            logs = self._test_step(xb, yb, means)
            done += 1
            if bar:
                bar.update(done, logs)
            if after_batch is not None:
                after_batch()
            else:
                interrupts.check(lambda n=done: f"during evaluation after "
                                                f"batch {n}/{steps}")
        if done == 0:
            raise ArgumentError("The evaluation data produced no batches.")
        if bar:
            bar.update(done, logs, finalize=True)
        return logs

    def _format_results(self, logs, return_dict):
        if return_dict:
            return dict(logs)
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    # ------------------------------------------------------------ predict
    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                console: Console | None = None):
        """Outputs for ``x``, computed ``batch_size`` (default 32) samples at a time.

        Models with several outputs return a list of arrays, one per output.
        """
        verbose = 1 if verbose == "auto" else int(verbose)
        if is_iterator(x):
            steps = steps if steps is not None else _len(x)
            batches = (xb for xb, _ in iterator_batches(x, steps, need_y=False))
        else:
            x = standardize_arrays(x, None)[0]
            size = batch_size or 32
            n = math.ceil(len(x) / size)
            steps = n if steps is None else min(steps, n)
            batches = (x[i * size:(i + 1) * size] for i in range(steps))
        bar = Progbar(steps, console or Console(), verbose=verbose) if verbose else None
        chunks = []
        with interrupts.deferred():
            for step, xb in enumerate(batches):
                out = self._forward(xb, training=False)
                chunks.append(out if isinstance(out, list) else [out])
                if bar:
                    bar.update(step + 1)
                interrupts.check(lambda: f"during prediction after batch "
                                         f"{len(chunks)}/{steps}")
        if bar:
            bar.update(len(chunks), finalize=True)
        if not chunks:
            raise ArgumentError("predict() received no data.")
        outputs = [np.concatenate(parts) for parts in zip(*chunks, strict=False)]
        return outputs if self._multi_output else outputs[0]

    def predict_generator(self, generator, steps=None, verbose=0, **kwargs):
        """Deprecated Keras 2 name for ``predict`` with an iterator."""
        return self.predict(generator, steps=steps, verbose=verbose,
                            console=kwargs.get("console"))

    def _maybe_build_from(self, x, is_array):
        if not self.built and is_array:
            self.build((None, *np.shape(x)[1:]))


def _metric(identifier, loss_name):
    return metrics.get(identifier, loss_name)


def _ordered(history, progbar, callbacks) -> list:
    """The callbacks in the order ``fit`` calls them: the History first, the
    progress bar, yours, and BackupAndRestore last, so that the checkpoint
    it writes at an epoch's end holds the other callbacks' state after that
    epoch."""
    callbacks = list(callbacks)
    backups = [c for c in callbacks if isinstance(c, BackupAndRestore)]
    others = [c for c in callbacks if not isinstance(c, BackupAndRestore)]
    return [history, *([progbar] if progbar else []), *others, *backups]


def _len(x):
    try:
        return len(x)
    except TypeError:
        return None

