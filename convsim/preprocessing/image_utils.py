"""Reading, converting and saving single images, with Keras's names and rules.

``load_img`` -> PIL image, ``img_to_array`` -> float32 ``(height, width,
channels)``, ``array_to_img`` -> PIL image again, ``save_img`` -> file. These are
``keras.preprocessing.image.load_img`` and friends: same arguments, same
defaults (``interpolation='nearest'`` when resizing, ``scale=True`` when turning
an array back into a picture), same colour conversions.

What differs, on purpose: a path a learner points convsim at may be anything,
so only regular files are opened (symlinks are followed; a FIFO, which would
block forever, or ``/dev/zero``, which never ends, is refused); a file larger
than :data:`MAX_IMAGE_BYTES` or an image of more than :data:`MAX_IMAGE_PIXELS`
pixels is refused from its header, before any pixel is decoded (a 50 kB PNG can
claim a gigapixel); and a file Pillow cannot decode raises
:class:`ImageReadError` naming it, instead of whatever Pillow raised deep
inside a batch. :func:`image_file_problem` is the cheap check
``flow_from_directory`` runs on every file when it lists a folder.
"""

from __future__ import annotations

import io
import os
import pathlib
import warnings
from typing import BinaryIO

import numpy as np
from PIL import Image

from convsim.errors import (
    ArgumentError,
    ConvsimError,
    DatasetError,
    FileError,
    FileTooLargeError,
    WrongTypeError,
)
from convsim.files import read_bytes, regular_file
from convsim.validation import standardize_data_format, standardize_tuple

