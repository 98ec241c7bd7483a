"""What a hostile or careless learner can do to convsim, counted.

    python bench/robustness.py                  # the bad-input matrix + 20 interrupts
    python bench/robustness.py --minutes 10     # plus random inputs for 10 minutes
    python bench/robustness.py --interrupts 0 --rounds 1   # a quick look

Runs every case of ``bench/robustness_cases.py`` (bad arguments, absurd
augmentation parameters, nonsense labels, hostile and damaged model files,
lying IDX files, broken photos and paths that are not files) in worker
processes with a timeout per case, then interrupts real training runs with
Ctrl+C (SIGINT) and ``kill -9`` at random moments and resumes them. It prints:

* inputs tried, and how each ended: a **clear error** (a class of
  ``convsim.errors``), an **unclear error** (anything else escaping
  convsim), a **crash** (the process died), a **hang** (over the timeout), a
  **silent wrong result** (no error, but a result that breaks the case's
  check: e.g. pixel values never in the input), or fine;
* **code executions** (a hostile file made the sentinel file appear);
* the **peak memory** a single input cost: the growth of the worker's peak
  resident memory (Linux's VmHWM, reset before each input, so C libraries'
  allocations count too) and the Python/NumPy allocations traced, with which
  input;
* for interrupts: how many left a checkpoint that loaded and resumed to the
  exact weights and history of an unbroken run.

Targets (issue 15): >= 2,000 inputs; 0 crashes, hangs, code executions, silent
wrong results and unclear errors; no input file under 10 MB costs more than
500 MB before it is refused; every interrupt resumes bit-identically.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import subprocess
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
TIMEOUT = 30.0  # seconds one case may take (a hang is far longer)
MEMORY_CAP = 6 * 2**30  # address space of a worker: a runaway allocation fails


# ---------------------------------------------------------------- worker side

def run_worker(seed: int, rounds: int, scratch: Path, start: int,
               fixed: bool, only: bool = False) -> None:
    """Run cases from ``start`` on (only that one with ``only``), one JSON line
    per case on stdout."""
    import resource
    import tracemalloc

    sys.path.insert(0, str(HERE))
    from robustness_cases import ACCEPT, REFUSE, SENTINEL, all_cases

    from convsim.errors import ConvsimError

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    cases = all_cases(seed, rounds, scratch, fixed)
    tracemalloc.start()
    for index in range(start, start + 1 if only else len(cases)):
        case = cases[index]
        tracemalloc.reset_peak()
        traced_before = tracemalloc.get_traced_memory()[0]
        resident = _reset_peak_rss()
        began = time.perf_counter()
        outcome, detail = "fine", ""
        try:
            result = case.run()
            if case.expect == REFUSE:
                outcome, detail = "silent wrong result", "no error"
            elif case.check is not None and not case.check(result):
                outcome, detail = "silent wrong result", "result fails the check"
        except ConvsimError as err:
            outcome = "unclear error" if case.expect == ACCEPT else "clear error"
            detail = f"{type(err).__name__}: {err}"
        except BaseException as err:  # noqa: BLE001 - counting is the point
            outcome = "unclear error"
            last = traceback.extract_tb(err.__traceback__)[-1]
            detail = (f"{type(err).__name__}: {str(err)[:200]} "
                      f"({Path(last.filename).name}:{last.lineno})")
        peak = tracemalloc.get_traced_memory()[1] - traced_before
        rss = max(_peak_rss() - resident, 0) if resident is not None else 0
        if (scratch / SENTINEL).exists():
            outcome, detail = "code execution", "the sentinel file appeared"
        print(json.dumps({"index": index, "outcome": outcome, "detail": detail[:300],
                          "peak": peak, "rss": rss,
                          "seconds": time.perf_counter() - began}), flush=True)


def _reset_peak_rss() -> int | None:
    """Reset the process's peak resident memory (Linux: /proc/self/clear_refs)
    and return the resident memory now, in bytes; None where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return _peak_rss()
    except OSError:
        return None


