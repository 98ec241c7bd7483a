"""Train the book's MNIST convnet with convsim (and PyTorch, when installed).

    python bench/train_mnist.py                      # bundled 4,000/1,000 sample
    python bench/train_mnist.py --dataset fashion    # full Fashion-MNIST
    python bench/train_mnist.py --epochs 1 --no-torch
    python bench/train_mnist.py --seeds 0-9          # accuracy over 10 seeds
    python bench/train_mnist.py --seeds 0-9 --paired # same weights and batches

Prints seconds per epoch, training images per second and the test accuracy
after every epoch for each framework, and convsim's speed as a fraction of
PyTorch's in the same run. With several seeds it ends with a table of the final
test accuracies (mean, median, lowest, highest): on the 1,000-digit test set one
run moves by a point or more from seed to seed, and RMSprop at 1e-3 sometimes
ends an epoch on a bad step, so one seed says little. ``--paired`` removes
those differences: PyTorch starts from convsim's initial weights and sees the
same batches in the same order, so the two runs differ only by float rounding,
and their accuracies epoch by epoch show whether convsim learns like PyTorch.

The PyTorch model is the same network and recipe: the book's layers, Glorot
(Xavier) uniform weights and zero biases like Keras, RMSprop with Keras's
hyperparameters (learning rate 0.001, rho 0.9, epsilon 1e-7), batch 64,
reshuffled every epoch. ``torch.optim.RMSprop`` divides by ``sqrt(v) + eps``
where Keras 3 and convsim use ``sqrt(v + eps)``, so the PyTorch side applies
convsim's rule itself (five lines in ``keras_rmsprop_step``): the two runs then
differ only by their random numbers and float rounding.
PyTorch computes softmax + cross-entropy from logits, as convsim does for a
softmax output layer.

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package
(``apt-get install -y dataset-fashion-mnist``) or any place
``convsim.datasets.fashion_mnist.load_data`` finds it.

``--openblas-threads N`` sets OPENBLAS_NUM_THREADS before NumPy loads. convsim
already gives NumPy's BLAS one thread while it trains (convsim/runtime/blas.py)
and leaves a value you set alone, so this is for experiments.
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dataset", choices=("sample", "fashion"), default="sample",
                   help="bundled MNIST sample (default) or full Fashion-MNIST")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seeds", metavar="A-B",
                   help="run every seed from A to B (e.g. 0-9) and summarise")
    p.add_argument("--paired", action="store_true",
                   help="PyTorch starts from convsim's initial weights and sees "
                        "the same batches in the same order")
    p.add_argument("--no-torch", action="store_true", help="skip PyTorch")
    p.add_argument("--openblas-threads", type=int,
                   help="set OPENBLAS_NUM_THREADS before importing NumPy")
    return p.parse_args(argv)


def load(dataset):
    from convsim.datasets import fashion_mnist, mnist

    if dataset == "sample":
        (x, y), (xt, yt) = mnist.load_data(mnist.BUNDLED_DIR)
    else:
        (x, y), (xt, yt) = fashion_mnist.load_data(download=False)
    def prep(images):
        return images.reshape(-1, 28, 28, 1).astype("float32") / 255

    return prep(x), y.astype("int64"), prep(xt), yt.astype("int64")


def bench_convsim(x, y, xt, yt, epochs, batch_size, seed, orders=None):
    """Trains convsim's model; returns (seconds per epoch, test accuracy after
    each epoch, the initial weights). ``orders``: one permutation of the
    training set per epoch, instead of fit's own shuffling (``--paired``)."""
    from rich.console import Console

    from convsim import callbacks
    from convsim.experiments.book_models import build_mnist_model
    from convsim.utils import set_random_seed, to_categorical

    set_random_seed(seed)
    model = build_mnist_model()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    initial = model.get_weights()

    class EpochTimer(callbacks.Callback):
        """Times the training of each epoch, then (untimed) scores the test set."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)
            _, acc = self.model.evaluate(xt, to_categorical(yt, 10), batch_size=256,
                                         verbose=0)
            accs.append(acc)
            print(f"  test accuracy after epoch {epoch + 1}: {acc:.4f}")

    times, accs = [], []
    labels = to_categorical(y, 10)
    if orders is None:
        model.fit(x, labels, epochs=epochs, batch_size=batch_size, verbose=2,
                  callbacks=[EpochTimer()], console=Console())
    else:
        for epoch, order in enumerate(orders):
            model.fit(x[order], labels[order], epochs=epoch + 1, initial_epoch=epoch,
                      batch_size=batch_size, shuffle=False, verbose=2,
                      callbacks=[EpochTimer()], console=Console())
    return times, accs, initial


def bench_torch(x, y, xt, yt, epochs, batch_size, seed, orders=None,
                initial=None):
    """The same model in PyTorch; ``initial`` (convsim's ``get_weights()``) and
    ``orders`` make it start from the same weights and see the same batches."""
    import numpy as np
    import torch
    from torch import nn
    from torch_models import torch_book_model

    model = torch_book_model("mnist", seed)
    if initial is not None:
        copy_keras_weights(initial, model)
    params = list(model.parameters())
    velocities = [torch.zeros_like(p) for p in params]
    loss_fn = nn.CrossEntropyLoss()
    xs = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    ys = torch.from_numpy(y)
    xt_t = torch.from_numpy(np.ascontiguousarray(xt.transpose(0, 3, 1, 2)))
    yt_t = torch.from_numpy(yt)
    rng = np.random.default_rng(seed)
    times, accs = [], []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.from_numpy(rng.permutation(len(xs)) if orders is None
                                 else orders[epoch])
        total, correct, seen = 0.0, 0, 0
        for i in range(0, len(xs), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = xs[idx], ys[idx]
            for p in params:
                p.grad = None
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            keras_rmsprop_step(params, velocities)
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
        times.append(time.perf_counter() - start)
        model.eval()
        with torch.no_grad():
            accs.append(float((model(xt_t).argmax(1) == yt_t).float().mean()))
        print(f"torch epoch {epoch + 1}/{epochs} - {times[-1]:.1f}s - loss: "
              f"{total / seen:.4f} - accuracy: {correct / seen:.4f} - test accuracy: "
              f"{accs[-1]:.4f}")
    return times, accs


def copy_keras_weights(weights, model):
    """convsim's (Keras-layout) weights into the PyTorch model: kernels
    (kh, kw, in, out) -> (out, in, kh, kw), Dense kernels transposed, and the
    first Dense's rows reordered from Flatten's (h, w, c) to PyTorch's (c, h, w)."""
    import numpy as np
    import torch
    from torch import nn

    layers = [m for m in model if isinstance(m, (nn.Conv2d, nn.Linear))]
    with torch.no_grad():
        for layer, kernel, bias in zip(layers, weights[0::2], weights[1::2],
                                       strict=True):
            if kernel.ndim == 4:
                kernel = kernel.transpose(3, 2, 0, 1)
            elif kernel.shape[0] == 576:  # 3x3x64 after Flatten
                kernel = kernel.reshape(3, 3, 64, -1).transpose(2, 0, 1, 3).reshape(
                    576, -1).T
            else:
                kernel = kernel.T
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
            layer.bias.copy_(torch.from_numpy(bias))


def keras_rmsprop_step(params, velocities, lr=1e-3, rho=0.9, epsilon=1e-7):
    """RMSprop as Keras 3 and convsim apply it: ``w -= lr * g / sqrt(v + eps)``."""
    import torch

    with torch.no_grad():
        for p, v in zip(params, velocities, strict=True):
            v.mul_(rho).addcmul_(p.grad, p.grad, value=1 - rho)
            p.sub_(lr * p.grad / torch.sqrt(v + epsilon))


def report(name, times, accs, n):
    per_epoch = sum(times) / len(times)
    steady = sum(times[1:]) / max(len(times) - 1, 1) if len(times) > 1 else per_epoch
    print(f"{name:8s} {per_epoch:7.1f} s/epoch (after the first: {steady:.1f}) "
          f"{n / steady:8.0f} images/s  test accuracy {accs[-1]:.4f} "
          f"(after each epoch: {' '.join(f'{a:.4f}' for a in accs)})")
    return n / steady


def parse_seeds(args):
    if not args.seeds:
        return [args.seed]
    first, _, last = args.seeds.partition("-")
    try:
        seeds = list(range(int(first), int(last or first) + 1))
    except ValueError:
        seeds = []
    if not seeds:
        raise SystemExit(f"--seeds {args.seeds!r}: expected A-B with A <= B, "
                         "e.g. 0-9")
    return seeds


def run_one(args, data, seed):
    """One seed: convsim, then PyTorch; returns the final test accuracies."""
    x, y, xt, yt = data
    print(f"=== seed {seed}")
    orders = None
    if args.paired:
        import numpy as np

        rng = np.random.default_rng(seed)
        orders = [rng.permutation(len(x)) for _ in range(args.epochs)]
    times, accs, initial = bench_convsim(x, y, xt, yt, args.epochs, args.batch_size,
                                         seed, orders)
    ours = times, accs
    theirs = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch not installed: skipping the comparison")
        else:
            print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
            theirs = bench_torch(x, y, xt, yt, args.epochs, args.batch_size, seed,
                                 orders, initial if args.paired else None)
    print()
    speed = report("convsim", *ours, len(x))
    if theirs is None:
        return ours[1][-1], None
    torch_speed = report("pytorch", *theirs, len(x))
    print(f"convsim speed = {speed / torch_speed:.2f} x PyTorch's; "
          f"accuracy difference {100 * (ours[1][-1] - theirs[1][-1]):+.2f} points")
    return ours[1][-1], theirs[1][-1]


def summarise(results):
    import statistics

    print(f"\nfinal test accuracy over {len(results)} seeds (%):")
    for i, name in enumerate(("convsim", "pytorch")):
        values = [100 * r[i] for r in results if r[i] is not None]
        if values:
            print(f"{name:8s} mean {statistics.mean(values):6.2f}  median "
                  f"{statistics.median(values):6.2f}  lowest {min(values):6.2f}  "
                  f"highest {max(values):6.2f}   "
                  + " ".join(f"{v:.1f}" for v in values))


def main(argv=None):
    args = parse_args(argv)
    seeds = parse_seeds(args)
    if args.openblas_threads:
        if "numpy" in sys.modules:
            raise SystemExit("--openblas-threads must be set before NumPy loads")
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.openblas_threads)
    data = load(args.dataset)
    print(f"data: {args.dataset}, {len(data[0]):,} train / {len(data[2]):,} test, "
          f"{args.epochs} epochs, batch {args.batch_size}, cpus {os.cpu_count()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    results = [run_one(args, data, seed) for seed in seeds]
    if len(results) > 1:
        summarise(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
