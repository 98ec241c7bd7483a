"""Fuzz the augmentation's warp by hand: absurd numbers, argument to kernel.

    python fuzz/warp.py --minutes 5              # as long as you like
    python fuzz/warp.py --minutes 1 --seed 7     # another random sequence
    python fuzz/warp.py --replay fuzz-warp/000012-apply.json   # one saved input

Each input goes through one of four doors, with numbers drawn from edge values
(NaN, +-inf, 1e308, 2**53, 10**400, each documented bound and just past it,
-0.0, 5e-324), ordinary random values and random values within the bounds, on
random images (mostly small, some up to 2000 x 2000):

* ``apply``: ``apply_affine_transform`` with random theta/tx/ty/shear/zx/zy,
  fill mode, order and cval;
* ``generator``: an ``ImageDataGenerator`` with random ranges, then one batch
  of ``flow``;
* ``warp_batch``: random 2x3 matrices straight into
  :func:`convsim.preprocessing.affine.warp_batch`, the kernel's only caller;
* ``kernel``: random matrices straight into the Numba kernel, past every
  check (the kernel's own defence: it must stay inside its arrays).

The property is the one ``tests/data/test_augment.py`` and
``tests/kernels/test_warp.py`` check in CI: the only exception allowed is
``ArgumentError`` (none at the kernel), and every value returned is an input
value (order 0), a blend of input values (order 1), or the fill value
(brightness and channel shifts change values on purpose: there only finiteness
is checked). Each input ends in one of these outcomes:

* ``ok``: returned, and the property holds;
* ``clear``: an ``ArgumentError`` where an argument was out of its bounds;
* ``wrong refusal``: an ``ArgumentError`` for ``apply`` parameters that are
  all within their documented bounds;
* ``not refused``: ``apply`` returned although a parameter was out of bounds;
* ``wrong``: a value that is neither an input value, a blend, nor the fill;
* ``unclear``: any other exception;
* ``hang``: no answer within ``--timeout`` seconds (the worker is killed);
* ``crash``: the worker died (a segfault, the memory cap).

Workers are separate processes capped at ``--memory`` MB of address space;
each prints the input it is about to run, so a crash names it. The report
prints the inputs tried, each outcome's count per door, the slowest input,
and every bad input, saved in ``--out`` as JSON for ``--replay``. The exit
status is 1 when there was any.
"""

from __future__ import annotations

import argparse
import json
import math
import queue
import random
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
from common import memory_cap, print_outcomes

GOOD = ("ok", "clear")
MODES = ("nearest", "reflect", "wrap", "constant")
#: The documented bounds (convsim.preprocessing.arguments), repeated here so
#: the harness checks the code against the documentation, not against itself.
BOUNDS = {"theta": 1e6, "tx": 1e6, "ty": 1e6, "shear": 1e6, "zx": 1e3, "zy": 1e3,
          "cval": float(np.finfo(np.float32).max)}
EDGES = [math.nan, math.inf, -math.inf, 1e308, -1e308, 1.7e308, 1e300, -1e300,
         2.0**53, -(2.0**63), 1e15, -1e15, 1e10, 1e6, 1e6 + 1, -1e6 - 1, 1e3,
         1001.0, -1001.0, 3.4028235e38, 3.5e38, 1e39, 0.0, -0.0, 5e-324, 0.5, 1.0,
         -1.0, 360.0, 90.0, 10**400]


# ------------------------------------------------------------------ inputs
def draw_number(rng: random.Random, bound: float = 1e6, floats_only=False):
    """An edge value, an ordinary value, or a value within ``bound``."""
    pick = rng.random()
    if pick < 0.35:
        value = rng.choice(EDGES)
        return 1.7e308 if floats_only and isinstance(value, int) else value
    if pick < 0.7:
        return rng.gauss(0, 30)
    return rng.uniform(-bound, bound)


def draw_shape(rng: random.Random) -> list[int]:
    pick = rng.random()
    side = 40 if pick < 0.9 else 300 if pick < 0.99 else 2000
    return [rng.randint(1, side), rng.randint(1, side),
            1 if side == 2000 else rng.choice([1, 2, 3])]


def draw_input(rng: random.Random) -> dict:
    """One input as JSON-able data (``run_input`` turns it into a call)."""
    door = rng.choice(["apply", "apply", "generator", "warp_batch", "kernel"])
    spec = {"door": door, "shape": draw_shape(rng), "image_seed": rng.randrange(2**32),
            "mode": rng.choice(MODES), "order": rng.choice([0, 1])}
    if door == "apply":
        spec["params"] = {name: draw_number(rng, bound)
                          for name, bound in BOUNDS.items()}
        for name in rng.sample(sorted(BOUNDS), rng.randint(0, 5)):
            spec["params"][name] = rng.uniform(-1, 1) * min(BOUNDS[name], 50)
    elif door == "generator":
        spec["kwargs"] = _draw_ranges(rng)
    else:
        spec["batch"] = rng.randint(1, 3)
        spec["matrices"] = [[[draw_number(rng, 4, True) if rng.random() < 0.5
                              else rng.uniform(-2, 2) for _ in range(3)]
                             for _ in range(2)] for _ in range(spec["batch"])]
        spec["cval"] = draw_number(rng, 10) if door == "warp_batch" else rng.uniform(
            -9, 9)
    return spec


