"""Fuzzing the MNIST file readers: random IDX headers, random NumPy headers,
and real small files cut short or with flipped bits. Whatever the bytes,
``read_idx`` and ``read_npz`` return an array within their promises or raise
the documented :class:`~convsim.datasets.errors.DatasetError`; nothing else.

Bounded by the hypothesis profile (40 examples a test in CI, a few seconds in
all); ``python fuzz/idx.py --minutes N`` runs the same kinds of input for as
long as you like, in worker processes with a memory cap.
"""

from __future__ import annotations

import functools
import gzip
import io
import re
import struct
import zipfile

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from convsim.datasets import mnist
from convsim.datasets.dataset_files import STANDARD_FILES
from convsim.datasets.errors import DatasetError
from convsim.datasets.idx import IDX_DTYPES, MAX_IDX_BYTES, read_idx
from convsim.datasets.npz import read_npz

#: Sizes at the edges: empty, one, MNIST's, powers of two around int32/uint32.
EDGE_SIZES = (0, 1, 2, 3, 28, 255, 256, 60_000, 65_535, 65_536, 2**24,
              2**31 - 1, 2**31, 2**32 - 1)
sizes = st.sampled_from(EDGE_SIZES) | st.integers(0, 2**32 - 1)


def idx_bytes(code: int, shape, payload: bytes, ndim: int | None = None) -> bytes:
    header = bytes([0, 0, code, len(shape) if ndim is None else ndim])
    return header + b"".join(struct.pack(">I", d) for d in shape) + payload


def npy_bytes(descr, shape, payload: bytes) -> bytes:
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


