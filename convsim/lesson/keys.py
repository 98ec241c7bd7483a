"""Keys for ``--step`` and pausing: from the real terminal, or scripted in tests.

The player only asks a key source ``read(timeout)`` for the next command
(``'next'``, ``'prev'``, ``'pause'``, ``'quit'``, or ``None`` when ``timeout``
seconds pass without one). Three sources:

* :class:`TerminalKeys` reads single key presses. It switches the terminal to
  cbreak mode (keys arrive without Enter, Ctrl-C still works) only inside its
  ``with`` block and always restores the settings in ``finally``.
* :class:`ScriptedKeys` replays a list of keys, for tests (no TTY needed).
* :class:`NoKeys` just waits (stdin is not a terminal).
"""

from __future__ import annotations

import contextlib
import os
import select
import sys
import time
from collections.abc import Iterable, Iterator

# raw key -> command; arrows arrive as escape sequences
KEYMAP = {
    " ": "pause", "n": "next", "N": "next", "\r": "next", "\n": "next",
    "\x1b[C": "next", "\x1bOC": "next", "p": "prev", "P": "prev",
    "\x1b[D": "prev", "\x1bOD": "prev", "q": "quit", "Q": "quit", "\x1b": "quit",
}
COMMANDS = ("next", "prev", "pause", "quit")


def decode(raw: str) -> list[str]:
    """Commands in a chunk of raw input (several keys may arrive at once)."""
    commands, i = [], 0
    while i < len(raw):
        for length in (3, 1):
            chunk = raw[i:i + length]
            lone_escape = chunk != "\x1b" or i + 1 == len(raw)
            if chunk in KEYMAP and (length == 3 or lone_escape):
                commands.append(KEYMAP[chunk])
                i += length
                break
        else:
            i += 1  # an unmapped key (or the rest of an unknown sequence)
    return commands


class Clock:
    """Real time; tests pass a fake with the same two methods."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0.0))


class KeySource:
    """Base: a context manager (terminal mode) with ``read`` and ``suspended``.

    ``interactive`` says whether a person can press keys: only then may the
    player wait for one (a narration waits until you have read it).
    """

    interactive = False

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        """Normal line input (for quiz answers) for the duration of the block."""
        yield

    def read(self, timeout: float | None) -> str | None:
        raise NotImplementedError


class ScriptedKeys(KeySource):
    """Replays commands or raw keys; ``None`` in the script means "time passes".

    When the script runs out it answers ``'quit'``, so a test can never hang.
    It stands for a person at a keyboard (``interactive``).
    """

    interactive = True

    def __init__(self, keys: Iterable[str | None], clock: Clock | None = None):
        self._keys = iter(keys)
        self.clock = clock
        self.reads: list[float | None] = []

    def read(self, timeout: float | None) -> str | None:
        self.reads.append(timeout)
        key = next(self._keys, "quit")
        if key is None:
            if self.clock is not None and timeout is not None:
                self.clock.sleep(timeout)
            return None
        if key in COMMANDS:
            return key
        commands = decode(key)
        return commands[0] if commands else None


class NoKeys(KeySource):
    """No keyboard (stdin is not a terminal): every read just waits."""

    def __init__(self, clock: Clock | None = None):
        self.clock = clock or Clock()

    def read(self, timeout: float | None) -> str | None:
        self.clock.sleep(1.0 if timeout is None else timeout)
        return None


class TerminalKeys(KeySource):
    """Single key presses from a real terminal (POSIX termios, or Windows msvcrt)."""

    interactive = True

    def __init__(self, stream=None):
        self.stream = stream or sys.stdin
        self._saved = None
        self._pending: list[str] = []

    def __enter__(self):
        with contextlib.suppress(ImportError):
            import termios
            import tty

            fd = self.stream.fileno()
            self._saved = termios.tcgetattr(fd)
            tty.setcbreak(fd)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    def _restore(self) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSADRAIN, self._saved)

    @contextlib.contextmanager
    def suspended(self) -> Iterator[None]:
        self._restore()
        try:
            yield
        finally:
            if self._saved is not None:
                import tty

                tty.setcbreak(self.stream.fileno())

    def read(self, timeout: float | None) -> str | None:
        if self._pending:
            return self._pending.pop(0)
        raw = self._read_raw(timeout)
        self._pending = decode(raw) if raw else []
        return self._pending.pop(0) if self._pending else None

    def _read_raw(self, timeout: float | None) -> str:
        if os.name == "nt":  # pragma: no cover - Windows console
            return _read_windows(timeout)
        fd = self.stream.fileno()
        ready, _, _ = select.select([fd], [], [], timeout)
        if not ready:
            return ""
        raw = os.read(fd, 32)
        return raw.decode("utf-8", errors="ignore")


def _read_windows(timeout: float | None) -> str:  # pragma: no cover
    import msvcrt

    deadline = None if timeout is None else time.monotonic() + timeout
    while deadline is None or time.monotonic() < deadline:
        if msvcrt.kbhit():
            key = msvcrt.getwch()
            if key in ("\x00", "\xe0"):  # arrows: a prefix then a code
                return {"M": "\x1b[C", "K": "\x1b[D"}.get(msvcrt.getwch(), "")
            return key
        time.sleep(0.02)
    return ""
