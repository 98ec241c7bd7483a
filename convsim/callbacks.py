"""Keras's ``callbacks`` namespace: ``from convsim import callbacks``.

The callbacks live with the rest of training, in
:mod:`convsim.training.callbacks` (``BackupAndRestore``: in
:mod:`convsim.training.backup`); this module gives them Keras's import path.
"""

from convsim.training.backup import BackupAndRestore
from convsim.training.callbacks import (
    Callback,
    EarlyStopping,
    History,
    ModelCheckpoint,
    ProgbarLogger,
)

__all__ = ["BackupAndRestore", "Callback", "EarlyStopping", "History",
           "ModelCheckpoint", "ProgbarLogger"]