def _draw_ranges(rng: random.Random) -> dict:
    """Usable ranges, and (every other time) one drawn from the edge values."""
    usable = {"rotation_range": lambda: rng.uniform(0, 360),
              "width_shift_range": lambda: rng.choice(
                  [rng.uniform(0, 1), rng.uniform(1, 50), rng.randint(0, 20),
                   [rng.uniform(-1e6, 1e6) for _ in range(rng.randint(1, 3))]]),
              "height_shift_range": lambda: rng.uniform(0, 1),
              "shear_range": lambda: rng.uniform(0, 90),
              "zoom_range": lambda: rng.choice(
                  [rng.uniform(0, 0.99), sorted([rng.uniform(1e-3, 5),
                                                 rng.uniform(1e-3, 1e3)])]),
              "cval": lambda: rng.uniform(-10, 10)}
    kwargs = {name: draw() for name, draw in usable.items() if rng.random() < 0.6}
    if rng.random() < 0.5:
        name = rng.choice(sorted(usable))
        kwargs[name] = (draw_number(rng) if rng.random() < 0.7
                        else [draw_number(rng) for _ in range(rng.randint(1, 3))])
    if rng.random() < 0.2:
        kwargs["brightness_range"] = sorted(abs(draw_number(rng, 5)) for _ in "ab")
    if rng.random() < 0.2:
        kwargs["channel_shift_range"] = abs(draw_number(rng, 100))
    return kwargs


# ----------------------------------------------------------------- running
def run_input(spec: dict) -> tuple[str, str]:
    """Run one input; returns ``(outcome, detail)``."""
    from convsim.errors import ArgumentError

    image = np.random.default_rng(spec["image_seed"]).uniform(
        -5, 5, spec["shape"]).astype(np.float32)
    try:
        out, images, fill = _call(spec, image)
    except ArgumentError as err:
        if spec["door"] == "kernel":
            return "unclear", f"ArgumentError at the kernel: {err}"
        if spec["door"] == "apply" and not _out_of_bounds(spec["params"]):
            return "wrong refusal", str(err)[:300]
        return "clear", str(err)[:120]
    except Exception as err:  # the bug this harness looks for
        return "unclear", f"{type(err).__name__}: {str(err)[:300]}"
    if spec["door"] == "apply" and _out_of_bounds(spec["params"]):
        return "not refused", f"parameters {spec['params']}"
    if spec["door"] == "generator" and set(spec["kwargs"]) & {
            "brightness_range", "channel_shift_range"}:
        ok = bool(np.isfinite(out).all())
        return ("ok", "") if ok else ("wrong", "a value that is not finite")
    for result, source in zip(out, images, strict=True):
        bad = _invented(result, source, spec["order"], fill)
        if bad:
            return "wrong", bad
    return "ok", ""


def _call(spec: dict, image: np.ndarray):
    """The call behind each door: ``(outputs, their inputs, fill value)``."""
    from convsim.kernels import warp
    from convsim.preprocessing import affine
    from convsim.preprocessing.image import ImageDataGenerator, apply_affine_transform

    mode, order = spec["mode"], spec["order"]
    if spec["door"] == "apply":
        params = spec["params"]
        out = apply_affine_transform(image, **params, fill_mode=mode, order=order)
        fill = np.float32(params["cval"]) if mode == "constant" else None
        return out[None], image[None], fill
    if spec["door"] == "generator":
        gen = ImageDataGenerator(**spec["kwargs"], fill_mode=mode,
                                 interpolation_order=order)
        batch = np.stack([image] * 2)
        out = next(gen.flow(batch, batch_size=2, shuffle=False, seed=0))
        return out, batch, np.float32(gen.cval) if mode == "constant" else None
    batch = np.stack([image] * spec["batch"])
    matrices = np.array(spec["matrices"], dtype=np.float64)
    identity = np.zeros(len(batch), np.bool_)
    if spec["door"] == "warp_batch":
        out = affine.warp_batch(batch, matrices, identity, order, mode, spec["cval"])
        return out, batch, np.float32(spec["cval"]) if mode == "constant" else None
    kernel = (warp.affine_warp_parallel if spec["image_seed"] % 2
              else warp.affine_warp_serial)
    out = kernel(batch, matrices, identity, order, warp.MODES[mode], spec["cval"])
    return out, batch, np.float32(spec["cval"])  # no position, no pixel: cval


