"""Ctrl+C during training: stop after the current batch, never inside a kernel.

Pressing Ctrl+C sends SIGINT, and Python turns it into a ``KeyboardInterrupt``
wherever the program happens to be. During training that is almost always
inside a Numba kernel, and an exception that appears there can leave a
``SystemError`` ("returned a result with an exception set"), a half-updated
optimizer, or a process that never exits. So while :func:`deferred` is
active, the first Ctrl+C only *notes* the request; the training loops call
:func:`check` between batches, and it raises :class:`TrainingInterrupted`
there, where the model, the optimizer and the data are in a consistent state
(``BackupAndRestore`` saves a checkpoint at exactly that point).

A second Ctrl+C does not wait: by default it raises ``KeyboardInterrupt`` at
once (as if nothing had been deferred); the ``train`` commands ask for
``second="exit"``, which ends the process with status 130 right away, after
one line on stderr saying which checkpoint is intact.

Signal handlers belong to the main thread: elsewhere (and when SIGINT is
ignored or handled by someone else) :func:`deferred` changes nothing.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from convsim.errors import ArgumentError

__all__ = ["TrainingInterrupted", "check", "deferred", "requested"]

SECOND_PRESS = ("raise", "exit")


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl+C stopped ``fit``/``evaluate``/``predict`` between two batches.

    A ``KeyboardInterrupt``, so ``except KeyboardInterrupt`` still catches it.

    Attributes:
        where: e.g. ``"in epoch 2/5 after batch 41/100"``.
        checkpoint: the checkpoint file that holds the run up to that point
            (written by ``BackupAndRestore``), or None if nothing was saved.
    """

    def __init__(self, where: str, checkpoint=None):
        self.where = where
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        saved = (f"; everything up to there is in the checkpoint "
                 f"{self.checkpoint!r}" if self.checkpoint is not None
                 else "; nothing was saved (no BackupAndRestore callback)")
        super().__init__(f"Stopped by Ctrl+C {where}{saved}.")


class _State:
    """The handler installed by the outermost :func:`deferred` block."""

    def __init__(self):
        self.depth = 0
        self.requested = False
        self.second = "raise"
        self.last_words: Callable[[], str] | None = None
        self.previous = None

    def handle(self, signum, frame) -> None:
        if not self.requested:
            self.requested = True  # acted on between batches, see check()
            return
        if self.second == "exit":
            words = self.last_words() if self.last_words else ""
            # os.write: a signal handler must not use buffered streams, which
            # may be in the middle of a write of their own.
            os.write(2, f"\nSecond Ctrl+C: stopped at once. {words}\n".encode())
            os._exit(130)
        raise KeyboardInterrupt


_state = _State()


@contextmanager
def deferred(second: str = "raise",
             last_words: Callable[[], str] | None = None) -> Iterator[None]:
    """Within the block, Ctrl+C is acted on between batches (see :func:`check`).

    Args:
        second: what a second Ctrl+C does: ``"raise"`` a ``KeyboardInterrupt``
            at once, or ``"exit"`` the process with status 130 at once.
        last_words: for ``"exit"``: a function giving the line to print first
            (e.g. which checkpoint is intact).

    Blocks nest: an inner block keeps the outer one's handler and choices.
    """
    if second not in SECOND_PRESS:
        raise ArgumentError(f"`second` must be one of {SECOND_PRESS}. Received: "
                            f"second={second!r}")
    if _state.depth:
        _state.depth += 1
        try:
            yield
        finally:
            _state.depth -= 1
        return
    installed = _install()
    _state.depth, _state.requested = 1, False
    _state.second, _state.last_words = second, last_words
    try:
        yield
    finally:
        _state.depth = 0
        if installed:
            signal.signal(signal.SIGINT, _state.previous)


def _install() -> bool:
    """Put our handler in place of Python's default one (only that one: an
    ignored SIGINT, e.g. in a background job, stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    current = signal.getsignal(signal.SIGINT)
    if current is not signal.default_int_handler:
        return False
    _state.previous = current
    signal.signal(signal.SIGINT, _state.handle)
    return True


def requested() -> bool:
    """Whether Ctrl+C was pressed inside the current :func:`deferred` block."""
    return _state.depth > 0 and _state.requested


def check(where: Callable[[], str], on_stop: Callable[[], object] = None) -> None:
    """Between two batches: if Ctrl+C was pressed, call ``on_stop()`` (e.g.
    save a checkpoint; its result is the checkpoint's path or None) and raise
    :class:`TrainingInterrupted` saying ``where()`` training stopped."""
    if requested():
        checkpoint = on_stop() if on_stop is not None else None
        raise TrainingInterrupted(where(), checkpoint)
