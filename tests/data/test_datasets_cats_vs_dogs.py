"""cats_vs_dogs: building the book's layout from a small archive the test makes
(good JPEGs plus the junk the real archive has), atomicity, finding the folder,
and downloading the archive from a local server."""

from __future__ import annotations

import hashlib
import io
import zipfile

import numpy as np
import pytest
from local_server import Route, capture, serve
from PIL import Image

from convsim.datasets import cats_vs_dogs as cvd
from convsim.datasets.__main__ import main as datasets_main
from convsim.datasets.errors import (
    ChecksumError,
    DatasetError,
    DatasetExistsError,
    DatasetNotFoundError,
)

pytestmark = pytest.mark.usefixtures("isolated")


def jpeg(value: int, size=(6, 5), fmt="JPEG") -> bytes:
    """A tiny real photo whose brightness identifies it after JPEG compression."""
    buffer = io.BytesIO()
    Image.new("RGB", size, (value, value, value)).save(buffer, format=fmt)
    return buffer.getvalue()


def brightness(path) -> int:
    with Image.open(path) as image:
        return int(round(np.asarray(image).mean()))


TRUNCATED = jpeg(7, size=(64, 64))[:200]


def archive_members(cats=8, dogs=6) -> dict[str, bytes]:
    """Microsoft's layout: good photos numbered 0.. with junk mixed in.

    Cat photo n has brightness 10*n; dog photo n has 10*n + 5.
    """
    members = {}
    for n in range(cats):
        members[f"PetImages/Cat/{n}.jpg"] = jpeg(10 * n)
    for n in range(dogs):
        members[f"PetImages/Dog/{n}.jpg"] = jpeg(10 * n + 5)
    members["PetImages/Cat/1.jpg"] = b""  # zero bytes, like Cat/666.jpg
    members["PetImages/Cat/3.jpg"] = TRUNCATED
    members["PetImages/Cat/4.jpg"] = jpeg(40, fmt="PNG")  # a PNG named .jpg
    members["PetImages/Cat/Thumbs.db"] = b"\xd0\xcf\x11\xe0 windows thumbnails"
    members["PetImages/Dog/2.jpg"] = b"GIF89a nonsense"
    members["readme[1].txt"] = b"license"
    return members


def make_zip(path, members) -> bytes:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path.read_bytes()


def make_folder(root, members):
    for name, data in members.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def test_check_image_reasons():
    assert cvd.check_image(jpeg(100)) is None
    assert cvd.check_image(b"") == "empty file"
    assert cvd.check_image(b"hello") == "not an image"
    assert cvd.check_image(jpeg(1, fmt="PNG")) == "not a JPEG (PNG)"
    assert cvd.check_image(TRUNCATED).startswith("corrupt image")


def with_size(data: bytes, width: int, height: int) -> bytes:
    """A JPEG whose header (its SOF0 marker) claims another size."""
    data = bytearray(data)
    sof = data.index(b"\xff\xc0")
    data[sof + 5:sof + 9] = height.to_bytes(2, "big") + width.to_bytes(2, "big")
    return bytes(data)


@pytest.mark.parametrize("width, height", [(9000, 8000), (10_000, 10_000)])
def test_check_image_refuses_huge_photos_before_decoding(width, height):
    # 72 MP: over convsim's 64 MP; 100 MP: over Pillow's 89.5 MP, which warns.
    # Before, both were decoded first (216 and 300 MB), then refused.
    assert cvd.check_image(with_size(jpeg(9), width, height)) == (
        f"too large ({width} x {height} pixels; at most 64,000,000)")


