"""How long each frame stays on screen: long enough to read what is new.

A lesson mixes two kinds of frames:

* **narration**: a caption with something new to read (the introduction,
  "Part 2, padding='same': ...", the first "Product 1 of 9 ..."). It stays
  for its *reading time*, or, in a terminal where you can press keys, until
  you press one (the player decides which; see :mod:`convsim.lesson.player`);
* **animation**: the window sliding on, with the same sentences as before and
  only their numbers changed ("Product 4 of 9 ...", "The window slides 1
  column ..."). These go at the lesson's pace, ``hold / fps`` seconds, which
  ``--fps`` changes. ``--fps`` never cuts a narration short.

What counts as new: a caption is split into sentences; a sentence that was
already shown earlier in the lesson with other numbers in it is familiar (only
its numbers are new), every other sentence is read in full. The reading time
is ``words / wpm`` minutes, counting Korean by its syllables (see
:data:`SYLLABLES_PER_WORD`).

Everything here is arithmetic on the captions: no clock, no console. The
player and the GIF writer (``--save``) use the same :func:`plan`.

>>> from rich.text import Text
>>> from convsim.lesson.frames import Frame
>>> beats = plan([Frame(Text(""), "The window slides 1 column to the right."),
...               Frame(Text(""), "The window slides 1 column to the right.")],
...              fps=2.0, wpm=240)
>>> [(b.narration, round(b.seconds, 2)) for b in beats]
[(True, 3.0), (False, 0.5)]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text

from convsim.lesson.frames import Frame

__all__ = ["DEFAULT_WPM", "Beat", "plan", "reading_words", "sentences"]

#: Words per minute when nobody says otherwise (``--wpm``). Adults read English
#: non-fiction silently at about 238 words a minute (Brysbaert 2019, "How many
#: words do we read per minute?", J. Memory and Language 109, a meta-analysis
#: of 190 studies), slower in a second language; a lesson also asks you to
#: check its numbers against the picture, so convsim's default is lower.
DEFAULT_WPM = 200

#: Korean is counted in syllables (Hangul blocks), then turned into the time
#: of English words. Song, Kim & Hyung (2016, J. Korean Ophthalmol. Soc. 57(4),
#: 642-649) measured silent reading at 202.3 words (어절) a minute on
#: sentences of 18.9 syllables in 6.5 words on average: about 588 syllables a
#: minute. Against English's 238 words a minute, one English word's time reads
#: 588 / 238 = 2.47 syllables; at the default 200 that is 494 syllables a
#: minute.
SYLLABLES_PER_WORD = 588 / 238

#: A frame whose never-seen sentences hold at least this many words is
#: narration; fewer (or only changed numbers) is animation.
NARRATION_WORDS = 4

#: Before reading, a second to find your place in a new picture.
LOOK_SECONDS = 1.0

_NUMBER = re.compile(r"[-+]?\d+(?:[.,]\d+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_WORDLIKE = re.compile(r"[^\W_]")  # a letter or a digit, in any script


@dataclass(frozen=True)
class Beat:
    """How one frame is paced.

    ``narration``: it has something new to read; ``seconds``: how long it
    stays when nobody presses a key; ``words``: the new words it was timed for
    (English words, or Korean syllables turned into words).
    """

    narration: bool
    seconds: float
    words: float


def plain(caption: str) -> str:
    """The caption as the learner reads it: rich markup removed."""
    return Text.from_markup(caption).plain if caption else ""


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (split after ``.``, ``!`` or ``?`` and a space).

    >>> sentences("Stride 2: it fits 2×2 times. The output is smaller.")
    ['Stride 2: it fits 2×2 times.', 'The output is smaller.']
    """
    return [s for s in _SENTENCE_END.split(text.strip()) if s]


def reading_words(text: str) -> float:
    """How many English words' reading time ``text`` takes.

    A token with a letter or digit is one word; Hangul counts by syllable
    (:data:`SYLLABLES_PER_WORD` of them make a word), plus one word when the
    token also holds Latin letters or digits (``Conv2D의``). Signs such as
    ``×``, ``=`` and ``→`` are seen at a glance and count for nothing.

    >>> reading_words("floor((5 - 3) / 2) + 1 = 2")
    5.0
    >>> round(reading_words("합성곱 연산"), 2)  # 5 syllables
    2.02
    """
    words = 0.0
    for token in text.split():
        syllables = len(_HANGUL.findall(token))
        rest = _HANGUL.sub("", token)
        words += syllables / SYLLABLES_PER_WORD
        if _WORDLIKE.search(rest):
            words += 1.0
    return words


def _shape(sentence: str) -> str:
    """A sentence with its numbers blanked: the same shape means familiar."""
    return _NUMBER.sub("#", sentence)


def plan(frames: Sequence[Frame], *, fps: float,
         wpm: float = DEFAULT_WPM) -> list[Beat]:
    """One :class:`Beat` per frame, in order.

    A narration stays :data:`LOOK_SECONDS` plus the reading time of its new
    words, whatever ``fps`` is. An animation frame stays ``frame.hold / fps``
    seconds, or longer if the few new words it has take longer to read.

    Args:
        frames: the lesson's frames (English or Korean: :func:`reading_words`
            tells Hangul from Latin by itself).
        fps: frames per second of the animation (``--fps``).
        wpm: reading speed in English words per minute (``--wpm``).
    """
    seen: set[str] = set()
    beats = []
    for frame in frames:
        fresh = numbers = 0.0
        for sentence in sentences(plain(frame.caption)):
            shape = _shape(sentence)
            if shape in seen:
                numbers += len(_NUMBER.findall(sentence))
            else:
                fresh += reading_words(sentence)
                seen.add(shape)
        if fresh >= NARRATION_WORDS:
            words = fresh + numbers
            beats.append(Beat(True, LOOK_SECONDS + 60.0 * words / wpm, words))
        else:
            seconds = max(frame.hold / fps, 60.0 * fresh / wpm)
            beats.append(Beat(False, seconds, fresh + numbers))
    return beats
