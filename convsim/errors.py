"""The errors convsim raises on purpose: one family, each also a Python classic.

When you give convsim something it cannot use (an argument out of range, the
wrong type, a damaged or hostile file), it raises one of these, with a message
that names what was wrong, what it received and what it accepts. Each one is
also a ``ValueError``, ``TypeError``, ``OSError`` or ``RuntimeError``, so code
written for Keras or plain Python (``except ValueError:``) keeps working, and
``except convsim.errors.ConvsimError:`` catches everything convsim meant to say.
Anything else escaping convsim (a NumPy or Numba error, a segfault) is a bug.

    ConvsimError
    ├── ArgumentError      (ValueError)   an argument's value is not allowed
    ├── WrongTypeError     (TypeError)    an argument has the wrong type
    ├── NotReadyError      (RuntimeError) a step is missing first (compile before fit)
    │   └── MissingPackageError (ImportError) an optional package is not installed
    └── FileError          (OSError)      a file or folder cannot be used
        ├── MissingFileError   (FileNotFoundError)
        ├── AlreadyExistsError (FileExistsError) and overwriting was not asked for
        ├── NotARegularFileError  a FIFO, a device, a folder where a file should be
        │   └── IsAFolderError (IsADirectoryError)
        ├── FileTooLargeError     claims more than convsim will read or allocate
        ├── ModelFileError        not a model file, or a damaged one
        │   └── ModelFileTooLargeError  (also a FileTooLargeError) a zip bomb?
        └── DatasetError          data on disk or the network (datasets.errors)

In Korean too. An error a learner meets from a command line (a missing file,
a file that is not a model, h5py not installed, images of the wrong shape,
no cats-vs-dogs photos, a wrong ``--size``) may carry the same message in
Korean, given where it is raised, beside the English, from the same facts::

    raise MissingFileError(f"No model file found at {path!r}.",
                           ko=f"모델 파일이 없습니다: {path!r}")

and :func:`message` picks the wording for the learner's language: the
commands call ``message(err, lang)`` with their ``--lang``. The English text
stays the exception's ``str()`` and its ``args``, so code that reads or
matches the message is unaffected; an error without a Korean wording is
shown in English. Korean wordings put a value after a colon rather than
before a particle, because the particle would depend on the value
(파일이 없습니다: 'a.h5', not 'a.h5'이 없습니다).
"""

from __future__ import annotations

__all__ = ["AlreadyExistsError", "ArgumentError", "ConvsimError", "DatasetError",
           "FileError", "FileTooLargeError", "IsAFolderError", "MissingFileError",
           "MissingPackageError", "ModelFileError", "ModelFileTooLargeError",
           "NotARegularFileError", "NotReadyError", "WrongTypeError", "message"]


class ConvsimError(Exception):
    """Base of every error convsim raises on purpose.

    Args:
        *args: the message, in English, as for any exception.
        ko: the same message in Korean, for ``--lang ko`` (see
            :func:`message`); None when there is none.
    """

    def __init__(self, *args, ko: str | None = None):
        super().__init__(*args)
        self.ko = ko


def message(error: BaseException, lang: str = "en") -> str:
    """What to tell the learner about ``error`` in ``lang``: its Korean
    wording for ``"ko"`` when it has one, else its message.

    >>> err = ArgumentError("--size must be between 3 and 9. Received: 12",
    ...                     ko="--size는 3에서 9 사이여야 합니다. 받은 값: 12")
    >>> message(err, "ko")
    '--size는 3에서 9 사이여야 합니다. 받은 값: 12'
    >>> message(err, "en") == str(err) == message(ValueError(str(err)), "ko")
    True
    """
    korean = getattr(error, "ko", None)
    return korean if lang == "ko" and korean else str(error)


class ArgumentError(ConvsimError, ValueError):
    """An argument (or a value in your data) is not one convsim accepts."""


class WrongTypeError(ConvsimError, TypeError):
    """An argument has a type convsim cannot use."""


class NotReadyError(ConvsimError, RuntimeError):
    """Something must happen first, e.g. ``compile()`` before ``fit()``."""


class MissingPackageError(NotReadyError, ImportError):
    """An optional package this needs is not installed (h5py for Keras files);
    the message says how to install it."""


class FileError(ConvsimError, OSError):
    """A file or folder cannot be used: missing, not a file, too large, damaged."""


class MissingFileError(FileError, FileNotFoundError):
    """The file or folder does not exist."""


class AlreadyExistsError(FileError, FileExistsError):
    """The file or folder exists already and overwriting it was not asked for."""


class NotARegularFileError(FileError):
    """The path is a FIFO, a device or a folder where convsim reads a file: such
    a path can block forever or never end, so convsim refuses it."""


class IsAFolderError(NotARegularFileError, IsADirectoryError):
    """A folder where convsim reads or writes a file."""


class FileTooLargeError(FileError):
    """The file is, or says it holds, more than convsim will read or allocate."""


class ModelFileError(FileError):
    """The file is not a convsim (or Keras) model file, or it is damaged."""


class ModelFileTooLargeError(ModelFileError, FileTooLargeError):
    """A model file is, or says it holds, more than convsim will inflate or allocate."""


class DatasetError(FileError):
    """A data file is unreadable, corrupt or not what it claims to be."""
