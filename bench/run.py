"""convsim's one benchmark command: speed, memory and start-up, against PyTorch.

    python bench/run.py                    # everything (5-10 minutes on 2 cores)
    python bench/run.py --quick            # fewer steps (about 2-3 minutes)
    python bench/run.py --only mnist-train,layers --json figures.json
    python bench/run.py --no-torch         # convsim's own figures only

Everything runs in one process with one thread count: convsim's (Numba's
thread count, NUMBA_NUM_THREADS or --threads), and PyTorch is given the same
number with torch.set_num_threads. PyTorch is timed twice: with its default
memory layout (NCHW) and with channels_last (model and input converted with
.to(memory_format=torch.channels_last), the layout convsim and Keras use).
The contenders take turns in rounds (convsim, PyTorch, PyTorch channels_last,
then again), so a slow minute on a shared machine hurts all three alike, and
each contender's figure is the median over all its timed calls.

Sharing a process has two side effects. Numba and PyTorch end up on one
OpenMP runtime (libgomp), whose idle threads spin for as long as the first
to load it decided: convsim starts first here, as in bench/train_*.py, so
PyTorch gets convsim's short spin too (convsim/runtime/openmp.py; it helps
on a busy machine and may cost PyTorch a little on an idle one);
--torch-first gives both the long default spin instead. And convsim's setup
tells the C library to keep freed memory for reuse
(convsim/runtime/memory.py), which PyTorch's allocations here enjoy too.

The rows (names for --only in brackets):

1. [mnist-train] the book's MNIST convnet (Conv 32, pool, Conv 64, pool,
   Conv 64, Dense 64, Dense 10; RMSprop 1e-3, batch 64, categorical
   cross-entropy), model.train_on_batch on random batches held in memory,
   training images/s. PyTorch applies RMSprop as Keras does
   (bench/train_mnist.py's keras_rmsprop_step).
2. [mnist-infer] the same model's model.predict(x, batch_size=1000) on 1,000
   images (one forward pass; PyTorch under torch.inference_mode, softmax
   included), images/s.
3. [cats-train] the book's cats-vs-dogs convnet (150x150x3, four Conv+pool
   blocks, Dense 512, Dense 1 sigmoid; batch 20, binary cross-entropy) with
   Adam 1e-3, the optimizer of your notes and of bench/train_cats_vs_dogs.py
   (the book itself uses RMSprop 1e-4), training images/s.
4. [cats-infer] that model's predict on 100 photos in batches of 20 (the
   book's batch size), images/s.
5. [layers] every conv and pool layer of both models alone, forward and
   backward (the calls of bench/kernels.py), milliseconds per batch.
6. [rss] peak memory (the peak resident set, VmHWM, else ru_maxrss; nothing
   subtracted) of a child process per contender that trains each model for
   a few steps, and convsim's memory as a multiple of PyTorch's (below 1:
   convsim uses less).
7. [import] seconds for "import convsim" in a fresh interpreter (median of
   several), and for the modules a training script needs.
8. [frame] seconds until the first line of
   "python -m convsim.lesson padding --no-animate" reaches its pipe, with
   Numba's kernel cache warm and cold (a fresh, empty NUMBA_CACHE_DIR), and
   when the cold start's "Compiling convsim's kernels once" notice appears
   (the aim: a cold start says what it is doing within 1 s).
9. [pipeline] images/s of ImageDataGenerator.flow_from_directory with
   augmentation (your notes' settings, and the book's), against the cats
   training images/s of row 3; the aim is at least 3x. It reads
   ../shared/data/cats_and_dogs_small/train when present (or --data), else
   a temporary folder of random JPEGs in the book's layout.

Always measured, at the start and again at the end: the float32
matrix-product (sgemm) speed of NumPy at convsim's thread count; the best
figure is the "peak" that the "% peak" columns divide by.
FLOPs count two per multiply-add of the conv and dense layers (pooling and
activations count nothing); a training step counts 3x the forward pass (the
forward pass, then the gradients for the inputs and for the weights).

Speed ratios are convsim's speed / PyTorch's speed: above 1, convsim is
faster. On a noisy shared machine only figures from the same run are
comparable; compare ratios, not images/s from different days.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # bench/kernels.py, train_mnist.py and run_parts/
from run_parts import say  # noqa: E402
from run_parts.report import print_report  # noqa: E402
from run_parts.startup import frame_times, import_times  # noqa: E402

DEFAULT_DATA = HERE.parents[1] / "shared" / "data" / "cats_and_dogs_small" / "train"
ROWS = ("mnist-train", "mnist-infer", "cats-train", "cats-infer", "layers", "rss",
        "import", "frame", "pipeline")
PAUSE = 0.05  # seconds between contenders, so spinning threads go to sleep
# The book's augmentation (chapter 5); your notes' settings are convsim's
# NOTES_AUGMENTATION (bigger shear and zoom, smaller shifts).
BOOK_AUGMENTATION = {"rotation_range": 40, "width_shift_range": 0.2,
                     "height_shift_range": 0.2, "shear_range": 0.2,
                     "zoom_range": 0.2, "horizontal_flip": True}
# --------------------------------------------------------------- the models
def spec(name: str):
    """(batch, (h, w, c), layers) of a book model: bench/kernels.py's conv and
    pool layers, then its Dense layers; layers are ("conv", filters),
    ("pool", size) or ("dense", units)."""
    from kernels import MODELS

    batch, h, w, c, layers = MODELS["mnist" if name == "mnist" else "cats-vs-dogs"]
    dense = [("dense", 64), ("dense", 10)] if name == "mnist" else [
        ("dense", 512), ("dense", 1)]
    return batch, (h, w, c), layers + dense


def layer_flops(shape, layers):
    """Forward FLOPs per image of each layer (3x3 'valid' convs, as in the book)."""
    h, w, c = shape
    flops = []
    for kind, arg in layers:
        if kind == "conv":
            h, w = h - 2, w - 2
            flops.append(2 * h * w * arg * 9 * c)
            c = arg
        elif kind == "pool":
            h, w = h // arg, w // arg
            flops.append(0)
        else:
            flops.append(2 * h * w * c * arg)
            h, w, c = 1, 1, arg
    return flops


def convsim_model(name: str):
    from convsim.experiments.book_models import build_cats_model, build_mnist_model
    from convsim.utils import set_random_seed

    set_random_seed(0)
    if name != "mnist":
        return build_cats_model()  # compiled: Adam 1e-3, binary cross-entropy
    model = build_mnist_model()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def torch_model(name: str, channels_last: bool):
    """The same network in PyTorch (bench/torch_models.py), in either layout."""
    import torch
    from torch_models import torch_book_model

    model = torch_book_model("mnist" if name == "mnist" else "cats-vs-dogs")
    return model.to(memory_format=torch.channels_last) if channels_last else model


def make_batches(name: str, count: int, batch: int, seed: int = 0):
    """``count`` random (x, labels) batches, NHWC float32, labels as integers."""
    import numpy as np

    rng = np.random.default_rng(seed)
    shape = (28, 28, 1) if name == "mnist" else (150, 150, 3)
    classes = 10 if name == "mnist" else 2
    return [(rng.random((batch, *shape), dtype=np.float32),
             rng.integers(0, classes, batch)) for _ in range(count)]


def cycling(step, batches):
    """A function of no arguments that calls ``step`` on the next batch."""
    state = {"i": 0}

    def call():
        step(*batches[state["i"] % len(batches)])
        state["i"] += 1
    return call


def convsim_trainer(name: str, batches):
    from convsim.utils import to_categorical

    model = convsim_model(name)
    if name == "mnist":
        ready = [(x, to_categorical(y, 10)) for x, y in batches]
    else:
        ready = [(x, y.astype("float32")) for x, y in batches]
    return cycling(model.train_on_batch, ready)


def to_torch(x, channels_last: bool):
    """NHWC NumPy -> an NCHW tensor: channels_last strides or a contiguous copy."""
    import torch

    t = torch.from_numpy(x).permute(0, 3, 1, 2)  # channels_last strides already
    return t.contiguous(memory_format=torch.channels_last if channels_last
                        else torch.contiguous_format)


def torch_trainer(name: str, batches, channels_last: bool):
    """One training step per call, as train_on_batch does it: forward, loss,
    backward, the optimizer's update, then the loss and accuracy as numbers."""
    import torch
    from torch import nn

    model = torch_model(name, channels_last)
    params = list(model.parameters())
    if name == "mnist":
        from train_mnist import keras_rmsprop_step

        velocities = [torch.zeros_like(p) for p in params]
        loss_fn = nn.CrossEntropyLoss()

        def update():
            keras_rmsprop_step(params, velocities)
        ready = [(to_torch(x, channels_last), torch.from_numpy(y))
                 for x, y in batches]
    else:
        opt = torch.optim.Adam(params, lr=1e-3, eps=1e-7)  # Keras's epsilon
        loss_fn = nn.BCEWithLogitsLoss()
        update = opt.step
        ready = [(to_torch(x, channels_last),
                  torch.from_numpy(y.astype("float32")).reshape(-1, 1))
                 for x, y in batches]

    def step(x, y):
        for p in params:
            p.grad = None
        logits = model(x)
        loss = loss_fn(logits, y)
        loss.backward()
        update()
        hits = logits.argmax(1) == y if name == "mnist" else (logits > 0) == (y > 0.5)
        return loss.item(), float(hits.float().mean())
    return cycling(step, ready)


