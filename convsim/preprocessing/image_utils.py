"""Reading, converting and saving single images, with Keras's names and rules.

``load_img`` -> PIL image, ``img_to_array`` -> float32 ``(height, width,
channels)``, ``array_to_img`` -> PIL image again, ``save_img`` -> file. These are
``keras.preprocessing.image.load_img`` and friends: same arguments, same
defaults (``interpolation='nearest'`` when resizing, ``scale=True`` when turning
an array back into a picture), same colour conversions.

One difference on purpose: an unreadable file raises :class:`ImageReadError`
(an ``OSError``) that names the file, instead of whatever PIL happened to raise
deep inside a batch.
"""

from __future__ import annotations

import io
import os
import pathlib
import warnings

import numpy as np
from PIL import Image

from convsim.errors import ArgumentError, WrongTypeError
from convsim.validation import standardize_data_format, standardize_tuple

__all__ = [
    "COLOR_MODES",
    "IMAGE_EXTENSIONS",
    "INTERPOLATIONS",
    "ImageReadError",
    "array_to_img",
    "img_to_array",
    "load_img",
    "save_img",
]

# The file endings Keras's directory iterators accept (compared lower-cased).
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff")
COLOR_MODES = ("grayscale", "rgb", "rgba")
# Keras's names for PIL's resampling filters.
INTERPOLATIONS = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "hamming": Image.Resampling.HAMMING,
    "box": Image.Resampling.BOX,
    "lanczos": Image.Resampling.LANCZOS,
}
_CHANNELS = {"grayscale": 1, "rgb": 3, "rgba": 4}


class ImageReadError(OSError):
    """An image file exists but cannot be decoded (corrupt, truncated, or not
    an image at all). ``filename`` holds its path."""


def standardize_interpolation(interpolation) -> str:
    """Check a resampling name against :data:`INTERPOLATIONS` (Keras wording)."""
    if isinstance(interpolation, str) and interpolation.lower() in INTERPOLATIONS:
        return interpolation.lower()
    raise ArgumentError(
        f"Invalid interpolation method {interpolation!r} specified. Supported "
        f"methods are {', '.join(INTERPOLATIONS)}. "
        f"Received: interpolation={interpolation!r}"
    )


def standardize_color_mode(color_mode) -> str:
    if color_mode in COLOR_MODES:
        return color_mode
    raise ArgumentError(
        "`color_mode` must be one of {'grayscale', 'rgb', 'rgba'}. "
        f"Received: color_mode={color_mode!r}"
    )


def load_img(
    path,
    grayscale: bool = False,
    color_mode: str = "rgb",
    target_size: tuple[int, int] | None = None,
    interpolation: str = "nearest",
    keep_aspect_ratio: bool = False,
) -> Image.Image:
    """Load an image file into a PIL image, converted and resized like Keras.

    Args:
        path: a path (str, bytes or ``pathlib.Path``) or an ``io.BytesIO``.
        grayscale: deprecated alias of ``color_mode='grayscale'``.
        color_mode: ``'rgb'`` (3 channels), ``'grayscale'`` (1) or ``'rgba'``
            (4). Other pixel formats are converted, as Keras does; 8/16/32-bit
            grayscale files stay as they are in ``'grayscale'`` mode.
        target_size: ``None`` (keep the size) or ``(height, width)``.
        interpolation: resampling filter when the size changes: ``'nearest'``
            (Keras's default), ``'bilinear'``, ``'bicubic'``, ``'hamming'``,
            ``'box'`` or ``'lanczos'``.
        keep_aspect_ratio: crop the centre to the target's aspect ratio before
            resizing, instead of stretching.

    Returns:
        A PIL image with its pixels already decoded.

    Raises:
        FileNotFoundError: no such file.
        ImageReadError: the file is not a readable image; the message names it.
    """
    if grayscale:
        warnings.warn('grayscale is deprecated. Please use color_mode = "grayscale"',
                      stacklevel=2)
        color_mode = "grayscale"
    color_mode = standardize_color_mode(color_mode)
    if target_size is not None:
        target_size = standardize_tuple(target_size, 2, "target_size")
    interpolation = standardize_interpolation(interpolation)
    if isinstance(path, io.BytesIO):
        data, name = path, "<BytesIO>"
    elif isinstance(path, (str, bytes, os.PathLike)):
        name = os.fsdecode(path)
        with open(path, "rb") as f:  # read first, so the file is closed at once
            data = io.BytesIO(f.read())
    else:
        raise WrongTypeError(
            f"path should be path-like or io.BytesIO, not {type(path).__name__}"
        )
    try:
        img = Image.open(data)
        img.load()  # decode now, so a corrupt file fails here, naming itself
        img = _convert(img, color_mode)
        if target_size is not None:
            img = _resize(img, target_size, interpolation, keep_aspect_ratio)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as err:
        raise ImageReadError(
            f"Could not read the image file {name!r}: {err}. The file is "
            "corrupt, truncated or not an image; delete it or move it out of "
            "the data folder."
        ) from err
    return img


