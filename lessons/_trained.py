"""The trained model a lesson looks inside, and words for it.

The lessons that look inside a trained network take ``--model FILE`` (any
file :func:`convsim.models.load_model` reads: convsim's own, Keras's
``.keras`` or ``.h5``), a model object from Python, or nothing: then the
book's MNIST convnet trained once on the bundled digits
(:mod:`convsim.experiments.pretrained`). Unlike
:func:`convsim.experiments.your_model.choose` this needs no image, so a
150x150 cats-vs-dogs model works without a photo.

The classes have names: the ten digits of the MNIST convnet, and cat and
dog for a model with one sigmoid unit such as the book's cats-vs-dogs convnet
(``flow_from_directory`` sorts the folders: cats are class 0, dogs class 1).

Not a lesson (the leading underscore keeps it out of the catalog).
"""

from __future__ import annotations

import os

from rich.console import Console

from convsim.errors import ArgumentError
from convsim.experiments.your_model import choose_model, is_path
from convsim.lesson.words import say

__all__ = ["WORDS", "class_name", "is_path", "model_words", "target_class",
           "trained_model"]

WORDS = {
    "en": {"book_model": "The book's MNIST convnet, trained on convsim's 4,000 "
                         "bundled digits",
           "your_model": "Your model {name}",
           "digit": "the digit {k}", "dog": "dog", "cat": "cat",
           "class": "class {k}"},
    "ko": {"book_model": "convsim에 번들된 숫자 4,000개로 훈련한 책의 MNIST 컨브넷",
           "your_model": "내 모델 {name}",
           "digit": "숫자 {k}", "dog": "개", "cat": "고양이", "class": "클래스 {k}"},
}


def trained_model(model=None, lang: str = "en"):
    """``--model FILE``, a model object, or the book's trained MNIST convnet
    (trained on first use, with a progress bar on stderr, in ``lang``)."""
    return choose_model(model, console=Console(stderr=True), lang=lang)


def model_words(model, lang: str) -> str:
    """What the model is, for the lesson's first sentence."""
    words = WORDS[lang]
    if model is None:
        return words["book_model"]
    name = os.path.basename(os.fspath(model)) if is_path(model) else model.name
    return say(words["your_model"], name=name)


def class_name(k: int, sign: int, units: int, lang: str) -> str:
    """The class's name: a digit for a 10-class model, dog/cat for one sigmoid
    unit (the book's folders sorted: cats are 0, dogs 1), else its number."""
    words = WORDS[lang]
    if units == 1:
        return words["dog" if sign > 0 else "cat"]
    return say(words["digit" if units == 10 else "class"], k=k)


def target_class(target, units: int) -> tuple[int | None, int]:
    """``--target`` as ``(unit index, sign)``; ``(None, 1)``: the prediction."""
    if target is None:
        return None, 1
    allowed = "0 (cat) or 1 (dog)" if units == 1 else f"0 to {units - 1}"
    try:
        k = int(str(target).strip())
    except ValueError:
        k = -1
    if not 0 <= k < max(units, 2) or isinstance(target, bool):
        raise ArgumentError(f"--target must be a class of the model: {allowed}. "
                            f"Received: --target {target!r}")
    return (0, 1 if k == 1 else -1) if units == 1 else (k, 1)
