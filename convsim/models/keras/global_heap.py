"""A check HDF5 itself lacks: a damaged global heap must not hang the reader.

Text attributes of variable length (a legacy ``.h5``'s ``model_config``,
``layer_names``, ``weight_names``; h5py writes Python strings that way) keep
their bytes in a *global heap collection*: a block that starts ``GCOL``,
version 1, its size, then objects one after another, each with a 16-byte
header (index, reference count, reserved, size) and its bytes padded to 8.
When HDF5 (1.14, the library inside h5py 3.16) reads such a block it walks
the objects, and an object of index 0 and size 0 never moves the walk on: the
reader spins forever in C code, where no Python signal or timeout can stop
it. ``fuzz/keras_files.py`` found such a file by flipping a few bytes of a
real one.

So before h5py opens a file, :func:`check_global_heaps` walks every
collection the way HDF5 will and refuses a file whose walk would not end, or
would leave its block. Real files (Keras's, h5py's) always pass: their
objects fill the block exactly.
"""

from __future__ import annotations

from convsim.errors import ModelFileError

__all__ = ["check_global_heaps"]

_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Where HDF5 looks for its superblock (a file may start with a user block).
_SUPERBLOCK_AT = (0, 512, 1024, 2048, 4096, 8192)


def _sizeof_lengths(data) -> int:
    """The file's "size of lengths" (8 in every Keras file) from its
    superblock, or 8 when there is none to read (h5py then refuses the file
    itself)."""
    for base in _SUPERBLOCK_AT:
        if data[base:base + 8] == _SIGNATURE and len(data) > base + 14:
            version = data[base + 8]
            size = data[base + 14] if version in (0, 1) else data[base + 10]
            return size if size in (2, 4, 8, 16) else 8
    return 8


def check_global_heaps(data, where: str) -> None:
    """Refuse ``data`` (the whole HDF5 file, bytes-like) when one of its
    global heap collections would make HDF5's walk spin or overrun."""
    lengths = _sizeof_lengths(data)
    header = 8 + lengths  # index (2), reference count (2), reserved (4), size
    start = 0
    while (at := data.find(b"GCOL", start)) >= 0:
        start = at + 4
        if at + 8 + lengths > len(data) or data[at + 4] != 1:
            continue  # four letters that are not a heap's header
        size = int.from_bytes(data[at + 8:at + 8 + lengths], "little")
        end = at + size
        p = at + 8 + lengths
        if end > len(data):
            continue  # HDF5 cannot read it whole: an error, never a loop
        while p < end and p + header <= end:
            index = int.from_bytes(data[p:p + 2], "little")
            length = int.from_bytes(data[p + 8:p + 8 + lengths], "little")
            need = header + (length + 7) // 8 * 8 if index else length
            if need <= 0 or p + need > end:
                raise ModelFileError(
                    f"{where} is damaged: its global heap at byte {at:,} holds an "
                    f"object of {length:,} bytes at byte {p:,} that "
                    + ("ends nowhere" if need <= 0 else "runs past the heap's end")
                    + " (HDF5 would read it forever or out of bounds).")
            p += need
