"""Model files: exact round trips, resumable training, safety and clear errors."""

from __future__ import annotations

import json
import os
import threading
import zipfile

import numpy as np
import pytest

from convsim import layers, models, optimizers
from convsim.errors import (
    ArgumentError,
    FileError,
    MissingFileError,
    MissingPackageError,
    NotARegularFileError,
    WrongTypeError,
)
from convsim.models import archive, load_model
from convsim.models.saving import ModelFileError
from convsim.utils import set_random_seed


def small_model(dropout=True):
    stack = [layers.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1)),
             layers.MaxPooling2D(2), layers.Flatten()]
    if dropout:
        stack.append(layers.Dropout(0.25))
    stack.append(layers.Dense(3, activation="softmax"))
    return models.Sequential(stack)


def data(n=48):
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 8, 8, 1)).astype(np.float32), rng.integers(0, 3, n)


@pytest.mark.parametrize("optimizer", [
    "rmsprop", optimizers.Adam(learning_rate=0.003),
    optimizers.SGD(0.05, momentum=0.9, nesterov=True)])
def test_round_trip_gives_identical_predictions_and_continued_training(
        tmp_path, optimizer):
    set_random_seed(21)
    x, y = data()
    model = small_model()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["acc"])
    model.fit(x, y, epochs=2, batch_size=8, verbose=0)
    path = tmp_path / "model.convsim"
    model.save(path)
    loaded = load_model(path)
    assert [layer.name for layer in loaded.layers] == [
        layer.name for layer in model.layers]
    np.testing.assert_array_equal(loaded.predict(x, verbose=0),
                                  model.predict(x, verbose=0))
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    assert loaded.optimizer.iterations == model.optimizer.iterations == 12
    # both continue from the same optimizer state, shuffling and dropout masks
    h1 = model.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    h2 = loaded.fit(x, y, epochs=2, batch_size=8, verbose=0).history
    assert h1 == h2
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_functional_model_round_trip(tmp_path):
    inputs = layers.Input(shape=(8, 8, 1))
    hidden = layers.Conv2D(2, 3)(inputs)
    outputs = [hidden, layers.Dense(2)(layers.Flatten()(hidden))]
    model = models.Model(inputs, outputs)
    model.save(tmp_path / "f.convsim")
    loaded = load_model(tmp_path / "f.convsim")
    x = data(3)[0]
    for a, b in zip(model.predict(x, verbose=0), loaded.predict(x, verbose=0),
                    strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.optimizer is None


def _h5py_installed() -> bool:
    try:
        import h5py  # noqa: F401
    except ImportError:
        return False
    return True


def test_h5_path_is_written_as_a_real_hdf5_keras_file(tmp_path):
    """The notes' ``model.save('cats_and_dogs_small_1.h5')`` writes what
    Keras writes there: HDF5 (tests/api/test_keras_fixtures.py checks it
    against real Keras). Without h5py it says how to install it, and writes
    nothing."""
    model = small_model(dropout=False)
    model.compile(optimizer=optimizers.adam_v2.Adam(lr=0.001),
                  loss="sparse_categorical_crossentropy", metrics=["acc"])
    path = tmp_path / "dog_and_cat.h5"
    if not _h5py_installed():
        with pytest.raises(MissingPackageError,
                           match=r"pip install 'convsim\[keras\]'"):
            model.save(str(path))
        assert list(tmp_path.iterdir()) == []
        return
    model.save(str(path))
    assert path.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    model2 = load_model(path)
    assert model2.compiled_metrics[0].name == "acc"
    # the notes' activation model, built on the loaded model
    layer_outputs = [layer.output for layer in model2.layers[:2]]
    activation_model = models.Model(inputs=model2.input, outputs=layer_outputs)
    x = data(1)[0]
    first, second = activation_model.predict(x, verbose=0)
    np.testing.assert_array_equal(first, model.layers[0](x))
    assert second.shape == (1, 3, 3, 4)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_other_names_get_convsim_format_with_a_note(tmp_path):
    model = small_model(dropout=False)
    model.compile(optimizer="rmsprop", loss="sparse_categorical_crossentropy",
                  metrics=["acc"])
    for name in ("m.convsim", "m.zip", "m"):
        model.save(tmp_path / name)
        with zipfile.ZipFile(tmp_path / name) as archive_file:
            names = set(archive_file.namelist())
            note = archive_file.read("README.txt").decode()
            config = json.loads(archive_file.read("config.json"))
        assert {"config.json", "metadata.json", "model.weights.npz"} <= names
        assert "convsim model file" in note
        assert config["compile_config"]["metrics"] == ["acc"]
        assert load_model(tmp_path / name).compiled_metrics[0].name == "acc"


def test_real_hdf5_damaged_and_foreign_files_raise_oserror(tmp_path):
    hdf5 = tmp_path / "keras.h5"
    hdf5.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(ModelFileError, match="is an HDF5 file"):
        load_model(hdf5)
    model = small_model()
    good = tmp_path / "good.convsim"
    model.save(good)
    truncated = tmp_path / "cut.convsim"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(OSError, match="not a convsim model file|damaged"):
        load_model(truncated)
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a convsim model file"):
        load_model(text)
    other_zip = tmp_path / "other.keras"
    with zipfile.ZipFile(other_zip, "w") as archive:
        archive.writestr("config.json", json.dumps({"module": "keras"}))
        archive.writestr("model.weights.npz", b"")
    with pytest.raises(ModelFileError, match="Keras .keras archive"):
        load_model(other_zip)
    with pytest.raises(FileNotFoundError, match="No model file found"):
        load_model(tmp_path / "missing.convsim")


def test_save_errors_are_clear(tmp_path):
    model = small_model()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.save(tmp_path / "no" / "such" / "dir" / "m.convsim")
    with pytest.raises(IsADirectoryError):
        model.save(tmp_path)
    model.save(tmp_path / "m.convsim")
    with pytest.raises(FileExistsError):
        model.save(tmp_path / "m.convsim", overwrite=False)


def test_weights_only_files(tmp_path):
    a, b = small_model(), small_model()
    a.save_weights(tmp_path / "a.weights")
    b.load_weights(tmp_path / "a.weights")
    x = data(4)[0]
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))
    wrong = models.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ModelFileError, match="holds 4 weight arrays"):
        wrong.load_weights(tmp_path / "a.weights")


