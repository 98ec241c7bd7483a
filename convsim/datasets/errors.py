"""Errors raised by convsim's data loaders.

Every problem with data on disk or on the network is a
:class:`convsim.errors.DatasetError`, an ``OSError`` subclass, so
code written for Keras (which raises ``OSError``/``Exception`` from its loaders)
keeps working, while a learner who wants to react to one case can catch exactly
that one. Each message names the file or URL, says what is wrong, and says what
to do next: a data error is the first thing many learners meet, so it should read
like help, not like a traceback.
"""

from __future__ import annotations

from convsim.errors import (
    AlreadyExistsError,
    DatasetError,
    FileTooLargeError,
    MissingFileError,
)

__all__ = ["ChecksumError", "DatasetError", "DatasetExistsError",
           "DatasetNotFoundError", "DatasetTooLargeError", "DownloadError"]


class DatasetNotFoundError(DatasetError, MissingFileError):
    """No usable copy of a dataset was found in any of the places searched.

    Also a ``FileNotFoundError``, so ``except FileNotFoundError`` catches it.
    """


class DatasetExistsError(DatasetError, AlreadyExistsError):
    """A destination folder already holds data and ``overwrite`` was not set."""


class DatasetTooLargeError(DatasetError, FileTooLargeError):
    """A data file is, or says it holds, more than convsim reads from one file.

    The message gives the size claimed and the limit. Also a
    :class:`convsim.errors.FileTooLargeError`, like every refusal by size.
    """


class DownloadError(DatasetError):
    """A download failed: offline mode, network error, HTTP error, short file.

    Attributes:
        url: the address that was being fetched.
        reason: a short machine-readable cause, one of ``'offline'``,
            ``'network'``, ``'http'``, ``'truncated'``, ``'checksum'``.
        summary: a few words for a one-line report, e.g. ``'HTTP 404 Not Found
            from example.org'``.
    """

    def __init__(self, message: str, *, url: str = "", reason: str = "network",
                 summary: str = ""):
        super().__init__(message)
        self.url = url
        self.reason = reason
        self.summary = summary or reason


class ChecksumError(DownloadError):
    """The downloaded bytes do not have the expected SHA-256 digest."""

    def __init__(self, message: str, *, url: str = "", expected: str = "",
                 actual: str = ""):
        super().__init__(message, url=url, reason="checksum",
                         summary=f"wrong SHA-256 for {url}")
        self.expected = expected
        self.actual = actual