def convsim_predictor(name: str, x, batch: int):
    model = convsim_model(name)
    return lambda: model.predict(x, batch_size=batch, verbose=0)


def torch_predictor(name: str, x, batch: int, channels_last: bool):
    import torch

    model = torch_model(name, channels_last).eval()
    chunks = [to_torch(x[i:i + batch], channels_last) for i in range(0, len(x), batch)]
    last = torch.softmax if name == "mnist" else (lambda t, _: torch.sigmoid(t))

    def predict():
        with torch.inference_mode():
            return [last(model(c), 1) for c in chunks]
    return predict


# --------------------------------------------------------------- timing
def interleave(calls: dict, rounds: int, per_round: int, warmup: int) -> dict:
    """Seconds of every timed call of each contender, taking turns in rounds."""
    for call in calls.values():
        for _ in range(warmup):
            call()  # compiles or loads convsim's kernels, fills PyTorch's caches
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            time.sleep(PAUSE)
            for _ in range(per_round):
                start = time.perf_counter()
                call()
                times[name].append(time.perf_counter() - start)
    return times


def contenders(torch) -> list[str]:
    return ["convsim", "torch", "torch-cl"] if torch is not None else ["convsim"]


def throughput_row(key, title, name, torch, args, per_item_flops):
    """Rows 1-4: images/s of each contender, taken in turns."""
    batch, shape, _ = spec(name)
    train = key.endswith("train")
    if train:
        steps = {"mnist": (4, 10) if args.quick else (10, 20),
                 "cats": (4, 3) if args.quick else (10, 3)}[name]
        data = make_batches(name, 4, batch)
        calls = {"convsim": convsim_trainer(name, data)}
        if torch is not None:
            calls["torch"] = torch_trainer(name, data, False)
            calls["torch-cl"] = torch_trainer(name, data, True)
        per_call = batch
    else:
        steps = (4, 3) if args.quick else (10, 5)
        size, batch = (1000, 1000) if name == "mnist" else (100, 20)
        x = make_batches(name, 1, size)[0][0]
        calls = {"convsim": convsim_predictor(name, x, batch)}
        if torch is not None:
            calls["torch"] = torch_predictor(name, x, batch, False)
            calls["torch-cl"] = torch_predictor(name, x, batch, True)
        per_call = size
    rounds, per_round = steps
    say(f"{key}: {rounds} rounds of {per_round} calls each for "
        f"{', '.join(calls)}")
    times = interleave(calls, rounds, per_round, warmup=2)
    flops = per_item_flops * (3 if train else 1)
    row = {"title": title, "images_per_call": per_call, "calls": rounds * per_round,
           "rounds": rounds, "flop_per_image": flops, "median_s": {}, "images_s": {},
           "gflops": {}}
    for who, seconds in times.items():
        median = statistics.median(seconds)
        row["median_s"][who] = median
        row["images_s"][who] = per_call / median
        row["gflops"][who] = per_call * flops / median / 1e9
    return row


