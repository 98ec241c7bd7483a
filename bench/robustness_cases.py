"""The bad inputs of ``bench/robustness.py``: what a hostile or careless learner
could hand convsim, each with what convsim must do with it.

Every case is a :class:`Case`: a name, a category, what must happen
(``REFUSE``: a clear convsim error; ``ACCEPT``: a result that passes
``check``; ``EITHER``: one or the other) and a function that runs it. Cases
are made from a seed, so the same seed gives the same list in the runner and in
its worker processes. Files are generated into a scratch folder, never
committed.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import pickle
import struct
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REFUSE, ACCEPT, EITHER = "refuse", "accept", "either"
SENTINEL = "code-ran.txt"  # a hostile file that manages to run code creates it


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    expect: str
    run: Callable[[], object]
    check: Callable[[object], bool] | None = None  # for ACCEPT/EITHER results


def all_cases(seed: int, rounds: int, scratch: Path, fixed: bool = True
              ) -> list[Case]:
    """The fixed matrix (unless ``fixed`` is False), then ``rounds`` rounds of
    random inputs (bit flips, truncations, random warp parameters), in the same
    order for the same ``seed``. Files are written once into ``scratch`` and
    reused."""
    scratch.mkdir(parents=True, exist_ok=True)
    cases = []
    if fixed:
        rng = np.random.default_rng(0)
        cases = (argument_cases(rng) + warp_cases(rng) + label_cases(rng)
                 + model_file_cases(scratch) + idx_cases(scratch)
                 + image_cases(scratch) + history_cases(scratch))
    for r in range(rounds):
        rng = np.random.default_rng([seed, r])
        folder = scratch / f"round{r}"
        folder.mkdir(exist_ok=True)
        cases += (random_warp_cases(rng) + flipped_model_files(rng, scratch, folder)
                  + flipped_idx_files(rng, folder)
                  + flipped_images(rng, scratch, folder))
    return cases


def _write_once(path: Path, content) -> Path:
    """Write ``content`` (bytes, or a function making them) unless ``path``
    exists already: workers rebuilding the case list reuse the files."""
    if not path.exists() and not path.is_symlink():
        path.write_bytes(content() if callable(content) else content)
    return path


# ---------------------------------------------------------------- arguments

BAD_NUMBERS = [0, -1, 2**64, 1e308, float("nan"), float("inf"), -float("inf"), 2.5,
               True, "3", None, (1, 2, 3), (0, 1), []]


def _whole(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _window(v) -> bool:
    """A window size or stride: a positive int (below 2**31) or two of them."""
    values = v if isinstance(v, tuple) else (v,)
    return (len(values) in (1, 2) and all(_whole(x) and 1 <= x < 2**31
                                          for x in values))


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


#: For each argument, which of BAD_NUMBERS are in fact allowed (Keras allows
#: them too): those must be accepted, every other one refused.
VALID = {
    "strides": _window, "dilation_rate": _window, "pool_size": _window,
    "pool strides": lambda v: v is None or _window(v),
    "count": lambda v: _whole(v) and 1 <= v < 2**31,
    "rate": lambda v: _number(v) and 0 <= v < 1,
    "learning_rate": lambda v: _number(v) and 0 < v <= 3.4e38,
    "epsilon": lambda v: _number(v) and 0 <= v <= 3.4e38,
}


def argument_cases(rng) -> list[Case]:
    """Ops, layers and optimizers called with absurd (and a few surprising but
    allowed) arguments."""
    from convsim import layers, ops, optimizers

    x = rng.random((1, 6, 6, 2), dtype=np.float32)
    k = rng.random((3, 3, 2, 4), dtype=np.float32)
    calls = [
        ("ops.conv strides", "strides", lambda v: ops.conv(x, k, strides=v)),
        ("ops.conv dilation_rate", "dilation_rate",
         lambda v: ops.conv(x, k, dilation_rate=v)),
        ("ops.max_pool pool_size", "pool_size", lambda v: ops.max_pool(x, v)),
        ("ops.average_pool strides", "pool strides",
         lambda v: ops.average_pool(x, 2, v)),
        ("Conv2D filters", "count", lambda v: layers.Conv2D(v, 3)),
        ("Dense units", "count", lambda v: layers.Dense(v)),
        ("Dropout rate", "rate", lambda v: layers.Dropout(v)),
        ("RMSprop learning_rate", "learning_rate",
         lambda v: optimizers.RMSprop(learning_rate=v)),
        ("Adam epsilon", "epsilon", lambda v: optimizers.Adam(epsilon=v)),
    ]
    cases = []
    for value in BAD_NUMBERS:
        for label, kind, call in calls:
            fits = VALID[kind](value)
            # a pooling window larger than the 6x6 input is refused too
            if kind == "pool_size" and fits:
                fits = max(value if isinstance(value, tuple) else (value,)) <= 6
            cases.append(Case(f"{label}={value!r}", "arguments",
                              ACCEPT if fits else REFUSE,
                              lambda c=call, v=value: c(v)))
    for name in ("smae", "full", "SAME ", "", 3):
        cases.append(Case(f"ops.conv padding={name!r}", "arguments", REFUSE,
                          lambda v=name: ops.conv(x, k, padding=v)))
    for name in ("rleu", "softmax2", "", 7):
        cases.append(Case(f"Dense(activation={name!r})", "arguments", REFUSE,
                          lambda v=name: layers.Dense(2, activation=v)))
    bad_arrays = [np.zeros((6, 6, 2)), np.zeros((1, 6, 6, 3)), np.zeros((0, 6, 6, 2)),
                  np.array([["a"]]), np.zeros((1, 1, 1, 2)),
                  np.full((1, 6, 6, 2), 1e39)]
    for i, a in enumerate(bad_arrays):
        cases.append(Case(f"ops.conv inputs #{i} shape={np.shape(a)}", "arguments",
                          EITHER, lambda a=a: ops.conv(a, k), _finite_or_inf))
    return cases


def _finite_or_inf(result) -> bool:
    """A result computed from finite inputs holds no NaN (inf may overflow)."""
    return not np.isnan(np.asarray(result, dtype=np.float64)).any()


def warp_cases(rng) -> list[Case]:
    """The augmentation's affine warp with absurd parameters (issue 15 item 1)."""
    from convsim.preprocessing.image import ImageDataGenerator, apply_affine_transform

    image = rng.random((24, 20, 3)).astype(np.float32)
    low, high = float(image.min()), float(image.max())

    def in_range(out) -> bool:
        out = np.asarray(out)
        return bool(np.all((out >= low - 1e-5) & (out <= high + 1e-5) | (out == 0)))

    values = [float("nan"), float("inf"), -float("inf"), 1e308, -1e308, 1e15, 1e6,
              0.0, 360.0, -7.5]
    cases = []
    for param in ("theta", "tx", "ty", "shear", "zx", "zy"):
        for value in values:
            for mode in ("nearest", "reflect", "wrap", "constant"):
                for order in (0, 1):
                    cases.append(Case(
                        f"apply_affine_transform {param}={value} {mode} order={order}",
                        "warp", EITHER,
                        lambda p=param, v=value, m=mode, o=order:
                            apply_affine_transform(image, **{p: v}, fill_mode=m,
                                                   order=o),
                        in_range))
    for arg in ("rotation_range", "width_shift_range", "height_shift_range",
                "shear_range", "zoom_range", "channel_shift_range"):
        for value in (float("nan"), float("inf"), 1.7e308, -1.0, [1e308, 1e308]):
            cases.append(Case(
                f"ImageDataGenerator({arg}={value!r})", "warp", EITHER,
                lambda a=arg, v=value: next(ImageDataGenerator(**{a: v}).flow(
                    image[None], batch_size=1, seed=0)),
                lambda out: bool(np.isfinite(np.asarray(out)).all())))
    return cases


