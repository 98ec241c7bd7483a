"""The line under a playing frame: what the keys do right now.

The same key does different things as a lesson plays, so the line says which
one applies:

* ``'reading'`` (▶, in bold): a narration waits for you (in a terminal,
  unless ``--wpm`` says to move on by itself): space, n, → or Enter go on;
* ``'playing'`` (▶): the window slides on by itself: space pauses;
* ``'paused'`` (⏸): nothing moves (``--step``, or after space or p): space
  plays again, n goes one frame on.

On a lesson's first frame the line also names ``--step``, so a learner who
wants every frame to wait learns how from the first screen. Every line fits
80 columns (the tests check each one).
"""

from __future__ import annotations

from rich.text import Text

__all__ = ["STATES", "status_line"]

STATES = ("reading", "playing", "paused")

WORDS = {
    "en": {
        "reading": "▶ space/n/→ next · p/← back · q quit",
        "playing": "▶ space pause · n/→ next · p/← back · q quit",
        "paused": "⏸ space play · n/→ next · p/← back · q quit",
        "first": " · --step: stop at every frame",
    },
    "ko": {
        "reading": "▶ 스페이스/n/→ 다음 · p/← 이전 · q 종료",
        "playing": "▶ 스페이스 정지 · n/→ 다음 · p/← 이전 · q 종료",
        "paused": "⏸ 스페이스 재생 · n/→ 다음 · p/← 이전 · q 종료",
        "first": " · --step: 프레임마다 멈춤",
    },
}


def status_line(lang: str, state: str | bool, first: bool = False) -> Text:
    """The key line for ``state`` (one of :data:`STATES`; ``True`` and
    ``False`` mean paused and playing), with ``--step`` named on the
    ``first`` frame. A waiting narration's line is bold, so it is seen."""
    if isinstance(state, bool):
        state = "paused" if state else "playing"
    words = WORDS.get(lang, WORDS["en"])
    text = words[state] + (words["first"] if first else "")
    return Text(text, style="bold" if state == "reading" else "grey50")
