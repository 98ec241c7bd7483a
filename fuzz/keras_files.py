"""Fuzz ``models.load_model`` on Keras files by hand: hostile ``.keras`` and
``.h5`` files and random damage.

    python fuzz/keras_files.py --minutes 5              # as long as you like
    python fuzz/keras_files.py --minutes 1 --seed 7     # another random sequence

Needs h5py (``pip install 'convsim[keras]'``). First every file of the hostile
corpus (:func:`hostile_files`: Lambda layers holding bytecode, configs naming
modules and functions, custom objects, absurd shapes and dtypes in the HDF5,
external links, virtual and external datasets, foreign filters, datasets
whose shape disagrees with the architecture, zip bombs in ``config.json`` and
``model.weights.h5``, deep JSON, graphs pointing nowhere, ...) is loaded in a
fresh Python process of its own, to measure its peak memory; then, until the
time is up, worker processes load random bit flips and truncations of real
small Keras files (written by convsim's writer, whose files real Keras 3.15
loads) and nonsense values in their ``config.json``. The outcomes, the report
and ``--out`` are those of ``fuzz/model_files.py`` (whose machinery this
harness reuses); a file that loads is used (predict, one training step).

The same builders make the corpus of ``tests/api/test_hostile_keras_files.py``,
which runs a bounded version in CI.
"""

from __future__ import annotations

import argparse
import base64
import importlib.util
import io
import json
import marshal
import random
import signal
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_HERE = Path(__file__).resolve().parent


def _sibling(name: str):
    """A harness module next to this one, however this one was loaded."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, _HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


model_files = _sibling("model_files")
MIB = model_files.MIB
RawMember, raw_zip, bomb = model_files.RawMember, model_files.raw_zip, model_files.bomb
members_of, rezip = model_files.members_of, model_files.rezip
load_in_child, classify = model_files.load_in_child, model_files.classify


# ------------------------------------------------------------ real files
def _small_models():
    """A Sequential (conv, pool, flatten, dropout, dense; Adam after one
    step) and a functional chain, named as a fresh session names them."""
    from convsim import layers, models
    from convsim.layers.graph import fresh_names
    from convsim.utils import set_random_seed

    set_random_seed(3)
    with fresh_names():
        sequential = models.Sequential([
            layers.Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
            layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5),
            layers.Dense(3, activation="softmax")])
        inputs = layers.Input(shape=(6, 6, 1), name="image")
        hidden = layers.Conv2D(2, 3, name="conv")(inputs)
        flat = layers.Flatten(name="flat")(layers.Activation("relu", name="act")(
            hidden))
        functional = models.Model(inputs, layers.Dense(2, name="out")(flat),
                                  name="chain")
    sequential.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                       metrics=["acc"])
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 1)).astype(np.float32)
    sequential.fit(x, np.arange(4) % 3, epochs=1, batch_size=4, verbose=0)
    return sequential, functional


def real_files() -> dict[str, bytes]:
    """``sequential.keras``, ``sequential.h5``, ``functional.keras`` and
    ``functional.h5``: small models written by convsim's Keras writer."""
    from convsim.models import keras

    files = {}
    with tempfile.TemporaryDirectory() as folder:
        for name, model in zip(("sequential", "functional"), _small_models(),
                               strict=True):
            for suffix in (".keras", ".h5"):
                path = Path(folder) / f"{name}{suffix}"
                keras.save_model(model, path)
                files[path.name] = path.read_bytes()
    return files


# ------------------------------------------------------------ editing
def h5_edited(data: bytes, change) -> bytes:
    """The HDF5 file ``data`` after ``change(h5py.File)`` (opened read-write,
    with the newest format so large attributes fit)."""
    import h5py

    buffer = io.BytesIO(data)
    with h5py.File(buffer, "r+", libver="latest") as file:
        change(file)
    return buffer.getvalue()