def _convert(img: Image.Image, color_mode: str) -> Image.Image:
    if color_mode == "grayscale":
        # 8-, 16- and 32-bit grayscale stay as they are, the rest becomes 8-bit.
        return img if img.mode in ("L", "I;16", "I") else img.convert("L")
    wanted = "RGBA" if color_mode == "rgba" else "RGB"
    return img if img.mode == wanted else img.convert(wanted)


def _resize(img, target_size, interpolation, keep_aspect_ratio) -> Image.Image:
    height, width = target_size
    if img.size == (width, height):
        return img
    resample = INTERPOLATIONS[interpolation]
    if not keep_aspect_ratio:
        return img.resize((width, height), resample)
    in_w, in_h = img.size  # crop the centre to the target aspect ratio
    crop_h = min(in_h, (in_w * height) // width)
    crop_w = min(in_w, (in_h * width) // height)
    top, left = (in_h - crop_h) // 2, (in_w - crop_w) // 2
    box = (left, top, left + crop_w, top + crop_h)
    return img.resize((width, height), resample, box=box)


def img_to_array(img, data_format=None, dtype=None) -> np.ndarray:
    """A PIL image as a ``(height, width, channels)`` float32 array (0-255).

    >>> img_to_array(Image.new("L", (3, 2))).shape
    (2, 3, 1)
    """
    standardize_data_format(data_format)
    x = np.asarray(img, dtype=_float_dtype(dtype))
    if x.ndim == 2:
        return x.reshape((x.shape[0], x.shape[1], 1))
    if x.ndim != 3:
        raise ArgumentError(f"Unsupported image shape: {x.shape}")
    return x


def array_to_img(x, data_format=None, scale: bool = True, dtype=None) -> Image.Image:
    """A ``(height, width, channels)`` array as a PIL image (1, 3 or 4 channels).

    With ``scale=True`` (the default, like Keras) the values are stretched so the
    smallest becomes 0 and the largest 255: an image rescaled to [0, 1] (or a
    feature map) displays correctly without you multiplying by 255.
    """
    standardize_data_format(data_format)
    x = np.asarray(x, dtype=_float_dtype(dtype))
    if x.ndim != 3:
        raise ArgumentError(
            "Expected image array to have rank 3 (single image). "
            f"Got array with shape: {x.shape}"
        )
    if scale:
        x = x - np.min(x)
        x_max = np.max(x)
        if x_max != 0:
            x /= x_max
        x *= 255
    channels = x.shape[2]
    if channels == 4:
        return Image.fromarray(x.astype("uint8"), "RGBA")
    if channels == 3:
        return Image.fromarray(x.astype("uint8"), "RGB")
    if channels == 1:
        if np.max(x) > 255:  # 32-bit signed grayscale, PIL mode "I"
            return Image.fromarray(x[:, :, 0].astype("int32"), "I")
        return Image.fromarray(x[:, :, 0].astype("uint8"), "L")
    raise ArgumentError(f"Unsupported channel number: {channels}")


def save_img(path, x, data_format=None, file_format=None, scale=True, **kwargs):
    """Save a ``(height, width, channels)`` array as an image file (Keras's
    ``save_img``); the format comes from the file name unless ``file_format``."""
    img = array_to_img(x, data_format=data_format, scale=scale)
    if img.mode == "RGBA" and str(file_format).lower() in ("jpg", "jpeg"):
        warnings.warn("The JPG format does not support RGBA images, converting "
                      "to RGB.", stacklevel=2)
        img = img.convert("RGB")
    if isinstance(path, pathlib.Path):
        path = str(path)
    img.save(path, format=file_format, **kwargs)


def _float_dtype(dtype) -> np.dtype:
    dtype = np.dtype("float32" if dtype is None else dtype)
    if dtype.kind != "f":
        raise ArgumentError(f"`dtype` must be a floating point type. Received: "
                            f"dtype={dtype}")
    return dtype