def test_saving_into_a_missing_folder_fails_before_writing_anything(tmp_path,
                                                                   monkeypatch):
    """The folder is checked first: nothing is computed or written (a long
    training run's end is no time to learn the folder is missing)."""
    def no_writing(*args):
        raise AssertionError("nothing may be written")

    monkeypatch.setattr(archive, "atomic_write", no_writing)
    model = small_model()
    monkeypatch.setattr(model, "get_config", no_writing)
    for save in (model.save, model.save_weights):
        with pytest.raises(MissingFileError, match=r"Cannot save the (model|weights) "
                           r"file to '.*/missing/m.convsim': the folder "
                           r"'.*/missing' does not exist"):
            save(tmp_path / "missing" / "m.convsim")
    assert list(tmp_path.iterdir()) == []


def test_save_weights_keeps_an_existing_file_when_asked(tmp_path):
    model = small_model()
    model.save_weights(tmp_path / "w.npz")
    with pytest.raises(FileExistsError, match=r"already exists \(overwrite=False\)"):
        model.save_weights(tmp_path / "w.npz", overwrite=False)


def test_load_weights_reads_the_weights_of_a_whole_model_file(tmp_path):
    """As Keras 3's ``load_weights('model.keras')`` does."""
    a, b = small_model(), small_model()
    a.save(tmp_path / "a.convsim")
    b.load_weights(tmp_path / "a.convsim")
    x = data(2)[0]
    np.testing.assert_array_equal(a.predict(x, verbose=0), b.predict(x, verbose=0))


