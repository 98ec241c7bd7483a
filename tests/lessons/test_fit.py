"""Every frame of every lesson fits an 80×24 and a 120×45 terminal, in English
and in Korean (issue 13, item 2).

A frame is drawn as the animated player draws it: title bar, picture,
narration and key line (``compose`` with the status line and the screen's
height), on a colour terminal console of that size, after the lesson's own
``run`` (a lesson such as ``activations`` pages its frames by the player's
console). Nothing may be cut:

* no frame is taller than the screen (rich's live display would drop the
  bottom lines: the narration and the keys);
* no line is wider than the screen;
* nothing inside is cropped or ended with "…" to fit: rich does that quietly
  when a grid is wider than the table column it sits in, so the test watches
  rich's two cutting functions (``Segment.adjust_line_length`` and
  ``Text.truncate``) while the frame is drawn and fails on any cut that loses
  a character. (A :class:`~convsim.lesson.layout.Fit` trying a layout that
  does not fit cuts on purpose; those trials are not counted.)

The fast test draws every lesson's key frames at 80×24; the slow ones draw
every frame at 80×24 and the key frames at 120×45, and the key frames and
every tenth frame at the largest ``--size``.
"""

from __future__ import annotations

import contextlib
import io

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.segment import Segment
from rich.text import Text

from convsim.lesson import catalog, layout
from convsim.lesson.frames import compose
from convsim.lesson.player import Player, PlayResult
from convsim.lesson.status import status_line

SCREENS = ((80, 24), (120, 45))
#: Lessons that look inside the trained MNIST convnet (the session trains it once).
TRAINED = ("activations", "filters", "gradcam", "translation")
SAMPLE_EVERY = 10


class Recorder(Player):
    """A player that keeps the lesson instead of playing it."""

    def play(self, lesson) -> PlayResult:
        self.lesson = lesson
        return PlayResult()


def terminal(width: int, height: int) -> Console:
    return Console(file=io.StringIO(), width=width, height=height,
                   force_terminal=True, color_system="truecolor")


def lesson_on(name: str, lang: str, console: Console, **options):
    """The lesson's frames as ``run`` makes them for ``console``."""
    recorder = Recorder(console, mode="animate")
    catalog.load(name).run(console=console, lang=lang, player=recorder, **options)
    return recorder.lesson


def _lost(text: str, cells: int) -> str:
    """The part of ``text`` beyond its first ``cells`` cells."""
    used = 0
    for i, char in enumerate(text):
        used += cell_len(char)
        if used > cells:
            return text[i:]
    return ""


@contextlib.contextmanager
def watching_cuts():
    """Yields a list that fills with ``(text, width)`` for every cut rich
    makes that loses more than spaces (outside a Fit's trials)."""
    cuts: list[tuple[str, int]] = []
    trial = [0]
    adjust, truncate, fits = (Segment.adjust_line_length.__func__, Text.truncate,
                              layout.fits)

    def watched_adjust(cls, line, length, style=None, pad=True):
        text = "".join(s.text for s in line if not s.control)
        if not trial[0] and _lost(text, length).strip():
            cuts.append((text, length))
        return adjust(cls, line, length, style=style, pad=pad)

    def watched_truncate(self, max_width, *, overflow=None, pad=False):
        if (not trial[0] and (overflow or self.overflow) != "ignore"
                and _lost(self.plain, max_width).strip()):
            cuts.append((self.plain, max_width))
        return truncate(self, max_width, overflow=overflow, pad=pad)

    def trying(*args, **kwargs):
        trial[0] += 1
        try:
            return fits(*args, **kwargs)
        finally:
            trial[0] -= 1

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Segment, "adjust_line_length", classmethod(watched_adjust))
        patch.setattr(Text, "truncate", watched_truncate)
        patch.setattr(layout, "fits", trying)
        yield cuts


def problems(lesson, indices, console: Console) -> list[str]:
    """What does not fit, frame by frame (empty when everything does)."""
    width, height = console.width, console.height
    found = []
    for i in indices:
        status = status_line(lesson.lang, "playing", first=i == 0)
        screen = compose(lesson, i, status, height=height)
        with watching_cuts() as cuts:
            lines = list(Segment.split_lines(console.render(screen, console.options)))
        widest = max(cell_len("".join(s.text for s in line if not s.control)
                              .rstrip()) for line in lines)
        where = f"{lesson.name} ({lesson.lang}) frame {i + 1} at {width}×{height}"
        if len(lines) > height:
            found.append(f"{where}: {len(lines)} lines")
        if widest > width:
            found.append(f"{where}: a line of {widest} columns")
        found += [f"{where}: cut {text.strip()!r} to {cells} columns"
                  for text, cells in cuts[:2]]
    return found


