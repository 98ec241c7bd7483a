"""Your model and your image, or convsim's when you give none.

The lessons and ``explain`` that look inside a trained network all start the
same way: ``--model FILE`` (any file :func:`convsim.models.load_model`
reads: convsim's own, Keras's ``.keras`` or ``.h5``) or, without it, the
book's MNIST convnet trained on the bundled digits
(:mod:`convsim.experiments.pretrained`); ``--image FILE`` (a PNG or JPEG,
converted and resized to what the model takes, pixels scaled to 0..1 as the
book's ``rescale=1./255`` does) or, without it, a digit from the bundled test
set. This module does both, once, for all of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.console import Console

from convsim.errors import ArgumentError

__all__ = ["Subject", "choose", "choose_model", "image_for_model", "is_path",
           "sample_digit"]

#: The bundled test digit shown when no image is given: the first of the
#: bundled test set (a 9).
DIGIT_INDEX = 0


@dataclass(frozen=True)
class Subject:
    """What a lesson looks at: a model, one image as it enters the model
    ``(height, width, channels)`` in 0..1, and words for both."""

    model: object
    image: np.ndarray
    model_words: str
    image_words: str
    label: int | None = None


def choose(model=None, image=None, *, console: Console | None = None,
           seed: int | None = None, lang: str = "en") -> Subject:
    """The model (a path, a model, or ``None`` for the trained MNIST
    convnet) and the image (a path, an array, or ``None`` for a bundled
    test digit; ``seed`` picks another one). ``lang``: the language of what
    training the MNIST convnet says, the first time."""
    from convsim.experiments.pretrained import describe

    net = choose_model(model, console=console, lang=lang)
    model_words = (describe() if model is None else f"your model {model}"
                   if is_path(model) else f"the model '{model.name}'")
    label = None
    if image is None:
        pixels, label, image_words = sample_digit(seed)
        pixels = image_for_model(net, pixels)
    else:
        pixels = image_for_model(net, image)
        image_words = f"your image {image}" if is_path(image) else "your image"
    return Subject(net, pixels, model_words, image_words, label)


def is_path(value) -> bool:
    """Whether ``value`` names a file (a string or a path) rather than being
    a model or an array itself."""
    return isinstance(value, str) or hasattr(value, "__fspath__")


def choose_model(model=None, *, console: Console | None = None, lang: str = "en"):
    """``model`` itself, the model in the file it names, or (``None``) the
    book's MNIST convnet, trained on first use with a progress bar on
    ``console`` in ``lang``."""
    if model is None:
        from convsim.experiments.pretrained import pretrained_model

        return pretrained_model(console=console, lang=lang)
    if is_path(model):
        from convsim.models import load_model

        return load_model(model)
    return model


def sample_digit(seed: int | None = None) -> tuple[np.ndarray, int, str]:
    """``(28x28 digit in 0..1, its label, words)`` from the bundled test set."""
    from convsim.datasets import mnist

    (_, _), (images, labels) = mnist.load_data(path=mnist.BUNDLED_DIR,
                                               download=False, verbose=False)
    index = DIGIT_INDEX if seed is None else int(
        np.random.default_rng(seed).integers(len(images)))
    return (images[index].astype(np.float32) / 255, int(labels[index]),
            f"test digit {index} of convsim's bundled MNIST sample "
            f"(a {int(labels[index])})")


def image_for_model(model, image) -> np.ndarray:
    """``image`` as ``model`` takes it: ``(height, width, channels)`` float32.

    A path is read with :func:`convsim.preprocessing.image.load_img` in the
    model's number of channels (1: grayscale, 3: RGB) at the model's input
    size, and scaled to 0..1. An array is taken as it is (a 2-D one gets a
    channel axis; 0..255 values are scaled to 0..1) and must already have the
    model's size.
    """
    height, width, channels = _input_size(model)
    if is_path(image):
        from convsim.preprocessing.image import img_to_array, load_img

        mode = {1: "grayscale", 3: "rgb", 4: "rgba"}.get(channels)
        if mode is None:
            raise ArgumentError(f"The model takes images with {channels} channels; "
                                "convsim reads image files as 1 (grayscale), 3 "
                                "(RGB) or 4 (RGBA). Pass an array instead.")
        pixels = img_to_array(load_img(image, color_mode=mode,
                                       target_size=(height, width))) / 255
    else:
        pixels = np.asarray(image, dtype=np.float32)
        if pixels.ndim == 4 and pixels.shape[0] == 1:
            pixels = pixels[0]
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
    if not np.all(np.isfinite(pixels)):
        raise ArgumentError("The image holds NaN or infinite values.")
    if pixels.size and float(pixels.max()) > 1.5:  # 0..255, as a file holds
        pixels = pixels / 255
    if pixels.shape != (height, width, channels):
        raise ArgumentError(f"The image must have the shape the model takes, "
                            f"{(height, width, channels)}. Received: an image of "
                            f"shape {tuple(np.shape(image))}")
    return np.ascontiguousarray(pixels, dtype=np.float32)


def _input_size(model) -> tuple[int, int, int]:
    """The ``(height, width, channels)`` the model's input takes."""
    shape = tuple(model.input.shape)[1:] if hasattr(model, "input") else None
    if shape is None or len(shape) != 3 or any(d is None for d in shape):
        raise ArgumentError("The model must take images of a fixed size "
                            "(height, width, channels). Received a model whose "
                            f"input is {shape}.")
    return tuple(int(d) for d in shape)
