"""Proof against the real thing: files written by real Keras load in convsim.

The files in ``tests/fixtures/keras/`` were written by Keras 3.15.1 on the
PyTorch backend and, the ``keras2_*`` and ``keras213_*`` ones, by Keras 2 on
TensorFlow (tf_keras 2.21 and Keras 2.13, whose ``.keras`` keeps its weights
under ``_layer_checkpoint_dependencies``) (``make_fixtures.py`` there, run
once by hand; its README says what each file is). For each of them convsim must

* read every weight bit for bit (the SHA-256 of each weight's float32 bytes is
  in ``manifest.json``, taken from the model Keras saved);
* predict what Keras predicted after loading the same file
  (``predictions.npz``), within float32 rounding (see :data:`RTOL`);
* read the optimizer's state where the file holds one, so that one more
  training step gives Keras's loss and Keras's new predictions;
* print the parameter counts Keras prints, and go on training;
* write the model back as ``.keras`` and ``.h5`` and read it again with every
  weight bit-identical.

Without h5py (``pip install 'convsim[keras]'``) the tests that read or write
Keras files skip, saying so; the tests of the fixtures themselves always run.
"""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from convsim import models

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
FILES = sorted(MANIFEST["files"])
COMPILED = [f for f in FILES if MANIFEST["files"][f]["compiled"]]
PREDICTIONS = np.load(FIXTURES / "predictions.npz")

#: Tolerance on predictions (``assert_allclose``: |convsim - keras| <= ATOL +
#: RTOL * |keras|). Both frameworks compute in float32 (machine epsilon 2**-23,
#: about 1.2e-7) but add the products of each convolution and dense layer in
#: different orders (convsim: im2col blocks through OpenBLAS; PyTorch: its own
#: kernels), so each sum of up to 1,152 terms (3x3x128) rounds differently and
#: the differences pass through up to 8 layers. Measured on these files: at
#: most 1.2e-7 (one unit in the last place at 1.0), TensorFlow's for the
#: Keras 2 files included. The tolerance allows about 16 such units, so a
#: machine whose BLAS picks other kernels still passes, while the mistakes
#: tried on these files (the first kernel flipped, or its height and width
#: swapped; the first bias lost) are off by 1.3e-4 to 1.2, ten times the
#: tolerance or more.
RTOL, ATOL = 1e-5, 2e-6
#: After one more training step: measured at most 5.4e-7 (Adam at 1e-2 moves
#: the weights more than the forward pass's rounding); a step from a fresh
#: optimizer instead of the saved state is off by 0.04 to 0.13 on these files,
#: which :func:`test_the_step_fixtures_tell_saved_state_from_fresh` checks.
STEP_RTOL, STEP_ATOL = 1e-5, 1e-5

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def load(path: Path, **kwargs):
    """``models.load_model(path)``; skips without h5py (convsim then refuses
    Keras files, saying how to install it: tests/api/test_without_h5py.py)."""
    pytest.importorskip("h5py", reason="reading Keras files needs h5py "
                        "(pip install 'convsim[keras]')")
    return models.load_model(path, **kwargs)


def is_keras_file(path: Path) -> bool:
    """An HDF5 file for ``.h5``; a ZIP with Keras's ``model.weights.h5``
    for ``.keras``."""
    if path.suffix == ".h5":
        with path.open("rb") as f:
            return f.read(8) == _HDF5_MAGIC
    if not zipfile.is_zipfile(path):
        return False
    with zipfile.ZipFile(path) as archive:
        return {"config.json", "model.weights.h5"} <= set(archive.namelist())


def save(model, path: Path) -> None:
    """``model.save(path)``, which must write a real Keras file."""
    model.save(path)
    assert is_keras_file(path), path


def expected(name: str) -> dict:
    return MANIFEST["files"][name]


def keras_outputs(name: str, key: str = "y") -> list[np.ndarray]:
    """Keras's outputs for ``name``: one array, or ``y0, y1, ...``."""
    if f"{name}/{key}" in PREDICTIONS.files:
        return [PREDICTIONS[f"{name}/{key}"]]
    return [PREDICTIONS[f"{name}/{key}{i}"] for i in range(100)
            if f"{name}/{key}{i}" in PREDICTIONS.files]


def as_list(result) -> list[np.ndarray]:
    return list(result) if isinstance(result, (list, tuple)) else [result]


def sha256(array) -> str:
    return hashlib.sha256(np.ascontiguousarray(array, "<f4").tobytes()).hexdigest()


def bits(array) -> np.ndarray:
    """The float32 bit patterns: equal bits, not merely equal values (-0.0, NaN)."""
    return np.ascontiguousarray(array, np.float32).view(np.uint32)


# ------------------------------------------------------------ the fixtures
def test_every_file_has_a_manifest_entry_and_predictions():
    on_disk = sorted(p.name for p in FIXTURES.iterdir()
                     if p.suffix in (".keras", ".h5"))
    assert on_disk == FILES
    for name in FILES:
        assert f"{name}/x" in PREDICTIONS.files
        assert keras_outputs(name)
        assert expected(name)["keras_version"].startswith(
            "2." if name.startswith("keras2") else "3.")


