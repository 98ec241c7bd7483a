"""Korean in a lesson's GIF is drawn as words, not letter-spaced cell by cell."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from rich.text import Text

from convsim.viz.gif import BACKGROUND, MARGIN, CellPainter, find_fonts, render_images

pytestmark = pytest.mark.skipif(find_fonts().hangul is None,
                                reason="no Korean font installed (e.g. fonts-nanum)")


def ink_columns(image: Image.Image) -> np.ndarray:
    """The x of every pixel column with something drawn in it."""
    pixels = np.asarray(image.convert("RGB")).astype(int)
    return np.flatnonzero((np.abs(pixels - BACKGROUND).sum(-1) > 60).any(0))


def width_and_widest_gap(columns: np.ndarray) -> tuple[int, int]:
    """The ink's width and the widest blank between two of its columns (the
    space between two letters)."""
    return int(columns[-1] - columns[0] + 1), int((np.diff(columns) - 1).max())


def own_drawing(text: str, painter: CellPainter) -> tuple[int, int]:
    """:func:`width_and_widest_gap` of ``text`` drawn by the Korean font
    itself, in one call."""
    image = Image.new("RGB", (40 * len(text) + 20, 60), BACKGROUND)
    ImageDraw.Draw(image).text((10, 40), text, font=painter.hangul_font(text),
                               fill=(255, 255, 255), anchor="ls")
    return width_and_widest_gap(ink_columns(image))


@pytest.mark.parametrize("word", ["스트라이드", "특성 맵", "합성곱 필터"])
def test_a_korean_word_has_the_fonts_own_spacing(word):
    painter = CellPainter(15)
    [image] = render_images([Text(word)], width=20, font_size=15)
    columns = ink_columns(image)
    width, gap = width_and_widest_gap(columns)
    own_width, own_gap = own_drawing(word, painter)
    assert abs(width - own_width) <= 1 and gap <= own_gap + 1  # not letter-spaced
    assert columns[0] - MARGIN <= 2  # it starts at its first cell


def test_a_syllable_fills_its_two_cells_as_in_a_terminal():
    painter = CellPainter(15)
    assert painter.hangul_font("가").getlength("가") == pytest.approx(
        2 * painter.cell_w, abs=0.05)


def test_what_follows_a_korean_word_stays_in_its_column():
    painter = CellPainter(15)
    [image] = render_images([Text("필터 3×3")], width=20, font_size=15)
    columns = ink_columns(image)
    space = (MARGIN + 4 * painter.cell_w, MARGIN + 5 * painter.cell_w)  # cell 4
    assert not ((columns > space[0] + 1) & (columns < space[1] - 1)).any()
    digit = columns[columns >= space[1] - 1]
    assert digit.size and digit[0] < MARGIN + 6 * painter.cell_w


def test_a_run_too_wide_for_its_cells_is_made_smaller():
    painter = CellPainter(15)
    text = "가" + " " * 3 + "나"
    font = painter.hangul_font(text)
    assert font.getlength(text) <= len(text.replace(" ", "")) * 2 * painter.cell_w \
        + 3 * painter.cell_w + 0.5
