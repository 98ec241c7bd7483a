"""``python -m convsim train mnist``: the book's MNIST convnet, end to end.

    python -m convsim train mnist                 # the book's run, 5 epochs
    python -m convsim train mnist --epochs 1 --limit 2000 --plot curves.png

Chapter 5.1 in one command: load the digits, reshape them to
``(n, 28, 28, 1)`` and scale them to [0, 1], one-hot encode the labels, train
the convnet of :func:`~convsim.experiments.book_models.build_mnist_model`
with RMSprop, and score it on the test digits.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from convsim.errors import message
from convsim.experiments.options import (
    SAVE_HELP,
    add_shared_options,
    lang_of,
    positive_count,
)
from convsim.experiments.outputs import report_test_accuracy, save_outputs
from convsim.experiments.runs import (
    add_run_options,
    check_outputs,
    ctrl_c_stops_cleanly,
    prepare_backup,
    run_files,
    train_until_done,
)
from convsim.experiments.words import data_line, line

__all__ = ["add_parser", "run"]

HELP = "the book's MNIST convnet (Conv2D/MaxPooling2D x2, Conv2D, Dense x2)"
EPILOG = """\
What it does (your notes, chapter 5.1):
  load MNIST -> reshape to (n, 28, 28, 1) and scale to [0, 1] -> one-hot labels
  -> compile(optimizer='rmsprop', loss='categorical_crossentropy',
             metrics=['accuracy'])
  -> fit(epochs=5, batch_size=64, validation_data=test set) -> evaluate.

Data: --data DIR, else $CONVSIM_DATA/mnist, the cache ~/.cache/convsim/mnist,
a download of the full 70,000 digits, or the 5,000-digit sample bundled with
convsim (used offline; set CONVSIM_OFFLINE=1 to skip trying the network).
The line before training says which one was used.

Ctrl+C stops after the current batch and saves a checkpoint (in --backup-dir,
also written after every epoch, so even a killed run keeps its last epoch);
the same command with --resume continues exactly: with the same options the
weights and the history end bit-identical to a run that never stopped.

Examples:
  python -m convsim train mnist
  python -m convsim train mnist --epochs 1 --limit 2000
  python -m convsim train mnist --dataset fashion-mnist --save fashion.convsim
  python -m convsim train mnist --dataset fashion-mnist --save fashion.convsim --resume
"""
#: Options a resumed run must share with the run it continues.
SAME_ON_RESUME = ("dataset", "limit", "batch_size")


def add_parser(subparsers) -> None:
    """Add the ``mnist`` subcommand and its options."""
    parser = subparsers.add_parser(
        "mnist", help=HELP, description="Train " + HELP + ".", epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = add_shared_options(
        parser,
        data_help="folder with the four MNIST IDX files (.gz or not) or mnist.npz",
        epochs=5, epochs_help="passes over the training set (default: 5, as the "
                              "book)",
        batch_size=64, batch_size_help="images per gradient step (default: 64, "
                                       "as the book)",
        save_help=SAVE_HELP,
        plot_help="where to save the accuracy/loss figure (default: "
                  "mnist-curves.png or fashion-mnist-curves.png)")
    groups.training.add_argument(
        "--dataset", choices=("mnist", "fashion-mnist"), default="mnist",
        help="digits (default) or Zalando's Fashion-MNIST clothes")
    groups.training.add_argument(
        "--limit", type=positive_count, metavar="N",
        help="use only the first N training and first N test images (a quick run)")
    add_run_options(parser, groups)
    parser.set_defaults(run=run)


def run(args, console: Console) -> int:
    """Reproduce the book's MNIST run; returns the process exit code."""
    from convsim.experiments.book_models import build_mnist_model
    from convsim.training.callbacks import ProgbarLogger
    from convsim.training.history_file import HistoryRecorder
    from convsim.utils import set_random_seed

    lang = lang_of(args)
    files = run_files(args, f"{args.dataset}-curves.png", args.dataset)
    settings = {option: getattr(args, option) for option in SAME_ON_RESUME}
    if not check_outputs(files, console, lang):
        return 1
    backup = prepare_backup(args, files, settings, args.epochs, console, lang)
    if backup is None:
        return 1
    if args.seed is not None:
        set_random_seed(args.seed)
    data = _load(args, console, lang)
    if data is None:
        return 1
    (train_images, train_labels), (test_images, test_labels) = data
    model = build_mnist_model()
    model.summary(console=console)
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    recorder = HistoryRecorder(files.history, {
        "experiment": args.dataset, **settings, "epochs_planned": args.epochs,
        "seed": args.seed})
    console.print(line(lang, "ctrl_c_help"), highlight=False)
    # the progress bar speaks the run's language: fit's own is turned off
    progbar = [ProgbarLogger(args.verbose, lang=lang)] if args.verbose else []
    with ctrl_c_stops_cleanly(backup, lang) as pressed:
        interrupted = train_until_done(lambda: model.fit(
            train_images, train_labels, epochs=args.epochs,
            batch_size=args.batch_size, validation_data=(test_images, test_labels),
            verbose=0, callbacks=[*progbar, recorder, backup], console=console),
            console, lang)
        recorder.info["interrupted"] = interrupted
        if not interrupted:
            interrupted = _report(model, recorder, len(train_images),
                                  (test_images, test_labels), console, lang)
        status = save_outputs(model, recorder.history, console,
                              model_path=files.model, plot=files.plot,
                              recorder=recorder, lang=lang)
        interrupted = interrupted or pressed()
    return 130 if interrupted else status