def keras_edited(data: bytes, config=None, weights=None, **members) -> bytes:
    """A ``.keras`` archive with ``config.json`` replaced by ``config(old)``,
    ``model.weights.h5`` edited by ``weights(h5py.File)``, or members set."""
    found = members_of(data)
    if config is not None:
        found["config.json"] = json.dumps(config(json.loads(
            found["config.json"]))).encode()
    if weights is not None:
        found["model.weights.h5"] = h5_edited(found["model.weights.h5"], weights)
    for key, value in members.items():
        found[key.replace("_", ".")] = value
    return rezip(found)


def h5_config_edited(data: bytes, change, key="model_config") -> bytes:
    """A legacy ``.h5`` with its JSON attribute ``key`` replaced by
    ``change(old)``."""
    def edit(file):
        file.attrs[key] = json.dumps(change(json.loads(file.attrs[key]))).encode()
    return h5_edited(data, edit)


def _replace(group, name: str, **dataset) -> None:
    """``group[name]`` replaced by a dataset made with ``dataset``'s arguments
    (or, given ``link=``, by that link)."""
    del group[name]
    if "link" in dataset:
        group[name] = dataset["link"]
    else:
        group.create_dataset(name, **dataset)


def _layers(change):
    """A config change applied to the model's layer list."""
    def edit(config):
        config["config"]["layers"] = change(config["config"]["layers"])
        return config
    return edit


def _layer(index: int, **values):
    """A config change setting keys of layer ``index``'s config."""
    def edit(config):
        config["config"]["layers"][index]["config"].update(values)
        return config
    return edit


def _entry(index: int, **values):
    """A config change setting keys of layer ``index``'s entry itself."""
    def edit(config):
        config["config"]["layers"][index].update(values)
        return config
    return edit


def lambda_bytecode(sentinel) -> str:
    """Base64 of the marshalled code of ``lambda x: open(sentinel, 'w')``,
    as Keras's ``func_dump`` writes a Lambda layer's function."""
    code = compile(f"lambda x: open({str(sentinel)!r}, 'w')", "<lambda>", "eval")
    function_code = next(c for c in code.co_consts if hasattr(c, "co_code"))
    return base64.b64encode(marshal.dumps(function_code)).decode("ascii")


# ------------------------------------------------------------ the corpus
def _code_and_names(real: dict, sentinel) -> dict[str, bytes]:
    """Files whose config names code: Lambdas, modules, custom objects."""
    seq = real["sequential.keras"]
    command = f"touch {sentinel}"
    code = lambda_bytecode(sentinel)
    lambda3 = {"module": "keras.layers", "class_name": "Lambda",
               "registered_name": None, "config": {"name": "lambda", "function": {
                   "class_name": "__lambda__", "config": {
                       "code": code, "defaults": None, "closure": None}},
                   "arguments": {}}}
    lambda2 = {"class_name": "Lambda", "config": {
        "name": "lambda", "function": [code, None, None], "function_type": "lambda",
        "module": "__main__", "output_shape": None, "arguments": {}}}
    return {
        "Lambda with bytecode (.keras)": keras_edited(seq, _layers(
            lambda layers: [layers[0], lambda3, *layers[1:]])),
        "Lambda with bytecode (.h5)": h5_config_edited(
            real["sequential.h5"], _layers(lambda layers: [layers[0], lambda2,
                                                          *layers[1:]])),
        "TFOpLambda (.h5)": h5_config_edited(real["sequential.h5"], _layers(
            lambda layers: [layers[0], {"class_name": "TFOpLambda", "config": {
                "name": "tf.math.add", "function": "math.add"}}, *layers[1:]])),
        "layer class os.system": keras_edited(seq, _layers(lambda layers: [
            layers[0], {"module": "os", "class_name": "system",
                        "config": {"name": "x", "command": command}}, *layers[1:]])),
        "Dense from module evil": keras_edited(seq, _entry(5, module="evil")),
        "Dense registered as builtins>eval": keras_edited(
            seq, _entry(5, registered_name="builtins>eval")),
        "custom object MyPackage>MyLayer": keras_edited(seq, _layers(lambda layers: [
            *layers, {"module": "__main__", "class_name": "MyLayer",
                      "registered_name": "MyPackage>MyLayer",
                      "config": {"name": "mine"}}])),
        "activation os.system": keras_edited(seq, _layer(1, activation={
            "module": "os", "class_name": "function", "config": "system",
            "registered_name": "function"})),
        "nested model": keras_edited(seq, _layers(lambda layers: [
            *layers, {"module": "keras", "class_name": "Sequential",
                      "config": {"name": "inner", "layers": []}}])),
        "model class os.system": keras_edited(seq, lambda c: {**c, "class_name":
                                                              "os.system"}),
        "Sequential from module evil": keras_edited(seq, lambda c: {**c, "module":
                                                                    "evil"}),
        "every unsupported item at once": keras_edited(seq, _every_problem),
    }


