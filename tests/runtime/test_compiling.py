"""The cold-start message: said once when Numba compiles convsim's kernels for
more than a second, never on a warm start.

The unit tests drive :class:`CompileNotice` with fake compile events, a fake
clock and a fake timer (nothing sleeps). Then real Numba: a function compiled
here fires the events, and the same function loaded from Numba's on-disk cache
fires none. A slow test runs a lesson in fresh processes on an empty cache.
"""

from __future__ import annotations

import importlib
import io
import os
import subprocess
import sys
import textwrap
from types import SimpleNamespace

import pytest
from rich.console import Console

from convsim.runtime import compiling
from convsim.runtime.compiling import CompileNotice, compile_notice, message


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


class FakeTimer:
    """Records what would run and when; the test makes it run."""

    made: list[FakeTimer] = []

    def __init__(self, seconds: float, function):
        self.seconds, self.function = seconds, function
        self.started = self.cancelled = False
        FakeTimer.made.append(self)

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def run_out(self) -> None:
        if not self.cancelled:
            self.function()


def compile_event(module: str = "convsim.kernels.conv"):
    function = SimpleNamespace(__module__=module)
    return SimpleNamespace(data={"dispatcher": SimpleNamespace(py_func=function)})


@pytest.fixture
def notice():
    FakeTimer.made = []
    said = []
    clock = FakeClock()
    n = CompileNotice(lambda: said.append("said"), 1.0, clock=clock, timer=FakeTimer)
    return n, clock, said


def test_a_long_compilation_is_announced_once_while_it_goes_on(notice):
    n, clock, said = notice
    n.on_start(compile_event())
    timer, = FakeTimer.made
    assert timer.started and timer.seconds == 1.0
    timer.run_out()  # a second later, still compiling
    assert said == ["said"] and n.announced
    clock.t = 9.0
    n.on_end(compile_event())
    n.on_start(compile_event())  # the next kernel: no second message
    n.on_end(compile_event())
    assert said == ["said"] and len(FakeTimer.made) == 1


def test_a_short_compilation_says_nothing(notice):
    n, clock, said = notice
    n.on_start(compile_event())
    clock.t = 0.3
    n.on_end(compile_event())
    timer, = FakeTimer.made
    assert timer.cancelled
    timer.run_out()
    assert said == [] and n.spent == pytest.approx(0.3)


def test_short_compilations_add_up(notice):
    n, clock, said = notice
    for start, end in ((0.0, 0.6), (1.0, 1.3)):
        clock.t = start
        n.on_start(compile_event())
        clock.t = end
        n.on_end(compile_event())
    assert said == [] and n.spent == pytest.approx(0.9)
    n.on_start(compile_event())
    third = FakeTimer.made[-1]
    assert third.seconds == pytest.approx(0.1)  # what is left of the second
    third.run_out()
    assert said == ["said"]


def test_nested_compilations_count_once_and_others_are_ignored(notice):
    n, clock, said = notice
    n.on_start(compile_event("numba.np.arrayobj"))  # Numba's own helpers
    n.on_end(compile_event("numba.np.arrayobj"))
    n.on_start(compile_event("my_script"))  # the learner's own @njit
    assert FakeTimer.made == []
    n.on_start(compile_event("convsim.kernels.conv"))
    n.on_start(compile_event("convsim.kernels.patches"))  # compiled inside it
    n.on_end(compile_event("convsim.kernels.patches"))
    timer, = FakeTimer.made
    assert not timer.cancelled  # the outer kernel is still compiling
    timer.run_out()
    assert said == ["said"]


def test_the_message_in_both_languages():
    assert message("en", 15) == (
        "Compiling convsim's kernels once (about 15 s)… Numba keeps them on disk, "
        "so the next runs start at once.")
    assert "first epoch" in message("en", 25, first_epoch=True)
    assert message("ko", 15).startswith(
        "convsim의 커널을 처음 한 번 컴파일합니다 (약 15초)")
    assert "첫 에포크" in message("ko", 25, first_epoch=True)
    assert set(compiling.MESSAGES["en"]) == set(compiling.MESSAGES["ko"])


KERNEL = """
from numba import njit

@njit(cache=True)
def double(x):
    return 2 * x
"""


