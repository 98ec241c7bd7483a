"""Keras-style progress bar drawn with rich.

While an epoch runs (``verbose=1``) one line is redrawn in place::

     12/63 ━━━━━━━━━━━━━━━━━━━━ 3s 61ms/step - loss: 1.2034 - acc: 0.6111

and when it ends the time left becomes the time taken. ``verbose=2`` prints only
the final line (``63/63 - 4s - 62ms/step - loss: ...``), which suits log files.
On a console that is not a terminal the live line is not animated: only the
final line is written.

The clock is injectable so tests can check exact frames. ``lang="ko"`` says
the line's words in Korean, as the ``train`` commands do with ``--lang ko``
(``12/63 ━━━ 3s 61ms/스텝 - loss: ...``); the metrics keep their names, the
keys of ``history.history``.
"""

from __future__ import annotations

import time

from rich.console import Console
from rich.live import Live
from rich.text import Text

__all__ = ["WORDS", "Progbar", "format_duration", "format_value"]

#: The progress line's words (and the ``Epoch 1/5`` line above it).
WORDS = {"en": {"epoch": "Epoch", "step": "step", "unknown": "Unknown"},
         "ko": {"epoch": "에포크", "step": "스텝", "unknown": "알 수 없음"}}

BAR_WIDTH = 20
REFRESH_SECONDS = 0.1  # redraw at most ten times a second


def format_duration(seconds: float) -> str:
    """``45s``, ``2:05`` or ``1:02:05`` (Keras's ETA style)."""
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
    if seconds >= 60:
        return f"{seconds // 60}:{seconds % 60:02d}"
    return f"{seconds}s"


def format_per_step(seconds: float, step: str = "step") -> str:
    if seconds >= 1:
        return f"{seconds:.0f}s/{step}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{step}"
    return f"{seconds * 1e6:.0f}us/{step}"


def format_value(value: float) -> str:
    return f"{value:.4f}" if abs(value) > 1e-3 or value == 0 else f"{value:.4e}"


class Progbar:
    """One progress line for ``target`` steps (``None`` when unknown).

    Args:
        target: number of steps, or ``None`` (shown as ``Unknown``).
        console: rich Console to draw on.
        verbose: 1 (live bar), 2 (final line only) or 0 (nothing).
        clock: function returning seconds (default ``time.perf_counter``).
        lang: the words' language, ``"en"`` or ``"ko"``.
    """

    def __init__(self, target, console: Console, verbose=1, clock=None,
                 lang: str = "en"):
        self.words = WORDS.get(lang, WORDS["en"])
        self.target = target
        self.console = console
        self.verbose = verbose
        self.clock = clock or time.perf_counter
        self.start = self.clock()
        self._last_draw = -1.0
        self._live: Live | None = None
        self._done = False

    def render(self, current: int, values: dict, finalize: bool = False) -> Text:
        """The text of the line after ``current`` steps (also used by tests)."""
        elapsed = self.clock() - self.start
        per_step = elapsed / current if current else 0.0
        text = Text()
        if self.target is not None:
            width = len(str(self.target))
            text.append(f"{current:>{width}}/{self.target} ")
            filled = BAR_WIDTH if finalize else int(BAR_WIDTH * current / max(
                self.target, 1))
            text.append("━" * filled, style="green")
            text.append("━" * (BAR_WIDTH - filled), style="bright_black")
        else:
            text.append(f"{current}/{self.words['unknown']}")
        if finalize or self.target is None:
            text.append(f" {format_duration(elapsed)}")
        else:
            text.append(f" {format_duration(per_step * (self.target - current))}")
        if current:
            text.append(f" {format_per_step(per_step, self.words['step'])}")
        for key, value in values.items():
            text.append(f" - {key}: {format_value(float(value))}")
        return text

    def render_line(self, current: int, values: dict) -> Text:
        """The ``verbose=2`` line: ``63/63 - 4s - 62ms/step - loss: ...``."""
        elapsed = self.clock() - self.start
        parts = [f"{current}/{self.target if self.target is not None else current}",
                 format_duration(elapsed)]
        if current:
            parts.append(format_per_step(elapsed / current, self.words["step"]))
        parts += [f"{k}: {format_value(float(v))}" for k, v in values.items()]
        return Text(" - ".join(parts))

    def update(self, current: int, values: dict | None = None,
               finalize: bool = False) -> None:
        if self.verbose == 0 or self._done:
            return
        values = values or {}
        if self.verbose == 2:
            if finalize:
                self.console.print(self.render_line(current, values), soft_wrap=True)
                self._done = True
            return
        if not self.console.is_terminal:
            # a log file or a pipe: no animation, just the finished line
            if finalize:
                self.console.print(self.render(current, values, True), soft_wrap=True)
                self._done = True
            return
        now = self.clock()
        if not finalize and now - self._last_draw < REFRESH_SECONDS:
            return
        self._last_draw = now
        line = self.render(current, values, finalize)
        if self._live is None:
            self._live = Live(line, console=self.console, auto_refresh=False,
                              transient=False, redirect_stdout=False,
                              redirect_stderr=False)
            self._live.start()
        self._live.update(line, refresh=True)
        if finalize:
            self._live.stop()
            self._done = True

    def close(self) -> None:
        """Stop the live line without a final update (e.g. after an error)."""
        if self._live is not None and not self._done:
            self._live.stop()
            self._done = True
