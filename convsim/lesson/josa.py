"""Korean particles (조사) that change with the word before them.

A Korean particle has two forms, and the word it follows chooses: after a
word ending in a consonant (a syllable with a final consonant, 받침) comes
one form, after a vowel the other::

    필터**를** (vowel)      합성곱**을** (consonant)
    스트라이드**는**         패딩**은**
    윈도우**가**             특성 맵**이**
    풀링**과** / 렐루**와**
    0.5**로** (오: vowel)    3×3 필터**로** / 26**으로** (육: consonant)

``으로`` has a third rule: after ㄹ it is ``로`` as after a vowel
(1**로**, 일 ends in ㄹ; 커널**로**).

A lesson's sentence is a template with a value filled in (``{rate}``), so
the particle cannot be written once: the template writes both forms, the
one after a consonant in parentheses, and :func:`resolve` (used by
:func:`convsim.lesson.words.say`) picks one once the value is known::

    {x}(을)를  {x}(이)가  {x}(은)는  {x}(과)와  {x}(아)야
        a pair: one or the other;
    {x}(으)로  {x}(이)라  {x}(이)나  {x}(이)다  ...
        the first syllable is dropped after a vowel (으 also after ㄹ).

How the last sound is found (:func:`final_sound`), reading the value as a
Korean speaker reads it aloud:

* a Hangul syllable: its final consonant, if any;
* a number in Sino-Korean: 0 영, 1 일, 2 이, 3 삼, 4 사, 5 오, 6 육, 7 칠,
  8 팔, 9 구; a whole number ending in zeros ends in its place word: 10 십,
  100 백, 1,000 천, 10,000 만 (so 20 이십, 300 삼백, 50,000 오만); a decimal
  is read digit by digit after the point (0.0085 ends in 오);
* sizes such as 3×3 or 150×150×3 end in their last number;
* a code name or an English word by its last part: ``conv2d_1`` ends in
  its digit (일), ``Conv2D`` in the letter D (디), ``EarlyStopping`` in
  Stopping. A single letter or an acronym is read letter by letter, by the
  letters' Korean names (L 엘, M 엠, N 엔, R 알 end in a consonant; D 디,
  X 엑스 and the others in a vowel). A word is read as it sounds in Korean,
  which its spelling tells well enough (:func:`_english_sound`: -l 커널,
  -m/-n/-ng 패딩, a vowel then -p/-t/-k/-b 플립 인풋, -ck 스택; anything
  else, such as relu 렐루, -r 필터, -s 바이어스 or -d 밸리드, ends in a
  vowel), with a table for the few it gets wrong (jet 제트);
* what closes a value (quotes, a bracket) is not read, and a parenthesis at
  the end is a gloss: ``'conv2d'`` is read as conv2d, and ``합성곱 (Conv2D)``
  as 합성곱 (Korean chooses the particle by the word outside the brackets);
* % is 퍼센트 and ° is 도, both vowels.

Anything else (a symbol with no common reading) counts as a vowel.
"""

from __future__ import annotations

import re

__all__ = ["CONSONANT", "RIEUL", "VOWEL", "attach", "choose", "final_sound",
           "resolve"]

VOWEL, CONSONANT, RIEUL = "vowel", "consonant", "ㄹ"

_FIRST_SYLLABLE, _LAST_SYLLABLE = 0xAC00, 0xD7A3  # 가 ... 힣
_FINALS = 28  # each initial+vowel has 28 syllables: no final, then 27 finals
_FINAL_RIEUL = 8  # ㄹ is the 8th final consonant

#: How each digit is read (Sino-Korean), and the sound it ends in.
_DIGITS = {"0": CONSONANT, "1": RIEUL, "2": VOWEL, "3": CONSONANT, "4": VOWEL,
           "5": VOWEL, "6": CONSONANT, "7": RIEUL, "8": RIEUL, "9": VOWEL}
#: Place words of 10, 100, 1000 (십, 백, 천) and of 10^4, 10^8, 10^12, 10^16
#: (만, 억, 조, 경): a whole number ending in zeros ends in one of them.
_PLACES = {1: CONSONANT, 2: CONSONANT, 3: CONSONANT}
_MYRIADS = {1: CONSONANT, 2: CONSONANT, 3: VOWEL, 4: CONSONANT}
#: Latin letters whose Korean names end in a consonant: 엘, 엠, 엔, 알.
_LETTERS = {"l": RIEUL, "m": CONSONANT, "n": CONSONANT, "r": RIEUL}
#: English words whose spelling misleads :func:`_english_sound` (lower case):
#: Korean writes them with a final vowel.
_WORDS = {"jet": VOWEL, "set": VOWEL}  # 제트 (the book's colour map), 세트
_UNITS = {"%": VOWEL, "°": VOWEL}  # 퍼센트, 도
_CLOSING = "'\"’”)]}」』>`"
_GLOSS = re.compile(r"\s*\([^()]*\)$")  # a parenthesis at the end of a value
_NUMBER = re.compile(r"(\d[\d,]*)(\.\d+)?$")
#: The last part of a Latin name: a capitalised or lower-case word
#: (Stopping, relu), or a run of capitals (SGD, the D of Conv2D).
_LAST_PART = re.compile(r"(?:[A-Z]?[a-z]+|[A-Z]+)$")

