"""Plays a lesson: animated with rich ``Live``, step by step, or as plain text.

Modes:

* ``'animate'``: frames replace each other in place at ``fps`` frames per
  second. Space pauses and resumes, n/→/Enter go forward, p/← go back (and
  pause), q quits. ``start_paused=True`` is ``--step``: nothing moves until
  a key says so.
* ``'print'``: the key frames one after another as ordinary output (for pipes,
  notebooks, CI, and ``--no-animate``).

With ``quiz=True`` each frame carrying a :class:`~convsim.lesson.frames.Question`
first asks it (through ``ask``, injectable for tests), then says whether the
answer was right and shows the frame that reveals it.

Everything the player touches is injected: the rich ``Console``, the key
source, the ``ask`` function and (through the key source) the clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.live import Live
from rich.text import Text

from convsim.errors import ArgumentError
from convsim.lesson.frames import Frame, Lesson, Question, compose, status_line
from convsim.lesson.keys import KeySource, NoKeys
from convsim.lesson.words import word

MODES = ("animate", "print")


@dataclass
class PlayResult:
    shown: list[int] = field(default_factory=list)  # frame indices, in order shown
    asked: int = 0
    right: int = 0
    quit: bool = False


class Player:
    """Shows a :class:`Lesson` on a console.

    Args:
        console: where everything is drawn.
        mode: ``'animate'`` or ``'print'``.
        fps: frames per second when animating.
        start_paused: begin paused (``--step``).
        quiz: ask the frames' questions.
        keys: a key source (default: none, frames just advance).
        ask: ``ask(prompt) -> answer`` (default: ``console.input``).
    """

    def __init__(self, console: Console | None = None, *, mode: str = "print",
                 fps: float = 2.0, start_paused: bool = False, quiz: bool = False,
                 keys: KeySource | None = None,
                 ask: Callable[[str], str] | None = None):
        if mode not in MODES:
            raise ArgumentError(f"`mode` must be one of {MODES}. Received: "
                                f"mode={mode!r}")
        if not fps > 0:
            raise ArgumentError(f"`fps` must be a positive number. Received: "
                                f"fps={fps!r}")
        self.console = console or Console()
        self.mode, self.fps = mode, fps
        self.start_paused, self.quiz = start_paused, quiz
        self.keys = keys or NoKeys()
        self.ask = ask or (lambda prompt: self.console.input(prompt))

    def play(self, lesson: Lesson) -> PlayResult:
        result = PlayResult()
        if self.mode == "print":
            self._print(lesson, result)
        else:
            with self.keys:
                self._animate(lesson, result)
        if result.asked:
            self.console.print(word("score", lesson.lang).format(
                right=result.right, asked=result.asked), style="bold")
        return result

    # ------------------------------------------------------------ print mode

    def _print(self, lesson: Lesson, result: PlayResult) -> None:
        printed = -1
        for i, frame in enumerate(lesson.frames):
            asks = self.quiz and frame.question is not None
            if asks:
                if printed < i - 1:  # show the moment just before the answer
                    self._show(lesson, i - 1, result)
                if not self._ask(frame.question, lesson.lang, result):
                    return
            if frame.key or asks:
                self._show(lesson, i, result)
                printed = i

    def _show(self, lesson: Lesson, i: int, result: PlayResult) -> None:
        self.console.print(compose(lesson, i))
        self.console.print()
        result.shown.append(i)

    # ------------------------------------------------------------ animate mode

    def _animate(self, lesson: Lesson, result: PlayResult) -> None:
        frames: list[Frame] = list(lesson.frames)
        asked: set[int] = set()
        paused, i = self.start_paused, 0
        live = self._live()
        try:
            while 0 <= i < len(frames):
                frame = frames[i]
                if self.quiz and frame.question is not None and i not in asked:
                    asked.add(i)
                    live.stop()
                    with self.keys.suspended():
                        go_on = self._ask(frame.question, lesson.lang, result)
                    if not go_on:
                        break
                    live = self._live()
                live.update(compose(lesson, i, status_line(lesson.lang, paused)),
                            refresh=True)
                result.shown.append(i)
                key = self.keys.read(None if paused else frame.hold / self.fps)
                if key == "quit":
                    result.quit = True
                    break
                if key == "pause":
                    paused = not paused
                    result.shown.pop()  # the same frame again, new status
                elif key == "prev":
                    i, paused = max(i - 1, 0), True
                else:  # 'next', or time is up
                    i += 1
        finally:
            live.stop()

    def _live(self) -> Live:
        live = Live(console=self.console, auto_refresh=False, transient=False,
                    redirect_stdout=False, redirect_stderr=False)
        live.start()
        return live

    # ------------------------------------------------------------ quiz

    def _ask(self, question: Question, lang: str, result: PlayResult) -> bool:
        """Ask, judge, explain. False when the learner wants to stop (EOF)."""
        self.console.print(Text.from_markup(f"[bold yellow]?[/] {question.prompt}"))
        try:
            answer = self.ask(f"{word('your_answer', lang)}> ")
        except (EOFError, KeyboardInterrupt):
            self.console.print()
            return False
        answer = (answer or "").strip()
        if answer.lower() in ("q", "quit"):
            return False
        if not answer:
            verdict, style = word("skipped", lang), "grey50"
        else:
            result.asked += 1
            right = bool(question.check(answer))
            result.right += right
            verdict = word("right" if right else "wrong", lang)
            style = "bold green" if right else "bold red"
        self.console.print(Text(verdict, style=style), Text(
            f"{word('answer', lang)}: {question.answer}", style="bold"))
        if question.explain:
            self.console.print(Text.from_markup(question.explain))
        return True
