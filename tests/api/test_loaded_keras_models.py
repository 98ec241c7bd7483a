"""Everything in convsim works on a model that real Keras wrote: ``evaluate``
gives Keras's loss, the trace (the lessons' view of every cell) gives
``predict``'s numbers, the notes' activation model can be built on it, and
``train --save m.keras`` writes a file that loads again.

The files are ``tests/fixtures/keras/`` (written by Keras 3.15.1 and tf_keras
2.21; see its README); test_keras_fixtures.py checks loading them bit for bit.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from convsim import models
from convsim.datasets import mnist
from convsim.experiments import cli as train
from convsim.trace import trace_model

pytest.importorskip("h5py", reason="Keras files need h5py (pip install "
                    "'convsim[keras]'); tests/api/test_without_h5py.py checks "
                    "what convsim says without it")

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"
MANIFEST = json.loads((FIXTURES / "manifest.json").read_text())
PREDICTIONS = np.load(FIXTURES / "predictions.npz")
#: The fixtures' models that are one chain of layers (the trace follows one).
CHAINS = [name for name in sorted(MANIFEST["files"])
          if not name.startswith("activation_model")]


def classes(name: str) -> list[str]:
    return [layer["class_name"] for layer in MANIFEST["files"][name]["layers"]]


@pytest.mark.parametrize("name", [n for n in sorted(MANIFEST["files"])
                                  if MANIFEST["files"][n]["compiled"]
                                  and "Dropout" not in classes(n)])
def test_evaluate_gives_the_loss_keras_computed(name):
    """Keras's ``train_on_batch`` loss on ``step_x`` is the loss before its
    step, which is what ``evaluate`` computes (no Dropout here to differ)."""
    model = models.load_model(FIXTURES / name)
    x, y = (PREDICTIONS[f"{name}/step_{k}"] for k in "xy")
    loss = model.evaluate(x, y, batch_size=len(x), verbose=0)
    loss = loss[0] if isinstance(loss, list) else loss
    np.testing.assert_allclose(loss, PREDICTIONS[f"{name}/step_loss"], rtol=1e-5)


@pytest.mark.parametrize("name", CHAINS)
def test_the_trace_of_a_keras_model_is_its_prediction(name):
    """The lessons' trace walks Keras's layers, named as in Keras, and ends
    at ``predict``'s numbers (to the same float32 rounding)."""
    model = models.load_model(FIXTURES / name)
    x = PREDICTIONS[f"{name}/x"]
    trace = trace_model(model, x[0])
    names = [layer["name"] for layer in MANIFEST["files"][name]["layers"]
             if layer["class_name"] != "InputLayer"]
    assert [layer.name for layer in trace] == names
    np.testing.assert_allclose(trace.outputs.ravel(),
                               model.predict(x[:1], verbose=0).ravel(),
                               rtol=1e-5, atol=1e-6)


def test_the_notes_activation_model_on_a_keras_model():
    """The notes' ``models.Model(inputs=model.input, outputs=layer_outputs)``
    on the cats-vs-dogs convnet Keras saved."""
    model = models.load_model(FIXTURES / "cats_vs_dogs_convnet.h5")
    layer_outputs = [layer.output for layer in model.layers[:8]]
    activation_model = models.Model(inputs=model.input, outputs=layer_outputs)
    x = PREDICTIONS["cats_vs_dogs_convnet.h5/x"][:1]
    activations = activation_model.predict(x, verbose=0)
    assert len(activations) == 8
    np.testing.assert_array_equal(activations[0], model.layers[0](x))
    shapes = [a.shape[1:] for a in activations]
    assert shapes == [tuple(layer["output_shape"][1:]) for layer in
                      MANIFEST["files"]["cats_vs_dogs_convnet.h5"]["layers"][:8]]


@pytest.mark.slow
def test_train_saves_a_keras_file_that_loads(tmp_path):
    """``train mnist --save m.keras`` writes a real Keras file: the trained
    weights and the optimizer's state come back."""
    console = Console(file=io.StringIO(), width=200, color_system=None)
    path = tmp_path / "m.keras"
    status = train.main(["mnist", "--epochs", "1", "--limit", "128", "--batch-size",
                         "64", "--data", str(mnist.BUNDLED_DIR), "--seed", "0",
                         "--no-plot", "--verbose", "0", "--save", str(path)],
                        console=console)
    assert status == 0, console.file.getvalue()
    assert path.read_bytes()[:2] == b"PK"
    model = models.load_model(path)
    assert model.optimizer is not None
    assert int(model.optimizer.get_state()["iterations"]) == 2
    assert model.count_params() == 93_322


#: The keys Keras 2's legacy optimizers take (tf_keras 2.21's
#: ``optimizers/legacy``: their arguments and ``{'lr', 'decay', 'clipnorm',
#: 'clipvalue', 'global_clipnorm'}``) and Keras 3's take too: an ``.h5``
#: optimizer with any other key fails to load in Keras 2 (``weight_decay``
#: did, measured), and Keras 3 refuses Keras 2's ``is_legacy_optimizer``.
LEGACY_KEYS = {"name", "learning_rate", "clipnorm", "clipvalue", "global_clipnorm",
               "beta_1", "beta_2", "epsilon", "amsgrad", "rho", "momentum",
               "centered", "nesterov"}


@pytest.mark.parametrize("optimizer", [
    {"class_name": "Adam", "config": {"learning_rate": 1e-4, "decay": 1e-2}},
    {"class_name": "RMSprop", "config": {"learning_rate": 2e-3, "centered": True}},
    {"class_name": "SGD", "config": {"learning_rate": 0.05, "momentum": 0.9,
                                     "nesterov": True}}])
def test_an_h5_optimizer_is_one_keras_2_and_3_both_read(tmp_path, optimizer):
    import h5py

    from convsim import layers, optimizers

    model = models.Sequential([layers.Input((6, 6, 1)), layers.Conv2D(2, 3),
                               layers.Flatten(), layers.Dense(1)])
    model.compile(optimizer=optimizers.get(optimizer), loss="mse")
    model.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5") as file:
        written = json.loads(file.attrs["training_config"])["optimizer_config"]
    assert written["class_name"] == optimizer["class_name"]
    assert set(written["config"]) <= LEGACY_KEYS
    rate = written["config"]["learning_rate"]
    if isinstance(rate, dict):  # Keras 3's legacy loader needs the module
        assert rate["module"] == "keras.optimizers.schedules"
        assert rate["class_name"] == "InverseTimeDecay"
    again = models.load_model(tmp_path / "m.h5").optimizer.get_config()
    mine = model.optimizer.get_config()
    # the learning rate comes back as the float32 Keras keeps it in (or as
    # written, for a decay schedule's)
    assert np.float32(again.pop("learning_rate")) == np.float32(
        mine.pop("learning_rate"))
    assert again == mine
