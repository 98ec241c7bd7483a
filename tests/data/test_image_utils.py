"""load_img / img_to_array / array_to_img / save_img with Keras's rules, and
what load_img refuses: files that are not regular, too large, or damaged."""

import io
import re
import struct
import warnings
import zlib

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from PIL import Image

from convsim.errors import (
    DatasetError,
    FileTooLargeError,
    MissingFileError,
    NotARegularFileError,
)
from convsim.preprocessing import image, image_utils
from convsim.preprocessing.image_utils import image_file_problem


@pytest.fixture
def photo(tmp_path):
    """A 6 x 4 (width x height) RGB PNG with distinct pixels."""
    pixels = np.arange(4 * 6 * 3, dtype=np.uint8).reshape(4, 6, 3) * 3
    path = tmp_path / "photo.png"
    Image.fromarray(pixels).save(path)
    return path, pixels


def test_load_and_convert_keeps_pixels(photo):
    path, pixels = photo
    img = image.load_img(path)
    assert img.mode == "RGB" and img.size == (6, 4)
    x = image.img_to_array(img)
    assert x.dtype == np.float32 and x.shape == (4, 6, 3)
    assert_array_equal(x, pixels)
    assert_array_equal(image.img_to_array(image.load_img(str(path))), pixels)


def test_target_size_is_height_width_and_default_is_nearest(photo):
    path, pixels = photo
    img = image.load_img(path, target_size=(8, 3))
    assert img.size == (3, 8)  # PIL sizes are (width, height)
    expected = Image.fromarray(pixels).resize((3, 8), Image.Resampling.NEAREST)
    assert_array_equal(image.img_to_array(img), np.asarray(expected))
    bilinear = image.load_img(path, target_size=(8, 3), interpolation="bilinear")
    smooth = Image.fromarray(pixels).resize((3, 8), Image.Resampling.BILINEAR)
    assert_array_equal(np.asarray(bilinear), np.asarray(smooth))


def test_keep_aspect_ratio_crops_the_centre(photo):
    path, pixels = photo
    img = image.load_img(path, target_size=(4, 4), keep_aspect_ratio=True)
    assert_array_equal(np.asarray(img), pixels[:, 1:5])


def test_color_modes(photo, tmp_path):
    path, pixels = photo
    gray = image.img_to_array(image.load_img(path, color_mode="grayscale"))
    assert gray.shape == (4, 6, 1)
    expected = np.asarray(Image.fromarray(pixels).convert("L"))
    assert_array_equal(gray[..., 0], expected)
    rgba = image.img_to_array(image.load_img(path, color_mode="rgba"))
    assert rgba.shape == (4, 6, 4) and np.all(rgba[..., 3] == 255)
    gray_file = tmp_path / "g.png"
    Image.new("L", (2, 2), 77).save(gray_file)
    assert_array_equal(image.img_to_array(image.load_img(gray_file)), 77)
    with pytest.warns(UserWarning, match="grayscale is deprecated"):
        assert image.load_img(path, grayscale=True).mode == "L"


def test_bytesio_and_bad_path_type(photo):
    path, pixels = photo
    img = image.load_img(io.BytesIO(path.read_bytes()))
    assert_array_equal(np.asarray(img), pixels)
    with pytest.raises(TypeError, match="path should be path-like"):
        image.load_img(42)


def test_unreadable_files_raise_an_oserror_naming_them(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("hello")
    with pytest.raises(image.ImageReadError, match=r"Could not read the image "
                       r"file '.*notes\.jpg': Pillow cannot identify an image "
                       r"format in it; the file is corrupt, truncated or not an "
                       r"image") as info:
        image.load_img(text)
    assert isinstance(info.value, OSError) and isinstance(info.value, DatasetError)
    assert info.value.path == str(text)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)
    whole = io.BytesIO()
    Image.fromarray(noise).save(whole, "JPEG")
    truncated = tmp_path / "cut.png"  # the wrong ending does not matter
    truncated.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    with pytest.raises(image.ImageReadError, match=r"cut\.png': image file is "
                       r"truncated .*; the file is corrupt, truncated or not an "
                       r"image\. Delete the file"):
        image.load_img(truncated)
    with pytest.raises(MissingFileError, match=r"No picture file found at "
                       r"'.*missing\.png'") as info:
        image.load_img(tmp_path / "missing.png")
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize("kwargs, match", [
    ({"color_mode": "cmyk"}, "`color_mode` must be one of"),
    ({"interpolation": "cubic"}, "Invalid interpolation method 'cubic' specified. "
                                 "Supported methods are nearest, bilinear"),
    ({"target_size": (3,)}, "The `target_size` argument must be a tuple of 2"),
])
def test_load_img_argument_errors(photo, kwargs, match):
    with pytest.raises(ValueError, match=match):
        image.load_img(photo[0], **kwargs)


