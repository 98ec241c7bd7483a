"""IDX reading and writing: round trips, the real sample, and every kind of damage."""

from __future__ import annotations

import gzip
import os
import re
import zlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from convsim.datasets import mnist
from convsim.datasets.errors import DatasetError, DatasetTooLargeError
from convsim.datasets.idx import (
    IDX_DTYPES,
    MAX_IDX_BYTES,
    atomic_write,
    read_idx,
    write_idx,
)
from convsim.errors import FileTooLargeError

DTYPES = ["uint8", "int8", "int16", "int32", "float32", "float64"]


def idx_bytes(code: int, shape: tuple, payload: bytes) -> bytes:
    """Hand-assembled IDX bytes, independent of write_idx."""
    header = bytes([0, 0, code, len(shape)])
    header += b"".join(int(d).to_bytes(4, "big") for d in shape)
    return header + payload


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_every_dtype(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = write_idx(tmp_path / f"a-idx3{suffix}", array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype).newbyteorder("=")
    assert back.shape == (3, 4, 5)
    assert_array_equal(back, array)
    assert back.flags.writeable


def test_reads_hand_made_big_endian_file(tmp_path):
    # int16 values 1, -2, 258 stored big-endian, shape (3,)
    path = tmp_path / "x"
    path.write_bytes(idx_bytes(0x0B, (3,), b"\x00\x01\xff\xfe\x01\x02"))
    assert_array_equal(read_idx(path), np.array([1, -2, 258], np.int16))


def test_writer_produces_the_standard_header(tmp_path):
    path = write_idx(tmp_path / "labels", np.array([7, 2, 1], np.uint8))
    assert path.read_bytes() == idx_bytes(0x08, (3,), bytes([7, 2, 1]))


def test_compression_is_detected_from_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.uint8).reshape(3, 4)
    raw_named_gz = write_idx(tmp_path / "raw.gz", array, compress=False)
    gz_named_raw = write_idx(tmp_path / "packed", array, compress=True)
    assert gz_named_raw.read_bytes()[:2] == b"\x1f\x8b"
    assert_array_equal(read_idx(raw_named_gz), array)
    assert_array_equal(read_idx(gz_named_raw), array)


def test_gzip_output_is_reproducible(tmp_path):
    array = np.arange(100, dtype=np.uint8)
    first = write_idx(tmp_path / "a.gz", array).read_bytes()
    second = write_idx(tmp_path / "b.gz", array).read_bytes()
    assert first == second


@given(
    dtype=st.sampled_from(DTYPES),
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple),
    compress=st.booleans(),
)
def test_round_trip_property(tmp_path_factory, dtype, shape, compress):
    folder = tmp_path_factory.mktemp("idx")
    rng = np.random.default_rng(len(shape))
    array = (rng.standard_normal(shape) * 50).astype(dtype)
    back = read_idx(write_idx(folder / "f", array, compress=compress))
    assert back.shape == shape
    assert_array_equal(back, array)


def test_real_sample_from_shared_data(shared_data):
    folder = shared_data / "mnist-sample"
    images = read_idx(folder / "train-images-idx3-ubyte.gz")
    labels = read_idx(folder / "train-labels-idx1-ubyte.gz")
    assert images.shape == (4000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (4000,)
    assert_array_equal(np.bincount(labels, minlength=10), [400] * 10)
    # the bundled copy is the same data
    assert_array_equal(read_idx(mnist.BUNDLED_DIR / "train-images-idx3-ubyte.gz"),
                       images)


# --- damage ----------------------------------------------------------------


def write(tmp_path, name: str, data: bytes, compress: bool = False):
    path = tmp_path / name
    path.write_bytes(gzip.compress(data, mtime=0) if compress else data)
    return path


GOOD = idx_bytes(0x08, (2, 3), bytes(range(6)))


@pytest.mark.parametrize(
    "data, pattern",
    [
        (b"", r"only 0 bytes long"),
        (b"\x00\x00", r"only 2 bytes long"),
        (b"<html>Not Found</html>", r"starts with 0x00 0x00.*0x3c 0x68"),
        (idx_bytes(0x0A, (2,), b"\x00\x00"), r"unsupported IDX type code 0x0A"),
        (bytes([0, 0, 8, 0]), r"says 0 dimensions \(byte 4\); convsim reads 1 to 32"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 2]), r"truncated IDX header: 3 dimensions"),
        (GOOD[:-1], r"shorter than its IDX header says.*needs 18 bytes, found 17"),
        (GOOD + b"\x00", r"longer than its IDX header says"),
        (idx_bytes(0x0E, (2**31, 2**31), b""),
         r"claims shape \(2147483648, 2147483648\) of 8-byte values, "
         r"36,893,488,147,419,103,232 bytes; convsim reads at most 268,435,456"),
    ],
)
@pytest.mark.parametrize("compress", [False, True])
def test_damaged_files_name_the_file_and_the_problem(tmp_path, data, pattern,
                                                     compress):
    path = write(tmp_path, "broken-idx1-ubyte", data, compress)
    with pytest.raises(DatasetError, match=pattern) as info:
        read_idx(path)
    assert "broken-idx1-ubyte" in str(info.value)
    assert isinstance(info.value, OSError)


