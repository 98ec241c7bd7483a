"""Keras's mnist.npz read safely: every .npy header checked before any value."""

from __future__ import annotations

import re
import struct
import zipfile

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from convsim.datasets import mnist
from convsim.datasets.errors import DatasetError, DatasetTooLargeError
from convsim.datasets.npz import read_npz
from convsim.errors import FileTooLargeError


def npy(header: str, payload: bytes = b"", version: int = 1) -> bytes:
    """Hand-made .npy bytes: magic, version, header length, header, values."""
    text = header.encode("latin1")
    width = "<H" if version == 1 else "<I"
    return (b"\x93NUMPY" + bytes([version, 0]) + struct.pack(width, len(text))
            + text + payload)


def npz(tmp_path, members: dict[str, bytes], compress=zipfile.ZIP_STORED):
    path = tmp_path / "mnist.npz"
    with zipfile.ZipFile(path, "w", compress) as archive:
        for name, data in members.items():
            archive.writestr(name + ".npy", data)
    return path


def header(shape, descr="|u1", fortran=False) -> str:
    return f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {shape}, }}"


def test_reads_what_numpy_saves_in_either_order(tmp_path):
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.savez_compressed(tmp_path / "c.npz", a=a, f=np.asfortranarray(a))
    back = read_npz(tmp_path / "c.npz", ["a", "f"])
    assert_array_equal(back["a"], a)
    assert_array_equal(back["f"], a)
    assert back["a"].flags.writeable


def test_a_header_claiming_a_terabyte_is_refused_before_reading(tmp_path):
    path = npz(tmp_path, {"x": npy(header((10**12,)), b"\x00" * 16)})
    with pytest.raises(DatasetTooLargeError, match=r"mnist\.npz: the arrays' "
                       r"headers claim 1,000,000,000,000 bytes; convsim reads at "
                       r"most 268,435,456 from one \.npz") as info:
        read_npz(path, ["x"])
    assert isinstance(info.value, FileTooLargeError)


def test_sizes_multiply_without_overflow(tmp_path):
    shape = (2**32, 2**32, 2**32, 0)
    path = npz(tmp_path, {"x": npy(header(shape))})
    with pytest.raises(DatasetTooLargeError, match=re.escape(f"claim {2**96:,} "
                                                             "bytes")):
        read_npz(path, ["x"])


def test_the_arrays_together_must_fit(tmp_path):
    path = npz(tmp_path, {"a": npy(header((60,)), bytes(60)),
                          "b": npy(header((50,)), bytes(50))})
    assert read_npz(path, ["a", "b"], max_bytes=110)["b"].shape == (50,)
    with pytest.raises(DatasetTooLargeError, match=r"claim 110 bytes; convsim "
                       r"reads at most 100"):
        read_npz(path, ["a", "b"], max_bytes=100)


@pytest.mark.parametrize("descr, pattern", [
    ("|O", r"it holds Python objects \(descr='\|O'\), which only pickle can load"),
    ("<f4", r"it holds values of type '<f4'; convsim reads uint8"),
    ([("a", "|u1")], r"it holds values of type \[\('a', '\|u1'\)\]"),
])
def test_only_plain_bytes_are_read(tmp_path, descr, pattern):
    path = npz(tmp_path, {"x": npy(header((4,), descr), bytes(16))})
    with pytest.raises(DatasetError, match=r"mnist\.npz: cannot read the array x: "
                       + pattern):
        read_npz(path, ["x"])


def test_pickled_arrays_are_never_unpickled(tmp_path):
    arrays = {"x_train": np.array([{"evil": 1}], dtype=object),
              **{k: np.zeros(1, np.uint8) for k in ("y_train", "x_test", "y_test")}}
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(DatasetError, match=r"mnist\.npz: cannot read the array "
                       r"x_train: it holds Python objects"):
        mnist.load_data(tmp_path / "mnist.npz", verbose=False)


@pytest.mark.parametrize("data, pattern", [
    (npy(header((10,)), bytes(9)), r"should hold 78 bytes for shape \(10,\), "
                                   r"but holds 77\. The file is truncated"),
    (npy(header((10,)), bytes(11)), r"should hold 78 bytes.*but holds 79"),
    (b"PK\x03\x04 not numpy", r"is not a NumPy \.npy array"),
    (npy("{'descr': '|u1'}"), r"is not a NumPy \.npy array"),
    (npy("(" * 5000 + ")" * 5000), r"is not a NumPy \.npy array"),
    (npy(header((10,)))[:20], r"is not a NumPy \.npy array"),
    (npy("{'descr': '|u1', 'fortran_order': 0, 'shape': (2,)}"),
     r"has a damaged header \(shape=\(2,\), fortran_order=0\)"),
    (npy(header((-1,))), r"has a damaged header \(shape=\(-1,\)"),
    (npy(header((1,) * 33)), r"has a damaged header.*at most 32 sizes"),
    (npy(header(("2",))), r"has a damaged header \(shape=\('2',\)"),
])
def test_damaged_headers_name_the_array(tmp_path, data, pattern):
    with pytest.raises(DatasetError, match=r"mnist\.npz: the array x " + pattern):
        read_npz(npz(tmp_path, {"x": data}), ["x"])


def test_a_zip_that_claims_more_than_its_bytes_can_inflate_to(tmp_path):
    path = npz(tmp_path, {"x": npy(header((1000,)), bytes(1000))},
               compress=zipfile.ZIP_DEFLATED)
    data = bytearray(path.read_bytes())
    central = data.index(b"PK\x01\x02")
    data[central + 24:central + 28] = struct.pack("<I", 200_000_000)
    path.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=r"the zip says the array x inflates from "
                       r"\d+ to 200,000,000 bytes, more than compression can "
                       r"produce"):
        read_npz(path, ["x"])


def test_not_a_zip_and_not_a_file(tmp_path, fifo):
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(DatasetError, match=r"text\.npz: cannot read this \.npz "
                       r"file \(File is not a zip file\)"):
        read_npz(tmp_path / "text.npz", ["x"])
    with pytest.raises(DatasetError, match=r"pipe\.npz' is a FIFO"):
        read_npz(fifo("pipe.npz"), ["x"])
    with pytest.raises(DatasetError, match=r"none\.npz: file not found"):
        read_npz(tmp_path / "none.npz", ["x"])