def test_array_to_img_scales_like_keras():
    x = np.array([[[-1.0], [0.0]], [[1.0], [3.0]]])
    img = image.array_to_img(x)
    assert img.mode == "L"
    assert_array_equal(np.asarray(img), [[0, 63], [127, 255]])
    unit = np.full((2, 2, 3), 0.5)
    unit[0, 0] = 1.0
    rgb = np.asarray(image.array_to_img(unit))
    assert rgb[0, 0, 0] == 255 and rgb[1, 1, 0] == 0  # stretched to 0..255
    raw = np.asarray(image.array_to_img(np.full((1, 1, 3), 200.7), scale=False))
    assert_array_equal(raw, [[[200, 200, 200]]])
    assert image.array_to_img(np.zeros((2, 2, 4))).mode == "RGBA"
    assert image.array_to_img(np.full((1, 1, 1), 300.0), scale=False).mode == "I"


def test_array_to_img_errors():
    with pytest.raises(ValueError, match="Expected image array to have rank 3"):
        image.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Unsupported channel number: 2"):
        image.array_to_img(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="channels_last"):
        image.img_to_array(Image.new("L", (2, 2)), data_format="channels_first")


def test_save_img_round_trip(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (5, 4, 3)).astype(np.float32)
    x[0, 0] = [0, 0, 0]
    x[0, 1] = [255, 255, 255]  # so scaling is the identity
    image.save_img(tmp_path / "out.png", x)
    back = image.img_to_array(image.load_img(tmp_path / "out.png"))
    assert_array_equal(back, x)


# --- what load_img refuses before decoding (issue 15, items 4 and 6) ----------


