"""Hostile and broken Keras files (``.keras`` and ``.h5``): refused with a
``convsim.errors`` error, or loaded leaving out what they name with a note;
no code run, little memory used (issue 12, item 1 and "Done when").

The corpus is generated here by ``fuzz/keras_files.py`` (never committed as
files), starting from small files written by convsim's Keras writer: Lambda
layers holding real bytecode that would create a sentinel file, configs
naming modules and functions, custom objects, absurd shapes and dtypes in
the HDF5, datasets whose shape disagrees with the architecture, external
and soft links, external and virtual datasets, foreign filters, zip bombs in
``config.json`` and ``model.weights.h5``, deep JSON, graphs pointing nowhere,
truncated and bit-flipped files. Needs h5py.
"""

from __future__ import annotations

import importlib.util
import io
import random
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from convsim import models
from convsim.errors import MissingFileError, ModelFileError, ModelFileTooLargeError
from convsim.files.limits import MIB

pytest.importorskip("h5py", reason="Keras files need h5py (pip install "
                    "'convsim[keras]')")

ROOT = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location("keras_files",
                                               ROOT / "fuzz" / "keras_files.py")
fuzz = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(fuzz)

_NEEDS = "needs what convsim does not have: "
_READS = (r"convsim reads Keras Sequential and functional models with one input, "
          r"made of the layers \['Activation', 'AveragePooling2D', 'Conv2D', "
          r"'Dense', 'Dropout', 'Flatten', 'InputLayer', 'MaxPooling2D', "
          r"'Rescaling'\], in "
          r"float32 and channels_last, without regularizers or constraints; no "
          r"name in a model file is ever imported or run")
_CODE = (r"it holds Python code \(bytecode or a function's name\), which convsim "
         r"never runs")
_W = r": model.weights.h5"
_STORED = (r"; convsim reads datasets stored in the file itself, uncompressed or "
           r"with gzip and shuffle only \(filter codes 1 and 2\)")
_KERNEL = r"'/layers/conv2d/vars/0'"
_DAMAGED = "is damaged or is not a Keras model file: "
_BUILD = "holds an architecture convsim cannot build: "