def _every_problem(config: dict) -> dict:
    layers = config["config"]["layers"]
    layers[1]["config"].update(groups=2, data_format="channels_first",
                               kernel_regularizer={"class_name": "L2",
                                                   "config": {"l2": 0.01}})
    layers[5]["config"]["dtype"] = {"module": "keras", "class_name": "DTypePolicy",
                                    "config": {"name": "mixed_float16"}}
    layers[5]["config"]["lora_rank"] = 4
    layers.insert(2, {"module": "keras.layers", "class_name": "BatchNormalization",
                      "config": {"name": "batch_normalization"}})
    layers.insert(3, {"module": "keras.layers", "class_name": "Lambda",
                      "config": {"name": "lambda", "function": "x"}})
    return config


def _noted(real: dict, sentinel) -> dict[str, bytes]:
    """Files that load, leaving out (with a note) what convsim cannot honour."""
    seq = real["sequential.keras"]

    def compile_set(**values):
        def edit(config):
            config["compile_config"].update(values)
            return config
        return edit

    def velocity_of_another_shape(file):
        _replace(file["optimizer/vars"], "3", data=np.zeros((7,), np.float32))

    return {
        "optimizer subprocess.getoutput": keras_edited(seq, compile_set(optimizer={
            "module": "subprocess", "class_name": "getoutput",
            "config": {"cmd": f"touch {sentinel}"}, "registered_name": None})),
        "loss os.remove": keras_edited(seq, compile_set(loss={
            "module": "os", "class_name": "remove",
            "config": {"path": str(sentinel)}, "registered_name": None})),
        # Keras 3 writes a loss function as {"module": "builtins", "class_name":
        # "function", "config": its name}; only names convsim has are used
        "loss function named eval": keras_edited(seq, compile_set(loss={
            "module": "builtins", "class_name": "function", "config": "eval",
            "registered_name": "function"})),
        "metric builtins.eval": keras_edited(seq, compile_set(metrics=[
            "acc", {"module": "builtins", "class_name": "eval",
                    "config": {"source": "1"}, "registered_name": None}])),
        "initializer from module posix": keras_edited(seq, _layer(
            1, kernel_initializer={"module": "posix", "class_name": "system",
                                   "config": {"command": f"touch {sentinel}"},
                                   "registered_name": None})),
        "optimizer epsilon -1": keras_edited(seq, lambda c: (
            c["compile_config"]["optimizer"]["config"].update(epsilon=-1), c)[1]),
        "optimizer state of another shape": keras_edited(
            seq, weights=velocity_of_another_shape),
    }


