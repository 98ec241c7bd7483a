"""``python -m convsim explain``: one number of a trained convnet, worked out.

    python -m convsim explain                               # the layers you can pick
    python -m convsim explain --layer conv2d_1 --at 4,7,12  # one cell, in full
    python -m convsim explain my_model.keras --image cat.jpg --layer conv2d --at 10,10,0

Without ``MODEL`` it looks inside the book's MNIST convnet, trained once on
convsim's bundled digits; without ``--image``, at a bundled test digit
(:mod:`convsim.experiments.your_model` chooses both). The working comes from
:func:`convsim.trace.explain` and is drawn by
:mod:`convsim.viz.explain_view` (``--save``: :mod:`convsim.viz.explain_figure`).

Exit status: 0 done; 1 a model, image or file that cannot be used (one line
says why); 2 a wrong option, ``--layer`` or ``--at``; 130 Ctrl+C.
"""

from __future__ import annotations

import argparse
import os
import sys

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from convsim.errors import ArgumentError, ConvsimError, WrongTypeError, message
from convsim.lesson.words import LANGS, default_lang, word
from convsim.trace.explain import EXPLAINABLE, cell_names, explain
from convsim.validation.command_line import ArgumentParser

__all__ = ["build_parser", "main", "parse_cell"]

PROG = "python -m convsim explain"
PIPE_WIDTH = 100  # columns when printing into a pipe or a file

DESCRIPTION = """\
Explain one number of a trained convnet: every product of its window, the
sums, the bias and the activation, with the real numbers, and the part of the
image it depends on."""

EXAMPLES = f"""examples:
  {PROG}
      list the layers of the book's MNIST convnet
  {PROG} --layer conv2d_1 --at 4,7,12
      row 4, column 7 of filter 12, worked out in full
  {PROG} --layer max_pooling2d --at 3,5,0
      which cell the pooling kept
  {PROG} --layer dense_1
      the largest unit of the last layer: the digit the model predicts
  {PROG} --layer conv2d --at 9,9,0 --lang ko --save cell.png
      in Korean, and the picture saved
  {PROG} my_model.keras --image cat.jpg --layer conv2d_3
      your own model and photo (its largest number there)

The working is printed with the real numbers: products grouped by input
channel with their partial sums, the bias, the activation, the result, and a
check that model.predict gives the same number for that cell."""

WORDS = {
    "en": {
        "model": "Model: {words}", "image": "Image: {words}",
        "book_model": None, "your_model": None, "digit": None, "your_image": None,
        "layers": "The layers of this model. Pick one with --layer NAME (or its "
                  "number) and a cell with --at:",
        "columns": ("#", "layer", "type", "output", "--at"),
        "no_working": "(passes numbers on: nothing to work out)",
        "example": "For example: {command}",
        "largest": "Without --at, the largest number of the layer is explained.",
        "default_cell": "No --at given: the largest number of {layer} is "
                        "explained, at {cell}.",
        "saved": "Saved the picture to {path}",
        "cell": "ROW,COL,CHANNEL", "unit": "UNIT",
    },
    "ko": {
        "model": "모델: {words}", "image": "이미지: {words}",
        "book_model": "책의 MNIST 컨브넷 (convsim에 들어 있는 숫자 4,000개로 훈련)",
        "your_model": "여러분의 모델 {path}",
        "digit": "convsim에 들어 있는 MNIST 테스트 숫자 (정답 {label})",
        "your_image": "여러분의 이미지 {path}",
        "layers": "이 모델의 층입니다. --layer 뒤에 층 이름(또는 번호)을, --at 뒤에 "
                  "칸을 주세요:",
        "columns": ("번호", "층", "종류", "출력 크기", "--at"),
        "no_working": "(숫자를 그대로 넘기는 층: 설명할 계산 없음)",
        "example": "예: {command}",
        "largest": "--at 없이 실행하면 그 층에서 가장 큰 값을 설명합니다.",
        "default_cell": "--at이 없으니 {layer} 층에서 가장 큰 값을 설명합니다: "
                        "{cell}.",
        "saved": "그림을 저장했습니다: {path}",
        "cell": "행,열,채널", "unit": "유닛",
        "bad_layer": "--layer에는 이 모델의 층 이름이나 번호를 주세요: {layers}. "
                     "받은 값: {received}",
        "not_explainable": "{layer} 층({kind})은 숫자를 그대로 넘기기만 해서 설명할 "
                           "계산이 없습니다. 설명할 수 있는 층: {usable}",
        "bad_at": "--at에는 {layer} 층의 출력 {shape} 안의 칸을 주세요: {ranges}. "
                  "받은 값: {received}",
        "names": {"row": "행", "col": "열", "channel": "채널", "unit": "유닛"},
    },
}