#: Every refused file of the corpus: the exact error class and its message.
EXPECTED = {
    "Lambda with bytecode (.keras)": (ModelFileError, _NEEDS + r"layer 1 'lambda' "
                                      r"\(Lambda\): " + _CODE + r"\. " + _READS),
    "Lambda with bytecode (.h5)": (ModelFileError, _NEEDS + r"layer 1 'lambda' "
                                   r"\(Lambda\): " + _CODE),
    "TFOpLambda (.h5)": (ModelFileError, r"layer 1 'tf.math.add' \(TFOpLambda\): "
                         + _CODE),
    "layer class os.system": (ModelFileError, _NEEDS + r"layer 1 'x' \(system\): "
                              r"module 'os' \(a custom class, not Keras's\)\. "),
    "Dense from module evil": (ModelFileError, r"layer 5 'dense' \(Dense\): module "
                               r"'evil' \(a custom class, not Keras's\)"),
    "Dense registered as builtins>eval": (ModelFileError, r"layer 5 'dense' "
                                          r"\(Dense\): registered name "
                                          r"'builtins>eval' \(a custom object\)"),
    "custom object MyPackage>MyLayer": (ModelFileError, r"layer 6 'mine' "
                                        r"\(MyLayer\): module '__main__' \(a "
                                        r"custom class, not Keras's\)"),
    "activation os.system": (ModelFileError, r"layer 1 'conv2d' \(Conv2D\): "
                             r"activation \{'module': 'os', 'class_name': "
                             r"'function', .*which convsim does not have \(it has "
                             r"linear, relu, sigmoid, softmax, tanh\)"),
    "nested model": (ModelFileError, r"layer 6 'inner' \(Sequential\): a nested "
                     r"model \(convsim does not nest models\)"),
    "model class os.system": (ModelFileError, _NEEDS + r"model class 'os.system'\. "
                              + _READS),
    "Sequential from module evil": (ModelFileError, r"model class 'Sequential' with "
                                    r"module 'evil' \(a custom class"),
    "every unsupported item at once": (ModelFileError, _NEEDS + (
        r"layer 1 'conv2d' \(Conv2D\): kernel_regularizer=\{'class_name': 'L2', "
        r"'config': \{'l2': 0.01\}\} \(convsim has no kernel_regularizer\); "
        r"layer 1 'conv2d' \(Conv2D\): groups=2 \(convsim has only groups=1\); "
        r"layer 1 'conv2d' \(Conv2D\): data_format='channels_first' \(convsim has "
        r"only data_format='channels_last'\); layer 2 'batch_normalization' "
        r"\(BatchNormalization\): a layer class convsim does not have; layer 3 "
        r"'lambda' \(Lambda\): " + _CODE + r"; layer 7 'dense' \(Dense\): dtype "
        r"'mixed_float16' \(convsim computes in float32\); layer 7 'dense' "
        r"\(Dense\): lora_rank=4, which convsim cannot honour\. " + _READS)),
    "dataset 10^6 x 10^6 (gzip, nothing stored)": (
        ModelFileError, _W + r": weight 'conv2d/kernel' \(" + _KERNEL + r"\) has "
        r"shape \(1000000, 1000000\), but the architecture needs \(3, 3, 1, 2\)"),
    "dataset in chunks of 256 MiB": (ModelFileError, _W + r" is damaged or "
                                     r"hostile: " + _KERNEL + r" \(72 bytes\) is "
                                     r"stored in chunks of 268,435,456 bytes; "
                                     r"convsim reads chunks of at most the "
                                     r"dataset's size or 4,194,304 bytes"),
    "complex weights": (ModelFileError, _W + ": " + _KERNEL + r" holds values of "
                        r"dtype 'complex64'; convsim reads floats of 1 to 8 bytes"),
    "string weights": (ModelFileError, _KERNEL + r" holds values of dtype '\|S4'"),
    "integer weights": (ModelFileError, _KERNEL + r" holds values of dtype 'int32'"),
    "weights of the wrong shape": (ModelFileError, r"weight 'conv2d/kernel' \("
                                   + _KERNEL + r"\) has shape \(3, 3, 1, 5\), but "
                                   r"the architecture needs \(3, 3, 1, 2\)"),
    "float64 weights 1e39": (ModelFileError, r"Weight 'conv2d/kernel' in .* holds "
                             r"1e\+39, beyond float32's range \(3.4e38\)"),
    "external link": (ModelFileError, _W + r" is hostile or unusual: " + _KERNEL
                      + r" is an ExternalLink; convsim follows only hard links "
                      r"\(an external link opens another file, a soft link may "
                      r"loop\)"),
    "soft link": (ModelFileError, _KERNEL + r" is a SoftLink; convsim follows only "
                  r"hard links"),
    "external storage": (ModelFileError, _KERNEL + r" keeps its values in external "
                         r"files" + _STORED),
    "virtual dataset": (ModelFileError, _KERNEL + r" is a virtual dataset \(its "
                        r"values live in other files\)" + _STORED),
    "lzf filter": (ModelFileError, _KERNEL + r" is filtered by HDF5 filter "
                   r"\[32000\]" + _STORED),
    "weights of a layer the architecture lacks": (
        ModelFileError, _W + r" holds weights for \['dense_7'\], which the "
        r"architecture does not have"),
    "a weight missing": (ModelFileError, _BUILD + r"Layer 'dense' cannot create "
                         r"its weight 'bias': shape \(3,\) needs 3 values, but .* "
                         r"holds only 0 more"),
    "variables numbered 0 and 5": (ModelFileError, _W + r" is damaged: "
                                   r"'/layers/dense/vars' holds \['0', '5'\]; Keras "
                                   r"numbers a layer's variables 0, 1, \.\.\."),
    "optimizer step count a float": (ModelFileError, r"'/optimizer/vars/0' holds "
                                     r"values of dtype 'float32'; convsim reads "
                                     r"integers of 1 to 8 bytes"),
    "optimizer velocity -1": (ModelFileError, r"holds an optimizer state convsim "
                              r"cannot use: .*Optimizer state 'velocity/0' is a "
                              r"running mean of squared gradients but holds -1.*"
                              r"\(load_model\(path, compile=False\) loads the "
                              r"model without it\)"),
    "Keras npz weights (pickled)": (ModelFileError, r"keeps its weights in "
                                    r"model.weights.npz, Keras's NumPy variant, "
                                    r"which stores each layer's weights as a pickled "
                                    r"dict; convsim never unpickles"),
    "h5 without model_config": (ModelFileError, r"is an HDF5 file without a "
                                r"model_config: a weights-only file"),
    "h5 model_config of 2 MiB": (ModelFileError, r"is damaged or hostile: its "
                                 r"attribute 'model_config' holds 2,097,154 bytes; "
                                 r"convsim reads at most 1,048,576"),
    "h5 model_config not JSON": (ModelFileError, r": model_config is damaged: it is "
                                 r"not valid JSON \(JSONDecodeError"),
    "h5 model_config nested 200,000 deep": (ModelFileError, r": model_config is "
                                            r"damaged or hostile: its JSON nests "
                                            r"200,000 levels deep"),
    "h5 model_config a number": (ModelFileError, _DAMAGED + r"its model config is "
                                 r"42, not \{'class_name'"),
    "h5 layer_names of 5,000 names": (ModelFileError, r"its attribute 'layer_names' "
                                      r"lists 5,000 names; convsim reads at most "
                                      r"4,096"),
    "h5 weight_names outside the file": (ModelFileError, r"is damaged: "
                                         r"'/model_weights/conv2d' lists the weight "
                                         r"'/../../etc/passwd' but holds no dataset "
                                         r"there"),
    "h5 one layer's weights missing": (ModelFileError, _BUILD + r"Layer 'dense' "
                                       r"cannot create its weight 'kernel'"),
    "h5 written by Keras 1": (ModelFileError, r"was written by Keras 1 "
                              r"\(keras_version '1.2.2'\), which stored kernels "
                              r"differently; convsim reads files of Keras 2 and 3"),
    "h5 weights of the model itself": (ModelFileError, r"holds weights of the model "
                                       r"itself \(top_level_model_weights\)"),
    "two inputs": (ModelFileError, _NEEDS + r"the model takes 2 inputs \(convsim "
                   r"models take one\)"),
    "a layer called on two tensors": (ModelFileError, _NEEDS + r"layer 'act' is "
                                      r"called on 2 tensors \(convsim layers take "
                                      r"one\)"),
    "a layer called with training=True": (ModelFileError, r"layer 'act' is called "
                                          r"with arguments \{'training': True\} "
                                          r"\(convsim passes none\)"),
    "a layer reading a ghost": (ModelFileError, _DAMAGED + r"layer 'act' reads "
                                r"'ghost', which is not one of its layers"),
    "a loop": (ModelFileError, _DAMAGED + r"the calls of \['act', 'conv', 'flat', "
               r"'out'\] read calls that never happen"),
    "an output no layer makes": (ModelFileError, _DAMAGED + r"its output \['out', "
                                 r"3\] is no layer call of the model"),
    "Dense(units=10**12)": (ModelFileError, _BUILD + r"Layer 'dense' \(Dense\): "
                            r"`units` must be a positive integer at most "
                            "2147483647"),
    "Dense(units=10**8) in a small file": (
        ModelFileError, _BUILD + r"Layer 'dense' cannot create its weight 'kernel': "
        r"shape \(8, 100000000\) needs 800,000,000 values, but .* holds only 27 "
        "more"),
    "config.json bomb 2 GiB": (ModelFileTooLargeError, r"config.json says it holds "
                               r"2,147,48\d,\d+ bytes \(from [\d,]+ compressed, "
                               r"1,0\d\d:1\); convsim reads at most 1,048,576"),
    "model.weights.h5 bomb 3 GiB": (ModelFileTooLargeError, r"model.weights.h5 "
                                    r"needs 3,221,225,480 bytes, but reading this "
                                    r"file may inflate or allocate only 67,108,864 "
                                    r"bytes in all"),
    "model.weights.h5 bomb declared 1 KB": (ModelFileError, r"is damaged: reading "
                                            r"model.weights.h5 failed \(BadZipFile"),
    "config.json nested 200,000 deep": (ModelFileError, r"config.json is damaged or "
                                        r"hostile: its JSON nests 200,000 levels"),
    "config.json a list": (ModelFileError, _DAMAGED + r"its model config is "
                           r"\[1, 2\], not"),
    "config.json without layers": (ModelFileError, _DAMAGED + r"its 'layers' is "
                                   r"None, not a list of layers"),
    "model.weights.h5 not HDF5": (ModelFileError, _W + r" is an HDF5 file "
                                  r"\(probably saved by Keras\), but HDF5 cannot "
                                  r"open it: it is damaged"),
    "truncated .keras": (ModelFileError, r"is not a convsim model file \(it should "
                         r"be a ZIP archive written by model.save\(\)\). Nor is it "
                         r"a whole Keras .keras file, which is a ZIP archive too: "
                         r"it is damaged or cut short"),
    "truncated .h5": (ModelFileError, r"is an HDF5 file \(probably saved by "
                      r"Keras\), but HDF5 cannot open it: it is damaged \(OSError: "
                      r".*truncated file"),
    "HDF5 signature then zeros": (ModelFileError, r"is an HDF5 file \(probably "
                                  r"saved by Keras\), but HDF5 cannot open it"),
}

