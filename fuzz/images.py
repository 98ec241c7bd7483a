"""Fuzz the image loader by hand: ``load_img`` and the listing's check.

    python fuzz/images.py --minutes 5              # as long as you like
    python fuzz/images.py --minutes 1 --seed 7     # another random sequence
    python fuzz/images.py --photos ~/cats_and_dogs_small/train   # your photos

Inputs start from real small pictures: MNIST digits shipped with convsim,
saved in every format ``flow_from_directory`` lists (PNG gray, RGB, RGBA and
palette; JPEG baseline and progressive; BMP; PPM; TIFF raw and LZW), plus up
to 20 photos of ``--photos`` (by default the shared cats-and-dogs training
photos, when ``$CONVSIM_SHARED_DATA`` or ../shared/data holds them). Each
input is one of them with 1 to 16 flipped bits (anywhere, or in the first 128
bytes where the headers are), cut short, with junk appended, with a range of
bytes replaced, or claiming another size (a PNG's IHDR with its checksum
fixed, a JPEG's start-of-frame marker), at the real limits
(``MAX_IMAGE_PIXELS``, ``MAX_IMAGE_BYTES``).

Worker processes (capped at ``--memory`` MB of address space) run, on each
input, ``image_file_problem`` (the check ``flow_from_directory`` makes when it
lists a folder) and ``load_img(path, target_size=(32, 32))``. Outcomes:

* ``loaded``: a 32 x 32 picture came back;
* ``clear``: ``ImageReadError`` (or ``ImageTooLargeError``) naming the file;
* ``unclear``: any other exception from either function, a bug;
* ``hang``: longer than ``--timeout`` seconds;
* ``crash``: the worker died (a segfault, the memory cap).

Two more counts, per kind of input, show how the cheap check compares with
a full decode:
``listing missed`` (the check saw nothing, the loader failed: such a file
would stop training mid-epoch) and ``listing stricter`` (the check found a
damage the decoder does not need, e.g. a bad checksum after the pixels).
The report prints the inputs tried, the outcomes per kind of input, the
slowest input and the largest peak memory, and saves every input that was
not ``loaded`` or ``clear`` in ``--out`` (where the workers' stderr, the
decoders' own complaints, goes too). Exit status 1 if there was any.
``tests/data/test_fuzz_images.py`` runs a bounded hypothesis version in CI.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from pathlib import Path

from common import memory_cap, print_outcomes

GOOD = ("loaded", "clear")
SIZES = (0, 1, 2, 27, 29, 4000, 8000, 65_535, 2**31 - 1, 2**32 - 1)


# ------------------------------------------------------------ the inputs
def digit_pictures() -> dict[str, bytes]:
    """Real MNIST digits in every format and mode a photo folder may hold."""
    import numpy as np
    from PIL import Image

    from convsim.datasets import mnist
    from convsim.datasets.idx import read_idx

    digits = read_idx(mnist.BUNDLED_DIR / "t10k-images-idx3-ubyte.gz")[:3]
    gray = Image.fromarray(digits[0])
    rgb = Image.fromarray(np.stack(digits, axis=-1))
    kinds = [("gray.png", gray, "PNG", {}), ("rgb.png", rgb, "PNG", {}),
             ("rgba.png", rgb.convert("RGBA"), "PNG", {}),
             ("palette.png", rgb.convert("P"), "PNG", {}),
             ("gray.jpg", gray, "JPEG", {}), ("rgb.jpg", rgb, "JPEG", {}),
             ("progressive.jpg", rgb, "JPEG", {"progressive": True}),
             ("rgb.bmp", rgb, "BMP", {}), ("rgb.ppm", rgb, "PPM", {}),
             ("rgb.tif", rgb, "TIFF", {}),
             ("lzw.tif", rgb, "TIFF", {"compression": "tiff_lzw"})]
    saved = {}
    for name, picture, fmt, options in kinds:
        out = io.BytesIO()
        picture.save(out, fmt, **options)
        saved[name] = out.getvalue()
    return saved


def default_photos() -> Path | None:
    shared = os.environ.get("CONVSIM_SHARED_DATA") or str(
        Path(__file__).resolve().parents[2] / "shared" / "data")
    folder = Path(shared) / "cats_and_dogs_small" / "train"
    return folder if folder.is_dir() else None


def seed_files(photos: Path | None) -> dict[str, bytes]:
    seeds = digit_pictures()
    if photos is not None:
        found = sorted(p for p in photos.rglob("*") if p.suffix.lower() in (
            ".jpg", ".jpeg", ".png") and p.is_file())
        for path in found[:: max(1, len(found) // 20)][:20]:
            seeds[f"photo {path.name}"] = path.read_bytes()
    return seeds


def with_size(data: bytes, width: int, height: int) -> bytes:
    """A PNG's IHDR (checksum fixed) or a JPEG's frame claiming this size."""
    out = bytearray(data)
    if data.startswith(b"\x89PNG"):
        out[16:24] = struct.pack(">II", width, height)
        out[29:33] = struct.pack(">I", zlib.crc32(bytes(out[12:29])))
    elif data.startswith(b"\xff\xd8"):
        sof = max(data.find(b"\xff\xc0"), data.find(b"\xff\xc2"))
        if sof > 0:
            out[sof + 5:sof + 9] = struct.pack(">HH", height % 65536, width % 65536)
    return bytes(out)


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes, str]:
    """``(kind, damaged bytes, what was done)``."""
    out, draw = bytearray(data), rng.random()
    if draw < 0.45:
        span = min(len(out), 128) if rng.random() < 0.5 else len(out)
        bits = [rng.randrange(span * 8) for _ in range(rng.randint(1, 16))]
        for bit in bits:
            out[bit // 8] ^= 1 << (bit % 8)
        return "flipped bits", bytes(out), f"flip bits {bits}"
    if draw < 0.65:
        cut = rng.randrange(len(out))
        return "cut short", bytes(out[:cut]), f"cut at {cut}"
    if draw < 0.75:
        extra = rng.randbytes(rng.choice([1, 16, 5000]))
        return "junk appended", bytes(out) + extra, f"{len(extra)} bytes appended"
    if draw < 0.85:
        start = rng.randrange(len(out))
        length = rng.choice([1, 4, 32, 256])
        out[start:start + length] = rng.randbytes(length)
        return "bytes replaced", bytes(out), f"{length} bytes at {start} replaced"
    width = rng.choice(SIZES) if rng.random() < 0.7 else rng.randrange(2**32)
    height = rng.choice(SIZES) if rng.random() < 0.7 else rng.randrange(2**32)
    return "size rewritten", with_size(data, width, height), f"{width} x {height}"


# ------------------------------------------------------------ trying them
def try_one(path: Path) -> dict:
    """The listing's check, then the loader, on one input."""
    from convsim.preprocessing.image_utils import (
        ImageReadError,
        image_file_problem,
        load_img,
    )

    result = {}
    try:
        problem = image_file_problem(path)
    except Exception as err:
        return {"outcome": "unclear", "error": type(err).__name__,
                "message": f"image_file_problem: {str(err)[:300]}"}
    try:
        picture = load_img(path, target_size=(32, 32))
        result["outcome"] = "loaded" if picture.size == (32, 32) else "unclear"
    except ImageReadError as err:
        result.update(outcome="clear", error=type(err).__name__)
    except Exception as err:
        return {"outcome": "unclear", "error": type(err).__name__,
                "message": f"load_img: {str(err)[:300]}"}
    if problem is None and result["outcome"] == "clear":
        result["note"] = "listing missed"
    elif problem is not None and result["outcome"] == "loaded":
        result["note"] = "listing stricter"
    return result


