"""``models.load_model(path)`` and ``models.save_model(model, path)``.

The file format itself (a ZIP of JSON and NumPy arrays, never pickle) is
:mod:`convsim.models.archive`; here a model is re-created from it: the
architecture through the closed registry of convsim's layer classes
(:func:`convsim.layers.deserialize`), then the weights, the compile settings,
the optimizer state and the random generators, so training resumes exactly.
"""

from __future__ import annotations

from convsim.models import archive
from convsim.models.archive import ModelFileError
from convsim.models.model import Model
from convsim.models.sequential import Sequential

__all__ = ["ModelFileError", "load_model", "save_model"]


def save_model(model, filepath, overwrite=True) -> None:
    """Same as ``model.save(filepath)``."""
    archive.save_model(model, filepath, overwrite=overwrite)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Re-create a model saved with ``model.save`` (weights, compile settings and
    optimizer state included), ready to ``predict`` or to continue ``fit``.

    ``safe_mode`` is accepted for Keras's signature: convsim files hold no code,
    so loading one is always safe.

    Raises:
        FileNotFoundError: no such file.
        ModelFileError (an OSError): not a convsim model file, or damaged.
    """
    contents = archive.read_model_file(filepath)
    cls = Sequential if contents.class_name == "Sequential" else Model
    try:
        model = cls.from_config(contents.config, custom_objects)
        archive.restore(model, contents, custom_objects, compile)
    except ModelFileError:
        raise
    except (KeyError, ValueError, TypeError) as err:
        raise archive.damaged(contents.path, err) from err
    return model
