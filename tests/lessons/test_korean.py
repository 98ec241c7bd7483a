"""Every lesson in Korean: no English left in a frame, every particle resolved.

Each lesson is built with ``lang="ko"`` and every frame is rendered to text as
the terminal shows it (its view at 120 columns; its caption, title and quiz
question on lines of their own, so a command line in a sentence is not cut
by the wrapping). Two things are then looked for:

* **English words.** A Korean learner should meet English only where they
  will type it: code. So a word in Latin letters passes when it is code by
  its form (an identifier with ``_`` or a digit, a call ``floor(``, an
  attribute ``model.predict``, an argument ``padding='same'``, a quoted
  value, a command line ``python -m ...`` or a flag ``--save grid.png``, a
  one-letter variable such as x or w, ``dL/dw``), or when it is one of the
  few names in :data:`CODE_NAMES`; anything else is reported.
* **Particles.** No template particle is left as written (``(으)로``,
  ``(을)를``), and a particle right after a number or a code name agrees with
  how it is read aloud (``0.0085로``, ``26으로``, ``conv2d_1이``), as
  :mod:`convsim.lesson.josa` decides.
"""

from __future__ import annotations

import io
import re

import pytest
from convsim.lessons import CONTENTS
from rich.console import Console
from rich.text import Text

from convsim.lesson import catalog, josa
from convsim.lesson.frames import compose

#: Names a Korean frame may show as they are, each one something the learner
#: types or reads in the book's code and is never translated there.
CODE_NAMES = {
    # Keras's layer classes without a digit (Conv2D, MaxPooling2D have one),
    # and the layers' default names in a model (dense, flatten, dropout)
    "Dense", "Flatten", "Dropout", "dense", "flatten", "dropout",
    # activations and optimizers as they are passed to Keras (렐루 in prose)
    "relu", "ReLU", "softmax", "sigmoid", "RMSprop", "SGD", "Adam",
    # the book's optimizer argument, lr=1e-4
    "lr",
    # the data set, the method and the program by their names
    "MNIST", "Grad", "CAM", "convsim", "python",
    # Python's own words in the notes' code (for layer in ...: True, False)
    "for", "in", "True", "False", "None",
    # your notes write the data set's name "개 vs 고양이"
    "vs",
}

#: Code removed before the words are looked at: a command line, a flag with
#: its value (a METAVAR or a file name), a path, a loop header, an index
#: ``[oy, ox]``.
CODE_SPANS = re.compile(
    r"python -m [\w.]+(?: (?:--)?[\w./=-]+)*"
    r"|--[\w-]+(?: [A-Z]+\b| [\w-]+\.\w+)?"
    r"|[\w.~-]*/[\w./~-]+"
    r"|\bfor \w+ in\b"
    r"|\[[\w ,:+\-]*\]")
WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
#: A particle written in a template and left unresolved.
UNRESOLVED = re.compile(r"\((?:으|이|을|은|과|와|아)\)")
#: A particle right after a digit or a Latin letter (and a closing quote; after
#: a closing bracket the word before the brackets chooses, so it is not checked).
PARTICLE_AFTER_CODE = re.compile(
    r"([0-9A-Za-z_×.,%°]+)(['\"]?)(을|를|은|는|이|가|과|와|으로|로)"
    r"(?=[\s.,:;!?)\]]|$)")
PAIRS = {"을": ("을", "를"), "를": ("을", "를"), "은": ("은", "는"), "는": ("은", "는"),
         "이": ("이", "가"), "가": ("이", "가"), "과": ("과", "와"), "와": ("과", "와"),
         "으로": ("으로", "로"), "로": ("으로", "로")}

#: Options that keep a lesson fast (4 filters a layer instead of 16).
FAST = {"filters": {"filters": 4}}
#: Lessons that look inside the trained MNIST convnet (the session fixture).
TRAINED = {"activations", "filters", "gradcam", "translation"}


def english_words(text: str) -> list[str]:
    """The words of ``text`` in Latin letters that are neither code by their
    form nor in :data:`CODE_NAMES`."""
    text = CODE_SPANS.sub(" ", text)
    found = []
    for match in WORD.finditer(text):
        word, before, after = match.group(), text[:match.start()], text[match.end():]
        if _is_code(word, before, after):
            continue
        found.append(word)
    return found


def _is_code(word: str, before: str, after: str) -> bool:
    if word in CODE_NAMES or len(word) == 1 or set(word) == {"o"}:
        return True  # a name, a variable, or an outline drawn in plain text
    if re.search(r"[_0-9]", word):
        return True  # an identifier: conv2d_1, img_tensor, VGG16
    if re.match(r"\s*=|[(\[/]|\.[A-Za-z_(]", after):
        return True  # a call, an assignment or argument, an index, dL/dw, a.b
    return bool(re.search(r"(?:\w\.|['\"=/\[])$", before))  # a.b, 'same', =x