def random_warp_cases(rng, count: int = 220) -> list[Case]:
    """Random warp parameters, ordinary and extreme, on a random image."""
    from convsim.preprocessing.image import apply_affine_transform

    image = rng.random((int(rng.integers(1, 40)), int(rng.integers(1, 40)),
                        int(rng.integers(1, 4)))).astype(np.float32)
    low, high = float(image.min()), float(image.max())
    pool = [0.0, 1.0, -1.0, 1e-300, 1e6, -1e6, 1e300, float("nan"), float("inf")]
    cases = []
    for i in range(count):
        values = {p: (float(rng.choice(pool)) if rng.random() < 0.3
                      else float(rng.normal(0, 30)))
                  for p in ("theta", "tx", "ty", "shear")}
        values.update({p: (float(rng.choice(pool)) if rng.random() < 0.3
                           else float(rng.uniform(0.2, 3)))
                       for p in ("zx", "zy")})
        mode = str(rng.choice(["nearest", "reflect", "wrap", "constant"]))
        order = int(rng.integers(0, 2))
        cases.append(Case(
            f"apply_affine_transform random {i} {values} {mode} order={order}",
            "warp", EITHER,
            lambda v=values, m=mode, o=order: apply_affine_transform(
                image, **v, fill_mode=m, order=o),
            lambda out: bool(np.all(((out >= low - 1e-5) & (out <= high + 1e-5))
                                    | (out == 0)))))
    return cases


