"""Pieces of bench/run.py: the report's tables (report.py) and the start-up
timings that run other programs (startup.py)."""

import sys
import time

START = time.perf_counter()


def say(text: str) -> None:
    """One progress line on stderr (the tables go to stdout)."""
    print(f"[{time.perf_counter() - START:6.1f} s] {text}", file=sys.stderr,
          flush=True)