def test_the_fixtures_stay_small():
    """Three Keras writers' files (Keras 3.15, tf_keras 2.21, Keras 2.13),
    5.2 MB in all, none over 1.3 MB: a real-sized model (the book's 150x150
    cats-vs-dogs convnet is a 13 MB file) would not fit."""
    total = sum(p.stat().st_size for p in FIXTURES.iterdir() if p.is_file())
    assert total < 5_500_000, f"tests/fixtures/keras holds {total:,} bytes"
    largest = max(p.stat().st_size for p in FIXTURES.iterdir() if p.is_file())
    assert largest < 1_500_000, f"a fixture of {largest:,} bytes"


def test_both_keras_archive_layouts_are_among_the_fixtures():
    """Keras 3 (and tf_keras) keep a ``.keras``'s weights under ``layers/``,
    Keras 2.13 under ``_layer_checkpoint_dependencies/``: both are read."""
    h5py = pytest.importorskip("h5py")
    import io

    tops = {}
    for name in ("functional_chain.keras", "keras213_functional_chain.keras"):
        with zipfile.ZipFile(FIXTURES / name) as archive:
            weights = io.BytesIO(archive.read("model.weights.h5"))
        with h5py.File(weights, "r") as file:
            tops[name] = set(file.keys())
    assert "layers" in tops["functional_chain.keras"]
    assert "_layer_checkpoint_dependencies" in tops["keras213_functional_chain.keras"]


def test_the_step_fixtures_tell_saved_state_from_fresh():
    """A step from the saved optimizer state and one from a fresh optimizer
    end far apart, so matching the first proves the state was read."""
    for name in COMPILED:
        saved = PREDICTIONS[f"{name}/y_after_step"]
        fresh = PREDICTIONS[f"{name}/y_after_fresh_step"]
        before = PREDICTIONS[f"{name}/y"]
        assert np.abs(saved - fresh).max() > 100 * STEP_ATOL, name
        assert np.abs(saved - before).max() > 100 * STEP_ATOL, name


# ------------------------------------------------------------ reading
@pytest.mark.parametrize("name", FILES)
def test_weights_are_keras_bit_for_bit(name):
    model = load(FIXTURES / name)
    want = expected(name)["weights"]
    assert len(model.weights) == len(want)
    for weight, keras in zip(model.weights, want, strict=True):
        value = np.asarray(weight.value)
        assert value.dtype == np.float32, keras["path"]
        assert list(value.shape) == keras["shape"], keras["path"]
        assert sha256(value) == keras["sha256"], keras["path"]


@pytest.mark.parametrize("name", FILES)
def test_predictions_equal_keras(name):
    model = load(FIXTURES / name)
    ours = as_list(model.predict(PREDICTIONS[f"{name}/x"], verbose=0))
    theirs = keras_outputs(name)
    assert len(ours) == len(theirs)
    for got, want in zip(ours, theirs, strict=True):
        assert got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("name", FILES)
def test_names_and_layers_are_keras(name):
    model = load(FIXTURES / name)
    want = expected(name)
    assert model.name == want["name"]
    assert isinstance(model, models.Sequential) == (want["class_name"] == "Sequential")
    for layer in want["layers"]:
        if layer["class_name"] == "InputLayer":
            continue
        ours = model.get_layer(layer["name"])
        assert type(ours).__name__ == layer["class_name"], layer["name"]
        assert ours.count_params() == layer["params"], layer["name"]


@pytest.mark.parametrize("name", COMPILED)
def test_optimizer_state_is_read(name):
    model = load(FIXTURES / name)
    want = expected(name)["optimizer"]
    assert model.optimizer is not None, "the file holds compile settings"
    assert type(model.optimizer).__name__ == want["class_name"]
    assert np.float32(model.optimizer.learning_rate) == np.float32(
        want["learning_rate"])
    state = model.optimizer.get_state()
    slots = dict(want["slots"])
    assert int(state.pop("iterations")) == slots.pop("iterations")
    assert sorted(state) == sorted(slots)
    for key, keras in slots.items():
        assert list(state[key].shape) == keras["shape"], key
        assert sha256(state[key]) == keras["sha256"], key


@pytest.mark.parametrize("name", [f for f in FILES if f not in COMPILED])
def test_a_file_without_compile_settings_loads_uncompiled(name):
    model = load(FIXTURES / name)
    assert model.optimizer is None


# ------------------------------------------------------------ summary
def summary_rows(model) -> tuple[dict, list[str]]:
    """``model.summary()``'s table as {layer name: (class, shape, params)}
    and its ``... params: ...`` lines."""
    lines = []
    model.summary(print_fn=lines.append)
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.split("│")[1:-1]]
        match = re.fullmatch(r"(\S+) \((\w+)\)", cells[0]) if len(cells) == 3 else None
        if match:
            rows[match[1]] = (match[2], cells[1], int(cells[2].replace(",", "")))
    return rows, [line.rstrip() for line in lines if "params:" in line]