#: The files that load: what they name is left out, and a note says so.
NOTES = {
    "optimizer subprocess.getoutput": r"its compile settings hold the optimizer "
    r"'getoutput' with module 'subprocess' \(a custom class, not Keras's\) "
    r"\(convsim has Adam, RMSprop, SGD\), which convsim cannot honour: the model is "
    r"loaded uncompiled \(compile it before fit\)",
    "loss os.remove": r"its compile settings hold the loss 'remove' with module "
    r"'os' \(a custom class, not Keras's\) \(convsim has binary_crossentropy, "
    r".*\), which convsim cannot honour: the model is loaded uncompiled",
    "loss function named eval": r"its compile settings hold the loss 'eval' "
    r"\(convsim has binary_crossentropy, .*\), which convsim cannot honour",
    "metric builtins.eval": r"the metrics \[.*'builtins'.*\] are not ones convsim "
    r"has \(it has accuracy, acc, .*\): left out",
    "initializer from module posix": r"layer 1 'conv2d' \(Conv2D\): "
    r"kernel_initializer 'system' is not one convsim has; 'glorot_uniform' stands "
    r"in \(it only makes new weights: the file's weights are loaded\)",
    "optimizer epsilon -1": r"its compile settings hold the optimizer Adam "
    r"\(`epsilon` must be a finite number in \[0, 3.4e\+38\]. Received: "
    r"epsilon=-1\), which convsim cannot honour: the model is loaded uncompiled",
    "optimizer state of another shape": r"its optimizer state does not fit Adam "
    r"for this model \(array 3 has shape \(7,\), where convsim keeps velocity/0 of "
    r"shape \(3, 3, 1, 2\)\): the optimizer starts afresh",
    "h5 Lambda in the training_config loss": r"its compile settings hold the loss "
    r"'Lambda' \(convsim has",
}
#: ... and whether each keeps its compile settings.
STILL_COMPILED = ("metric builtins.eval", "initializer from module posix",
                  "optimizer state of another shape")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """``({name: path}, sentinel)``: the corpus on disk, named ``.keras`` or
    ``.h5`` as a learner would have them, and the file that would appear if
    any of it ran code."""
    folder = tmp_path_factory.mktemp("hostile-keras")
    sentinel = folder / "sentinel"
    files = {}
    for i, (name, data) in enumerate(fuzz.hostile_files(sentinel).items()):
        files[name] = folder / f"{i:02d}{'.h5' if 'h5' in name else '.keras'}"
        files[name].write_bytes(data)
    return files, sentinel


