"""The book's ``cats_and_dogs_small`` folder, built from the original photos.

Chollet's chapter 5 trains on 4,000 photos taken from Kaggle's "Dogs vs. Cats"
set, copied into this layout (the file names are the book's)::

    cats_and_dogs_small/
        train/cats/cat.0.jpg ... cat.999.jpg          train/dogs/dog.0.jpg ...
        validation/cats/cat.1000.jpg ... cat.1499.jpg validation/dogs/...
        test/cats/cat.1500.jpg ... cat.1999.jpg       test/dogs/...

:func:`build_small_dataset` makes it from Microsoft's public archive
(``kagglecatsanddogs_5340.zip``, folders ``PetImages/Cat`` and ``PetImages/Dog``)
or from Kaggle's ``train`` folder (``cat.0.jpg``, ``dog.0.jpg``, ...), zipped
or extracted. The Microsoft archive holds some zero-byte files, a few broken
JPEGs and ``Thumbs.db`` files; each photo is decoded with Pillow first and
anything unreadable is skipped and counted, so training never trips over it.
Reading the two archive layouts and checking the photos is the job of
:mod:`convsim.datasets.photo_archive`; this module knows the book's folder.

:func:`download` fetches the archive (about 790 MB) into the convsim cache and
:func:`find_small_dataset` finds an existing ``cats_and_dogs_small`` folder.
From a shell: ``python -m convsim.datasets cats-vs-dogs`` does both steps.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from convsim.datasets import download as _download
from convsim.datasets.errors import (
    DatasetError,
    DatasetExistsError,
    DatasetNotFoundError,
)
from convsim.datasets.photo_archive import ARCHIVE_NAME, PhotoArchive, check_image
from convsim.datasets.sources import cache_dir, data_dir
from convsim.validation import positive_int

__all__ = ["ARCHIVE_NAME", "ARCHIVE_SHA256", "ARCHIVE_URL", "BUILD_COMMAND",
           "CLASSES", "SMALL_NAME", "SPLITS", "BuildReport", "SkippedFile",
           "build_small_dataset", "check_image", "download", "find_small_dataset",
           "is_small_dataset"]

ARCHIVE_URL = (
    "https://download.microsoft.com/download/3/E/1/"
    "3E1C3F21-ECDB-4869-8368-6DEBA77B919F/kagglecatsanddogs_5340.zip"
)
#: SHA-256 of ``kagglecatsanddogs_5340.zip`` as recorded by a public project that
#: downloads it (gomlx's dogsvscats example); only one source confirms it. If
#: Microsoft republishes the file, pass ``sha256=None`` to :func:`download`.
ARCHIVE_SHA256 = "b7974bd00a84a99921f36ee4403f089853777b5ae8d151c76a86e64900334af9"
SMALL_NAME = "cats_and_dogs_small"
SPLITS = ("train", "validation", "test")
#: (folder in the book's layout, file-name prefix, folder in Microsoft's archive)
CLASSES = (("cats", "cat", "Cat"), ("dogs", "dog", "Dog"))
BUILD_COMMAND = "python -m convsim.datasets cats-vs-dogs"


@dataclass(frozen=True)
class SkippedFile:
    """A file of the archive that was not used, and why."""

    name: str
    reason: str


@dataclass(frozen=True)
class BuildReport:
    """What :func:`build_small_dataset` made.

    Attributes:
        destination: the finished ``cats_and_dogs_small`` folder.
        counts: images per split and class, e.g. ``{'train': {'cats': 1000,
            'dogs': 1000}, ...}``.
        examined: files looked at (the build stops once it has enough).
        skipped: the files left out, each with its reason.
    """

    destination: Path
    counts: dict[str, dict[str, int]]
    examined: int
    skipped: tuple[SkippedFile, ...]

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        """Number of skipped files per short reason (``'empty file'``, ...)."""
        return dict(Counter(s.reason.split(" (")[0] for s in self.skipped))

    def summary(self) -> str:
        """One line for the console."""
        parts = ", ".join(
            f"{split} {c['cats']}+{c['dogs']}" for split, c in self.counts.items()
        )
        line = f"Built {self.destination}: {parts} (cats+dogs)"
        if self.skipped:
            reasons = ", ".join(f"{n} {r}" for r, n in self.skipped_by_reason.items())
            line += (f"; skipped {len(self.skipped)} of {self.examined} files "
                     f"examined ({reasons})")
        else:
            line += f"; all {self.examined} files examined were good photos"
        return line


def download(destination: str | os.PathLike | None = None, *,
             url: str = ARCHIVE_URL, sha256: str | None = ARCHIVE_SHA256,
             console: Console | None = None) -> Path:
    """Download Microsoft's cats-and-dogs archive (once) and return its path.

    Args:
        destination: where to put the zip; default
            ``~/.cache/convsim/kagglecatsanddogs_5340.zip``.
        url: the archive's address.
        sha256: expected digest (``None`` skips the check).
        console: rich console for the progress bar (default stderr).

    Raises:
        DownloadError: offline (``CONVSIM_OFFLINE=1``), network or HTTP
            failure, or a wrong checksum; the message says what to do instead.
    """
    destination = Path(destination) if destination else cache_dir() / ARCHIVE_NAME
    hint = (
        f"You can download {ARCHIVE_NAME} yourself from {ARCHIVE_URL} (or Kaggle's "
        f"'Dogs vs. Cats' train.zip) and run `{BUILD_COMMAND} --archive FILE` (or "
        f"pass it to build_small_dataset()), or pass an existing {SMALL_NAME} "
        "folder with path=."
    )
    return _download.download(url, destination, sha256=sha256, console=console,
                              hint=hint)


def build_small_dataset(
    source: str | os.PathLike,
    destination: str | os.PathLike | None = None,
    *,
    train: int = 1000,
    validation: int = 500,
    test: int = 500,
    overwrite: bool = False,
    verbose: bool = True,
    console: Console | None = None,
) -> BuildReport:
    """Make the book's ``cats_and_dogs_small`` folder from the full photo set.

    Photos are taken in numeric order (``0.jpg``, ``1.jpg``, ...), skipping
    unreadable ones: the first ``train`` good cats go to ``train/cats`` as
    ``cat.0.jpg`` ..., the next ``validation`` to ``validation/cats``, the next
    ``test`` to ``test/cats``; the same for dogs. The folder is built under a
    temporary name beside ``destination`` and renamed when complete, so an
    interrupted build never leaves a half-filled dataset behind.

    Args:
        source: Microsoft's zip, or the folder it was extracted to (holding
            ``PetImages``), or Kaggle's ``train`` folder or zip.
        destination: the folder to create; default
            ``~/.cache/convsim/cats_and_dogs_small``.
        train, validation, test: photos per class in each split.
        overwrite: replace an existing non-empty ``destination``.
        verbose: print a progress bar and a one-line summary.
        console: rich console for them (default stderr).

    Returns:
        A :class:`BuildReport` with the counts and the skipped files.

    Raises:
        DatasetExistsError: ``destination`` holds files and ``overwrite`` is
            false.
        DatasetError: the source has too few good photos of a class.
        ValueError: a count is negative.
    """
    counts = {"train": train, "validation": validation, "test": test}
    for name, value in counts.items():
        positive_int(value, name, allow_zero=True)  # photos per class
    destination = Path(destination) if destination else cache_dir() / SMALL_NAME
    if destination.exists() and not overwrite and (
        destination.is_file() or any(destination.iterdir())
    ):
        raise DatasetExistsError(
            f"{destination} already exists and is not empty. Pass overwrite=True "
            "to replace it, or choose another destination."
        )
    console = console if console is not None else Console(stderr=True)
    archive = PhotoArchive(Path(source))
    destination.parent.mkdir(parents=True, exist_ok=True)
    building = destination.with_name(
        f".{destination.name}.building-{secrets.token_hex(4)}")
    building.mkdir()
    try:
        examined, skipped = _fill(archive, building, counts, console, verbose)
        _write_sources_note(building, source, skipped)
        _replace(building, destination)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    finally:
        archive.close()
    per_split = {s: {"cats": n, "dogs": n} for s, n in counts.items()}
    report = BuildReport(destination, per_split, examined, tuple(skipped))
    if verbose:
        console.print(report.summary(), markup=False, highlight=False,
                      soft_wrap=True)
    return report


def _fill(archive: PhotoArchive, root: Path, counts: dict[str, int],
          console: Console, verbose: bool) -> tuple[int, list[SkippedFile]]:
    """Copy good photos into ``root``; return (files examined, files skipped)."""
    needed = sum(counts.values())
    examined, skipped = 0, []
    bar = Progress(TextColumn("Copying {task.description}"), BarColumn(),
                   MofNCompleteColumn(), console=console, transient=True,
                   disable=not verbose)
    with bar:
        for folder, prefix, _ in CLASSES:
            task = bar.add_task(folder, total=needed)
            targets = [split for split in SPLITS for _ in range(counts[split])]
            members = iter(archive.names[prefix])
            skipped_before = len(skipped)
            for index, split in enumerate(targets):
                for member in members:
                    examined += 1
                    try:  # not a regular file, too large, damaged in the zip
                        data = archive.read(member)
                    except OSError as err:
                        skipped.append(SkippedFile(member, f"unreadable ({err})"))
                        continue
                    reason = check_image(data)
                    if reason is None:
                        break
                    skipped.append(SkippedFile(member, reason))
                else:
                    raise DatasetError(
                        f"{archive.source}: only {index} good {folder} photos found, "
                        f"{needed} needed (train {counts['train']} + validation "
                        f"{counts['validation']} + test {counts['test']}); "
                        f"{len(skipped) - skipped_before} unreadable files were "
                        "skipped. Use a complete archive or "
                        "ask for fewer photos."
                    )
                target = root / split / folder / f"{prefix}.{index}.jpg"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
                bar.advance(task)
            for split in SPLITS:  # empty splits still get their folders
                (root / split / folder).mkdir(parents=True, exist_ok=True)
    return examined, skipped


def _write_sources_note(root: Path, source, skipped: list[SkippedFile]) -> None:
    lines = [
        f"Built by convsim.datasets.cats_vs_dogs from {source}.",
        "Photos: Kaggle 'Dogs vs. Cats' (Asirra, Microsoft Research / Petfinder).",
        f"Skipped {len(skipped)} unreadable files:",
        *(f"  {s.name}: {s.reason}" for s in skipped),
    ]
    (root / "SOURCES.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def _replace(building: Path, destination: Path) -> None:
    """Rename ``building`` to ``destination``, moving an old copy aside first."""
    old = None
    if destination.is_file() or (destination.is_dir() and any(destination.iterdir())):
        old = destination.with_name(f".{destination.name}.old-{secrets.token_hex(4)}")
        os.replace(destination, old)
    elif destination.is_dir():
        destination.rmdir()
    try:
        os.replace(building, destination)
    except BaseException:
        if old is not None:
            os.replace(old, destination)
        raise
    if old is not None:
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)
        else:
            old.unlink(missing_ok=True)


def is_small_dataset(folder: str | os.PathLike) -> bool:
    """True if ``folder`` has ``{train,validation,test}/{cats,dogs}`` with files."""
    folder = Path(folder)
    return all(
        (folder / split / cls).is_dir() and any((folder / split / cls).iterdir())
        for split in SPLITS for cls, _, _ in CLASSES
    )


def find_small_dataset(path: str | os.PathLike | None = None) -> Path:
    """Find a ``cats_and_dogs_small`` folder (the book's layout).

    Looks at ``path`` (the folder itself, or a folder containing
    ``cats_and_dogs_small``), then ``$CONVSIM_DATA/cats_and_dogs_small``, then
    ``~/.cache/convsim/cats_and_dogs_small``.

    Raises:
        DatasetNotFoundError: none found; the message says how to make one.
    """
    how = (
        f"To make one, run `{BUILD_COMMAND}` (downloads Microsoft's archive, "
        f"about 790 MB, and builds the folder in {cache_dir() / SMALL_NAME}), or "
        f"`{BUILD_COMMAND} --archive FILE_OR_FOLDER` with an archive you already "
        "have; or pass path= to a folder with train/, validation/ and test/, each "
        "holding cats/ and dogs/."
    )
    how_ko = (
        f"만드는 방법: `{BUILD_COMMAND}` (마이크로소프트의 압축 파일 약 790 MB를 "
        f"내려받아 {cache_dir() / SMALL_NAME} 폴더를 만듭니다), 이미 받은 압축 "
        f"파일이 있으면 `{BUILD_COMMAND} --archive FILE_OR_FOLDER`. 아니면 "
        "train/, validation/, test/ 폴더가 있고 그 안에 각각 cats/와 dogs/가 있는 "
        "폴더를 path=로 주세요."
    )
    if path is not None:
        folder = Path(path).expanduser()
        for candidate in (folder, folder / SMALL_NAME):
            if is_small_dataset(candidate):
                return candidate
        raise DatasetNotFoundError(
            f"path={str(path)!r} is not a {SMALL_NAME} folder: it needs "
            "train/, validation/ and test/, each with non-empty cats/ and dogs/. "
            + how,
            ko=f"{SMALL_NAME} 폴더가 아닙니다: path={str(path)!r}. train/, "
            "validation/, test/ 폴더가 있고, 각각 비어 있지 않은 cats/와 dogs/가 "
            "있어야 합니다. " + how_ko,
        )
    places = ([data_dir() / SMALL_NAME] if data_dir() is not None else []) + [
        cache_dir() / SMALL_NAME
    ]
    for candidate in places:
        if is_small_dataset(candidate):
            return candidate
    raise DatasetNotFoundError(
        f"No {SMALL_NAME} folder found (looked in "
        f"{', '.join(str(p) for p in places)}). " + how,
        ko=f"{SMALL_NAME} 폴더를 찾지 못했습니다 (찾아본 곳: "
        f"{', '.join(str(p) for p in places)}). " + how_ko,
    )
