"""Reading NumPy arrays a stranger saved: every header checked before any data.

An ``.npz`` is a ZIP archive of ``.npy`` files, each a short header (a Python
dict literal such as ``{'descr': '<f4', 'fortran_order': False, 'shape': (3,
3, 1, 32), }``) followed by the raw values. :func:`read_npz` reads an ``.npz``
opened as a :class:`~convsim.files.bounded_zip.BoundedZip` and, for each array,
before reading or allocating its values:

* parses the header with NumPy's own readers (``numpy.lib.format``, which
  evaluate only literals, at most
  :data:`~convsim.files.limits.MAX_NPY_HEADER_BYTES` of them);
* checks the dtype is a plain real number (float16/32/64, int8 to int64,
  uint8 to uint64): complex numbers, text, dates, records and Python objects
  are refused, the last because only pickle reads them and unpickling can run
  code;
* multiplies the shape in Python integers (they cannot overflow, unlike
  NumPy's int64: 2**40 cubed wraps to 0) and checks the member holds exactly
  that many bytes after its header and that they fit the load's budget.

Then the values are read straight into a new array, and nothing is ever
unpickled. Made for convsim's model files; Keras's ``.npz`` files read the same.
"""

from __future__ import annotations

import math

import numpy as np

from convsim.errors import ConvsimError, ModelFileError
from convsim.files.bounded_json import short
from convsim.files.bounded_zip import BoundedZip, read_exactly
from convsim.files.limits import MAX_ARRAY_NDIM, MAX_NPY_HEADER_BYTES

__all__ = ["NpyHeader", "check_npy_header", "read_npz"]

_READERS = {(1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0}
_KINDS = "fiu"
_ALLOWED = ("float16/32/64, int8 to int64 or uint8 to uint64 (complex numbers, "
            "text, dates, records and Python objects are refused: objects need "
            "pickle, which can run code)")


class NpyHeader:
    """What an NPY header says: ``shape``, ``dtype``, ``fortran_order``, and
    ``nbytes``, the size of the values, computed without overflow."""

    def __init__(self, shape: tuple, dtype: np.dtype, fortran_order: bool):
        self.shape, self.dtype, self.fortran_order = shape, dtype, fortran_order
        self.size = math.prod(shape)
        self.nbytes = self.size * dtype.itemsize

    def describe(self) -> str:
        return f"shape {short(self.shape)} of {self.dtype}"


def check_npy_header(stream, where: str) -> NpyHeader:
    """Read and check the NPY header at the start of ``stream``, leaving the
    stream at the first value.

    Raises:
        ModelFileError: not an NPY header, a dtype that is not a plain real
            number, or a shape that is not a tuple of up to
            :data:`~convsim.files.limits.MAX_ARRAY_NDIM` sizes.
    """
    try:
        version = np.lib.format.read_magic(stream)
        if version not in _READERS:
            raise ModelFileError(f"{where} is an NPY file of version {version}; "
                                 "convsim reads versions 1.0 and 2.0.")
        shape, fortran_order, dtype = _READERS[version](
            stream, max_header_size=MAX_NPY_HEADER_BYTES)
    except (ConvsimError, MemoryError):
        raise
    except Exception as err:  # NumPy raises ValueError; a bad literal, SyntaxError
        raise ModelFileError(f"{where} is damaged: its NPY header cannot be read "
                             f"({type(err).__name__}: {short(err, 160)}).") from None
    plain = (dtype.kind in _KINDS and dtype.names is None and dtype.shape == ()
             and dtype.itemsize in (1, 2, 4, 8) and not dtype.hasobject)
    if not plain:
        raise ModelFileError(f"{where} holds values of dtype {short(str(dtype))}; "
                             f"convsim reads arrays of {_ALLOWED}.")
    if (not isinstance(shape, tuple) or len(shape) > MAX_ARRAY_NDIM
            or not all(type(n) is int and n >= 0 for n in shape)):
        raise ModelFileError(f"{where} is damaged or hostile: its NPY header gives "
                             f"the shape {short(shape)}; convsim reads arrays of at "
                             f"most {MAX_ARRAY_NDIM} non-negative sizes.")
    return NpyHeader(shape, dtype, bool(fortran_order))


def read_npy(archive: BoundedZip, name: str) -> np.ndarray:
    """The array in the member ``name`` of ``archive`` (an ``.npz``), its
    header checked and its size counted against the budget first."""
    where = f"{archive.where}: {name}"
    with archive.open_member(name) as stream:
        header = check_npy_header(stream, where)
        values_at = stream.tell()
        declared = archive.declared_size(name)
        if declared != values_at + header.nbytes:
            raise ModelFileError(
                f"{where} is damaged or hostile: its header describes "
                f"{header.describe()}, {header.nbytes:,} bytes of values, but the "
                f"member holds {max(declared - values_at, 0):,} bytes after it.")
        archive.budget.take(header.nbytes, f"{name} ({header.describe()})")
        flat = np.empty(header.size, header.dtype)
        read_exactly(stream, memoryview(flat.view(np.uint8)), where)
    return flat.reshape(header.shape, order="F" if header.fortran_order else "C")


def read_npz(archive: BoundedZip) -> dict[str, np.ndarray]:
    """Every array of the ``.npz`` ``archive``, by name (``"w0000.npy"`` is
    ``"w0000"``), each read by :func:`read_npy`."""
    names = archive.names()
    odd = [n for n in names if not n.endswith(".npy")]
    if odd:
        raise ModelFileError(f"{archive.where} is damaged or is not an .npz file: "
                             f"its member {short(odd[0])} is not an .npy array.")
    return {name[:-4]: read_npy(archive, name) for name in names}
