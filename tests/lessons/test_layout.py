"""Fitting a screen into the terminal: convsim/lesson/layout.py, and the
player and command line that use it (issue 13, item 2)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console, Group
from rich.text import Text

from convsim import lesson as cli
from convsim.errors import ArgumentError
from convsim.lesson import layout
from convsim.lesson.frames import Frame, Lesson, compose
from convsim.lesson.keys import ScriptedKeys
from convsim.lesson.layout import Fit, Screen, fits, too_small
from convsim.lesson.player import Player
from convsim.viz.conv_view import side_by_side
from convsim.viz.grid import Grid


def console(width: int = 80, height: int = 24, terminal: bool = True) -> Console:
    return Console(file=io.StringIO(), width=width, height=height,
                   force_terminal=terminal, color_system="truecolor" if terminal
                   else None)


def lines(con: Console, renderable) -> list[str]:
    return ["".join(s.text for s in line).rstrip()
            for line in con.render_lines(renderable, con.options, pad=False)]


def wide_grids(columns: int) -> Group:
    """Two grids side by side, each ``columns`` cells wide."""
    values = np.arange(columns * 2, dtype=float).reshape(2, columns)
    return Group(side_by_side(Grid(values, title="a"), Grid(values, title="b")))


def test_fits_sees_a_grid_rich_would_crop_and_lets_text_wrap():
    con = console(60)
    assert fits(con, wide_grids(5), con.options)
    # two grids of 12 columns need ~80 cells: rich would squeeze and crop them
    assert not fits(con, wide_grids(12), con.options)
    # text that wraps keeps every character: it fits, however long
    assert fits(con, Text("word " * 100), con.options)
    assert not fits(con, Text("x" * 100, no_wrap=True), con.options)


def test_fits_counts_lines_only_when_there_is_a_screen_height():
    con = console(80, 24)
    tall = Text("\n".join(str(i) for i in range(30)))
    short = con.options.copy()
    short.max_height = 29
    assert not fits(con, tall, short)
    short.max_height = 30
    assert fits(con, tall, short)
    unlimited = con.options.copy()
    unlimited.max_height = layout.UNLIMITED
    assert fits(con, tall, unlimited)


def test_fit_draws_the_first_layout_that_fits_else_the_last():
    con = console(60)
    built = []

    def lazy(columns):
        def make():
            built.append(columns)
            return wide_grids(columns)
        return make

    fit = Fit(lazy(12), lazy(6), lazy(5))
    assert "".join(lines(con, fit)).count("a") == 1
    assert built == [12, 6]  # 12 tried, 6 drawn (built once), 5 never built
    built.clear()
    roomy = console(200)
    Fit(lazy(12), lazy(5)).choose(roomy, roomy.options)
    assert built == [12]
    narrow = console(20)
    last = Text("the most compact")
    assert Fit(wide_grids(12), last).choose(narrow, narrow.options) is last
    with pytest.raises(ArgumentError, match="at least one layout"):
        Fit()


def test_a_screen_gives_its_picture_the_lines_the_caption_and_keys_leave():
    con = console(80, 24)
    tall = Text("\n".join(f"tall {i}" for i in range(30)))
    short = Text("short")
    caption = Text("\n".join(f"caption {i}" for i in range(5)))
    screen = Screen(Fit(tall, short), above=[Text("title")],
                    below=[caption, Text("keys")], height=24)
    shown = lines(con, screen)
    assert shown == ["title", "short", *[f"caption {i}" for i in range(5)], "keys"]
    assert screen.room(con, con.options) == 24 - 1 - 5 - 1
    # where frames scroll (height None) the picture takes all it wants
    scrolled = lines(con, Screen(Fit(tall, short), above=[Text("title")]))
    assert len(scrolled) == 31 and scrolled[-1] == "tall 29"
    assert screen.renderables[1] is screen.view  # as rich's Group lists them


def test_compose_fits_a_frame_to_the_height_it_is_given():
    tall = Text("\n".join(f"row {i}" for i in range(40)))
    lesson = Lesson("t", "T", [Frame(Fit(tall, Text("compact")), "words")])
    con = console(80, 24)
    assert "compact" in "\n".join(lines(con, compose(lesson, 0, "keys", height=24)))
    assert "row 39" in "\n".join(lines(con, compose(lesson, 0, "keys")))


def test_the_player_fits_each_frame_to_its_console(monkeypatch):
    """Animated frames are composed for the console's height (printed ones
    scroll, and are not)."""
    import convsim.lesson.player as player_module

    heights = []

    def spy(*args, height=None, **kwargs):
        heights.append(height)
        return compose(*args, height=height, **kwargs)

    monkeypatch.setattr(player_module, "compose", spy)
    lesson = Lesson("t", "T", [Frame(Text("a"), "one", key=True),
                               Frame(Text("b"), "two", key=True)])
    con = console(90, 30)
    Player(con, mode="animate", keys=ScriptedKeys(["next", "next"])).play(lesson)
    assert heights and set(heights) == {30}
    heights.clear()
    Player(con, mode="print").play(lesson)
    assert heights == [None, None]


@pytest.mark.parametrize("lang, words", [
    ("en", "The lessons need a terminal of at least 80×24; this one is 79×30."),
    ("ko", "레슨에는 80×24 이상의 터미널이 필요한데, 지금 터미널은 79×30입니다."),
])
def test_too_small_says_the_size_needed_in_one_line(lang, words):
    said = too_small(79, 30, lang)
    assert said.startswith(words) and "\n" not in said
    assert too_small(80, 24, lang) is None
    assert too_small(120, 23, lang) is not None  # animated: 24 lines needed
    assert too_small(80, 10, lang, scrolls=True) is None  # printed frames scroll
    assert too_small(79, 50, lang, scrolls=True) is not None


def test_the_command_line_refuses_a_terminal_below_80x24(capsys):
    for size in ((79, 40), (100, 20)):
        assert cli.main(["stride"], console=console(*size), interactive=False) == 1
        err = capsys.readouterr().err.strip()
        assert "80×24" in err and f"{size[0]}×{size[1]}" in err
        assert len(err.splitlines()) == 1
    # printed frames scroll: a short terminal is fine, a narrow one is not
    out = console(80, 10)
    assert cli.main(["stride", "--no-animate"], console=out) == 0
    assert "Stride" in out.file.getvalue()
    assert cli.main(["stride", "--no-animate"], console=console(70, 40)) == 1
    assert "70×40" in capsys.readouterr().err
    # a pipe or a file has no size to respect
    piped = console(60, 5, terminal=False)
    assert cli.main(["stride"], console=piped) == 0


def test_the_docstring_examples_hold():
    import doctest

    from convsim.lessons import _parameters

    for module in (layout, _parameters):
        assert doctest.testmod(module).failed == 0