def test_weights_of_the_wrong_shape_change_no_weight(tmp_path):
    """All arrays are checked before any is assigned: no half-loaded model."""
    source = models.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(5)])
    source.save_weights(tmp_path / "w.npz")
    target = models.Sequential([layers.Dense(4, input_shape=(3,)), layers.Dense(2)])
    before = target.get_weights()
    with pytest.raises(ModelFileError, match=r"Weight 'dense(_\d+)?/kernel' in "
                       r"'.*w.npz' has shape \(4, 5\), expected \(4, 2\)"):
        target.load_weights(tmp_path / "w.npz")
    for a, b in zip(before, target.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_loading_weights_into_a_model_without_weights_says_to_build_it(tmp_path):
    small_model().save_weights(tmp_path / "w.npz")
    unbuilt = models.Sequential([layers.Dense(2)])
    with pytest.raises(ModelFileError, match=r"holds 4 weight arrays but its "
                       r"architecture needs 0 \(this model has no weights yet: "
                       r"give it an input shape or call it once\)"):
        unbuilt.load_weights(tmp_path / "w.npz")


def test_a_weights_file_that_is_not_an_npz_is_named(tmp_path):
    path = tmp_path / "w.npz"
    path.write_text("hello")
    with pytest.raises(ModelFileError, match=r"is not a convsim weights file \(it "
                       r"should be an .npz archive written by save_weights\(\) or "
                       r"a model file\)"):
        small_model().load_weights(path)


@pytest.mark.parametrize("call", [load_model, small_model().load_weights,
                                  small_model().save])
def test_a_path_that_is_no_path_is_a_wrong_type_error(call):
    with pytest.raises(WrongTypeError, match=r"path must be a string or a path. "
                       r"Received: 5"):
        call(5)


def test_a_path_holding_nul_is_an_argument_error():
    with pytest.raises(ArgumentError, match=r"The model file path must be a string "
                       r"without NUL characters \(no file name holds one\). "
                       r"Received: 'a\\x00b'"):
        load_model("a\0b")


@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="Linux only")
def test_a_file_the_system_cannot_read_is_a_file_error():
    """/proc/self/mem is a regular file whose reading fails (EIO), like a file
    without permission: a convsim error naming it, not a raw OSError."""
    with pytest.raises(FileError, match=r"Cannot read the model file "
                       r"'/proc/self/mem': Input/output error.") as info:
        load_model("/proc/self/mem")
    assert info.type is FileError


def test_a_fifo_is_refused_without_hanging(tmp_path):
    """Reading a FIFO would block forever: only regular files are opened."""
    fifo = tmp_path / "model.convsim"
    os.mkfifo(fifo)
    with pytest.raises(NotARegularFileError, match=r"is a FIFO \(named pipe\), not a "
                       "regular file"):
        load_model(fifo)
    with pytest.raises(NotARegularFileError, match="is a FIFO"):
        small_model().load_weights(fifo)


def test_a_path_swapped_for_a_fifo_after_the_check_cannot_hang(tmp_path,
                                                               monkeypatch):
    """Between the check of the path and its opening, a FIFO may take the
    file's place: the file is opened without waiting and checked again."""
    fifo = tmp_path / "model.convsim"
    os.mkfifo(fifo)
    monkeypatch.setattr(archive, "regular_file", lambda given, what: fifo)
    outcome = []

    def load():
        try:
            load_model(fifo)
        except NotARegularFileError as err:
            outcome.append(err)

    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), "load_model waited on a FIFO"
    assert "is a FIFO (named pipe), not a regular file" in str(outcome[0])


def test_custom_objects_must_be_a_dict_of_layer_classes(tmp_path):
    path = tmp_path / "m.convsim"
    small_model().save(path)
    with pytest.raises(WrongTypeError, match=r"`custom_objects` must be a dict "
                       r"\{name: class\}. Received: \['Conv2D'\]"):
        load_model(path, custom_objects=["Conv2D"])
    with pytest.raises(WrongTypeError, match=r"custom_objects\['Conv2D'\] must be a "
                       "subclass of convsim.layers.Layer: the file has a layer of "
                       "that class. Received: <built-in function print>"):
        load_model(path, custom_objects={"Conv2D": print})


def test_compile_false_leaves_out_a_bad_optimizer(tmp_path):
    """A file whose optimizer settings are refused still loads without them."""
    model = small_model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.save(tmp_path / "m.convsim")
    with zipfile.ZipFile(tmp_path / "m.convsim") as src:
        members = {n: src.read(n) for n in src.namelist()}
    config = json.loads(members["config.json"])
    config["compile_config"]["optimizer"]["config"]["epsilon"] = -1
    members["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "bad.convsim", "w") as dst:
        for name, value in members.items():
            dst.writestr(name, value)
    with pytest.raises(ModelFileError, match=r"`epsilon` must be a finite number in "
                       r"\[0, 3.4e\+38\]. Received: epsilon=-1 \(load_model\(path, "
                       r"compile=False\) loads the model without them\)"):
        load_model(tmp_path / "bad.convsim")
    loaded = load_model(tmp_path / "bad.convsim", compile=False)
    assert loaded.optimizer is None
