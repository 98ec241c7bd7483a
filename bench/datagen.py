"""How fast is the image pipeline, and can it keep up with training?

    python bench/datagen.py                      # ../shared/data cats-vs-dogs train
    python bench/datagen.py --data DIR --batches 60 --train-steps 8

Measures, on the book's setting (150x150 RGB, batch 20, ``flow_from_directory``):

* decode + resize only (``load_img`` + ``img_to_array``), images/s;
* the warp kernel alone on one batch (parallel and serial), images/s;
* the generator with ``rescale=1./255`` only (the validation generator);
* the generator with the notes' augmentation settings (rotation 40, shifts
  0.1, shear 0.4, zoom 0.5, horizontal flip), in the main thread and through
  the background-thread :func:`~convsim.preprocessing.image.prefetch`;
* training images/s of the book's cats-vs-dogs convnet (``train_on_batch``)
  on ready-made batches, and fed by the augmenting generator, without and
  with the prefetch thread.

The target (issue 5): generator images/s >= 3x training images/s. Machines
are shared and noisy: compare figures from one run.
"""

from __future__ import annotations

import argparse
import io
import os
import pathlib
import sys
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from convsim.experiments.book_models import build_cats_model
from convsim.experiments.cats_vs_dogs import NOTES_AUGMENTATION
from convsim.kernels import warp
from convsim.preprocessing import affine
from convsim.preprocessing.image import (
    ImageDataGenerator,
    img_to_array,
    load_img,
    prefetch,
)

DEFAULT_DATA = (pathlib.Path(__file__).resolve().parents[2] / "shared" / "data"
                / "cats_and_dogs_small" / "train")


def images_per_second(next_batch, batches: int, batch_size: int) -> float:
    next_batch()  # warm-up: compiles the warp kernel on a first run
    start = time.perf_counter()
    for _ in range(batches):
        next_batch()
    return batches * batch_size / (time.perf_counter() - start)


def decode_only(paths, size) -> float:
    start = time.perf_counter()
    for path in paths:
        img_to_array(load_img(path, target_size=size))
    return len(paths) / (time.perf_counter() - start)


def warp_only(batch_size, size, parallel: bool) -> float:
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch_size, *size, 3)).astype(np.float32)
    gen = ImageDataGenerator(**NOTES_AUGMENTATION)
    params = [gen.get_random_transform(images.shape[1:], rng)
              for _ in range(batch_size)]
    keys = ("theta", "tx", "ty", "shear", "zx", "zy")
    matrices = np.stack([affine.transform_matrix(*(p[k] for k in keys), *size)
                         for p in params])
    identity = np.zeros(batch_size, np.bool_)
    kernel = warp.affine_warp_parallel if parallel else warp.affine_warp_serial

    def run():
        kernel(images, matrices, identity, 1, warp.MODES["nearest"], 0.0)

    return images_per_second(run, 20, batch_size)


def training_rates(model, data, batch_size, steps, console) -> list:
    """Training images/s on ready-made batches, then fed by an augmenting
    generator directly and through the prefetch thread."""
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (batch_size, 150, 150, 3)).astype(np.float32)
    y = rng.integers(0, 2, batch_size).astype(np.float32)
    rows = [("training (train_on_batch), ready batches", images_per_second(
        lambda: model.train_on_batch(x, y), steps, batch_size))]
    gen = ImageDataGenerator(rescale=1. / 255, **NOTES_AUGMENTATION)

    def flow():
        return gen.flow_from_directory(data, target_size=(150, 150),
                                       batch_size=batch_size, class_mode="binary",
                                       seed=0, console=console)

    direct = flow()
    rows.append(("training fed by augmenting generator", images_per_second(
        lambda: model.train_on_batch(*next(direct)), steps, batch_size)))
    with prefetch(flow(), buffer_size=4) as batches:
        rows.append(("training fed by augmenting generator + prefetch",
                     images_per_second(lambda: model.train_on_batch(*next(batches)),
                                       steps, batch_size)))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA),
                        help="a folder with one sub-folder per class")
    parser.add_argument("--batches", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--train-steps", type=int, default=6,
                        help="training steps to time (0: skip training)")
    args = parser.parse_args(argv)
    console = Console()
    if not os.path.isdir(args.data):
        console.print(f"Skipping: image folder {args.data} not found "
                      "(pass --data DIR, one sub-folder per class).")
        return 0
    size, bs = (150, 150), args.batch_size
    quiet = Console(file=io.StringIO())  # the "Found N images" lines once only
    rows = []
    plain = ImageDataGenerator(rescale=1. / 255).flow_from_directory(
        args.data, target_size=size, batch_size=bs, class_mode="binary", seed=0,
        console=console)
    paths = plain.filepaths[: args.batches * bs // 2]
    rows.append(("decode + resize only (load_img)", decode_only(paths, size)))
    rows.append(("warp kernel only, parallel", warp_only(bs, size, True)))
    rows.append(("warp kernel only, serial", warp_only(bs, size, False)))
    rows.append(("generator, rescale only",
                 images_per_second(lambda: next(plain), args.batches, bs)))
    augment = ImageDataGenerator(rescale=1. / 255, **NOTES_AUGMENTATION)
    flow = augment.flow_from_directory(args.data, target_size=size, batch_size=bs,
                                       class_mode="binary", seed=0, console=quiet)
    rows.append(("generator, notes' augmentation",
                 images_per_second(lambda: next(flow), args.batches, bs)))
    flow = augment.flow_from_directory(args.data, target_size=size, batch_size=bs,
                                       class_mode="binary", seed=0, console=quiet)
    with prefetch(flow, buffer_size=4) as ahead:
        rows.append(("generator, augmentation + prefetch thread",
                     images_per_second(lambda: next(ahead), args.batches, bs)))
    model = build_cats_model() if args.train_steps > 0 else None
    if model is not None:
        rows += training_rates(model, args.data, bs, args.train_steps, quiet)
    table = Table(title=f"Image pipeline, {size[0]}x{size[1]}x3, batch {bs} "
                        f"({os.cpu_count()} CPUs)")
    table.add_column("what")
    table.add_column("images/s", justify="right")
    for name, rate in rows:
        table.add_row(name, f"{rate:,.0f}")
    console.print(table)
    if model is not None:
        rates = dict(rows)
        ratio = (rates["generator, notes' augmentation"]
                 / rates["training (train_on_batch), ready batches"])
        console.print(f"augmenting generator / training = {ratio:.1f}x "
                      "(target >= 3x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
