"""Say so when the first run waits for Numba to compile convsim's kernels.

Numba turns each kernel into machine code the first time it runs, and keeps
the result on disk (``cache=True`` on every kernel). So the very first lesson
or training run waits, silently, while the kernels compile: about 5 to 15
seconds for a lesson and 25 for ``train mnist`` on 2 cores, and its first
epoch is many times slower than the next. Every later run loads the machine
code from disk in a moment.

**How we know it is compiling.** Numba announces each compilation it does
as a ``"numba:compile"`` event (:mod:`numba.core.event`), and a kernel found
in the on-disk cache is loaded without one. So :class:`CompileNotice`
listens to those events for convsim's own functions and, once they have
kept the process busy for ``threshold`` seconds (one second: a longer
silence looks like a hang), calls ``announce`` once, from a timer thread,
while the compiling goes on. A warm start compiles nothing and says
nothing; a short recompilation (a new array type) stays quiet too.

**A first run says it at once.** The timer above waits a second, and
importing Python's libraries takes about another before compiling starts.
So the entry points also ask :func:`nothing_on_disk` first: when Numba's
cache holds no machine code for any of convsim's kernels
(:func:`convsim.kernels.cached_kernels`) (a fresh install,
an empty ``NUMBA_CACHE_DIR``), compiling is certain, and
:meth:`CompileNotice.say_now` says so before it begins.

The words are the entry points' (:func:`message` has them in English and
Korean); this room only knows when. Use it as a context manager::

    with compile_notice(lambda: console.print(message("en", 15))):
        run_the_lesson()

or call ``notice = CompileNotice(announce).start()`` and ``notice.stop()``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator

from numba.core import event

__all__ = ["CompileNotice", "compile_notice", "message", "nothing_on_disk"]

#: Compilations of functions in these modules are convsim's.
PACKAGE = "convsim."

#: Seconds of compiling before the learner is told (a silent second is fine).
THRESHOLD = 1.0

MESSAGES = {
    "en": {
        "compiling": "Compiling convsim's kernels once (about {seconds} s)… Numba "
                     "keeps them on disk, so the next runs start at once.",
        "epoch": " Your first epoch waits for this and is slower than the next.",
    },
    "ko": {
        "compiling": "convsim의 커널을 처음 한 번 컴파일합니다 (약 {seconds}초)… "
                     "Numba가 디스크에 저장해 두므로 다음 실행부터는 바로 시작합니다.",
        "epoch": " 첫 에포크는 이 시간을 기다리므로 다음 에포크보다 느립니다.",
    },
}


def message(lang: str, seconds: float, first_epoch: bool = False) -> str:
    """The sentence for a cold start, with the measured ``seconds`` it takes;
    ``first_epoch`` adds why training's first epoch is slow."""
    words = MESSAGES.get(lang, MESSAGES["en"])
    text = words["compiling"].format(seconds=f"{seconds:g}")
    return text + (words["epoch"] if first_epoch else "")


class CompileNotice(event.Listener):
    """Calls ``announce()`` once, when Numba has spent ``threshold`` seconds
    compiling functions of ``package`` (nested compilations count once).

    Args:
        announce: what to do (print the message); called from a timer thread.
        threshold: seconds of compiling before ``announce`` is called.
        clock: seconds, for measuring (tests pass a fake).
        timer: ``timer(seconds, function)`` returning an object with
            ``start()`` and ``cancel()``, like :class:`threading.Timer`.
        package: module prefix of the functions that count.
    """

    def __init__(self, announce: Callable[[], object], threshold: float = THRESHOLD,
                 *, clock: Callable[[], float] = time.perf_counter,
                 timer=threading.Timer, package: str = PACKAGE):
        self.announce, self.threshold = announce, threshold
        self.clock, self.timer, self.package = clock, timer, package
        self.announced = False
        self.spent = 0.0  # seconds of finished compiling
        self._depth, self._since, self._pending = 0, 0.0, None
        self._lock = threading.Lock()

    def _ours(self, ev) -> bool:
        dispatcher = ev.data.get("dispatcher") if isinstance(ev.data, dict) else None
        module = getattr(getattr(dispatcher, "py_func", None), "__module__", "")
        return (module or "").startswith(self.package)

    def on_start(self, ev) -> None:
        if not self._ours(ev):
            return
        with self._lock:
            self._depth += 1
            if self._depth > 1 or self.announced:
                return
            self._since = self.clock()
            self._pending = self.timer(max(self.threshold - self.spent, 0.0),
                                       self._fire)
            if hasattr(self._pending, "daemon"):
                self._pending.daemon = True  # never keeps the process alive
            self._pending.start()

    def on_end(self, ev) -> None:
        if not self._ours(ev):
            return
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self.spent += self.clock() - self._since
                self._cancel()

    def say_now(self) -> None:
        """Announce at once (compiling is certain), and never again."""
        with self._lock:
            if self.announced:
                return
            self.announced = True
            self._cancel()
        self.announce()

    def _fire(self) -> None:
        """The timer ran out: say it if the compiling is still going on."""
        with self._lock:
            if self.announced or self._depth == 0:
                return
            self.announced = True
            self._pending = None
        self.announce()

    def _cancel(self) -> None:
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None

    def start(self) -> CompileNotice:
        """Begin listening to Numba's compilations; returns ``self``."""
        event.register("numba:compile", self)
        return self

    def stop(self) -> None:
        """Stop listening and stop the timer (the run is over)."""
        with contextlib.suppress(ValueError):  # stopped twice
            event.unregister("numba:compile", self)
        with self._lock:
            self._cancel()


def nothing_on_disk(kernels) -> bool:
    """Whether Numba's on-disk cache holds nothing for any of ``kernels``
    (``cache=True`` Numba functions): no index file where Numba will look for
    one (its own locator: ``__pycache__`` beside the source, or
    ``NUMBA_CACHE_DIR``). False when Numba does not say where (the index
    path is a private attribute, so a future Numba may move it): then only
    the timer speaks."""
    found = False
    for kernel in kernels:
        try:
            index = kernel._cache._cache_file._index_path
        except AttributeError:
            continue
        if os.path.exists(index):
            return False
        found = True
    return found


@contextlib.contextmanager
def compile_notice(announce: Callable[[], object],
                   threshold: float = THRESHOLD) -> Iterator[CompileNotice]:
    """Listen for convsim's compilations inside the ``with`` block."""
    notice = CompileNotice(announce, threshold).start()
    try:
        yield notice
    finally:
        notice.stop()
