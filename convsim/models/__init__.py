"""Keras-named models: ``models.Sequential``, ``models.Model``, ``models.load_model``.

One module per job: :mod:`~convsim.models.model` (the functional Model),
:mod:`~convsim.models.sequential`, :mod:`~convsim.models.summary`
(``model.summary()``), :mod:`~convsim.models.archive` (the model file format)
and :mod:`~convsim.models.saving` (``load_model``).
"""

from convsim.errors import ModelFileError
from convsim.models.model import Model
from convsim.models.saving import load_model, save_model
from convsim.models.sequential import Sequential

__all__ = ["Model", "ModelFileError", "Sequential", "load_model", "save_model"]
