"""``python -m convsim train EXPERIMENT``: the book's convnets, end to end.

    python -m convsim train mnist                 # the book's MNIST run, 5 epochs
    python -m convsim train cats-vs-dogs          # the plain convnet, 30 epochs
    python -m convsim train EXPERIMENT --help     # what it does, every option

Each experiment is a module with two functions: ``add_parser(subparsers)``
(its subcommand and options, the shared ones from
:mod:`~convsim.experiments.options`) and ``run(args, console) -> exit code``.
To add one, write that module and append it to :data:`EXPERIMENTS`.
"""

from __future__ import annotations

import argparse

from rich.console import Console

from convsim.experiments import cats_vs_dogs, mnist
from convsim.experiments.words import line
from convsim.kernels import cached_kernels
from convsim.lesson.words import default_lang
from convsim.runtime.compiling import CompileNotice, message, nothing_on_disk
from convsim.validation.command_line import ArgumentParser

__all__ = ["EXPERIMENTS", "build_parser", "main"]

#: The experiments, in the order ``--help`` lists them.
EXPERIMENTS = (mnist, cats_vs_dogs)

#: What a first training run waits for Numba, said in the message: measured on
#: 2 cores with an empty cache, `train mnist` compiled for 23 s (its first
#: epoch of 2,000 images took 21 s, the second 1 s).
COLD_START_SECONDS = 25


def build_parser() -> argparse.ArgumentParser:
    """The ``train`` command: one subcommand per experiment."""
    parser = ArgumentParser(
        prog="convsim train",
        description="Train the book's convnets on convsim's Numba kernels.",
        epilog="Each experiment explains itself: python -m convsim train "
               "EXPERIMENT --help")
    subparsers = parser.add_subparsers(dest="experiment", metavar="EXPERIMENT")
    for experiment in EXPERIMENTS:
        experiment.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    """Run ``train`` with ``argv`` (default: the command line); returns the
    exit status: 0 done, 1 a problem reported on ``console``, 2 no experiment
    named (the help is printed), 130 stopped with Ctrl+C.

    During training, Ctrl+C is handled by the experiment (the batch finishes,
    a checkpoint is saved, it says where); before (loading the data), it
    simply stops.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "run", None) is None:
        parser.print_help()
        return 2
    console = console or Console()
    lang = getattr(args, "lang", None) or default_lang()
    cold = CompileNotice(lambda: console.print(
        message(lang, COLD_START_SECONDS, first_epoch=True), style="yellow",
        highlight=False)).start()  # said once, only when Numba compiles
    if nothing_on_disk(cached_kernels()):  # a first run: say so before the wait
        cold.say_now()
    try:
        return args.run(args, console)
    except KeyboardInterrupt:
        console.print("\n" + line(lang, "stopped_now"))
        return 130
    finally:
        cold.stop()
