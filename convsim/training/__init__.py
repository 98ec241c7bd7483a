"""Training: ``compile``/``fit``/``evaluate``/``predict`` and what they use.

:mod:`~convsim.training.trainer` (the Trainer every model inherits),
:mod:`~convsim.training.loop` (the epochs and batches of one ``fit``, and
where they are), :mod:`~convsim.training.callbacks` (History, EarlyStopping,
ModelCheckpoint, the progress bar's callback), :mod:`~convsim.training.backup`
(BackupAndRestore) with :mod:`~convsim.training.checkpoint` (its file) and
:mod:`~convsim.training.interrupts` (Ctrl+C between batches, never inside a
kernel), :mod:`~convsim.training.progbar` (Keras's progress line),
:mod:`~convsim.training.data_adapters` (arrays and generators into batches)
and :mod:`~convsim.training.history_file` (a run's history as JSON).
"""

from convsim.training.trainer import Trainer

__all__ = ["Trainer"]