def _worker(seed: int, seconds: float, timeout: float, photos: str) -> None:
    """Try random inputs for ``seconds``; one JSON line each on stdout."""
    import resource
    import signal

    class Hang(BaseException):
        """From the alarm; a BaseException so no ``except Exception`` eats it."""

    def alarm(*_):
        raise Hang

    signal.signal(signal.SIGALRM, alarm)
    rng = random.Random(seed)
    seeds = seed_files(Path(photos) if photos else None)
    end = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as folder:
        while time.monotonic() < end:
            name = rng.choice(sorted(seeds))
            kind, data, what = mutate(seeds[name], rng)
            path = Path(folder) / ("input" + Path(name.split()[-1]).suffix)
            path.write_bytes(data)
            start = time.perf_counter()
            signal.alarm(max(1, int(timeout)))
            try:
                result = try_one(path)
            except Hang:
                result = {"outcome": "hang"}
            finally:
                signal.alarm(0)
            result.update(kind=kind, input=f"{name}: {what}",
                          seconds=time.perf_counter() - start,
                          peak_mb=resource.getrusage(
                              resource.RUSAGE_SELF).ru_maxrss / 1024)
            if result["outcome"] not in GOOD:
                result["hex"] = data.hex()
                result["suffix"] = path.suffix
            print(json.dumps(result), flush=True)


