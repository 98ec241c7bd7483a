"""The labels drawn in pictures (grid titles, legends), in English and Korean.

Korean follows the vocabulary of the Korean edition of the book (박해선 옮김)
and of the learner's notes: 합성곱, 필터, 패치, 윈도우, 패딩, 스트라이드,
최대 풀링, 특성 맵. The lesson player's own words (keys, quiz) are in
:mod:`convsim.lesson.words`.
"""

from __future__ import annotations

LANGS = ("en", "ko")

LABELS = {
    "en": {
        "input": "input", "filter": "filter", "products": "patch × filter",
        "output": "feature map", "padded": "padded input", "sum": "sum",
        "bias": "bias", "step": "step", "of": "of", "channel": "channel",
        "patch": "patch", "part": "part",
    },
    "ko": {
        "input": "입력", "filter": "필터", "products": "패치 × 필터",
        "output": "특성 맵", "padded": "패딩한 입력", "sum": "합",
        "bias": "편향", "step": "단계", "of": "/", "channel": "채널",
        "patch": "패치", "part": "일부",
    },
}


def label(key: str, lang: str) -> str:
    """The label ``key`` in ``lang`` (English for an unknown language)."""
    return LABELS.get(lang, LABELS["en"])[key]
