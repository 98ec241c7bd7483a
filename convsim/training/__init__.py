"""Training: ``compile``/``fit``/``evaluate``/``predict`` and what they use.

:mod:`~convsim.training.trainer` (the Trainer every model inherits),
:mod:`~convsim.training.callbacks` (History, EarlyStopping, ModelCheckpoint, the
progress bar's callback), :mod:`~convsim.training.progbar` (Keras's progress
line), :mod:`~convsim.training.data_adapters` (arrays and generators into
batches) and :mod:`~convsim.training.history_file` (a run's history as JSON).
"""

from convsim.training.trainer import Trainer

__all__ = ["Trainer"]
