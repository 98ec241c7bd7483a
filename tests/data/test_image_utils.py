"""load_img / img_to_array / array_to_img / save_img with Keras's rules."""

import io

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from PIL import Image

from convsim.preprocessing import image


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
    with pytest.raises(image.ImageReadError, match="notes.jpg") as info:
        image.load_img(text)
    assert isinstance(info.value, OSError)
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)
    whole = io.BytesIO()
    Image.fromarray(noise).save(whole, "JPEG")
    truncated = tmp_path / "cut.png"  # the wrong ending does not matter
    truncated.write_bytes(whole.getvalue()[: len(whole.getvalue()) // 2])
    with pytest.raises(image.ImageReadError, match="cut.png"):
        image.load_img(truncated)
    with pytest.raises(FileNotFoundError):
        image.load_img(tmp_path / "missing.png")


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
