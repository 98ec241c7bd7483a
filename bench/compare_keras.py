"""Train the book's MNIST convnet in convsim and in real Keras, side by side.

    python bench/compare_keras.py --keras-python ~/tf/bin/python --seeds 0-9
    python bench/compare_keras.py --keras-python ~/tf/bin/python --seeds 0-9 --paired

Keras runs in its own interpreter (``--keras-python``, any Python with
TensorFlow installed: ``pip install tensorflow-cpu``) through
``bench/keras_worker.py``, so convsim's environment never needs TensorFlow.

Without ``--paired`` each framework draws its own initial weights and batch
order from the random seed, as two learners running the notes would: this shows the
spread a learner should expect and whether the two land on the same accuracy
on average. With ``--paired`` Keras starts from convsim's initial weights and
sees the same batches in the same order, so any difference comes from float
rounding alone; the per-epoch accuracies then say whether convsim learns like
Keras step for step.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import train_mnist  # bench/ is the script's folder, so it is on sys.path

WORKER = Path(__file__).with_name("keras_worker.py")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keras-python", default=sys.executable, metavar="PYTHON",
                   help="interpreter with TensorFlow/Keras (default: this one)")
    p.add_argument("--seeds", default="0-4", metavar="A-B",
                   help="seeds to run, e.g. 0-9 (default: 0-4)")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--paired", action="store_true",
                   help="Keras starts from convsim's weights and sees its batches")
    p.add_argument("--dataset", choices=("sample", "fashion"), default="sample")
    args = p.parse_args(argv)
    args.seed = 0
    args.seed_list = train_mnist.parse_seeds(args)
    return args


def run_keras(args, data, seed, initial, orders):
    """Runs the worker; returns its JSON (times and accuracies per epoch)."""
    x, y, xt, yt = data
    job = {"x": x, "y": y, "xt": xt, "yt": yt, "seed": seed,
           "epochs": args.epochs, "batch_size": args.batch_size}
    if args.paired:
        job.update({f"weight_{i}": w for i, w in enumerate(initial)})
        job.update({f"order_{i}": o for i, o in enumerate(orders)})
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "job.npz"
        np.savez(path, **job)
        result = subprocess.run([args.keras_python, str(WORKER), str(path)],
                                capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"the Keras worker failed ({args.keras_python}):\n"
                         f"{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_seed(args, data, seed):
    x = data[0]
    print(f"=== seed {seed}", flush=True)
    orders = None
    if args.paired:
        rng = np.random.default_rng(seed)
        orders = [rng.permutation(len(x)) for _ in range(args.epochs)]
    times, accs, initial = train_mnist.bench_convsim(
        *data, args.epochs, args.batch_size, seed, orders)
    keras_run = run_keras(args, data, seed, initial, orders)
    print(f"convsim  test accuracy per epoch: {' '.join(f'{a:.4f}' for a in accs)}")
    print(f"keras    test accuracy per epoch: "
          f"{' '.join(f'{a:.4f}' for a in keras_run['accs'])}  "
          f"(Keras {keras_run['keras']})", flush=True)
    return {"convsim": accs, "keras": keras_run["accs"],
            "convsim_s": statistics.mean(times[1:] or times),
            "keras_s": statistics.mean(keras_run["times"][1:] or keras_run["times"])}


def summarise(runs, n_train, paired, target=None):
    """Prints the accuracy table; ``target``: also count runs reaching it (%)."""
    print(f"\nfinal test accuracy over {len(runs)} seeds (%):")
    for name in ("convsim", "keras"):
        finals = [100 * r[name][-1] for r in runs]
        reached = (f"  >= {target}%: {sum(f >= target for f in finals)}/{len(finals)}"
                   if target else "")
        print(f"{name:8s} mean {statistics.mean(finals):6.2f}  median "
              f"{statistics.median(finals):6.2f}  lowest {min(finals):6.2f}  highest "
              f"{max(finals):6.2f}{reached}   " + " ".join(f"{f:.1f}" for f in finals))
    if paired:
        gaps = [100 * abs(a - b) for r in runs
                for a, b in zip(r["convsim"], r["keras"], strict=True)]
        mean_gap = statistics.mean(gaps)
        print(f"paired: per-epoch accuracy |convsim - keras| mean {mean_gap:.2f} "
              f"points, largest {max(gaps):.2f}")
    ours = statistics.mean(r["convsim_s"] for r in runs)
    theirs = statistics.mean(r["keras_s"] for r in runs)
    print(f"seconds per epoch (after the first): convsim {ours:.2f} "
          f"({n_train / ours:,.0f} images/s), keras {theirs:.2f} "
          f"({n_train / theirs:,.0f} images/s): convsim at {theirs / ours:.2f}x "
          "Keras's speed (each framework alone on the machine, one after the other)")


def main(argv=None):
    args = parse_args(argv)
    data = train_mnist.load(args.dataset)
    print(f"data: {args.dataset}, {len(data[0]):,} train / {len(data[2]):,} test, "
          f"{args.epochs} epochs, batch {args.batch_size}, "
          f"{'paired' if args.paired else 'unpaired'}")
    runs = [run_seed(args, data, seed) for seed in args.seed_list]
    # the MNIST issue's target for the bundled sample
    summarise(runs, len(data[0]), args.paired, 95 if args.dataset == "sample" else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