def test_photos_that_are_not_regular_files_are_skipped(tmp_path, fifo):
    members = archive_members()
    folder = make_folder(tmp_path / "extracted", members)
    (folder / "PetImages/Cat/0.jpg").unlink()
    fifo(folder / "PetImages/Cat/0.jpg")  # reading it would hang the build
    (folder / "PetImages/Dog/0.jpg").unlink()
    (folder / "PetImages/Dog/0.jpg").symlink_to("/dev/null")
    report = cvd.build_small_dataset(folder, tmp_path / "small", train=2,
                                     validation=1, test=1, verbose=False)
    reasons = {s.name: s.reason for s in report.skipped}
    assert "is a FIFO (named pipe)" in reasons["PetImages/Cat/0.jpg"]
    assert "is a device" in reasons["PetImages/Dog/0.jpg"]
    assert report.skipped_by_reason["unreadable"] == 2


def test_zip_members_too_large_or_damaged_are_skipped(tmp_path, monkeypatch):
    members = archive_members()
    members["PetImages/Cat/0.jpg"] = jpeg(0, size=(300, 300))  # the largest one
    data = bytearray(make_zip(tmp_path / "pets.zip", members))
    good = jpeg(50)  # Cat/5.jpg: flip a byte inside its stored copy
    where = data.index(good) + len(good) // 2
    data[where] ^= 0xFF
    (tmp_path / "pets.zip").write_bytes(bytes(data))
    from convsim.preprocessing import image_utils

    monkeypatch.setattr(image_utils, "MAX_IMAGE_BYTES", len(jpeg(0, (64, 64))))
    report = cvd.build_small_dataset(tmp_path / "pets.zip", tmp_path / "small",
                                     train=1, validation=1, test=1, verbose=False)
    reasons = {s.name: s.reason for s in report.skipped}
    assert reasons["PetImages/Cat/0.jpg"].startswith(
        f"unreadable (PetImages/Cat/0.jpg declares {len(jpeg(0, (300, 300))):,} "
        "bytes; a photo may have at most")
    assert reasons["PetImages/Cat/5.jpg"].startswith(
        "unreadable (PetImages/Cat/5.jpg: damaged in the archive (Bad CRC-32")


def test_build_from_zip(tmp_path):
    make_zip(tmp_path / "pets.zip", archive_members())
    console, out = capture()
    report = cvd.build_small_dataset(tmp_path / "pets.zip", tmp_path / "small",
                                     train=2, validation=1, test=1, console=console)
    root = tmp_path / "small"
    # cats 0, 2, 5, 6 are the first four good ones (1 empty, 3 cut, 4 PNG)
    expected = {
        "train/cats": {"cat.0.jpg": 0, "cat.1.jpg": 20},
        "validation/cats": {"cat.2.jpg": 50},
        "test/cats": {"cat.3.jpg": 60},
        "train/dogs": {"dog.0.jpg": 5, "dog.1.jpg": 15},
        "validation/dogs": {"dog.2.jpg": 35},
        "test/dogs": {"dog.3.jpg": 45},
    }
    for folder, files in expected.items():
        assert sorted(p.name for p in (root / folder).iterdir()) == sorted(files)
        for name, value in files.items():
            assert abs(brightness(root / folder / name) - value) <= 2
    assert report.counts["train"] == {"cats": 2, "dogs": 2}
    assert report.examined == 7 + 5
    assert report.skipped_by_reason == {"empty file": 1, "corrupt image": 1,
                                        "not a JPEG": 1, "not an image": 1}
    assert "PetImages/Cat/1.jpg: empty file" in (root / "SOURCES.txt").read_text()
    line = out.getvalue().strip()
    assert "\n" not in line
    assert "train 2+2, validation 1+1, test 1+1" in line
    assert "skipped 4 of 12 files examined" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pets.zip", "small"]


def test_folder_and_zip_give_the_same_dataset(tmp_path):
    members = archive_members()
    make_zip(tmp_path / "pets.zip", members)
    extracted = make_folder(tmp_path / "extracted", members)
    cvd.build_small_dataset(tmp_path / "pets.zip", tmp_path / "a", train=2,
                            validation=1, test=1, verbose=False)
    cvd.build_small_dataset(extracted, tmp_path / "b", train=2, validation=1,
                            test=1, verbose=False)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob(
        "*.jpg"))
    assert files_a == sorted(p.relative_to(tmp_path / "b")
                             for p in (tmp_path / "b").rglob("*.jpg"))
    for rel in files_a:
        a, b = tmp_path / "a" / rel, tmp_path / "b" / rel
        assert a.read_bytes() == b.read_bytes()


