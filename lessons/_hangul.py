"""Korean particles that depend on the word before them.

A Korean particle changes with the sound the word ends in: the object marker
is 을 after a final consonant (받침) and 를 after a vowel, so a sentence that
fills in a word (``{cls}를``) must choose: 숫자 0을 (영), 숫자 9를 (구),
고양이를. Digits are read as Sino-Korean numbers (영, 일, 이, 삼, ...).

Not a lesson (the leading underscore keeps it out of the catalog): helpers
for the lessons' Korean sentences.
"""

from __future__ import annotations

__all__ = ["object_particle"]

#: Whether a digit's Korean name ends in a consonant (영, 일, 삼, 육, 칠, 팔).
_DIGIT_FINAL = {"0": True, "1": True, "2": False, "3": True, "4": False,
                "5": False, "6": True, "7": True, "8": True, "9": False}


def ends_in_consonant(word: str) -> bool:
    """Whether ``word`` ends in a final consonant, as read aloud in Korean
    (a Hangul syllable with a 받침, or a digit such as 0, 1, 3)."""
    last = word[-1:] or " "
    if last in _DIGIT_FINAL:
        return _DIGIT_FINAL[last]
    if "가" <= last <= "힣":
        return (ord(last) - ord("가")) % 28 != 0  # 28 finals, the first is none
    return False


def object_particle(word: str, lang: str) -> str:
    """``word`` as an object: Korean adds 을 or 를; English adds nothing.

    >>> object_particle("숫자 0", "ko"), object_particle("고양이", "ko")
    ('숫자 0을', '고양이를')
    """
    if lang != "ko" or not word:
        return word
    return word + ("을" if ends_in_consonant(word) else "를")