def png_header(width: int, height: int) -> bytes:
    """A PNG that is only a header: Pillow opens it (lazily) with this size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def jpeg_bytes(size=(64, 48), seed=0) -> bytes:
    noise = np.random.default_rng(seed).integers(0, 256, (*size[::-1], 3), np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "JPEG")
    return out.getvalue()


def test_a_fifo_named_like_a_photo_is_refused_not_waited_on(fifo):
    with pytest.raises(NotARegularFileError, match=r"x\.jpg' is a FIFO \(named "
                       r"pipe\), not a regular file: convsim reads only regular "
                       r"files"):
        image.load_img(fifo("x.jpg"))


def test_a_symlink_to_a_device_is_refused_not_read(tmp_path):
    # /dev/zero was read until MemoryError; /dev/null takes the same path
    # here and cannot eat memory if this ever regresses.
    (tmp_path / "x.jpg").symlink_to("/dev/null")
    with pytest.raises(NotARegularFileError, match=r"x\.jpg' is a device, not a "
                       r"regular file"):
        image.load_img(tmp_path / "x.jpg")
    with pytest.raises(IsADirectoryError, match=r"is a folder, where a file was "
                       r"expected \(picture file\)"):
        image.load_img(tmp_path)


def test_a_file_over_the_size_limit_is_refused_by_its_size(tmp_path, monkeypatch):
    path = tmp_path / "big.jpg"
    path.write_bytes(jpeg_bytes())
    monkeypatch.setattr(image_utils, "MAX_IMAGE_BYTES", path.stat().st_size - 1)
    with pytest.raises(image.ImageTooLargeError, match=rf"big\.jpg': the file "
                       rf"holds {path.stat().st_size:,} bytes, more than "
                       r"image_utils\.MAX_IMAGE_BYTES") as info:
        image.load_img(path)
    assert isinstance(info.value, FileTooLargeError)
    assert image_utils.MAX_IMAGE_BYTES < 200 * 2**20


@pytest.mark.parametrize("pillow_limit", [89_478_485, None])  # Pillow's, or off
def test_too_many_pixels_are_refused_from_the_header(tmp_path, monkeypatch,
                                                      pillow_limit):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", pillow_limit)
    path = tmp_path / "wide.png"
    path.write_bytes(png_header(9000, 8000))  # 72 MP: over ours, under Pillow's
    with pytest.raises(image.ImageTooLargeError, match=r"wide\.png': its header "
                       r"says 9000 x 8000 = 72,000,000 pixels, more than "
                       r"image_utils\.MAX_IMAGE_PIXELS = 64,000,000"):
        image.load_img(path)


def test_pillows_bomb_error_and_warning_become_ours(tmp_path):
    bomb, big = tmp_path / "bomb.png", tmp_path / "big.png"
    bomb.write_bytes(png_header(20_000, 20_000))  # over twice Pillow's limit
    big.write_bytes(png_header(10_000, 9_000))  # over Pillow's: it warns
    with pytest.raises(image.ImageTooLargeError, match=r"bomb\.png': Pillow "
                       r"refused it as too large \(Image size \(400000000 pixels\)"):
        image.load_img(bomb)
    with pytest.raises(image.ImageTooLargeError, match=r"big\.png': Pillow "
                       r"refused it as too large"):
        image.load_img(big)  # pytest turns Pillow's warning into an error
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # as in a plain Python session
        with pytest.raises(image.ImageTooLargeError, match=r"big\.png': its "
                           r"header says 10000 x 9000 = 90,000,000 pixels"):
            image.load_img(big)


def test_the_limits_allow_a_48_megapixel_phone_photo():
    assert 8064 * 6048 <= image_utils.MAX_IMAGE_PIXELS < Image.MAX_IMAGE_PIXELS
    assert 3 * image_utils.MAX_IMAGE_PIXELS < image_utils.MAX_IMAGE_BYTES


def test_a_corrupt_bytesio_names_itself():
    with pytest.raises(image.ImageReadError, match=r"'<BytesIO>': Truncated File "
                       r"Read; the file is corrupt"):
        image.load_img(io.BytesIO(jpeg_bytes()[:600]))


# --- image_file_problem: the cheap check of every listed file ---------------


def test_whole_images_have_no_problem(tmp_path, photo):
    (tmp_path / "a.jpg").write_bytes(jpeg_bytes())
    motion = tmp_path / "motion.jpg"  # a phone's photo with a video after it
    motion.write_bytes(jpeg_bytes() + b"ftypmp42" + bytes(1000))
    Image.new("RGB", (5, 4)).save(tmp_path / "c.bmp")
    for path in (tmp_path / "a.jpg", motion, tmp_path / "c.bmp", photo[0]):
        assert image_file_problem(path) is None, path


def test_damaged_files_and_why(tmp_path, photo, fifo):
    whole = jpeg_bytes()
    png = bytearray(photo[0].read_bytes())
    png[png.index(b"IDAT") + 8] ^= 0x01  # its checksum no longer matches
    cases = {
        "cut.jpg": (whole[:len(whole) // 2], r"image file is truncated"),
        "header.jpg": (whole[:300], r"Truncated File Read"),
        "flip.png": (bytes(png), r"broken PNG file|CRC"),
        "cut.png": (photo[0].read_bytes()[:60], r"Truncated|truncated"),
        "cut.bmp": (_bmp()[:-20], r"not enough image data|truncated"),
        "empty.jpg": (b"", r"Pillow cannot identify an image format in it"),
        "wide.png": (png_header(9000, 8000), r"header says 9000 x 8000"),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    for name, (_, pattern) in cases.items():
        problem = image_file_problem(tmp_path / name)
        assert problem is not None and re.search(pattern, problem), (name, problem)
    assert "is a FIFO (named pipe)" in image_file_problem(fifo("pipe.jpg"))
    assert image_file_problem(tmp_path / "none.jpg") == (
        f"No picture file found at {str(tmp_path / 'none.jpg')!r}.")


def _bmp() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (1, 2, 3)).save(out, "BMP")
    return out.getvalue()
