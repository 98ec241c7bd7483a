"""The lesson player's words (quiz, saving, errors), the default language, and
:func:`say` for filling narration templates.

Labels inside pictures are in :mod:`convsim.viz.words`; Korean particles that
follow a filled-in value (``{n}(으)로``) are chosen by :mod:`convsim.lesson.josa`.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping

from rich.markup import escape

from convsim.lesson import josa
from convsim.viz.words import LANGS

__all__ = ["LANGS", "default_lang", "say", "word"]

WORDS = {
    "en": {
        "right": "✔ Right!", "wrong": "✘ Not quite.", "skipped": "Skipped.",
        "answer": "Answer", "score": "Quiz: {right} of {asked} right.",
        "your_answer": "your answer", "saved": "Saved {n} frames to {path}",
        "no_hangul_font": "No Korean font found: Hangul in the GIF will show as "
                          "boxes (install e.g. fonts-nanum).",
        "error": "error", "see": "see",
    },
    "ko": {
        "right": "✔ 정답!", "wrong": "✘ 아쉽네요.", "skipped": "건너뜀.",
        "answer": "정답", "score": "퀴즈: {asked}문제 중 {right}문제 정답.",
        "your_answer": "내 답", "saved": "{n}개 프레임을 {path} 에 저장했습니다",
        "no_hangul_font": "한글 글꼴을 찾지 못해 GIF의 한글이 네모로 보입니다 "
                          "(예: fonts-nanum 설치).",
        "error": "오류", "see": "도움말",
    },
}


def default_lang(environ: Mapping[str, str] | None = None) -> str:
    """``'ko'`` when the locale is Korean (LC_ALL, then LC_MESSAGES, then LANG)."""
    environ = os.environ if environ is None else environ
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var)
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


def word(key: str, lang: str) -> str:
    """The player's word ``key`` in ``lang`` (English for an unknown language)."""
    return WORDS.get(lang, WORDS["en"])[key]


_FORMATTER = string.Formatter()


def say(template: str, **values) -> str:
    """Fill a rich-markup template, escaping the values (so ``[0, 1]`` stays text).

    A Korean particle written after a field in both its forms, ``{n}(으)로``,
    ``{layer}(을)를``, is resolved from how the filled-in value ends when read
    aloud (:mod:`convsim.lesson.josa`):

    >>> say("학습률 {lr}(으)로, 필터 {k}(을)를", lr=0.0085, k="3×3")
    '학습률 0.0085로, 필터 3×3을'
    """
    parts = []
    previous = None  # the text of the value just filled in
    for literal, field, spec, conversion in _FORMATTER.parse(template):
        if previous is not None:
            literal = josa.resolve(previous, literal)
        parts.append(literal)
        if field is None:
            previous = None
            continue
        value, _ = _FORMATTER.get_field(field, (), values)
        value = _FORMATTER.convert_field(value, conversion)
        spec = _FORMATTER.vformat(spec, (), values) if spec else ""
        previous = _FORMATTER.format_field(value, spec) if spec else str(value)
        parts.append(escape(previous))
    return "".join(parts)
