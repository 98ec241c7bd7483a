"""Save a lesson as an animated GIF, drawn exactly as the terminal shows it.

Each frame is rendered by rich into lines of styled segments (the same path
the terminal output takes), and every character cell is painted with Pillow:
its background, then its glyph in its colour. The font is a monospace one
(DejaVu Sans Mono ships with matplotlib, so it always exists); characters it
lacks come from DejaVu Sans, and Hangul from a Korean font if one is
installed (Nanum, Noto CJK, Apple SD Gothic Neo, Malgun Gothic, ...).

Hangul is drawn a word at a time, not a cell at a time. A Hangul syllable
takes two cells in a terminal, but a Korean font at the Latin font's size
draws it narrower than two cells, so centring each syllable in its cells
left a gap after every one: "스 트 라 이 드". Instead, each run of Hangul
(with the spaces inside it) is one ``draw.text`` call in the Korean font,
sized so that a syllable is as wide as its two cells, as a terminal draws it:
the syllables sit at the font's own spacing, and what follows the run stays
in its column.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from rich.cells import cell_len
from rich.console import Console, RenderableType
from rich.style import Style

from convsim.errors import ArgumentError

BACKGROUND = (24, 24, 27)
FOREGROUND = (212, 212, 212)
MARGIN = 12
HANGUL_SAMPLE = "가"
_HANGUL = "\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f"  # syllables and jamo
#: A run of Hangul drawn as one word: Hangul first and last, spaces between.
HANGUL_RUN = re.compile(f"[{_HANGUL}](?:[ {_HANGUL}]*[{_HANGUL}])?")
KOREAN_FONT_FILES = (
    "/usr/share/fonts/truetype/nanum/NanumGothicCoding.ttf",
    "/usr/share/fonts/truetype/nanum/NanumGothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/AppleSDGothicNeo.ttc",
    "/Library/Fonts/AppleGothic.ttf",
    "C:/Windows/Fonts/malgun.ttf",
)


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str
    fallback: str  # proportional, with more symbols
    hangul: str | None


@lru_cache(maxsize=1)
def find_fonts() -> Fonts:
    """Monospace fonts from matplotlib's data, plus a Korean one if present."""
    import matplotlib

    ttf = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return Fonts(str(ttf / "DejaVuSansMono.ttf"), str(ttf / "DejaVuSansMono-Bold.ttf"),
                 str(ttf / "DejaVuSans.ttf"), _find_hangul_font())


def _find_hangul_font() -> str | None:
    candidates = list(KOREAN_FONT_FILES)
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(["fc-list", ":lang=ko", "file"], capture_output=True,
                                 text=True, timeout=10).stdout
            found = sorted(line.split(":")[0].strip() for line in out.splitlines())
            # prefer monospaced "Coding"/"Mono" cuts, which line up with the grid
            found.sort(key=lambda p: not any(k in p for k in ("Coding", "Mono")))
            candidates = found + candidates
        except (OSError, subprocess.SubprocessError):
            pass
    for path in candidates:
        if os.path.exists(path) and _has_glyph(path, HANGUL_SAMPLE):
            return path
    return None


@lru_cache(maxsize=64)
def _font_chars(path: str):
    from matplotlib.ft2font import FT2Font

    return FT2Font(path)


def _has_glyph(path: str, char: str) -> bool:
    try:
        return _font_chars(path).get_char_index(ord(char)) != 0
    except (OSError, RuntimeError, ValueError):
        return False


def _bold_variant(path: str | None) -> str | None:
    """The bold cut of a font file beside it, if there is one
    (NanumGothicCoding.ttf -> NanumGothicCodingBold.ttf)."""
    if path is None:
        return None
    stem, suffix = os.path.splitext(path)
    for candidate in (stem + "Bold" + suffix, stem + "-Bold" + suffix,
                      stem.replace("Regular", "Bold") + suffix):
        if candidate != path and os.path.exists(candidate):
            return candidate
    return path