def test_every_file_of_the_corpus_is_expected(corpus):
    assert sorted(corpus[0]) == sorted([*EXPECTED, *NOTES])
    assert sorted(NOTES) == sorted(fuzz.NOTED)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_a_hostile_keras_file_is_refused_clearly_and_runs_no_code(corpus, name):
    files, sentinel = corpus
    kind, message = EXPECTED[name]
    with pytest.raises(kind, match=message) as info:
        models.load_model(files[name])
    assert info.type is kind
    assert not sentinel.exists()


@pytest.mark.parametrize("name", list(NOTES))
def test_what_convsim_cannot_use_is_left_out_with_a_note(corpus, name):
    files, sentinel = corpus
    out = io.StringIO()
    model = models.load_model(files[name], console=Console(file=out, width=2000))
    assert len(model.load_notes) == 1
    assert re.match(NOTES[name], model.load_notes[0]), model.load_notes
    printed = out.getvalue().strip()
    assert printed == f"Note: {str(files[name])!r}: {model.load_notes[0]}."
    assert (model.optimizer is not None) == (name in STILL_COMPILED)
    assert not sentinel.exists()


def test_the_lambda_bytecode_is_real(tmp_path):
    """The corpus's Lambda would create the sentinel if Keras (or anyone)
    ran it: the refusal above proves something."""
    import base64
    import marshal
    import types

    sentinel = tmp_path / "sentinel"
    code = marshal.loads(base64.b64decode(fuzz.lambda_bytecode(sentinel)))
    types.FunctionType(code, {"open": open})(None).close()
    assert sentinel.exists()


