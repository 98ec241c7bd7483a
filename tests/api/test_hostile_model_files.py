"""Hostile and broken model files: refused with a clear error, no code run,
little memory used (issue 15: nothing a learner loads can crash convsim, hang
it or eat their memory).

The corpus is generated here, never committed as files, by
``fuzz/model_files.py`` (which also runs the same checks for as long as you
like, by hand): pickled arrays, class names naming modules and functions,
``../`` member names, zip bombs in the config and in an array, absurd shapes,
JSON of the wrong kind or nested 200,000 deep, wrong dtypes, bad optimizer
values, functional graphs pointing nowhere, truncated and bit-flipped files.
"""

from __future__ import annotations

import importlib.util
import io
import random
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convsim import layers, models
from convsim.errors import (
    ArgumentError,
    MissingFileError,
    ModelFileError,
    ModelFileTooLargeError,
)
from convsim.files.limits import MIB, inflation_budget

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("model_files",
                                               ROOT / "fuzz" / "model_files.py")
fuzz = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fuzz)

_ALLOWED = ("reads arrays of float16/32/64, int8 to int64 or uint8 to uint64 "
            r"\(complex numbers, text, dates, records and Python objects are "
            "refused: objects need pickle, which can run code\\)")
_OUTSIDE = "convsim reads archives whose members have plain relative names"
_BUILD = "holds an architecture convsim cannot build: "
_COMPILE = "holds compile settings or an optimizer state convsim cannot use: "
_NOT_ZIP = (r"is not a convsim model file \(it should be a ZIP archive written by "
            r"model.save\(\)\)")

