"""Where the MNIST-format datasets come from, and the one search used for all.

MNIST and Fashion-MNIST are both four IDX files with the same names and shapes,
so one search serves both. A :class:`IdxDataset` lists the places specific to one
dataset; :func:`locate` walks them in order and :func:`load` reads the first one
that exists. The order (first hit wins):

1. ``path=``: a folder with the four files (``.gz`` or not) or a Keras-style
   ``.npz`` (the folder's ``mnist.npz``, or the file itself). If it is missing
   or broken you get an error: an explicit request never silently falls back.
2. ``$CONVSIM_DATA/<name>``: a folder a teacher or a lab machine prepared.
3. The user cache, ``$XDG_CACHE_HOME/convsim/<name>`` (``~/.cache/convsim/...``),
   where downloads go.
4. Keras's own cache (``$KERAS_HOME`` or ``~/.keras``, ``datasets/``), so a
   learner who ran the book's code with Keras does not download again.
5. System folders, e.g. Debian's ``/usr/share/datasets/fashion-mnist``.
6. A download into the user cache (not when ``download=False`` or
   ``CONVSIM_OFFLINE=1``).
7. Data shipped inside convsim (MNIST only: a 5,000-digit sample).

Every load reports the source it used in one line on a rich console, like
Keras's "Downloading data from ..." message, so nobody trains on the 5,000-digit
sample believing it is the full 70,000. What a dataset folder holds, and reading
it into checked arrays, is :mod:`convsim.datasets.dataset_files`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console

from convsim.datasets import download as _download
from convsim.datasets.dataset_files import STANDARD_FILES, find_idx_files, read_arrays
from convsim.datasets.errors import DatasetError, DatasetNotFoundError, DownloadError


@dataclass(frozen=True)
class IdxDataset:
    """What differs between MNIST-format datasets: names, mirrors, digests."""

    title: str  # "MNIST", shown to the user
    folder: str  # "mnist": the folder name under $CONVSIM_DATA and the cache
    mirrors: tuple[str, ...]  # base URLs ending in "/", tried in order
    sha256: dict[str, str]  # "<standard name>.gz" -> hex digest
    keras_npz: str | None = None  # file name in Keras's cache, e.g. "mnist.npz"
    keras_folder: str | None = None  # folder in Keras's cache with the IDX files
    system_dirs: tuple[Path, ...] = ()
    bundled: Path | None = None
    bundled_note: str = ""
    bundled_hint: str = ""  # said after the counts when the bundled sample is used
    not_found_help: str = ""
    num_classes: int = 10
    image_shape: tuple[int, int] = (28, 28)


@dataclass(frozen=True)
class Source:
    """One place data was (or will be) read from.

    Attributes:
        kind: ``'path'``, ``'env'``, ``'cache'``, ``'keras'``, ``'system'``,
            ``'download'`` or ``'bundled'``.
        location: the folder or ``.npz`` file.
        description: one human sentence naming the source.
    """

    kind: str
    location: Path
    description: str


@dataclass(frozen=True)
class LoadedData:
    """Arrays plus where they came from.

    Unpacks like Keras's return value:
    ``(x_train, y_train), (x_test, y_test) = mnist.load()``.
    """

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    source: Source
    note: str = field(default="")

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        yield self.train
        yield self.test


def cache_dir() -> Path:
    """convsim's user cache: ``$XDG_CACHE_HOME/convsim`` or ``~/.cache/convsim``.

    A relative ``XDG_CACHE_HOME`` is ignored, as the XDG specification says.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "convsim"


def data_dir() -> Path | None:
    """The folder named by ``$CONVSIM_DATA``, or ``None`` when it is unset."""
    value = os.environ.get("CONVSIM_DATA", "")
    return Path(value).expanduser() if value else None