def test_kaggle_train_folder_and_numeric_order(tmp_path):
    members = {f"train/{kind}.{n}.jpg": jpeg(n * 20 + (kind == "dog"))
               for kind in ("cat", "dog") for n in (0, 1, 2, 9, 10)}
    make_folder(tmp_path / "kaggle", members)
    cvd.build_small_dataset(tmp_path / "kaggle", tmp_path / "small", train=4,
                            validation=1, test=0, verbose=False)
    # 9 comes before 10 (numeric, not alphabetical order)
    assert abs(brightness(tmp_path / "small/train/cats/cat.3.jpg") - 180) <= 2
    assert abs(brightness(tmp_path / "small/validation/cats/cat.4.jpg") - 200) <= 2
    assert list((tmp_path / "small" / "test" / "dogs").iterdir()) == []


def test_too_few_photos_leaves_nothing_behind(tmp_path):
    make_zip(tmp_path / "pets.zip", archive_members())
    with pytest.raises(DatasetError, match=r"only 5 good cats photos found, 9 "
                       r"needed.*4 unreadable files were skipped"):
        cvd.build_small_dataset(tmp_path / "pets.zip", tmp_path / "small", train=5,
                                validation=2, test=2, verbose=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pets.zip"]


def test_refuses_to_overwrite_unless_asked(tmp_path):
    make_zip(tmp_path / "pets.zip", archive_members())
    dest = tmp_path / "small"
    dest.mkdir()
    (dest / "my-notes.txt").write_text("precious")
    with pytest.raises(DatasetExistsError, match=r"small already exists.*"
                       r"overwrite=True") as info:
        cvd.build_small_dataset(tmp_path / "pets.zip", dest, train=1, validation=0,
                                test=0, verbose=False)
    assert isinstance(info.value, FileExistsError)
    assert (dest / "my-notes.txt").read_text() == "precious"
    cvd.build_small_dataset(tmp_path / "pets.zip", dest, train=1, validation=0,
                            test=0, overwrite=True, verbose=False)
    assert not (dest / "my-notes.txt").exists()
    assert (dest / "train" / "cats" / "cat.0.jpg").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pets.zip", "small"]


def test_empty_destination_folder_is_fine(tmp_path):
    make_zip(tmp_path / "pets.zip", archive_members())
    (tmp_path / "small").mkdir()
    cvd.build_small_dataset(tmp_path / "pets.zip", tmp_path / "small", train=1,
                            validation=1, test=1, verbose=False)
    assert cvd.is_small_dataset(tmp_path / "small")


def test_interrupted_build_is_atomic(tmp_path, monkeypatch):
    make_zip(tmp_path / "pets.zip", archive_members())
    calls = []

    def interrupt_on_fifth(data):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return None

    monkeypatch.setattr(cvd, "check_image", interrupt_on_fifth)
    with pytest.raises(KeyboardInterrupt):
        cvd.build_small_dataset(tmp_path / "pets.zip", tmp_path / "small", train=3,
                                validation=1, test=1, verbose=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pets.zip"]


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_counts_are_validated(tmp_path, bad):
    with pytest.raises(ValueError, match=r"`validation` must be a non-negative "
                       r"integer.*Received: validation="):
        cvd.build_small_dataset(tmp_path, tmp_path / "x", validation=bad)


def test_missing_or_broken_source(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"does not exist"):
        cvd.build_small_dataset(tmp_path / "nope.zip", tmp_path / "x")
    (tmp_path / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(DatasetError, match=r"broken\.zip: not a readable zip"):
        cvd.build_small_dataset(tmp_path / "broken.zip", tmp_path / "x")


# --- finding the folder -------------------------------------------------------


def small_layout(root):
    for split in cvd.SPLITS:
        for cls in ("cats", "dogs"):
            (root / split / cls).mkdir(parents=True)
            (root / split / cls / f"{cls[:-1]}.0.jpg").write_bytes(jpeg(1))
    return root


def test_find_small_dataset_order(tmp_path, monkeypatch):
    with pytest.raises(DatasetNotFoundError) as info:
        cvd.find_small_dataset()
    assert "python -m convsim.datasets cats-vs-dogs" in str(info.value)
    assert "path=" in str(info.value)
    cached = small_layout(tmp_path / "xdg" / "convsim" / "cats_and_dogs_small")
    assert cvd.find_small_dataset() == cached
    env = small_layout(tmp_path / "env" / "cats_and_dogs_small")
    monkeypatch.setenv("CONVSIM_DATA", str(tmp_path / "env"))
    assert cvd.find_small_dataset() == env
    mine = small_layout(tmp_path / "Desktop" / "cats_and_dogs_small")
    assert cvd.find_small_dataset(mine) == mine
    assert cvd.find_small_dataset(tmp_path / "Desktop") == mine


def test_find_small_dataset_explains_a_wrong_path(tmp_path):
    root = small_layout(tmp_path / "half")
    for file in (root / "test" / "dogs").iterdir():
        file.unlink()
    with pytest.raises(DatasetNotFoundError, match=r"is not a cats_and_dogs_small "
                       r"folder.*non-empty cats/ and dogs/"):
        cvd.find_small_dataset(root)


def test_shared_data_has_the_book_layout(shared_data):
    folder = shared_data / "cats_and_dogs_small"
    assert cvd.find_small_dataset(folder) == folder


# --- downloading and the command line ----------------------------------------


def test_download_then_build(tmp_path):
    data = make_zip(tmp_path / "served.zip", archive_members())
    with serve({"/pets.zip": Route(data)}) as (base, requested):
        path = cvd.download(tmp_path / "cache" / "pets.zip", url=base + "pets.zip",
                            sha256=hashlib.sha256(data).hexdigest(),
                            console=capture()[0])
        with pytest.raises(ChecksumError, match=r"python -m convsim.datasets "
                           r"cats-vs-dogs --archive FILE"):
            cvd.download(tmp_path / "other.zip", url=base + "pets.zip",
                         sha256="1" * 64, console=capture()[0])
    assert path.read_bytes() == data and len(requested) == 2
    report = cvd.build_small_dataset(path, tmp_path / "small", train=1,
                                     validation=1, test=1, verbose=False)
    assert report.counts["test"] == {"cats": 1, "dogs": 1}


def test_download_without_checksum_when_asked(tmp_path):
    data = make_zip(tmp_path / "served.zip", {"PetImages/Cat/0.jpg": jpeg(1)})
    with serve({"/p.zip": Route(data)}) as (base, _):
        path = cvd.download(tmp_path / "p.zip", url=base + "p.zip", sha256=None,
                            console=capture()[0])
    assert path.read_bytes() == data


def test_default_download_goes_to_the_cache_and_is_verified():
    assert cvd.ARCHIVE_URL.endswith("/kagglecatsanddogs_5340.zip")
    assert len(cvd.ARCHIVE_SHA256) == 64


def test_command_line(tmp_path):
    make_zip(tmp_path / "pets.zip", archive_members())
    console, out = capture()
    status = datasets_main(["cats-vs-dogs", "--archive", str(tmp_path / "pets.zip"),
                            "--dest", str(tmp_path / "small"), "--train", "1",
                            "--validation", "1", "--test", "1"], console=console)
    assert status == 0 and cvd.is_small_dataset(tmp_path / "small")
    assert "Built" in out.getvalue()
    status = datasets_main(["cats-vs-dogs", "--archive", str(tmp_path / "pets.zip"),
                            "--dest", str(tmp_path / "small")], console=console)
    assert status == 1 and "error:" in out.getvalue()
    assert datasets_main(["mnist", "--no-download"], console=console) == 0
    assert "bundled sample" in out.getvalue()