def check(name: str, lang: str, every: int | None, screens=SCREENS,
          **options) -> list[str]:
    """Problems in the key frames and every ``every``-th frame (only the key
    frames and the last when ``every`` is None) on each of ``screens``."""
    found = []
    for width, height in screens:
        console = terminal(width, height)
        lesson = lesson_on(name, lang, console, **options)
        last = len(lesson.frames) - 1
        indices = [i for i, frame in enumerate(lesson.frames) if frame.key
                   or i == last or (every is not None and i % every == 0)]
        found += problems(lesson, indices, console)
    return found


def _params(slow_trained: bool):
    for name in catalog.names():
        marks = [pytest.mark.slow] if slow_trained and name in TRAINED else []
        yield pytest.param(name, marks=marks, id=name)


@pytest.fixture
def model_if_needed(request):
    name = request.node.callspec.params["name"]
    if name in TRAINED:
        request.getfixturevalue("trained_mnist")


@pytest.mark.parametrize("name", list(_params(slow_trained=True)))
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_key_frames_fit_80x24(name, lang, model_if_needed):
    """The fast loop's check: the key frames on the smallest screen."""
    assert check(name, lang, None, screens=SCREENS[:1]) == []


@pytest.mark.slow
@pytest.mark.parametrize("name", list(_params(slow_trained=False)))
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_frame_fits_80x24_and_120x45(name, lang, model_if_needed):
    """Every frame at 80×24 (where layouts change), the key frames at 120×45."""
    assert (check(name, lang, 1, screens=SCREENS[:1])
            + check(name, lang, None, screens=SCREENS[1:])) == []


#: Lessons whose pictures do not fit 80×24 at their largest --size yet (an
#: expected failure, so whoever fixes one must take it out): none now.
TOO_BIG_AT_LARGEST: set[str] = set()


def _sized():
    for name in catalog.names():
        size = catalog.load(name).SIZE
        if size is None:
            continue
        marks = [pytest.mark.xfail(strict=True, reason="its pictures do not fit "
                                   "80x24 at the largest --size yet")
                 ] if name in TOO_BIG_AT_LARGEST else []
        yield pytest.param(name, size[2], marks=marks, id=f"{name}-{size[2]}")


@pytest.mark.slow
@pytest.mark.parametrize("name, size", list(_sized()))
def test_the_largest_size_fits_too(name, size, model_if_needed):
    """--size at its largest on the smallest screen, in English (the Korean
    words take no more room where the pictures grow)."""
    assert check(name, "en", SAMPLE_EVERY, screens=SCREENS[:1], size=size) == []


def test_the_watch_sees_a_cut_and_not_a_wrap():
    """The detector itself: a grid squeezed into a narrow table column is a
    cut, text wrapping is not."""
    import numpy as np

    from convsim.viz.conv_view import side_by_side
    from convsim.viz.grid import Grid

    console = terminal(40, 24)
    grid = Grid(np.arange(24.0).reshape(2, 12))
    with watching_cuts() as cuts:
        console.render_lines(side_by_side(grid, grid), console.options)
    assert cuts
    with watching_cuts() as cuts:
        console.render_lines(Text("a few words " * 20), console.options)
    assert cuts == []


def test_the_smaller_pictures_keep_what_matters():
    """feature-maps' half-size maps keep each block's strongest value with its
    sign (a one-pixel edge survives); pictures try ever smaller sides."""
    import numpy as np
    from convsim.lessons import feature_maps

    values = np.zeros((5, 4))
    values[1, 2], values[3, 0], values[2, 3] = 0.5, -2.0, 1.0
    assert feature_maps.halve(values).tolist() == [[0.0, 0.5], [-2.0, 1.0]]
    assert layout.sides(36, 12) == [36, 27, 20, 15, 12]
    assert layout.sides(12, 12) == [12] and layout.sides(9, 12) == [9]
