"""Keys, stepping, pausing and the quiz, all without a real keyboard."""

from __future__ import annotations

import io
import os

import pytest
from convsim.lessons import convolution, pooling
from fake_clock import FakeClock
from rich.console import Console
from rich.text import Text

from convsim import lesson as cli
from convsim.lesson.frames import (
    Frame,
    Lesson,
    Question,
    any_of_check,
    ints_check,
    number_check,
)
from convsim.lesson.keys import ScriptedKeys, TerminalKeys, decode
from convsim.lesson.player import Player


def tty_console() -> Console:
    return Console(file=io.StringIO(), width=100, force_terminal=True,
                   color_system="truecolor")


def tiny_lesson(n: int = 4, question: Question | None = None) -> Lesson:
    frames = [Frame(Text(f"frame {i}"), f"caption {i}", key=i in (0, n - 1),
                    question=question if i == 2 else None) for i in range(n)]
    return Lesson("tiny", "Tiny", frames)


def test_decode_maps_keys_and_escape_sequences():
    assert decode(" ") == ["pause"]
    assert decode("\x1b[C\x1b[D") == ["next", "prev"]
    assert decode("\r") == decode("\n") == decode("n") == ["next"]
    assert decode("pq") == ["prev", "quit"]
    assert decode("\x1b") == ["quit"]
    assert decode("xyz") == []


def test_autoplay_advances_on_time_and_obeys_keys():
    clock = FakeClock()
    keys = ScriptedKeys([None, "pause", "next", "\x1b[D", " ", None, None, None],
                        clock)
    # "caption 0" is two words, too few for a narration: every frame is an
    # animation frame and stays hold / fps = 1 s (longer than reading 2 words)
    result = Player(tty_console(), mode="animate", fps=1, keys=keys).play(
        tiny_lesson())
    # 0 -(time)-> 1 -(pause: redrawn paused)-> -(next)-> 2 -(←: back, paused)-> 1
    # -(space: playing again)-> -(time)-> 2 -(time)-> 3 -(time)-> end
    assert result.shown == [0, 1, 2, 1, 2, 3]
    assert keys.reads == [1.0, 1.0, None, None, None, 1.0, 1.0, 1.0]
    assert clock.t == pytest.approx(4 * 1.0)  # only the four time-outs
    assert not result.quit


def test_step_mode_waits_for_keys_and_q_quits():
    keys = ScriptedKeys(["next", "\r", "p", "q"])
    result = Player(tty_console(), mode="animate", start_paused=True,
                    keys=keys).play(tiny_lesson())
    assert result.shown == [0, 1, 2, 1]
    assert keys.reads == [None] * 4
    assert result.quit


def test_a_finished_script_quits_instead_of_hanging():
    result = Player(tty_console(), mode="animate", start_paused=True,
                    keys=ScriptedKeys([])).play(tiny_lesson())
    assert result.quit and result.shown == [0]


def test_quiz_in_print_mode_with_injected_answers():
    console = Console(file=io.StringIO(), width=80)
    answers = iter(["7"])
    q = Question("What is 3 + 4?", number_check(7), "7", "because 3 + 4 = 7")
    result = Player(console, quiz=True, ask=lambda prompt: next(answers)).play(
        tiny_lesson(question=q))
    out = console.file.getvalue()
    assert result.asked == 1 and result.right == 1
    assert "What is 3 + 4?" in out and "Right" in out and "because" in out
    assert result.shown == [0, 1, 2, 3]  # the frame before the question, then it


def test_quiz_wrong_skipped_and_quit_answers():
    q = Question("2 + 2?", number_check(4), "4")
    console = Console(file=io.StringIO(), width=80)
    wrong = Player(console, quiz=True, ask=lambda p: "5").play(tiny_lesson(question=q))
    assert (wrong.asked, wrong.right) == (1, 0)
    assert "Not quite" in console.file.getvalue()
    skipped = Player(console, quiz=True, ask=lambda p: "").play(
        tiny_lesson(question=q))
    assert skipped.asked == 0
    stopped = Player(console, quiz=True, ask=lambda p: "q").play(
        tiny_lesson(question=q))
    assert 3 not in stopped.shown


def test_quiz_in_animate_mode_asks_once_even_when_stepping_back():
    asked = []
    q = Question("2 + 2?", number_check(4), "4")
    keys = ScriptedKeys(["next", "next", "prev", "next", "next"])
    result = Player(tty_console(), mode="animate", start_paused=True, quiz=True,
                    keys=keys, ask=lambda p: asked.append(p) or "4").play(
        tiny_lesson(question=q))
    assert len(asked) == 1 and result.right == 1
    assert result.shown == [0, 1, 2, 1, 2, 3]


def test_answer_checks_accept_the_usual_spellings():
    assert ints_check([5, 5])("5x5") and ints_check([5, 5])("(5, 5)")
    assert ints_check([74, 74, 32])("74×74×32")
    assert not ints_check([5, 5])("5")
    assert any_of_check([(0, 1), (1, 0)])("1,0")
    assert number_check(-9)(" -9 ") and not number_check(-9)("nine")


def test_lessons_quiz_questions_are_answerable():
    conv = convolution.build()
    questions = [f for f in conv.frames if f.question]
    assert len(questions) == 2
    for frame in questions:
        assert frame.question.check(str(frame.data["step"].output))
    pool = pooling.build()
    for frame in (f for f in pool.frames if f.question):
        i, j = frame.data["step"].argmax
        assert frame.question.check(f"{i} {j}")
        assert not frame.question.check(f"{i + 1} {j}")


def test_cli_with_injected_keys_and_answers():
    console = tty_console()
    keys = ScriptedKeys(["next"] * 200)
    answers = iter(["0", "0"])
    code = cli.main(["convolution", "--step", "--quiz", "--fps", "50"],
                    console=console, keys=keys, ask=lambda p: next(answers, ""),
                    interactive=True)
    assert code == 0
    out = console.file.getvalue()
    assert "Quiz:" in out and keys.reads[0] is None


@pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal")
def test_terminal_keys_read_a_pty_and_restore_its_settings():
    import termios

    master, slave = os.openpty()
    try:
        with open(slave, "rb", buffering=0, closefd=False) as stream:
            before = termios.tcgetattr(slave)
            with TerminalKeys(stream) as keys:
                assert termios.tcgetattr(slave)[3] & termios.ICANON == 0
                os.write(master, b"\x1b[C")
                assert keys.read(1.0) == "next"
                os.write(master, b" q")
                assert keys.read(1.0) == "pause"
                assert keys.read(0.0) == "quit"
                assert keys.read(0.01) is None
                with keys.suspended():
                    assert termios.tcgetattr(slave) == before
                assert termios.tcgetattr(slave)[3] & termios.ICANON == 0
            assert termios.tcgetattr(slave) == before
    finally:
        os.close(master)
        os.close(slave)