def layer_rows(name: str, torch, args):
    """Row 5: each conv and pool layer of a model, forward and backward."""
    import numpy as np

    from convsim import ops

    batch, (h, w, c), layers = spec(name)
    rng = np.random.default_rng(0)
    x = rng.random((batch, h, w, c), dtype=np.float32)
    flops = layer_flops((h, w, c), layers)
    rounds, per_round = (3, 1) if args.quick else (7, 2)
    rows = []
    for (kind, arg), layer_flop in zip(layers, flops, strict=True):
        if kind == "dense":
            break
        calls = {"fwd": {}, "bwd": {}}
        if kind == "conv":
            kernel = (rng.standard_normal((3, 3, x.shape[3], arg)) * 0.1).astype(
                np.float32)
            bias = np.zeros(arg, np.float32)
            y = ops.conv(x, kernel, bias=bias)
            dy = rng.standard_normal(y.shape).astype(np.float32)
            calls["fwd"]["convsim"] = lambda x=x, k=kernel, b=bias: ops.conv(x, k,
                                                                             bias=b)
            calls["bwd"]["convsim"] = lambda x=x, k=kernel, d=dy: ops.conv_backward(
                x, k, d)
            label, after = f"conv {arg} 3x3", ops.relu(y)
        else:
            y, argmax = ops.max_pool_with_argmax(x, arg)
            dy = np.ones_like(y)
            calls["fwd"]["convsim"] = lambda x=x, s=arg: ops.max_pool_with_argmax(x, s)
            calls["bwd"]["convsim"] = lambda x=x, d=dy, s=arg, a=argmax: (
                ops.max_pool_backward(x, d, s, argmax=a))
            label, after = f"maxpool {arg}x{arg}", y
        if torch is not None:
            for who, cl in (("torch", False), ("torch-cl", True)):
                fwd, bwd = torch_layer(kind, arg, x, dy, kernel if kind == "conv"
                                       else None, cl)
                calls["fwd"][who], calls["bwd"][who] = fwd, bwd
        for direction in ("fwd", "bwd"):
            times = interleave(calls[direction], rounds, per_round, warmup=1)
            medians = {who: statistics.median(t) for who, t in times.items()}
            work = batch * layer_flop * (1 if direction == "fwd" else 2)
            rows.append({"model": name, "layer": label,
                         "input": "x".join(map(str, x.shape[1:])),
                         "pass": direction, "median_ms": {
                             who: 1e3 * m for who, m in medians.items()},
                         "gflops": {who: work / m / 1e9 if work else None
                                    for who, m in medians.items()}})
        x = after
    return rows


