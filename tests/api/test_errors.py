"""One family of errors: what a user meets when convsim refuses something."""

from __future__ import annotations

import inspect

import numpy as np
import pytest

from convsim import errors, layers, models, ops
from convsim.datasets import errors as dataset_errors
from convsim.lesson.catalog import LessonProtocolError

CLASSIC = (ValueError, TypeError, OSError, RuntimeError)


def family():
    return [cls for _, cls in inspect.getmembers(errors, inspect.isclass)
            if issubclass(cls, errors.ConvsimError)]


def test_every_convsim_error_is_also_a_classic_python_error():
    for cls in family():
        if cls is not errors.ConvsimError:
            assert issubclass(cls, CLASSIC), cls


def test_the_errors_of_other_rooms_belong_to_the_family():
    for cls in (dataset_errors.DatasetNotFoundError, dataset_errors.DownloadError,
                dataset_errors.ChecksumError, dataset_errors.DatasetExistsError,
                models.ModelFileError, LessonProtocolError):
        assert issubclass(cls, errors.ConvsimError), cls


@pytest.mark.parametrize("make, kind, message", [
    (lambda: ops.conv(np.ones((5, 5, 1)), np.ones((3, 3, 1, 1))),
     errors.ArgumentError, "`inputs` must be a 4D array"),
    (lambda: ops.relu(np.array(["a"])), errors.WrongTypeError, "`x` must have"),
    (lambda: layers.Dense(0), errors.ArgumentError, "`units` must be a positive"),
    (lambda: models.Sequential([layers.Dense(1)]).fit(np.ones((2, 3)),
                                                       np.ones((2, 1))),
     errors.NotReadyError, r"You must call `compile\(\)` with a loss"),
    (lambda: models.load_model("no/such/model.convsim"), errors.MissingFileError,
     "No model file found"),
])
def test_a_refusal_is_a_convsim_error_that_says_what_is_wrong(make, kind, message):
    with pytest.raises(kind, match=message) as info:
        make()
    assert isinstance(info.value, errors.ConvsimError)


def test_a_file_that_is_not_a_model_is_a_model_file_error(tmp_path):
    path = tmp_path / "notes.convsim"
    path.write_text("not a model")
    with pytest.raises(errors.ModelFileError, match="not a convsim model file"):
        models.load_model(path)
