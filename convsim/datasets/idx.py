"""Read and write IDX files, the format MNIST and Fashion-MNIST are shipped in.

An IDX file is a tiny header followed by one big-endian array::

    byte 0, 1   0x00 0x00               (magic: always zero)
    byte 2      type code               (0x08 uint8, 0x09 int8, 0x0B int16,
                                         0x0C int32, 0x0D float32, 0x0E float64)
    byte 3      number of dimensions    (MNIST images: 3, labels: 1)
    4 bytes per dimension, big-endian   (images: 60000, 28, 28)
    the values, row-major, big-endian

Files are usually gzip-compressed (``train-images-idx3-ubyte.gz``). The reader
looks at the first bytes, not the file name, to decide, so a renamed file still
loads. Everything that can be wrong with a file downloaded over a bad connection
(truncated gzip, wrong size, a HTML error page saved as ``.gz``) raises
:class:`~convsim.datasets.errors.DatasetError` naming the file and the problem,
never a cryptic NumPy reshape error.

>>> import tempfile, pathlib, numpy as np
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = write_idx(folder / "labels-idx1-ubyte.gz", np.array([7, 2, 1], np.uint8))
>>> read_idx(folder / "labels-idx1-ubyte.gz")
array([7, 2, 1], dtype=uint8)
"""

from __future__ import annotations

import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

from convsim.datasets.errors import DatasetError, DatasetTooLargeError
from convsim.errors import ArgumentError, FileError, MissingFileError
from convsim.files import atomic_write, regular_file

__all__ = ["IDX_DTYPES", "MAX_DEFLATE_RATIO", "MAX_IDX_BYTES", "MAX_IDX_NDIM",
           "read_idx", "write_idx"]

