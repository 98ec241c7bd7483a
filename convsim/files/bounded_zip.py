"""Reading a ZIP archive a stranger made, within a budget.

A ZIP archive's headers are claims: a member says how large it is, and its
deflated bytes may inflate to far more (a zip bomb), or a member inside may be
another archive. :class:`BoundedZip` reads one without trusting them:

* before :mod:`zipfile` parses anything, the end record is read by hand and the
  table of contents may hold at most :data:`~convsim.files.limits.MAX_MEMBERS`
  members in :data:`~convsim.files.limits.MAX_CENTRAL_DIRECTORY_BYTES`;
* every member name must stay inside the archive (no ``../``, no absolute
  path, no drive, no backslash) and appear once; members must be stored or
  deflated, not encrypted (LZMA and bzip2 are refused: their decoders may
  allocate far more than the member);
* a member is read only if its declared size fits its limit and the load's
  :class:`Budget` (which also bounds the compression ratio, see
  :mod:`convsim.files.limits`), and while it is read its real size is counted:
  more or less than declared is an error, found at the declared size plus one
  byte at the latest;
* anything else that goes wrong (a bad CRC, a broken deflate stream, a
  truncated file) is a :class:`~convsim.errors.ModelFileError` saying the file
  is damaged. Nothing is ever extracted to disk.

``archive.nested(name)`` opens a member that is itself an archive (an ``.npz``)
in memory, under the same budget. Made for convsim's model files and Keras's
``.keras`` files alike.
"""

from __future__ import annotations

import contextlib
import io
import os
import struct
import zipfile
from pathlib import Path

from convsim.errors import (
    ConvsimError,
    ModelFileError,
    ModelFileTooLargeError,
)
from convsim.files import open_regular
from convsim.files.bounded_json import short
from convsim.files.limits import (
    FREE_INFLATION_BYTES,
    MAX_CENTRAL_DIRECTORY_BYTES,
    MAX_COMPRESSION_RATIO,
    MAX_INFLATED_BYTES,
    MAX_MEMBERS,
    MIB,
    inflation_budget,
)

__all__ = ["BoundedZip", "Budget", "MemoryFile", "end_record"]

_CHUNK = MIB
_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)


class Budget:
    """The bytes one load may still inflate or allocate (see
    :func:`~convsim.files.limits.inflation_budget`)."""

    def __init__(self, size_on_disk: int, where: str):
        self.size_on_disk, self.where = size_on_disk, where
        self.total = self.left = inflation_budget(size_on_disk)

    def take(self, size: int, what: str) -> None:
        """Count ``size`` more bytes for ``what``, or refuse them."""
        if size > self.left:
            raise ModelFileTooLargeError(
                f"{self.where}: {what} needs {size:,} bytes, but reading this file "
                f"may inflate or allocate only {self.total:,} bytes in all "
                f"({self.left:,} left): the larger of {FREE_INFLATION_BYTES:,} and "
                f"{MAX_COMPRESSION_RATIO} times its {self.size_on_disk:,} bytes on "
                f"disk, at most {MAX_INFLATED_BYTES:,}. A zip bomb, or a model "
                "larger than convsim can train?")
        self.left -= size


