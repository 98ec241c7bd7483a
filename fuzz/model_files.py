"""Fuzz ``models.load_model`` by hand: hostile model files and random damage.

    python fuzz/model_files.py --minutes 5              # as long as you like
    python fuzz/model_files.py --minutes 1 --seed 7     # another random sequence

First every file of the hostile corpus (:func:`hostile_files`: pickled
arrays, class names naming modules, ``../`` member names, zip bombs, absurd
shapes, wrong dtypes, deep JSON, ...) is loaded in a fresh Python process of
its own, to measure its peak memory; then, until the time is up, worker
processes load random bit flips and truncations of a real small model file.
Each load ends in one of these outcomes:

* ``loaded``: the file made a model (a flip in a field nothing reads);
* ``clear``: a ``ModelFileError`` or ``MissingFileError`` saying what is wrong;
* ``unclear``: any other exception, a bug (the input is saved to look at);
* ``hang``: the load took longer than ``--timeout`` seconds;
* ``crash``: the process died (a segfault, the memory cap);
* ``code ran``: a sentinel file that only running the file's code creates
  appeared.

The report prints the inputs tried, the count of each outcome and of each
error class, the largest peak memory (RSS of the whole process, Python and
convsim included) and every input that was not ``loaded`` or ``clear`` (saved
in ``--out`` to look at). The same builders make the corpus of
``tests/api/test_hostile_model_files.py``, which runs a bounded version in CI;
other harnesses can take the corpus from :func:`hostile_files` and measure a
load with :func:`load_in_child`.
"""

from __future__ import annotations

import argparse
import copy
import io
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
import zlib
from collections import Counter
from pathlib import Path
from typing import NamedTuple

import numpy as np

MIB = 1 << 20
CLEAR_ERRORS = ("ModelFileError", "MissingFileError", "ModelFileTooLargeError")


# ------------------------------------------------------------ zip by hand
class RawMember(NamedTuple):
    """A ZIP member written byte by byte, so its header may lie: ``size`` is
    the uncompressed size it declares, whatever ``payload`` inflates to."""

    name: str
    payload: bytes  # as stored: deflated when method is 8
    size: int
    crc: int = 0
    method: int = zipfile.ZIP_DEFLATED
    flags: int = 0


def raw_zip(members: list[RawMember]) -> bytes:
    """A ZIP archive of ``members``, local headers, central directory and end
    record written with :mod:`struct` (no checks, no ZIP64)."""
    out, central = io.BytesIO(), io.BytesIO()
    for m in members:
        name = m.name.encode("utf-8")
        offset = out.tell()
        out.write(struct.pack("<4s5H3I2H", b"PK\x03\x04", 20, m.flags, m.method, 0,
                              0x21, m.crc, len(m.payload), m.size, len(name), 0))
        out.write(name + m.payload)
        central.write(struct.pack("<4s6H3I5H2I", b"PK\x01\x02", 20, 20, m.flags,
                                  m.method, 0, 0x21, m.crc, len(m.payload), m.size,
                                  len(name), 0, 0, 0, 0, 0, offset) + name)
    start = out.tell()
    out.write(central.getvalue())
    out.write(struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, len(members),
                          len(members), len(central.getvalue()), start, 0))
    return out.getvalue()


def deflate(data: bytes) -> bytes:
    """Raw deflate, as inside a ZIP member."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    return comp.compress(data) + comp.flush()


def deflated_member(name: str, data: bytes) -> RawMember:
    return RawMember(name, deflate(data), len(data), zlib.crc32(data))


def bomb(head: bytes, size: int, fill: bytes = b"\0", tail: bytes = b"",
         crc: bool = True) -> tuple[bytes, int, int]:
    """``(deflated, crc32, length)`` of ``head + fill * size + tail``, made in
    milliseconds per gigabyte: after a full flush a deflate stream starts
    afresh, so one compressed MiB of ``fill`` is simply repeated. Skip the CRC
    (``crc=False``, 0.3 s per GiB) when the reader must stop long before it."""
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = fill * MIB
    parts = [comp.compress(head) + comp.flush(zlib.Z_FULL_FLUSH)]
    unit = comp.compress(block) + comp.flush(zlib.Z_FULL_FLUSH)
    blocks, rest = divmod(size, MIB)
    parts += [unit] * blocks
    parts.append(comp.compress(fill * rest + tail) + comp.flush())
    check = 0
    if crc:
        check = zlib.crc32(head)
        for _ in range(blocks):
            check = zlib.crc32(block, check)
        check = zlib.crc32(fill * rest + tail, check)
    return b"".join(parts), check, len(head) + size + len(tail)


def npy_header(shape, descr="<f4", fortran_order=False) -> bytes:
    """An NPY 1.0 header claiming any shape and dtype description."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": descr, "fortran_order": fortran_order,
                 "shape": tuple(shape)})
    return buffer.getvalue()