def counts(lines: list[str]) -> dict[str, int]:
    """{'Total': 186646, 'Trainable': 93322, ...} from summary lines, in
    Keras 3's format (``93,322``) or Keras 2's (``93322``)."""
    found = {}
    for line in lines:
        match = re.match(r"\s*([\w-]+) params: ([\d,]+)", line)
        if match:
            found[match[1]] = int(match[2].replace(",", ""))
    return found


def keras_shape(shape: list) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


@pytest.mark.parametrize("name", FILES)
def test_summary_shows_keras_layers_and_model_params(name):
    model = load(FIXTURES / name)
    rows, lines = summary_rows(model)
    want = expected(name)
    for layer in want["layers"]:
        if layer["class_name"] == "InputLayer" and layer["name"] not in rows:
            continue  # Keras lists a Sequential's input nowhere, a Model's first
        assert rows[layer["name"]] == (layer["class_name"],
                                       keras_shape(layer["output_shape"]),
                                       layer["params"]), layer["name"]
    ours, theirs = counts(lines), counts(want["summary"])
    for kind in ("Trainable", "Non-trainable"):
        assert ours[kind] == theirs[kind], kind
    if not want["compiled"] and not name.startswith("keras2"):
        assert lines == want["summary"]  # Keras 3's lines, letter for letter


@pytest.mark.parametrize("name", [f for f in COMPILED
                                  if not f.startswith("keras2")])
def test_summary_optimizer_and_total_params_are_keras(name):
    model = load(FIXTURES / name)
    _, lines = summary_rows(model)
    assert lines == expected(name)["summary"]


# ------------------------------------------------------------ training on
@pytest.mark.parametrize("name", COMPILED)
def test_one_more_step_matches_keras(name):
    """The saved optimizer state in use: Keras took one more step from the
    same file; convsim's loss and new predictions are Keras's."""
    model = load(FIXTURES / name)
    step_x, step_y = (PREDICTIONS[f"{name}/step_{k}"] for k in "xy")
    steps = model.optimizer.get_state()["iterations"]
    logs = model.train_on_batch(step_x, step_y, return_dict=True)
    np.testing.assert_allclose(logs["loss"], PREDICTIONS[f"{name}/step_loss"],
                               rtol=1e-5)
    assert int(model.optimizer.get_state()["iterations"]) == int(steps) + 1
    after = model.predict(PREDICTIONS[f"{name}/x"], verbose=0)
    np.testing.assert_allclose(after, PREDICTIONS[f"{name}/y_after_step"],
                               rtol=STEP_RTOL, atol=STEP_ATOL)


@pytest.mark.parametrize("name", [f for f in FILES if "activation" not in f])
def test_fit_goes_on(name):
    """``fit`` continues on a loaded model (one with no compile settings is
    compiled as in the notes first: Adam and binary cross-entropy)."""
    model = load(FIXTURES / name)
    if model.optimizer is None:
        model.compile(optimizer="adam", loss="binary_crossentropy",
                      metrics=["acc"])
    if name in COMPILED:
        x, y = (PREDICTIONS[f"{name}/step_{k}"] for k in "xy")
    else:
        x = PREDICTIONS[f"{name}/x"]
        y = (np.arange(len(x)) % 2).astype(np.float32)[:, None]  # cat, dog, ...
    before = [np.array(w.value) for w in model.weights]
    history = model.fit(x, y, batch_size=2, epochs=2, verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    assert any(not np.array_equal(a, w.value)
               for a, w in zip(before, model.weights, strict=True))


# ------------------------------------------------------------ round trips
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", FILES)
def test_round_trip_keeps_every_weight_bit_identical(name, suffix, tmp_path):
    """Keras's file -> convsim -> convsim's ``.keras``/``.h5`` -> convsim."""
    model = load(FIXTURES / name)
    path = tmp_path / f"copy{suffix}"
    save(model, path)
    again = load(path)
    assert again.name == model.name
    assert [w.path for w in again.weights] == [w.path for w in model.weights]
    for ours, back in zip(model.weights, again.weights, strict=True):
        np.testing.assert_array_equal(bits(back.value), bits(ours.value),
                                      err_msg=ours.path)
    x = PREDICTIONS[f"{name}/x"]
    for a, b in zip(as_list(model.predict(x, verbose=0)),
                    as_list(again.predict(x, verbose=0)), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
@pytest.mark.parametrize("name", COMPILED)
def test_round_trip_keeps_the_optimizer_state(name, suffix, tmp_path):
    """Keras writes the optimizer's state into both formats; so must convsim,
    bit for bit, so that training goes on where it stopped."""
    model = load(FIXTURES / name)
    path = tmp_path / f"copy{suffix}"
    save(model, path)
    again = load(path)
    assert again.optimizer is not None
    assert type(again.optimizer) is type(model.optimizer)
    assert again.optimizer.get_config() == model.optimizer.get_config()
    ours, back = model.optimizer.get_state(), again.optimizer.get_state()
    assert sorted(back) == sorted(ours)
    for key, value in ours.items():
        if key == "iterations":
            assert int(back[key]) == int(value)
        else:
            np.testing.assert_array_equal(bits(back[key]), bits(value), err_msg=key)