# ------------------------------------------------------------ random damage
@pytest.fixture(scope="module")
def real_files(tmp_path_factory):
    return list(fuzz.real_files().items()), tmp_path_factory.mktemp("damaged")


@settings(max_examples=max(100, settings().max_examples),
          suppress_health_check=[HealthCheck.too_slow])
@given(which=st.integers(0, 3), flips=st.lists(st.integers(0, 10**9), max_size=8),
       cut=st.one_of(st.none(), st.floats(0, 1)))
def test_bit_flips_and_truncations_give_only_model_file_errors(real_files, which,
                                                               flips, cut):
    """Random damage to real Keras files (Sequential and functional, ``.keras``
    and ``.h5``): the file loads, or the error is a ModelFileError, never a
    raw error from h5py, zipfile or JSON; no code runs. (Thousands of these in
    child processes, by ``fuzz/keras_files.py``, never crashed HDF5.)"""
    sources, folder = real_files
    name, data = sources[which]
    data = bytearray(data)
    for bit in flips:
        bit %= len(data) * 8
        data[bit // 8] ^= 1 << (bit % 8)
    if cut is not None:
        del data[int(cut * len(data)):]
    path, sentinel = folder / name, folder / "sentinel"
    path.write_bytes(bytes(data))
    try:
        models.load_model(path, console=Console(file=io.StringIO()))
    except (ModelFileError, MissingFileError):
        pass
    assert not sentinel.exists()


@settings(max_examples=max(100, settings().max_examples),
          suppress_health_check=[HealthCheck.too_slow])
@given(which=st.sampled_from([0, 2]), seed=st.integers(0, 2**32 - 1))
def test_nonsense_in_the_config_gives_only_model_file_errors(real_files, which, seed):
    """1 to 3 values of a ``.keras``'s config.json or metadata.json replaced by
    nonsense (NaN, 2**63, '../../etc', {"class_name": "Dense"}, ...): a model,
    or a ModelFileError."""
    sources, folder = real_files
    name, data = sources[which]
    data, _ = fuzz.model_files.mutate_json(data, random.Random(seed))
    path = folder / name
    path.write_bytes(data)
    try:
        models.load_model(path, console=Console(file=io.StringIO()))
    except ModelFileError:
        pass


# ------------------------------------------------------------ memory
@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize("name", [
    "config.json bomb 2 GiB", "model.weights.h5 bomb 3 GiB",
    "model.weights.h5 bomb declared 1 KB", "dataset 10^6 x 10^6 (gzip, nothing stored)",
    "dataset in chunks of 256 MiB", "h5 model_config of 2 MiB",
    "h5 model_config nested 200,000 deep", "Dense(units=10**8) in a small file"])
def test_a_small_hostile_keras_file_costs_little_memory(corpus, name):
    """Peak RSS of a fresh Python loading it (~100 MB of that is Python,
    NumPy, h5py and convsim): far under 500 MB, measured at 99 to 122 MB."""
    files, _ = corpus
    assert files[name].stat().st_size < 10 * MIB
    result = fuzz.load_in_child(files[name], timeout=120, memory_cap_mb=2048)
    assert (result["outcome"], result["error"]) == (
        "clear", EXPECTED[name][0].__name__), result
    assert result["peak_mb"] < 500, result
