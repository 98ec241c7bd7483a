"""Run a lesson: ``python -m convsim.lesson NAME`` (or ``convsim lesson NAME``).

Every lesson takes the same options::

    --fps N        animation speed (frames per second)
    --step         start paused; move with n/→/Enter, back with p/←, space plays
    --no-animate   print the key frames as plain text (automatic in a pipe)
    --seed N       different random numbers
    --size N       a bigger or smaller input, where that makes sense
    --save F.gif   write the animation to a GIF instead of playing it
    --lang en|ko   narration language (default: from LANG / LC_ALL)
    --quiz         predict the next value, shape or chosen cell before it is shown

The lessons themselves live in the top-level ``lessons/`` folder (installed as
``convsim.lessons``), one small module each; this file only finds them, reads
the options and hands the frames to :class:`convsim.lesson.player.Player`.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
from collections.abc import Callable
from types import ModuleType

from rich.console import Console
from rich.table import Table

from convsim.lesson.frames import compose
from convsim.lesson.keys import KeySource, NoKeys, TerminalKeys
from convsim.lesson.player import Player
from convsim.lesson.words import LANGS, default_lang, word

# name -> module, in the order a learner should take them (the book's order)
LESSONS = {
    "convolution": "convsim.lessons.convolution",
    "channels": "convsim.lessons.channels",
    "padding": "convsim.lessons.padding",
    "stride": "convsim.lessons.stride",
    "pooling": "convsim.lessons.pooling",
    "feature-maps": "convsim.lessons.feature_maps",
    "shapes": "convsim.lessons.shapes",
    "augmentation": "convsim.lessons.augmentation",
    "overfitting": "convsim.lessons.overfitting",
}
PIPE_WIDTH = 100  # columns when printing into a pipe or file


def load(name: str) -> ModuleType:
    """The module of lesson ``name`` (raises ValueError naming the lessons)."""
    if name not in LESSONS:
        close = difflib.get_close_matches(name, LESSONS, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown lesson {name!r}.{hint} Lessons: "
                         f"{', '.join(LESSONS)}.")
    return importlib.import_module(LESSONS[name])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m convsim.lesson",
        description="Watch a convolutional network compute, cell by cell.",
        epilog="Lessons: " + ", ".join(LESSONS) + ".\nExamples:\n"
        "  python -m convsim.lesson --list\n"
        "  python -m convsim.lesson convolution\n"
        "  python -m convsim.lesson padding --step --lang ko\n"
        "  python -m convsim.lesson pooling --quiz\n"
        "  python -m convsim.lesson stride --save stride.gif\n"
        "  python -m convsim.lesson shapes --model my_model.npz",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="which lesson (see --list)")
    parser.add_argument("--list", action="store_true",
                        help="list the lessons with one line each")
    parser.add_argument("--fps", type=float, default=None,
                        help="frames per second (default: the lesson's own pace)")
    parser.add_argument("--step", action="store_true",
                        help="start paused: n, → or Enter next; p or ← back; "
                             "space play/pause; q quit")
    parser.add_argument("--no-animate", action="store_true",
                        help="print the key frames as text (automatic in a pipe)")
    parser.add_argument("--seed", type=int, default=None,
                        help="seed for the random numbers a lesson uses")
    parser.add_argument("--size", type=int, default=None,
                        help="input size, for lessons where it makes sense")
    parser.add_argument("--save", metavar="FILE.gif",
                        help="write the animation to a GIF instead of playing it")
    parser.add_argument("--lang", choices=LANGS, default=None,
                        help="narration language (default: from the locale)")
    parser.add_argument("--quiz", action="store_true",
                        help="predict before each reveal; you are told if you "
                             "were right")
    parser.add_argument("--model", metavar="FILE",
                        help="shapes lesson: walk through a saved model instead")
    parser.add_argument("--image", metavar="PATH",
                        help="augmentation lesson: your own photo")
    parser.add_argument("--data", metavar="DIR",
                        help="augmentation lesson: a cats_and_dogs_small folder")
    parser.add_argument("--history", metavar="JSON",
                        help="overfitting lesson: a history written by "
                             "`convsim train cats-vs-dogs`")
    return parser


def list_lessons(console: Console, lang: str) -> None:
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for name in LESSONS:
        module = load(name)
        table.add_row(name, module.SUMMARY[lang])
    console.print(table)
    console.print("python -m convsim.lesson NAME   (--help for the options)",
                  style="grey50")


def main(argv: list[str] | None = None, *, console: Console | None = None,
         keys: KeySource | None = None, ask: Callable[[str], str] | None = None,
         interactive: bool | None = None) -> int:
    """Command line entry point; everything the lesson touches can be injected.

    ``interactive`` overrides whether stdin can deliver key presses (default:
    ``sys.stdin.isatty()``).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    lang = args.lang or default_lang()
    if console is None:
        console = Console()
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console = Console(width=PIPE_WIDTH)
    if args.list or not args.name:
        list_lessons(console, lang)
        return 0
    try:
        module = load(args.name)
        options = _lesson_options(module, args)
    except ValueError as err:
        parser.print_usage(sys.stderr)
        print(f"{parser.prog}: error: {err}", file=sys.stderr)
        return 2
    try:
        if args.save:
            return _save(module, args, options, lang, console)
        player = _player(module, args, console, keys, ask, interactive)
        module.run(console=console, lang=lang, player=player, **options)
    except KeyboardInterrupt:
        console.print()
        return 130
    except (ValueError, OSError) as err:
        console.print(f"[bold red]error:[/] {err}", highlight=False)
        return 1
    return 0


