"""Read Keras's ``mnist.npz`` without trusting it.

An ``.npz`` file is a zip archive holding one ``.npy`` file per array. Each
``.npy`` starts with a short text header, a Python dict literal such as
``{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }``, then
the raw values. :func:`read_npz` reads every header first and checks it
before any value is read or any memory is set aside:

* the values must be plain bytes (``uint8``, as in Keras's ``mnist.npz``):
  anything else is refused, arrays of Python objects above all, since only
  ``pickle`` can read those and unpickling a file can run code;
* the sizes are multiplied in Python integers (which cannot overflow) and the
  arrays together must fit in ``max_bytes`` (:data:`~convsim.datasets.idx.
  MAX_IDX_BYTES`, 256 MiB; the four arrays of Keras's ``mnist.npz`` hold
  54,880,000 bytes);
* each ``.npy`` must be exactly as long as its header says, and the size the
  zip declares for it must be one that its compressed bytes can inflate to.

>>> import tempfile, pathlib, numpy as np
>>> file = pathlib.Path(tempfile.mkdtemp()) / "mnist.npz"
>>> np.savez(file, y_train=np.array([5, 0, 4], np.uint8))
>>> read_npz(file, ["y_train"])["y_train"]
array([5, 0, 4], dtype=uint8)
"""

from __future__ import annotations

import ast
import math
import os
import zipfile
import zlib
from pathlib import Path

import numpy as np

from convsim.datasets.errors import DatasetError, DatasetTooLargeError
from convsim.datasets.idx import (
    MAX_DEFLATE_RATIO,
    MAX_IDX_BYTES,
    MAX_IDX_NDIM,
    read_into,
)
from convsim.errors import FileError, MissingFileError
from convsim.files import regular_file

__all__ = ["NPY_DESCRS", "read_npz"]

#: The ``descr`` values (NumPy's name for the dtype) an array may have:
#: unsigned bytes, the dtype of Keras's ``mnist.npz`` and the only one the
#: MNIST loaders accept.
NPY_DESCRS = ("|u1", "<u1", ">u1")
_MAGIC = b"\x93NUMPY"
#: A NumPy header is about 120 bytes; NumPy itself refuses more than 10,000.
_MAX_HEADER = 10_000


class _Array:
    """One ``.npy`` member whose header has been checked."""

    def __init__(self, file: Path, info: zipfile.ZipInfo, shape, fortran: bool,
                 offset: int):
        self.file, self.info, self.shape = file, info, shape
        self.fortran, self.offset = fortran, offset
        self.nbytes = math.prod(shape)  # uint8: one byte per value


def read_npz(file: str | os.PathLike, names, *, max_bytes: int = MAX_IDX_BYTES
             ) -> dict[str, np.ndarray]:
    """The arrays ``names`` of the ``.npz`` file ``file``, checked first.

    Args:
        file: an ``.npz`` file, a regular file (symlinks followed).
        names: the arrays to read, e.g. ``["x_train", "y_train"]``.
        max_bytes: the most bytes the arrays may hold together.

    Returns:
        A dict name -> writable uint8 array.

    Raises:
        DatasetTooLargeError: the arrays claim more than ``max_bytes``.
        DatasetError: the file is missing, not a zip, lacks an array, holds
            another dtype (or Python objects), or is damaged.
    """
    file = Path(file)
    try:
        with zipfile.ZipFile(regular_file(file, ".npz file")) as archive:
            arrays = _check_headers(archive, file, list(names), max_bytes)
            return {name: _read_values(archive, array)
                    for name, array in arrays.items()}
    except DatasetError:
        raise
    except MissingFileError as err:
        raise DatasetError(f"{file}: file not found.") from err
    except FileError as err:  # a FIFO, a device, a folder
        raise DatasetError(f"{file}: {err}") from err
    # What zipfile raises on a damaged archive: a bad structure, inflating
    # errors, a cut stream, an unknown compression method, an encrypted member.
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
            RuntimeError, ValueError, OSError) as err:
        raise DatasetError(
            f"{file}: cannot read this .npz file ({err}). It is damaged: delete "
            "it and fetch it again."
        ) from err


def _check_headers(archive: zipfile.ZipFile, file: Path, names: list[str],
                   max_bytes: int) -> dict[str, _Array]:
    """Every requested array's header, checked, before any value is read."""
    members = {info.filename: info for info in archive.infolist()}
    missing = [name for name in names if name + ".npy" not in members]
    if missing:
        held = [m.removesuffix(".npy") for m in members]
        raise DatasetError(
            f"{file}: this .npz lacks the arrays {', '.join(missing)}; it "
            f"holds {', '.join(held) or 'nothing'}. Expected "
            f"{', '.join(names)} like Keras's mnist.npz."
        )
    arrays = {name: _check_member(archive, members[name + ".npy"], file, max_bytes)
              for name in names}
    total = sum(math.prod(max(d, 1) for d in a.shape) for a in arrays.values())
    if total > max_bytes:
        raise DatasetTooLargeError(
            f"{file}: the arrays' headers claim {total:,} bytes; convsim reads at "
            f"most {max_bytes:,} from one .npz (max_bytes=; Keras's mnist.npz "
            "holds 54,880,000). The file is corrupt or not MNIST."
        )
    return arrays


