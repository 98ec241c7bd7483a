"""``python -m convsim train cats-vs-dogs``: the book's convnet on 2,000 photos.

    python -m convsim train cats-vs-dogs                       # plain, 30 epochs
    python -m convsim train cats-vs-dogs --augment --dropout 0.5   # 100 epochs

Chapter 5.2 of the book in one command. The plain convnet learns the 2,000
training photos almost by heart (training accuracy near 100%) while the
validation accuracy stalls around 70%: overfitting. Data augmentation (random
rotations, shifts, shears, zooms and flips of every photo) plus a Dropout
layer before the classifier close most of that gap (about 80% after 100
epochs).

Everything the run produces is kept even when you stop it with Ctrl+C: the
history so far (a JSON file written after every epoch, read by
``python -m convsim.lesson overfitting --history FILE``), the accuracy/loss
figure and the model (saved atomically: never half a file).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from convsim.experiments.book_models import (
    CATS_VS_DOGS_INPUT_SHAPE,
    NOTES_LEARNING_RATE,
)
from convsim.experiments.options import (
    add_shared_options,
    fraction,
    positive_count,
    positive_number,
)
from convsim.experiments.outputs import figure_path, report_test_accuracy, save_outputs

__all__ = ["AUGMENTED_LEARNING_RATE", "NOTES_AUGMENTATION", "TARGET_SIZE",
           "add_parser", "describe", "run"]

#: Your notes' ``ImageDataGenerator`` settings for the augmented run
#: (``rescale=1./255`` comes on top). The book's are milder (shifts, shear and
#: zoom of 0.2).
NOTES_AUGMENTATION = {"rotation_range": 40, "width_shift_range": 0.1,
                      "height_shift_range": 0.1, "shear_range": 0.4,
                      "zoom_range": 0.5, "horizontal_flip": True}
#: Adam's step size with --augment: the book's 1e-4. The notes' 1e-3 left the
#: augmented convnet at chance level for 16 epochs (see the --help epilog).
AUGMENTED_LEARNING_RATE = 1e-4
#: Every photo is resized to this before it enters the network, as in the book.
TARGET_SIZE = CATS_VS_DOGS_INPUT_SHAPE[:2]
DEFAULT_PLOT = "cats-vs-dogs-curves.png"
#: Settings a resumed run must share with the run it continues: anything else
#: would glue two different experiments into one curve.
SAME_ON_RESUME = ("augment", "dropout", "learning_rate", "batch_size",
                  "steps_per_epoch", "validation_steps", "seed")

HELP = "the book's cats-vs-dogs convnet, plain or with augmentation + dropout"
EPILOG = """\
What it does (your notes, chapter 5.2):
  ImageDataGenerator(rescale=1./255).flow_from_directory(
      DIR/train, target_size=(150, 150), batch_size=20, class_mode='binary')
  -> Conv2D(32)/MaxPooling2D ... Conv2D(128)/MaxPooling2D, Flatten,
     [Dropout(0.5)], Dense(512, relu), Dense(1, sigmoid)
  -> compile(Adam(learning_rate=0.001), 'binary_crossentropy', metrics=['acc'])
  -> fit(steps_per_epoch=100, epochs=30, validation_steps=50)
  -> evaluate on DIR/test once at the end.
