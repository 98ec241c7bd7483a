"""The full cats-and-dogs photo set, zipped or extracted: which files are
photos of cats and of dogs, in what order, and which of them are good JPEGs.

Two sources hold the photos the book's ``cats_and_dogs_small`` folder is made
from (see :mod:`convsim.datasets.cats_vs_dogs`, which builds that folder):

* Microsoft's public archive ``kagglecatsanddogs_5340.zip``: folders
  ``PetImages/Cat`` and ``PetImages/Dog`` with ``0.jpg``, ``1.jpg``, ...;
* Kaggle's "Dogs vs. Cats" ``train`` folder: ``cat.0.jpg``, ``dog.0.jpg``, ...

Both are read the same way, as a zip or as an extracted folder. Microsoft's
archive holds some zero-byte files, a few broken JPEGs and ``Thumbs.db``
files, so :func:`check_image` decodes every photo before it is used. A photo
is read only when it is within the limits ``load_img`` sets
(:data:`~convsim.preprocessing.image_utils.MAX_IMAGE_BYTES` by the size the
zip declares or the file has, :data:`~convsim.preprocessing.image_utils.
MAX_IMAGE_PIXELS` by its header) and, in a folder, only when it is a regular
file; anything else is skipped with the reason, like a broken JPEG.
"""

from __future__ import annotations

import io
import os
import re
import warnings
import zipfile
import zlib
from pathlib import Path

from PIL import Image

from convsim.datasets.errors import DatasetError, DatasetNotFoundError
from convsim.errors import FileTooLargeError
from convsim.files import read_bytes
from convsim.preprocessing import image_utils

__all__ = ["ARCHIVE_NAME", "PhotoArchive", "check_image"]

ARCHIVE_NAME = "kagglecatsanddogs_5340.zip"
_KAGGLE_NAME = re.compile(r"^(cat|dog)\.(\d+)\.jpe?g$", re.IGNORECASE)


def check_image(data: bytes) -> str | None:
    """Why ``data`` is not a usable JPEG photo, or ``None`` if it is.

    The photo is fully decoded, because a truncated JPEG opens fine and only
    fails when its pixels are read. A photo Pillow can decode only with a
    warning (corrupt EXIF data, for example) is refused too, so training later
    runs without a stream of warnings.
    """
    if not data:
        return "empty file"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(io.BytesIO(data)) as image:
                if image.format != "JPEG":
                    return f"not a JPEG ({image.format})"
                width, height = image.size
                if caught or width * height > image_utils.MAX_IMAGE_PIXELS:
                    return (f"too large ({width} x {height} pixels; at most "
                            f"{image_utils.MAX_IMAGE_PIXELS:,})")
                image.load()
        except (Image.UnidentifiedImageError, Image.DecompressionBombError):
            return "not an image"
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            return f"corrupt image ({err})"
    if caught:
        return f"corrupt image (Pillow warned: {caught[0].message})"
    return None


class PhotoArchive:
    """The photos of one source: a zip file or an extracted folder."""

    def __init__(self, source: Path):
        self.source = source
        self.zip: zipfile.ZipFile | None = None
        self.names: dict[str, list[str]] = {"cat": [], "dog": []}
        if source.is_file():
            try:
                self.zip = zipfile.ZipFile(source)
            except (zipfile.BadZipFile, OSError) as err:
                raise DatasetError(
                    f"{source}: not a readable zip archive ({err}). Delete it and "
                    "download it again."
                ) from err
            members = [m.filename for m in self.zip.infolist() if not m.is_dir()]
        elif source.is_dir():
            members = [
                os.path.relpath(os.path.join(root, f), source).replace(os.sep, "/")
                for root, _, files in os.walk(source) for f in files
            ]
        else:
            raise DatasetNotFoundError(
                f"source={str(source)!r} does not exist. Pass Microsoft's "
                f"{ARCHIVE_NAME} (zipped or extracted) or Kaggle's train folder."
            )
        for member in members:
            kind = self._class_of(member)
            if kind:
                self.names[kind].append(member)
        for kind in self.names:
            self.names[kind].sort(key=_numeric_key)

    @staticmethod
    def _class_of(member: str) -> str | None:
        """'cat', 'dog' or None (not a photo of this dataset) for one member."""
        parts = member.split("/")
        if "__MACOSX" in parts:  # macOS resource forks in re-zipped archives
            return None
        if len(parts) >= 2 and parts[-2] in ("Cat", "Dog"):
            return parts[-2].lower()  # Microsoft: PetImages/Cat/12.jpg
        match = _KAGGLE_NAME.match(parts[-1])
        if match and (len(parts) == 1 or parts[-2].lower() == "train"):
            return match.group(1).lower()  # Kaggle: train/cat.12.jpg
        return None

    def read(self, member: str) -> bytes:
        """The bytes of one photo, at most ``MAX_IMAGE_BYTES`` of them.

        Raises:
            FileTooLargeError: the zip declares, or the file has, more.
            DatasetError: the zip's copy is damaged (checksum, compression).
            FileError: in a folder, the photo is not a regular file (a FIFO, a
                device, a link to one).
        """
        limit = image_utils.MAX_IMAGE_BYTES
        if self.zip is None:
            return read_bytes(self.source / member, limit, "photo")
        declared = self.zip.getinfo(member).file_size
        if declared > limit:  # zipfile never inflates past the declared size
            raise FileTooLargeError(f"{member} declares {declared:,} bytes; a "
                                    f"photo may have at most {limit:,}.")
        try:
            return self.zip.read(member)
        # zipfile's answers to a damaged or encrypted member
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                RuntimeError) as err:
            raise DatasetError(f"{member}: damaged in the archive ({err})") from err

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def _numeric_key(member: str) -> tuple:
    """Sort ``10.jpg`` after ``9.jpg`` (and ``cat.10.jpg`` after ``cat.9.jpg``)."""
    stem = member.rsplit("/", 1)[-1].split(".")
    numbers = [int(p) for p in stem if p.isdigit()]
    return (0, numbers[0], member) if numbers else (1, 0, member)
