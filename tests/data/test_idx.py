"""IDX reading and writing: round trips, the real sample, and every kind of damage."""

from __future__ import annotations

import gzip
import os

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from convsim.datasets import mnist
from convsim.datasets.errors import DatasetError
from convsim.datasets.idx import IDX_DTYPES, atomic_write, read_idx, write_idx

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
        (bytes([0, 0, 8, 0]), r"0 dimensions"),
        (bytes([0, 0, 8, 3, 0, 0, 0, 2]), r"truncated IDX header: 3 dimensions"),
        (GOOD[:-1], r"shorter than its IDX header says.*needs 18 bytes, found 17"),
        (GOOD + b"\x00", r"longer than its IDX header says"),
        (idx_bytes(0x0E, (2**31, 2**31), b""), r"not plausible"),
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
        (np.array(5, np.uint8), r"1 to 255 dimensions.*Received: array.shape=\(\)"),
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