def wrong_particles(text: str) -> list[str]:
    """Particles after a number or a code name that do not agree with how it
    is read (``26로``), and template particles left as written."""
    wrong = UNRESOLVED.findall(text)
    for match in PARTICLE_AFTER_CODE.finditer(text):
        word, particle = match.group(1), match.group(3)
        right = josa.choose(word, *PAIRS[particle])
        if particle != right:
            wrong.append(f"{match.group(0)} (not {right})")
    return wrong


def frame_texts(lesson) -> list[str]:
    """Each frame as text: its view at 120 columns, then its caption and
    question unwrapped."""
    texts = []
    for i, frame in enumerate(lesson.frames):
        console = Console(file=io.StringIO(), width=120, record=True,
                          color_system=None)
        console.print(compose(lesson, i).renderables[1])  # the view alone
        lines = [lesson.title, frame.caption]
        if frame.question:
            lines += [frame.question.prompt, frame.question.answer,
                      frame.question.explain]
        for line in lines:
            console.print(Text.from_markup(line), soft_wrap=True)
        texts.append(console.export_text())
    return texts


def korean_lesson(name: str, request):
    if name in TRAINED:
        request.getfixturevalue("trained_mnist")
    module = catalog.load(name.replace("_", "-"))
    return module.build(lang="ko", **FAST.get(name, {}))


@pytest.mark.slow
@pytest.mark.parametrize("name", CONTENTS)
def test_korean_frames_have_no_english_and_no_wrong_particle(name, request):
    lesson = korean_lesson(name, request)
    problems = []
    for i, text in enumerate(frame_texts(lesson)):
        words, particles = english_words(text), wrong_particles(text)
        if words or particles:
            problems.append(f"frame {i + 1}: English {sorted(set(words))}, "
                            f"particles {particles}")
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def your_files(trained_mnist, tmp_path_factory):
    """A saved model, a photo of a digit and a training history, as a learner
    passes them with --model, --image and --history."""
    import json

    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("yours")
    model = folder / "mine.convsim"
    trained_mnist.save(str(model))
    digit = np.zeros((28, 28), np.uint8)
    digit[6:22, 12:16] = 255  # a one
    Image.fromarray(digit).save(folder / "digit.png")
    history = folder / "aug.history.json"
    history.write_text(json.dumps({
        "format": "convsim-history", "experiment": "cats-vs-dogs", "augment": True,
        "dropout": 0.5, "epochs_planned": 100, "steps_per_epoch": 100,
        "batch_size": 20, "seconds_per_epoch": [60.0], "interrupted": True,
        "history": {"loss": [0.69, 0.6, 0.5], "acc": [0.5, 0.66, 0.7],
                    "val_loss": [0.68, 0.62, 0.66], "val_acc": [0.52, 0.6, 0.63]}}))
    return {"model": str(model), "image": str(folder / "digit.png"),
            "history": str(history)}


#: Lessons again on the learner's own files: other sentences.
YOURS = {"backprop": ("model", "image"), "receptive_field": ("model",),
         "translation": ("model", "image"), "activations": ("model", "image"),
         "gradcam": ("model", "image"), "filters": ("model",),
         "shapes": ("model",), "overfitting": ("history",)}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(YOURS))
def test_korean_frames_on_your_own_files(name, your_files):
    options = {key: your_files[key] for key in YOURS[name]}
    module = catalog.load(name.replace("_", "-"))
    lesson = module.build(lang="ko", **FAST.get(name, {}), **options)
    problems = [f"frame {i + 1}: English {sorted(set(english_words(text)))}, "
                f"particles {wrong_particles(text)}"
                for i, text in enumerate(frame_texts(lesson))
                if english_words(text) or wrong_particles(text)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("text, words", [
    ("필터 3×3", []), ("filter 3×3", ["filter"]), ("Total 3,453,121", ["Total"]),
    ("padding='same'이면 ceil(5 / 2) = 3", []), ("model.predict와 evaluate:", [
        "evaluate"]),
    ("python -m convsim train cats-vs-dogs --augment --dropout 0.5 (노트)", []),
    ("--save grid.png 또는 --image PATH", []), ("dL/dw = x", []),
    ("for layer in model.layers[:5]", []), ("출력 칸 [oy, ox]에서", []),
    ("zoom in", ["zoom"]), ("conv2d_1 층, Conv2D와 Dense", []),
])
def test_english_words_finds_prose_not_code(text, words):
    assert english_words(text) == words


@pytest.mark.parametrize("text, wrong", [
    ("0.0085로 줄었습니다", []), ("0.0085으로 줄었습니다", ["0.0085으로 (not 로)"]),
    ("150×150로 바꿨습니다", ["150×150로 (not 으로)"]), ("'conv2d_1'이 ", []),
    ("{x}(으)로", ["(으)"]), ("Conv2D가 ", []), ("26×26을 ", []), ("3개를 ", []),
])
def test_wrong_particles(text, wrong):
    assert wrong_particles(text) == wrong
