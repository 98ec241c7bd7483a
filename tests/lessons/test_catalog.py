"""The lesson catalog: every lesson is listed and follows the protocol, a
broken lesson says what it lacks, and a new lesson needs nothing outside
lessons/ (its options reach the command line and its run())."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
from rich.console import Console
from rich.text import Text

from convsim.lesson import catalog, cli
from convsim.lesson.frames import Frame, Lesson

ROOT = Path(__file__).resolve().parents[2]


def capture_console() -> Console:
    return Console(file=io.StringIO(), width=100, color_system=None,
                   force_terminal=False)


def fake_lesson(module_name: str = "tiny_demo", **changes) -> types.ModuleType:
    """A lesson module that follows the protocol, with ``changes`` applied (a
    value of ``None`` for a name that is not SIZE deletes it)."""
    module = types.ModuleType(f"{catalog.PACKAGE}.{module_name}")
    module.__file__ = str(ROOT / "lessons" / f"{module_name}.py")
    module.played = []

    def build(lang="en", seed=None, size=None, colour=None):
        return Lesson(module.NAME, module.TITLE[lang],
                      [Frame(Text(f"a {colour} square"), "caption", key=True)], lang)

    def run(console=None, *, lang="en", seed=None, size=None, colour=None,
            player=None):
        module.played.append({"seed": seed, "size": size, "colour": colour})
        return player.play(build(lang=lang, seed=seed, size=size, colour=colour))

    values = {"NAME": module_name.replace("_", "-"),
              "TITLE": {"en": "Tiny demo", "ko": "작은 예"},
              "SUMMARY": {"en": "a square in one colour", "ko": "한 가지 색의 사각형"},
              "FPS": 1.0, "SIZE": None, "TEXT": {"en": {}, "ko": {}},
              "OPTIONS": {"colour": ("COLOUR", "the square's colour")},
              "build": build, "run": run}
    values.update(changes)
    for name, value in values.items():
        if value is None and name != "SIZE":
            continue
        setattr(module, name, value)
    return module


@pytest.fixture
def added(monkeypatch):
    """Add lesson modules to the catalog as a contributor would (a module in
    lessons/ and its name at the end of CONTENTS), without touching the disk."""

    def add(module: types.ModuleType) -> None:
        short = module.__name__.rpartition(".")[2]
        listed = catalog.contents()
        monkeypatch.setattr(catalog, "contents", lambda: (*listed, short))
        monkeypatch.setitem(sys.modules, module.__name__, module)

    return add


def test_every_lesson_module_is_listed_and_follows_the_protocol():
    on_disk = {p.stem for p in (ROOT / "lessons").glob("*.py")
               if not p.stem.startswith("_")}
    assert set(catalog.contents()) == on_disk
    assert catalog.unlisted() == []
    modules = catalog.load_all()
    assert [m.NAME for m in modules] == list(catalog.names())
    assert catalog.names()[:2] == ("convolution", "channels")  # the book's order
    assert "feature-maps" in catalog.names()


def test_a_module_missing_from_contents_is_found(monkeypatch):
    listed = catalog.contents()
    monkeypatch.setattr(catalog, "contents", lambda: listed[:-1])
    assert catalog.unlisted() == [listed[-1]]


def test_an_unknown_lesson_suggests_a_close_name():
    with pytest.raises(ValueError, match=r"Unknown lesson 'padd'\. Did you mean "
                                         r"'padding'\? Lessons: convolution, "):
        catalog.load("padd")


@pytest.mark.parametrize("change, message", [
    ({"NAME": None}, "NAME must be 'tiny-demo' (the module's name with '-' for "
                     "'_'); received NAME=None"),
    ({"run": None}, "run() is missing"),
    ({"TITLE": {"en": "only English"}}, "TITLE must be a dict with an entry for "
                                        "every language ('en', 'ko')"),
    ({"TEXT": {"en": {"intro": "Hello", "outro": "Bye"}, "ko": {"intro": "안녕"}}},
     "TEXT['ko'] lacks 'outro', which TEXT['en'] has"),
    ({"FPS": 0}, "FPS must be a positive number; received FPS=0"),
    ({"SIZE": (5, 6, 9)}, "SIZE must be None or (default, smallest, largest)"),
    ({"OPTIONS": {"seed": ("N", "a seed")}}, "option 'seed' is one every lesson "
                                             "has already"),
    ({"OPTIONS": {"shade": ("SHADE", "a shade")}}, "build() must accept the "
                                                   "keyword(s) shade"),
    ({"EXTRA_OPTIONS": ("colour",)}, "EXTRA_OPTIONS is now OPTIONS"),
])
def test_a_broken_lesson_says_which_lesson_and_what_is_wrong(change, message):
    with pytest.raises(catalog.LessonProtocolError) as caught:
        catalog.check(fake_lesson(**change))
    text = str(caught.value)
    assert text.startswith("The lesson 'tiny_demo' (lessons/tiny_demo.py) does not "
                           "follow the lesson protocol (lessons/README.md): ")
    assert message in text
    assert isinstance(caught.value, TypeError)


def test_every_problem_is_named_at_once():
    with pytest.raises(catalog.LessonProtocolError,
                       match=r"NAME must be .*; SUMMARY must be .*; build\(\) is "
                             r"missing; run\(\) is missing"):
        catalog.check(fake_lesson(NAME=None, SUMMARY=None, build=None, run=None))


def test_the_command_line_stops_at_a_broken_lesson(added, capsys):
    added(fake_lesson(NAME=None))
    assert cli.main(["--list"], console=capture_console()) == 1
    err = capsys.readouterr().err
    assert "'tiny_demo' (lessons/tiny_demo.py)" in err and "NAME must be" in err


def test_a_new_lesson_needs_nothing_outside_the_lessons_folder(added, capsys):
    lesson = fake_lesson()
    added(lesson)
    console = capture_console()
    assert cli.main(["--list"], console=console) == 0
    assert "tiny-demo" in console.file.getvalue()
    assert cli.main(["tiny-demo", "--colour", "red", "--seed", "3"],
                    console=console) == 0
    assert lesson.played == [{"seed": 3, "size": None, "colour": "red"}]
    assert "a red square" in console.file.getvalue()
    assert cli.main(["padding", "--colour", "red"], console=console) == 2
    assert ("--colour is only for the 'tiny-demo' lesson. Received it for "
            "'padding'") in capsys.readouterr().err


def test_an_option_given_to_the_wrong_lesson_is_refused(capsys):
    console = capture_console()
    assert cli.main(["padding", "--model", "x"], console=console) == 2
    users = ", ".join(f"'{m.NAME}'" for m in catalog.load_all()
                      if "model" in catalog.options_of(m))
    assert (f"error: --model is only for the {users} lessons. Received it for "
            "'padding'") in capsys.readouterr().err
    assert cli.main(["stride", "--history", "h.json"], console=console) == 2
    assert "--history is only for the 'overfitting' lesson" in capsys.readouterr().err


def test_an_option_two_lessons_share_names_both(added, capsys):
    added(fake_lesson(OPTIONS={"image": ("PATH", "a photo")},
                      build=lambda lang="en", seed=None, size=None, image=None: None,
                      run=lambda console=None, **options: None))
    assert cli.main(["padding", "--image", "x.png"], console=capture_console()) == 2
    users = [f"'{m.NAME}'" for m in catalog.load_all()
             if "image" in catalog.options_of(m)]
    assert "'augmentation'" in users and users[-1] == "'tiny-demo'"
    assert (f"--image is only for the {', '.join(users)} lessons"
            in capsys.readouterr().err)


def test_the_help_lists_each_lesson_option(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    options = [(m.NAME, name, spec) for m in catalog.load_all()
               for name, spec in catalog.options_of(m).items()]
    assert {name for _, name, _ in options} >= {"model", "image", "data", "history"}
    users = {}
    for lesson, name, _ in options:
        users.setdefault(name, []).append(lesson)
    for lesson, name, (metavar, text) in options:
        flag = f"--{name.replace('_', '-')} {metavar}"
        if len(users[name]) == 1:  # its own words
            assert f"{flag} {lesson} lesson: {text}" in help_text
        elif name in cli.SHARED_HELP:  # what it means in all of them
            assert (f"--{name} " in help_text and f"{', '.join(users[name])} "
                    f"lessons: {cli.SHARED_HELP[name]}") in help_text
        else:
            assert f"{lesson}: {text}" in help_text
    assert re.search(r"Lessons: convolution, channels, .*overfitting, .*\.", help_text)


@pytest.mark.subprocess
def test_import_convsim_has_no_hook_and_stays_light():
    """From the checkout, ``import convsim`` neither maps the lessons nor loads
    numpy, numba or rich; the catalog maps lessons/ when asked."""
    script = (
        "import sys, convsim\n"
        "heavy = {'numpy', 'numba', 'rich', 'convsim.lessons'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "from convsim.lesson import catalog\n"
        "print(catalog.lessons_package().__file__)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == ROOT / "lessons" / "__init__.py"
