"""fashion_mnist.load_data: Debian's package, Keras's cache, downloads, and the
"how to get it" error when there is nothing (no bundled copy)."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
from local_server import Route, capture, serve
from mnist_files import assert_same, gz_files, tiny_arrays, write_folder
from numpy.testing import assert_array_equal

from convsim.datasets import fashion_mnist
from convsim.datasets.errors import DatasetNotFoundError

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def debian(tmp_path, monkeypatch):
    """Point the Debian folder at a temporary one (empty until a test fills it)."""
    folder = tmp_path / "usr-share-datasets" / "fashion-mnist"
    spec = dataclasses.replace(fashion_mnist.SPEC, system_dirs=(folder,))
    monkeypatch.setattr(fashion_mnist, "SPEC", spec)
    return folder


def test_nothing_found_says_how_to_get_it(debian):
    with pytest.raises(DatasetNotFoundError) as info:
        fashion_mnist.load_data(download=False)
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "path=" in message and str(debian) in message
    assert "downloading is off" in message


def test_offline_env_also_gives_the_instructions(debian, monkeypatch):
    monkeypatch.setenv("CONVSIM_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="CONVSIM_OFFLINE=1"):
        fashion_mnist.locate()


def test_debian_folder(debian):
    arrays = tiny_arrays(seed=11)
    write_folder(debian, arrays)
    console, out = capture()
    data = fashion_mnist.load(download=False, console=console)
    assert data.source.kind == "system"
    assert_same(data, arrays)
    assert f"Fashion-MNIST from {debian}: 6 train / 4 test images" in out.getvalue()


def test_cache_comes_before_debian(debian, tmp_path):
    write_folder(debian, tiny_arrays(seed=1))
    write_folder(tmp_path / "xdg" / "convsim" / "fashion-mnist", tiny_arrays(seed=2))
    data = fashion_mnist.load(download=False, verbose=False)
    assert data.source.kind == "cache"
    assert_same(data, tiny_arrays(seed=2))


def test_keras_cache_folder(debian, tmp_path):
    write_folder(tmp_path / "keras" / "datasets" / "fashion-mnist", tiny_arrays(3))
    assert fashion_mnist.locate(download=False).kind == "keras"


def test_download_from_local_mirror(debian, monkeypatch):
    arrays = tiny_arrays(seed=12)
    files = gz_files(arrays)
    with serve({"/" + n: Route(b) for n, b in files.items()}) as (base, _):
        spec = dataclasses.replace(
            fashion_mnist.SPEC, mirrors=(base,),
            sha256={n: hashlib.sha256(b).hexdigest()
                    for n, b in files.items()})
        monkeypatch.setattr(fashion_mnist, "SPEC", spec)
        data = fashion_mnist.load(verbose=False)
    assert data.source.kind == "download"
    assert_same(data, arrays)


def test_failed_download_without_sample_explains(debian, monkeypatch):
    with serve({}) as (base, _):
        monkeypatch.setattr(fashion_mnist, "SPEC", dataclasses.replace(
            fashion_mnist.SPEC, mirrors=(base,)))
        with pytest.raises(DatasetNotFoundError, match=r"download failed.*HTTP 404"
                           r".*apt-get install dataset-fashion-mnist"):
            fashion_mnist.load_data()


def test_real_debian_package():
    if not fashion_mnist.DEBIAN_DIR.is_dir():
        pytest.skip("Debian's dataset-fashion-mnist is not installed "
                    "(apt-get install dataset-fashion-mnist)")
    data = fashion_mnist.load(download=False, verbose=False)
    if data.source.kind != "system":
        pytest.skip(f"another copy comes first: {data.source.description}")
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (60000, 28, 28) and x_test.shape == (10000, 28, 28)
    assert_array_equal(np.bincount(y_train), [6000] * 10)
    assert_array_equal(np.bincount(y_test), [1000] * 10)
    # Zalando's published first training labels: ankle boot, T-shirt, T-shirt, dress
    assert_array_equal(y_train[:4], [9, 0, 0, 3])
    assert fashion_mnist.CLASS_NAMES[9] == "Ankle boot"