class BoundedZip:
    """A ZIP archive opened for reading within a :class:`Budget`.

    Args:
        file: a binary, seekable file of ``size`` bytes.
        where: names the archive in messages (``"'m.convsim'"``).
        budget: shared with the archives inside; a new one by default.
        not_zip: the message when ``file`` is no ZIP archive at all, or the
            error to raise then (a ModelFileError with a Korean wording).
    """

    def __init__(self, file, size: int, where: str, budget: Budget | None = None,
                 not_zip: str | ModelFileError | None = None):
        self.where = where
        self.budget = budget or Budget(size, where)
        self._file = file
        record = end_record(file, size)
        if record is None:
            if isinstance(not_zip, ModelFileError):
                raise not_zip
            raise ModelFileError(not_zip or f"{where} is damaged: it is not a ZIP "
                                 "archive (it has no end record).")
        members, directory = record
        if members > MAX_MEMBERS or directory > MAX_CENTRAL_DIRECTORY_BYTES:
            raise ModelFileTooLargeError(
                f"{where} lists {members:,} members in a table of contents of "
                f"{directory:,} bytes; convsim reads archives of at most "
                f"{MAX_MEMBERS:,} members and {MAX_CENTRAL_DIRECTORY_BYTES:,} bytes "
                "of contents.")
        with self.reading("its table of contents"):
            file.seek(0)
            self._zip = zipfile.ZipFile(file)
        self._infos = self._check_members(self._zip.infolist())

    @classmethod
    def open(cls, path: Path, where: str, not_zip: str | None = None) -> BoundedZip:
        """Open the regular file ``path`` (checked by the caller with
        :func:`convsim.files.regular_file`) with :func:`open_regular`."""
        file = open_regular(path, where)
        try:
            return cls(file, os.fstat(file.fileno()).st_size, where, not_zip=not_zip)
        except BaseException:
            file.close()
            raise

    def nested(self, name: str) -> BoundedZip:
        """The member ``name``, itself an archive, read into memory and opened
        under this archive's budget."""
        data = self.read(name)
        return BoundedZip(MemoryFile(data), len(data), f"{self.where}: {name}",
                          self.budget)

    # ------------------------------------------------------------ members
    def names(self) -> list[str]:
        return list(self._infos)

    def __contains__(self, name) -> bool:
        return name in self._infos

    def declared_size(self, name: str) -> int:
        return self._info(name).file_size

    def read(self, name: str, limit: int | None = None) -> bytearray:
        """The member ``name``, inflated, if it declares at most ``limit`` bytes
        (and fits the budget) and really holds what it declares."""
        info = self._info(name)
        self._check_declared(info, limit)
        self.budget.take(info.file_size, name)
        data = bytearray(info.file_size)
        with self.open_member(name) as stream:
            read_exactly(stream, memoryview(data), f"{self.where}: {name}")
        return data

    @contextlib.contextmanager
    def open_member(self, name: str):
        """The member as a stream of at most its declared size (reading more
        finds a lie), read errors made :class:`ModelFileError`."""
        info = self._info(name)
        with self.reading(name), self._zip.open(info) as stream:
            yield stream

    @contextlib.contextmanager
    def reading(self, what: str):
        """Turn anything but convsim's own errors raised inside into "damaged"."""
        try:
            yield
        except (ConvsimError, MemoryError):
            raise
        except Exception as err:  # zlib.error, BadZipFile, EOFError, struct.error...
            raise ModelFileError(
                f"{self.where} is damaged: reading {what} failed "
                f"({type(err).__name__}: {short(err, 200)}).") from None

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._zip.close()
        self._file.close()

    def __enter__(self) -> BoundedZip:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ checks
    def _info(self, name: str) -> zipfile.ZipInfo:
        try:
            return self._infos[name]
        except KeyError:
            raise ModelFileError(f"{self.where} is damaged or is not a convsim model "
                                 f"file: it has no member {name!r}.") from None

    def _check_members(self, infos) -> dict[str, zipfile.ZipInfo]:
        found: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            problem = (
                "names a path outside the archive" if _escapes(name)
                else "appears twice" if name in found
                else "is encrypted" if info.flag_bits & 0x1
                else f"uses compression method {info.compress_type}"
                if info.compress_type not in _METHODS else None)
            if problem:
                raise ModelFileError(
                    f"{self.where} is damaged or hostile: its member {short(name)} "
                    f"{problem}; convsim reads archives whose members have plain "
                    "relative names, each once, stored or deflated.")
            found[name] = info
        return found

    def _check_declared(self, info: zipfile.ZipInfo, limit: int | None) -> None:
        if limit is not None and info.file_size > limit:
            ratio = info.file_size / max(info.compress_size, 1)
            raise ModelFileTooLargeError(
                f"{self.where}: {info.filename} says it holds {info.file_size:,} "
                f"bytes (from {info.compress_size:,} compressed, {ratio:,.0f}:1); "
                f"convsim reads at most {limit:,} bytes for it.")


def read_exactly(stream, into: memoryview, what: str) -> None:
    """Fill ``into`` from ``stream``, then check the stream has ended: a
    stream shorter or longer than ``into`` is damaged (its header lied)."""
    done = 0
    while done < len(into):
        count = stream.readinto(into[done:done + _CHUNK])
        if not count:
            raise ModelFileError(f"{what} is damaged: it ends after {done:,} of the "
                                 f"{len(into):,} bytes it declares.")
        done += count
    if stream.read(1):
        raise ModelFileError(f"{what} is damaged or hostile: it holds more than the "
                             f"{len(into):,} bytes it declares.")


def end_record(file, size: int) -> tuple[int, int] | None:
    """``(members, bytes of the central directory)`` from a ZIP file's end
    record (ZIP64's when present), or ``None`` if there is none."""
    tail_size = min(size, 22 + 0xFFFF)
    file.seek(size - tail_size)
    tail = file.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or at + 22 > len(tail):
        return None
    members, directory = struct.unpack_from("<HI", tail, at + 10)
    if (members == 0xFFFF or directory == 0xFFFFFFFF) and at >= 20 \
            and tail[at - 20:at - 16] == b"PK\x06\x07":
        (offset,) = struct.unpack_from("<Q", tail, at - 12)
        if offset + 56 > size:
            return None
        file.seek(offset)
        record = file.read(56)
        if record[:4] != b"PK\x06\x06":
            return None
        members, directory = struct.unpack_from("<QQ", record, 32)
    return members, directory


def _escapes(name: str) -> bool:
    """Whether a member name could point outside a folder it was extracted to."""
    parts = name.split("/")
    return (not name or name.startswith("/") or "\\" in name or "\0" in name
            or ":" in parts[0] or ".." in parts)


class MemoryFile(io.RawIOBase):
    """A read-only, seekable file over bytes in memory, without copying them
    (``io.BytesIO`` copies a bytearray): an ``.npz`` member, or the HDF5
    weights of a Keras ``.keras`` archive read through h5py."""

    def __init__(self, buffer):
        self._view, self._position = memoryview(buffer), 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position,
                io.SEEK_END: len(self._view)}[whence]
        self._position = max(0, base + offset)
        return self._position

    def readinto(self, buffer) -> int:
        count = max(0, min(len(buffer), len(self._view) - self._position))
        buffer[:count] = self._view[self._position:self._position + count]
        self._position += count
        return count
