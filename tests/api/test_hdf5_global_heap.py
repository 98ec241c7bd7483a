"""A damaged global heap in an HDF5 file must not hang ``load_model``.

HDF5 1.14 (inside h5py 3.16) spins forever in C code when a global heap
object of index 0 has size 0 (found by ``fuzz/keras_files.py``);
``convsim.models.keras.global_heap`` refuses such a file before h5py opens
it. The loads run in a child process with a timeout, so a regression fails
instead of hanging the suite.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile

import pytest

from convsim import layers, models
from convsim.errors import ModelFileError
from convsim.models.keras.global_heap import check_global_heaps

pytest.importorskip("h5py", reason="Keras files need h5py (pip install "
                    "'convsim[keras]')")

LOAD = ("import sys\nfrom convsim import models\n"
        "try:\n    models.load_model(sys.argv[1])\n"
        "except Exception as err:\n    print(type(err).__name__, err)\n")


def small_model():
    return models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3),
                              layers.Flatten(), layers.Dense(2)])


def spinning(data: bytes) -> bytes:
    """``data`` with its first global heap object made index 0, size 0."""
    data = bytearray(data)
    at = data.find(b"GCOL")
    assert at > 0, "an .h5 written by convsim keeps its text in a global heap"
    first = at + 16
    data[first:first + 2] = bytes(2)
    data[first + 8:first + 16] = bytes(8)
    return bytes(data)


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_spinning_heap_in_an_h5_is_refused_not_hung(tmp_path):
    good = tmp_path / "good.h5"
    small_model().save(good)
    bad = tmp_path / "bad.h5"
    bad.write_bytes(spinning(good.read_bytes()))
    done = subprocess.run([sys.executable, "-c", LOAD, str(bad)], timeout=60,
                          capture_output=True, text=True)
    assert done.stdout.startswith("ModelFileError "), done.stdout + done.stderr
    assert "its global heap at byte" in done.stdout and "ends nowhere" in done.stdout


def test_real_files_pass_and_the_walk_is_checked(tmp_path):
    path = tmp_path / "m.h5"
    small_model().save(path)
    data = path.read_bytes()
    check_global_heaps(data, "'m.h5'")  # a real file: nothing to say
    with pytest.raises(ModelFileError, match="ends nowhere"):
        check_global_heaps(spinning(data), "'m.h5'")
    past = bytearray(data)
    at = past.find(b"GCOL")
    past[at + 24:at + 32] = (10**9).to_bytes(8, "little")  # first object's size
    with pytest.raises(ModelFileError, match="runs past the heap's end"):
        check_global_heaps(bytes(past), "'m.h5'")


def test_a_keras_archive_is_checked_too(tmp_path):
    path = tmp_path / "m.keras"
    small_model().save(path)
    with zipfile.ZipFile(path) as archive:
        members = {n: archive.read(n) for n in archive.namelist()}
    weights = members["model.weights.h5"]
    if b"GCOL" not in weights:
        pytest.skip("this h5py keeps no text in the weights' global heap")
    members["model.weights.h5"] = spinning(weights)
    bad = tmp_path / "bad.keras"
    with zipfile.ZipFile(bad, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="global heap"):
        models.load_model(bad)