With --augment the training generator also rotates (40 degrees), shifts
(0.1), shears (0.4), zooms (0.5) and flips every photo at random, the
default becomes 100 epochs and the learning rate 0.0001 (the book's): with
the notes' 0.001 the augmented convnet stayed at 50% accuracy for 16 epochs
(its first steps match PyTorch's loss for loss, so that is the recipe, not
convsim); --learning-rate 0.001 runs the notes' value anyway.

Validation: the notes validate on the test folder; this command validates on
DIR/validation (the book's choice) and keeps DIR/test for one final score,
so the test photos never influence anything you decide while training.
--validate-on test reproduces the notes exactly.

Data: --data DIR, a folder with train/, validation/ and test/, each holding
cats/ and dogs/ (or its parent). Without --data: $CONVSIM_DATA/
cats_and_dogs_small, then ~/.cache/convsim/cats_and_dogs_small. To make
that folder: python -m convsim.datasets cats-vs-dogs

Time: one epoch (2,000 photos + 1,000 validation photos) takes minutes on
a small CPU. Ctrl+C stops training cleanly: the history so far, the figure
and the model are still saved; the same command with --resume continues
from there (the model file of --save holds the optimizer state too). With
--save the model is also saved after every epoch, so even a killed run
can be resumed from its last complete epoch. With --seed, the resumed run
sees exactly the batches and dropout masks the uninterrupted run would have.

Examples:
  python -m convsim train cats-vs-dogs --epochs 2 --steps-per-epoch 5
  python -m convsim train cats-vs-dogs --save plain.convsim --plot plain.png
  python -m convsim train cats-vs-dogs --augment --dropout 0.5 --save aug.h5
  python -m convsim train cats-vs-dogs --augment --dropout 0.5 --save aug.h5 --resume
  python -m convsim.lesson overfitting --history plain.history.json
"""


def add_parser(subparsers) -> None:
    """Add the ``cats-vs-dogs`` subcommand and its options."""
    parser = subparsers.add_parser(
        "cats-vs-dogs", help=HELP, description="Train " + HELP + ".",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = add_shared_options(
        parser, data_help="the cats_and_dogs_small folder (or its parent)",
        epochs=None, epochs_help="default: 30, or 100 with --augment (as the notes)",
        batch_size=20, batch_size_help="photos per gradient step (default: 20, as "
                                       "the notes)",
        save_help="save the trained model there (.h5 works too; load it with "
                  "convsim.models.load_model)",
        plot_help=f"where to save the accuracy/loss figure (default: {DEFAULT_PLOT})")
    add = groups.training.add_argument
    add("--augment", action="store_true",
        help="augment the training photos with your notes' settings")
    add("--dropout", type=fraction, metavar="RATE",
        help="add Dropout(RATE) after Flatten (the book uses 0.5)")
    add("--steps-per-epoch", type=positive_count, default=100, metavar="N",
        help="batches per epoch (default: 100, i.e. 2,000 photos at batch size 20)")
    add("--validation-steps", type=positive_count, default=50, metavar="N",
        help="validation batches per epoch (default: 50, i.e. 1,000 photos)")
    add("--learning-rate", type=positive_number, metavar="LR",
        help="Adam's step size (default: 0.001 as the notes; 0.0001, the book's, "
             "with --augment: at 0.001 the augmented convnet stayed at 50%% for "
             "16 epochs)")
    add("--validate-on", choices=("validation", "test"), default="validation",
        help="folder checked after each epoch (default: validation; the notes "
             "use test)")
    add("--resume", action="store_true",
        help="continue a stopped run: load the --save model and its history, "
             "train up to --epochs in total")
    groups.outputs.add_argument(
        "--history", metavar="JSON",
        help="where to write the per-epoch history (default: next to the model, "
             "else next to the figure: NAME.history.json)")
    parser.set_defaults(run=run)


def run(args, console: Console) -> int:
    """Train the book's cats-vs-dogs convnet; returns the process exit code."""
    from convsim.utils import set_random_seed

    epochs = args.epochs or (100 if args.augment else 30)
    if args.learning_rate is None:
        args.learning_rate = (AUGMENTED_LEARNING_RATE if args.augment
                              else NOTES_LEARNING_RATE)
    root = _find_photos(args.data, console)
    if root is None:
        return 1
    if args.seed is not None:
        set_random_seed(args.seed)
    console.print(f"Photos: {root}", highlight=False)
    batches = _open_photos(args, root, console)
    if batches is None:
        return 1
    recorder = _start_history(args, epochs, root, console)
    if recorder is None:
        return 1
    model = _new_or_resumed_model(args, recorder, epochs, batches, console)
    if model is None:
        return 1
    model.summary(console=console)
    what = describe(args.augment, args.dropout)
    console.print(f"Training the {what} for {epochs} epoch(s) of "
                  f"{args.steps_per_epoch} x {args.batch_size} photos, validating "
                  f"on {args.validation_steps} x {args.batch_size} photos from "
                  f"{args.validate_on}/. Ctrl+C stops and keeps what was learnt.",
                  highlight=False)
    interrupted = _train(model, args, epochs, recorder, batches, console)
    if recorder.history.get("val_acc"):
        _report_epochs(console, recorder.history, recorder.seconds)
    recorder.info["interrupted"] = interrupted
    if not interrupted:
        _evaluate_test(model, root, args, recorder, console)
    status = save_outputs(model, recorder.history, console, model_path=args.save,
                          plot=figure_path(args, DEFAULT_PLOT),
                          title=f"Accuracy & Loss: cats vs dogs, {what}",
                          recorder=recorder)
    return 130 if interrupted else status


def describe(augment: bool, dropout: float | None) -> str:
    """A short name for the experiment, e.g. "convnet with augmentation +
    dropout 0.5"."""
    extras = (["augmentation"] if augment else []) + (
        [f"dropout {dropout:g}"] if dropout else [])
    return "convnet with " + " + ".join(extras) if extras else "plain convnet"


# ---------------------------------------------------------------- before training
def _find_photos(data, console: Console) -> Path | None:
    """The ``cats_and_dogs_small`` folder; None (after saying how to make
    one) when there is none."""
    from convsim.datasets.cats_vs_dogs import find_small_dataset
    from convsim.datasets.errors import DatasetError

    try:
        return find_small_dataset(data)
    except DatasetError as err:
        console.print(f"[red]No cats-vs-dogs photos:[/] {err} (path= is --data DIR "
                      "for this command.)", highlight=False)
        return None


def _open_photos(args, root: Path, console: Console):
    """``(training batches, validation batches)`` as the notes make them:
    rescaled to [0, 1], augmented with --augment; None (after saying why)
    when the photos cannot be read."""
    from convsim.preprocessing.image import ImageDataGenerator

    train_datagen = ImageDataGenerator(
        rescale=1.0 / 255, **(NOTES_AUGMENTATION if args.augment else {}))
    test_datagen = ImageDataGenerator(rescale=1.0 / 255)
    try:
        train_generator = train_datagen.flow_from_directory(
            root / "train", target_size=TARGET_SIZE, batch_size=args.batch_size,
            class_mode="binary", seed=args.seed, console=console)
        valid_generator = test_datagen.flow_from_directory(
            root / args.validate_on, target_size=TARGET_SIZE,
            batch_size=args.batch_size, class_mode="binary", seed=args.seed,
            console=console)
    except (OSError, ValueError) as err:
        console.print(f"[red]Could not read the photos:[/] {err}", highlight=False)
        return None
    return train_generator, valid_generator


def _start_history(args, epochs: int, root: Path, console: Console):
    """The history recorder of this run, its file's folder made now (not
    after hours of training); None (after saying why) if it cannot be."""
    from convsim.training.history_file import HistoryRecorder

    history_path = _history_path(args)
    try:
        for path in (args.save, args.plot, history_path):
            if path:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        console.print(f"[red]Cannot write the outputs:[/] {err}", highlight=False)
        return None
    info = {"experiment": "cats-vs-dogs", "augment": bool(args.augment),
            "dropout": args.dropout, "learning_rate": args.learning_rate,
            "epochs_planned": epochs,
            "steps_per_epoch": args.steps_per_epoch,
            "validation_steps": args.validation_steps,
            "batch_size": args.batch_size, "validate_on": args.validate_on,
            "seed": args.seed, "data": str(root)}
    return HistoryRecorder(history_path, info)


def _history_path(args) -> Path | None:
    if args.history:
        return Path(args.history)
    if args.save:
        return Path(args.save).with_suffix(".history.json")
    if not args.no_plot:
        return Path(args.plot or DEFAULT_PLOT).with_suffix(".history.json")
    return None


def _new_or_resumed_model(args, recorder, epochs: int, batches, console: Console):
    """The book's model, or with --resume the saved one with the batches
    moved on past the epochs already done; None if it cannot be resumed."""
    from convsim.experiments.book_models import build_cats_model

    if not args.resume:
        return build_cats_model(args.dropout, args.learning_rate)
    model = _resume(args, recorder, epochs, console)
    if model is not None:
        # Same batches as an uninterrupted run (exactly so with --seed).
        done = len(recorder.epoch)
        train_generator, valid_generator = batches
        train_generator.skip(done * args.steps_per_epoch)
        valid_generator.skip(done * args.validation_steps)
    return model


def _resume(args, recorder, epochs: int, console: Console):
    """The saved model, with ``recorder`` holding its history so far; None
    (after saying why) if the run cannot be continued."""
    from convsim.models import load_model
    from convsim.training.history_file import load_history

    if not args.save or recorder.path is None:
        console.print("[red]--resume needs --save MODEL[/] (the file of the run "
                      "to continue).")
        return None
    try:
        previous = load_history(recorder.path)
        model = load_model(args.save)
    except (OSError, ValueError) as err:
        console.print(f"[red]Cannot resume:[/] {err}", highlight=False)
        return None
    for option in SAME_ON_RESUME:
        before, now = previous.get(option), recorder.info[option]
        if option in previous and before != now:
            console.print(f"[red]Cannot resume:[/] the run used {option}="
                          f"{before!r}, this command {option}={now!r}. Pass the "
                          "same options.", highlight=False)
            return None
    recorder.restore(previous)
    done = len(recorder.epoch)
    if done >= epochs:
        console.print(f"[red]Nothing to resume:[/] {done} epoch(s) done already; "
                      f"pass --epochs N with N > {done}.", highlight=False)
        return None
    console.print(f"Resuming after epoch {done} ({args.save}, {recorder.path}).",
                  highlight=False)
    return model


# ---------------------------------------------------------------- training
def _train(model, args, epochs: int, recorder, batches, console: Console) -> bool:
    """Fit until ``epochs`` or Ctrl+C; returns True if it was interrupted."""
    from convsim.preprocessing.image import prefetch

    # Decoding and warping the next batches overlaps the training step.
    train_batches, valid_batches = (prefetch(generator) for generator in batches)
    try:
        model.fit(train_batches, steps_per_epoch=args.steps_per_epoch,
                  epochs=epochs, initial_epoch=len(recorder.epoch),
                  validation_data=valid_batches,
                  validation_steps=args.validation_steps, verbose=args.verbose,
                  callbacks=_epoch_callbacks(args, recorder), console=console)
    except KeyboardInterrupt:
        console.print("\n[yellow]Interrupted (Ctrl+C):[/] stopping after "
                      f"{len(recorder.epoch)} complete epoch(s); saving what "
                      "there is.", highlight=False)
        return True
    finally:
        train_batches.close()
        valid_batches.close()
    return False


def _epoch_callbacks(args, recorder):
    """What runs after every epoch: with --save, the model is saved first
    (atomically, optimizer state included), then the history is written, so
    a run that is killed outright (power cut, closed laptop, kill -9) loses at
    most the epoch in progress and ``--resume`` finds a model that matches its
    history."""
    from convsim.training.callbacks import ModelCheckpoint

    if not args.save:
        return [recorder]
    save_every_epoch = ModelCheckpoint(args.save.replace("{", "{{").replace("}", "}}"))
    return [save_every_epoch, recorder]


# ---------------------------------------------------------------- after training
def _report_epochs(console: Console, logs: dict, epoch_seconds: list) -> None:
    val = logs["val_acc"]
    best = max(range(len(val)), key=val.__getitem__)
    total = sum(epoch_seconds)
    per_epoch = total / max(len(epoch_seconds), 1)
    console.print(f"{len(val)} epoch(s) in {total / 60:.1f} min "
                  f"({per_epoch:.0f} s/epoch incl. validation).", highlight=False)
    console.print(f"[bold]Final validation accuracy: {val[-1]:.4f}[/] (training "
                  f"accuracy {logs['acc'][-1]:.4f}; best validation "
                  f"{val[best]:.4f} at epoch {best + 1}).", highlight=False)


def _evaluate_test(model, root: Path, args, recorder, console: Console) -> None:
    """Score the photos of ``test/`` once, report it and keep it in the
    history (unless Ctrl+C skips it)."""
    from convsim.preprocessing.image import ImageDataGenerator, prefetch

    try:
        test_generator = ImageDataGenerator(rescale=1.0 / 255).flow_from_directory(
            root / "test", target_size=TARGET_SIZE, batch_size=args.batch_size,
            class_mode="binary", shuffle=False, console=console)
        with_prefetch = prefetch(test_generator)
        try:
            test_loss, test_acc = model.evaluate(
                with_prefetch, steps=len(test_generator), verbose=0,
                console=console)
        finally:
            with_prefetch.close()
    except KeyboardInterrupt:
        console.print("[yellow]Test evaluation skipped (Ctrl+C).[/]")
        return
    report_test_accuracy(console, test_loss, test_acc, test_generator.samples,
                         "photos")
    recorder.info["test"] = {"loss": test_loss, "acc": test_acc}
