"""Command line: ``python -m convsim demo`` (more commands arrive with the lessons
and the trainer)."""

from __future__ import annotations

import argparse
import sys


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="convsim",
        description="Learn convolutional networks step by step, then train real ones.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("demo", help="show one 3x3 convolution over a 5x5 image")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from convsim import demo

        demo.run()
        return 0
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
