"""``python -m convsim train EXPERIMENT``: the book's convnets, end to end.

    python -m convsim train mnist                 # the seed's MNIST run, 5 epochs
    python -m convsim train mnist --epochs 1 --limit 2000 --plot curves.png

Each experiment is one subcommand with two functions: ``add_<name>_parser``
(its options) and ``run_<name>(args, console) -> exit code``. To add one,
write both and append the parser function to :data:`EXPERIMENTS`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from rich.console import Console

from convsim.experiments.cats_vs_dogs import add_cats_vs_dogs_parser

__all__ = ["EXPERIMENTS", "build_mnist_model", "build_parser", "main", "run_mnist"]


def build_mnist_model():
    """The seed's MNIST convnet (93,322 parameters), exactly as in the notes."""
    from convsim import layers, models

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


# ---------------------------------------------------------------- mnist
MNIST_HELP = "the seed's MNIST convnet (Conv2D/MaxPooling2D x2, Conv2D, Dense x2)"
MNIST_EPILOG = """\
What it does (the user's notes, chapter 5.1):
  load MNIST -> reshape to (n, 28, 28, 1) and scale to [0, 1] -> one-hot labels
  -> compile(optimizer='rmsprop', loss='categorical_crossentropy',
             metrics=['accuracy'])
  -> fit(epochs=5, batch_size=64, validation_data=test set) -> evaluate.

Data: --data DIR, else $CONVSIM_DATA/mnist, the cache ~/.cache/convsim/mnist,
a download of the full 70,000 digits, or the 5,000-digit sample bundled with
convsim (used offline; set CONVSIM_OFFLINE=1 to skip trying the network).
The line before training says which one was used.

Examples:
  python -m convsim train mnist
  python -m convsim train mnist --epochs 1 --limit 2000
  python -m convsim train mnist --dataset fashion-mnist --save fashion.convsim
"""


def add_mnist_parser(subparsers) -> None:
    p = subparsers.add_parser(
        "mnist", help=MNIST_HELP, description="Train " + MNIST_HELP + ".",
        epilog=MNIST_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=_positive_int, default=5,
                   help="passes over the training set (default: 5, as the book)")
    p.add_argument("--batch-size", type=_positive_int, default=64,
                   help="images per gradient step (default: 64, as the book)")
    p.add_argument("--data", metavar="DIR",
                   help="folder with the four MNIST IDX files (.gz or not) or "
                        "mnist.npz")
    p.add_argument("--dataset", choices=("mnist", "fashion-mnist"), default="mnist",
                   help="digits (default) or Zalando's Fashion-MNIST clothes")
    p.add_argument("--limit", type=_positive_int, metavar="N",
                   help="use only the first N training and first N test images "
                        "(a quick run)")
    p.add_argument("--save", metavar="PATH",
                   help="save the trained model there (load it with "
                        "convsim.models.load_model)")
    p.add_argument("--plot", metavar="PNG",
                   help="where to save the accuracy/loss figure (default: "
                        "mnist-curves.png or fashion-mnist-curves.png)")
    p.add_argument("--no-plot", action="store_true", help="do not save the figure")
    p.add_argument("--seed", type=int, help="random seed for repeatable runs")
    p.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                   help="1: live progress bar (default); 2: one line per epoch; "
                        "0: quiet")
    p.set_defaults(run=run_mnist)


def run_mnist(args, console: Console) -> int:
    """Reproduce the seed's MNIST run; returns the process exit code."""
    from convsim.datasets import errors, fashion_mnist, mnist
    from convsim.utils import set_random_seed, to_categorical

    if args.seed is not None:
        set_random_seed(args.seed)
    loader = mnist if args.dataset == "mnist" else fashion_mnist
    try:
        data = loader.load(args.data, console=console)
    except errors.DatasetError as err:
        console.print(f"[red]Could not load the data:[/] {err}", highlight=False)
        return 1
    (train_images, train_labels), (test_images, test_labels) = data
    if args.limit:
        train_images, train_labels = train_images[:args.limit], train_labels[
            :args.limit]
        test_images, test_labels = test_images[:args.limit], test_labels[:args.limit]
        console.print(f"--limit {args.limit}: using the first {len(train_images):,} "
                      f"training and {len(test_images):,} test images.",
                      highlight=False)
    # the seed's preprocessing, with the sizes read from the data
    train_images = train_images.reshape((len(train_images), 28, 28, 1))
    train_images = train_images.astype("float32") / 255
    test_images = test_images.reshape((len(test_images), 28, 28, 1))
    test_images = test_images.astype("float32") / 255
    train_labels = to_categorical(train_labels, 10)
    test_labels = to_categorical(test_labels, 10)

    model = build_mnist_model()
    model.summary(console=console)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(train_images, train_labels, epochs=args.epochs,
                        batch_size=args.batch_size,
                        validation_data=(test_images, test_labels),
                        verbose=args.verbose, console=console)
    seconds = time.perf_counter() - start
    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=0)
    per_epoch = seconds / max(len(history.epoch), 1)
    console.print(
        f"Trained on {len(train_images):,} images for {len(history.epoch)} epoch(s) "
        f"in {seconds:.1f} s ({per_epoch:.1f} s/epoch, "
        f"{len(train_images) / per_epoch:,.0f} images/s incl. validation).",
        highlight=False)
    console.print(f"[bold]Test accuracy: {test_acc:.4f}[/] (test loss "
                  f"{test_loss:.4f}) on {len(test_images):,} test images.",
                  highlight=False)
    return _save_outputs(model, history, args, console)


def _save_outputs(model, history, args, console) -> int:
    status = 0
    if args.save:
        try:
            model.save(args.save)
            console.print(f"Saved the model to {args.save}", highlight=False)
        except OSError as err:
            console.print(f"[red]Could not save the model:[/] {err}", highlight=False)
            status = 1
    if not args.no_plot:
        from convsim.viz.plots import plot_history

        plot = args.plot or f"{args.dataset}-curves.png"
        try:
            plot_history(history, Path(plot))
            console.print(f"Saved the accuracy/loss curves to {plot}",
                          highlight=False)
        except (OSError, ValueError) as err:
            console.print(f"[red]Could not save the figure:[/] {err}",
                          highlight=False)
            status = 1
    return status


# ---------------------------------------------------------------- command line
#: One function per experiment, each adding its subcommand to the parser.
EXPERIMENTS = [add_mnist_parser, add_cats_vs_dogs_parser]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convsim train",
        description="Train the book's convnets on convsim's Numba kernels.")
    subparsers = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    for add_parser in EXPERIMENTS:
        add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    return args.run(args, console or Console())


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got "
                                         f"{text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value
