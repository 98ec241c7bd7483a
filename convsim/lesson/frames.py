"""Frames, questions and lessons: the data a lesson hands to the player.

A lesson is a list of :class:`Frame` objects. Each frame knows how to draw
itself (``view``), what to say (``caption``), whether it is a *key* frame (the
ones printed with ``--no-animate``), and optionally a :class:`Question` that
``--quiz`` asks *before* the frame reveals its answer. ``data`` carries the
numbers a frame shows, so tests can check them without parsing text.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rich.console import RenderableType
from rich.panel import Panel
from rich.text import Text

from convsim.lesson.layout import Screen
from convsim.lesson.status import status_line

__all__ = ["Frame", "Lesson", "Question", "any_of_check", "compose", "ints_check",
           "ints_in", "number_check", "status_line"]


@dataclass(frozen=True)
class Question:
    """A prediction the learner makes before a frame shows the answer.

    ``check`` gets the learner's text and says whether it is right; ``answer``
    is the right answer as text; ``explain`` says why (shown either way).
    """

    prompt: str
    check: Callable[[str], bool]
    answer: str
    explain: str = ""


@dataclass(frozen=True)
class Frame:
    view: RenderableType | Callable[[], RenderableType]
    caption: str = ""
    key: bool = False
    hold: float = 1.0  # how many frame times it stays on screen
    question: Question | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def render(self) -> RenderableType:
        return self.view() if callable(self.view) else self.view


@dataclass(frozen=True)
class Lesson:
    name: str
    title: str
    frames: Sequence[Frame]
    lang: str = "en"


def compose(lesson: Lesson, index: int, status: str | Text | None = None,
            height: int | None = None) -> RenderableType:
    """One screen: title bar, the frame's view, its caption, and a status line
    (:func:`~convsim.lesson.status.status_line`: what the keys do now).

    ``height`` is the screen's number of lines when the frame is shown in
    place (the animated player): the view gets the lines the others leave, so
    the caption and the status line are never pushed off the bottom
    (:class:`~convsim.lesson.layout.Screen`). None when frames scroll."""
    frame = lesson.frames[index]
    head = Text.assemble((f" {lesson.title} ", "bold white on #2f6fdf"), " ",
                         (f"{index + 1}/{len(lesson.frames)}", "grey50"))
    parts: list[RenderableType] = [head, frame.render()]
    if frame.caption:
        parts.append(Panel(Text.from_markup(frame.caption), border_style="#2f6fdf",
                           padding=(0, 1), expand=False))
    if status:
        parts.append(status if isinstance(status, Text) else Text(status,
                                                                   style="grey50"))
    return Screen(parts[1], above=parts[:1], below=parts[2:], height=height)


# ---------------------------------------------------------------- answer checks


def number_check(expected: float, tolerance: float = 0.01) -> Callable[[str], bool]:
    """Right when the answer is a number within ``tolerance`` of ``expected``."""

    def check(text: str) -> bool:
        try:
            return abs(float(text.strip().replace(",", "")) - expected) <= tolerance
        except ValueError:
            return False

    return check


def ints_in(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"-?\d+", text)]


def ints_check(expected: Sequence[int]) -> Callable[[str], bool]:
    """Right when the integers in the answer are ``expected``: accepts
    ``5x5``, ``5 5``, ``(5, 5)``, ``5×5×32``..."""
    return lambda text: ints_in(text) == list(expected)


def any_of_check(options: Sequence[Sequence[int]]) -> Callable[[str], bool]:
    """Like :func:`ints_check`, accepting any of several answers (ties)."""
    return lambda text: ints_in(text) in [list(o) for o in options]