def _check_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, file: Path,
                  max_bytes: int) -> _Array:
    """Read and check one ``.npy`` member's header (not its values)."""
    name = "the array " + info.filename.removesuffix(".npy")
    if info.file_size > max_bytes + _MAX_HEADER:
        raise DatasetTooLargeError(
            f"{file}: the zip says {name} holds {info.file_size:,} bytes; convsim "
            f"reads at most {max_bytes:,} from one .npz (max_bytes=). The file "
            "is corrupt or not MNIST."
        )
    if (info.compress_type != zipfile.ZIP_STORED
            and info.file_size > MAX_DEFLATE_RATIO * info.compress_size + 64):
        raise DatasetError(
            f"{file}: the zip says {name} inflates from {info.compress_size:,} to "
            f"{info.file_size:,} bytes, more than compression can produce. The "
            "file is damaged: delete it and fetch it again."
        )
    with archive.open(info) as member:
        header = _read_header(member.read(len(_MAGIC) + 2 + 4 + _MAX_HEADER + 1))
    if header is None:
        raise DatasetError(f"{file}: {name} is not a NumPy .npy array (its header "
                           "is missing or damaged). Delete the file and fetch it "
                           "again.")
    fields, offset = header
    descr, fortran, shape = fields["descr"], fields["fortran_order"], fields["shape"]
    if descr in ("|O", "<O", ">O", "O"):
        raise DatasetError(
            f"{file}: cannot read {name}: it holds Python objects (descr="
            f"{descr!r}), which only pickle can load, and unpickling a file can "
            "run code. convsim reads uint8 arrays, as in Keras's mnist.npz."
        )
    if descr not in NPY_DESCRS:
        raise DatasetError(
            f"{file}: cannot read {name}: it holds values of type {descr!r}; "
            "convsim reads uint8 arrays ('|u1'), as in Keras's mnist.npz."
        )
    if not (isinstance(fortran, bool) and isinstance(shape, tuple)
            and len(shape) <= MAX_IDX_NDIM
            and all(type(d) is int and d >= 0 for d in shape)):
        raise DatasetError(
            f"{file}: {name} has a damaged header (shape={shape!r}, "
            f"fortran_order={fortran!r}); expected a tuple of at most "
            f"{MAX_IDX_NDIM} sizes. Delete the file and fetch it again."
        )
    array = _Array(file, info, shape, fortran, offset)
    claimed = math.prod(max(d, 1) for d in shape)
    if claimed <= max_bytes and offset + array.nbytes != info.file_size:
        raise DatasetError(
            f"{file}: {name} should hold {offset + array.nbytes:,} bytes for shape "
            f"{shape}, but holds {info.file_size:,}. The file is truncated or "
            "corrupt: delete it and fetch it again."
        )
    return array


def _read_header(data: bytes) -> tuple[dict, int] | None:
    """``(header dict, offset of the values)`` of an ``.npy`` that starts with
    ``data``, or None when it is not one. Versions 1.0-3.0 of the format."""
    if len(data) < 10 or not data.startswith(_MAGIC) or data[6] not in (1, 2, 3):
        return None
    width = 2 if data[6] == 1 else 4  # bytes of the header's length
    start = len(_MAGIC) + 2 + width
    length = int.from_bytes(data[len(_MAGIC) + 2:start], "little")
    if length > _MAX_HEADER or len(data) < start + length:
        return None
    try:
        text = data[start:start + length].decode("latin1" if data[6] < 3 else "utf8")
        fields = ast.literal_eval(text)  # literals only: never runs code
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    if not isinstance(fields, dict) or set(fields) != {"descr", "fortran_order",
                                                       "shape"}:
        return None
    return fields, start + length


def _read_values(archive: zipfile.ZipFile, array: _Array) -> np.ndarray:
    """The values of a checked member, read into one new array."""
    buffer = np.empty(array.nbytes, np.uint8)
    with archive.open(array.info) as member:
        member.read(array.offset)  # the header, checked already
        if read_into(member, buffer) != array.nbytes or member.read(1):
            raise DatasetError(
                f"{array.file}: {array.info.filename} is shorter or longer than its "
                "header says. The file is damaged: delete it and fetch it again."
            )
    if array.fortran:
        return buffer.reshape(array.shape[::-1]).T
    return buffer.reshape(array.shape)
