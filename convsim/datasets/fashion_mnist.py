"""Fashion-MNIST (Zalando), loaded like ``keras.datasets.fashion_mnist``.

70,000 grayscale 28x28 photos of clothing in 10 classes, a drop-in replacement
for MNIST that is harder to score well on. Same API as
:mod:`convsim.datasets.mnist`; the sources, first hit wins:

1. ``path=``: a folder with the four standard IDX files (gzip or not);
2. ``$CONVSIM_DATA/fashion-mnist``;
3. the convsim cache ``~/.cache/convsim/fashion-mnist``;
4. Keras's cache ``~/.keras/datasets/fashion-mnist``;
5. Debian's package: ``sudo apt-get install dataset-fashion-mnist`` installs the
   four files into ``/usr/share/datasets/fashion-mnist``;
6. a download from Zalando's public files, SHA-256 checked (skipped with
   ``download=False`` or ``CONVSIM_OFFLINE=1``).

There is no bundled copy: if nothing is found, an error says how to get it.
Labels: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal,
6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot (see :data:`CLASS_NAMES`).
Data: Zalando Research, MIT licence.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from convsim.datasets import sources
from convsim.datasets.sources import IdxDataset, LoadedData, Source

CLASS_NAMES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

#: Where Debian's ``dataset-fashion-mnist`` package puts the four .gz files.
#: (Debian recompressed them: same images, different .gz bytes, so the
#: download digests below do not apply to them; the IDX checks still do.)
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")

#: Zalando's own copies: the GitHub repository and the S3 site its README links.
MIRRORS = (
    "https://github.com/zalandoresearch/fashion-mnist/raw/master/data/fashion/",
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
)

#: SHA-256 of Zalando's gzip files (26,421,880 / 29,515 / 4,422,102 / 5,148
#: bytes); they match the MD5 sums published in Zalando's README.
SHA256 = {
    "train-images-idx3-ubyte.gz":
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    "train-labels-idx1-ubyte.gz":
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    "t10k-images-idx3-ubyte.gz":
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    "t10k-labels-idx1-ubyte.gz":
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
}

HOW_TO_GET = (
    "To get Fashion-MNIST: on Debian/Ubuntu run `sudo apt-get install "
    "dataset-fashion-mnist` (installs it into /usr/share/datasets/fashion-mnist); "
    "or allow the download (unset CONVSIM_OFFLINE, download=True); or download "
    "the four .gz files from https://github.com/zalandoresearch/fashion-mnist "
    "and pass their folder with path= (or put them in $CONVSIM_DATA/fashion-mnist)."
)

SPEC = IdxDataset(
    title="Fashion-MNIST",
    folder="fashion-mnist",
    mirrors=MIRRORS,
    sha256=SHA256,
    keras_folder="fashion-mnist",
    system_dirs=(DEBIAN_DIR,),
    not_found_help=HOW_TO_GET,
)


def load_data(path=None, *, download: bool | None = None, verbose: bool = True,
              console: Console | None = None
              ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load Fashion-MNIST as ``((x_train, y_train), (x_test, y_test))``.

    Args:
        path: a folder holding the four IDX files (or a Keras-style ``.npz``
            path). ``None`` searches the places in the module docstring.
        download: allow downloading when nothing is on disk; ``None`` means
            yes unless ``CONVSIM_OFFLINE=1``.
        verbose: print one line saying which source was used.
        console: rich console for that line and the progress bar (stderr).

    Returns:
        uint8 arrays: ``x`` shaped ``(n, 28, 28)``, ``y`` shaped ``(n,)`` with
        classes 0-9 (60,000 train and 10,000 test for the full set).

    Raises:
        DatasetNotFoundError: nothing found (the message says how to get it).
        DatasetError: a file is corrupt.
    """
    data = load(path, download=download, verbose=verbose, console=console)
    return data.train, data.test


def load(path=None, *, download: bool | None = None, verbose: bool = True,
         console: Console | None = None) -> LoadedData:
    """Like :func:`load_data`, plus ``.source`` saying where the data came from."""
    return sources.load(SPEC, path, download=download, verbose=verbose,
                        console=console)


def locate(path=None, *, download: bool | None = None) -> Source:
    """Which source :func:`load_data` would use, without reading or downloading."""
    return sources.locate(SPEC, path, download)


def describe_source(path=None, *, download: bool | None = None) -> str:
    """One line naming the source :func:`load_data` would use (for CLIs)."""
    return locate(path, download=download).description