def _hdf5_contents(real: dict) -> dict[str, bytes]:
    """``.keras`` files whose ``model.weights.h5`` lies or reaches out."""
    seq = real["sequential.keras"]

    def kernel(**dataset):
        return keras_edited(seq, weights=lambda f: _replace(
            f["layers/conv2d/vars"], "0", **dataset))

    import h5py

    def virtual(file):
        layout = h5py.VirtualLayout(shape=(3, 3, 1, 2), dtype="f4")
        layout[:] = h5py.VirtualSource("/etc/passwd", "x", shape=(3, 3, 1, 2))
        del file["layers/conv2d/vars/0"]
        file["layers/conv2d/vars"].create_virtual_dataset("0", layout)

    def renumber(file):
        file["layers/dense/vars"].move("1", "5")

    return {
        "dataset 10^6 x 10^6 (gzip, nothing stored)": kernel(
            shape=(10**6, 10**6), dtype="f4", chunks=(1000, 1000),
            compression="gzip"),
        "dataset in chunks of 256 MiB": kernel(
            shape=(3, 3, 1, 2), maxshape=(None,) * 4, dtype="f4",
            chunks=(1024, 1024, 1, 64)),
        "complex weights": kernel(data=np.zeros((3, 3, 1, 2), np.complex64)),
        "string weights": kernel(data=np.full((3, 3, 1, 2), b"1e39")),
        "integer weights": kernel(data=np.zeros((3, 3, 1, 2), np.int32)),
        "weights of the wrong shape": kernel(data=np.zeros((3, 3, 1, 5), np.float32)),
        "float64 weights 1e39": kernel(data=np.full((3, 3, 1, 2), 1e39)),
        "external link": kernel(link=h5py.ExternalLink("/etc/passwd", "/x")),
        "soft link": kernel(link=h5py.SoftLink("/layers/dense/vars/0")),
        "external storage": kernel(shape=(3, 3, 1, 2), dtype="f4",
                                   external=[("/etc/passwd", 0, 72)]),
        "virtual dataset": keras_edited(seq, weights=virtual),
        "lzf filter": kernel(data=np.zeros((3, 3, 1, 2), np.float32),
                             compression="lzf"),
        "weights of a layer the architecture lacks": keras_edited(
            seq, weights=lambda f: f.create_dataset("layers/dense_7/vars/0",
                                                    data=np.zeros(3, np.float32))),
        "a weight missing": keras_edited(
            seq, weights=lambda f: f["layers/dense/vars"].__delitem__("1")),
        "variables numbered 0 and 5": keras_edited(seq, weights=renumber),
        "optimizer step count a float": keras_edited(seq, weights=lambda f: _replace(
            f["optimizer/vars"], "0", data=np.float32(3))),
        "optimizer velocity -1": keras_edited(seq, weights=lambda f: _replace(
            f["optimizer/vars"], "3", data=np.full((3, 3, 1, 2), -1, np.float32))),
        "Keras npz weights (pickled)": rezip({
            "config.json": members_of(seq)["config.json"],
            "model.weights.npz": model_files.npz({
                "layers": model_files.pickled_npy("/nonexistent/sentinel")})}),
    }


def _legacy_h5(real: dict, sentinel) -> dict[str, bytes]:
    """Legacy ``.h5`` files that lie."""
    seq = real["sequential.h5"]

    def attrs(**values):
        def edit(file):
            for key, value in values.items():
                if value is None:
                    del file.attrs[key]
                else:
                    file.attrs[key] = value
        return edit

    def names(group, key, value):
        return lambda f: f[group].attrs.__setitem__(key, value)

    return {
        "h5 without model_config": h5_edited(seq, attrs(model_config=None)),
        "h5 model_config of 2 MiB": h5_edited(seq, attrs(
            model_config=" " * (2 * MIB) + "{}")),
        "h5 model_config not JSON": h5_edited(seq, attrs(model_config=b"{'a': 1")),
        "h5 model_config nested 200,000 deep": h5_edited(seq, attrs(
            model_config="[" * 200_000 + "]" * 200_000)),
        "h5 model_config a number": h5_edited(seq, attrs(model_config=b"42")),
        "h5 layer_names of 5,000 names": h5_edited(seq, names(
            "model_weights", "layer_names",
            np.array([b"n%04d" % i for i in range(5_000)]))),
        "h5 weight_names outside the file": h5_edited(seq, names(
            "model_weights/conv2d", "weight_names",
            np.array([b"/../../etc/passwd", b"conv2d/bias"]))),
        "h5 one layer's weights missing": h5_edited(seq, names(
            "model_weights", "layer_names", np.array([b"conv2d"]))),
        "h5 written by Keras 1": h5_edited(seq, lambda f: (
            f.attrs.__setitem__("keras_version", b"1.2.2"),
            f["model_weights"].attrs.__setitem__("keras_version", b"1.2.2"))),
        "h5 weights of the model itself": h5_edited(seq, lambda f: (
            f["model_weights/top_level_model_weights"].attrs.__setitem__(
                "weight_names", np.array([b"w"])),
            f["model_weights/top_level_model_weights"].create_dataset(
                "w", data=np.zeros(2, np.float32)))),
        "h5 Lambda in the training_config loss": h5_config_edited(
            seq, lambda c: {**c, "loss": {"class_name": "Lambda", "config": {
                "function": [lambda_bytecode(sentinel), None, None]}}},
            key="training_config"),
    }