def _peak_rss() -> int:
    """Peak resident memory since the last reset, in bytes (VmHWM): every
    allocation counts, C libraries' (Pillow, zlib, Numba) included."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- runner side

def run_matrix(seed: int, rounds: int, scratch: Path, fixed: bool = True
               ) -> list[dict]:
    """Every case in workers; a worker that dies or hangs is replaced."""
    sys.path.insert(0, str(HERE))
    from robustness_cases import all_cases

    cases = all_cases(seed, rounds, scratch, fixed)  # also writes the files
    results, start = [], 0
    while start < len(cases):
        worker = subprocess.Popen(
            [sys.executable, __file__, "--worker", "--seed", str(seed), "--rounds",
             str(rounds), "--scratch", str(scratch), "--start", str(start),
             *([] if fixed else ["--random-only"])],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        start = _collect(worker, cases, results, start)
    for result in results:
        result["name"] = cases[result["index"]].name
        result["category"] = cases[result["index"]].category
    return results


def _collect(worker, cases, results, start) -> int:
    """Read the worker's lines; the index to restart from when it stops."""
    expected = start
    while expected < len(cases):
        ready, _, _ = select.select([worker.stdout], [], [], TIMEOUT)
        line = worker.stdout.readline() if ready else None
        if not ready:
            worker.kill()
            results.append({"index": expected, "outcome": "hang",
                            "detail": f"over {TIMEOUT:.0f} s", "peak": 0})
            worker.wait()
            return expected + 1
        if not line:  # the worker died on this case
            code = worker.wait()
            results.append({"index": expected, "outcome": "crash",
                            "detail": f"exit status {code}", "peak": 0})
            return expected + 1
        results.append(json.loads(line))
        expected += 1
    worker.wait()
    return expected


def fresh_peaks(results: list[dict], seed: int, rounds: int, scratch: Path,
                count: int = 8) -> list[dict]:
    """The file inputs that cost most, each again in a fresh worker: there the
    growth of resident memory is the input's own (in a long-lived worker, memory
    freed by earlier inputs is reused and hides it)."""
    files = [r for r in results if r["category"] in (
        "model files", "IDX files", "images", "history files")]
    heaviest = sorted(files, key=lambda r: r.get("peak", 0), reverse=True)[:count]
    measured = []
    for result in heaviest:
        done = subprocess.run(
            [sys.executable, __file__, "--worker", "--seed", str(seed), "--rounds",
             str(rounds), "--scratch", str(scratch), "--start",
             str(result["index"]), "--only"],
            capture_output=True, text=True, timeout=300)
        if done.stdout.strip():
            line = json.loads(done.stdout.strip().splitlines()[-1])
            measured.append({"name": result["name"], "rss": line["rss"]})
    return measured


def run_interrupts(count: int, seed: int, folder: Path) -> list[dict]:
    """Interrupt real ``train mnist`` runs and resume them (see module doc).

    Each run is stopped at a random moment after its first epoch began
    (three in four with Ctrl+C, one in four with ``kill -9``), then the same
    command with ``--resume`` finishes it; its weights and history must equal
    those of a run that was never stopped.
    """
    import random
    import signal

    import numpy as np

    from convsim.models import load_model

    chooser = random.Random(seed)
    command = [sys.executable, "-m", "convsim", "train", "mnist", "--epochs", "2",
               "--limit", "384", "--batch-size", "64", "--seed", "7", "--no-plot",
               "--verbose", "2"]
    unbroken = folder / "unbroken.convsim"
    subprocess.run([*command, "--save", str(unbroken)], check=True,
                   capture_output=True, timeout=600, preexec_fn=_default_sigint)
    reference = load_model(unbroken).get_weights()
    reference_history = _history(unbroken)
    outcomes = []
    for i in range(count):
        path = folder / f"run{i}.convsim"
        how = signal.SIGKILL if i % 4 == 3 else signal.SIGINT
        run = subprocess.Popen([*command, "--save", str(path)], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               preexec_fn=_default_sigint)
        for line in run.stdout:  # the model is built and training has begun
            if line.startswith("Epoch 1/"):
                break
        time.sleep(chooser.uniform(0.0, 2.5))
        run.send_signal(how)
        run.communicate(timeout=120)
        resumed = subprocess.run([*command, "--save", str(path), "--resume"],
                                 capture_output=True, text=True, timeout=600,
                                 preexec_fn=_default_sigint)
        same = False
        if resumed.returncode == 0 and path.exists():
            weights = load_model(path).get_weights()
            same = (all(np.array_equal(a, b)
                        for a, b in zip(weights, reference, strict=True))
                    and _history(path) == reference_history)
        outcomes.append({"signal": how.name, "exit": run.returncode,
                         "resume_exit": resumed.returncode, "identical": same,
                         "detail": resumed.stdout[-300:] + resumed.stderr[-300:]})
    return outcomes