def torch_layer(kind, arg, x, dy, kernel, channels_last):
    """PyTorch's forward and backward of one layer (the calls of bench/kernels.py)."""
    import torch
    import torch.nn.functional as F

    fmt = torch.channels_last if channels_last else torch.contiguous_format
    xt, dyt = to_torch(x, channels_last), to_torch(dy, channels_last)
    if kind == "conv":
        wt = torch.from_numpy(kernel).permute(3, 2, 0, 1).contiguous(memory_format=fmt)
        bt = torch.zeros(kernel.shape[3])

        def fwd():
            with torch.no_grad():
                return F.conv2d(xt, wt, bt)

        def bwd():  # dL/dx, dL/dkernel, dL/dbias
            return torch.ops.aten.convolution_backward(
                dyt, xt, wt, [bt.shape[0]], [1, 1], [0, 0], [1, 1], False, [0, 0],
                1, [True, True, True])
        return fwd, bwd
    with torch.no_grad():
        _, idx = F.max_pool2d(xt, arg, return_indices=True)

    def pool_fwd():
        with torch.no_grad():
            return F.max_pool2d(xt, arg, return_indices=True)

    def pool_bwd():
        return torch.ops.aten.max_pool2d_with_indices_backward(
            dyt, xt, [arg, arg], [arg, arg], [0, 0], [1, 1], False, idx)
    return pool_fwd, pool_bwd


