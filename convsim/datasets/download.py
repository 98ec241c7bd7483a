"""Download one file into a cache, safely: checksum, atomic rename, no hanging.

A learner's first run of ``mnist.load_data()`` may happen on a train, behind a
proxy, or on a laptop with the Wi-Fi off. So this module

* never touches the network when ``CONVSIM_OFFLINE=1`` is set;
* gives up on an unreachable host after a short connect timeout (name lookup
  included: it runs in a helper thread so a dead DNS server cannot hang us);
* streams into a temporary file next to the destination and renames it only
  after the size and SHA-256 digest are right, so the cache never holds a
  half-downloaded or tampered file;
* shows a rich progress bar on the console it is given (it never prints);
* raises :class:`~convsim.datasets.errors.DownloadError` (an ``OSError``)
  saying what failed, the URL, and what the user can do instead.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import socket
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from convsim.datasets.errors import ChecksumError, DownloadError
from convsim.errors import ArgumentError
from convsim.files import atomic_write

#: Seconds to wait for a name lookup plus TCP connection before giving up.
CONNECT_TIMEOUT = 5.0
#: Seconds a single read may stall once connected (slow links are fine, dead ones
#: are not).
READ_TIMEOUT = 30.0
DEFAULT_HINT = (
    "Check your internet connection and try again, or download the file yourself "
    "and pass its folder with path=."
)
_TRUE = {"1", "true", "yes", "on"}
_CHUNK = 1 << 16


def is_offline() -> bool:
    """True when the environment variable ``CONVSIM_OFFLINE`` is set to 1/true."""
    return os.environ.get("CONVSIM_OFFLINE", "").strip().lower() in _TRUE


def sha256_of(path: str | os.PathLike) -> str:
    """Hex SHA-256 digest of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str,
    destination: str | os.PathLike,
    *,
    sha256: str | None = None,
    console: Console | None = None,
    connect_timeout: float = CONNECT_TIMEOUT,
    read_timeout: float = READ_TIMEOUT,
    hint: str = DEFAULT_HINT,
    progress: bool = True,
) -> Path:
    """Fetch ``url`` into ``destination`` unless a good copy is already there.

    Args:
        url: an ``http://`` or ``https://`` address.
        destination: the file to create (parent folders are created).
        sha256: expected hex digest of the file. When given, an existing file
            with another digest is downloaded again, and a download with another
            digest is discarded with :class:`ChecksumError`. ``None`` skips the
            check (only for sources whose digest is not published).
        console: rich console for the "Downloading ..." line and the progress
            bar; defaults to one writing to stderr.
        connect_timeout: seconds for name lookup + connection.
        read_timeout: seconds a single read may stall.
        hint: what the user can do instead; appended to every error message.
        progress: show the progress bar.

    Returns:
        The destination path, holding the complete, verified file.

    Raises:
        DownloadError: offline mode, unreachable host, HTTP error, or a file
            shorter than announced (``error.reason`` says which).
        ChecksumError: the bytes arrived but their SHA-256 is wrong.
        ValueError: ``url`` is not http(s) or ``sha256`` is not 64 hex digits.
    """
    destination = Path(destination)
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ArgumentError(
            f"`url` must be an http:// or https:// address. Received: url={url!r}"
        )
    expected = _normalise_sha256(sha256)
    if destination.is_file():
        if expected is None or sha256_of(destination) == expected:
            return destination
    if is_offline():
        raise DownloadError(
            f"Not downloading {url}: CONVSIM_OFFLINE=1 forbids network access. "
            f"Unset CONVSIM_OFFLINE to allow it. {hint}",
            url=url,
            reason="offline",
            summary="CONVSIM_OFFLINE=1",
        )
    console = console if console is not None else Console(stderr=True)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        if not _uses_proxy(parts.scheme, parts.hostname):
            _preflight(parts.hostname, port, connect_timeout)
        request = urllib.request.Request(url, headers={"User-Agent": "convsim"})
        response = urllib.request.urlopen(request, timeout=read_timeout)
    except urllib.error.HTTPError as err:
        err.close()  # it holds the open connection
        raise DownloadError(
            f"Download failed: {url} answered HTTP {err.code} {err.reason}. {hint}",
            url=url,
            reason="http",
            summary=f"HTTP {err.code} {err.reason} from {parts.hostname}",
        ) from err
    except (urllib.error.URLError, OSError) as err:
        cause = getattr(err, "reason", None) or err
        raise DownloadError(
            f"Download failed: cannot reach {parts.hostname} for {url} ({cause}). "
            f"{hint}",
            url=url,
            reason="network",
            summary=f"cannot reach {parts.hostname} ({cause})",
        ) from err
    with response:
        _stream_to_file(response, url, destination, expected, console, hint,
                        progress)
    return destination