# ---------------------------------------------------------------- labels

def label_cases(rng) -> list[Case]:
    """Losses and training given labels that make no sense (issue 15 item 8)."""
    from convsim import losses

    probs = np.full((2, 3), 1 / 3, np.float32)
    bad_sparse = [np.array([0, np.nan]), np.array([0, 2.7]), np.array([0, 3]),
                  np.array([-1, 0]), np.array(["a", "b"])]
    cases = [Case(f"sparse_categorical_crossentropy labels={b.tolist()}", "labels",
                  REFUSE, lambda b=b: losses.sparse_categorical_crossentropy(b, probs))
             for b in bad_sparse]
    bad_binary = [np.array([[2.0], [0.0]]), np.array([[np.nan], [1.0]]),
                  np.array([[-1.0], [1.0]])]
    cases += [Case(f"binary_crossentropy labels={b.ravel().tolist()}", "labels",
                   REFUSE, lambda b=b: losses.binary_crossentropy(
                       b, np.full((2, 1), 0.5, np.float32)))
              for b in bad_binary]
    bad_onehot = [np.array([[2.0, 0, 0], [0, 1, 0]]),
                  np.array([[-1.0, 1, 1], [0, 1, 0]]),
                  np.array([[np.nan, 0, 1], [0, 1, 0]])]
    cases += [Case(f"categorical_crossentropy labels={b.tolist()}", "labels", REFUSE,
                   lambda b=b: losses.categorical_crossentropy(b, probs))
              for b in bad_onehot]
    return cases


# ---------------------------------------------------------------- model files

def good_model_file(scratch: Path) -> Path:
    """A real small model file, saved once, that the hostile ones start from."""
    path = scratch / "good.convsim"
    if not path.exists():
        from convsim import layers, models

        model = models.Sequential([  # fixed weights: the same file every run
            layers.Conv2D(2, 3, activation="relu", input_shape=(8, 8, 1),
                          kernel_initializer="ones"),
            layers.Flatten(),
            layers.Dense(2, activation="softmax", kernel_initializer="ones")])
        model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
        model.save(path)
    return path


def model_file_cases(scratch: Path) -> list[Case]:
    """Hostile model files (issue 15 items 4 and 5)."""
    folder = scratch / "models"
    folder.mkdir(exist_ok=True)
    members = _members(good_model_file(scratch))
    config = json.loads(members["config.json"])
    weights = np.load(io.BytesIO(members["model.weights.npz"]))
    shapes = [weights[name].shape for name in weights.files]
    files = {f"config: {name}": _rezip({**members, "config.json": change})
             for name, change in _config_changes(config, scratch).items()}
    files.update({
        "config: 2 GB of spaces": lambda: _bomb_zip(members, "config.json", 2 * 2**30),
        "weights: 3 GB of zeros": lambda: _bomb_zip(members, "model.weights.npz",
                                                    3 * 2**30),
        "weights: pickled object array": _rezip({**members, "model.weights.npz": _npz(
            {"w0000": np.array([os.system], dtype=object)})}),
        "weights: complex": _rezip({**members, "model.weights.npz": _npz(
            {f"w{i:04d}": np.zeros(s, np.complex64) for i, s in enumerate(shapes)})}),
        "weights: strings": _rezip({**members, "model.weights.npz": _npz(
            {f"w{i:04d}": np.full(s, "1e39") for i, s in enumerate(shapes)})}),
        "weights: datetime64": _rezip({**members, "model.weights.npz": _npz(
            {f"w{i:04d}": np.zeros(s, "datetime64[s]")
             for i, s in enumerate(shapes)})}),
        "member ../escape": _rezip({**members, "../escape.txt": b"x"}),
        "a pickle named .convsim": pickle.dumps({"a": 1}),
        "empty file": b"",
        "HDF5 signature": b"\x89HDF\r\n\x1a\n" + bytes(100),
    })
    cases = [_load_case(name, _write_once(folder / f"{i:04d}.convsim", content))
             for i, (name, content) in enumerate(files.items())]
    fifo = folder / "fifo.convsim"
    if not fifo.exists():
        os.mkfifo(fifo)
    zero = folder / "zero.convsim"
    if not zero.is_symlink():
        zero.symlink_to("/dev/zero")
    from convsim import models

    cases.append(Case("load_model on a FIFO", "model files", REFUSE,
                      lambda: models.load_model(fifo)))
    cases.append(Case("load_model on a symlink to /dev/zero", "model files", REFUSE,
                      lambda: models.load_model(zero)))
    return cases