def parse_cell(text: str) -> tuple[int, ...]:
    """``--at``'s value: whole numbers separated by commas (``4,7,12``; a
    Dense unit is one number, ``3``); brackets and spaces are allowed."""
    cleaned = text.strip().strip("()[]").replace(" ", "")
    try:
        cell = tuple(int(part) for part in cleaned.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected whole numbers separated by commas, e.g. 4,7,12 (row, "
            f"column, channel) or 3 (a Dense unit), got {text!r}") from None
    return cell


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog=PROG, description=DESCRIPTION, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", metavar="MODEL",
                        help="a saved model: convsim's own file, Keras's .keras "
                             "or .h5 (default: the book's MNIST convnet, trained "
                             "once on convsim's bundled digits)")
    parser.add_argument("--image", metavar="FILE",
                        help="a PNG or JPEG, resized to what the model takes "
                             "(default: a bundled MNIST test digit)")
    parser.add_argument("--seed", type=int, default=None,
                        help="without --image: pick another bundled test digit")
    parser.add_argument("--layer", metavar="NAME",
                        help="the layer, by name or number (leave it out to list "
                             "the layers)")
    parser.add_argument("--at", type=parse_cell, metavar="ROW,COL,CHANNEL",
                        help="which number of the layer's output: row,col,channel "
                             "for Conv2D and pooling, the unit for Dense (default: "
                             "the largest)")
    parser.add_argument("--lang", choices=LANGS, default=None,
                        help="language (default: from the locale)")
    parser.add_argument("--save", metavar="FILE.png",
                        help="also draw the receptive field and the layer's map "
                             "into a picture (PNG, SVG or PDF by the name)")
    return parser