#: Particles written as a pair "(after a consonant)after a vowel".
_PAIRS = {("을", "를"), ("은", "는"), ("이", "가"), ("과", "와"), ("아", "야")}
#: A particle in a template: ``(을)를``, ``(으)로``, ``(이)라`` ...
PARTICLE = re.compile(r"\(([으이을은과아])\)([가-힣]+)")


def final_sound(word: str) -> str:
    """How ``word`` ends when read aloud in Korean: :data:`VOWEL`,
    :data:`CONSONANT` or :data:`RIEUL` (a final ㄹ).

    >>> final_sound("필터"), final_sound("패딩"), final_sound("커널")
    ('vowel', 'consonant', 'ㄹ')
    >>> final_sound("0.0085"), final_sound("26"), final_sound("3×3"), final_sound("20")
    ('vowel', 'consonant', 'consonant', 'consonant')
    """
    word = _spoken_part(word)
    if not word:
        return VOWEL
    last = word[-1]
    if _FIRST_SYLLABLE <= ord(last) <= _LAST_SYLLABLE:
        final = (ord(last) - _FIRST_SYLLABLE) % _FINALS
        return VOWEL if final == 0 else RIEUL if final == _FINAL_RIEUL else CONSONANT
    if last in _UNITS:
        return _UNITS[last]
    number = _NUMBER.search(word)
    if number:
        return _number_sound(number.group(1).replace(",", ""), number.group(2))
    latin = _LAST_PART.search(word)
    if latin:
        return _latin_sound(latin.group(0))
    return VOWEL


def _spoken_part(word: str) -> str:
    """``word`` without what is not read before a particle: trailing spaces,
    closing quotes and brackets, and a gloss in parentheses at the end."""
    word = word.rstrip()
    while True:
        gloss = _GLOSS.search(word)
        if gloss and gloss.start() > 0:
            word = word[:gloss.start()].rstrip()
        elif word and word[-1] in _CLOSING:
            word = word[:-1].rstrip()
        else:
            return word


def _number_sound(whole: str, decimals: str | None) -> str:
    """The last sound of a number read in Sino-Korean."""
    if decimals:  # after the point, digit by digit: 0.0085 is ... 팔 오
        return _DIGITS[decimals[-1]]
    zeros = len(whole) - len(whole.rstrip("0"))
    if zeros == len(whole):
        return _DIGITS["0"]  # 영
    if zeros >= 4:  # 만, 억, 조, 경 end the reading (십만 ends in 만)
        return _MYRIADS.get(zeros // 4, CONSONANT)
    if zeros:
        return _PLACES[zeros]  # 십, 백, 천
    return _DIGITS[whole[-1]]


def _latin_sound(part: str) -> str:
    """The last sound of the last part of a Latin name: a known word read
    whole, a letter or an acronym by the last letter's Korean name, else an
    English word as it sounds."""
    known = _WORDS.get(part.lower())
    if known is not None:
        return known
    if len(part) == 1 or part.isupper() or not re.search("[aeiouy]", part):
        return _LETTERS.get(part[-1].lower(), VOWEL)
    return _english_sound(part.lower())


def _english_sound(word: str) -> str:
    """How an English word written in Hangul ends, from its spelling.

    Korean writes English words by their sounds: a final l is ㄹ (커널, 풀),
    m, n and ng stay consonants (섬, 플래튼, 패딩), also before a silent e
    (세임, 라인); p, t, k and b after a vowel close the syllable (플립, 인풋,
    북, 웹), as ck does (스택); every other ending gets a vowel (필터, 덴스,
    밸리드, 마스크, 시프트). A rule of thumb, right for the words a lesson says.
    """
    if word.endswith(("l", "le")):
        return RIEUL
    if re.search(r"(?:[mn]|ng|[mn]e|ck|[aeiou][ptkb])$", word):
        return CONSONANT
    return VOWEL


def choose(word: str, after_consonant: str, after_vowel: str) -> str:
    """The particle for ``word``: ``after_consonant`` or ``after_vowel``.

    ``after_consonant`` starting with 으 (으로, 으며) is taken after ㄹ as
    after a vowel.

    >>> choose("3×3", "을", "를"), choose("0.0085", "으로", "로")
    ('을', '로')
    >>> choose("1", "으로", "로"), choose("6", "으로", "로")
    ('로', '으로')
    """
    sound = final_sound(word)
    if sound == VOWEL or (sound == RIEUL and after_consonant.startswith("으")):
        return after_vowel
    return after_consonant


def attach(word: str, particle: str) -> str:
    """``word`` with ``particle`` written as in a template, ``(을)를``.

    >>> attach("고양이", "(을)를"), attach("26", "(으)로"), attach("dense_1", "(이)가")
    ('고양이를', '26으로', 'dense_1이')
    """
    return word + resolve(word, particle)


def resolve(word: str, text: str) -> str:
    """``text`` (what follows ``word`` in a sentence) with the particle it
    starts with chosen for ``word``; markup tags or closing quotes between
    them are kept (``[/](을)를``, ``'(이)가``). Text that starts with no
    particle is returned as it is."""
    lead = re.match(r"(?:\[/?[^\[\]]*\]|['\"’”)\]])*", text).group(0)
    found = PARTICLE.match(text, len(lead))
    if not found:
        return text
    first, rest = found.groups()
    if (first, rest[0]) in _PAIRS:
        particle = choose(word, first, rest[0]) + rest[1:]
    else:
        particle = choose(word, first + rest, rest)
    return lead + particle + text[found.end():]
