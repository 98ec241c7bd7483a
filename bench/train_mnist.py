"""Train the seed's MNIST convnet with convsim (and PyTorch, when installed).

    python bench/train_mnist.py                      # bundled 4,000/1,000 sample
    python bench/train_mnist.py --dataset fashion    # full Fashion-MNIST
    python bench/train_mnist.py --epochs 1 --no-torch

Prints seconds per epoch, training images per second and test accuracy for each
framework, and convsim's speed as a fraction of PyTorch's in the same run.

The PyTorch model is the same network and recipe: the seed's layers, Glorot
(Xavier) uniform weights and zero biases like Keras, RMSprop with Keras's
hyperparameters (learning rate 0.001, rho/alpha 0.9, epsilon 1e-7), batch 64,
reshuffled every epoch. One difference cannot be removed: PyTorch's RMSprop
divides by ``sqrt(v) + eps`` where Keras (and convsim) use ``sqrt(v + eps)``;
with eps = 1e-7 this only matters for weights whose gradients are ~0.
PyTorch computes softmax + cross-entropy from logits, as convsim does for a
softmax output layer.

Fashion-MNIST comes from Debian's ``dataset-fashion-mnist`` package
(``apt-get install -y dataset-fashion-mnist``) or any place
``convsim.datasets.fashion_mnist.load_data`` finds it.

``--openblas-threads 1`` sets OPENBLAS_NUM_THREADS before NumPy loads: on a
2-core machine NumPy's BLAS threads and Numba's threads otherwise compete.
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


def bench_convsim(x, y, xt, yt, epochs, batch_size, seed):
    from rich.console import Console

    from convsim import callbacks
    from convsim.train import build_mnist_model
    from convsim.utils import set_random_seed, to_categorical

    set_random_seed(seed)
    model = build_mnist_model()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["accuracy"])

    class EpochTimer(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    times = []
    model.fit(x, to_categorical(y, 10), epochs=epochs, batch_size=batch_size,
              verbose=2, callbacks=[EpochTimer()], console=Console())
    _, acc = model.evaluate(xt, to_categorical(yt, 10), batch_size=256, verbose=0)
    return times, acc


def bench_torch(x, y, xt, yt, epochs, batch_size, seed):
    import numpy as np
    import torch
    from torch import nn

    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10))
    for module in model:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)  # Keras's glorot_uniform
            nn.init.zeros_(module.bias)
    opt = torch.optim.RMSprop(model.parameters(), lr=1e-3, alpha=0.9, eps=1e-7)
    loss_fn = nn.CrossEntropyLoss()
    xs = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    ys = torch.from_numpy(y)
    rng = np.random.default_rng(seed)
    times = []
    for epoch in range(epochs):
        start = time.perf_counter()
        model.train()
        order = torch.from_numpy(rng.permutation(len(xs)))
        total, correct, seen = 0.0, 0, 0
        for i in range(0, len(xs), batch_size):
            idx = order[i:i + batch_size]
            xb, yb = xs[idx], ys[idx]
            opt.zero_grad()
            logits = model(xb)
            loss = loss_fn(logits, yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == yb).sum())
            seen += len(idx)
        times.append(time.perf_counter() - start)
        print(f"torch epoch {epoch + 1}/{epochs} - {times[-1]:.1f}s - loss: "
              f"{total / seen:.4f} - accuracy: {correct / seen:.4f}")
    model.eval()
    with torch.no_grad():
        xt_t = torch.from_numpy(np.ascontiguousarray(xt.transpose(0, 3, 1, 2)))
        acc = float((model(xt_t).argmax(1) == torch.from_numpy(yt)).float().mean())
    return times, acc


def report(name, times, acc, n):
    per_epoch = sum(times) / len(times)
    steady = sum(times[1:]) / max(len(times) - 1, 1) if len(times) > 1 else per_epoch
    print(f"{name:8s} {per_epoch:7.1f} s/epoch (after the first: {steady:.1f}) "
          f"{n / steady:8.0f} images/s  test accuracy {acc:.4f}")
    return n / steady


def main(argv=None):
    args = parse_args(argv)
    if args.openblas_threads:
        if "numpy" in sys.modules:
            raise SystemExit("--openblas-threads must be set before NumPy loads")
        os.environ["OPENBLAS_NUM_THREADS"] = str(args.openblas_threads)
    x, y, xt, yt = load(args.dataset)
    print(f"data: {args.dataset}, {len(x):,} train / {len(xt):,} test, "
          f"{args.epochs} epochs, batch {args.batch_size}, cpus {os.cpu_count()}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    ours = bench_convsim(x, y, xt, yt, args.epochs, args.batch_size, args.seed)
    theirs = None
    if not args.no_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch not installed: skipping the comparison")
        else:
            print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
            theirs = bench_torch(x, y, xt, yt, args.epochs, args.batch_size,
                                 args.seed)
    print()
    speed = report("convsim", *ours, len(x))
    if theirs is not None:
        torch_speed = report("pytorch", *theirs, len(x))
        print(f"convsim speed = {speed / torch_speed:.2f} x PyTorch's; "
              f"accuracy difference {100 * (ours[1] - theirs[1]):+.2f} points")
    return 0


if __name__ == "__main__":
    sys.exit(main())
