"""Every command answers a wrong option with one line that says what is
wrong and where to read more, not argparse's usage block first."""

from __future__ import annotations

import subprocess
import sys

import pytest

CASES = [
    (["-m", "convsim", "lesson", "padding", "--size", "99"],
     "python -m convsim.lesson: error: --size for the 'padding' lesson must be "
     "between 3 and 9. Received: --size 99 (see: python -m convsim.lesson --help)"),
    (["-m", "convsim", "lesson", "nosuch"], "Unknown lesson 'nosuch'"),
    (["-m", "convsim", "train", "mnist", "--epochs", "-1"],
     "convsim train mnist: error: argument --epochs: expected a positive integer, "
     "got -1 (see: convsim train mnist --help)"),
    (["-m", "convsim", "explain", "--at", "x"], "error: argument --at"),
    (["-m", "convsim", "bogus"], "convsim: error: argument COMMAND: invalid choice"),
    (["-m", "convsim.datasets", "bogus"], "error: argument COMMAND: invalid choice"),
]


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.parametrize(("argv", "said"), CASES)
def test_a_wrong_option_is_one_line(argv, said):
    run = subprocess.run([sys.executable, *argv], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert said in lines[0] and lines[0].endswith(" --help)")
    assert "Traceback" not in run.stderr and run.stdout == ""
