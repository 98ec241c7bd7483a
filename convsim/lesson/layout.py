"""Fitting a lesson's screen into the learner's terminal, from 80×24 up.

A frame is drawn in a terminal that may be 80 columns by 24 lines or much
bigger. Three tools make every frame fit whatever the console measures:

* :class:`Screen` stacks the title bar, the picture, the narration and the
  status line, and tells the picture how many lines are left for it once the
  narration and the status line have theirs (``options.max_height``). So the
  narration and the keys are never pushed off the bottom: the picture is what
  adapts.
* :class:`Fit` holds several layouts of the same picture, richest first
  (panels side by side, then a compact arrangement, ...), and draws the first
  one that fits the width and the lines it is given. The choice is made each
  time the frame is drawn, so a terminal resized between two frames gets the
  layout that suits its new size. ``Fit.sized(draw, side)`` is the usual case
  for pictures: ``draw`` at the side asked for (``--size``), else smaller.
* :func:`too_small` is the one line said when a terminal is below
  :data:`MIN_COLUMNS` × :data:`MIN_LINES`, where no layout can fit.

Only the animated player has a screen height: printed frames (``--no-animate``,
a pipe) and GIFs scroll, so there a :class:`Screen` gives the picture all the
lines it wants and only the width is fitted.

>>> import io
>>> from rich.console import Console
>>> from rich.text import Text
>>> wide = Text("a picture forty columns wide, never wrapped", no_wrap=True)
>>> narrow = Text("a compact one")
>>> console = Console(width=30, file=io.StringIO())
>>> Fit(wide, narrow).choose(console, console.options) is narrow
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.segment import Segment

from convsim.errors import ArgumentError

__all__ = ["MIN_COLUMNS", "MIN_LINES", "Fit", "Screen", "fits", "ink", "lines_of",
           "sides", "too_small"]

#: The smallest terminal every lesson fits: the classic VT100 screen.
MIN_COLUMNS, MIN_LINES = 80, 24
#: "As many lines as it likes": the height given where frames scroll.
UNLIMITED = 1_000_000
#: A width no picture reaches: a layout drawn this wide is drawn whole.
WIDE = 1_000
#: Box-drawing characters (borders, rules): their number follows the width.
BOX_LINES, BOX_LINES_END = "\u2500", "\u257f"

TOO_SMALL = {
    "en": "The lessons need a terminal of at least {need}; this one is {have}. "
          "Make the window larger and run the lesson again.",
    "ko": "레슨에는 {need} 이상의 터미널이 필요한데, 지금 터미널은 {have}입니다. "
          "창을 키운 뒤 레슨을 다시 실행하세요.",
}

Layout = RenderableType | Callable[[], RenderableType]


def too_small(columns: int, lines: int, lang: str = "en", *,
              scrolls: bool = False) -> str | None:
    """The one line to say when a terminal is too small, else None.

    With ``scrolls=True`` (frames printed one after another, which scroll)
    only the width counts.

    >>> too_small(100, 30) is None
    True
    >>> too_small(70, 20).split(". ")[0]
    'The lessons need a terminal of at least 80×24; this one is 70×20'
    >>> too_small(80, 12, scrolls=True) is None
    True
    """
    if columns >= MIN_COLUMNS and (scrolls or lines >= MIN_LINES):
        return None
    return TOO_SMALL.get(lang, TOO_SMALL["en"]).format(
        need=f"{MIN_COLUMNS}×{MIN_LINES}", have=f"{columns}×{lines}")


def sides(largest: int, smallest: int = 8) -> list[int]:
    """Picture sizes to try, largest first: three quarters smaller each time,
    down to ``smallest`` (``largest`` alone when it is smaller still).

    >>> sides(36, 12)
    [36, 27, 20, 15, 12]
    """
    found = [largest]
    while found[-1] * 3 // 4 >= smallest:
        found.append(found[-1] * 3 // 4)
    if found[-1] > smallest and largest > smallest:
        found.append(smallest)
    return found


def lines_of(console: Console, renderable: RenderableType,
             options: ConsoleOptions) -> list[list[Segment]]:
    """The lines ``renderable`` takes at ``options``' width (not padded)."""
    return console.render_lines(renderable, options, pad=False)


