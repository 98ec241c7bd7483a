"""The package works the three ways a learner gets it: from a source checkout
(the current folder first on sys.path), installed elsewhere, and as a wheel that
really contains every subpackage, the lessons and the bundled MNIST sample.

The wheel is built with hatchling, which ships the whole ``convsim`` folder: no
hand-kept list of subpackages. The test below reads the source tree, so a new
subpackage that somehow stayed out of the wheel fails it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("where", ["checkout", "elsewhere"])
def test_lesson_command_runs_from_any_folder(where, tmp_path):
    cwd = ROOT if where == "checkout" else tmp_path
    done = subprocess.run(
        [sys.executable, "-m", "convsim", "lesson", "--list"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    for name in ("convolution", "padding", "stride", "pooling", "shapes"):
        assert name in done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from the checkout, offline, with the installed hatchling."""
    pytest.importorskip(
        "hatchling", reason="building the wheel offline needs hatchling "
        "(pip install '.[test]')")
    folder = tmp_path_factory.mktemp("wheel")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
         "-q", "-w", str(folder), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return next(folder.glob("convsim-*.whl"))


def test_wheel_ships_every_subpackage(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    packages = sorted(
        path.parent.relative_to(ROOT).as_posix()
        for path in (ROOT / "convsim").rglob("__init__.py"))
    assert len(packages) > 10  # the source tree was found
    missing = [p for p in packages if f"{p}/__init__.py" not in names]
    assert not missing, f"subpackages missing from the wheel: {missing}"


def test_wheel_ships_lessons_and_the_mnist_sample(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    lessons = {f"convsim/lessons/{p.name}" for p in (ROOT / "lessons").glob("*.py")}
    assert "convsim/lessons/__init__.py" in lessons
    assert lessons <= names, f"lessons missing: {sorted(lessons - names)}"
    sample = ROOT / "convsim" / "datasets" / "data" / "mnist-sample"
    files = {p.relative_to(ROOT).as_posix() for p in sample.iterdir()}
    assert any(f.endswith("train-images-idx3-ubyte.gz") for f in files)
    assert files <= names, f"MNIST sample files missing: {sorted(files - names)}"
    assert not any(n.startswith(("tests/", "bench/", "lessons/")) for n in names)
    assert not any("__pycache__" in n for n in names)


def test_installed_wheel_finds_its_own_lessons(wheel, tmp_path):
    """Installed, convsim.lessons is the copy inside the package, not a
    checkout's lessons/ folder."""
    target = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         "--target", str(target), str(wheel)],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    environ = dict(os.environ, PYTHONPATH=str(target))
    script = ("from convsim.lesson import catalog, cli\n"
              "print(catalog.lessons_package().__file__)\n"
              "raise SystemExit(cli.main(['padding', '--no-animate']))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path,
                          env=environ, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    first, _, rest = done.stdout.partition("\n")
    assert Path(first).resolve() == (target / "convsim/lessons/__init__.py").resolve()
    assert "Padding" in rest