__all__ = [
    "COLOR_MODES",
    "IMAGE_EXTENSIONS",
    "INTERPOLATIONS",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGE_PIXELS",
    "ImageReadError",
    "ImageTooLargeError",
    "array_to_img",
    "image_file_problem",
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

#: The largest image file convsim opens: 200 MiB. Photos are far smaller (a
#: 12-megapixel phone JPEG is 2-5 MB, a 61-megapixel camera JPEG about 30 MB);
#: the largest honest files are uncompressed BMP, TIFF or PPM, and one of
#: :data:`MAX_IMAGE_PIXELS` RGB pixels is 192 MB. Checked from the file's size,
#: before reading. Raise it (``image_utils.MAX_IMAGE_BYTES = ...``) to read a
#: larger file on purpose.
MAX_IMAGE_BYTES = 200 * 2**20

#: The most pixels an image may have: 64 megapixels, the largest photos phones
#: and most cameras take (48-61 MP); decoded as RGB that is 192 MB, at most
#: 256 MB for 4-byte pixels. Checked from the file's header, before anything
#: is decoded, because a small file can claim a huge picture (a 50 kB PNG can
#: hold a gigapixel of one colour). This is convsim's own limit, lower than
#: Pillow's decompression-bomb limit (``PIL.Image.MAX_IMAGE_PIXELS``, 89.5 MP,
#: above which Pillow warns, and twice that, above which it raises), and it
#: holds even if that one is switched off; whatever Pillow refuses is refused
#: too, as :class:`ImageTooLargeError`. (Pillow may still print its own
#: warning for an image above 89.5 MP before convsim's error: silencing it
#: would change the warning filters of the whole program, in every thread.)
MAX_IMAGE_PIXELS = 64_000_000

_ADVICE = ("Delete the file or move it out of the data folder (or replace it "
           "with a good copy).")
_JPEG_END = b"\xff\xd9"  # the end-of-image marker that closes every whole JPEG


class ImageReadError(DatasetError):
    """An image file exists but cannot be used: corrupt, truncated, not an
    image at all, or too large. ``path`` holds its name and ``reason`` a few
    words on what is wrong.

    A :class:`~convsim.errors.DatasetError`, so also an ``OSError``, like the
    errors Pillow and Keras raise for unreadable images."""


class ImageTooLargeError(ImageReadError, FileTooLargeError):
    """An image file is larger than :data:`MAX_IMAGE_BYTES`, or its header says
    it has more than :data:`MAX_IMAGE_PIXELS` pixels."""


def _unreadable(name: str, reason: str, kind: type = ImageReadError
                ) -> ImageReadError:
    """The error for the file ``name``, with ``reason`` kept for listings."""
    error = kind(f"Could not read the image file {name!r}: {reason}. {_ADVICE}")
    error.path, error.reason = name, reason  # (OSError.filename changes str())
    return error


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
        FileNotFoundError: no such file (:class:`~convsim.errors.MissingFileError`).
        NotARegularFileError: a FIFO, a device or a folder.
        ImageTooLargeError: more than :data:`MAX_IMAGE_BYTES` bytes or
            :data:`MAX_IMAGE_PIXELS` pixels.
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
        return _decode(path, "<BytesIO>", color_mode, target_size, interpolation,
                       keep_aspect_ratio)
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise WrongTypeError(
            f"path should be path-like or io.BytesIO, not {type(path).__name__}"
        )
    name = os.fsdecode(path)
    # Read first, as Keras does, so the file is closed at once and the image
    # keeps its bytes (a multi-frame TIFF can still seek).
    data = read_bytes(_checked_file(path, name), MAX_IMAGE_BYTES, "picture file")
    return _decode(io.BytesIO(data), name, color_mode, target_size, interpolation,
                   keep_aspect_ratio)


def _checked_file(path, name: str) -> pathlib.Path:
    """``path`` resolved, once it is known to be a regular file of at most
    :data:`MAX_IMAGE_BYTES` (checked by its size, before reading)."""
    resolved = regular_file(path, "picture file")
    size = resolved.stat().st_size
    if size > MAX_IMAGE_BYTES:
        raise _unreadable(name, f"the file holds {size:,} bytes, more than "
                          f"image_utils.MAX_IMAGE_BYTES = {MAX_IMAGE_BYTES:,}",
                          ImageTooLargeError)
    return resolved


def _open_checked(handle: BinaryIO, name: str) -> Image.Image:
    """``Image.open`` (which reads the header only), then the pixel limit,
    before anything is decoded."""
    try:
        img = Image.open(handle)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        # Pillow's own limit: an error above it, a warning that the warning
        # filters (pytest's "error", python -W error) may turn into one.
        raise _unreadable(name, f"Pillow refused it as too large ({err})",
                          ImageTooLargeError) from err
    width, height = img.size
    if width * height > MAX_IMAGE_PIXELS:
        img.close()
        raise _unreadable(name, f"its header says {width} x {height} = "
                          f"{width * height:,} pixels, more than "
                          f"image_utils.MAX_IMAGE_PIXELS = {MAX_IMAGE_PIXELS:,}",
                          ImageTooLargeError)
    return img


def _decode(handle: BinaryIO, name: str, color_mode: str, target_size,
            interpolation: str, keep_aspect_ratio: bool) -> Image.Image:
    """Open, check, decode, convert and resize one image."""
    try:
        img = _open_checked(handle, name)
        img.load()  # decode now, so a corrupt file fails here, naming itself
        img = _convert(img, color_mode)
        if target_size is not None:
            img = _resize(img, target_size, interpolation, keep_aspect_ratio)
    except (ConvsimError, MemoryError):
        raise
    except Exception as err:  # see below
        # Pillow's decoders answer a damaged file with whatever the parsing
        # code met: OSError, SyntaxError, ValueError, EOFError, IndexError,
        # struct.error, ZeroDivisionError, ... Every one means "this file is
        # not a readable image", which is what the learner needs to hear.
        raise _unreadable(name, f"{_reason(err)}; the file is corrupt, "
                          "truncated or not an image") from err
    return img


def _reason(err: Exception) -> str:
    """Pillow's message, or the exception's name when it has none."""
    if isinstance(err, Image.UnidentifiedImageError):  # its message shows a repr
        return "Pillow cannot identify an image format in it"
    return str(err) or type(err).__name__


def image_file_problem(path) -> str | None:
    """Why the file ``path`` cannot be used as an image, in a few words, or
    ``None`` when it looks whole; cheap enough to run on every file of a folder.

    Checks what :func:`load_img` checks before decoding (a regular file, its
    size, its header and pixel count), then: a PNG's chunks up to the end
    (Pillow's ``verify``: checksums, no decompression); that a JPEG ends with
    its end-of-image marker (a truncated download does not). Only a JPEG with
    data after that marker (phones' "motion photos") and the rarer formats
    (BMP, TIFF, PPM) are decoded in full to be sure.

    >>> image_file_problem(pathlib.Path("/nowhere.jpg"))
    "No picture file found at '/nowhere.jpg'."
    """
    name = os.fsdecode(path)
    try:
        with open(_checked_file(path, name), "rb") as handle:  # header, end
            with _open_checked(handle, name) as img:
                kind = img.format
                img.verify()
            if kind == "PNG" or (kind == "JPEG" and _ends_with(handle, _JPEG_END)):
                return None
            handle.seek(0)
            _decode(handle, name, "rgb", None, "nearest", False).close()
    except ImageReadError as err:
        return err.reason
    except FileError as err:
        return str(err)
    except (ConvsimError, MemoryError):
        raise
    except Exception as err:  # verify() raises as the decoders do
        return f"{_reason(err)}; the file is corrupt, truncated or not an image"
    return None


def _ends_with(handle: BinaryIO, marker: bytes) -> bool:
    handle.seek(0, os.SEEK_END)
    if handle.tell() < len(marker):
        return False
    handle.seek(-len(marker), os.SEEK_END)
    return handle.read(len(marker)) == marker


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
