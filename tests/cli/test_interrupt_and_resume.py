"""Ctrl+C and ``kill -9`` at random moments of real ``python -m convsim train``
processes, then ``--resume``: the run ends bit-identical to an unbroken one.

Each test runs a chain: a training process is started, interrupted at a
random moment after its first "Epoch" line (SIGINT, or SIGKILL), and the next
process resumes it with ``--resume`` and is interrupted in turn; the last
one runs to the end. Its weights and history must equal those of a run that
was never stopped, and every Ctrl+C must end with status 130 and the line
naming the intact checkpoint, never a traceback. Most of a run's time is
spent inside training steps, so most signals land inside a Numba kernel.

The children start through a one-line bootstrap that gives SIGINT Python's
usual handler: a test run from a non-interactive shell's background job
inherits an *ignored* SIGINT, which a plain ``python -m convsim`` keeps.
"""

from __future__ import annotations

import io
import json
import os
import random
import selectors
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from rich.console import Console

from convsim.datasets import mnist
from convsim.experiments import cli as train
from convsim.training.checkpoint import read_checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.subprocess]

BOOTSTRAP = ("import signal, runpy, sys; "
             "signal.signal(signal.SIGINT, signal.default_int_handler); "
             "sys.argv = ['convsim'] + sys.argv[1:]; "
             "runpy.run_module('convsim', run_name='__main__')")
MNIST = ["mnist", "--epochs", "3", "--limit", "256", "--batch-size", "32",
         "--data", str(mnist.BUNDLED_DIR), "--seed", "7", "--no-plot",
         "--verbose", "2"]


def run_here(argv) -> tuple[int, str]:
    """The command in this process (for the runs nobody interrupts)."""
    console = Console(file=io.StringIO(), width=200, color_system=None)
    status = train.main(argv, console=console)
    return status, console.file.getvalue()


def interrupt(argv, sig: int, delay: float) -> tuple[int | None, str]:
    """Start the command, send ``sig`` ``delay`` seconds after its first
    "Epoch" line; its exit status and output."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", CONVSIM_OFFLINE="1", COLUMNS="500")
    process = subprocess.Popen([sys.executable, "-c", BOOTSTRAP, "train", *argv],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               env=env)
    output = _read_until(process, b"Epoch ", deadline=time.monotonic() + 120)
    time.sleep(delay)
    if process.poll() is None:
        process.send_signal(sig)
    try:
        rest, _ = process.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        rest = process.communicate()[0] + b"\n[did not exit within 120 s]"
    return process.returncode, (output + rest).decode("utf-8", "replace")


def _read_until(process, marker: bytes, deadline: float) -> bytes:
    seen = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while marker not in seen and time.monotonic() < deadline:
            if selector.select(timeout=1.0):
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                seen += chunk
    return seen


def run_chain(argv, signals, delays, checkpoint) -> list[str]:
    """Interrupt the command with ``signals`` one after the other (each
    process resuming the last); what happened, for the failure message."""
    log, resume = [], []
    for sig, delay in zip(signals, delays, strict=True):
        status, out = interrupt([*argv, *resume], sig, delay)
        log.append(f"{signal.Signals(sig).name} after {delay:.3f} s: exit {status}")
        assert "Traceback" not in out and "SystemError" not in out, \
            "\n".join(log) + out
        if status == 0 or "Test accuracy" in out or "Test evaluation skipped" in out:
            # The run ended before the signal (or the signal came as Python was
            # exiting: -2, as for any program), or Ctrl+C came after the last
            # epoch, during the test evaluation: training is complete and
            # saved, nothing left to resume.
            return log
        if sig == signal.SIGINT:
            assert status == 130, "\n".join(log) + out
            line = " ".join(out.split())
            assert f"The checkpoint {checkpoint} is intact; the same command with " \
                   "--resume continues exactly." in line, out
            where = line.split("Ctrl+C: stopped ")[1].split(". The checkpoint")[0]
            log[-1] += f", stopped {where}"
        else:
            assert status == -signal.SIGKILL
        if checkpoint.exists():  # the last completed one: it must load
            log[-1] += f", checkpoint at {read_checkpoint(checkpoint).where()}"
        resume = ["--resume"]
    return log


def assert_identical(weights, reference, history, reference_history, log):
    message = "\n".join(log)
    print(message)  # what happened, with -s
    assert history == reference_history, message
    for a, b in zip(weights, reference, strict=True):
        assert np.array_equal(a, b), message


def test_mnist_interrupted_anywhere_resumes_bit_identically(tmp_path):
    from convsim.models import load_model

    chooser = random.Random(os.urandom(8))
    status, out = run_here([*MNIST, "--save", str(tmp_path / "whole.convsim")])
    assert status == 0, out
    signals = [signal.SIGINT, signal.SIGKILL, signal.SIGINT]
    argv = [*MNIST, "--save", str(tmp_path / "m.convsim")]
    # From its first "Epoch" line, a process trains for about 1.3 s (the
    # first batch loads the compiled kernels); signals are spread over that.
    log = run_chain(argv, signals, [chooser.uniform(0.0, 1.2) for _ in signals],
                    tmp_path / "m.backup" / "latest.checkpoint")
    status, out = run_here([*argv, "--resume"])
    assert status == 0, out
    assert not list((tmp_path / "m.backup").glob("*.tmp"))  # killed writes: cleaned
    histories = [json.loads((tmp_path / f"{name}.history.json").read_text())
                 for name in ("m", "whole")]
    assert_identical(load_model(tmp_path / "m.convsim").get_weights(),
                     load_model(tmp_path / "whole.convsim").get_weights(),
                     histories[0]["history"], histories[1]["history"], log)


def test_cats_vs_dogs_interrupted_anywhere_resumes_bit_identically(tmp_path,
                                                                  tree):
    """Augmentation, dropout and prefetched iterators: the resumed run sees
    the batches an unbroken one sees. (No --save: the checkpoint kept after
    the run holds the final weights.)"""
    chooser = random.Random(os.urandom(8))
    common = ["cats-vs-dogs", "--data", str(tree), "--epochs", "2",
              "--steps-per-epoch", "3", "--validation-steps", "2",
              "--batch-size", "2", "--seed", "7", "--augment", "--dropout", "0.5",
              "--no-plot", "--verbose", "2"]

    def files(name):
        return ["--history", str(tmp_path / f"{name}.json"),
                "--backup-dir", str(tmp_path / f"{name}.backup")]

    status, out = run_here([*common, *files("whole")])
    assert status == 0, out
    signals = [signal.SIGINT, signal.SIGKILL]
    checkpoint = tmp_path / "run.backup" / "latest.checkpoint"
    log = run_chain([*common, *files("run")], signals,
                    [chooser.uniform(0.0, 1.0) for _ in signals], checkpoint)
    status, out = run_here([*common, *files("run"), "--resume"])
    assert status == 0, out
    assert not list((tmp_path / "run.backup").glob("*.tmp"))
    histories = [json.loads((tmp_path / f"{name}.json").read_text())["history"]
                 for name in ("run", "whole")]
    assert_identical(read_checkpoint(checkpoint).weights,
                     read_checkpoint(tmp_path / "whole.backup" /
                                     "latest.checkpoint").weights,
                     *histories, log)

