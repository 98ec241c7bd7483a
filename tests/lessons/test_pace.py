"""Pacing that follows reading: narration waits or is timed, the window goes
at --fps, the key line says what the keys do and leaves with q.

No test sleeps: the player reads injected keys (``ScriptedKeys`` records the
time-out of every read) and ``NoKeys`` waits on a fake clock.
"""

from __future__ import annotations

import io
import re

import pytest
from fake_clock import FakeClock
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from convsim.lesson import cli
from convsim.lesson import pace as pace_module
from convsim.lesson.frames import Frame, Lesson, compose
from convsim.lesson.keys import NoKeys, ScriptedKeys
from convsim.lesson.pace import LOOK_SECONDS, plan, reading_words, sentences
from convsim.lesson.player import Player
from convsim.lesson.status import STATES, WORDS, status_line

INTRO = ("A convolution slides a small window over the image and adds up the "
         "products of the patch and the filter.")  # 20 words
SLIDE = "The window slides {k} column to the right."  # 8 words, a number changes


def tty_console(width: int = 100) -> Console:
    return Console(file=io.StringIO(), width=width, force_terminal=True,
                   color_system="truecolor")


def story(lang: str = "en") -> Lesson:
    """An introduction, then the same sentence three times with new numbers."""
    captions = [INTRO] + [SLIDE.format(k=k) for k in range(1, 4)]
    return Lesson("story", "Story", [Frame(Text(f"picture {i}"), c, hold=1.0)
                                     for i, c in enumerate(captions)], lang)


# ------------------------------------------------------------------ the plan


def test_reading_words_counts_words_and_korean_syllables():
    assert reading_words(INTRO) == 20
    assert reading_words("3 × 3 = 9") == 3  # signs are seen at a glance
    # 11 Hangul syllables; "Conv2D의" is one Latin word plus one syllable
    ko = "합성곱 층은 필터를 씁니다"
    assert reading_words(ko) == pytest.approx(11 / pace_module.SYLLABLES_PER_WORD)
    assert reading_words("Conv2D의") == pytest.approx(
        1 + 1 / pace_module.SYLLABLES_PER_WORD)


def test_a_sentence_seen_with_other_numbers_is_animation():
    beats = plan(story().frames, fps=2.0, wpm=120)
    assert [b.narration for b in beats] == [True, True, False, False]
    # 20 words at 120 a minute = 10 s, plus a second to look at the picture
    assert beats[0].seconds == pytest.approx(LOOK_SECONDS + 10.0)
    assert beats[1].seconds == pytest.approx(LOOK_SECONDS + 4.0)  # 8 words
    # familiar: only the number is new (0.5 s to read at 120 wpm), so hold / fps
    assert beats[2].seconds == pytest.approx(0.5)
    assert beats[2].words == 1


def test_fps_changes_the_animation_never_the_narration():
    slow, fast = (plan(story().frames, fps=fps, wpm=200) for fps in (0.5, 20.0))
    assert slow[0].seconds == fast[0].seconds == pytest.approx(
        LOOK_SECONDS + 6.0)
    assert slow[2].seconds == pytest.approx(2.0)
    assert fast[2].seconds == pytest.approx(0.05)


def test_a_short_new_sentence_is_not_cut_below_its_reading_time():
    frames = [Frame(Text(""), "Now average pooling.", hold=1.0)]  # 3 words
    beat, = plan(frames, fps=50.0, wpm=60)
    assert not beat.narration and beat.seconds == pytest.approx(3.0)


def test_korean_reading_time_counts_syllables():
    caption = "윈도우가 오른쪽으로 한 칸 이동합니다."  # 4 + 5 + 1 + 1 + 5 syllables
    beat, = plan([Frame(Text(""), caption)], fps=2.0, wpm=200)
    words = 16 / pace_module.SYLLABLES_PER_WORD
    assert beat.narration and beat.seconds == pytest.approx(
        LOOK_SECONDS + 60 * words / 200)


def test_sentences_split_after_a_full_stop_not_inside_a_number():
    assert sentences("It is 0.5 wide. Next (stride 1). Done") == [
        "It is 0.5 wide.", "Next (stride 1).", "Done"]


def test_markup_is_not_read():
    bold = plan([Frame(Text(""), "[bold]feature map[/] of [bold]ones[/] here")],
                fps=1.0)
    assert bold[0].words == 5


# ------------------------------------------------------------------ the player


def test_in_a_terminal_a_narration_waits_for_a_key_and_the_window_is_timed():
    keys = ScriptedKeys(["next", "next", None, None])
    result = Player(tty_console(), mode="animate", fps=4.0, keys=keys).play(story())
    assert result.shown == [0, 1, 2, 3]
    assert keys.reads == [None, None, 0.25, 0.25]


def test_space_goes_on_from_a_narration_and_pauses_the_window():
    keys = ScriptedKeys([" ", " ", "next", " ", "q"])
    result = Player(tty_console(), mode="animate", fps=4.0, keys=keys).play(story())
    # 0 (reading) -space-> 1 (reading) -space-> 2 (playing) -n-> 3 (playing)
    # -space-> 3 paused -q
    assert result.shown == [0, 1, 2, 3]
    assert keys.reads == [None, None, 0.25, 0.25, None]
    assert result.quit


def test_wpm_makes_narration_move_on_by_itself():
    keys = ScriptedKeys([None] * 4)
    Player(tty_console(), mode="animate", fps=4.0, wpm=120, keys=keys).play(story())
    assert keys.reads == pytest.approx([LOOK_SECONDS + 10.0, LOOK_SECONDS + 4.0,
                                        0.25, 0.25])