def sgemm_peak(torch, args):
    """Row 10: GFLOP/s of NumPy's float32 matrix product, n = 2048, the way
    convsim runs them (one 1-thread product per thread, side by side) and
    with OpenBLAS's own threads; PyTorch's torch.mm for comparison."""
    import numpy as np

    from convsim.runtime.blas import blas_thread_count, one_blas_thread
    from convsim.runtime.tasks import run_tasks, thread_count

    n, repeats = 2048, 3 if args.quick else 5
    rng = np.random.default_rng(0)
    a = rng.random((n, n), dtype=np.float32)
    b = rng.random((n, n), dtype=np.float32)
    flop = 2 * n ** 3

    def best_of(call, count=1):
        call()
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return count * flop / statistics.median(times) / 1e9

    threads = thread_count()
    result = {"n": n, "openblas_threads": blas_thread_count()}
    with one_blas_thread():
        result["numpy, 1 BLAS thread x thread count (convsim's way)"] = best_of(
            lambda: run_tasks([lambda: a @ b] * threads), threads)
    result["numpy, OpenBLAS's threads"] = best_of(lambda: a @ b)
    result["best numpy"] = max(v for k, v in result.items() if k.startswith("numpy"))
    if torch is not None:
        at, bt = torch.from_numpy(a), torch.from_numpy(b)
        result["torch.mm (not used as the peak)"] = best_of(lambda: torch.mm(at, bt))
    return result


# --------------------------------------------------------------- child processes
def child_rss(model: str, who: str, steps: int) -> dict:
    """Inside a child: train ``model`` for ``steps`` steps as ``who``; peak RSS."""
    def peak_mb():
        # Linux keeps ru_maxrss across exec, so a child would report its parent's
        # peak if that was larger; VmHWM is this program's own peak.
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
        except OSError:
            pass
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB

    if who == "convsim":
        import convsim.models  # noqa: F401  (what a training script imports)
    else:
        import torch  # noqa: F401
    before = peak_mb()
    batch = 64 if model == "mnist" else 20
    data = make_batches(model, 4, batch)
    step = (convsim_trainer(model, data) if who == "convsim"
            else torch_trainer(model, data, who == "torch-cl"))
    for _ in range(steps):
        step()
    return {"peak_mb": peak_mb(), "after_imports_mb": before, "steps": steps}


def run_child(args_list, threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args_list,
                          "--threads", str(threads)], capture_output=True, text=True,
                         env=env, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"child {args_list} failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def rss_rows(torch, args, threads):
    rows = []
    for model, steps in (("mnist", 10 if args.quick else 30),
                         ("cats", 3 if args.quick else 6)):
        for who in contenders(torch):
            say(f"rss: {model} training, {who}, {steps} steps in a child process")
            rows.append({"model": model, "who": who,
                         **run_child(["--child", "rss", model, who, str(steps)],
                                     threads)})
    return rows


# --------------------------------------------------------------- image pipeline
def photo_folder(args, scratch: Path) -> tuple[Path, str]:
    """The photos to read: --data if it exists, else random JPEGs made in
    ``scratch`` with the book's layout (train/cats, train/dogs)."""
    data = Path(args.data)
    if data.is_dir():
        return data, f"photos from {data}"
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for kind in ("cats", "dogs"):
        (scratch / kind).mkdir(parents=True)
        for i in range(60):
            h, w = rng.integers(280, 500, 2)
            # smooth colours plus a little noise: decodes like a photo, not like
            # white noise (which JPEG compresses badly and decodes slowly)
            coarse = Image.fromarray(rng.integers(0, 256, (12, 12, 3), np.uint8))
            pixels = np.asarray(coarse.resize((int(w), int(h)), Image.BILINEAR),
                                np.float32) + rng.normal(0, 8, (h, w, 3))
            Image.fromarray(pixels.clip(0, 255).astype(np.uint8)).save(
                scratch / kind / f"{kind[:-1]}.{i}.jpg", quality=90)
    return scratch, "120 random JPEGs (no photo folder found; pass --data DIR)"