def _lesson_options(module: ModuleType, args) -> dict:
    """The keyword arguments for ``module.run``, checked against what it accepts."""
    options = {"seed": args.seed}
    if args.size is not None:
        if module.SIZE is None:
            raise ValueError(f"The {module.NAME!r} lesson has a fixed size; "
                             f"--size is not available. Received: --size {args.size}")
        default, low, high = module.SIZE
        if not low <= args.size <= high:
            raise ValueError(f"--size for the {module.NAME!r} lesson must be between "
                             f"{low} and {high}. Received: --size {args.size}")
        options["size"] = args.size
    for extra in ("model", "image", "data", "history"):  # lesson-specific options
        if getattr(args, extra) is None:
            continue
        if extra not in getattr(module, "EXTRA_OPTIONS", ()):
            users = [n for n in LESSONS if extra in getattr(
                load(n), "EXTRA_OPTIONS", ())]
            raise ValueError(f"--{extra} is only for the {', '.join(map(repr, users))}"
                             f" lesson. Received it for {module.NAME!r}")
        options[extra] = getattr(args, extra)
    if args.fps is not None and not args.fps > 0:
        raise ValueError(f"--fps must be a positive number. Received: --fps {args.fps}")
    return options


def _player(module, args, console, keys, ask, interactive) -> Player:
    animate = console.is_terminal and not args.no_animate
    if interactive is None:
        interactive = sys.stdin.isatty()
    if keys is None:
        keys = TerminalKeys() if animate and interactive else NoKeys()
    return Player(console, mode="animate" if animate else "print",
                  fps=args.fps or module.FPS,
                  start_paused=args.step,
                  quiz=args.quiz, keys=keys, ask=ask)


def _save(module, args, options, lang, console) -> int:
    from convsim.viz.gif import find_fonts, save_gif

    # a lesson with its own picture (the augmentation grid) saves it as PNG etc.
    if hasattr(module, "save_figure") and not args.save.lower().endswith(".gif"):
        path = module.save_figure(args.save, lang=lang, **options)
        console.print(f"Saved {path}", highlight=False)
        return 0
    lesson = module.build(lang=lang, **options)
    fps = args.fps or module.FPS
    screens = [compose(lesson, i) for i in range(len(lesson.frames))]
    durations = [1000 * f.hold / fps for f in lesson.frames]
    count = save_gif(args.save, screens, durations)
    if lang == "ko" and find_fonts().hangul is None:
        console.print(word("no_hangul_font", lang), style="yellow")
    console.print(word("saved", lang).format(n=count, path=args.save))
    return 0

