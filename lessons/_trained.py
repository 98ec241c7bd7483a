"""The trained model a lesson looks inside, and words for it.

The lessons that look inside a trained network take ``--model FILE`` (any
file :func:`convsim.models.load_model` reads: convsim's own, Keras's
``.keras`` or ``.h5``), a model object from Python, or nothing: then the
book's MNIST convnet trained once on the bundled digits
(:mod:`convsim.experiments.pretrained`). Unlike
:func:`convsim.experiments.your_model.choose` this needs no image, so a
150x150 cats-vs-dogs model works without a photo.

Not a lesson (the leading underscore keeps it out of the catalog).
"""

from __future__ import annotations

import os

from rich.console import Console

from convsim.lesson.words import say

__all__ = ["WORDS", "is_path", "model_words", "trained_model"]

WORDS = {
    "en": {"book_model": "The book's MNIST convnet, trained on convsim's 4,000 "
                         "bundled digits",
           "your_model": "Your model {name}"},
    "ko": {"book_model": "convsim에 번들된 숫자 4,000개로 훈련한 책의 MNIST 컨브넷",
           "your_model": "내 모델 {name}"},
}


def is_path(value) -> bool:
    return isinstance(value, str) or hasattr(value, "__fspath__")


def trained_model(model=None):
    """``--model FILE``, a model object, or the book's trained MNIST convnet
    (trained on first use, with a progress bar on stderr)."""
    if model is None:
        from convsim.experiments.pretrained import pretrained_model

        return pretrained_model(console=Console(stderr=True))
    if is_path(model):
        from convsim.models import load_model

        return load_model(model)
    return model


def model_words(model, lang: str) -> str:
    """What the model is, for the lesson's first sentence."""
    words = WORDS[lang]
    if model is None:
        return words["book_model"]
    name = os.path.basename(os.fspath(model)) if is_path(model) else model.name
    return say(words["your_model"], name=name)