def _graphs(real: dict) -> dict[str, bytes]:
    """Functional graphs convsim cannot take, or that point nowhere."""
    fun = real["functional.keras"]

    def history(name, node=0):
        return {"class_name": "__keras_tensor__", "config": {
            "shape": [None, 4, 4, 2], "dtype": "float32",
            "keras_history": [name, node, 0]}}

    def call(index, *tensors, **kwargs):
        def edit(config):
            config["config"]["layers"][index]["inbound_nodes"] = [
                {"args": list(tensors), "kwargs": kwargs}]
            return config
        return edit

    def config_set(**values):
        def edit(config):
            config["config"].update(values)
            return config
        return edit

    return {
        "two inputs": keras_edited(fun, config_set(input_layers=[
            ["image", 0, 0], ["image", 0, 0]])),
        "a layer called on two tensors": keras_edited(fun, call(
            2, [history("image"), history("conv")])),
        "a layer called with training=True": keras_edited(fun, call(
            2, history("conv"), training=True)),
        "a layer reading a ghost": keras_edited(fun, call(2, history("ghost"))),
        "a loop": keras_edited(fun, lambda c: call(1, history("act"))(
            call(2, history("conv"))(c))),
        "an output no layer makes": keras_edited(fun, config_set(
            output_layers=["out", 3, 0])),
        "Dense(units=10**12)": keras_edited(real["sequential.keras"], _layer(
            5, units=10**12)),
        "Dense(units=10**8) in a small file": keras_edited(
            real["sequential.keras"], _layer(5, units=10**8)),
    }


