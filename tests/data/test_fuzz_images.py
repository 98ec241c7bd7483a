"""Fuzzing the image loader: real small pictures with flipped bits, cut short,
with junk appended, or with their size fields rewritten (checksums fixed, so
the decoder believes them). Whatever the bytes, ``load_img`` returns a picture
of the asked size or raises the documented
:class:`~convsim.preprocessing.image_utils.ImageReadError` (or its
``ImageTooLargeError``), and ``image_file_problem`` returns a reason or None;
nothing else escapes.

The pictures are MNIST digits shipped with convsim in every format
``flow_from_directory`` lists, plus, when the shared data is there, real cat
and dog photos. The pixel limit is lowered to 4 megapixels here so that a
rewritten header costs milliseconds, not a 256 MB decode; the limit's own
logic is tested in test_image_utils.py. ``python fuzz/images.py --minutes N``
runs the same mutations for longer, with the real limit.
"""

from __future__ import annotations

import functools
import io
import struct
import zlib
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from convsim.datasets import mnist
from convsim.datasets.idx import read_idx
from convsim.preprocessing import image_utils
from convsim.preprocessing.image_utils import (
    ImageReadError,
    image_file_problem,
    load_img,
)

FUZZ_PIXELS = 4_000_000


@functools.cache
def pictures() -> dict[str, bytes]:
    """Real digits, saved as every format and mode a photo folder may hold."""
    digits = read_idx(mnist.BUNDLED_DIR / "t10k-images-idx3-ubyte.gz")[:3]
    gray = Image.fromarray(digits[0])
    rgb = Image.fromarray(np.stack(digits, axis=-1))
    saved = {}
    for name, picture, fmt, options in [
        ("gray.png", gray, "PNG", {}), ("rgb.png", rgb, "PNG", {}),
        ("rgba.png", rgb.convert("RGBA"), "PNG", {}),
        ("palette.png", rgb.convert("P"), "PNG", {}),
        ("gray.jpg", gray, "JPEG", {}), ("rgb.jpg", rgb, "JPEG", {"quality": 90}),
        ("progressive.jpg", rgb, "JPEG", {"progressive": True}),
        ("rgb.bmp", rgb, "BMP", {}), ("rgb.ppm", rgb, "PPM", {}),
        ("rgb.tif", rgb, "TIFF", {}),
        ("lzw.tif", rgb, "TIFF", {"compression": "tiff_lzw"}),
    ]:
        out = io.BytesIO()
        picture.save(out, fmt, **options)
        saved[name] = out.getvalue()
    return saved


def with_size(data: bytes, width: int, height: int) -> bytes:
    """``data`` claiming another size: a PNG's IHDR (checksum fixed) or a
    JPEG's start-of-frame marker; other formats unchanged."""
    out = bytearray(data)
    if data.startswith(b"\x89PNG"):
        out[16:24] = struct.pack(">II", width, height)
        out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
    elif data.startswith(b"\xff\xd8"):
        sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
        out[sof + 5:sof + 9] = struct.pack(">HH", height % 65536, width % 65536)
    return bytes(out)


def load_or_refuse(path: Path) -> tuple[str | None, bool]:
    """The documented outcomes only, for both the listing's check and the
    loader: ``(the listing's problem, whether the loader made a picture)``."""
    problem = image_file_problem(path)
    assert problem is None or isinstance(problem, str)
    try:
        picture = load_img(path, target_size=(8, 8))
    except ImageReadError as err:
        assert err.reason and str(path) in str(err)
        return problem, False
    assert picture.size == (8, 8)
    return problem, True


@given(name=st.sampled_from(sorted(pictures())),
       flips=st.lists(st.integers(0, 2**40), min_size=1, max_size=16),
       in_header=st.booleans())
def test_pictures_with_flipped_bits(tmp_path_factory, name, flips, in_header):
    damaged = bytearray(pictures()[name])
    span = min(len(damaged), 128) if in_header else len(damaged)
    for bit in flips:
        bit %= span * 8
        damaged[bit // 8] ^= 1 << (bit % 8)
    path = tmp_path_factory.mktemp("img") / name
    path.write_bytes(bytes(damaged))
    with mock.patch.object(image_utils, "MAX_IMAGE_PIXELS", FUZZ_PIXELS):
        load_or_refuse(path)


@given(name=st.sampled_from(sorted(pictures())), cut=st.integers(0, 2**40),
       tail=st.binary(max_size=64))
def test_pictures_cut_short_or_with_junk_after(tmp_path_factory, name, cut, tail):
    data = pictures()[name]
    path = tmp_path_factory.mktemp("img") / name
    path.write_bytes(data + tail if tail else data[:cut % len(data)])
    with mock.patch.object(image_utils, "MAX_IMAGE_PIXELS", FUZZ_PIXELS):
        problem, loaded = load_or_refuse(path)
    if not tail:  # a photo cut short is found when the folder is listed
        assert problem is not None or loaded


@given(name=st.sampled_from(["gray.png", "rgb.png", "palette.png", "rgb.jpg",
                             "progressive.jpg"]),
       width=st.sampled_from([0, 1, 27, 29, 2000, 65_535]) | st.integers(0, 2**32 - 1),
       height=st.sampled_from([0, 1, 27, 29, 2000, 65_535]) | st.integers(0, 2**32 - 1))
def test_pictures_claiming_other_sizes(tmp_path_factory, name, width, height):
    path = tmp_path_factory.mktemp("img") / name
    path.write_bytes(with_size(pictures()[name], width, height))
    with mock.patch.object(image_utils, "MAX_IMAGE_PIXELS", FUZZ_PIXELS):
        load_or_refuse(path)


def test_real_photos_damaged(shared_data, tmp_path):
    """Three real photos, each cut at 10 places and with 10 sets of flipped
    bits (a fixed sequence, about a second)."""
    photos = sorted((shared_data / "cats_and_dogs_small" / "train").glob("*/*.jpg"))
    if not photos:
        pytest.skip("no photos in the shared data")
    rng = np.random.default_rng(15)
    for photo in photos[:: len(photos) // 3][:3]:
        data = photo.read_bytes()
        for i in range(10):
            damaged = bytearray(data)
            for bit in rng.integers(0, len(data) * 8, int(rng.integers(1, 9))):
                damaged[bit // 8] ^= 1 << int(bit % 8)
            for variant, content in (("flip", damaged), ("cut", data[:int(
                    rng.integers(0, len(data)))])):
                path = tmp_path / f"{variant}{i}-{photo.name}"
                path.write_bytes(bytes(content))
                problem, loaded = load_or_refuse(path)
                if variant == "cut":
                    assert problem is not None or loaded