def test_truncated_gzip_stream(tmp_path):
    packed = gzip.compress(idx_bytes(0x08, (1000,), os.urandom(1000)), mtime=0)
    path = write(tmp_path, "cut.gz", packed[: len(packed) // 2])
    with pytest.raises(DatasetError, match=r"cut\.gz: truncated or corrupt gzip"):
        read_idx(path)


@pytest.mark.parametrize("where", [-6, 40])  # the CRC trailer; the deflate data
def test_corrupt_gzip_payload(tmp_path, where):
    text = b"".join(b"%d " % i for i in range(400))  # compressible, so deflated
    packed = bytearray(gzip.compress(idx_bytes(0x08, (len(text),), text), mtime=0))
    packed[where] ^= 0xFF
    path = write(tmp_path, "bad.gz", bytes(packed))
    with pytest.raises(DatasetError, match=r"bad\.gz: truncated or corrupt gzip"):
        read_idx(path)


def test_missing_file(tmp_path):
    with pytest.raises(DatasetError, match=r"nope-idx3-ubyte: file not found"):
        read_idx(tmp_path / "nope-idx3-ubyte")


@pytest.mark.parametrize(
    "array, pattern",
    [
        (np.zeros(3, np.uint16), r"dtype.*Received: array.dtype=uint16"),
        (np.zeros(3, bool), r"Received: array.dtype=bool"),
        (np.zeros(3, np.complex64), r"Received: array.dtype=complex64"),
        (np.array(5, np.uint8), r"1 to 32 dimensions.*Received: array.shape=\(\)"),
    ],
)
def test_write_rejects_what_idx_cannot_hold(tmp_path, array, pattern):
    with pytest.raises(ValueError, match=pattern):
        write_idx(tmp_path / "x", array)
    assert list(tmp_path.iterdir()) == []


def test_every_supported_code_is_writable():
    assert sorted(IDX_DTYPES) == [0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E]


def test_atomic_write_leaves_old_file_and_no_temp_on_failure(tmp_path):
    target = tmp_path / "data.gz"
    write_idx(target, np.arange(5, dtype=np.uint8))
    before = target.read_bytes()

    def fail_midway(handle):
        handle.write(b"\x00\x00\x08")
        raise KeyboardInterrupt  # even an interrupt must not leave a stub

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, fail_midway)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["data.gz"]


def test_write_leaves_no_temporary_files(tmp_path):
    write_idx(tmp_path / "sub" / "a-idx1-ubyte.gz", np.arange(3, dtype=np.uint8))
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a-idx1-ubyte.gz"]


# --- sizes a header claims (issue 15: overflow, absurd claims, gzip bombs) ----


def gzip_then_garbage(data: bytes) -> bytes:
    """A gzip stream that inflates to ``data`` and a megabyte of zeros, then is
    corrupt: a reader that inflates it all fails with 'corrupt gzip', so any
    other outcome shows it stopped in time (reading a header inflates a few
    kilobytes at most: gzip's read buffer)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    packed = packer.compress(data) + packer.compress(bytes(2**20))
    return packed + packer.flush(zlib.Z_FULL_FLUSH) + b"\xff" * 64


def test_a_gzip_claiming_billions_of_labels_is_refused_before_inflating(tmp_path):
    path = write(tmp_path, "labels.gz", gzip_then_garbage(
        idx_bytes(0x08, (4_200_000_000,), b"")))
    with pytest.raises(DatasetTooLargeError, match=r"labels\.gz: the IDX header "
                       r"claims shape \(4200000000,\) of 1-byte values, "
                       r"4,200,000,000 bytes; convsim reads at most 268,435,456 "
                       r"\(max_bytes=; full MNIST's 60,000 images are 47,040,000\)"
                       ) as info:
        read_idx(path)
    assert isinstance(info.value, FileTooLargeError)
    assert MAX_IDX_BYTES == 256 * 2**20


def test_a_gzip_cannot_claim_more_than_deflate_can_make_of_it(tmp_path):
    path = write(tmp_path, "images.gz", gzip_then_garbage(
        idx_bytes(0x08, (100_000, 28, 28), b"")))
    size = path.stat().st_size
    assert size < 2000
    with pytest.raises(DatasetTooLargeError, match=rf"claims shape \(100000, 28, "
                       rf"28\), 78,400,016 bytes, but a {size:,}-byte gzip file "
                       rf"inflates to at most {1032 * size:,}"):
        read_idx(path)


def test_inflating_stops_one_byte_after_the_promised_values(tmp_path):
    data = idx_bytes(0x08, (3,), b"\x01\x02\x03")
    path = write(tmp_path, "long.gz", gzip_then_garbage(data))
    with pytest.raises(DatasetError, match=r"long\.gz: the decompressed data is "
                       r"longer than its IDX header says.*needs 11 bytes, found "
                       r"more than 11"):
        read_idx(path)


def test_max_bytes_can_be_raised_or_lowered_on_purpose(tmp_path):
    path = write_idx(tmp_path / "a.gz", np.arange(100, dtype=np.uint8))
    assert read_idx(path, max_bytes=100).shape == (100,)
    with pytest.raises(DatasetTooLargeError, match=r"100 bytes; convsim reads at "
                       r"most 99 \(max_bytes="):
        read_idx(path, max_bytes=99)


@pytest.mark.parametrize("shape, claimed", [
    ((65536,) * 4, "18,446,744,073,709,551,616"),  # np.prod wrapped this to 0
    ((2**32 - 1,) * 2, "18,446,744,065,119,617,025"),
    ((0, 2**32 - 1, 2**32 - 1), "18,446,744,065,119,617,025"),  # empty, yet
])
@pytest.mark.parametrize("compress", [False, True])
def test_dimensions_multiply_without_overflow(tmp_path, shape, claimed, compress):
    path = write(tmp_path, "x-idx", idx_bytes(0x08, shape, b""), compress)
    with pytest.raises(DatasetTooLargeError, match=rf"claims shape "
                       rf"{re.escape(str(shape))} of 1-byte values, {claimed} "
                       r"bytes; convsim reads at most"):
        read_idx(path)


def test_too_many_dimensions_are_refused_before_numpy_sees_them(tmp_path):
    path = write(tmp_path, "deep-idx", idx_bytes(0x08, (1,) * 255, b"\x07"))
    with pytest.raises(DatasetError, match=r"deep-idx: the IDX header says 255 "
                       r"dimensions \(byte 4\); convsim reads 1 to 32"):
        read_idx(path)
    assert read_idx(write(tmp_path, "ok-idx", idx_bytes(0x08, (1,) * 32, b"\x07"))
                    ).shape == (1,) * 32


def test_a_short_raw_file_is_refused_by_its_size_not_read(tmp_path):
    path = write(tmp_path, "short-idx", idx_bytes(0x0E, (1000, 1000), b"\x00" * 8))
    with pytest.raises(DatasetError, match=r"short-idx: the file is shorter than "
                       r"its IDX header says: shape \(1000, 1000\) of 8-byte "
                       r"values needs 8,000,012 bytes, found 20\."):
        read_idx(path)


def test_big_endian_values_are_swapped_in_place_and_writable(tmp_path):
    array = np.arange(-3, 3, dtype=np.int32).reshape(2, 3) * 70_000
    back = read_idx(write_idx(tmp_path / "a", array))
    assert_array_equal(back, array)
    assert back.dtype == np.dtype("=i4") and back.flags.writeable
    assert back.flags.c_contiguous


def test_a_fifo_is_refused_not_waited_on(fifo):
    with pytest.raises(DatasetError, match=r"x-idx3-ubyte' is a FIFO \(named "
                       r"pipe\), not a regular file"):
        read_idx(fifo("x-idx3-ubyte"))


def test_a_device_is_refused(tmp_path):
    (tmp_path / "null-idx").symlink_to("/dev/null")
    with pytest.raises(DatasetError, match=r"null-idx' is a device, not a regular "
                       r"file"):
        read_idx(tmp_path / "null-idx")
    (tmp_path / "folder-idx").mkdir()
    with pytest.raises(DatasetError, match=r"folder-idx' is a folder"):
        read_idx(tmp_path / "folder-idx")
