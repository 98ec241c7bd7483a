"""What an MNIST-format dataset is on disk, and reading it into checked arrays.

A dataset is either the four standard IDX files in one folder (gzipped or
not, as Yann LeCun's site and its mirrors publish them) or one ``.npz`` file
holding ``x_train, y_train, x_test, y_test`` (Keras's ``mnist.npz``).
:func:`find_idx_files` recognises the first, :func:`read_arrays` reads
either and checks what a model relies on (uint8 images of the right size,
one label per image, labels below the number of classes), naming the file
and the problem when something is off. Where the files are looked for is
the job of :mod:`convsim.datasets.sources`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from convsim.datasets.errors import DatasetError, DatasetNotFoundError
from convsim.datasets.idx import read_idx
from convsim.datasets.npz import read_npz

__all__ = ["STANDARD_FILES", "find_idx_files", "read_arrays"]

#: Array name -> standard IDX file name (without ``.gz``), as Keras names them.
STANDARD_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def find_idx_files(folder: Path) -> dict[str, Path] | None:
    """The four IDX files in ``folder``, or ``None`` if it holds none of them.

    Accepts each standard name with or without ``.gz``, and the dotted variant
    some mirrors use (``train-images.idx3-ubyte``).

    Raises:
        DatasetError: some but not all four files are there.
    """
    if not folder.is_dir():
        return None
    found = {}
    for key, name in STANDARD_FILES.items():
        dotted = name.replace("-idx", ".idx")
        for candidate in (name + ".gz", name, dotted + ".gz", dotted):
            if (folder / candidate).is_file():
                found[key] = folder / candidate
                break
    if not found:
        return None
    if len(found) < len(STANDARD_FILES):
        missing = [name + "[.gz]" for k, name in STANDARD_FILES.items()
                   if k not in found]
        raise DatasetError(
            f"{folder}: incomplete dataset folder: missing {', '.join(missing)}. "
            "A dataset folder needs all four files: "
            + ", ".join(n + "[.gz]" for n in STANDARD_FILES.values()) + "."
        )
    return found


def read_arrays(location: Path, spec) -> tuple:
    """Read and check ``((x_train, y_train), (x_test, y_test))`` from a source.

    Args:
        location: a folder with the four IDX files or a ``.npz``, or the
            ``.npz`` file itself.
        spec: the dataset's :class:`~convsim.datasets.sources.IdxDataset`;
            its ``title``, ``keras_npz``, ``image_shape`` and ``num_classes``
            are used.

    Raises:
        DatasetNotFoundError: ``location`` holds none of the files.
        DatasetError: a file is unreadable or its arrays are not the dataset's.
    """
    if location.is_file():
        arrays = _read_npz(location)
    elif spec.keras_npz and (location / spec.keras_npz).is_file() and (
        find_idx_files(location) is None
    ):
        arrays = _read_npz(location / spec.keras_npz)
    else:
        files = find_idx_files(location)
        if files is None:
            raise DatasetNotFoundError(f"{location}: no {spec.title} files found.")
        arrays = {key: read_idx(file) for key, file in files.items()}
    _check_arrays(arrays, location, spec)
    return (arrays["x_train"], arrays["y_train"]), (arrays["x_test"], arrays["y_test"])


def _read_npz(file: Path) -> dict[str, np.ndarray]:
    """Read a Keras-style ``.npz``: headers checked first, never unpickling."""
    return read_npz(file, list(STANDARD_FILES))


def _check_arrays(arrays: dict[str, np.ndarray], location: Path, spec) -> None:
    """Shapes, dtypes and label range a model can rely on, named when wrong."""
    h, w = spec.image_shape
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        problem = ""
        if x.dtype != np.uint8 or y.dtype != np.uint8:
            problem = f"dtypes {x.dtype}/{y.dtype}, expected uint8/uint8"
        elif x.ndim != 3 or x.shape[1:] != (h, w):
            problem = f"images of shape {x.shape}, expected (n, {h}, {w})"
        elif y.shape != (x.shape[0],):
            problem = f"{x.shape[0]} images but labels of shape {y.shape}"
        elif y.size and int(y.max()) >= spec.num_classes:
            problem = f"a label {int(y.max())}, expected 0..{spec.num_classes - 1}"
        if problem:
            raise DatasetError(
                f"{location}: not {spec.title} data: x_{split}/y_{split} have "
                f"{problem}."
            )
