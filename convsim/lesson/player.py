"""Plays a lesson: animated with rich ``Live``, step by step, or as plain text.

Modes:

* ``'animate'``: frames replace each other in place. How long each stays
  comes from :mod:`convsim.lesson.pace`: a narration (a caption with
  something new to read) waits for a key when a person is at the keyboard,
  or stays for its reading time at ``wpm`` words per minute when ``wpm`` is
  given or nobody can press keys; the sliding window's frames go at ``fps``.
  Space goes on from a narration and otherwise pauses and resumes, n/→/Enter
  go forward, p/← go back (and pause), q quits. ``start_paused=True`` is
  ``--step``: every frame waits for a key. The line of key hints under the
  frame (:mod:`convsim.lesson.status`) is taken away when the lesson ends or
  is quit, so what stays on your screen is the lesson.
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
from convsim.lesson.frames import Lesson, Question, compose
from convsim.lesson.keys import KeySource, NoKeys
from convsim.lesson.pace import DEFAULT_WPM, plan
from convsim.lesson.status import status_line
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
        fps: frames per second of the animation (``--fps``).
        wpm: reading speed, words per minute (``--wpm``): given, every
            narration moves on by itself after its reading time; ``None``, a
            narration waits for a key when ``keys`` is interactive, else it
            is timed at :data:`~convsim.lesson.pace.DEFAULT_WPM`.
        start_paused: begin paused (``--step``).
        quiz: ask the frames' questions.
        keys: a key source (default: none, frames just advance).
        ask: ``ask(prompt) -> answer`` (default: ``console.input``).
    """

    def __init__(self, console: Console | None = None, *, mode: str = "print",
                 fps: float = 2.0, wpm: float | None = None,
                 start_paused: bool = False, quiz: bool = False,
                 keys: KeySource | None = None,
                 ask: Callable[[str], str] | None = None):
        if mode not in MODES:
            raise ArgumentError(f"`mode` must be one of {MODES}. Received: "
                                f"mode={mode!r}")
        for name, value in (("fps", fps), ("wpm", wpm)):
            if value is not None and not value > 0:
                raise ArgumentError(f"`{name}` must be a positive number. "
                                    f"Received: {name}={value!r}")
        self.console = console or Console()
        self.mode, self.fps, self.wpm = mode, fps, wpm
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
        frames = list(lesson.frames)
        beats = plan(frames, fps=self.fps, wpm=self.wpm or DEFAULT_WPM)
        # a narration waits for the reader when one can press a key
        wait = self.keys.interactive and self.wpm is None
        asked: set[int] = set()
        paused, i = self.start_paused, 0
        live = self._live()
        try:
            while 0 <= i < len(frames):
                if self.quiz and frames[i].question is not None and i not in asked:
                    asked.add(i)
                    self._leave(live, lesson, result)
                    with self.keys.suspended():
                        go_on = self._ask(frames[i].question, lesson.lang, result)
                    if not go_on:
                        break
                    live = self._live()
                state = ("paused" if paused else
                         "reading" if wait and beats[i].narration else "playing")
                live.update(compose(lesson, i, status_line(lesson.lang, state,
                                                           first=i == 0),
                                    height=self.console.height), refresh=True)
                result.shown.append(i)
                timeout = None if state != "playing" else beats[i].seconds
                key = self.keys.read(timeout)
                if key == "quit":
                    result.quit = True
                    break
                if key == "pause" and state != "reading":
                    paused = not paused
                    result.shown.pop()  # the same frame again, new status
                elif key is None and timeout is None and self.keys.interactive:
                    result.shown.pop()  # a key that means nothing: stay
                elif key == "prev":
                    i, paused = max(i - 1, 0), True
                else:  # 'next', space after a narration, or time is up
                    i += 1
        finally:
            self._leave(live, lesson, result)

    def _leave(self, live: Live, lesson: Lesson, result: PlayResult) -> None:
        """Stop the live display, first drawing the last frame shown again
        without its key hints: after q, the end, or before a quiz question,
        keys that no longer work must not stay on the screen."""
        if live.is_started and result.shown:
            live.update(compose(lesson, result.shown[-1],
                                height=self.console.height), refresh=True)
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