def flipped_model_files(rng, scratch: Path, folder: Path) -> list[Case]:
    """Random bit flips and truncations of a real model file."""
    data = good_model_file(scratch).read_bytes()
    cases = []
    for i in range(60):
        flipped = bytearray(data)
        for _ in range(int(rng.integers(1, 4))):
            flipped[int(rng.integers(len(flipped)))] ^= 1 << int(rng.integers(8))
        cut = data[:int(rng.integers(len(data)))]
        cases.append(_load_case(f"bit flip {i}", _write_once(
            folder / f"flip{i}.convsim", bytes(flipped))))
        cases.append(_load_case(f"truncated {i}", _write_once(
            folder / f"cut{i}.convsim", cut)))
    return cases


def _load_case(name: str, path: Path) -> Case:
    from convsim import models

    return Case(f"load_model {name}", "model files", EITHER,
                lambda: models.load_model(path), lambda m: hasattr(m, "predict"))


def _members(path) -> dict:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rezip(members) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _bomb_zip(members, name, size) -> bytes:
    """``members`` with ``name`` replaced by ``size`` bytes that compress to
    almost nothing (a zip bomb)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for other, content in members.items():
            if other != name:
                archive.writestr(other, content)
        with archive.open(name, "w", force_zip64=True) as member:
            chunk = b" " * 2**24
            for _ in range(size // len(chunk)):
                member.write(chunk)
    return buffer.getvalue()


def _npz(arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _config_changes(config, scratch: Path) -> dict:
    """Hostile variants of a model's config.json."""
    sentinel = str(scratch / SENTINEL)
    last = len(config["config"]["layers"]) - 1
    changes = {
        "a list": [1, 2, 3],
        "a string": "hello",
        "nested 200,000 deep": "[" * 200_000 + "]" * 200_000,
        "class os.system": _with_layer(config, 0, {"class_name": "os.system",
                                                   "config": {}}),
        "class __import__": _with_layer(config, 0, {"class_name": "__import__",
                                                    "config": {"name": "os"}}),
        "Lambda with code": _with_layer(config, 0, {
            "class_name": "Lambda",
            "config": {"function": f"open({sentinel!r}, 'w')"}}),
        "Dense(units=1e12)": _with_layer(config, last, {
            "class_name": "Dense", "config": {"units": 10**12, "name": "big"}}),
        "units as a string": _with_layer(config, last, {
            "class_name": "Dense", "config": {"units": "10", "name": "d"}}),
        "optimizer epsilon -1": _with_optimizer(config, epsilon=-1),
        "optimizer learning_rate nan": _with_optimizer(config, learning_rate=math.nan),
        "optimizer rho nan": _with_optimizer(config, beta_1=math.nan),
        "no layers": {**config, "config": {**config["config"], "layers": []}},
    }
    return {name: (c if isinstance(c, str) else json.dumps(c)).encode()
            for name, c in changes.items()}


def _with_layer(config, index, layer):
    new = json.loads(json.dumps(config))
    new["config"]["layers"][index] = layer
    return new


def _with_optimizer(config, **values):
    new = json.loads(json.dumps(config))
    new["compile_config"]["optimizer"]["config"].update(values)
    return new


# ---------------------------------------------------------------- IDX files

GOOD_IDX = (struct.pack(">HBB", 0, 8, 3) + struct.pack(">III", 4, 28, 28)
            + bytes(4 * 28 * 28))


def idx_cases(scratch: Path) -> list[Case]:
    """Lying MNIST IDX files (issue 15 items 4 and 7)."""
    folder = scratch / "idx"
    folder.mkdir(exist_ok=True)
    files = {
        "claims 4.2e9 labels, gzipped": lambda: gzip.compress(
            struct.pack(">HBB", 0, 8, 1) + struct.pack(">I", 4_200_000_000)
            + bytes(2**22)),
        "dims 65536^4": struct.pack(">HBB", 0, 8, 4) + struct.pack(">IIII",
                                                                    *[65536] * 4),
        "ndim 255": struct.pack(">HBB", 0, 8, 255) + bytes(1020),
        "unknown type code": struct.pack(">HBB", 0, 0x42, 1) + struct.pack(">I", 3),
        "not gzip but .gz": b"\x1f\x8b" + bytes(50),
        "empty": b"",
    }
    return [_idx_case(name, _write_once(folder / f"{i:04d}-idx.gz"
                                        if name.endswith(("gzipped", ".gz"))
                                        else folder / f"{i:04d}-idx", content))
            for i, (name, content) in enumerate(files.items())]


