"""Narration that says what the picture shows (issue 13, item 5).

Each test builds a lesson with the size that once gave a wrong or silent
sentence and reads the frames as the learner sees them (plain text).
"""

from __future__ import annotations

import numpy as np
import pytest
from convsim.lessons import convolution, pooling, stride
from rich.cells import cell_len
from rich.console import Console

from convsim import trace
from convsim.lesson.frames import compose
from convsim.trace.reach import reach


def screen(lesson, i: int, width: int = 100) -> str:
    console = Console(width=width, color_system=None)
    with console.capture() as cap:
        console.print(compose(lesson, i))
    return cap.get()


def captions(lesson) -> str:
    return "\n".join(frame.caption for frame in lesson.frames)


@pytest.mark.parametrize(("shape", "pool", "rows", "cols"), [
    ((5, 5), 2, [4], [4]),        # --size 5
    ((15, 15), 2, [14], [14]),    # the book's 15x15 -> 7x7
    ((4, 6), 2, [], []),          # tiled exactly
    ((7, 6), 3, [6], []),         # 7 = 2 * 3 + 1
])
def test_the_rows_the_lessons_call_unread_are_what_no_window_reads(shape, pool,
                                                                   rows, cols):
    """pooling and stride name trace.reach's rows and columns after the last
    window; checked here against every window's cells marked by hand."""
    t = trace.trace_pool(np.zeros(shape, np.float32), pool)
    read = np.zeros(shape, bool)
    for step in t:
        read[step.top:step.top + pool, step.left:step.left + pool] = True
    cover = reach(t)
    assert list(cover.after_last(0)) == rows == [r for r in range(shape[0])
                                                 if not read[r].any()]
    assert list(cover.after_last(1)) == cols == [c for c in range(shape[1])
                                                 if not read[:, c].any()]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_pooling_an_odd_map_says_which_row_and_column_are_dropped(lang):
    lesson = pooling.build(lang=lang, size=5)
    dropped = [f for f in lesson.frames if "unread_rows" in f.data]
    assert len(dropped) == 1 and dropped[0].key
    assert dropped[0].data["unread_rows"] == dropped[0].data["unread_cols"] == (4,)
    text = dropped[0].caption
    if lang == "en":
        assert "Row 4 and column 4 were never read" in text
        assert "15×15×128 → 7×7×128" in text
        assert "floor((5 - 2) / 2) + 1 = 2" in text
    else:
        assert "행 4와 열 4는 한 번도 읽히지 않았습니다" in text
        assert "2×2가 나옵니다" in text  # the particle agrees with 2 (이)
    # the picture shows the unread cells as ·, the others with their values
    rows = screen(lesson, lesson.frames.index(dropped[0])).splitlines()
    last_input_row = next(r for r in rows if r.startswith("4 "))
    assert last_input_row.split()[1:6] == ["·"] * 5


def test_pooling_an_even_map_has_nothing_to_drop():
    lesson = pooling.build(size=4)
    assert not [f for f in lesson.frames if "unread_rows" in f.data]
    assert "never read" not in captions(lesson)
    assert "multiple of" not in captions(lesson)


def test_stride_talks_about_the_input_it_was_given():
    six = stride.build(size=6)
    text = captions(six)
    assert "5×5" not in text
    assert "over this 6×6 input without padding gives 2×2, not the 4×4" in text
    assert "Row 5 and column 5 are never read: a window starting at 4" in text
    assert captions(stride.build(size=6, lang="ko")).count("5×5") == 0
    seven = captions(stride.build(size=7))
    assert "over this 7×7 input without padding gives 3×3, not the 5×5" in seven
    # on your notes' own example the lesson answers the notes' 4×4
    five = captions(stride.build(size=5))
    assert "Your notes give 4×4 for this case" in five and "2×2, not 4×4" in five
    assert "never read" not in five  # windows at 0 and 2 read rows 0..4
    assert "4×4로 적혀 있지만" in captions(stride.build(size=5, lang="ko"))


def test_a_placed_window_shows_its_sum_to_come_not_a_zero():
    lesson = convolution.build()
    placed = lesson.frames[1]  # "The window starts at the top-left corner"
    assert "top-left corner" in placed.caption
    sums = [line.strip() for line in screen(lesson, 1).splitlines()
            if line.strip().startswith("Σ")]
    assert sums == ["Σ = ?"]
    first_product = [line.strip() for line in screen(lesson, 2).splitlines()
                     if line.strip().startswith("Σ")]
    assert first_product == ["Σ 0×(-1)  …  0"]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_random_image_is_not_called_a_rectangle(lang):
    lesson = convolution.build(lang=lang, seed=3)
    last = lesson.frames[-1]
    out = last.data["output"]
    hi = np.unravel_index(np.argmax(out), out.shape)
    lo = np.unravel_index(np.argmin(out), out.shape)
    assert ("rectangle" not in last.caption) and ("사각형" not in last.caption)
    assert f"{out[hi]:g}" in last.caption and f"({hi[0]}, {hi[1]})" in last.caption
    assert f"{out[lo]:g}" in last.caption and f"({lo[0]}, {lo[1]})" in last.caption
    # without a seed the rectangle's edges are +9 and -9, as the map shows
    plain = convolution.build(lang=lang).frames[-1]
    assert plain.data["output"].max() == 9 and plain.data["output"].min() == -9
    assert "+9" in plain.caption and "-9" in plain.caption


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_output_size_formula_fits_80_columns(lang):
    lesson = convolution.build(lang=lang)
    lines = screen(lesson, len(lesson.frames) - 1, width=80).splitlines()
    formula = [i for i, line in enumerate(lines) if "floor((" in line]
    first, numbers = lines[formula[0]], lines[formula[0] + 1]
    assert first.rstrip().endswith("+ 1") and numbers.strip() == (
        "= floor((7 - 3) / 1) + 1 = 5")
    assert cell_len(first[:first.index("= ")]) == cell_len(
        numbers[:numbers.index("= ")])  # the two '=' one under the other


def test_padding_part_1_is_a_key_frame_and_counts_rows_and_columns():
    from convsim.lessons import padding

    lesson = padding.build()
    keys = [f.caption for f in lesson.frames if f.key]
    assert any(c.startswith("Part 1, padding='valid'") for c in keys)
    assert any("2 extra rows and 2 extra columns" in c for c in keys)


@pytest.mark.parametrize(("colour", "lang", "expected"), [
    (None, "en", "< > differ"), ("truecolor", "en", "differ"),
    (None, "ko", "< > 다른 값"), ("truecolor", "ko", "다른 값")])
def test_padding_says_which_cells_differ_as_they_are_drawn(colour, lang, expected):
    from convsim.lessons import padding

    console = Console(width=80, color_system=colour, force_terminal=bool(colour))
    with console.capture() as cap:
        console.print(padding.DifferLegend(lang))
    line = cap.get()
    assert expected in line
    assert ("<" in line) == (colour is None)  # no brackets named in colour