def _report(model, recorder, samples: int, test, console: Console,
            lang: str = "en") -> bool:
    """Say how fast training was and score the test images; True if Ctrl+C
    stopped the scoring."""
    seconds = sum(recorder.seconds)
    epochs = len(recorder.seconds)
    per_epoch = seconds / max(epochs, 1)
    console.print(line(lang, "trained", n=f"{samples:,}", epochs=epochs,
                       seconds=f"{seconds:.1f}", per_epoch=f"{per_epoch:.1f}",
                       rate=f"{samples / max(per_epoch, 1e-9):,.0f}"),
                  highlight=False)
    try:
        test_loss, test_acc = model.evaluate(*test, verbose=0)
    except KeyboardInterrupt:
        console.print(line(lang, "test_skipped"))
        return True
    report_test_accuracy(console, test_loss, test_acc, len(test[0]), "images", lang)
    recorder.info["test"] = {"loss": test_loss, "acc": test_acc}
    return False


def _load(args, console: Console, lang: str = "en"):
    """The digits prepared as in the book, ``((x, y), (x_test, y_test))``
    with images ``(n, 28, 28, 1)`` in [0, 1] and one-hot labels; None (after
    saying why) when they cannot be loaded."""
    from convsim.datasets import errors, fashion_mnist, mnist
    from convsim.utils import to_categorical

    loader = mnist if args.dataset == "mnist" else fashion_mnist
    try:  # the loader says where the data came from; in Korean, this does
        data = loader.load(args.data, console=console, verbose=lang == "en")
    except errors.DatasetError as err:
        console.print(line(lang, "load_failed", err=message(err, lang)),
                      highlight=False)
        return None
    said = data_line(data, loader.SPEC.title, lang)
    if said:
        console.print(said, markup=False, highlight=False, soft_wrap=True)
    (train_images, train_labels), (test_images, test_labels) = data
    if args.limit:
        train_images, train_labels = (train_images[:args.limit],
                                      train_labels[:args.limit])
        test_images, test_labels = test_images[:args.limit], test_labels[:args.limit]
        console.print(line(lang, "limit", limit=args.limit,
                           train=f"{len(train_images):,}",
                           test=f"{len(test_images):,}"), highlight=False)
    # the book's preprocessing, with the sizes read from the data
    train_images = train_images.reshape((len(train_images), 28, 28, 1))
    train_images = train_images.astype("float32") / 255
    test_images = test_images.reshape((len(test_images), 28, 28, 1))
    test_images = test_images.astype("float32") / 255
    train_labels = to_categorical(train_labels, 10)
    test_labels = to_categorical(test_labels, 10)
    return (train_images, train_labels), (test_images, test_labels)
