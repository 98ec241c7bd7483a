"""Run a lesson: ``python -m convsim.lesson NAME`` (or ``convsim lesson NAME``).

Every lesson takes the same options::

    --fps N        speed of the sliding window (frames per second)
    --wpm N        reading speed: each text moves on by itself after N words a
                   minute (without it, in a terminal, a text waits for a key)
    --step         every frame waits: n/→/Enter next, p/← back, space plays
    --no-animate   print the key frames as plain text (automatic in a pipe)
    --seed N       different random numbers
    --size N       a bigger or smaller input, where that makes sense
    --save F.gif   write the animation to a GIF instead of playing it
    --lang en|ko   narration language (default: from LANG / LC_ALL)
    --quiz         predict the next value, shape or chosen cell before it is shown

A lesson may add options of its own (``shapes --model FILE``): it declares
them in its ``OPTIONS``, and this file turns them into flags, so nothing here
names a lesson or one of its flags. The lessons live in the top-level
``lessons/`` folder (installed as ``convsim.lessons``); :mod:`convsim.lesson.catalog`
finds them, and this file only reads the options and hands the frames to
:class:`convsim.lesson.player.Player`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from types import ModuleType

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from convsim.errors import ArgumentError, message
from convsim.kernels import cached_kernels
from convsim.lesson import catalog
from convsim.lesson.frames import compose
from convsim.lesson.keys import KeySource, NoKeys, TerminalKeys
from convsim.lesson.layout import too_small
from convsim.lesson.pace import DEFAULT_WPM, plan
from convsim.lesson.player import Player
from convsim.lesson.words import LANGS, default_lang, word
from convsim.runtime.compiling import CompileNotice, nothing_on_disk
from convsim.runtime.compiling import message as compiling_message
from convsim.validation.command_line import ArgumentParser

PIPE_WIDTH = 100  # columns when printing into a pipe or file
#: What a lesson's first run waits for Numba, said in the message: measured on
#: 2 cores with an empty cache, 5 s (pooling) to 14 s (padding) of compiling.
COLD_START_SECONDS = 15
PROG = "python -m convsim.lesson"


def load(name: str) -> ModuleType:
    """The module of lesson ``name`` (raises ValueError naming the lessons)."""
    return catalog.load(name)


def lesson_options(lessons: list[ModuleType]) -> dict[str, list[ModuleType]]:
    """Every lesson-specific option, with the lessons that take it (book order)."""
    users: dict[str, list[ModuleType]] = {}
    for module in lessons:
        for option in catalog.options_of(module):
            users.setdefault(option, []).append(module)
    return users


def build_parser(lessons: list[ModuleType] | None = None) -> argparse.ArgumentParser:
    """The parser: options every lesson has, then each lesson's own ``OPTIONS``."""
    lessons = catalog.load_all() if lessons is None else lessons
    parser = ArgumentParser(
        prog=PROG,
        description="Watch a convolutional network compute, cell by cell.",
        epilog=_epilog(lessons),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", help="which lesson (see --list)")
    parser.add_argument("--list", action="store_true",
                        help="list the lessons with one line each")
    parser.add_argument("--fps", type=float, default=None,
                        help="frames per second of the sliding window (default: "
                             "the lesson's own pace); texts are timed by --wpm")
    parser.add_argument("--wpm", type=float, default=None,
                        help="reading speed in words per minute: each text moves "
                             "on by itself after its reading time (default: in a "
                             "terminal a text waits for space or n; elsewhere, and "
                             f"in GIFs, {DEFAULT_WPM}; Korean is counted in "
                             "syllables)")
    parser.add_argument("--step", action="store_true",
                        help="every frame waits: n, → or Enter next; p or ← back; "
                             "space plays on; q quit")
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
    own = parser.add_argument_group("options of some lessons")
    for option, users in lesson_options(lessons).items():
        metavar = catalog.options_of(users[0])[option][0]
        own.add_argument(_flag(option), dest=option, metavar=metavar, default=None,
                         help=_option_help(option, users))
    return parser


#: What the options several lessons share mean in all of them.
SHARED_HELP = {
    "model": "a model you saved (convsim's own file, or Keras's .keras or .h5) "
             "instead of the book's",
    "image": "an image of yours (PNG or JPEG) instead of convsim's own",
}
#: A value to show in the examples of --help for a shared option (a learner
#: copies the line: a real file name teaches more than FILE, and .convsim is
#: the name the README gives convsim's own model files).
SHARED_EXAMPLE = {"model": "my_model.convsim", "image": "my_photo.jpg"}


def _option_help(option: str, users: list[ModuleType]) -> str:
    """One lesson's own words for its option; for an option several lessons
    share, what it means in all of them (or each lesson's words)."""
    texts = [catalog.options_of(m)[option][1] for m in users]
    if len(users) == 1:
        return f"{users[0].NAME} lesson: {texts[0]}"
    whose = ", ".join(m.NAME for m in users)
    if option in SHARED_HELP:
        return f"{whose} lessons: {SHARED_HELP[option]}"
    if len(set(texts)) == 1:
        return f"{whose} lessons: {texts[0]}"
    return "; ".join(f"{m.NAME}: {t}" for m, t in zip(users, texts, strict=True))


def _flag(option: str) -> str:
    return "--" + option.replace("_", "-")


def _epilog(lessons: list[ModuleType]) -> str:
    """The lessons' names and examples, taken from the lessons themselves."""
    first = lessons[0].NAME if lessons else "NAME"
    examples = [f"{PROG} --list", f"{PROG} {first}",
                f"{PROG} {first} --step --lang ko", f"{PROG} {first} --quiz",
                f"{PROG} {first} --wpm 150 --fps 4",
                f"{PROG} {first} --save {first}.gif"]
    for option, users in lesson_options(lessons).items():
        value = SHARED_EXAMPLE.get(option, catalog.options_of(users[0])[option][0])
        examples.append(f"{PROG} {users[0].NAME} {_flag(option)} {value}")
    return ("Lessons: " + ", ".join(m.NAME for m in lessons) + ".\nExamples:\n"
            + "\n".join("  " + e for e in examples))


def list_lessons(console: Console, lang: str,
                 lessons: list[ModuleType] | None = None) -> None:
    """One line per lesson, in the book's order: its name and its summary."""
    lessons = catalog.load_all() if lessons is None else lessons
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    for module in lessons:
        table.add_row(module.NAME, module.SUMMARY[lang])
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
    try:
        lessons = catalog.load_all()
    except (catalog.LessonProtocolError, OSError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)  # a broken lessons folder
        return 1
    parser = build_parser(lessons)
    args = parser.parse_args(argv)
    lang = args.lang or default_lang()
    if console is None:
        console = Console()
        if not console.is_terminal and "COLUMNS" not in os.environ:
            console = Console(width=PIPE_WIDTH)
    if args.list or not args.name:
        list_lessons(console, lang, lessons)
        return 0
    try:
        module = load(args.name)
        options = _lesson_options(module, args, lessons)
    except ValueError as err:
        print(say_error(err, lang, parser.prog), file=sys.stderr)  # one line, as
        return 2  # the parser's own errors
    cold = CompileNotice(lambda: _say_compiling(console, lang)).start()
    if nothing_on_disk(cached_kernels()):  # a first run: say so before the wait
        cold.say_now()
    try:
        if args.save:
            return _save(module, args, options, lang, console)
        player = _player(module, args, console, keys, ask, interactive)
        if console.is_terminal and (small := too_small(
                console.width, console.height, lang, scrolls=player.mode == "print")):
            print(f"{PROG}: {small}", file=sys.stderr)  # no layout fits: say so
            return 1
        module.run(console=console, lang=lang, player=player, **options)
    except KeyboardInterrupt:
        console.print()
        return 130
    except (ValueError, OSError) as err:
        console.print(f"[bold red]{word('error', lang)}:[/] "
                      f"{escape(message(err, lang))}", highlight=False)
        return 1
    finally:
        cold.stop()
    return 0


def _say_compiling(console: Console, lang: str) -> None:
    """A first run's wait for Numba, said before it is a silent second long
    (:mod:`convsim.runtime.compiling`); into a pipe it goes to stderr, so
    the lesson's text stays clean."""
    text = compiling_message(lang, COLD_START_SECONDS)
    if console.is_terminal:
        console.print(text, style="yellow", highlight=False)
    else:
        print(text, file=sys.stderr, flush=True)


def say_error(err: BaseException, lang: str, prog: str = PROG) -> str:
    """The one line for a wrong option: the error in the learner's language
    (its Korean wording with ``--lang ko``, :func:`convsim.errors.message`)
    and where to read more."""
    return (f"{prog}: {word('error', lang)}: {message(err, lang)} "
            f"({word('see', lang)}: {prog} --help)")


def _lesson_options(module: ModuleType, args, lessons: list[ModuleType]) -> dict:
    """The keyword arguments for ``module.run``, checked against what it accepts.

    A lesson's own option given to another lesson is an error rather than
    silently ignored: the learner meant something by it.
    """
    options = {"seed": args.seed}
    if args.size is not None:
        if module.SIZE is None:
            raise ArgumentError(f"The {module.NAME!r} lesson has a fixed size; "
                                "--size is not available. "
                                f"Received: --size {args.size}",
                                ko=f"{module.NAME!r} 레슨은 크기가 정해져 있어 "
                                f"--size를 쓸 수 없습니다. 받은 값: --size {args.size}")
        default, low, high = module.SIZE
        if not low <= args.size <= high:
            raise ArgumentError(f"--size for the {module.NAME!r} lesson must be "
                                f"between "
                                f"{low} and {high}. Received: --size {args.size}",
                                ko=f"{module.NAME!r} 레슨의 --size는 {low}부터 "
                                f"{high}까지입니다. 받은 값: --size {args.size}")
        options["size"] = args.size
    for option, users in lesson_options(lessons).items():
        value = getattr(args, option)
        if value is None:
            continue
        if module.NAME not in [m.NAME for m in users]:
            whose = ", ".join(repr(m.NAME) for m in users)
            noun = "lesson" if len(users) == 1 else "lessons"
            raise ArgumentError(f"{_flag(option)} is only for the {whose} {noun}. "
                                f"Received it for {module.NAME!r}",
                                ko=f"{_flag(option)} 옵션은 다음 레슨에만 있습니다: "
                                f"{whose}. 받은 레슨: {module.NAME!r}")
        options[option] = value
    for flag, value in (("--fps", args.fps), ("--wpm", args.wpm)):
        if value is not None and not value > 0:
            raise ArgumentError(f"{flag} must be a positive number. Received: "
                                f"{flag} {value:g}",
                                ko=f"{flag}에는 양수를 주어야 합니다. 받은 값: "
                                f"{flag} {value:g}")
    return options


def _player(module, args, console, keys, ask, interactive) -> Player:
    animate = console.is_terminal and not args.no_animate
    if interactive is None:
        interactive = sys.stdin.isatty()
    if keys is None:
        keys = TerminalKeys() if animate and interactive else NoKeys()
    return Player(console, mode="animate" if animate else "print",
                  fps=args.fps or module.FPS, wpm=args.wpm,
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
    # a GIF has no keys: each text stays for its reading time
    beats = plan(lesson.frames, fps=fps, wpm=args.wpm or DEFAULT_WPM)
    durations = [1000 * beat.seconds for beat in beats]
    count = save_gif(args.save, screens, durations)
    if lang == "ko" and find_fonts().hangul is None:
        console.print(word("no_hangul_font", lang), style="yellow")
    console.print(word("saved", lang).format(n=count, path=args.save))
    return 0

