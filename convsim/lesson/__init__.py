"""The lesson engine: ``python -m convsim.lesson NAME`` (or ``convsim lesson NAME``).

One module per job: :mod:`~convsim.lesson.cli` (the command line),
:mod:`~convsim.lesson.catalog` (finds the lessons and checks each against the
lesson protocol), :mod:`~convsim.lesson.frames` (what a lesson hands to the
player), :mod:`~convsim.lesson.player` (plays frames in the terminal),
:mod:`~convsim.lesson.keys` (key presses), :mod:`~convsim.lesson.story` (the
narrated step-by-step sequences lessons share) and
:mod:`~convsim.lesson.words` (the player's words in English and Korean).

The lessons themselves are in the top-level ``lessons/`` folder (installed as
``convsim.lessons``); ``lessons/README.md`` describes what a lesson module
provides.
"""

from convsim.lesson import catalog
from convsim.lesson.cli import main

__all__ = ["LESSONS", "catalog", "main"]


def __getattr__(name: str):
    """``LESSONS``: the lessons' command-line names in the book's order, read
    from ``CONTENTS`` in lessons/__init__.py each time (no second list here)."""
    if name == "LESSONS":
        return catalog.names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
