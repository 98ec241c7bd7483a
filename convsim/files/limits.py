"""How much a model file may cost to read: every limit, with why it is that.

A model file is a ZIP archive (Keras's ``.keras`` too, with its weights in
an HDF5 file inside; a legacy ``.h5`` is HDF5 alone), and ZIP lets a small
file claim, or really inflate to, gigabytes: 2 MB of deflated spaces become
2 GB of JSON, 10 KB of twice-deflated zeros become a 3 GB array. So convsim
checks what every member and every array *says* it holds before inflating or
allocating anything, and counts what it really inflates while reading. The
budget of one load:

    inflation_budget(size on disk) = min(MAX_INFLATED_BYTES,
                                         max(FREE_INFLATION_BYTES,
                                             MAX_COMPRESSION_RATIO * size on disk))

Everything inflated or allocated while reading counts against it: each member
as it is inflated, and each array as it is read from the ``.npz`` (or the
HDF5 file) inside it; a legacy ``.h5`` file's budget counts its arrays.
With these numbers a file under 10 MB may cost at most 100 MB of reading, and
loading it (Python, NumPy and convsim's own ~100 MB included, plus the model's
weights and optimizer state, which must match what the file holds) stays well
under 500 MB. The book's cats-vs-dogs model (3,453,121 weights, 13.8 MB of
float32) with Adam's state after a step is a 22 MB file that needs 83 MB of its
222 MB budget (with RMSprop's: 17 MB, needs 55 MB of 166 MB).
"""

from __future__ import annotations

__all__ = ["FREE_INFLATION_BYTES", "MAX_ARRAY_NDIM", "MAX_CENTRAL_DIRECTORY_BYTES",
           "MAX_COMPRESSION_RATIO", "MAX_HDF5_CHUNK_BYTES", "MAX_INFLATED_BYTES",
           "MAX_JSON_BYTES", "MAX_JSON_DEPTH", "MAX_MEMBERS", "MAX_NPY_HEADER_BYTES",
           "inflation_budget"]

MIB = 1 << 20

#: What any model file may inflate to, however well it compresses: 64 MiB.
#: Trained weights barely compress, but a learner's model of zeros
#: (``kernel_initializer='zeros'``) deflates 1000:1; the cats-vs-dogs model
#: all in zeros with RMSprop's state needs 55 MB and still loads.
FREE_INFLATION_BYTES = 64 * MIB

#: Beyond :data:`FREE_INFLATION_BYTES`, a file may inflate to at most 10 times
#: its size on disk. Real model files need 1.1 (trained weights: float32 noise
#: deflates to 92%) to 3.7 times (the cats-vs-dogs model with Adam's state
#: after one step, counted as above); deflate bombs reach 1,032 times, or
#: millions when nested (an ``.npz`` inside the ZIP is a second archive). 10
#: leaves real files room and keeps a 10 MB file to 100 MB of reading.
MAX_COMPRESSION_RATIO = 10

#: Never more than 2 GiB per load, however large the file: VGG16 whole (the
#: largest model of the book's chapter, 138,357,544 weights, 553 MB) counted
#: twice, once as the archive member and once as arrays, with room to spare.
MAX_INFLATED_BYTES = 2048 * MIB

#: ``config.json`` and ``metadata.json``: at most 1 MiB each. A convsim config
#: is a few KB (cats-vs-dogs: 5 KB), Keras's ResNet50 about 150 KB. JSON is
#: parsed into Python objects that take up to 20 times its size, so 1 MiB
#: keeps that under 25 MB.
MAX_JSON_BYTES = 1 * MIB

#: At most 100 levels of nested JSON lists and objects. A convsim config has
#: 7, a Keras functional model about 10 per nesting of models. Deeper input
#: is refused before it is parsed: parsing and walking it recurse, and 200,000
#: levels made Python's ``RecursionError`` (at 1,000 by default).
MAX_JSON_DEPTH = 100

#: At most 4,096 members per archive (a model file and each ``.npz`` in it):
#: one per array, and a 1,000-layer model with Adam's state has about 3,000.
MAX_MEMBERS = 4096

#: The central directory (the archive's table of contents) may take at most
#: 1 MiB: :mod:`zipfile` reads and parses it whole before any member can be
#: checked, and 120,000 empty members (a 10 MB file) cost 68 MB that way.
MAX_CENTRAL_DIRECTORY_BYTES = 1 * MIB

#: An NPY header is about 120 bytes; NumPy itself refuses more than 10,000
#: (``max_header_size``), which is what convsim allows too.
MAX_NPY_HEADER_BYTES = 10_000

#: An HDF5 dataset (Keras's weights) is read chunk by chunk, and HDF5 sets
#: aside a whole chunk to inflate one: a chunk may take at most the dataset's
#: own size or 4 MiB. Keras and h5py choose chunks of at most 1 MiB (h5py's
#: ``guess_chunk``); a dataset declared (3, 3) with chunks of 4 GB is a bomb.
MAX_HDF5_CHUNK_BYTES = 4 * MIB

#: Weight arrays have at most 8 axes: convsim's have up to 4 (a Conv2D
#: kernel), Keras's Conv3D 5.
MAX_ARRAY_NDIM = 8


def inflation_budget(size_on_disk: int) -> int:
    """The bytes one load of a file of ``size_on_disk`` bytes may inflate and
    allocate while reading (module docstring).

    >>> inflation_budget(1_000) // MIB, inflation_budget(10 * MIB) // MIB
    (64, 100)
    """
    return min(MAX_INFLATED_BYTES,
               max(FREE_INFLATION_BYTES, MAX_COMPRESSION_RATIO * size_on_disk))
