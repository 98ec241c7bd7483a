"""Command lines that answer a mistake in one line.

argparse answers a wrong option with its whole usage block, six lines or
more, and the one line that matters comes last. convsim's commands use
:class:`ArgumentParser`, which prints only that line and where to read more:

    convsim train mnist: error: argument --epochs: expected a positive integer,
    got -1 (see: convsim train mnist --help)

Everything else is argparse's own; sub-command parsers are made of the same
class.
"""

from __future__ import annotations

import argparse

__all__ = ["ArgumentParser"]


class ArgumentParser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` whose errors are one line plus a pointer to
    ``--help`` (exit status 2, as argparse)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")
