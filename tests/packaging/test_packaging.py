"""The package works the three ways a learner gets it: from a source checkout
(the current folder first on sys.path), installed elsewhere, and as a wheel that
really contains the lessons and the bundled MNIST sample."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

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


def test_wheel_ships_lessons_and_the_mnist_sample(tmp_path):
    _require_offline_wheel_build()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    wheel = next(tmp_path.glob("convsim-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    lessons = {Path(n).stem for n in names if n.startswith("convsim/lessons/")}
    assert {"convolution", "padding", "stride", "pooling", "shapes"} <= lessons
    sample = [n for n in names if n.startswith("convsim/datasets/data/mnist-sample/")]
    assert any(n.endswith("train-images-idx3-ubyte.gz") for n in sample)
    assert not any(n.startswith(("tests/", "bench/")) for n in names)


def _require_offline_wheel_build():
    """Building without network needs the build backend in this environment:
    setuptools >= 68 (pyproject.toml) and bdist_wheel (setuptools >= 70.1 has it
    built in; older ones need the `wheel` package)."""
    setuptools = pytest.importorskip("setuptools", reason="needs setuptools")
    version = tuple(int(p) for p in setuptools.__version__.split(".")[:2])
    if version < (68, 0):
        pytest.skip(f"setuptools {setuptools.__version__} is older than 68")
    if version < (70, 1):
        pytest.importorskip("wheel", reason="setuptools < 70.1 needs `wheel`")
