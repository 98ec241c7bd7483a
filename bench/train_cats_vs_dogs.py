"""Training speed of the book's cats-vs-dogs convnet: convsim vs PyTorch, and
whether the image generator keeps up.

    python bench/train_cats_vs_dogs.py                  # real photos if found, 10 steps
    python bench/train_cats_vs_dogs.py --steps 5 --no-torch
    python bench/train_cats_vs_dogs.py --data DIR/train --openblas-threads 2

Measures, at the book's setting (150x150x3 photos, batch 20, 3,453,121
weights, Adam 1e-3, binary cross-entropy):

* convsim training images/s: ``train_on_batch`` on batches already in memory,
  timed over ``--steps`` steps after one warm-up step (which compiles what
  Numba has not cached yet);
* when PyTorch is installed, the same network and recipe in PyTorch in the
  same process (Glorot-uniform weights and zero biases like Keras, Adam with
  Keras's epsilon 1e-7, sigmoid + cross-entropy fused from the logit as
  convsim does), and convsim's speed as a fraction of PyTorch's;
* the generator's images/s (``flow_from_directory``, decoding + resizing
  JPEGs, with and without the notes' augmentation) and the ratio
  generator / training: above 1 the generator is not the bottleneck; issue 5
  asks for 3x, so that it also keeps up on faster machines and leaves CPU for
  the training when it runs in the prefetch thread.

Batches are real photos from ``--data`` (default: ../shared/data/
cats_and_dogs_small/train when present), else random pixels; the speed of a
training step does not depend on the pixel values. Machines are shared and
noisy: compare figures from the same run.
"""

from __future__ import annotations

import argparse
import io
import os
import pathlib
import sys
import time

DEFAULT_DATA = (pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
                / "cats_and_dogs_small" / "train")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=10,
                   help="timed training steps per framework (default: 10)")
    p.add_argument("--batch-size", type=int, default=20)
    p.add_argument("--data", default=str(DEFAULT_DATA),
                   help="a folder with one sub-folder per class (real photos)")
    p.add_argument("--random", action="store_true",
                   help="random pixels even if photos are available")
    p.add_argument("--generator-batches", type=int, default=20,
                   help="batches timed for the generator (default: 20)")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    p.add_argument("--openblas-threads", type=int, default=1,
                   help="OPENBLAS_NUM_THREADS before NumPy loads (default: 1, "
                        "what convsim uses while it trains anyway)")
    return p.parse_args(argv)


def environment() -> str:
    import numba

    parts = [f"cpus {os.cpu_count()}", f"numba threads {numba.get_num_threads()}",
             f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}",
             f"NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'unset')}"]
    return ", ".join(parts)


def batches(args, count):
    """``count`` (x, y) batches in memory: real photos or random pixels."""
    import numpy as np

    if not args.random and os.path.isdir(args.data):
        from convsim.preprocessing.image import ImageDataGenerator

        flow = ImageDataGenerator(rescale=1 / 255).flow_from_directory(
            args.data, target_size=(150, 150), batch_size=args.batch_size,
            class_mode="binary", seed=0, console=_quiet())
        return [next(flow) for _ in range(count)], f"photos from {args.data}"
    rng = np.random.default_rng(0)
    made = [(rng.uniform(0, 1, (args.batch_size, 150, 150, 3)).astype(np.float32),
             rng.integers(0, 2, args.batch_size).astype(np.float32))
            for _ in range(count)]
    return made, "random pixels"


def bench_convsim(data):
    """Seconds per step over ``data[1:]`` after a warm-up on ``data[0]``."""
    from convsim.experiments.book_models import build_cats_model
    from convsim.utils import set_random_seed

    set_random_seed(0)
    model = build_cats_model()
    model.train_on_batch(*data[0])
    start = time.perf_counter()
    for x, y in data[1:]:
        model.train_on_batch(x, y)
    return (time.perf_counter() - start) / (len(data) - 1)


def bench_torch(data):
    import numpy as np
    import torch
    from torch import nn
    from torch_models import torch_book_model

    model = torch_book_model("cats-vs-dogs")
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, eps=1e-7)
    loss_fn = nn.BCEWithLogitsLoss()
    tensors = [(torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))),
                torch.from_numpy(y).reshape(-1, 1)) for x, y in data]

    def step(x, y):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    step(*tensors[0])
    start = time.perf_counter()
    for x, y in tensors[1:]:
        step(x, y)
    return (time.perf_counter() - start) / (len(tensors) - 1)


def bench_generator(args):
    """Images/s of flow_from_directory, rescale only and with the notes'
    augmentation (bench/datagen.py has the finer breakdown)."""
    from convsim.experiments.cats_vs_dogs import NOTES_AUGMENTATION
    from convsim.preprocessing.image import ImageDataGenerator

    rates = {}
    for name, extra in (("rescale only", {}),
                        ("notes' augmentation", NOTES_AUGMENTATION)):
        flow = ImageDataGenerator(rescale=1 / 255, **extra).flow_from_directory(
            args.data, target_size=(150, 150), batch_size=args.batch_size,
            class_mode="binary", seed=0, console=_quiet())
        next(flow)  # warm-up: compiles the warp kernel if it is not cached
        start = time.perf_counter()
        for _ in range(args.generator_batches):
            next(flow)
        seconds = time.perf_counter() - start
        rates[name] = args.generator_batches * args.batch_size / seconds
    return rates


def _quiet():
    from rich.console import Console

    return Console(file=io.StringIO())


def main(argv=None) -> int:
    args = parse_args(argv)
    if "numpy" in sys.modules:
        raise SystemExit("run this file as a script: OPENBLAS_NUM_THREADS must be "
                         "set before NumPy loads")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", str(args.openblas_threads))
    if args.steps < 1:
        raise SystemExit(f"--steps must be at least 1. Received: {args.steps}")
    print(f"env: {environment()}")
    data, source = batches(args, args.steps + 1)
    bs = args.batch_size
    print(f"the book's convnet, 150x150x3, batch {bs}, {args.steps} timed steps "
          f"after 1 warm-up step, {source}")
    ours = bench_convsim(data)
    print(f"convsim  {ours:6.2f} s/step  {bs / ours:7.1f} training images/s  "
          f"(100-step epoch: {100 * ours / 60:.1f} min + validation)")
    theirs = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("pytorch  not installed: no comparison")
        else:
            theirs = bench_torch(data)
            print(f"pytorch  {theirs:6.2f} s/step  {bs / theirs:7.1f} training "
                  f"images/s  (torch {torch.__version__}, "
                  f"{torch.get_num_threads()} threads)")
            print(f"convsim speed = {theirs / ours:.2f} x PyTorch's "
                  f"(PyTorch is {ours / theirs:.1f}x faster)")
    if os.path.isdir(args.data):
        rates = bench_generator(args)
        for name, rate in rates.items():
            print(f"generator, {name:20s} {rate:7.1f} images/s")
        ratio = rates["notes' augmentation"] / (bs / ours)
        print(f"generator/training ratio: {ratio:.1f} (augmenting generator "
              f"images/s / convsim training images/s; target >= 3)")
    else:
        print(f"generator: skipped, no photo folder at {args.data} (--data DIR)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