def _archives(real: dict) -> dict[str, bytes]:
    """Zip bombs, deep JSON and broken containers."""
    seq = real["sequential.keras"]
    members = members_of(seq)
    config_bomb, crc, length = bomb(members["config.json"], 2 << 30, fill=b" ")
    weights_bomb, _, big = bomb(b"\x89HDF\r\n\x1a\n", 3 << 30, crc=False)
    others = [model_files.deflated_member(n, v) for n, v in members.items()
              if n not in ("config.json", "model.weights.h5")]
    weights = model_files.deflated_member("model.weights.h5",
                                          members["model.weights.h5"])
    config = model_files.deflated_member("config.json", members["config.json"])
    return {
        "config.json bomb 2 GiB": raw_zip([*others, weights, RawMember(
            "config.json", config_bomb, length, crc)]),
        "model.weights.h5 bomb 3 GiB": raw_zip([*others, config, RawMember(
            "model.weights.h5", weights_bomb, big)]),
        "model.weights.h5 bomb declared 1 KB": raw_zip([*others, config, RawMember(
            "model.weights.h5", weights_bomb, 1000)]),
        "config.json nested 200,000 deep": keras_edited(
            seq, config_json=b"[" * 200_000 + b"]" * 200_000),
        "config.json a list": keras_edited(seq, config_json=b"[1, 2]"),
        "config.json without layers": keras_edited(seq, lambda c: {
            **c, "config": {"name": "x"}}),
        "model.weights.h5 not HDF5": keras_edited(seq, model_weights_h5=b"\x89HDF"
                                                  + b"\0" * 100),
        "truncated .keras": seq[: len(seq) // 2],
        "truncated .h5": real["sequential.h5"][: len(real["sequential.h5"]) // 2],
        "HDF5 signature then zeros": b"\x89HDF\r\n\x1a\n" + b"\0" * 4096,
    }


def hostile_files(sentinel) -> dict[str, bytes]:
    """Hostile and broken Keras files by name (detected by content, whatever
    their name). Loading any of them must give a ``convsim.errors`` error, or
    (:data:`NOTED`) a model with a note; none may create ``sentinel``."""
    real = real_files()
    return {**_code_and_names(real, sentinel), **_noted(real, sentinel),
            **_hdf5_contents(real), **_legacy_h5(real, sentinel), **_graphs(real),
            **_archives(real)}


#: The files of :func:`hostile_files` that load (with a note) instead of
#: being refused: what they name is never used, only left out.
NOTED = ("optimizer subprocess.getoutput", "loss os.remove",
         "loss function named eval", "metric builtins.eval",
         "initializer from module posix", "optimizer epsilon -1",
         "optimizer state of another shape", "h5 Lambda in the training_config loss")


# ------------------------------------------------------------ running
def run_corpus(out: Path, timeout: float, memory_mb: int, tally) -> None:
    """Each hostile file loaded once, in a fresh process of its own."""
    sentinel = out / "sentinel"
    sentinel.unlink(missing_ok=True)
    for name, data in hostile_files(sentinel).items():
        path = out / "input.keras"
        path.write_bytes(data)
        result = load_in_child(path, timeout, memory_mb)
        if sentinel.exists():
            result["outcome"] = "code ran"
            sentinel.unlink()
        if result["outcome"] == "loaded" and name not in NOTED:
            result["outcome"] = "unclear"  # it should have been refused
        tally.add(result)
        print(f"{result['outcome']:8} {result.get('peak_mb', 0):4.0f} MB "
              f"{result.get('seconds', 0):5.2f} s  {name}: "
              f"{result.get('error', '')} {result.get('message', '')[:120]}",
              flush=True)
        if result["outcome"] not in ("clear", "loaded"):
            (out / f"corpus-{name.replace('/', '_')}.keras").write_bytes(data)


def _worker(seed: int, seconds: float, timeout: float) -> None:
    """Load damaged real Keras files in this process for ``seconds`` (one
    JSON line per input on stdout), as ``model_files._worker`` does."""
    import resource

    from convsim import models
    from convsim.errors import ConvsimError, MissingFileError, ModelFileError

    class Hang(BaseException):
        """Raised by the alarm, past any ``except Exception``."""

    def alarm(*_):
        raise Hang

    signal.signal(signal.SIGALRM, alarm)
    rng = random.Random(seed)
    sources = list(real_files().items())
    end = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as folder:
        sentinel = Path(folder) / "sentinel"
        while time.monotonic() < end:
            name, data = rng.choice(sources)
            json_damage = name.endswith(".keras") and rng.random() < 0.4
            damage = model_files.mutate_json if json_damage else model_files.mutate
            data, what = damage(data, rng)
            path = Path(folder) / name
            path.write_bytes(data)
            result, model = {"input": f"{name}: {what}"}, None
            signal.alarm(int(timeout))
            try:
                model = models.load_model(path, console=_QUIET)
                result["outcome"] = "loaded"
                model_files.exercise(model)
            except Hang:
                result["outcome"] = "hang"
            except Exception as err:
                clear = isinstance(err, ConvsimError if model else (
                    ModelFileError, MissingFileError))
                result.update(outcome="clear" if clear else "unclear",
                              error=type(err).__name__, message=str(err)[:300],
                              stage="using" if model else "loading")
            finally:
                signal.alarm(0)
            if sentinel.exists():
                result["outcome"] = "code ran"
            result["peak_mb"] = resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024
            if classify(result)["outcome"] not in ("loaded", "clear"):
                result["hex"] = data.hex()
            print(json.dumps(result), flush=True)


class _Quiet:
    """A console that keeps the notes to itself."""

    def print(self, *args, **kwargs) -> None:
        pass


_QUIET = _Quiet()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before a load counts as a hang")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="address-space cap of each process loading files")
    parser.add_argument("--out", type=Path, default=Path("fuzz-keras-files"),
                        help="where inputs that were not refused clearly go")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(args.worker, args.seconds, args.timeout)
        return 0
    end = time.monotonic() + 60 * args.minutes
    args.out.mkdir(parents=True, exist_ok=True)
    tally = model_files.Tally()
    run_corpus(args.out, args.timeout, args.memory_mb, tally)
    model_files.run_mutations(end, args.seed, args.timeout, args.memory_mb,
                              args.out, tally, __file__, ".bin")
    print("\n" + tally.report())
    return 1 if tally.bad() else 0


if __name__ == "__main__":
    sys.exit(main())