def run(minutes: float, seed: int, timeout: float, memory_mb: int, out: Path,
        photos: Path | None) -> Counter:
    """Workers until ``minutes`` are up; prints and returns the outcomes."""
    end = time.monotonic() + 60 * minutes
    counts, notes, by_kind = Counter(), Counter(), Counter()
    slowest, peak, round_ = (0.0, ""), 0.0, 0
    out.mkdir(parents=True, exist_ok=True)
    log = out / "workers-stderr.log"
    print(f"photos: {photos or 'none (digits only)'}; the decoders' messages "
          f"go to {log}")
    while time.monotonic() < end - 1:
        round_ += 1
        seconds = min(60.0, end - time.monotonic())
        with open(log, "a") as stderr:  # libtiff and Pillow talk a lot
            worker = subprocess.Popen(
                [sys.executable, __file__, "--worker", str(seed * 1000 + round_),
                 "--seconds", str(seconds), "--timeout", str(timeout),
                 "--photos", str(photos or "")],
                stdout=subprocess.PIPE, stderr=stderr, text=True,
                preexec_fn=memory_cap(memory_mb))
        last = None
        for line in worker.stdout:
            result = last = json.loads(line)
            counts[result["outcome"]] += 1
            by_kind[result["kind"], result["outcome"]] += 1
            if "note" in result:
                notes[result["note"], result["kind"]] += 1
            slowest = max(slowest, (result["seconds"], result["input"]))
            peak = max(peak, result["peak_mb"])
            if result["outcome"] not in GOOD:
                _report_bad(result, out, sum(counts.values()))
        if worker.wait() != 0:
            counts["crash"] += 1
            print(f"crash: worker exited with {worker.returncode} after "
                  f"{last and last['input']} (see {log})")
    _summary(counts, notes, by_kind, slowest, peak)
    return counts


def _report_bad(result: dict, out: Path, number: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    saved = out / f"{number:06d}-input{result['suffix']}"
    saved.write_bytes(bytes.fromhex(result.pop("hex")))
    print(f"{result['outcome']}: {result['input']}: {result.get('error', '')} "
          f"{result.get('message', '')} (saved as {saved})")


def _summary(counts: Counter, notes: Counter, by_kind: Counter, slowest,
             peak: float) -> None:
    print_outcomes(counts, by_kind)
    for note in ("listing missed", "listing stricter"):
        total = sum(n for (what, _), n in notes.items() if what == note)
        kinds = ", ".join(f"{kind} {n:,}" for (what, kind), n in sorted(
            notes.items()) if what == note)
        print(f"{note}: {total:,}" + (f" ({kinds})" if kinds else ""))
    print(f"slowest input: {slowest[0] * 1000:.1f} ms ({slowest[1][:120]})")
    print(f"largest peak memory: {peak:.0f} MB (a whole worker process)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds before an input counts as a hang")
    parser.add_argument("--memory", type=int, default=3000,
                        help="address-space cap of a worker, MB")
    parser.add_argument("--photos", type=Path, default=None,
                        help="a folder of real photos to damage too")
    parser.add_argument("--out", type=Path, default=Path("fuzz-images"),
                        help="where inputs that were not loaded or refused go")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(args.worker, args.seconds, args.timeout, str(args.photos or ""))
        return 0
    photos = args.photos or default_photos()
    counts = run(args.minutes, args.seed, args.timeout, args.memory, args.out,
                 photos)
    return 1 if any(k not in GOOD for k in counts) else 0


if __name__ == "__main__":
    sys.exit(main())