def _normalise_sha256(sha256: str | None) -> str | None:
    if sha256 is None:
        return None
    value = str(sha256).strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise ArgumentError(
            "`sha256` must be a hex SHA-256 digest of 64 characters. "
            f"Received: sha256={sha256!r}"
        )
    return value


def _uses_proxy(scheme: str, host: str) -> bool:
    """True when urllib will go through a proxy (then the proxy resolves hosts)."""
    return bool(urllib.request.getproxies().get(scheme)) and not (
        urllib.request.proxy_bypass(host)
    )


def _preflight(host: str, port: int, timeout: float) -> None:
    """Look up and connect to ``host`` within ``timeout`` seconds, or raise.

    ``urlopen``'s timeout does not cover the name lookup, which can hang for a
    long time on a machine whose DNS server is unreachable; a daemon thread with
    a deadline does.
    """
    outcome: dict[str, BaseException] = {}

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout):
                pass
        except OSError as err:
            outcome["error"] = err

    thread = threading.Thread(target=probe, name="convsim-preflight", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"no answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]


def _stream_to_file(response, url: str, destination: Path, expected: str | None,
                    console: Console, hint: str, show_progress: bool) -> None:
    """Copy the response body to ``destination`` atomically, checking as it goes."""
    length_header = response.headers.get("Content-Length")
    total = int(length_header) if length_header and length_header.isdigit() else None
    digest = hashlib.sha256()
    received = 0
    console.print(f"Downloading data from {url}", markup=False, highlight=False,
                  soft_wrap=True)
    bar = _progress_bar(console, show_progress)

    def write(handle) -> None:
        nonlocal received
        with bar:
            task = bar.add_task(destination.name, total=total)
            while chunk := response.read(_CHUNK):
                handle.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(task, completed=received)
        if total is not None and received != total:
            raise http.client.IncompleteRead(b"", total - received)
        _check_digest(url, digest.hexdigest(), expected, hint)

    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(destination, write)
    except http.client.IncompleteRead as err:
        announced = f"of {total:,} announced " if total is not None else ""
        raise DownloadError(
            f"Download of {url} was cut short: received {received:,} bytes "
            f"{announced}(connection closed early). The partial file was discarded. "
            f"{hint}",
            url=url,
            reason="truncated",
            summary=f"{url} was cut short",
        ) from err
    except ChecksumError:
        raise
    except OSError as err:
        raise DownloadError(
            f"Download of {url} failed after {received:,} bytes ({err}). The "
            f"partial file was discarded. {hint}",
            url=url,
            reason="network",
            summary=f"{url} failed midway ({err})",
        ) from err


def _progress_bar(console: Console, show: bool) -> Progress:
    """Bytes received, speed and time left, as pip and Keras show them."""
    return Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                    TransferSpeedColumn(), TimeRemainingColumn(), console=console,
                    disable=not show)


def _check_digest(url: str, actual: str, expected: str | None, hint: str) -> None:
    """Refuse bytes whose SHA-256 is not the published one (inside the atomic
    write, so the file is discarded and the cache keeps no altered copy)."""
    if expected is not None and actual != expected:
        raise ChecksumError(
            f"Download of {url} is corrupt: its SHA-256 is {actual}, expected "
            f"{expected}. The file was discarded; the server or a proxy may "
            f"have altered it. {hint}",
            url=url,
            expected=expected,
            actual=actual,
        )
