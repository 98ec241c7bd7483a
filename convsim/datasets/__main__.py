"""Fetch or build datasets ahead of time: ``python -m convsim.datasets COMMAND``.

Commands:
    mnist          find MNIST (downloading the full set into the cache if it is
                   not on disk) and say where it came from
    fashion-mnist  the same for Fashion-MNIST
    cats-vs-dogs   download Microsoft's cats-and-dogs archive (or use
                   ``--archive``) and build the book's ``cats_and_dogs_small``

Errors are printed as one readable message (exit status 1), not a traceback.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from convsim.datasets import cats_vs_dogs, fashion_mnist, mnist
from convsim.datasets.errors import DatasetError
from convsim.validation.command_line import ArgumentParser


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m convsim.datasets",
        description="Fetch or build the datasets of the book's chapter 5.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND",
                                     required=True)
    for name in ("mnist", "fashion-mnist"):
        sub = commands.add_parser(name, help=f"find or download {name}")
        sub.add_argument("--path", help="a folder holding the four IDX files")
        sub.add_argument("--no-download", action="store_true",
                         help="never use the network")
    sub = commands.add_parser("cats-vs-dogs",
                              help="build the book's cats_and_dogs_small folder")
    sub.add_argument("--archive", help="Microsoft's zip or its extracted folder, "
                     "or Kaggle's train folder (default: download the zip)")
    sub.add_argument("--dest", help="folder to create (default: the convsim cache)")
    sub.add_argument("--train", type=int, default=1000, help="photos per class")
    sub.add_argument("--validation", type=int, default=500, help="photos per class")
    sub.add_argument("--test", type=int, default=500, help="photos per class")
    sub.add_argument("--overwrite", action="store_true",
                     help="replace an existing destination folder")
    return parser


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    args = build_parser().parse_args(argv)
    console = console if console is not None else Console(stderr=True)
    try:
        if args.command in ("mnist", "fashion-mnist"):
            module = mnist if args.command == "mnist" else fashion_mnist
            download = False if args.no_download else None
            module.load(args.path, download=download, console=console)
        else:
            archive = args.archive or cats_vs_dogs.download(console=console)
            cats_vs_dogs.build_small_dataset(
                archive, args.dest, train=args.train, validation=args.validation,
                test=args.test, overwrite=args.overwrite, console=console)
    except (DatasetError, ValueError) as err:
        console.print(f"error: {err}", markup=False, highlight=False,
                      soft_wrap=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
