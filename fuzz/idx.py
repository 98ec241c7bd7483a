"""Fuzz the MNIST file readers by hand: ``read_idx`` and ``read_npz``.

    python fuzz/idx.py --minutes 5              # as long as you like
    python fuzz/idx.py --minutes 1 --seed 7     # another random sequence

Inputs start from real small files, the first 50 test digits and labels of the
MNIST sample shipped with convsim, written as raw IDX, gzipped IDX and a
Keras-style ``mnist.npz`` (stored and deflated). Each input is one of:

* a random IDX header: type code, dimension count and sizes drawn from edge
  values (0, 1, 2**16, 2**31, 2**32 - 1, ...), with a body of a random length
  (or exactly the promised one), raw or gzipped;
* a random ``.npz``: NumPy headers claiming random shapes and dtypes;
* a real file with 1 to 8 flipped bits (for a gzip file, in the compressed
  bytes or in the IDX bytes before compressing again), cut short, or with
  bytes appended.

Worker processes (capped at ``--memory`` MB of address space) read the inputs
until the time is up; each read ends in one of these outcomes:

* ``read``: an array came back, within ``MAX_IDX_BYTES`` and writable;
* ``clear``: a :class:`convsim.datasets.errors.DatasetError` (the documented
  error, ``DatasetTooLargeError`` included);
* ``unclear``: any other exception, a bug;
* ``wrong``: an array came back that breaks the reader's promises;
* ``hang``: the read took longer than ``--timeout`` seconds;
* ``crash``: the worker died (a segfault, the memory cap).

The report prints the inputs tried, each outcome's count per kind of input,
the slowest read and the largest peak memory, and saves every input that was
not ``read`` or ``clear`` in ``--out`` to reproduce it. The exit status is 1
when there was any. ``tests/data/test_fuzz_files.py`` runs a bounded
hypothesis version of the same mutations in CI.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import random
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from common import memory_cap, print_outcomes

GOOD = ("read", "clear")
#: Sizes at the edges: empty, one, MNIST's, powers of two around int32/uint32.
EDGE_SIZES = (0, 1, 2, 3, 28, 255, 256, 10_000, 60_000, 65_535, 65_536, 2**24,
              2**31 - 1, 2**31, 2**32 - 1)


# ------------------------------------------------------------ the inputs
def idx_bytes(code: int, shape, payload: bytes, ndim: int | None = None) -> bytes:
    """IDX bytes by hand: magic, type code, dimension count, sizes, values."""
    header = bytes([0, 0, code, len(shape) if ndim is None else ndim])
    return header + b"".join(struct.pack(">I", d) for d in shape) + payload


def npy_bytes(descr, shape, payload: bytes) -> bytes:
    """An NPY 1.0 file claiming ``descr`` and ``shape`` (anything at all)."""
    text = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text + payload


def zipped(members: dict[str, bytes], method=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def seed_files() -> dict[str, bytes]:
    """Real small files: 50 MNIST test digits and their labels."""
    from convsim.datasets import mnist
    from convsim.datasets.idx import read_idx

    images = read_idx(mnist.BUNDLED_DIR / "t10k-images-idx3-ubyte.gz")[:50]
    labels = read_idx(mnist.BUNDLED_DIR / "t10k-labels-idx1-ubyte.gz")[:50]
    raw_images = idx_bytes(8, images.shape, images.tobytes())
    raw_labels = idx_bytes(8, labels.shape, labels.tobytes())
    arrays = {"x_train.npy": npy_bytes("|u1", images.shape, images.tobytes()),
              "y_train.npy": npy_bytes("|u1", labels.shape, labels.tobytes()),
              "x_test.npy": npy_bytes("|u1", images[:5].shape, images[:5].tobytes()),
              "y_test.npy": npy_bytes("|u1", labels[:5].shape, labels[:5].tobytes())}
    return {"images.idx": raw_images, "labels.idx": raw_labels,
            "images.idx.gz": gzip.compress(raw_images, mtime=0),
            "labels.idx.gz": gzip.compress(raw_labels, mtime=0),
            "stored.npz": zipped(arrays, zipfile.ZIP_STORED),
            "deflated.npz": zipped(arrays)}


def _size(rng: random.Random) -> int:
    return rng.choice(EDGE_SIZES) if rng.random() < 0.7 else rng.randrange(2**32)


def random_idx(rng: random.Random) -> tuple[bytes, str]:
    """A random IDX header and body, raw or gzipped."""
    code = rng.choice([8, 9, 0x0B, 0x0C, 0x0D, 0x0E, rng.randrange(256)])
    ndim = rng.choice([0, 1, 2, 3, 4, 32, 33, rng.randrange(256)])
    shape = [_size(rng) for _ in range(rng.choice([ndim, ndim, rng.randrange(256)]))]
    promised = 1
    for d in shape:
        promised *= d
    length = (promised if promised < 100_000 and rng.random() < 0.5
              else rng.choice([0, 1, 10, 1000]))
    data = idx_bytes(code, shape, rng.randbytes(length), ndim)
    if rng.random() < 0.1:
        data = bytes([rng.randrange(256), rng.randrange(256)]) + data[2:]
    if rng.random() < 0.5:
        return gzip.compress(data, mtime=0), f"random IDX header {data[:12].hex()} gz"
    return data, f"random IDX header {data[:12].hex()}"


def random_npz(rng: random.Random) -> tuple[bytes, str]:
    """An .npz whose four arrays have random NumPy headers."""
    members = {}
    for name in ("x_train", "y_train", "x_test", "y_test"):
        descr = rng.choice(["|u1", "|u1", "<f4", "|O", "<u2", "|b1", [("a", "|u1")]])
        shape = tuple(_size(rng) for _ in range(rng.choice([0, 1, 3, 3, 40])))
        members[name + ".npy"] = npy_bytes(descr, shape, rng.randbytes(
            rng.choice([0, 10, 784])))
    method = rng.choice([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED])
    return zipped(members, method), "random .npz headers"


def mutate(data: bytes, rng: random.Random) -> tuple[bytes, str]:
    """1-8 flipped bits, a cut, or appended bytes (for gzip: maybe inside)."""
    if data[:2] == b"\x1f\x8b" and rng.random() < 0.5:
        inner, what = mutate(gzip.decompress(data), rng)
        return gzip.compress(inner, mtime=0), f"{what} before gzip"
    out, what = bytearray(data), []
    choice = rng.random()
    if choice < 0.7:
        for _ in range(rng.randint(1, 8)):
            bit = rng.randrange(min(len(out) * 8, rng.choice([256, len(out) * 8])))
            out[bit // 8] ^= 1 << (bit % 8)
            what.append(f"flip bit {bit}")
    elif choice < 0.9:
        cut = rng.randrange(len(out))
        del out[cut:]
        what.append(f"cut at {cut}")
    else:
        extra = rng.choice([1, 7, 1000])
        out += rng.randbytes(extra)
        what.append(f"{extra} bytes appended")
    return bytes(out), ", ".join(what)


def make_input(seeds: dict[str, bytes], rng: random.Random
               ) -> tuple[str, bytes, str, str]:
    """``(kind, bytes, description, reader)`` of one random input."""
    draw = rng.random()
    if draw < 0.25:
        data, what = random_idx(rng)
        return "random IDX header", data, what, "idx"
    if draw < 0.35:
        data, what = random_npz(rng)
        return "random .npz", data, what, "npz"
    name = rng.choice(sorted(seeds))
    data, what = mutate(seeds[name], rng)
    reader = "npz" if name.endswith(".npz") else "idx"
    return f"damaged {name}", data, f"{name}: {what}", reader


# ------------------------------------------------------------ reading them
def read(path: Path, reader: str) -> str:
    """Read one input; its outcome ('read', 'wrong: ...'); exceptions escape."""
    from convsim.datasets.dataset_files import STANDARD_FILES
    from convsim.datasets.idx import MAX_IDX_BYTES, read_idx
    from convsim.datasets.npz import read_npz

    if reader == "idx":
        arrays = [read_idx(path)]
    else:
        arrays = list(read_npz(path, list(STANDARD_FILES)).values())
    for array in arrays:
        if array.nbytes > MAX_IDX_BYTES or not array.flags.writeable:
            return f"wrong: {array.shape} {array.dtype} writeable " \
                   f"{array.flags.writeable}"
    return "read"


def _worker(seed: int, seconds: float, timeout: float) -> None:
    """Read random inputs for ``seconds``; one JSON line each on stdout."""
    import resource
    import signal

    from convsim.datasets.errors import DatasetError

    class Hang(BaseException):
        """From the alarm; a BaseException so no ``except Exception`` eats it."""

    def alarm(*_):
        raise Hang

    signal.signal(signal.SIGALRM, alarm)
    rng = random.Random(seed)
    seeds = seed_files()
    end = time.monotonic() + seconds
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "input"
        while time.monotonic() < end:
            kind, data, what, reader = make_input(seeds, rng)
            path.write_bytes(data)
            result = {"kind": kind, "input": what}
            start = time.perf_counter()
            signal.alarm(max(1, int(timeout)))
            try:
                outcome = read(path, reader)
                result["outcome"] = "wrong" if outcome.startswith("wrong") else outcome
                result["message"] = outcome
            except Hang:
                result["outcome"] = "hang"
            except DatasetError as err:
                result.update(outcome="clear", error=type(err).__name__)
            except Exception as err:
                result.update(outcome="unclear", error=type(err).__name__,
                              message=str(err)[:300])
            finally:
                signal.alarm(0)
            result["seconds"] = time.perf_counter() - start
            result["peak_mb"] = resource.getrusage(
                resource.RUSAGE_SELF).ru_maxrss / 1024
            if result["outcome"] not in GOOD:
                result["hex"] = data.hex()
                result["reader"] = reader
            print(json.dumps(result), flush=True)


def run(minutes: float, seed: int, timeout: float, memory_mb: int, out: Path
        ) -> Counter:
    """Workers until ``minutes`` are up; prints and returns the outcomes."""
    end = time.monotonic() + 60 * minutes
    counts, by_kind, slowest, peak = Counter(), Counter(), (0.0, ""), 0.0
    round_ = 0
    while time.monotonic() < end - 1:
        round_ += 1
        seconds = min(60.0, end - time.monotonic())
        worker = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(seed * 1000 + round_),
             "--seconds", str(seconds), "--timeout", str(timeout)],
            stdout=subprocess.PIPE, text=True, preexec_fn=memory_cap(memory_mb))
        last = None
        for line in worker.stdout:
            result = json.loads(line)
            last = result
            counts[result["outcome"]] += 1
            by_kind[result["kind"], result["outcome"]] += 1
            slowest = max(slowest, (result["seconds"], result["input"]))
            peak = max(peak, result["peak_mb"])
            if result["outcome"] not in GOOD:
                _report_bad(result, out, sum(counts.values()))
        if worker.wait() != 0:
            counts["crash"] += 1
            print(f"crash: worker exited with {worker.returncode} after "
                  f"{last and last['input']}")
    _summary(counts, by_kind, slowest, peak)
    return counts


def _report_bad(result: dict, out: Path, number: int) -> None:
    out.mkdir(parents=True, exist_ok=True)
    saved = out / f"{number:06d}-{result['reader']}-input"
    saved.write_bytes(bytes.fromhex(result.pop("hex")))
    print(f"{result['outcome']}: {result['input']}: {result.get('error', '')} "
          f"{result.get('message', '')} (saved as {saved})")


def _summary(counts: Counter, by_kind: Counter, slowest, peak: float) -> None:
    print_outcomes(counts, by_kind)
    print(f"slowest read: {slowest[0] * 1000:.1f} ms ({slowest[1]})")
    print(f"largest peak memory: {peak:.0f} MB (a whole worker process)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds before a read counts as a hang")
    parser.add_argument("--memory", type=int, default=3000,
                        help="address-space cap of a worker, MB")
    parser.add_argument("--out", type=Path, default=Path("fuzz-idx"),
                        help="where inputs that were not read or refused go")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        _worker(args.worker, args.seconds, args.timeout)
        return 0
    counts = run(args.minutes, args.seed, args.timeout, args.memory, args.out)
    return 1 if any(k not in GOOD for k in counts) else 0


if __name__ == "__main__":
    sys.exit(main())