#: Every file of the corpus: the exact error class and what its message says.
EXPECTED = {
    "pickled weights": (ModelFileError, "w0000.npy holds values of dtype 'object'; "
                        "convsim " + _ALLOWED),
    "pickled optimizer state": (ModelFileError, "optimizer.npz: iterations.npy holds "
                                "values of dtype 'object'"),
    "model class os.system": (ModelFileError, "holds a model of class 'os.system'; "
                              "convsim re-creates 'Sequential' and 'Functional' "
                              r"models only \(no name in a model file is ever "
                              r"imported or run\)"),
    "layer classes naming functions": (
        ModelFileError, r"needs what convsim does not have: layer class 'os.system' "
        r"\(layer 0\); layer class 'eval' \(layer 1\). convsim has the layers "
        r"\['Activation', .*'Rescaling'\] and the optimizers \['Adam', 'RMSprop', "
        r"'SGD'\]; no name in a model file is ever imported or run"),
    "optimizer class subprocess.getoutput": (
        ModelFileError, "needs what convsim does not have: optimizer class "
        "'subprocess.getoutput'. convsim has the layers"),
    "loss class os.remove": (ModelFileError, _COMPILE + "Could not interpret loss "
                             r"identifier: \{'class_name': 'os.remove'"),
    "member ../escape": (ModelFileError, r"is damaged or hostile: its member "
                         r"'../escape.txt' names a path outside the archive; "
                         + _OUTSIDE),
    "member /absolute": (ModelFileError, "its member '/tmp/absolute.txt' names a "
                         "path outside the archive"),
    "duplicate config.json": (ModelFileError, "its member 'config.json' appears "
                              "twice; " + _OUTSIDE),
    "config bomb 2 GiB": (ModelFileTooLargeError, r"config.json says it holds "
                          r"2,147,486,\d+ bytes \(from 2,1\d\d,\d+ compressed, "
                          r"1,0\d\d:1\); convsim reads at most 1,048,576 bytes"),
    "config bomb 2 GiB declared 1 KB": (ModelFileError, r"is damaged: reading "
                                        r"config.json failed \(BadZipFile: Bad "
                                        r"CRC-32 for file 'config.json'\)"),
    "array bomb 3 GiB": (ModelFileTooLargeError, r"w0000.npy \(shape \(805306368,\) "
                         r"of float32\) needs 3,221,225,472 bytes, but reading this "
                         r"file may inflate or allocate only 67,108,864 bytes in "
                         r"all \([\d,]+ left\)"),
    "array bomb 3 GiB declared 1 KB": (ModelFileError, r"w0000.npy is damaged: its "
                                       r"NPY header cannot be read \(BadZipFile: "
                                       "Bad CRC-32"),
    "65,535 members": (ModelFileTooLargeError, r"lists 65,535 members in a table of "
                       r"contents of 3,331,175 bytes; convsim reads archives of at "
                       r"most 4,096 members and 1,048,576 bytes of contents"),
    "encrypted member": (ModelFileError, "its member 'README.txt' is encrypted"),
    "lzma member": (ModelFileError, "its member 'README.txt' uses compression "
                    "method 14; " + _OUTSIDE),
    "npy shape 10^12 x 10^12": (ModelFileError, r"w0000.npy is damaged or hostile: "
                                r"its header describes shape \(1000000000000, "
                                r"1000000000000\) of float32, 4,000,000,000,000,"
                                r"000,000,000,000 bytes of values, but the member "
                                r"holds 0 bytes after it"),
    "npy shape overflowing int64": (ModelFileError, r"shape \(1099511627776, "
                                    r"1099511627776, 1099511627776\) of float32, "
                                    r"5,316,911,983,139,663,491,615,228,241,121,378,"
                                    "304 bytes"),
    "npy negative shape": (ModelFileError, r"its NPY header gives the shape \(-1, "
                           r"3\); convsim reads arrays of at most 8 non-negative"),
    "npy header 1 MB": (ModelFileError, r"w0000.npy is damaged: its NPY header "
                        r"cannot be read \(ValueError: Header info length"),
    "Dense(units=10**12)": (ModelFileError, _BUILD + r"Layer 'dense' \(Dense\): "
                            "`units` must be a positive integer at most "
                            "2147483647"),
    "Dense(units=1e12)": (ModelFileError, _BUILD + r"Layer 'dense' \(Dense\): "
                          r"`units` must be a positive integer. Received: "
                          r"units=1000000000000.0"),
    "Conv2D(filters=2**40)": (ModelFileError, _BUILD + r"Layer 'conv2d' \(Conv2D\): "
                              "`filters` must be a positive integer at most"),
    "input shape 10^9 x 10^9": (ModelFileError, _BUILD + "`input_shape` must be a "
                                r"tuple \(batch, ...\) of non-negative integers or "
                                "None, each at most 2147483647"),
    "input shape Infinity": (ModelFileError, _BUILD + "`batch_shape` must be a tuple "
                             r"of positive integers \(or None\). Received: "
                             r"batch_shape=\(inf, 6, 1\)"),
    "config a list": (ModelFileError, r"is damaged or is not a convsim model file: "
                      r"config.json is a list \(\[1, 2\]\); expected an object"),
    "config a string": (ModelFileError, r"config.json is a string \('model'\); "
                        "expected an object"),
    "config a number": (ModelFileError, r"config.json is an integer \(42\); "
                        "expected an object"),
    "config null": (ModelFileError, r"config.json is null \(None\); expected an "
                    "object"),
    "model config a list": (ModelFileError, r"config.json's 'config' is a list "
                            r"\(\[1, 2\]\); expected an object"),
    "layer config a string": (ModelFileError, _BUILD + r"A layer \(Conv2D\): The "
                              "config of a Conv2D must be a dict of its arguments. "
                              "Received: config='conv'"),
    "layers a dict": (ModelFileError, _BUILD + "`layers` in the config of a "
                      r"Sequential model must be a list. Received: layers=\{'a': 1\}"),
    "layers a number": (ModelFileError, _BUILD + "`layers` in the config of a "
                        "Sequential model must be a list. Received: layers=3"),
    "JSON nested 200,000 deep": (ModelFileError, "config.json is damaged or hostile: "
                                 "its JSON nests 200,000 levels deep; convsim "
                                 "reads at most 100"),
    "layer config nested 500 deep": (ModelFileError, "its JSON nests 505 levels "
                                     "deep; convsim reads at most 100"),
    "JSON not UTF-8": (ModelFileError, r"config.json is damaged: it is not valid "
                       r"JSON \(UnicodeDecodeError"),
    "JSON 10^5000": (ModelFileError, r"config.json is damaged: it is not valid JSON "
                     r"\(ValueError: Exceeds the limit \(4300 digits\)"),
    "optimizer epsilon -1": (ModelFileError, _COMPILE + "`epsilon` must be a finite "
                             r"number in \[0, 3.4e\+38\]. Received: epsilon=-1 "
                             r"\(load_model\(path, compile=False\) loads the model "
                             r"without them\)"),
    "optimizer beta_1 NaN": (ModelFileError, _COMPILE + "`beta_1` must be a finite "
                             r"number in \[0, 1\). Received: beta_1=nan"),
    "optimizer decay -1": (ModelFileError, _COMPILE + "`decay` must be a finite "
                           "number >= 0. Received: decay=-1"),
    "optimizer learning_rate Infinity": (ModelFileError, _COMPILE + "`learning_rate` "
                                         r"must be a finite number in \(0, 3.4e\+38\]. "
                                         "Received: learning_rate=inf"),
    "optimizer amsgrad 'false'": (ModelFileError, _COMPILE + "`amsgrad` must be True "
                                  "or False. Received: amsgrad='false'"),
    "metrics a dict": (ModelFileError, r"the compile settings' 'metrics' is an "
                       r"object \(\{'a': 1\}\); expected a list"),
    "padding 'full'": (ModelFileError, _BUILD + r"Layer 'conv2d' \(Conv2D\): "
                       r"`padding` must be one of \{'valid', 'same'\}. Received: "
                       r"padding='full'"),
    "unknown layer argument": (ModelFileError, _BUILD + r"Layer 'conv2d' \(Conv2D\): "
                               r"Unrecognized keyword arguments passed to Conv2D: "
                               r"\{'evil': 1\}"),
    "trainable 'false'": (ModelFileError, _BUILD + r"Layer 'conv2d' \(Conv2D\): "
                          "`trainable` must be True or False. Received: "
                          "trainable='false'"),
    "complex weights": (ModelFileError, "w0000.npy holds values of dtype "
                        "'complex64'; convsim " + _ALLOWED),
    "string weights '1e39'": (ModelFileError, "w0000.npy holds values of dtype "
                              "'<U4'"),
    "datetime64 weights": (ModelFileError, r"holds values of dtype 'datetime64\[s\]'"),
    "structured weights": (ModelFileError, r"""holds values of dtype "\[\('a', """),
    "float64 weights 1e39": (ModelFileError, r"Weight 'conv2d/kernel' in .* holds "
                             r"1e\+39, beyond float32's range \(3.4e38\): convsim "
                             "would make it infinite"),
    "30 MB of zeros in a small file": (ModelFileError, r"Weight 'conv2d/kernel' in .* "
                                       r"has shape \(7864320,\), expected "
                                       r"\(3, 3, 1, 2\)"),
    "weights of the wrong shape": (ModelFileError, r"has shape \(3, 3, 1, 5\), "
                                   r"expected \(3, 3, 1, 2\)"),
    "a weight missing": (ModelFileError, _BUILD + "Layer 'dense' cannot create its "
                         r"weight 'bias': shape \(3,\) needs 3 values, but .* holds "
                         "only 0 more: its architecture and its weights do not "
                         "match"),
    "weight data shorter than its header": (
        ModelFileError, r"its header describes shape \(3, 3, 1, 2\) of float32, 72 "
        "bytes of values, but the member holds 8 bytes after it"),
    "optimizer iterations -5": (ModelFileError, _COMPILE + "The optimizer state's "
                                "`iterations` must be an integer >= 0"),
    "optimizer velocity -1": (ModelFileError, _COMPILE + "Optimizer state "
                              "'velocity/0' is a running mean of squared gradients "
                              "but holds -1"),
    "random state of another generator": (ModelFileError, r"is damaged: its random "
                                          r"generators' states cannot be used "
                                          r"\(ValueError: state must be for a "
                                          "PCG64 RNG"),
    "functional node layer 99": (ModelFileError, _BUILD + "Node 0 of a functional "
                                 "model's config calls layer 99; it can call layers "
                                 r"1 to 3 \(layer 0 is the input\)"),
    "functional node source 7": (ModelFileError, _BUILD + "Node 1 of a functional "
                                 "model's config takes the output of node 7; it "
                                 r"can take -1 \(the model's input\) or node 0"),
    "functional node source -2": (ModelFileError, "Node 0 of a functional model's "
                                  "config takes the output of node -2; it can take "
                                  r"-1 \(the model's input\) or no earlier node"),
    "functional output 9": (ModelFileError, _BUILD + "The `outputs` of a functional "
                            "model's config must be a non-empty list of node "
                            r"indices, each -1 \(the input\) to 2. Received: "
                            r"outputs=\[9\]"),
    "functional first layer not an Input": (ModelFileError, _BUILD + "The first layer "
                                            "of a functional model's config must be "
                                            "its InputLayer"),
    "empty file": (ModelFileError, _NOT_ZIP),
    "text file": (ModelFileError, _NOT_ZIP),
    "HDF5 file": (ModelFileError, r"is an HDF5 file \(probably saved by Keras\)"),
    "a Keras .keras archive": (ModelFileError, r"is a ZIP archive but not a convsim "
                               r"model file \(config.json or model.weights.npz "
                               r"missing\)"),
    # The weights are stored uncompressed, and model.weights.npz is itself a
    # ZIP archive: half a file can end just after the npz's own directory,
    # which zipfile then finds. Either way it is refused as not a model file.
    "truncated to half": (ModelFileError, _NOT_ZIP + "|is a ZIP archive but not a "
                          r"convsim model file \(config.json or model.weights.npz "
                          r"missing\)"),
    "config keys missing": (ModelFileError, "config.json's 'format_version' is null "
                            r"\(None\); expected an integer"),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """``({name: path}, sentinel)``: the corpus written to a folder, and the
    file that would appear if any of it ran code."""
    folder = tmp_path_factory.mktemp("hostile")
    sentinel = folder / "sentinel"
    files = {}
    for i, (name, data) in enumerate(fuzz.hostile_files(sentinel).items()):
        files[name] = folder / f"{i:02d}.convsim"
        files[name].write_bytes(data)
    return files, sentinel


def test_every_file_of_the_corpus_has_an_expected_error(corpus):
    assert sorted(corpus[0]) == sorted(EXPECTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_hostile_model_file_is_refused_clearly_and_runs_no_code(corpus, name):
    files, sentinel = corpus
    kind, message = EXPECTED[name]
    with pytest.raises(kind, match=message) as info:
        models.load_model(files[name])
    assert info.type is kind
    assert not sentinel.exists()


@pytest.mark.parametrize("name", ["pickled weights", "array bomb 3 GiB",
                                  "npy shape overflowing int64", "complex weights",
                                  "member ../escape", "65,535 members"])
def test_load_weights_refuses_the_same_files(corpus, name):
    """``model.load_weights`` reads a whole model file's weights as safely."""
    files, sentinel = corpus
    model = models.Sequential([layers.Dense(2, input_shape=(3,))])
    with pytest.raises(ModelFileError) as info:
        model.load_weights(files[name])
    assert info.type is EXPECTED[name][0]
    assert not sentinel.exists()


def test_a_config_asking_more_weights_than_the_file_holds_allocates_nothing(
        tmp_path):
    """``Dense(units=10**8)`` passes the 2**31 - 1 limit (1.8e9 numbers, 7 GB)
    but the file holds 21 weights: refused before any layer allocates."""
    path = tmp_path / "m.convsim"
    models.Sequential([layers.Dense(3, input_shape=(6,), name="hidden")]).save(path)
    data = fuzz.with_config(path.read_bytes(), fuzz._set(
        ("config", "layers", 0, "config", "units"), 10**8))
    path.write_bytes(data)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=_BUILD + r"Layer 'hidden' cannot "
                           r"create its weight 'kernel': shape \(6, 100000000\) "
                           r"needs 600,000,000 values, but .* holds only 21 more"):
            models.load_model(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * MIB


def test_add_weight_refuses_an_absurd_weight_before_allocating():
    """For you as for a file: NumPy's "Unable to allocate 3.64 TiB" never."""
    layer = layers.Dense(10**9)
    with pytest.raises(ArgumentError, match=r"Layer 'dense(_\d+)?' cannot create its "
                       r"weight 'kernel': A weight of shape \(1000, 1000000000\) "
                       r"would hold 1,000,000,000,000 numbers"):
        layer.build((None, 1000))
    assert layer.weights == []


def zip64_end(data: bytes, members: int | None = None) -> bytes:
    """The same archive ending with a ZIP64 end record, as archives of more
    than 65,535 members or 4 GiB have (claiming ``members`` if given)."""
    at = data.rfind(b"PK\x05\x06")
    _, _, _, _, count, size, offset, _ = struct.unpack("<4s4H2IH", data[at:at + 22])
    count = count if members is None else members
    record = struct.pack("<4sQ2H2I4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, count, count,
                         size, offset)
    locator = struct.pack("<4sIQI", b"PK\x06\x07", 0, at, 1)
    end = struct.pack("<4s4H2IH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                      0xFFFFFFFF, 0)
    return data[:at] + record + locator + end


def test_a_zip64_end_record_is_read_and_its_claims_checked(tmp_path):
    data = fuzz.real_model_file()
    path = tmp_path / "zip64.convsim"
    path.write_bytes(zip64_end(data))
    with zipfile.ZipFile(path) as archive:  # a valid ZIP64 archive
        assert len(archive.namelist()) == 5
    assert models.load_model(path).count_params() == 47
    path.write_bytes(zip64_end(data, members=10**9))
    with pytest.raises(ModelFileTooLargeError, match=r"lists 1,000,000,000 members "
                       r"in a table of contents of \d+ bytes; convsim reads "
                       "archives of at most 4,096 members"):
        models.load_model(path)


# ------------------------------------------------------------ random damage
@pytest.fixture(scope="module")
def real_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("damaged")
    return ([fuzz.real_model_file("adam"), fuzz.real_model_file("rmsprop"),
             fuzz._functional_file()], folder)


@settings(max_examples=max(150, settings().max_examples),
          suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 2), flips=st.lists(st.integers(0, 10**9), max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_bit_flips_and_truncations_give_only_model_file_errors(real_files, which,
                                                               flips, cut):
    """Random damage to real model files (Adam, RMSprop, functional): the file
    loads, or the error is a ModelFileError (or MissingFileError), never a
    raw zlib.error, IndexError or RecursionError; no code runs."""
    sources, folder = real_files
    data = bytearray(sources[which])
    for bit in flips:
        bit %= len(data) * 8
        data[bit // 8] ^= 1 << (bit % 8)
    if cut is not None:
        del data[int(cut * len(data)):]
    path, sentinel = folder / "damaged.convsim", folder / "sentinel"
    path.write_bytes(bytes(data))
    try:
        models.load_model(path)
    except (ModelFileError, MissingFileError):
        pass
    assert not sentinel.exists()


@settings(max_examples=max(150, settings().max_examples),
          suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))
def test_nonsense_in_the_json_gives_only_model_file_errors(real_files, which, seed):
    """1 to 3 values of config.json or metadata.json replaced by nonsense
    (NaN, 2**63, '../../etc', [], {"class_name": "Dense"}, ...): the CRCs are
    right, so only convsim's own checks stand between them and a raw error."""
    sources, folder = real_files
    data, what = fuzz.mutate_json(sources[which], random.Random(seed))
    path, sentinel = folder / "nonsense.convsim", folder / "sentinel"
    path.write_bytes(data)
    try:
        models.load_model(path)
    except (ModelFileError, MissingFileError):
        pass
    assert not sentinel.exists()


# ------------------------------------------------------------ memory
@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("name", [
    "config bomb 2 GiB", "config bomb 2 GiB declared 1 KB", "array bomb 3 GiB",
    "array bomb 3 GiB declared 1 KB", "65,535 members", "JSON nested 200,000 deep",
    "30 MB of zeros in a small file"])
def test_a_small_hostile_file_costs_little_memory_before_it_is_refused(corpus, name):
    """Measured in a fresh Python (peak RSS of the whole process, ~100 MB of it
    Python, NumPy and convsim): far under 500 MB, where these files cost up to
    4.2 GB before."""
    files, _ = corpus
    assert files[name].stat().st_size < 10 * MIB
    result = fuzz.load_in_child(files[name], timeout=120, memory_cap_mb=2048)
    assert (result["outcome"], result["error"]) == (
        "clear", EXPECTED[name][0].__name__), result
    assert result["peak_mb"] < 500, result


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_largest_model_a_10_mb_file_may_hold_loads_under_500_mb(tmp_path):
    """A file just under 10 MB that uses its budget (100 MB) as fully as a
    real model can: a 23 MB Dense kernel, 45% of it noise, RMSprop's state."""
    model = models.Sequential([layers.Dense(2400, input_shape=(2400,))])
    model.compile("rmsprop", "mse")
    model.fit(np.ones((1, 2400), np.float32), np.ones((1, 2400), np.float32),
              verbose=0)
    kernel = np.zeros((2400, 2400), np.float32)
    kernel[:1080] = np.random.default_rng(0).normal(size=(1080, 2400))
    model.set_weights([kernel, np.zeros(2400, np.float32)])
    path = tmp_path / "big.convsim"
    model.save(path)
    members = fuzz.members_of(path.read_bytes())
    state = fuzz.members_of(members["optimizer.npz"])
    state["velocity/0.npy"] = fuzz.npy_of(np.zeros((2400, 2400), np.float32))
    members["optimizer.npz"] = fuzz.rezip(state)
    path.write_bytes(fuzz.rezip(members))
    size = path.stat().st_size
    assert 9 * MIB < size < 10 * MIB
    assert inflation_budget(size) > 4 * kernel.nbytes  # it does load
    result = fuzz.load_in_child(path, timeout=120, memory_cap_mb=2048)
    assert result["outcome"] == "loaded", result
    assert result["peak_mb"] < 500, result


def test_what_a_real_model_file_needs_is_within_its_budget(tmp_path):
    """The ratio rule leaves real files room: a trained model's file needs
    about 2 to 4 times its size (arrays counted as member and as array)."""
    data = fuzz.real_model_file("adam")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        needed = sum(i.file_size for i in archive.infolist())
        for name in ("model.weights.npz", "optimizer.npz"):
            with zipfile.ZipFile(io.BytesIO(archive.read(name))) as npz:
                needed += sum(i.file_size for i in npz.infolist())
    assert needed < inflation_budget(len(data))