def zipped(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@functools.cache
def real_files() -> dict[str, bytes]:
    """50 real MNIST test digits and labels: raw and gzipped IDX, and .npz."""
    images = read_idx(mnist.BUNDLED_DIR / "t10k-images-idx3-ubyte.gz")[:50]
    labels = read_idx(mnist.BUNDLED_DIR / "t10k-labels-idx1-ubyte.gz")[:50]
    raw_images = idx_bytes(8, images.shape, images.tobytes())
    raw_labels = idx_bytes(8, labels.shape, labels.tobytes())
    arrays = {f"{name}.npy": npy_bytes("|u1", array.shape, array.tobytes())
              for name, array in (("x_train", images), ("y_train", labels),
                                  ("x_test", images[:5]), ("y_test", labels[:5]))}
    return {"images.idx": raw_images, "labels.idx": raw_labels,
            "images.idx.gz": gzip.compress(raw_images, mtime=0),
            "labels.idx.gz": gzip.compress(raw_labels, mtime=0),
            "stored.npz": zipped(arrays, zipfile.ZIP_STORED),
            "deflated.npz": zipped(arrays)}


def read_or_refuse(path, reader="idx"):
    """The arrays read, or None after the documented error; anything else
    escapes and fails the test."""
    try:
        if reader == "idx":
            arrays = [read_idx(path)]
        else:
            arrays = list(read_npz(path, list(STANDARD_FILES)).values())
    except DatasetError as err:
        # no size in a message may be negative (an int64 product wrapped)
        assert not re.search(r"(?<![\w/.-])-\d", str(err)), str(err)
        return None
    for array in arrays:
        assert array.nbytes <= MAX_IDX_BYTES and array.flags.writeable
    return arrays


@st.composite
def idx_headers(draw) -> tuple[int, int, list[int]]:
    """``(type code, dimension count, sizes)``: mostly as many sizes as the
    count says, drawn from the edges (their products overflow int64) or tiny
    (so that even 255 dimensions can promise a few bytes)."""
    code = draw(st.sampled_from(sorted(IDX_DTYPES)) | st.integers(0, 255))
    ndim = draw(st.integers(1, 5) | st.sampled_from([0, 32, 33, 64, 65, 255])
                | st.integers(0, 255))
    count = ndim if draw(st.integers(0, 3)) else draw(st.integers(0, 40))
    size = draw(st.sampled_from([sizes, st.integers(0, 2)]))
    return code, ndim, draw(st.lists(size, min_size=count, max_size=count))


@given(header=idx_headers(), body=st.binary(max_size=300), compress=st.booleans())
def test_random_idx_headers_give_an_array_or_a_dataset_error(
        tmp_path_factory, header, body, compress):
    code, ndim, shape = header
    data = idx_bytes(code, shape, body, ndim)
    path = tmp_path_factory.mktemp("idx") / "x-idx"
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    arrays = read_or_refuse(path)
    if arrays is not None:  # only a header that told the truth
        assert arrays[0].shape == tuple(shape) and len(shape) == ndim


@given(code=st.sampled_from(sorted(IDX_DTYPES)),
       shape=st.lists(st.integers(0, 6), min_size=1, max_size=4),
       extra=st.sampled_from([-2, -1, 0, 0, 0, 1, 5]), compress=st.booleans())
def test_small_honest_headers_read_exactly_their_values(
        tmp_path_factory, code, shape, extra, compress):
    dtype = IDX_DTYPES[code]
    values = np.arange(int(np.prod(shape)), dtype=dtype)
    payload = values.tobytes()
    payload = payload + bytes(extra) if extra >= 0 else payload[:extra]
    data = idx_bytes(code, shape, payload)
    path = tmp_path_factory.mktemp("idx") / "x-idx"
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    arrays = read_or_refuse(path)
    if extra == 0 or (values.size == 0 and extra < 0):  # the promised bytes
        assert_array_equal(arrays[0], values.reshape(shape))
    else:
        assert arrays is None


@given(name=st.sampled_from(sorted(real_files())),
       flips=st.lists(st.integers(0, 2**40), min_size=1, max_size=8),
       in_header=st.booleans(), before_gzip=st.booleans())
def test_real_files_with_flipped_bits(tmp_path_factory, name, flips, in_header,
                                      before_gzip):
    data = real_files()[name]
    inside = name.endswith(".gz") and before_gzip
    if inside:
        data = gzip.decompress(data)
    damaged = bytearray(data)
    span = min(len(data), 64) if in_header else len(data)
    for bit in flips:
        bit %= span * 8
        damaged[bit // 8] ^= 1 << (bit % 8)
    if inside:
        damaged = gzip.compress(bytes(damaged), mtime=0)
    path = tmp_path_factory.mktemp("idx") / name
    path.write_bytes(bytes(damaged))
    read_or_refuse(path, "npz" if name.endswith(".npz") else "idx")


@given(name=st.sampled_from(sorted(real_files())), cut=st.integers(0, 2**40),
       tail=st.binary(max_size=20))
def test_real_files_cut_short_or_lengthened(tmp_path_factory, name, cut, tail):
    data = real_files()[name]
    path = tmp_path_factory.mktemp("idx") / name
    path.write_bytes(data + tail if tail else data[:cut % len(data)])
    arrays = read_or_refuse(path, "npz" if name.endswith(".npz") else "idx")
    if not tail or name.endswith(".idx"):  # a raw IDX file has no slack
        assert arrays is None
    # (gzip allows zeros after its data, zip a comment: those may still read)


@given(descrs=st.lists(st.sampled_from(["|u1", "<u1", "<f4", "|O", "<u2", "|b1",
                                        "u1", 1, None]), min_size=4, max_size=4),
       shapes=st.lists(st.lists(sizes, max_size=40).map(tuple), min_size=4,
                       max_size=4),
       body=st.binary(max_size=100), deflated=st.booleans())
def test_random_npz_headers(tmp_path_factory, descrs, shapes, body, deflated):
    members = {f"{name}.npy": npy_bytes(descr, shape, body)
               for name, descr, shape in zip(STANDARD_FILES, descrs, shapes,
                                             strict=True)}
    method = zipfile.ZIP_DEFLATED if deflated else zipfile.ZIP_STORED
    path = tmp_path_factory.mktemp("npz") / "mnist.npz"
    path.write_bytes(zipped(members, method))
    read_or_refuse(path, "npz")