class CellPainter:
    """Paints rich segment lines onto an image, one character cell at a time
    (and Hangul a word at a time)."""

    def __init__(self, size: int = 15, fonts: Fonts | None = None):
        self.fonts = fonts or find_fonts()
        self.size = size
        self._cache: dict[tuple[str, float], ImageFont.FreeTypeFont] = {}
        regular = self._font(self.fonts.regular)
        self.cell_w = regular.getlength("M")
        ascent, descent = regular.getmetrics()
        self.cell_h = ascent + descent + 2
        self.baseline = 1 + ascent  # below a cell's top, where glyphs stand
        #: the Korean font's size at which a syllable fills its two cells
        self.hangul_size = None
        if self.fonts.hangul:
            advance = self._font(self.fonts.hangul).getlength(HANGUL_SAMPLE)
            self.hangul_size = size * 2 * self.cell_w / advance

    def _font(self, path: str, size: float | None = None) -> ImageFont.FreeTypeFont:
        key = (path, size or self.size)
        if key not in self._cache:
            self._cache[key] = ImageFont.truetype(path, key[1])
        return self._cache[key]

    def hangul_font(self, text: str, bold: bool = False) -> ImageFont.FreeTypeFont:
        """The Korean font for the run ``text``: a syllable two cells wide,
        smaller only if the run would not fit its cells (wide spaces)."""
        path = _bold_variant(self.fonts.hangul) if bold else self.fonts.hangul
        font = self._font(path, self.hangul_size)
        room = cell_len(text) * self.cell_w
        width = font.getlength(text)
        if width > room:
            font = self._font(path, self.hangul_size * room / width)
        return font

    @lru_cache(maxsize=4096)  # noqa: B019 - one painter per export, bounded cache
    def font_for(self, char: str, bold: bool) -> str:
        main = self.fonts.bold if bold else self.fonts.regular
        for path in (main, self.fonts.fallback, self.fonts.hangul):
            if path and _has_glyph(path, char):
                return path
        return main

    def paint(self, lines, rows: int, cols: int) -> Image.Image:
        width = int(cols * self.cell_w) + 2 * MARGIN
        height = rows * self.cell_h + 2 * MARGIN
        image = Image.new("RGB", (width, height), BACKGROUND)
        draw = ImageDraw.Draw(image)
        for r, line in enumerate(lines[:rows]):
            y = MARGIN + r * self.cell_h
            col = 0
            for segment in line:
                if segment.control:
                    continue
                colours = _colours(segment.style)
                col = self._text(draw, segment.text, col, y, colours)
        return image

    def _text(self, draw, text: str, col: int, y: int, colours) -> int:
        """Paint ``text`` from cell ``col``: Hangul runs as words, the rest
        cell by cell; returns the column after it."""
        pieces, start = [], 0
        if self.hangul_size is not None:
            for run in HANGUL_RUN.finditer(text):
                pieces += list(text[start:run.start()]) + [run.group()]
                start = run.end()
        pieces += list(text[start:])
        fg, bg, bold = colours
        for piece in pieces:
            span = max(cell_len(piece), 1)
            x = MARGIN + col * self.cell_w
            if len(piece) > 1 or HANGUL_RUN.match(piece):
                self._word(draw, piece, x, y, span, fg, bg, bold)
            else:
                self._cell(draw, piece, x, y, span, fg, bg, bold)
            col += span
        return col

    def _word(self, draw, text, x, y, span, fg, bg, bold) -> None:
        """A Hangul run on its cells: their background, then the run in one
        call, standing on the Latin glyphs' baseline."""
        if bg != BACKGROUND:
            draw.rectangle([x, y, x + span * self.cell_w, y + self.cell_h], fill=bg)
        draw.text((x, y + self.baseline), text, font=self.hangul_font(text, bold),
                  fill=fg, anchor="ls")

    def _cell(self, draw, char, x, y, span, fg, bg, bold) -> None:
        x1, y1 = x + span * self.cell_w, y + self.cell_h
        if char in "▀▄█":  # block pixels: rectangles, no gaps between rows
            half = y + self.cell_h // 2
            draw.rectangle([x, y, x1, y1], fill=fg if char == "█" else bg)
            if char == "▀":
                draw.rectangle([x, y, x1, half], fill=fg)
            elif char == "▄":
                draw.rectangle([x, half, x1, y1], fill=fg)
            return
        if bg != BACKGROUND:
            draw.rectangle([x, y, x1, y1], fill=bg)
        if char in BOX_LINES:  # panel borders: lines that join across cells
            self._box(draw, char, x, y, x1, y1, fg)
            return
        if not char.isspace():
            font = self._font(self.font_for(char, bold))
            if span > 1:  # centre wide (Hangul) glyphs in their two cells
                x += (span * self.cell_w - font.getlength(char)) / 2
            draw.text((x, y + 1), char, font=font, fill=fg)


    @staticmethod
    def _box(draw, char, x, y, x1, y1, fg) -> None:
        mx, my = round((x + x1) / 2), round((y + y1) / 2)
        left, right, up, down = BOX_LINES[char]
        if left or right:
            draw.line([x if left else mx, my, x1 if right else mx, my], fill=fg)
        if up or down:
            draw.line([mx, y if up else my, mx, y1 if down else my], fill=fg)


# box-drawing character -> (reaches left, right, up, down)
BOX_LINES = {
    "─": (1, 1, 0, 0), "│": (0, 0, 1, 1), "╭": (0, 1, 0, 1), "╮": (1, 0, 0, 1),
    "╰": (0, 1, 1, 0), "╯": (1, 0, 1, 0), "┌": (0, 1, 0, 1), "┐": (1, 0, 0, 1),
    "└": (0, 1, 1, 0), "┘": (1, 0, 1, 0),
}


def _colours(style: Style | None) -> tuple[tuple, tuple, bool]:
    style = style or Style()
    fg = style.color.get_truecolor() if style.color else FOREGROUND
    bg = style.bgcolor.get_truecolor(foreground=False) if style.bgcolor else BACKGROUND
    fg, bg = tuple(fg), tuple(bg)
    if style.dim:
        fg = tuple((a + b) // 2 for a, b in zip(fg, bg, strict=True))
    if style.reverse:
        fg, bg = bg, fg
    return fg, bg, bool(style.bold)


def render_images(renderables: Sequence[RenderableType], width: int = 110,
                  font_size: int = 15) -> list[Image.Image]:
    """One RGB image per renderable, all the same size (the tallest wins)."""
    console = Console(width=width, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", legacy_windows=False)
    rendered = [console.render_lines(r, console.options, pad=True) for r in renderables]
    rows = max(len(lines) for lines in rendered)
    painter = CellPainter(font_size)
    return [painter.paint(lines, rows, width) for lines in rendered]


def save_gif(path, renderables: Sequence[RenderableType],
             durations_ms: Sequence[int], width: int = 110) -> int:
    """Write an animated GIF (looping); returns the number of frames."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ArgumentError(f"`--save` must name a .gif file. Received: {str(path)!r}")
    if not renderables:
        raise ArgumentError("There are no frames to save.")
    images = render_images(renderables, width)
    path.parent.mkdir(parents=True, exist_ok=True)
    images[0].save(path, save_all=True, append_images=images[1:], loop=0,
                   duration=[max(int(d), 20) for d in durations_ms], disposal=1)
    return len(images)