def _out_of_bounds(params: dict) -> bool:
    for name, value in params.items():
        try:
            if not abs(float(value)) <= BOUNDS[name]:
                return True
        except OverflowError:  # 10**400
            return True
    return False


def _invented(out: np.ndarray, image: np.ndarray, order: int, fill) -> str:
    allowed = (out >= image.min()) & (out <= image.max())
    if fill is not None:
        allowed |= out == fill
    if not allowed.all():
        return f"value {out[~allowed].ravel()[0]!r} outside the input's range"
    if order == 0:
        extra = np.setdiff1d(out, image)  # sorted, so fast on big images too
        if fill is not None:
            extra = extra[extra != fill]
        if extra.size:
            return f"order 0 made the value {extra[0]!r}, not in the input"
    return ""


def _worker(seed: int, seconds: float) -> None:
    """Run random inputs for ``seconds``: two JSON lines per input (before and
    after), so the parent knows which input a crash or a hang belongs to."""
    rng = random.Random(seed)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        spec = draw_input(rng)
        print(json.dumps({"start": spec}), flush=True)
        start = time.perf_counter()
        outcome, detail = run_input(spec)
        print(json.dumps({"outcome": outcome, "detail": detail,
                          "seconds": time.perf_counter() - start}), flush=True)


# ------------------------------------------------------------------ report
def run(minutes: float, seed: int, timeout: float, memory_mb: int, out: Path
        ) -> Counter:
    """Workers until ``minutes`` are up; prints and returns the outcomes."""
    end = time.monotonic() + 60 * minutes
    counts, by_door, slowest = Counter(), Counter(), (0.0, None)
    round_ = 0
    while time.monotonic() < end - 1:
        round_ += 1
        seconds = min(60.0, end - time.monotonic())
        lines: queue.Queue = queue.Queue()
        worker = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(seed * 1000 + round_),
             "--seconds", str(seconds)],
            stdout=subprocess.PIPE, text=True, preexec_fn=memory_cap(memory_mb))
        threading.Thread(target=_pump, args=(worker.stdout, lines), daemon=True).start()
        spec = None
        while True:
            try:
                line = lines.get(timeout=timeout)
            except queue.Empty:  # silent for too long: a hang
                worker.kill()
                outcome, detail = "hang", f"no answer in {timeout:g} s"
            else:
                if line is None:  # the worker ended
                    if worker.wait() == 0:
                        break
                    outcome = "crash"
                    detail = f"worker exited with {worker.returncode}"
                else:
                    result = json.loads(line)
                    if "start" in result:
                        spec = result["start"]
                        continue
                    outcome, detail = result["outcome"], result["detail"]
                    slowest = max(slowest, (result["seconds"], spec),
                                  key=lambda s: s[0])
            spec = spec or {"door": "?", "shape": []}  # died between inputs
            counts[outcome] += 1
            by_door[spec["door"], outcome] += 1
            if outcome not in GOOD:
                _report_bad(outcome, detail, spec, out, sum(counts.values()))
            if outcome in ("hang", "crash"):
                worker.wait()
                break
            spec = None
    _summary(counts, by_door, slowest)
    return counts


def _pump(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _report_bad(outcome: str, detail: str, spec: dict, out: Path, number: int
                ) -> None:
    out.mkdir(parents=True, exist_ok=True)
    saved = out / f"{number:06d}-{spec['door']}.json"
    saved.write_text(json.dumps(spec, indent=1))
    print(f"{outcome}: {spec['door']} {detail} (saved as {saved})", flush=True)


def _summary(counts: Counter, by_door: Counter, slowest) -> None:
    print_outcomes(counts, by_door)
    if slowest[1] is not None:
        spec = slowest[1]
        print(f"slowest input: {slowest[0] * 1000:.0f} ms ({spec['door']}, image "
              f"{'x'.join(map(str, spec['shape']))})")
    bad = sum(n for k, n in counts.items() if k not in GOOD)
    print("found nothing wrong" if not bad else f"found {bad:,} bad inputs")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0,
                        help="seconds without an answer before a hang is declared")
    parser.add_argument("--memory", type=int, default=3000,
                        help="address-space cap of a worker, MB")
    parser.add_argument("--out", type=Path, default=Path("fuzz-warp"),
                        help="where inputs that were not ok or refused go")
    parser.add_argument("--replay", type=Path, help="run one saved input")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(args.worker, args.seconds)
        return 0
    if args.replay is not None:
        outcome, detail = run_input(json.loads(args.replay.read_text()))
        print(outcome, detail)
        return 0 if outcome in GOOD else 1
    counts = run(args.minutes, args.seed, args.timeout, args.memory, args.out)
    return 1 if any(k not in GOOD for k in counts) else 0


if __name__ == "__main__":
    sys.exit(main())