def test_without_a_keyboard_narration_is_timed_at_the_default_speed():
    clock = FakeClock()
    Player(tty_console(), mode="animate", fps=4.0, keys=NoKeys(clock)).play(story())
    expected = plan(story().frames, fps=4.0, wpm=pace_module.DEFAULT_WPM)
    assert clock.t == pytest.approx(sum(b.seconds for b in expected))
    assert expected[0].seconds == pytest.approx(LOOK_SECONDS + 20 * 60 / 200)


def test_step_mode_waits_on_every_frame():
    keys = ScriptedKeys(["next"] * 4)
    Player(tty_console(), mode="animate", start_paused=True, keys=keys).play(story())
    assert keys.reads == [None] * 4


def test_the_player_refuses_a_reading_speed_of_zero():
    with pytest.raises(ValueError, match="wpm"):
        Player(wpm=0)


# ------------------------------------------------------------------ key lines


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_key_line_fits_80_columns_and_the_first_names_step(lang):
    for state in STATES:
        for first in (False, True):
            line = status_line(lang, state, first=first)
            assert cell_len(line.plain) <= 80, line.plain
            assert ("--step" in line.plain) == first
    assert status_line(lang, "reading").style == "bold"  # the hint is seen


def test_the_hint_says_what_space_does_now():
    assert "space/n/→ next" in status_line("en", "reading").plain
    assert "space pause" in status_line("en", "playing").plain
    assert "space play" in status_line("en", "paused").plain
    assert "스페이스/n/→ 다음" in status_line("ko", "reading").plain
    assert set(WORDS["en"]) == set(WORDS["ko"])


def last_screen(console: Console) -> str:
    """What a terminal shows at the end: the text after the live display's
    last redraw (it erases the lines it drew, then draws again)."""
    out = console.file.getvalue()
    tail = out.rsplit("\x1b[2K", 1)[-1]
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", tail)


@pytest.mark.parametrize("keys", [["next", "q"], ["next"] * 4],
                         ids=["quit", "end"])
def test_the_key_line_leaves_the_screen_after_q_and_at_the_end(keys):
    console = tty_console()
    Player(console, mode="animate", keys=ScriptedKeys(keys)).play(story())
    screen = last_screen(console)
    assert "picture" in screen and "window slides" in screen
    assert "quit" not in screen and "--step" not in screen


def test_the_first_screen_names_the_keys_and_step():
    console = tty_console()
    Player(console, mode="animate", keys=ScriptedKeys(["q"])).play(story())
    out = console.file.getvalue()
    assert "space/n/→ next" in out and "q quit" in out and "--step" in out


def test_compose_draws_a_key_line_given_as_text_or_string():
    lesson = story()
    for status in (status_line("en", "paused"), "a plain line"):
        console = Console(width=80, color_system=None)
        with console.capture() as cap:
            console.print(compose(lesson, 0, status))
        assert (status.plain if isinstance(status, Text) else status) in cap.get()


# ------------------------------------------------------------------ command line


def test_cli_passes_wpm_and_refuses_a_bad_one(capsys):
    keys = ScriptedKeys([None] * 3 + ["q"])
    code = cli.main(["convolution", "--wpm", "100", "--fps", "4"],
                    console=tty_console(), keys=keys, interactive=True)
    assert code == 0
    from convsim.lessons import convolution

    beats = plan(convolution.build().frames, fps=4.0, wpm=100)
    assert keys.reads == pytest.approx([b.seconds for b in beats[:4]])
    assert cli.main(["convolution", "--wpm", "0"]) == 2
    err = capsys.readouterr().err.strip()
    assert "--wpm must be a positive number" in err and len(err.splitlines()) == 1


def test_a_gif_holds_each_text_for_its_reading_time(tmp_path, monkeypatch):
    import convsim.viz.gif as gif

    saved = {}

    def fake_save_gif(path, screens, durations):
        saved["durations"] = durations
        return len(durations)

    monkeypatch.setattr(gif, "save_gif", fake_save_gif)
    console = Console(file=io.StringIO(), width=80)
    assert cli.main(["stride", "--save", str(tmp_path / "s.gif"), "--wpm", "150"],
                    console=console) == 0
    from convsim.lessons import stride

    beats = plan(stride.build().frames, fps=stride.FPS, wpm=150)
    frames = stride.build().frames
    assert saved["durations"] == pytest.approx([1000 * b.seconds for b in beats])
    # the introduction stays longer than its old hold / fps of 2 s
    assert saved["durations"][0] > 1000 * frames[0].hold / stride.FPS


def test_help_examples_use_real_file_names():
    text = cli.build_parser().format_help()
    assert "--model my_model.convsim" in text and ".npz" not in text
    assert "--wpm" in text and "--step" in text


def test_a_key_that_means_nothing_does_not_turn_the_page():
    """While a frame waits for you, only n/→/Enter/space go on ('6' typed
    too early for a quiz answer once skipped a frame)."""
    keys = ScriptedKeys(["6", "x", "next", "6", "next", "q"])
    result = Player(tty_console(), mode="animate", start_paused=True,
                    keys=keys).play(story())
    assert result.shown == [0, 1, 2]
    reading = ScriptedKeys(["6", "next", "q"])
    assert Player(tty_console(), mode="animate", keys=reading).play(
        story()).shown == [0, 1]  # a narration waits too


def test_without_a_keyboard_step_mode_still_moves_on():
    """--step with stdin not a terminal: nobody can press n, so a frame goes
    on after the no-keys wait (a second) instead of waiting forever."""
    clock = FakeClock()
    result = Player(tty_console(), mode="animate", start_paused=True,
                    keys=NoKeys(clock)).play(story())
    assert result.shown == [0, 1, 2, 3] and clock.t == pytest.approx(4.0)
