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
import os
import zlib
from pathlib import Path

import numpy as np

from convsim.datasets.errors import DatasetError
from convsim.errors import ArgumentError
from convsim.files import atomic_write

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
# A header claiming more than this is corrupt (the whole of MNIST is 55 MB).
_MAX_BYTES = 1 << 34


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file (gzip-compressed or raw) into a NumPy array.

    Args:
        path: the file. Compression is detected from its first two bytes.

    Returns:
        A writable array in native byte order, shaped as the header says,
        e.g. ``(60000, 28, 28)`` uint8 for MNIST's training images.

    Raises:
        DatasetError: the file is missing, unreadable, not IDX, uses an
            unsupported type code, is shorter or longer than its header says,
            or is a truncated or corrupt gzip stream.
    """
    path = Path(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            if compressed:
                with gzip.GzipFile(fileobj=raw, mode="rb") as stream:
                    return _read_stream(stream, path, compressed=True)
            return _read_stream(raw, path, compressed=False)
    except DatasetError:
        raise
    except FileNotFoundError as err:
        raise DatasetError(f"{path}: file not found.") from err
    except (EOFError, zlib.error, gzip.BadGzipFile) as err:
        raise DatasetError(
            f"{path}: truncated or corrupt gzip data ({err}). The file was probably "
            "cut short while downloading or copying: delete it and fetch it again."
        ) from err
    except OSError as err:
        raise DatasetError(f"{path}: cannot read the file ({err}).") from err


def _read_exactly(stream, n: int) -> bytearray:
    """Read up to ``n`` bytes in chunks (never allocating ``n`` up front)."""
    out = bytearray()
    while len(out) < n:
        chunk = stream.read(min(_CHUNK, n - len(out)))
        if not chunk:
            break
        out += chunk
    return out


def _read_stream(stream, path: Path, compressed: bool) -> np.ndarray:
    """Parse and validate the header, then read exactly the promised values."""
    what = "decompressed data" if compressed else "file"
    magic = bytes(_read_exactly(stream, 4))
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
    if ndim == 0:
        raise DatasetError(f"{path}: IDX header says 0 dimensions; expected >= 1.")
    header = bytes(_read_exactly(stream, 4 * ndim))
    if len(header) < 4 * ndim:
        raise DatasetError(
            f"{path}: truncated IDX header: {ndim} dimensions need {4 * ndim} bytes "
            f"of sizes, only {len(header)} present."
        )
    shape = tuple(int(d) for d in np.frombuffer(header, dtype=">u4"))
    dtype = IDX_DTYPES[code]
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if expected > _MAX_BYTES:
        raise DatasetError(
            f"{path}: IDX header claims shape {shape} ({expected:,} bytes), which "
            "is not plausible: the header is corrupt."
        )
    body = _read_exactly(stream, expected + 1)
    header_size = 4 + 4 * ndim
    if len(body) != expected:
        actual = header_size + len(body)
        detail = "shorter" if len(body) < expected else "longer"
        shown = f"{actual:,}" if len(body) < expected else f"more than {actual - 1:,}"
        raise DatasetError(
            f"{path}: the {what} is {detail} than its IDX header says: shape {shape} "
            f"of {dtype.itemsize}-byte values needs {header_size + expected:,} bytes, "
            f"found {shown}. The file is truncated or corrupt: delete it and fetch "
            "it again."
        )
    values = np.frombuffer(body, dtype=dtype).reshape(shape)
    native = dtype.newbyteorder("=")
    if dtype.itemsize == 1:
        return values.view(native)  # bytearray-backed: already writable
    return values.astype(native)


def write_idx(path: str | os.PathLike, array, *, compress: bool | None = None
              ) -> Path:
    """Write ``array`` as an IDX file, atomically.

    The bytes go to a temporary file in the same folder which then replaces
    ``path`` in one step (``os.replace``), so an interrupted write never leaves
    a half-written file where a later run would find it.

    Args:
        path: destination file; parent folders are created.
        array: a NumPy array of dtype uint8, int8, int16, int32, float32 or
            float64 with 1 to 255 dimensions, each below 2**32.
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
    if not 1 <= array.ndim <= 255 or any(d >= 2**32 for d in array.shape):
        raise ArgumentError(
            "`array` must have 1 to 255 dimensions, each smaller than 2**32, to be "
            f"written as IDX. Received: array.shape={array.shape}"
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