#: IDX type code -> big-endian NumPy dtype of the stored values.
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODE_BY_KIND = {(d.kind, d.itemsize): code for code, d in IDX_DTYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 20

#: The most bytes of values :func:`read_idx` reads from one file (256 MiB).
#: The largest IDX files convsim is made for, full MNIST's and Fashion-MNIST's
#: training images, hold 47,040,000 bytes (60,000 x 28 x 28); this leaves five
#: times that. A header claiming more is corrupt or hostile (a 4 MB gzip file
#: can claim 4 GB of zeros), and is refused before anything is inflated or
#: allocated, so a bad file costs an error message, not the machine's memory.
#: Pass ``max_bytes=`` to read a larger data set on purpose.
MAX_IDX_BYTES = 256 * 2**20

#: The most dimensions an IDX header may declare. The format allows 255, but
#: NumPy 1.x arrays have at most 32 (NumPy 2.x: 64), and real files have 1
#: (labels) to 4 (colour images).
MAX_IDX_NDIM = 32

#: The most bytes deflate (gzip's compression) can make out of one byte: its
#: longest match, 258 bytes, costs at least 2 bits. A gzip file whose header
#: promises more than this many times its own size cannot hold that much data.
MAX_DEFLATE_RATIO = 1032


def read_idx(path: str | os.PathLike, *, max_bytes: int = MAX_IDX_BYTES
             ) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw) into a NumPy array.

    The header is checked before the values are read: its sizes (multiplied
    in Python integers, which cannot overflow) must fit in ``max_bytes`` and
    in the file (a raw file must be exactly as long as its header says, a
    gzip file must be large enough to inflate to it), and inflating stops as
    soon as more bytes come out than the header promised.

    Args:
        path: the file, a regular file (symlinks are followed; FIFOs and
            devices are refused). Compression is detected from its first two
            bytes.
        max_bytes: the most bytes of values to read (default
            :data:`MAX_IDX_BYTES`, 256 MiB).

    Returns:
        A writable array in native byte order, shaped as the header says,
        e.g. ``(60000, 28, 28)`` uint8 for MNIST's training images.

    Raises:
        DatasetTooLargeError: the header claims more than ``max_bytes``, or
            more than the file can hold.
        DatasetError: the file is missing, not a regular file, unreadable,
            not IDX, uses an unsupported type code, is shorter or longer than
            its header says, or is a truncated or corrupt gzip stream.
    """
    path = Path(path)
    try:
        resolved = regular_file(path, "data file")
        size = resolved.stat().st_size
        with open(resolved, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            limits = _Limits(path, size, compressed, max_bytes)
            if compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_stream(stream, limits)
            return _read_stream(raw, limits)
    except DatasetError:
        raise
    except MissingFileError as err:
        raise DatasetError(f"{path}: file not found.") from err
    except FileError as err:  # a FIFO, a device, a folder
        raise DatasetError(f"{path}: {err}") from err
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise DatasetError(
            f"{path}: truncated or corrupt gzip data ({err}). The file was probably "
            "cut short while downloading or copying: delete it and fetch it again."
        ) from err
    except OSError as err:
        raise DatasetError(f"{path}: cannot read the file ({err}).") from err


class _Limits:
    """What one file can hold: its name, size, compression and the cap."""

    def __init__(self, path: Path, size: int, compressed: bool, max_bytes: int):
        self.path, self.size, self.compressed = path, size, compressed
        self.max_bytes = max_bytes
        self.what = "decompressed data" if compressed else "file"

    def check(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        """The bytes of values ``shape`` needs, after checking they fit."""
        expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
        # NumPy refuses shapes whose non-zero sizes multiply past its limit
        # even when another size is 0, so those count as claims too.
        claimed = math.prod(max(d, 1) for d in shape) * dtype.itemsize
        header_size = 4 + 4 * len(shape)
        if claimed > self.max_bytes:
            raise DatasetTooLargeError(
                f"{self.path}: the IDX header claims shape {shape} of "
                f"{dtype.itemsize}-byte values, {claimed:,} bytes; convsim reads "
                f"at most {self.max_bytes:,} (max_bytes=; full MNIST's 60,000 "
                "images are 47,040,000). The header is corrupt: delete the file "
                "and fetch it again."
            )
        if self.compressed and header_size + expected > MAX_DEFLATE_RATIO * self.size:
            raise DatasetTooLargeError(
                f"{self.path}: the IDX header claims shape {shape}, "
                f"{header_size + expected:,} bytes, but a {self.size:,}-byte gzip "
                f"file inflates to at most {MAX_DEFLATE_RATIO * self.size:,}. The "
                "file is truncated or corrupt: delete it and fetch it again."
            )
        if not self.compressed and self.size != header_size + expected:
            _wrong_length(self, shape, dtype, self.size - header_size, expected)
        return expected


def _wrong_length(limits: _Limits, shape, dtype, found: int, expected: int):
    """Raise the error for values shorter or longer than the header says."""
    header_size = 4 + 4 * len(shape)
    detail = "shorter" if found < expected else "longer"
    shown = (f"{header_size + found:,}" if found < expected or not limits.compressed
             else f"more than {header_size + expected:,}")
    raise DatasetError(
        f"{limits.path}: the {limits.what} is {detail} than its IDX header says: "
        f"shape {shape} of {dtype.itemsize}-byte values needs "
        f"{header_size + expected:,} bytes, found {shown}. The file is truncated "
        "or corrupt: delete it and fetch it again."
    )


def _read_exactly(stream, n: int) -> bytes:
    """Read up to ``n`` bytes (``n`` is a few header bytes here)."""
    out = b""
    while len(out) < n:
        chunk = stream.read(n - len(out))
        if not chunk:
            break
        out += chunk
    return out


def read_into(stream, buffer: np.ndarray) -> int:
    """Fill ``buffer`` (uint8) from ``stream`` in chunks; the bytes read (fewer
    when the stream ends first). Also used for the arrays of an ``.npz``."""
    view, filled = memoryview(buffer), 0
    while filled < len(buffer):
        n = stream.readinto(view[filled:filled + _CHUNK])
        if not n:
            break
        filled += n
    return filled


def _read_header(stream, limits: _Limits) -> tuple[tuple[int, ...], np.dtype]:
    """The shape and dtype an IDX header declares, after checking them."""
    path, what = limits.path, limits.what
    magic = _read_exactly(stream, 4)
    if len(magic) < 4:
        raise DatasetError(
            f"{path}: not an IDX file: the {what} is only {len(magic)} bytes long, "
            "shorter than the 4-byte IDX header."
        )
    if magic[0] != 0 or magic[1] != 0:
        raise DatasetError(
            f"{path}: not an IDX file: an IDX file starts with 0x00 0x00, this "
            f"{what} starts with 0x{magic[0]:02x} 0x{magic[1]:02x}."
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_DTYPES:
        allowed = ", ".join(f"0x{c:02X}" for c in IDX_DTYPES)
        raise DatasetError(
            f"{path}: unsupported IDX type code 0x{code:02X} (byte 3 of the header); "
            f"supported codes: {allowed}."
        )
    if not 1 <= ndim <= MAX_IDX_NDIM:
        raise DatasetError(
            f"{path}: the IDX header says {ndim} dimensions (byte 4); convsim reads "
            f"1 to {MAX_IDX_NDIM} (MNIST's files have 1 and 3). The header is "
            "corrupt: delete the file and fetch it again."
        )
    sizes = _read_exactly(stream, 4 * ndim)
    if len(sizes) < 4 * ndim:
        raise DatasetError(
            f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes "
            f"of sizes, only {len(sizes)} present."
        )
    shape = tuple(int.from_bytes(sizes[i:i + 4], "big") for i in range(0, 4 * ndim, 4))
    return shape, IDX_DTYPES[code]


def _read_stream(stream, limits: _Limits) -> np.ndarray:
    """Parse and check the header, then read exactly the promised values."""
    shape, dtype = _read_header(stream, limits)
    expected = limits.check(shape, dtype)
    buffer = np.empty(expected, np.uint8)  # pages are touched only as data comes
    found = read_into(stream, buffer)
    if found == expected and stream.read(1):  # inflate one byte past, no more
        found += 1
    if found != expected:
        _wrong_length(limits, shape, dtype, found, expected)
    values = buffer.view(dtype)
    if not dtype.isnative:  # swap in place: no second copy of a big array
        values = values.byteswap(inplace=True).view(dtype.newbyteorder("="))
    return values.reshape(shape)


def write_idx(path: str | os.PathLike, array, *, compress: bool | None = None
              ) -> Path:
    """Write ``array`` as an IDX file, atomically.

    The bytes go to a temporary file in the same folder which then replaces
    ``path`` in one step (``os.replace``), so an interrupted write never leaves
    a half-written file where a later run would find it.

    Args:
        path: destination file; parent folders are created.
        array: a NumPy array of dtype uint8, int8, int16, int32, float32 or
            float64 with 1 to :data:`MAX_IDX_NDIM` (32) dimensions, each
            below 2**32.
        compress: gzip the file; ``None`` (default) means "if ``path`` ends
            with ``.gz``".

    Returns:
        The destination path.

    Raises:
        ValueError: the array cannot be represented in IDX.
    """
    path = Path(path)
    array = np.asarray(array)
    key = (array.dtype.kind, array.dtype.itemsize)
    if key not in _CODE_BY_KIND:
        raise ArgumentError(
            "`array` must have dtype uint8, int8, int16, int32, float32 or float64 "
            f"to be written as IDX. Received: array.dtype={array.dtype}"
        )
    if not 1 <= array.ndim <= MAX_IDX_NDIM or any(d >= 2**32 for d in array.shape):
        raise ArgumentError(
            f"`array` must have 1 to {MAX_IDX_NDIM} dimensions, each smaller than "
            f"2**32, to be written as IDX. Received: array.shape={array.shape}"
        )
    code = _CODE_BY_KIND[key]
    header = bytes([0, 0, code, array.ndim])
    header += np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=IDX_DTYPES[code]).tobytes()
    if compress is None:
        compress = path.suffix == ".gz"

    def write(handle) -> None:
        if compress:
            # mtime=0 and no file name make the output byte-for-byte reproducible
            with gzip.GzipFile(filename="", fileobj=handle, mode="wb", mtime=0) as gz:
                gz.write(header)
                gz.write(payload)
        else:
            handle.write(header)
            handle.write(payload)

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, write)
    return path
