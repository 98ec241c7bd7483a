"""The lesson catalog: where the lessons are, their order, and what a lesson is.

This is the one place that knows about the lessons. The engine (the command
line, the player) asks it for a lesson by name and gets a module that has
passed the protocol check below; it never lists lessons or their options itself.
So adding a lesson touches only the ``lessons/`` folder: the new module, and its
name in ``CONTENTS`` in ``lessons/__init__.py``.

Where the lessons are: they live in the top-level ``lessons/`` folder, where a
learner finds them next to ``convsim/``, and ``pip install`` ships that folder
inside the package as ``convsim.lessons``. In a source checkout Python puts the
current folder first on ``sys.path``, so ``import convsim`` finds the source
folder, which has no ``lessons`` inside; :func:`lessons_package` then registers
the checkout's ``lessons/`` folder as ``convsim.lessons``. It does so only when
asked (the command line and the tests ask), never as a side effect of
``import convsim``.

What a lesson is (``lessons/README.md`` explains each name)::

    NAME      str, the command-line name: the module's name with '-' for '_'
    TITLE     {lang: str}, one for every language in LANGS
    SUMMARY   {lang: str}, the line shown by --list
    FPS       frames per second when animating (a positive number)
    SIZE      None (fixed size) or (default, smallest, largest) for --size
    TEXT      {lang: {...}}, the narration
    build(lang=, seed=, size=, **options) -> Lesson     makes the frames, draws nothing
    run(console=, *, lang=, seed=, size=, player=, **options)   plays them
    OPTIONS   optional {name: (METAVAR, help)}: the lesson's own command-line options
    save_figure(path, lang=, seed=, size=, **options)   optional: --save FILE.png
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import inspect
import numbers
import pkgutil
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import ModuleType

from convsim.errors import ArgumentError, MissingFileError, WrongTypeError
from convsim.lesson.words import LANGS

PACKAGE = "convsim.lessons"
#: Option names the engine itself uses for every lesson; a lesson's OPTIONS
#: cannot take them.
COMMON_OPTIONS = frozenset({"name", "list", "fps", "step", "no_animate", "seed",
                           "size", "save", "lang", "quiz", "help", "player",
                           "console"})


class LessonProtocolError(WrongTypeError):
    """A lesson module lacks something the protocol asks for (lessons/README.md)."""


# ---------------------------------------------------------------- where they are
def lessons_package() -> ModuleType:
    """The ``convsim.lessons`` package: installed, or the checkout's ``lessons/``.

    Raises:
        FileNotFoundError: neither exists (a broken install).
    """
    if PACKAGE in sys.modules:
        return sys.modules[PACKAGE]
    if importlib.util.find_spec(PACKAGE) is not None:  # installed: shipped inside
        return importlib.import_module(PACKAGE)
    import convsim

    source = Path(convsim.__file__).resolve().parent
    checkout = source.parent / "lessons" / "__init__.py"
    if not checkout.is_file():
        raise MissingFileError(
            f"convsim's lessons are missing: neither {source / 'lessons'} (an "
            f"installed convsim) nor {checkout.parent} (a source checkout) exists. "
            "Reinstall convsim.")
    spec = importlib.util.spec_from_file_location(
        PACKAGE, checkout, submodule_search_locations=[str(checkout.parent)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    try:
        spec.loader.exec_module(package)
    except BaseException:
        del sys.modules[PACKAGE]
        raise
    convsim.lessons = package  # what `import convsim.lessons` would have set
    return package


def contents() -> tuple[str, ...]:
    """The lesson modules' names in the book's order (``CONTENTS``)."""
    package = lessons_package()
    listed = getattr(package, "CONTENTS", None)
    if not isinstance(listed, tuple) or not all(isinstance(m, str) for m in listed):
        raise LessonProtocolError(
            f"{_where(package)} must define CONTENTS, a tuple of the lesson modules' "
            f"names in the book's order. Received: CONTENTS={listed!r}")
    return listed


def command_name(module_name: str) -> str:
    """A lesson module's command-line name: ``feature_maps`` -> ``feature-maps``."""
    return module_name.replace("_", "-")


def names() -> tuple[str, ...]:
    """The lessons' command-line names, in the book's order."""
    return tuple(command_name(m) for m in contents())


def unlisted() -> list[str]:
    """Modules in the lessons folder that ``CONTENTS`` forgets (a contributor's
    slip: the lesson would never be offered)."""
    package = lessons_package()
    found = [m.name for m in pkgutil.iter_modules(package.__path__)
             if not m.name.startswith("_")]
    return sorted(set(found) - set(contents()))