def npz(arrays: dict[str, bytes]) -> bytes:
    """An NPZ (a ZIP of ``NAME.npy`` members) holding these NPY files."""
    return raw_zip([deflated_member(f"{k}.npy", v) for k, v in arrays.items()])


def npy_of(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=array.dtype.kind == "O")
    return buffer.getvalue()


class _OpensAFile:
    """Unpickling this calls ``open(path, 'w')``: code from the file ran."""

    def __init__(self, path):
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def pickled_npy(sentinel) -> bytes:
    """An NPY of an object array; unpickling it creates ``sentinel``."""
    array = np.empty(1, dtype=object)
    array[0] = _OpensAFile(sentinel)
    return npy_of(array)


# ------------------------------------------------------------ a real model file
def real_model_file(optimizer="adam") -> bytes:
    """A small trained model (conv, pool, flatten, dropout, dense) with its
    optimizer state, saved by convsim: the file mutations start from."""
    from convsim import layers, models
    from convsim.layers.graph import fresh_names
    from convsim.utils import set_random_seed

    set_random_seed(3)
    with fresh_names():  # conv2d, dense, ... whatever ran before
        model = models.Sequential([
            layers.Conv2D(2, 3, activation="relu", input_shape=(6, 6, 1)),
            layers.MaxPooling2D(2), layers.Flatten(), layers.Dropout(0.5),
            layers.Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["acc"])
    x = np.random.default_rng(0).normal(size=(4, 6, 6, 1)).astype(np.float32)
    model.fit(x, np.arange(4) % 3, epochs=1, batch_size=4, verbose=0)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "real.convsim"
        model.save(path)
        return path.read_bytes()


def members_of(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in members.items():
            archive.writestr(name, value)
    return buffer.getvalue()


def with_members(data: bytes, **changes: bytes) -> bytes:
    """``data`` with some members replaced (``model_weights_npz=...`` names
    ``model.weights.npz``: dots become underscores)."""
    members = members_of(data)
    for key, value in changes.items():
        name = next((n for n in members if n.replace(".", "_") == key), key)
        members[name] = value
    return rezip(members)


def with_config(data: bytes, change) -> bytes:
    """``data`` with ``config.json`` replaced by ``change(config)``."""
    config = json.loads(members_of(data)["config.json"])
    return with_members(data, config_json=json.dumps(change(config)).encode())


# ------------------------------------------------------------ the corpus
def _set(path, value):
    """A function setting ``config[path[0]][path[1]]... = value``."""
    def change(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        return config
    return change


def _weights_npz(data: bytes, **arrays: bytes) -> bytes:
    """The real file with some weight arrays (NPY bytes) replaced."""
    members = members_of(members_of(data)["model.weights.npz"])
    members.update({f"{k}.npy": v for k, v in arrays.items()})
    return with_members(data, model_weights_npz=rezip(members))


def _optimizer_npz(data: bytes, **arrays: bytes) -> bytes:
    members = members_of(members_of(data)["optimizer.npz"])
    members.update({f"{k.replace('__', '/')}.npy": v for k, v in arrays.items()})
    return with_members(data, optimizer_npz=rezip(members))


def _array_bomb(data: bytes, gib: float, lie: bool) -> bytes:
    """Weights whose first array is ``gib`` GiB of zeros, deflated twice."""
    size = int(gib * (1 << 30)) // 4 * 4
    head = npy_header((size // 4,))
    payload, _, length = bomb(head, size, crc=False)
    inner = raw_zip([RawMember("w0000.npy", payload, 1000 if lie else length)])
    return with_members(data, model_weights_npz=inner)


def _config_bomb(data: bytes, gib: float, lie: bool) -> bytes:
    """``config.json`` padded with ``gib`` GiB of spaces (valid JSON)."""
    members = members_of(data)
    payload, crc, length = bomb(members["config.json"], int(gib * (1 << 30)),
                                fill=b" ", crc=not lie)
    entries = [deflated_member(n, v) for n, v in members.items() if n != "config.json"]
    entries.append(RawMember("config.json", payload, 1000 if lie else length, crc))
    return raw_zip(entries)


def _deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _functional_file() -> bytes:
    from convsim import layers, models
    from convsim.layers.graph import fresh_names

    with fresh_names():
        inputs = layers.Input(shape=(4, 4, 1))
        hidden = layers.Conv2D(2, 3)(inputs)
        model = models.Model(inputs, layers.Dense(2)(layers.Flatten()(hidden)))
    with tempfile.TemporaryDirectory() as folder:
        model.save(Path(folder) / "f.convsim")
        return (Path(folder) / "f.convsim").read_bytes()


def hostile_files(sentinel) -> dict[str, bytes]:
    """Hostile and broken model files by name. Loading any of them must give a
    clear error; none may create ``sentinel`` (run code) or use more than a few
    hundred MB. Built in about a second."""
    real = real_model_file()
    functional = _functional_file()
    command = f"touch {sentinel}"
    layer0 = ("config", "layers", 0, "config")
    return {
        # code: pickles, names of modules and functions, paths out of the archive
        "pickled weights": _weights_npz(real, w0000=pickled_npy(sentinel)),
        "pickled optimizer state": _optimizer_npz(real, iterations=pickled_npy(
            sentinel)),
        "model class os.system": with_config(real, _set(("class_name",),
                                                         "os.system")),
        "layer classes naming functions": with_config(real, lambda c: {
            **c, "config": {**c["config"], "layers": [
                {"class_name": "os.system", "config": {"command": command}},
                {"module": "builtins", "class_name": "eval",
                 "registered_name": "eval", "config": {"source": command}},
                *c["config"]["layers"][2:]]}}),
        "optimizer class subprocess.getoutput": with_config(real, _set(
            ("compile_config", "optimizer"),
            {"class_name": "subprocess.getoutput", "config": {"cmd": command}})),
        "loss class os.remove": with_config(real, _set(
            ("compile_config", "loss"),
            {"class_name": "os.remove", "config": {"path": str(sentinel)}})),
        "member ../escape": rezip({**members_of(real), "../escape.txt": b"x"}),
        "member /absolute": rezip({**members_of(real), "/tmp/absolute.txt": b"x"}),
        "duplicate config.json": raw_zip(
            [deflated_member(n, v) for n, v in members_of(real).items()]
            + [deflated_member("config.json", b"{}")]),
        # bombs
        "config bomb 2 GiB": _config_bomb(real, 2, lie=False),
        "config bomb 2 GiB declared 1 KB": _config_bomb(real, 2, lie=True),
        "array bomb 3 GiB": _array_bomb(real, 3, lie=False),
        "array bomb 3 GiB declared 1 KB": _array_bomb(real, 3, lie=True),
        "65,535 members": raw_zip([RawMember(f"{i}", b"", 0, method=0)
                                   for i in range(65_535)]),
        "encrypted member": raw_zip([RawMember(n, deflate(v), len(v),
                                               zlib.crc32(v), flags=1)
                                     for n, v in members_of(real).items()]),
        "lzma member": raw_zip([RawMember(n, v, len(v), zlib.crc32(v), method=14)
                                for n, v in members_of(real).items()]),
        # absurd shapes and sizes
        "npy shape 10^12 x 10^12": _weights_npz(real, w0000=npy_header(
            (10**12, 10**12))),
        "npy shape overflowing int64": _weights_npz(real, w0000=npy_header(
            (2**40, 2**40, 2**40))),
        "npy negative shape": _weights_npz(real, w0000=npy_header((-1, 3))),
        "npy header 1 MB": _weights_npz(real, w0000=b"\x93NUMPY\x01\x00\xff\xff"
                                        + b" " * MIB),
        "Dense(units=10**12)": with_config(real, _set(
            ("config", "layers", 4, "config", "units"), 10**12)),
        "Dense(units=1e12)": with_config(real, _set(
            ("config", "layers", 4, "config", "units"), 1e12)),
        "Conv2D(filters=2**40)": with_config(real, _set(
            (*layer0, "filters"), 2**40)),
        "input shape 10^9 x 10^9": with_config(real, _set(
            ("config", "build_input_shape"), [None, 10**9, 10**9, 1])),
        "input shape Infinity": with_config(real, _set(
            ("config", "build_input_shape"), [None, float("inf"), 6, 1])),
        # JSON of the wrong kind
        "config a list": with_members(real, config_json=b"[1, 2]"),
        "config a string": with_members(real, config_json=b'"model"'),
        "config a number": with_members(real, config_json=b"42"),
        "config null": with_members(real, config_json=b"null"),
        "model config a list": with_config(real, _set(("config",), [1, 2])),
        "layer config a string": with_config(real, _set(layer0, "conv")),
        "layers a dict": with_config(real, _set(("config", "layers"), {"a": 1})),
        "layers a number": with_config(real, _set(("config", "layers"), 3)),
        "JSON nested 200,000 deep": with_members(real, config_json=_deep_json(
            200_000)),
        "layer config nested 500 deep": with_config(real, _set(
            (*layer0, "name"), json.loads(_deep_json(500)))),
        "JSON not UTF-8": with_members(real, config_json=b'{"a": "\xff"}'),
        "JSON 10^5000": with_members(real, config_json=b"1" * 5000),
        # values the constructors must refuse
        "optimizer epsilon -1": with_config(real, _set(
            ("compile_config", "optimizer", "config", "epsilon"), -1)),
        "optimizer beta_1 NaN": with_config(real, _set(
            ("compile_config", "optimizer", "config", "beta_1"), float("nan"))),
        "optimizer decay -1": with_config(real, _set(
            ("compile_config", "optimizer", "config", "decay"), -1)),
        "optimizer learning_rate Infinity": with_config(real, _set(
            ("compile_config", "optimizer", "config", "learning_rate"),
            float("inf"))),
        "optimizer amsgrad 'false'": with_config(real, _set(
            ("compile_config", "optimizer", "config", "amsgrad"), "false")),
        "metrics a dict": with_config(real, _set(
            ("compile_config", "metrics"), {"a": 1})),
        "padding 'full'": with_config(real, _set((*layer0, "padding"), "full")),
        "unknown layer argument": with_config(real, _set((*layer0, "evil"), 1)),
        "trainable 'false'": with_config(real, _set((*layer0, "trainable"), "false")),
        # weights of the wrong kind
        "complex weights": _weights_npz(real, w0000=npy_of(
            np.ones((3, 3, 1, 2), np.complex64) * 1j)),
        "string weights '1e39'": _weights_npz(real, w0000=npy_of(
            np.full((3, 3, 1, 2), "1e39"))),
        "datetime64 weights": _weights_npz(real, w0000=npy_of(
            np.zeros((3, 3, 1, 2), "datetime64[s]"))),
        "structured weights": _weights_npz(real, w0000=npy_of(
            np.zeros((3, 3, 1, 2), [("a", "<f4")]))),
        "float64 weights 1e39": _weights_npz(real, w0000=npy_of(
            np.full((3, 3, 1, 2), 1e39))),
        "30 MB of zeros in a small file": _weights_npz(real, w0000=npy_of(
            np.zeros(7_864_320, np.float32))),
        "weights of the wrong shape": _weights_npz(real, w0000=npy_of(
            np.zeros((3, 3, 1, 5), np.float32))),
        "a weight missing": with_members(real, model_weights_npz=rezip(
            {k: v for k, v in members_of(members_of(real)["model.weights.npz"])
             .items() if k != "w0003.npy"})),
        "weight data shorter than its header": _weights_npz(real, w0000=npy_header(
            (3, 3, 1, 2)) + b"\0" * 8),
        "optimizer iterations -5": _optimizer_npz(real, iterations=npy_of(
            np.asarray(-5, np.int64))),
        "optimizer velocity -1": _optimizer_npz(real, velocity__0=npy_of(
            -np.ones((3, 3, 1, 2), np.float32))),
        "random state of another generator": with_members(
            real, metadata_json=json.dumps({"format": "convsim-model",
                                            "rng_states": {"shuffle": {
                                                "bit_generator": "MT19937",
                                                "state": 5}}}).encode()),
        # functional graphs pointing nowhere
        "functional node layer 99": _functional_with(functional, "nodes", 0, 0, 99),
        "functional node source 7": _functional_with(functional, "nodes", 1, 1, 7),
        "functional node source -2": _functional_with(functional, "nodes", 0, 1, -2),
        "functional output 9": _functional_with(functional, "outputs", 0, None, 9),
        "functional first layer not an Input": with_config(functional, lambda c: {
            **c, "config": {**c["config"], "layers": c["config"]["layers"][1:]}}),
        # not model files
        "empty file": b"",
        "text file": b"hello, this is not a model",
        "HDF5 file": b"\x89HDF\r\n\x1a\n" + b"\0" * 64,
        # a Keras-like config.json without Keras's model.weights.h5: not
        # Keras's by its content, so convsim's own reader refuses it (real
        # Keras archives are fuzz/keras_files.py's)
        "a Keras .keras archive": rezip({"config.json": json.dumps(
            {"module": "keras", "class_name": "Sequential"}).encode(),
            "metadata.json": b"{}"}),
        "truncated to half": real[: len(real) // 2],
        "config keys missing": with_config(real, lambda c: {"format": c["format"]}),
    }


def _functional_with(data, key, index, inner, value) -> bytes:
    def change(config):
        target = config["config"][key]
        if inner is None:
            target[index] = value
        else:
            target[index][inner] = value
        return config
    return with_config(data, change)


# ------------------------------------------------------------ running loads
_CHILD = r"""
import json, resource, sys, time
start = time.perf_counter()
try:
    from convsim import models
    models.load_model(sys.argv[1])
    result = {"outcome": "loaded"}
except Exception as err:
    result = {"outcome": "error", "error": type(err).__name__,
              "message": str(err)[:400]}
result["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
result["seconds"] = time.perf_counter() - start
print(json.dumps(result))
"""


def load_in_child(path, timeout: float = 120.0, memory_cap_mb: int = 8192) -> dict:
    """Load ``path`` in a fresh Python; its outcome, peak RSS (MB) and time.

    The child's address space is capped at ``memory_cap_mb`` (``ulimit -v``)
    so that a file that does eat memory fails there instead of on this machine.
    It is started by a small shell that forks it: Linux carries a process's
    peak RSS (``ru_maxrss``) across ``exec``, so a child started directly by a
    large process (pytest) would report that process's size as its own."""
    command = ['/bin/sh', '-c', f'ulimit -v {memory_cap_mb * 1024}; "$0" "$@"; '
               'exit $?', sys.executable, "-c", _CHILD, str(path)]
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, start_new_session=True)
    try:
        out, err = child.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        child.communicate()
        return {"outcome": "hang", "seconds": timeout}
    if child.returncode != 0 or not out.strip():
        return {"outcome": "crash", "returncode": child.returncode,
                "message": err[-400:]}
    return classify(json.loads(out.strip().splitlines()[-1]))


def classify(result: dict) -> dict:
    """``error`` outcomes become ``clear`` or ``unclear``."""
    if result["outcome"] == "error":
        result["outcome"] = ("clear" if result["error"] in CLEAR_ERRORS
                             else "unclear")
    return result


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """Random damage: 1 to 8 flipped bits, a truncation, or both."""
    out = bytearray(data)
    what = []
    if rng.random() < 0.8:
        for _ in range(rng.randint(1, 8)):
            bit = rng.randrange(len(out) * 8)
            out[bit // 8] ^= 1 << (bit % 8)
            what.append(f"flip bit {bit}")
    if rng.random() < 0.3 or not what:
        cut = rng.randrange(len(out))
        del out[cut:]
        what.append(f"cut at {cut}")
    return bytes(out), ", ".join(what)


#: What :func:`mutate_json` puts in place of any value of a model file's JSON.
NONSENSE = (None, True, False, 0, -1, 1, 2, 3, 2**31, 2**63, 10**30, -10**30, 1e308,
            float("nan"), float("inf"), -0.0, 0.5, 1e-300, "", "x", "relu", "same",
            "false", "../../etc", "a" * 1000, [], [None], [1, 2, 3], [3, 3],
            [None, 6, 6, 1], [None, 0, 0, 1], [[[]]], {}, {"class_name": "Dense"},
            {"class_name": "Dense", "config": {}})


def _positions(value, path=()):
    """Every position in a JSON value, as a path of keys and indices."""
    yield path
    items = (value.items() if isinstance(value, dict) else
             enumerate(value) if isinstance(value, list) else ())
    for key, child in items:
        yield from _positions(child, (*path, key))


def mutate_json(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """``data`` (a real model file) with 1 to 3 values of its ``config.json``
    or ``metadata.json`` replaced by nonsense (:data:`NONSENSE`): the file's
    CRCs are right, so only convsim's own checks can find what is wrong."""
    members = members_of(data)
    name = rng.choice(["config.json", "metadata.json"])
    document = json.loads(members[name])
    what = []
    for _ in range(rng.randint(1, 3)):
        by_depth: dict[int, list] = {}
        for position in list(_positions(document))[1:]:
            by_depth.setdefault(len(position), []).append(position)
        if not by_depth:
            break
        # a depth first, then a position: the few structural values near the
        # top ('layers', 'config') are hit as often as the many leaves
        path = rng.choice(by_depth[rng.choice(sorted(by_depth))])
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = copy.deepcopy(rng.choice(NONSENSE))
        what.append(f"{name}:{'/'.join(map(str, path))} = {node[path[-1]]!r:.40}")
    members[name] = json.dumps(document).encode()
    return rezip(members), "; ".join(what)


def exercise(model) -> None:
    """Use a model that loaded: predict, and one training step if compiled
    (a file's nonsense must not surface later as a raw error)."""
    shape = [2, *(8 if n is None else n for n in model.input.shape[1:])]
    if np.prod(shape, dtype=float) > 1e6:
        return
    x = np.zeros(shape, np.float32)
    outputs = model.predict(x, verbose=0)
    if model.compiled and model.loss is not None and not isinstance(outputs, list):
        sparse = "sparse" in type(model.loss).__name__.lower()
        y = np.zeros(2, np.int64) if sparse else np.zeros_like(outputs)
        model.fit(x, y, epochs=1, batch_size=2, verbose=0)


def _worker(seed: int, seconds: float, timeout: float) -> None:
    """Load damaged real model files (random bits, or nonsense in the JSON)
    in this process for ``seconds``, and use those that load; one JSON line
    per input on stdout (the parent survives our crash)."""
    import resource

    from convsim import models
    from convsim.errors import ConvsimError, MissingFileError, ModelFileError

    class Hang(BaseException):
        """Raised by the alarm; a BaseException so no ``except Exception``
        in convsim swallows it."""

    def alarm(*_):
        raise Hang

    signal.signal(signal.SIGALRM, alarm)
    rng = random.Random(seed)
    sources = [real_model_file("adam"), real_model_file("rmsprop"),
               _functional_file()]
    end = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as folder:
        sentinel, path = Path(folder) / "sentinel", Path(folder) / "m.convsim"
        while time.monotonic() < end:
            damage = mutate if rng.random() < 0.5 else mutate_json
            data, what = damage(rng.choice(sources), rng)
            path.write_bytes(data)
            result, model = {"input": what}, None
            signal.alarm(int(timeout))
            try:
                model = models.load_model(path)
                result["outcome"] = "loaded"
                exercise(model)
            except Hang:
                result["outcome"] = "hang"
            except Exception as err:  # loading: a model file error; using: any of ours
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


class Tally:
    """Counts of outcomes and error classes, and the largest peak memory."""

    def __init__(self):
        self.outcomes: Counter = Counter()
        self.errors: Counter = Counter()
        self.peak_mb = 0.0

    def add(self, result: dict) -> None:
        self.outcomes[result["outcome"]] += 1
        if "error" in result:
            self.errors[result["error"]] += 1
        self.peak_mb = max(self.peak_mb, result.get("peak_mb", 0.0))

    def bad(self) -> int:
        return sum(v for k, v in self.outcomes.items() if k not in ("clear", "loaded"))

    def report(self) -> str:
        return (f"{sum(self.outcomes.values()):,} inputs tried: "
                + ", ".join(f"{k} {v:,}" for k, v in self.outcomes.most_common())
                + "\nerrors: " + ", ".join(f"{k} {v:,}"
                                           for k, v in self.errors.most_common())
                + f"\nlargest peak memory: {self.peak_mb:.0f} MB (RSS of the whole "
                "process, ~100 MB of it Python, NumPy and convsim)")


def run_corpus(out: Path, timeout: float, memory_mb: int, tally: Tally) -> None:
    """Each hostile file loaded once, in a fresh process of its own."""
    sentinel = out / "sentinel"
    sentinel.unlink(missing_ok=True)
    for name, data in hostile_files(sentinel).items():
        path = out / "input.convsim"
        path.write_bytes(data)
        result = load_in_child(path, timeout, memory_mb)
        if sentinel.exists():
            result["outcome"] = "code ran"
            sentinel.unlink()
        tally.add(result)
        print(f"{result['outcome']:8} {result.get('peak_mb', 0):4.0f} MB "
              f"{result.get('seconds', 0):5.2f} s  {name}: "
              f"{result.get('error', '')} {result.get('message', '')[:120]}",
              flush=True)
        if result["outcome"] not in ("clear", "loaded"):
            (out / f"corpus-{name.replace('/', '_')}.convsim").write_bytes(data)


def run_mutations(end: float, seed: int, timeout: float, memory_mb: int, out: Path,
                  tally: Tally, script: str = __file__,
                  suffix: str = ".convsim") -> None:
    """Workers (``script --worker``) loading damaged real files until ``end``
    (a monotonic time), a new worker (and seed) each minute or after a
    crash; inputs not refused clearly are kept in ``out`` with ``suffix``.

    A load stuck in C code (HDF5 did, on a damaged Keras file) cannot be
    stopped by the worker's own alarm, so the harness kills a worker that
    outlives its time and counts a hang."""
    while time.monotonic() < end - 5:
        seed += 1
        seconds = min(60.0, end - time.monotonic())
        worker = subprocess.Popen(
            ["/bin/sh", "-c", f'ulimit -v {memory_mb * 1024}; "$0" "$@"; exit $?',
             sys.executable, script, "--worker", str(seed), "--seconds",
             str(seconds), "--timeout", str(timeout)],
            stdout=subprocess.PIPE, text=True)
        stuck = threading.Event()
        killer = threading.Timer(seconds + timeout + 30,
                                 lambda s=stuck, w=worker: (s.set(), w.kill()))
        killer.start()
        last = None
        for line in worker.stdout:
            last = result = classify(json.loads(line))
            tally.add(result)
            if result["outcome"] not in ("clear", "loaded"):
                print(f"{result['outcome']}: {result['input']}: "
                      f"{result.get('error')} {result.get('message')}", flush=True)
                number = sum(tally.outcomes.values())
                (out / f"mutation-{number}{suffix}").write_bytes(
                    bytes.fromhex(result.pop("hex")))
        killer.cancel()
        if stuck.is_set():
            tally.add({"outcome": "hang"})
            print(f"hang: the worker (seed {seed}) was stuck after "
                  f"{last and last['input']}", flush=True)
        elif worker.wait() != 0:
            tally.add({"outcome": "crash"})
            print(f"crash: the worker (seed {seed}) exited with {worker.returncode} "
                  f"after {last and last['input']}", flush=True)
        print(f"{sum(tally.outcomes.values()):,} inputs so far", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds before a load counts as a hang")
    parser.add_argument("--memory-mb", type=int, default=2048,
                        help="address-space cap of each process loading files")
    parser.add_argument("--out", type=Path, default=Path("fuzz-model-files"),
                        help="where inputs that were not refused clearly go")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(args.worker, args.seconds, args.timeout)
        return 0
    end = time.monotonic() + 60 * args.minutes
    args.out.mkdir(parents=True, exist_ok=True)
    tally = Tally()
    run_corpus(args.out, args.timeout, args.memory_mb, tally)
    run_mutations(end, args.seed, args.timeout, args.memory_mb, args.out, tally)
    print("\n" + tally.report())
    return 1 if tally.bad() else 0


if __name__ == "__main__":
    sys.exit(main())
