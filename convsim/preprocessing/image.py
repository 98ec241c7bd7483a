"""``convsim.preprocessing.image``: the module your notes import as ``image``.

Replace::

    from keras.preprocessing.image import ImageDataGenerator
    from keras.preprocessing import image

with::

    from convsim.preprocessing.image import ImageDataGenerator
    from convsim.preprocessing import image

and the rest of the book's code runs unchanged: ``image.load_img``,
``image.img_to_array``, ``image.array_to_img``, ``ImageDataGenerator(...)``,
``.flow(...)``, ``.flow_from_directory(...)``.

Extras for learners: :func:`preview_augmentations` (your notes' "show me four
augmented versions" loop as one call) and :func:`prefetch` (make batches in a
background thread while the model trains).
"""

from __future__ import annotations

import numpy as np

from convsim.errors import ArgumentError
from convsim.preprocessing.affine import (
    apply_affine_transform,
    flip_axis,
    transform_matrix,
)
from convsim.preprocessing.generator import ImageDataGenerator
from convsim.preprocessing.image_utils import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    ImageTooLargeError,
    array_to_img,
    img_to_array,
    load_img,
    save_img,
)
from convsim.preprocessing.iterators import (
    DirectoryIterator,
    Iterator,
    NumpyArrayIterator,
)
from convsim.preprocessing.prefetch import Prefetcher, prefetch
from convsim.validation import positive_int

__all__ = [
    "IMAGE_EXTENSIONS",
    "DirectoryIterator",
    "ImageDataGenerator",
    "ImageReadError",
    "ImageTooLargeError",
    "Iterator",
    "NumpyArrayIterator",
    "Prefetcher",
    "apply_affine_transform",
    "array_to_img",
    "flip_axis",
    "img_to_array",
    "load_img",
    "prefetch",
    "preview_augmentations",
    "save_img",
    "transform_matrix",
]


def preview_augmentations(img_array, datagen: ImageDataGenerator, n: int = 4,
                          seed: int | None = 0) -> list[np.ndarray]:
    """``n`` augmented versions of one picture, as your notes' preview loop makes.

    Your notes write ``for batch in datagen.flow(x, batch_size=1): ...`` and
    breaks after four pictures; this is that loop, repeatable through ``seed``.

    Args:
        img_array: one image, ``(height, width, channels)`` (e.g. from
            ``img_to_array(load_img(path, target_size=(150, 150)))``), or a
            batch of one ``(1, height, width, channels)``.
        datagen: the generator whose random transforms to show.
        n: how many versions.
        seed: makes the versions repeatable; None for new ones every call.

    Returns:
        A list of ``n`` float32 arrays shaped like one image, in the
        generator's output units (so ``rescale=1/255`` gives values in [0, 1];
        :func:`array_to_img` displays either).
    """
    x = np.asarray(img_array)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[0] != 1:
        raise ArgumentError("`img_array` must be one image (height, width, channels) "
                            f"or a batch of one. Received: shape={np.shape(img_array)}")
    positive_int(n, "n")
    flow = datagen.flow(x, batch_size=1, seed=seed)
    return [next(flow)[0] for _ in range(n)]