def pipeline_rates(args, folder: Path) -> dict:
    import io

    from rich.console import Console

    from convsim.experiments.cats_vs_dogs import NOTES_AUGMENTATION
    from convsim.preprocessing.image import ImageDataGenerator

    batches = 10 if args.quick else 40
    rates = {}
    for name, extra in (("rescale only", {}),
                        ("your notes' augmentation", NOTES_AUGMENTATION),
                        ("the book's augmentation", BOOK_AUGMENTATION)):
        say(f"pipeline: {name}, {batches} batches of 20")
        flow = ImageDataGenerator(rescale=1 / 255, **extra).flow_from_directory(
            str(folder), target_size=(150, 150), batch_size=20, class_mode="binary",
            seed=0, console=Console(file=io.StringIO()))
        next(flow)  # warm-up: compiles the warp kernel if it is not cached
        start = time.perf_counter()
        for _ in range(batches):
            next(flow)
        rates[name] = batches * 20 / (time.perf_counter() - start)
    return rates


def load_torch():
    try:
        import torch
    except ImportError:
        return None
    torch.ones(64, 64) @ torch.ones(64, 64)  # starts its OpenMP threads
    return torch


def openmp_note(torch, torch_first: bool) -> str:
    """Which spin setting the shared OpenMP runtime gives both frameworks.

    Numba's and PyTorch's parallel loops end up calling the same libgomp
    (the dynamic linker binds both to whichever copy loaded first; checked
    with LD_DEBUG=bindings), and libgomp reads its spin count, how long an
    idle thread keeps its core before it sleeps, once, when it loads.
    """
    if torch is None:
        return "OpenMP: convsim's short spin (convsim/runtime/openmp.py)"
    if any(k in os.environ for k in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")):
        return "OpenMP: both frameworks use your GOMP_SPINCOUNT/OMP_WAIT_POLICY"
    if torch_first:
        return ("OpenMP: PyTorch loaded first (--torch-first): both frameworks "
                "use libgomp's long default spin, convsim included")
    return ("OpenMP: convsim started first, so PyTorch's threads also use "
            "convsim's short spin (GOMP_SPINCOUNT=10000); --torch-first gives "
            "both libgomp's long default spin instead")


def machine(torch, threads):
    import numba
    import numpy

    cpu, flags = "", ""
    try:  # Linux: the CPU's name and its instruction-set flags
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and not cpu:
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags") and not flags:
                flags = line + " "
    except OSError:
        pass
    cpu = cpu or platform.processor() or "unknown"
    return {"cpu": cpu, "avx512": (" avx512f" in flags) if flags else None,
            "cpus": os.cpu_count(), "threads": threads,
            "python": platform.python_version(), "numpy": numpy.__version__,
            "numba": numba.__version__,
            "torch": torch.__version__ if torch is not None else None,
            "OPENBLAS_NUM_THREADS": os.environ.get("OPENBLAS_NUM_THREADS")}


# --------------------------------------------------------------- main
def parse_args(argv=None):
    head, rest = __doc__.split("\n\n", 1)
    p = argparse.ArgumentParser(description=head, epilog=rest,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="fewer steps and repeats (about 2-3 minutes on 2 cores)")
    p.add_argument("--only", metavar="ROWS",
                   help="comma list of rows: " + ",".join(ROWS))
    p.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    p.add_argument("--no-torch", action="store_true",
                   help="act as if PyTorch were not installed")
    p.add_argument("--threads", type=int,
                   help="thread count for everything (sets NUMBA_NUM_THREADS; "
                        "default: Numba's, i.e. the number of CPUs)")
    p.add_argument("--torch-first", action="store_true",
                   help="load PyTorch before convsim starts its threads: the "
                        "shared OpenMP runtime then has its long default spin")
    p.add_argument("--data", default=str(DEFAULT_DATA),
                   help="photo folder for the pipeline row (one sub-folder per class)")
    p.add_argument("--child", nargs=4, metavar=("KIND", "MODEL", "WHO", "STEPS"),
                   help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    rows = ROWS if not args.only else tuple(r.strip() for r in args.only.split(",")
                                            if r.strip())
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        p.error(f"--only: unknown rows {unknown}; choose from {','.join(ROWS)}")
    args.rows = rows
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        os.environ["NUMBA_NUM_THREADS"] = str(args.threads)
    if args.child:
        kind, model, who, steps = args.child
        if who != "convsim":
            import torch

            torch.set_num_threads(args.threads)
        print(json.dumps(child_rss(model, who, int(steps))))
        return 0
    if args.no_torch:
        sys.modules["torch"] = None  # any "import torch" now raises ImportError
    from rich.console import Console

    from convsim.runtime import prepare
    from convsim.runtime.tasks import thread_count

    torch = load_torch() if args.torch_first else None
    prepare()  # convsim starts its threads (and libgomp, with a short spin)
    threads = thread_count()
    if not args.torch_first:
        torch = load_torch()
    if torch is not None:
        torch.set_num_threads(threads)
    console = Console(width=max(Console().width, 160))
    figures = {"machine": machine(torch, threads), "quick": args.quick}
    m = figures["machine"]
    avx512 = {True: "yes", False: "no", None: "unknown"}[m["avx512"]]
    absent = "not used (--no-torch)" if args.no_torch else "not installed"
    console.print(f"CPU: {m['cpu']} ({m['cpus']} CPUs), AVX-512: {avx512}; threads: "
                  f"{threads} (convsim's Numba threads"
                  + (f"; PyTorch: torch.set_num_threads({threads}))" if torch
                     else ")"))
    console.print(f"Python {m['python']}, numpy {m['numpy']}, numba {m['numba']}, "
                  f"torch {m['torch'] or absent + ': convsim figures only'}"
                  f"{', quick run' if args.quick else ''}")
    console.print(openmp_note(torch, args.torch_first))
    whos = contenders(torch)
    say("sgemm: NumPy float32 2048x2048 matrix products")
    figures["sgemm"] = {"start": sgemm_peak(torch, args)}
    flops = {name: sum(layer_flops(spec(name)[1], spec(name)[2]))
             for name in ("mnist", "cats")}
    figures["flop_per_image_forward"] = flops
    titles = {"mnist-train": ("mnist", "MNIST train, batch 64"),
              "mnist-infer": ("mnist", "MNIST predict 1000, batch 1000"),
              "cats-train": ("cats", "cats train, batch 20"),
              "cats-infer": ("cats", "cats predict 100, batch 20")}
    figures["rows"] = {}
    for key, (name, title) in titles.items():
        if key in args.rows:
            figures["rows"][key] = throughput_row(key, title, name, torch, args,
                                                  flops[name])
    if "layers" in args.rows:
        figures["layers"] = []
        for name in ("mnist", "cats"):
            say(f"layers: {name}, each conv/pool layer forward and backward")
            figures["layers"] += layer_rows(name, torch, args)
    if "rss" in args.rows:
        figures["rss"] = rss_rows(torch, args, threads)
    if "import" in args.rows:
        figures["import"] = import_times(torch, args, threads)
    if "frame" in args.rows:
        figures["frame"] = frame_times(args, threads)
    if "pipeline" in args.rows:
        with tempfile.TemporaryDirectory(prefix="convsim-photos-") as scratch:
            folder, source = photo_folder(args, Path(scratch))
            rates = pipeline_rates(args, folder)
        if "cats-train" in figures["rows"]:
            training = figures["rows"]["cats-train"]["images_s"]["convsim"]
            how = "row 3 of this run"
        else:
            say("pipeline: timing convsim's cats-vs-dogs training steps alone")
            times = interleave({"convsim": convsim_trainer(
                "cats", make_batches("cats", 2, 20))}, 1, 4, warmup=1)["convsim"]
            training, how = 20 / statistics.median(times), "4 steps timed alone"
        figures["pipeline"] = {"source": source, "rates": rates,
                               "training_images_s": training, "training_source": how}
    say("sgemm again: the peak is the best of the start and the end")
    figures["sgemm"]["end"] = sgemm_peak(torch, args)
    figures["sgemm"]["peak"] = max(r["best numpy"] for r in figures["sgemm"].values())
    say("done")
    print_report(console, figures, whos)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))
        console.print(f"figures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
