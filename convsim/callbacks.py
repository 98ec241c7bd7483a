"""Keras's ``callbacks`` namespace: ``from convsim import callbacks``.

The callbacks live with the rest of training, in
:mod:`convsim.training.callbacks`; this module gives them Keras's import path.
"""

from convsim.training.callbacks import (
    Callback,
    EarlyStopping,
    History,
    ModelCheckpoint,
    ProgbarLogger,
)

__all__ = ["Callback", "EarlyStopping", "History", "ModelCheckpoint", "ProgbarLogger"]