def main(argv: list[str] | None = None, console: Console | None = None) -> int:
    """Run ``explain`` with ``argv`` (default: the command line); returns the
    exit status (see the module's docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.seed is not None and args.image is not None:
        parser.error("--seed picks one of the bundled digits; it has no use with "
                     "--image")
    lang = args.lang or default_lang()
    if console is None:
        console = Console()
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console = Console(width=PIPE_WIDTH)
    try:
        return _run(args, lang, console)
    except _UsageError as err:
        print(f"{PROG}: {word('error', lang)}: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        console.print()
        return 130
    except (ConvsimError, ValueError, OSError) as err:  # in Korean if it has one
        console.print(f"[bold red]{word('error', lang)}:[/] "
                      f"{escape(message(err, lang))}", highlight=False)
        return 1


class _UsageError(Exception):
    """A ``--layer`` or ``--at`` the model does not have (exit status 2)."""


def _run(args, lang: str, console: Console) -> int:
    from convsim.experiments.your_model import choose
    from convsim.trace import trace_model

    subject = choose(args.model, args.image, console=Console(stderr=True),
                     seed=args.seed, lang=lang)
    traced = trace_model(subject.model, subject.image)
    console.print(_words(lang, "model", words=_model_words(subject, args, lang)),
                  highlight=False, markup=False)
    console.print(_words(lang, "image", words=_image_words(subject, args, lang)),
                  highlight=False, markup=False)
    console.print()
    if args.layer is None:
        _list_layers(traced, args, lang, console)
        return 0
    layer = int(args.layer) if args.layer.lstrip("-").isdigit() else args.layer
    try:
        why = explain(subject.model, subject.image, layer, args.at)
    except (ArgumentError, WrongTypeError) as err:
        raise _UsageError(_korean(traced, layer, args.at) if lang == "ko"
                          else str(err)) from None
    if args.at is None:
        from convsim.viz.explain_words import cell_words

        console.print(_words(lang, "default_cell", layer=why.layer,
                             cell=cell_words(why, lang)), markup=False,
                      highlight=False)
        console.print()
    from convsim.viz.explain_view import explanation_view

    console.print(explanation_view(why, subject.image, lang), highlight=False)
    if args.save:
        from convsim.viz.explain_figure import save_explanation_figure

        path = save_explanation_figure(why, subject.image, args.save)
        console.print(_words(lang, "saved", path=path), markup=False,
                      highlight=False)
    return 0


def _words(lang: str, key: str, **values) -> str:
    return WORDS[lang][key].format(**values)


def _model_words(subject, args, lang: str) -> str:
    if lang == "en":
        return subject.model_words
    if args.model is None:
        return WORDS["ko"]["book_model"]
    return _words(lang, "your_model", path=args.model)


def _image_words(subject, args, lang: str) -> str:
    if lang == "en":
        return subject.image_words
    if args.image is None:
        return _words(lang, "digit", label=subject.label)
    return _words(lang, "your_image", path=args.image)


def _list_layers(traced, args, lang: str, console: Console) -> None:
    """Every layer with its output shape and what ``--at`` it takes, then a
    command to copy."""
    console.print(_words(lang, "layers"), markup=False, highlight=False)
    table = Table(box=None, padding=(0, 2), pad_edge=True)
    for i, heading in enumerate(WORDS[lang]["columns"]):
        table.add_column(heading, style="bold" if i == 1 else None)
    usable = []
    for index, layer_trace in enumerate(traced):
        shape = tuple(layer_trace.outputs.shape)
        if isinstance(layer_trace.layer, tuple(EXPLAINABLE)):
            usable.append((layer_trace.name, shape))
            at = WORDS[lang]["cell"] if len(shape) == 3 else WORDS[lang]["unit"]
        else:
            at = WORDS[lang]["no_working"]
        table.add_row(str(index), layer_trace.name, type(layer_trace.layer).__name__,
                      "×".join(str(n) for n in shape), at)
    console.print(table)
    console.print()
    if usable:
        name, shape = usable[min(2, len(usable) - 1)]
        cell = ",".join(str(n // 2) for n in shape[:-1]) + ",0" if len(shape) == 3 \
            else "0"
        command = " ".join([PROG, *([args.model] if args.model else []),
                            *(["--image", args.image] if args.image else []),
                            "--layer", name, "--at", cell])
        console.print(Text(_words(lang, "example", command=command)))
        console.print(_words(lang, "largest"), markup=False, highlight=False)


def _korean(traced, layer, at) -> str:
    """The Korean sentence for a ``--layer`` or ``--at`` the model does not
    have (the English one is :func:`~convsim.trace.explain`'s own)."""
    names = [t.name for t in traced]
    if isinstance(layer, int):
        index = layer % len(names) if -len(names) <= layer < len(names) else None
    else:
        index = names.index(layer) if layer in names else None
    if index is None:
        listing = ", ".join(f"{t.name} {tuple(t.outputs.shape)}" for t in traced)
        return _words("ko", "bad_layer", layers=listing, received=layer)
    target = traced[index]
    if not isinstance(target.layer, tuple(EXPLAINABLE)):
        usable = [t.name for t in traced if isinstance(t.layer, tuple(EXPLAINABLE))]
        return _words("ko", "not_explainable", layer=target.name,
                      kind=type(target.layer).__name__, usable=", ".join(usable))
    shape = tuple(target.outputs.shape)
    ranges = ", ".join(f"{WORDS['ko']['names'].get(n, n)} 0–{size - 1}"
                       for n, size in zip(cell_names(shape), shape, strict=True))
    return _words("ko", "bad_at", layer=target.name,
                  shape="×".join(str(n) for n in shape), ranges=ranges,
                  received=",".join(str(i) for i in at or ()))