def ink(lines: list[list[Segment]]) -> int:
    """How many characters the lines show, not counting spaces and box lines
    (a border or a rule is as long as the space it is given)."""
    return sum(1 for line in lines for segment in line if not segment.control
               for char in segment.text
               if not char.isspace() and not BOX_LINES <= char <= BOX_LINES_END)


def fits(console: Console, renderable: RenderableType,
         options: ConsoleOptions) -> bool:
    """Whether ``renderable`` shows whole within ``options.max_width`` columns
    and ``options.max_height`` lines.

    Whole means nothing is cut: drawn at this width it shows as many
    characters as drawn with all the room it wants. Wrapping keeps every
    character and passes; rich cropping a grid too wide for its column, or
    ending a squeezed cell with "…", changes the count and fails.
    """
    lines = lines_of(console, renderable, options)
    if options.max_height < UNLIMITED and len(lines) > options.max_height:
        return False
    roomy = lines_of(console, renderable, options.update(max_width=WIDE))
    return ink(lines) == ink(roomy)  # "…" for cut spaces is a cut too


class Fit:
    """Several layouts of one picture, richest first; draws the first that fits.

    A layout may be a renderable or a function returning one (built only when
    it is tried). When none fits, the last (the most compact) is drawn.
    """

    def __init__(self, *layouts: Layout):
        if not layouts:
            raise ArgumentError("Fit needs at least one layout. Received none.")
        self.layouts = layouts

    @classmethod
    def sized(cls, draw: Callable[[int], RenderableType], side: int,
              smallest: int = 8) -> Fit:
        """``draw(side)``, or ``draw`` at a smaller side where that is what
        fits: pictures a learner asked to be big (``--size``) shrink on a
        small screen rather than being cut."""
        return cls(*(lambda s=s: draw(s) for s in sides(side, smallest)))

    def choose(self, console: Console, options: ConsoleOptions) -> RenderableType:
        """The first layout that fits ``options`` (else the last)."""
        for layout in self.layouts[:-1]:
            candidate = layout() if callable(layout) else layout
            if fits(console, candidate, options):
                return candidate
        last = self.layouts[-1]
        return last() if callable(last) else last

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        yield self.choose(console, options)

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        return Measurement.get(console, options, self.choose(console, options))


class Screen:
    """One screen: ``above`` (the title bar), the picture, ``below`` (the
    narration and the status line), with the picture given the lines left.

    Args:
        view: the picture; it finds the lines it may use in
            ``options.max_height`` (a :class:`Fit` chooses by it).
        above, below: drawn whole, in order, before and after the picture.
        height: the screen's height in lines, or None when the frames scroll
            (printed frames, GIFs): then only the width is fitted.
    """

    def __init__(self, view: RenderableType, above: Sequence[RenderableType] = (),
                 below: Sequence[RenderableType] = (), height: int | None = None):
        self.view, self.above, self.below = view, tuple(above), tuple(below)
        self.height = height

    @property
    def renderables(self) -> list[RenderableType]:
        """The parts in order, as a rich ``Group`` lists them."""
        return [*self.above, self.view, *self.below]

    def room(self, console: Console, options: ConsoleOptions) -> int:
        """The lines left for the picture."""
        if self.height is None:
            return UNLIMITED
        taken = sum(len(lines_of(console, part, options))
                    for part in (*self.above, *self.below))
        return max(self.height - taken, 1)

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        view_options = options.copy()
        view_options.max_height = self.room(console, options)
        yield from self.above
        for line in lines_of(console, self.view, view_options):
            yield from line
            yield Segment.line()
        yield from self.below

    def __rich_measure__(self, console: Console, options: ConsoleOptions
                         ) -> Measurement:
        parts = [Measurement.get(console, options, p) for p in self.renderables]
        return Measurement(max(p.minimum for p in parts),
                           max(p.maximum for p in parts))


def fit_frames(frames_at: Callable[[int], list], side: int,
               smallest: int = 8) -> list:
    """The frames ``frames_at(side)`` makes, each picture also drawn at the
    smaller sides of :func:`sides`, the first that fits shown: a lesson whose
    pictures all follow ``--size`` shrinks them on a small screen. The
    numbers do not depend on the side, only the drawing."""
    from dataclasses import replace

    versions = [frames_at(s) for s in sides(side, smallest)]
    return [replace(frame, view=Fit(*(v[i].view for v in versions)))
            for i, frame in enumerate(versions[0])]