def test_real_numba_compiling_is_seen_and_a_cached_load_is_not(tmp_path,
                                                              monkeypatch):
    """A function compiled here fires the events; imported again (a new
    process would do the same), it comes from Numba's on-disk cache: none."""
    (tmp_path / "coldstart_kernel.py").write_text(textwrap.dedent(KERNEL))
    monkeypatch.syspath_prepend(str(tmp_path))  # cached in its __pycache__
    FakeTimer.made = []
    said = []
    notice = CompileNotice(lambda: said.append("said"), 1.0, timer=FakeTimer,
                           package="coldstart_kernel").start()
    try:
        module = importlib.import_module("coldstart_kernel")
        assert module.double(3) == 6  # compiled now
        compiled = len(FakeTimer.made)
        assert compiled == 1 and FakeTimer.made[0].cancelled  # started, ended
        assert module.double(4) == 8  # already compiled: no event
        del sys.modules["coldstart_kernel"]
        again = importlib.import_module("coldstart_kernel")
        assert again.double(5) == 10  # loaded from the cache: no event
        assert len(FakeTimer.made) == compiled
        assert again.double.stats.cache_hits
    finally:
        notice.stop()
        sys.modules.pop("coldstart_kernel", None)
    assert said == []


def test_an_empty_cache_is_seen_before_anything_compiles(tmp_path, monkeypatch):
    """nothing_on_disk looks where Numba will: before the first call there is
    no index file, after it there is."""
    (tmp_path / "coldstart_probe.py").write_text(textwrap.dedent(KERNEL))
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("coldstart_probe")
        assert compiling.nothing_on_disk([module.double, "not a kernel"])
        module.double(3)  # compiled and written to tmp_path/__pycache__
        assert not compiling.nothing_on_disk([module.double])
    finally:
        sys.modules.pop("coldstart_probe", None)
    assert not compiling.nothing_on_disk(["no kernels at all"])


def test_convsims_kernels_are_all_found():
    from convsim.kernels import cached_kernels, conv, pool, updates

    found = cached_kernels()
    for kernel in (conv._conv2d_direct, pool.max_pool2d_forward, updates.adam):
        assert kernel in found
    assert all(hasattr(k, "py_func") for k in found)


def test_said_now_is_said_once(notice):
    n, clock, said = notice
    n.say_now()
    n.on_start(compile_event())
    n.say_now()
    for timer in FakeTimer.made:
        timer.run_out()
    assert said == ["said"]


def test_the_context_manager_stops_listening():
    from numba.core import event

    with compile_notice(lambda: None) as n:
        assert n in event._registered["numba:compile"]
    assert n not in event._registered["numba:compile"]
    n.stop()  # twice is harmless


def test_lesson_and_train_say_it_in_the_learners_language(monkeypatch):
    """The entry points' wiring: the notice's announcement prints the message
    (here the notice announces at once, as after a second of compiling)."""
    from convsim.experiments import cli as train_cli
    from convsim.lesson import cli as lesson_cli

    class AtOnce(CompileNotice):
        def start(self):
            self.announce()
            return self

    console = Console(file=io.StringIO(), width=200, force_terminal=True)
    monkeypatch.setattr(lesson_cli, "CompileNotice", AtOnce)
    assert lesson_cli.main(["stride", "--no-animate", "--lang", "ko"],
                           console=console) == 0
    said = console.file.getvalue()
    assert "convsim의 커널을 처음 한 번 컴파일합니다 (약 15초)" in said
    monkeypatch.setattr(train_cli, "CompileNotice", AtOnce)
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    parsed = SimpleNamespace(run=lambda args, console: 0)  # an experiment
    monkeypatch.setattr(train_cli, "build_parser", lambda: SimpleNamespace(
        parse_args=lambda argv: parsed))
    console = Console(file=io.StringIO(), width=200)
    assert train_cli.main([], console=console) == 0
    said = console.file.getvalue()
    assert "Compiling convsim's kernels once (about 25 s)" in said
    assert "Your first epoch waits for this" in said


def test_a_warm_lesson_says_nothing():
    from convsim.lesson import cli as lesson_cli

    # the first run may compile (an empty cache on a new machine); the second
    # finds every kernel compiled
    lesson_cli.main(["pooling", "--no-animate"], console=Console(file=io.StringIO()))
    console = Console(file=io.StringIO(), width=100, force_terminal=True)
    assert lesson_cli.main(["pooling", "--no-animate"], console=console) == 0
    assert "Max pooling" in console.file.getvalue()
    assert "Compiling" not in console.file.getvalue()


@pytest.mark.slow
@pytest.mark.subprocess
def test_a_cold_start_says_it_once_and_a_warm_one_not(tmp_path):
    """Two fresh processes on an empty Numba cache: the first compiles the
    pooling kernels (several seconds) and says so on stderr, before the
    lesson; the second loads them from disk and says nothing."""
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "cache"), LANG="C")
    command = [sys.executable, "-m", "convsim", "lesson", "pooling", "--no-animate"]
    cold = subprocess.run(command, capture_output=True, text=True, env=env,
                          check=True, timeout=300)
    warm = subprocess.run(command, capture_output=True, text=True, env=env,
                          check=True, timeout=300)
    assert cold.stderr.count("Compiling convsim's kernels once") == 1
    assert "Compiling" not in warm.stderr + warm.stdout + cold.stdout
    assert cold.stdout == warm.stdout  # the lesson itself is the same