def flipped_idx_files(rng, folder: Path) -> list[Case]:
    cases = []
    for i in range(40):
        flipped = bytearray(GOOD_IDX)
        flipped[int(rng.integers(16))] ^= 1 << int(rng.integers(8))
        cases.append(_idx_case(f"header bit flip {i}", _write_once(
            folder / f"flip{i}-idx", bytes(flipped))))
        cases.append(_idx_case(f"truncated {i}", _write_once(
            folder / f"cut{i}-idx", GOOD_IDX[:int(rng.integers(len(GOOD_IDX)))])))
    return cases


def _idx_case(name: str, path: Path) -> Case:
    from convsim.datasets.idx import read_idx

    return Case(f"read_idx {name}", "IDX files", EITHER, lambda: read_idx(path),
                lambda a: isinstance(a, np.ndarray))


# ---------------------------------------------------------------- images

def good_jpeg(scratch: Path) -> bytes:
    path = scratch / "good.jpg"
    if not path.exists():
        from PIL import Image

        pixels = np.random.default_rng(0).integers(0, 256, (40, 30, 3), np.uint8)
        Image.fromarray(pixels).save(path, "JPEG")
    return path.read_bytes()


def image_cases(scratch: Path) -> list[Case]:
    """Photos that are not what they say (issue 15 items 4 and 6)."""
    from convsim.preprocessing.image import ImageDataGenerator, load_img

    folder = scratch / "images"
    folder.mkdir(exist_ok=True)
    jpeg = good_jpeg(scratch)
    files = {"truncated JPEG": jpeg[:len(jpeg) // 2], "empty": b"",
             "text named .jpg": b"not an image",
             "PNG header only": b"\x89PNG\r\n\x1a\n"}
    cases = [_image_case(name, _write_once(folder / f"{i:04d}.jpg", content))
             for i, (name, content) in enumerate(files.items())]
    special = {"fifo.jpg": os.mkfifo, "zero.jpg": lambda p: p.symlink_to("/dev/zero"),
               "folder.jpg": lambda p: p.mkdir()}
    for name, make in special.items():
        path = folder / name
        if not path.exists() and not path.is_symlink():
            make(path)
        cases.append(Case(f"load_img {name}", "images", REFUSE,
                          lambda p=path: load_img(p)))
    tree = folder / "tree"
    for cls in ("cats", "dogs"):
        (tree / cls).mkdir(parents=True, exist_ok=True)
        _write_once(tree / cls / "good.jpg", jpeg)
    _write_once(tree / "cats" / "broken.jpg", jpeg[:100])
    cases.append(Case(
        "flow_from_directory with a truncated photo", "images", EITHER,
        lambda: _every_batch(ImageDataGenerator().flow_from_directory(
            tree, target_size=(20, 20), batch_size=1, class_mode="binary")),
        lambda n: n == 2))
    return cases


def flipped_images(rng, scratch: Path, folder: Path) -> list[Case]:
    jpeg = good_jpeg(scratch)
    cases = []
    for i in range(30):
        flipped = bytearray(jpeg)
        flipped[int(rng.integers(len(flipped)))] ^= 0xFF
        cases.append(_image_case(f"JPEG byte flip {i}", _write_once(
            folder / f"flip{i}.jpg", bytes(flipped))))
    return cases


def _image_case(name: str, path: Path) -> Case:
    from convsim.preprocessing.image import load_img

    return Case(f"load_img {name}", "images", EITHER,
                lambda: load_img(path, target_size=(20, 20)),
                lambda img: img.size == (20, 20))


def _every_batch(iterator) -> int:
    """Draw one epoch of batches; the number of images seen."""
    return sum(len(next(iterator)[0]) for _ in range(len(iterator)))


# ---------------------------------------------------------------- histories

def history_cases(scratch: Path) -> list[Case]:
    """History files that the overfitting lesson and --resume read."""
    from convsim.training.history_file import load_history

    folder = scratch / "histories"
    folder.mkdir(exist_ok=True)
    documents = {"empty history": {"format": "convsim-history", "history": {}},
                 "a list": [1, 2], "loss as text": {"history": {"loss": "low"}},
                 "nested deep": "[" * 100_000 + "]" * 100_000, "not JSON": "{"}
    cases = []
    for name, document in documents.items():
        path = folder / f"{len(cases):04d}.history.json"
        path.write_text(document if isinstance(document, str) else json.dumps(document))
        cases.append(Case(f"load_history {name}", "history files", REFUSE,
                          lambda p=path: load_history(p)))
    return cases
