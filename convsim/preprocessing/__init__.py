"""Image loading and data augmentation with Keras's names.

``from convsim.preprocessing import image`` gives the module the book uses
(``image.load_img``, ``image.img_to_array``, ``image.array_to_img``), and
``from convsim.preprocessing.image import ImageDataGenerator`` the generator.
Importing this package does not compile anything: the Numba warp kernel is
compiled the first time an image is actually warped.
"""

from convsim.preprocessing import image

__all__ = ["image"]