def keras_dir() -> Path:
    """Keras's dataset cache: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME", "")
    return (Path(home) if home else Path.home() / ".keras") / "datasets"


def _has_data(location: Path, spec: IdxDataset) -> bool:
    if location.is_file():
        return location.suffix == ".npz"
    if spec.keras_npz and (location / spec.keras_npz).is_file():
        return True
    return find_idx_files(location) is not None


def _complete_idx(folder: Path) -> bool:
    """Like :func:`find_idx_files` but a partial folder is simply 'not yet'."""
    try:
        return find_idx_files(folder) is not None
    except DatasetError:
        return False


def may_download(download: bool | None) -> bool:
    """Resolve the ``download`` flag: ``None`` means "unless CONVSIM_OFFLINE=1"."""
    if download is None:
        return not _download.is_offline()
    return bool(download) and not _download.is_offline()


def locate(spec: IdxDataset, path=None, download: bool | None = None) -> Source:
    """The first source in the search order that exists (no data is read).

    Returns a ``'download'`` source when nothing is on disk and downloading is
    allowed, even though the download itself may still fail (then :func:`load`
    falls back to the bundled data).

    Raises:
        DatasetNotFoundError: ``path`` was given but holds no data, or nothing
            was found anywhere and there is no bundled data.
        DatasetError: a folder holds only some of the four files.
    """
    title = spec.title
    if path is not None:
        location = Path(path).expanduser()
        if not location.exists():
            raise DatasetNotFoundError(
                f"{title}: path={str(path)!r} does not exist. Pass a folder holding "
                + ", ".join(n + "[.gz]" for n in STANDARD_FILES.values())
                + (f", or a Keras {spec.keras_npz}" if spec.keras_npz else "") + "."
            )
        if not _has_data(location, spec):
            raise DatasetNotFoundError(
                f"{title}: path={str(path)!r} holds no {title} data. Expected the "
                "four IDX files "
                + ", ".join(n + "[.gz]" for n in STANDARD_FILES.values())
                + (f" or {spec.keras_npz}" if spec.keras_npz else "") + "."
            )
        return Source("path", location, f"{title} from {location} (path=)")
    env = data_dir()
    if env is not None and _has_data(env / spec.folder, spec):
        where = env / spec.folder
        return Source("env", where, f"{title} from {where} ($CONVSIM_DATA)")
    cached = cache_dir() / spec.folder
    if _complete_idx(cached):
        return Source("cache", cached, f"{title} from the convsim cache {cached}")
    keras = keras_dir()
    if spec.keras_npz and (keras / spec.keras_npz).is_file():
        where = keras / spec.keras_npz
        return Source("keras", where, f"{title} from Keras's cache {where}")
    if spec.keras_folder and _complete_idx(keras / spec.keras_folder):
        where = keras / spec.keras_folder
        return Source("keras", where, f"{title} from Keras's cache {where}")
    for system in spec.system_dirs:
        if _complete_idx(system):
            return Source("system", system, f"{title} from {system}")
    if may_download(download) and spec.mirrors:
        return Source("download", cached,
                      f"{title} downloaded from {spec.mirrors[0]} into {cached}")
    bundled = _bundled(spec)
    if bundled is not None:
        return bundled
    raise DatasetNotFoundError(_not_found_message(spec, download))


def _bundled(spec: IdxDataset) -> Source | None:
    """The data shipped inside convsim, if this dataset has some and it is there."""
    if spec.bundled is None or not _complete_idx(spec.bundled):
        return None
    return Source("bundled", spec.bundled, spec.bundled_note)


def _not_found_message(spec: IdxDataset, download: bool | None,
                       failure: str = "") -> str:
    places = []
    if data_dir() is not None:
        places.append(str(data_dir() / spec.folder))
    places.append(str(cache_dir() / spec.folder))
    if spec.keras_folder:
        places.append(str(keras_dir() / spec.keras_folder))
    places += [str(p) for p in spec.system_dirs]
    if failure:
        why = f"the download failed ({failure})"
    elif not may_download(download):
        why = ("downloading is off (download=False or CONVSIM_OFFLINE=1)")
    else:
        why = "no download mirror is configured"
    missing = ""
    if spec.bundled is not None:
        missing = (f" The sample that should ship with convsim is missing from "
                   f"{spec.bundled}: this installation is incomplete, reinstall "
                   "convsim.")
    return (
        f"{spec.title} not found: looked in {', '.join(places)}, and {why}."
        f"{missing} {spec.not_found_help}".rstrip()
    )


def _download_all(spec: IdxDataset, folder: Path, console: Console) -> str:
    """Fetch the four files into ``folder``, trying each mirror in turn.

    A mirror that timed out is not followed by the others: a timeout almost
    always means no network at all, and a learner should not wait for each.
    """
    mirrors = list(spec.mirrors)
    hint = (
        f"Pass path= to a folder holding the four {spec.title} files, or set "
        "CONVSIM_OFFLINE=1 to skip downloads."
    )
    for name in STANDARD_FILES.values():
        filename = name + ".gz"
        error: DownloadError | None = None
        for base in list(mirrors):
            started = time.monotonic()
            try:
                _download.download(base + filename, folder / filename,
                                   sha256=spec.sha256.get(filename),
                                   console=console, hint=hint)
            except DownloadError as err:
                error = err
                slow = time.monotonic() - started >= _download.CONNECT_TIMEOUT * 0.9
                if err.reason in ("offline", "network") and slow:
                    raise
                continue
            mirrors.remove(base)
            mirrors.insert(0, base)  # keep using the mirror that worked
            error = None
            break
        if error is not None:
            raise error
    return mirrors[0]


def load(spec: IdxDataset, path=None, *, download: bool | None = None,
         verbose: bool = True, console: Console | None = None) -> LoadedData:
    """Find, (download,) read and check a dataset, reporting its source.

    See the module docstring for the search order. ``console`` receives the
    one-line report (and a download's progress bar); by default a console on
    stderr, which a learner sees like Keras's download message.
    """
    console = console if console is not None else Console(stderr=True)
    source = locate(spec, path, download)
    note = ""
    if source.kind == "download":
        try:
            mirror = _download_all(spec, source.location, console)
            source = Source("download", source.location,
                            f"{spec.title} downloaded from {mirror} into "
                            f"{source.location}")
        except DownloadError as err:
            bundled = _bundled(spec)
            if bundled is None:
                raise DatasetNotFoundError(
                    _not_found_message(spec, download, failure=str(err))
                ) from err
            note = f"download failed: {err.summary}"
            source = bundled
    try:
        train, test = read_arrays(source.location, spec)
    except DatasetNotFoundError:
        raise
    except DatasetError as err:
        advice = {
            "cache": f" Delete {source.location} to download it again.",
            "bundled": " convsim's installation is damaged: reinstall it.",
        }.get(source.kind, " Replace the damaged file or pass path= to another copy.")
        raise DatasetError(f"{err}{advice}") from err
    if verbose:
        counts = f"{len(train[1]):,} train / {len(test[1]):,} test"
        line = f"{source.description}: {counts} images"
        if note:
            line += f" ({note}; set CONVSIM_OFFLINE=1 to skip trying)"
        if source.kind == "bundled" and spec.bundled_hint:
            line += f". {spec.bundled_hint}"
        console.print(line, markup=False, highlight=False, soft_wrap=True)
    return LoadedData(train, test, source, note)
