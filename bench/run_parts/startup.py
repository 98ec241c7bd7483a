"""How fast convsim starts: "import convsim" and a lesson's first frame, each
timed in a fresh Python process (bench/run.py's rows 7 and 8)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from run_parts import say


def import_times(torch, args, threads):
    """Row 7: seconds for an import in a fresh interpreter, median of several."""
    code = ("import time; t = time.perf_counter(); import {}; "
            "print(time.perf_counter() - t)")
    what = ["convsim", "convsim.models, convsim.layers"]
    if torch is not None:
        what.append("torch")
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    result = {}
    for modules in what:
        say(f"import: {modules}")
        times = [float(subprocess.run([sys.executable, "-c", code.format(modules)],
                                      capture_output=True, text=True, check=True,
                                      env=env).stdout)
                 for _ in range(3 if args.quick else 5)]
        result[modules] = statistics.median(times)
    return result


NOTICE = "Compiling convsim's kernels once"


def lesson_run(env, timeout=300.0) -> dict:
    """Start the padding lesson into pipes; note when its first stdout line and
    the compile notice (stderr) arrive."""
    cmd = [sys.executable, "-m", "convsim.lesson", "padding", "--no-animate"]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, env=env)
    seen = {"stdout": None, "notice": None, "stderr_any": None, "first_line": ""}

    def read(stream, is_out):
        for line in stream:
            now = time.perf_counter() - start
            if is_out and seen["stdout"] is None and line.strip():
                seen["stdout"], seen["first_line"] = now, line.rstrip()
            if not is_out:
                if seen["stderr_any"] is None:
                    seen["stderr_any"] = now
                if NOTICE in line and seen["notice"] is None:
                    seen["notice"] = now

    readers = [threading.Thread(target=read, args=(proc.stdout, True), daemon=True),
               threading.Thread(target=read, args=(proc.stderr, False), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
        say(f"frame: the lesson did not finish in {timeout:.0f} s; killed it")
    for reader in readers:
        reader.join(5)
    return {"first_line_s": seen["stdout"], "notice_s": seen["notice"],
            "first_stderr_s": seen["stderr_any"],
            "total_s": time.perf_counter() - start,
            "exit_code": code, "first_line": seen["first_line"][:60]}


def frame_times(args, threads):
    """Row 8: warm runs (after one untimed run fills the cache), then cold ones.

    Numba keeps compiled kernels in __pycache__ folders beside convsim's
    modules, or in NUMBA_CACHE_DIR when that is set, and convsim does not
    change where. So a fresh, empty NUMBA_CACHE_DIR gives a cold start without
    touching the cache everyone else uses. Into a pipe the lesson prints its
    key frames as text and waits for no key (stdin is /dev/null too).
    """
    env = dict(os.environ, COLUMNS="80", LINES="24", NUMBA_NUM_THREADS=str(threads))
    env.pop("NUMBA_CACHE_DIR", None)
    say("frame: one untimed run so that the kernel cache is warm")
    lesson_run(env)
    warm, cold = [], []
    for i in range(3 if args.quick else 5):
        say(f"frame: warm run {i + 1}")
        warm.append(lesson_run(env))
    for i in range(1 if args.quick else 2):
        with tempfile.TemporaryDirectory(prefix="convsim-cold-cache-") as empty:
            say(f"frame: cold run {i + 1} (NUMBA_CACHE_DIR={empty}, empty)")
            cold.append(lesson_run(dict(env, NUMBA_CACHE_DIR=empty)))
    return {"warm": warm, "cold": cold}