# ---------------------------------------------------------------- loading
def load(name: str) -> ModuleType:
    """The module of lesson ``name``, checked against the protocol.

    Raises:
        ValueError: no lesson has that name (the message suggests a close one).
        LessonProtocolError: the lesson module breaks the protocol.
    """
    known = names()
    if name not in known:
        close = difflib.get_close_matches(str(name), known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        hint_ko = f" {close[0]!r} 레슨을 찾으셨나요?" if close else ""
        raise ArgumentError(f"Unknown lesson {name!r}.{hint} Lessons: "
                            f"{', '.join(known)}.",
                            ko=f"없는 레슨입니다: {name!r}.{hint_ko} 레슨 목록: "
                            f"{', '.join(known)}.")
    module = importlib.import_module(f"{PACKAGE}.{contents()[known.index(name)]}")
    check(module)
    return module


def load_all() -> list[ModuleType]:
    """Every lesson module, in the book's order, each checked."""
    return [load(name) for name in names()]


def options_of(module: ModuleType) -> Mapping[str, tuple[str, str]]:
    """A lesson's own command-line options, ``{name: (METAVAR, help)}`` (often none)."""
    return getattr(module, "OPTIONS", {})


# ---------------------------------------------------------------- the protocol
def check(module: ModuleType) -> None:
    """Check ``module`` against the lesson protocol.

    Raises:
        LessonProtocolError: naming the lesson and everything that is missing or
            wrong, so a contributor fixes it in one go.
    """
    problems = _value_problems(module)
    options = options_of(module)
    option_names = list(options) if isinstance(options, Mapping) else []
    problems += _function_problems(module, option_names)
    if problems:
        raise LessonProtocolError(
            f"The lesson {_where(module)} does not follow the lesson protocol "
            f"(lessons/README.md): {'; '.join(problems)}.")


def _value_problems(module: ModuleType) -> list[str]:
    """What is wrong with the lesson's constants (empty when all is well)."""
    problems = []
    expected = command_name(module.__name__.rpartition(".")[2])
    name = getattr(module, "NAME", None)
    if name != expected:
        problems.append(f"NAME must be {expected!r} (the module's name with '-' for "
                        f"'_'); received NAME={name!r}")
    for attr in ("TITLE", "SUMMARY", "TEXT"):
        value = getattr(module, attr, None)
        if not isinstance(value, Mapping) or any(lang not in value for lang in LANGS):
            problems.append(f"{attr} must be a dict with an entry for every language "
                            f"{LANGS}; received {attr}={_short(value)}")
    problems += _text_problems(getattr(module, "TEXT", None))
    fps = getattr(module, "FPS", None)
    if isinstance(fps, bool) or not isinstance(fps, numbers.Real) or not fps > 0:
        problems.append(f"FPS must be a positive number; received FPS={fps!r}")
    if not _valid_size(getattr(module, "SIZE", "missing")):
        problems.append("SIZE must be None or (default, smallest, largest) with "
                        "smallest <= default <= largest; received "
                        f"SIZE={getattr(module, 'SIZE', 'missing')!r}")
    if hasattr(module, "EXTRA_OPTIONS"):
        problems.append("EXTRA_OPTIONS is now OPTIONS, a dict "
                        "{name: (METAVAR, help text)}")
    problems += _option_problems(options_of(module))
    return problems


def _text_problems(text) -> list[str]:
    """Every language says everything: the keys of ``TEXT['en']`` are in each
    other language too (so ``--lang ko`` never stops at a missing sentence)."""
    if not isinstance(text, Mapping) or not all(
            isinstance(text.get(lang), Mapping) for lang in LANGS):
        return []
    first, problems = LANGS[0], []
    for lang in LANGS[1:]:
        missing = sorted(set(text[first]) - set(text[lang]))
        if missing:
            problems.append(f"TEXT[{lang!r}] lacks {', '.join(map(repr, missing))}, "
                            f"which TEXT[{first!r}] has")
    return problems


def _valid_size(size) -> bool:
    if size is None:
        return True
    return (isinstance(size, tuple) and len(size) == 3
            and all(isinstance(n, int) and not isinstance(n, bool) for n in size)
            and size[1] <= size[0] <= size[2])


def _option_problems(options) -> list[str]:
    if not isinstance(options, Mapping):
        return [f"OPTIONS must be a dict {{name: (METAVAR, help text)}}; received "
                f"OPTIONS={_short(options)}"]
    problems = []
    for name, spec in options.items():
        if not (isinstance(name, str) and name.isidentifier() and name.islower()):
            problems.append(f"option {name!r} must be a lower-case Python name")
        elif name in COMMON_OPTIONS:
            problems.append(f"option {name!r} is one every lesson has already")
        if not (isinstance(spec, tuple) and len(spec) == 2
                and all(isinstance(s, str) and s for s in spec)):
            problems.append(f"option {name!r} must be (METAVAR, help text); "
                            f"received {spec!r}")
    return problems


def _function_problems(module: ModuleType, options: list[str]) -> list[str]:
    """``build``, ``run`` and ``save_figure`` exist and take the keywords the
    engine passes them."""
    wanted = {"build": ["lang", "seed", "size", *options],
              "run": ["console", "lang", "seed", "size", "player", *options]}
    if hasattr(module, "save_figure"):
        wanted["save_figure"] = ["lang", "seed", "size", *options]
    problems = []
    for function, keywords in wanted.items():
        value = getattr(module, function, None)
        if not callable(value):
            problems.append(f"{function}() is missing")
            continue
        refused = [k for k in keywords if not _takes_keyword(value, k)]
        if refused:
            problems.append(f"{function}() must accept the keyword(s) "
                            f"{', '.join(refused)}")
    return problems


def _takes_keyword(function: Callable, keyword: str) -> bool:
    parameters = inspect.signature(function).parameters.values()
    return any(p.kind is p.VAR_KEYWORD or (p.name == keyword and p.kind in (
        p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)) for p in parameters)


def _where(module: ModuleType) -> str:
    """``'shapes' (lessons/shapes.py)``: the lesson and the file to open."""
    file = Path(getattr(module, "__file__", None) or "?").name
    return f"{module.__name__.rpartition('.')[2]!r} (lessons/{file})"


def _short(value, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
