"""Datasets for the book's examples, loaded like ``keras.datasets``.

* :mod:`~convsim.datasets.mnist` and :mod:`~convsim.datasets.fashion_mnist`:
  ``load_data()`` returns ``((x_train, y_train), (x_test, y_test))`` as uint8
  arrays, from a local copy, a download, or (MNIST only) a 5,000-digit sample
  shipped with convsim, and says in one line which one it used.
* :mod:`~convsim.datasets.cats_vs_dogs`: builds the book's
  ``cats_and_dogs_small`` folder from the original photo archive.

From a shell, ``python -m convsim.datasets --help`` fetches or builds them ahead
of time. Set ``CONVSIM_OFFLINE=1`` to forbid any network access, and
``CONVSIM_DATA=/some/folder`` to point every loader at prepared copies.
"""

from convsim.datasets import cats_vs_dogs, fashion_mnist, mnist
from convsim.datasets.errors import (
    ChecksumError,
    DatasetError,
    DatasetExistsError,
    DatasetNotFoundError,
    DownloadError,
)

__all__ = [
    "ChecksumError",
    "DatasetError",
    "DatasetExistsError",
    "DatasetNotFoundError",
    "DownloadError",
    "cats_vs_dogs",
    "fashion_mnist",
    "mnist",
]
