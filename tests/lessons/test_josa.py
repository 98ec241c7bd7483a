"""Korean particles chosen from the word before them (convsim.lesson.josa) and
resolved by say() after a filled-in value."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from convsim.lesson import josa, words
from convsim.lesson.josa import CONSONANT, RIEUL, VOWEL, attach, final_sound
from convsim.lesson.words import say


@pytest.mark.parametrize("word, sound", [
    # Hangul: the syllable's final consonant (받침)
    ("필터", VOWEL), ("패딩", CONSONANT), ("커널", RIEUL), ("특성 맵", CONSONANT),
    ("고양이", VOWEL), ("합성곱", CONSONANT),
    # digits read in Sino-Korean: 영 일 이 삼 사 오 육 칠 팔 구
    ("0", CONSONANT), ("1", RIEUL), ("2", VOWEL), ("3", CONSONANT), ("4", VOWEL),
    ("5", VOWEL), ("6", CONSONANT), ("7", RIEUL), ("8", RIEUL), ("9", VOWEL),
    # whole numbers ending in zeros end in their place word: 십 백 천 만 억 조
    ("10", CONSONANT), ("20", CONSONANT), ("300", CONSONANT), ("4,690", CONSONANT),
    ("50000", CONSONANT), ("100000", CONSONANT), ("100000000", CONSONANT),
    ("1000000000000", VOWEL), ("00", CONSONANT), ("3,453,121", RIEUL),
    # decimals: the last digit read
    ("0.0085", VOWEL), ("0.6406", CONSONANT), ("1.0", CONSONANT), ("-0.5", VOWEL),
    ("1e-05", VOWEL), ("99.6%", VOWEL), ("30°", VOWEL),
    # sizes and shapes end in their last number
    ("3×3", CONSONANT), ("150×150×3", CONSONANT), ("26×26×32", VOWEL),
    ("(32, 28, 28)", RIEUL), ("3x3", CONSONANT),
    # code names and Latin letters as they are read
    ("conv2d_1", RIEUL), ("conv2d", VOWEL), ("Conv2D", VOWEL), ("dense_2", VOWEL),
    ("'max_pooling2d'", VOWEL), ("relu", VOWEL), ("Flatten", CONSONANT),
    ("Dropout", CONSONANT), ("same", CONSONANT), ("valid", VOWEL), ("kernel", RIEUL),
    ("L", RIEUL), ("M", CONSONANT), ("N", CONSONANT), ("R", RIEUL), ("x", VOWEL),
    ("MNIST", VOWEL), ("RMSprop", CONSONANT), ("SGD", VOWEL), ("sgd", VOWEL),
    # English words by their sound in Korean: 플립, 인풋, 스택, 세임, 풀, 필터,
    # 바이어스, 밸리드, 시프트, 맥스, 어얼리스토핑, 이미지, 제트
    ("vertical_flip", CONSONANT), ("input", CONSONANT), ("stack", CONSONANT),
    ("same", CONSONANT), ("pool", RIEUL), ("filter", VOWEL), ("bias", VOWEL),
    ("valid", VOWEL), ("shift", VOWEL), ("softmax", VOWEL),
    ("EarlyStopping", CONSONANT), ("image", VOWEL), ("jet", VOWEL),
    ("rescale", RIEUL), ("tanh", VOWEL), ("relu", VOWEL),
    # a gloss in parentheses is not read: the word outside chooses
    ("합성곱 (Conv2D)", CONSONANT), ("필터(filter)", VOWEL),
    # nothing to read
    ("", VOWEL), ("…", VOWEL),
])
def test_final_sound(word, sound):
    assert final_sound(word) == sound


@pytest.mark.parametrize("word, particle, expected", [
    ("0.0085", "(으)로", "0.0085로"), ("0.6406", "(으)로", "0.6406으로"),
    ("1", "(으)로", "1로"), ("커널", "(으)로", "커널로"), ("26", "(으)로", "26으로"),
    ("3×3", "(을)를", "3×3을"), ("2", "(을)를", "2를"),
    ("고양이", "(을)를", "고양이를"),
    ("conv2d_1", "(이)가", "conv2d_1이"), ("Conv2D", "(이)가", "Conv2D가"),
    ("패딩", "(은)는", "패딩은"), ("스트라이드", "(은)는", "스트라이드는"),
    ("필터", "(과)와", "필터와"), ("채널", "(과)와", "채널과"),
    ("3", "(이)라는", "3이라는"), ("2", "(이)라는", "2라는"),
    ("8", "(으)로서", "8로서"), ("6", "(으)로서", "6으로서"),
])
def test_attach(word, particle, expected):
    assert attach(word, particle) == expected


def test_resolve_keeps_markup_and_quotes_between_value_and_particle():
    assert josa.resolve("0.5", "[/](으)로 나눕니다") == "[/]로 나눕니다"
    assert josa.resolve("conv2d_1", "'(이)가 ...") == "'이 ..."
    assert josa.resolve("3", " 필터") == " 필터"  # no particle: unchanged


def test_say_resolves_the_particle_after_each_value():
    text = say("손실은 {a}에서 {b}(으)로 줄었지만 검증 손실은 {c}(으)로 올랐습니다.",
               a=0.262, b=0.0085, c=0.6406)
    assert text == ("손실은 0.262에서 0.0085로 줄었지만 "
                    "검증 손실은 0.6406으로 올랐습니다.")
    assert say("{layer}(은)는 [bold]{n}[/](을)를", layer="conv2d", n=7) == \
        "conv2d는 [bold]7[/]을"


def test_say_still_escapes_values_and_takes_format_specs():
    assert say("{v}(을)를 {w:.2f}", v="[bold]", w=0.5) == "\\[bold]를 0.50"
    assert say("{v} and {{braces}}", v=1) == "1 and {braces}"


@given(st.integers(min_value=0, max_value=10**15))
def test_whole_numbers_end_like_their_korean_reading(n):
    assert final_sound(str(n)) == final_sound(f"{n:,}") == final_sound(_read(n))


def _read(n: int) -> str:
    """``n`` spelled out in Sino-Korean (a plain reference for the test)."""
    if n == 0:
        return "영"
    digits, places, myriads = "영일이삼사오육칠팔구", ["", "십", "백", "천"], \
        ["", "만", "억", "조"]
    words, group = [], 0
    while n:
        n, chunk = divmod(n, 10000)
        spelled = "".join(digits[int(d)] + places[len(str(chunk)) - 1 - i]
                          for i, d in enumerate(str(chunk)) if d != "0")
        if chunk:
            words.insert(0, spelled + myriads[group])
        group += 1
    return "".join(words)


def test_doctests():
    for module in (josa, words):
        assert doctest.testmod(module).failed == 0
