"""Command line entry point: ``python -m convsim COMMAND`` (or ``convsim COMMAND``).

Commands:
    lesson   animated lessons (``python -m convsim lesson --list``)
    train    the book's convnets (``python -m convsim train mnist``)
    explain  one number of a trained convnet, worked out
             (``python -m convsim explain --layer conv2d_1 --at 4,7,12``)

Each command lives in its own module and parses its own options; this file only
dispatches, so ``python -m convsim --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from convsim.validation.command_line import ArgumentParser


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="convsim",
        description="Learn convolutional networks step by step, then train real ones.",
        epilog="Start here: python -m convsim lesson convolution",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser(
        "lesson", help="animated lessons; try: lesson --list", add_help=False
    )
    commands.add_parser(
        "train",
        help="train the book's convnets: train mnist | train cats-vs-dogs",
        add_help=False,
    )
    commands.add_parser(
        "explain",
        help="one number of a trained convnet worked out: products, sums, bias, "
             "activation, receptive field; try: explain --help",
        add_help=False,
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "lesson":
        from convsim.lesson import cli

        return cli.main(argv[1:])
    if argv and argv[0] == "train":
        from convsim.experiments import cli

        return cli.main(argv[1:])
    if argv and argv[0] == "explain":
        from convsim.experiments import explain_cli

        return explain_cli.main(argv[1:])
    parser = build_parser()
    parser.parse_args(argv)  # handles --help and rejects unknown commands
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
