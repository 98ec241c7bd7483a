"""Reading and writing files safely: the one place convsim touches the disk.

Reading. A path a learner gives convsim may be anything: a FIFO (reading it
blocks forever), ``/dev/zero`` behind an innocent name like ``photo.jpg``
(reading it never ends), a folder, or a huge file. :func:`regular_file` lets
only regular files through, after following symlinks to what they point at, and
:func:`read_bytes` reads one only when it is no larger than the caller's limit,
so a bad path costs an error message, not a hang or gigabytes of memory.

Reading what others made. A ZIP archive (a model file, a checkpoint, Keras's
``.keras``), the JSON and the ``.npy`` arrays inside it make claims about their
sizes that may be lies: :mod:`~convsim.files.bounded_zip`,
:mod:`~convsim.files.bounded_json` and :mod:`~convsim.files.npy_arrays` read
them within the budgets of :mod:`~convsim.files.limits`, checking every claim
before inflating or allocating anything.

Writing. :func:`atomic_write` writes to a temporary file beside the target
and renames it over the target only once everything is on disk, so a crash,
Ctrl+C or ``kill -9`` leaves either the old file or the new one, never half a
file. Temporary files that a killed write left behind (``.NAME.PID.*.tmp``)
are removed by the next write of the same file.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from convsim.errors import (
    FileTooLargeError,
    IsAFolderError,
    MissingFileError,
    NotARegularFileError,
)

__all__ = ["atomic_write", "check_can_write", "open_regular", "read_bytes",
           "regular_file"]


#: What a file is for, in Korean with its object particle, for the Korean
#: wording of "No model file found" (convsim.errors): 모델 파일을, 이미지를.
KOREAN_WHAT = {"file": "파일을", "model file": "모델 파일을",
               "picture file": "그림 파일을", "image": "이미지를",
               "data file": "데이터 파일을",
               ".npz file": ".npz 파일을", "checkpoint": "체크포인트를",
               "history file": "히스토리 파일을", "photo": "사진을"}


def regular_file(path, what: str = "file") -> Path:
    """``path`` resolved, after checking it names an existing regular file.

    Symlinks are followed, and what they point to must be a regular file too.

    Raises:
        MissingFileError: nothing there (or a broken symlink).
        IsAFolderError: a folder.
        NotARegularFileError: a FIFO, socket or device.
    """
    given = Path(os.fspath(path))
    try:
        mode = given.stat().st_mode  # follows symlinks
    except FileNotFoundError:
        korean = KOREAN_WHAT.get(what, "파일")
        raise MissingFileError(f"No {what} found at {str(given)!r}.",
                               ko=f"{korean} 찾을 수 없습니다: {str(given)!r}"
                               ) from None
    except OSError as err:
        raise NotARegularFileError(f"Cannot read the {what} {str(given)!r}: "
                                   f"{err.strerror}.") from None
    _refuse_unless_regular(mode, given, what)
    return given.resolve()


def _refuse_unless_regular(mode: int, path: Path, what: str) -> None:
    """The error for a folder, FIFO, device or socket where a file should be."""
    if stat.S_ISDIR(mode):
        raise IsAFolderError(f"{str(path)!r} is a folder, where a file was expected "
                             f"({what}).")
    if not stat.S_ISREG(mode):
        kind = ("a FIFO (named pipe)" if stat.S_ISFIFO(mode) else "a device"
                if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "a socket"
                if stat.S_ISSOCK(mode) else "not a regular file")
        raise NotARegularFileError(
            f"{str(path)!r} is {kind}, not a regular file: convsim reads only "
            f"regular files (reading this could block or never end).")


def read_bytes(path, limit: int, what: str = "file") -> bytes:
    """The contents of the regular file ``path``, if it holds at most ``limit``
    bytes (else :class:`~convsim.errors.FileTooLargeError`, before reading).

    The file is opened without waiting (``O_NONBLOCK``) and checked again on the
    open handle, so a path swapped for a FIFO after the first check cannot make
    convsim wait; the size is checked again while reading, in case the file
    grows meanwhile.
    """
    resolved = regular_file(path, what)
    with open_regular(resolved, what) as f:
        info = os.fstat(f.fileno())
        if info.st_size > limit:
            raise FileTooLargeError(
                f"{os.fspath(path)!r} holds {info.st_size:,} bytes; convsim reads "
                f"at most {limit:,} bytes ({what}).")
        # Read what the file holds (Python would set aside all of
        # ``limit + 1`` bytes for read(limit + 1)), then what it grew by since.
        data = f.read(info.st_size + 1)
        if len(data) > info.st_size:
            data += f.read(limit + 1 - len(data))
    if len(data) > limit:
        raise FileTooLargeError(f"The {what} {os.fspath(path)!r} grew past "
                                f"{limit:,} bytes while it was read.")
    return data


def open_regular(path, what: str = "file") -> BinaryIO:
    """``path`` opened for binary reading without waiting (``O_NONBLOCK``) and
    checked again on the open handle: a path swapped for a FIFO after the
    caller's :func:`regular_file` check cannot make convsim wait forever."""
    handle = os.fdopen(os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)),
                       "rb")
    try:
        _refuse_unless_regular(os.fstat(handle.fileno()).st_mode, Path(path), what)
    except BaseException:
        handle.close()
        raise
    return handle


def check_can_write(path, what: str = "file") -> Path:
    """Check, before any long work, that ``path`` can be written: its folder
    exists and is writable, and ``path`` is not a folder.

    Raises:
        MissingFileError: the folder does not exist.
        IsAFolderError: ``path`` is a folder.
        NotARegularFileError: the folder cannot be written.
    """
    target = Path(os.fspath(path))
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise IsAFolderError(f"Cannot save the {what} to {str(target)!r}: it is a "
                             f"folder. Give a file name.")
    if not folder.is_dir():
        raise MissingFileError(f"Cannot save the {what} to {str(target)!r}: the "
                               f"folder {str(folder)!r} does not exist.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise NotARegularFileError(f"Cannot save the {what} to {str(target)!r}: "
                                   f"the folder {str(folder)!r} is not writable.")
    return target


def atomic_write(path, write: Callable[[BinaryIO], None]) -> None:
    """Call ``write(handle)`` on a temporary file beside ``path``, flush it to
    disk, then rename it to ``path`` (atomic on one file system).

    The new file gets the usual permissions (``0o666`` less the umask), not the
    ``0o600`` of a temporary file. Leftovers of earlier writes that were killed
    are removed first.
    """
    target = Path(os.fspath(path))
    folder = target.parent if str(target.parent) else Path(".")
    _remove_stale_temporaries(folder, target.name)
    fd, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp",
                                     prefix=f".{target.name}.{os.getpid()}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(folder: Path, name: str) -> None:
    """Remove ``.NAME.PID.*.tmp`` files that a killed :func:`atomic_write` left
    behind: those whose writing process no longer runs. Any error is ignored
    (a leftover is harmless; a file another live process is writing is kept)."""
    try:
        leftovers = list(folder.glob(f".{name}.*.tmp"))
    except OSError:
        return
    for leftover in leftovers:
        pid = leftover.name[len(name) + 2:].split(".", 1)[0]
        if not pid.isdigit() or _running(int(pid)):
            continue
        try:
            if stat.S_ISREG(leftover.lstat().st_mode):
                leftover.unlink()
        except OSError:
            pass


def _running(pid: int) -> bool:
    """Whether a process with this id runs now."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # it exists but belongs to someone else
        return True
    return True
