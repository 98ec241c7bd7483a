"""The options every ``train`` experiment shares, and the checks of their values.

Both experiments read data from ``--data``, train for ``--epochs`` in batches
of ``--batch-size``, can be repeated with ``--seed``, talk as much as
``--verbose`` says, in English or Korean (``--lang``, by default from the
locale, as the lessons), and keep their results with ``--save`` and ``--plot``
(or ``--no-plot``). Those options are defined here once: the names, types and
choices are the same for every experiment; only the defaults and the words
of the help (images or photos, the book or your notes) differ. (``--resume``,
``--history`` and ``--backup-dir``, which keep a run safe, come from
:mod:`convsim.experiments.runs`.)

The value checks turn a wrong number into one line from argparse, e.g.
``argument --epochs: expected a positive integer, got 0``; counts use the
library's own :func:`convsim.validation.positive_int`, so the command line
and the Python API agree on what a count is.
"""

from __future__ import annotations

import argparse
import math
from typing import NamedTuple

from convsim.lesson.words import LANGS, default_lang
from convsim.validation import positive_int

__all__ = ["SAVE_HELP", "OptionGroups", "add_shared_options", "fraction", "lang_of",
           "positive_count", "positive_number"]


#: ``--save``'s help: the name chooses the format (convsim.models.Model.save).
SAVE_HELP = ("save the trained model there: a .keras or .h5 name writes a file "
             "Keras loads too (needs h5py: pip install 'convsim[keras]'), any "
             "other name convsim's own (e.g. model.convsim); load either with "
             "convsim.models.load_model. After Ctrl+C, the model so far")


class OptionGroups(NamedTuple):
    """Where an experiment adds its own options, so ``--help`` lists them
    beside the shared ones of the same kind."""

    training: argparse._ArgumentGroup
    outputs: argparse._ArgumentGroup


def add_shared_options(parser: argparse.ArgumentParser, *, data_help: str,
                       epochs: int | None, epochs_help: str, batch_size: int,
                       batch_size_help: str, save_help: str,
                       plot_help: str) -> OptionGroups:
    """Add ``--data``, ``--epochs``, ``--batch-size``, ``--seed``,
    ``--verbose``, ``--save``, ``--plot`` and ``--no-plot`` to ``parser``.

    The arguments are the experiment's defaults and help texts. Returns the
    two option groups ("data and training", "outputs") for the experiment's
    own options.
    """
    training = parser.add_argument_group("data and training")
    training.add_argument("--data", metavar="DIR", help=data_help)
    training.add_argument("--epochs", type=positive_count, default=epochs,
                          metavar="N", help=epochs_help)
    training.add_argument("--batch-size", type=positive_count, default=batch_size,
                          metavar="N", help=batch_size_help)
    training.add_argument("--seed", type=int,
                          help="random seed for repeatable runs")
    training.add_argument("--verbose", type=int, choices=(0, 1, 2), default=1,
                          help="1: live progress bar (default); 2: one line per "
                               "epoch (for log files); 0: quiet")
    training.add_argument("--lang", choices=LANGS, default=None,
                          help="language of what the command says (default: from "
                               "the locale)")
    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--save", metavar="PATH", help=save_help)
    outputs.add_argument("--plot", metavar="PNG", help=plot_help)
    outputs.add_argument("--no-plot", action="store_true",
                         help="do not save the figure")
    return OptionGroups(training, outputs)


def lang_of(args) -> str:
    """The language the command speaks: ``--lang``, else the locale's."""
    return getattr(args, "lang", None) or default_lang()


def positive_count(text: str) -> int:
    """An option value that must be a positive integer (epochs, batches, ...)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}") from None
    try:
        return positive_int(value, "value")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {value}") from None


def positive_number(text: str) -> float:
    """An option value that must be a finite number above 0 (a learning rate)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def fraction(text: str) -> float:
    """An option value in [0, 1) (a dropout rate)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {value}")
    return value