def _default_sigint() -> None:
    """In the child: Ctrl+C does what it does in a terminal, even when this
    script runs in the background (where SIGINT is inherited as ignored)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _history(model_path: Path) -> dict:
    """The per-epoch values of a run (its NAME.history.json)."""
    document = json.loads(model_path.with_suffix(".history.json").read_text())
    return document["history"]


def report(results: list[dict], interrupts: list[dict], seconds: float,
           fresh: list[dict]) -> int:
    """Print the counts; exit status 1 when a target is missed."""
    counts = Counter(r["outcome"] for r in results)
    print(f"\ninputs tried: {len(results):,} in {seconds:.0f} s")
    for outcome in ("fine", "clear error", "unclear error", "silent wrong result",
                    "crash", "hang", "code execution"):
        print(f"  {outcome:20s} {counts.get(outcome, 0):6,}")
    worst = max(results, key=lambda r: r.get("peak", 0), default=None)
    if worst:
        print(f"peak memory of one input, traced (Python and NumPy): "
              f"{worst['peak'] / 2**20:,.1f} MiB ({worst.get('name')})")
    for item in fresh:
        print(f"  in a fresh process, resident memory grew by "
              f"{item['rss'] / 2**20:,.1f} MiB: {item['name']}")
    grew = max(fresh, key=lambda r: r["rss"], default=None)
    bad = [r for r in results if r["outcome"] in (
        "unclear error", "silent wrong result", "crash", "hang", "code execution")]
    by_category = Counter((r["category"], r["outcome"]) for r in bad)
    for (category, outcome), n in sorted(by_category.items()):
        print(f"  {category}: {n} {outcome}")
    for r in bad[:40]:
        print(f"    [{r['outcome']}] {r.get('name')}: {r['detail']}")
    if interrupts:
        same = sum(o["identical"] for o in interrupts)
        signals = dict(Counter(o["signal"] for o in interrupts))
        print(f"interrupts: {len(interrupts)} {signals}, resumed bit-identically: "
              f"{same}")
        for o in interrupts:
            if not o["identical"]:
                print(f"    {o['signal']} exit {o['exit']}, resume exit "
                      f"{o['resume_exit']}: {o['detail'][-200:]!r}")
    missed = bad or (grew and grew["rss"] > 500 * 2**20) or (
        interrupts and same < len(interrupts)) or len(results) < 2000
    return 1 if missed else 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of random inputs after the fixed matrix "
                             "(default: 3, about 2,000 inputs in all)")
    parser.add_argument("--minutes", type=float, default=0,
                        help="keep adding rounds until this many minutes have passed")
    parser.add_argument("--interrupts", type=int, default=20,
                        help="training runs to interrupt and resume (default: 20)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--scratch", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--random-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args.seed, args.rounds, Path(args.scratch), args.start,
                   not args.random_only, args.only)
        return 0
    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="convsim-robustness-") as scratch:
        results = run_matrix(args.seed, args.rounds, Path(scratch) / "cases")
        first_round_cases = len(results)
        extra = 0
        while args.minutes and time.perf_counter() - began < 60 * args.minutes:
            extra += 1
            results += run_matrix(args.seed + 1000 * extra, 1,
                                  Path(scratch) / f"more{extra}", fixed=False)
        fresh = fresh_peaks(results[:first_round_cases], args.seed, args.rounds,
                            Path(scratch) / "cases")
        interrupts = (run_interrupts(args.interrupts, args.seed, Path(scratch))
                      if args.interrupts else [])
    return report(results, interrupts, time.perf_counter() - began, fresh)


if __name__ == "__main__":
    os.environ.setdefault("CONVSIM_OFFLINE", "1")
    raise SystemExit(main())
