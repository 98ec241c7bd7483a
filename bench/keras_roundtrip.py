"""Move models between convsim and real Keras through ``.keras`` and ``.h5`` files.

    python bench/keras_roundtrip.py --keras-python ~/kvenv/bin/python
    python bench/keras_roundtrip.py --keras-python ~/kvenv/bin/python \\
        --keras-backend torch --keras2-python ~/tf2/bin/python

Keras runs in its own interpreter (``--keras-python``: any Python with Keras 3
and h5py, e.g. ``pip install keras torch h5py`` with ``--keras-backend torch``),
which runs this same file with ``--worker`` and never imports convsim; convsim's
environment never needs Keras. ``--keras2-python`` (optional) is a Python with
Keras 2 (TensorFlow and ``tf_keras``, or TensorFlow 2.13 to 2.15 alone), whose
loader reads the ``.h5`` files.

Three directions, each printed as a table:

1. **convsim -> Keras**: convsim trains the book's MNIST convnet briefly on the
   bundled MNIST sample and saves it as ``.keras`` and ``.h5``; Keras loads
   each file and predicts. Printed: whether Keras loads it, the largest
   difference between Keras's and convsim's predictions, and whether the
   weights Keras read are convsim's bit for bit.
2. **convsim -> Keras -> convsim**: Keras saves what it loaded again (its own
   ``.keras`` and ``.h5``) and convsim reads those: every weight must come
   back bit-identical.
3. **Keras -> convsim -> Keras**: convsim reads each file in
   ``tests/fixtures/keras/`` (written by Keras 3), saves it again as
   ``.keras`` and ``.h5``, and Keras loads convsim's files: its predictions
   must equal those it made on its own files (``predictions.npz``) and its
   weights the ones it saved (``manifest.json``).

Exits 1 if anything failed to load or did not match.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "keras"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--keras-python", metavar="PYTHON",
                   help="interpreter with Keras 3 and h5py")
    p.add_argument("--keras-backend", default=None, metavar="NAME",
                   help="KERAS_BACKEND for it (default: its environment's)")
    p.add_argument("--keras2-python", default=None, metavar="PYTHON",
                   help="interpreter with TensorFlow and tf_keras (Keras 2), "
                        "to load the .h5 files too")
    p.add_argument("--images", type=int, default=2000,
                   help="training images for convsim's MNIST run (default 2000)")
    p.add_argument("--probes", type=int, default=256,
                   help="test images both frameworks predict (default 256)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--worker", metavar="JOB", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.worker and not args.keras_python:
        p.error("--keras-python is required")
    return args


def bits(array) -> bytes:
    return np.ascontiguousarray(array, "<f4").tobytes()


def sha256(array) -> str:
    return hashlib.sha256(bits(array)).hexdigest()


# ---------------------------------------------------------------- Keras's side
def worker(job_path: str) -> int:
    """Run by the Keras interpreter: load each file, predict, keep the weights,
    save again if asked. Prints one JSON line; arrays go to ``job['out']``."""
    job = json.loads(Path(job_path).read_text())
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if job["keras2"]:
        try:
            import tf_keras as keras
        except ImportError:  # TensorFlow <= 2.15 installs Keras 2 as ``keras``
            import keras
    else:
        import keras
    data = np.load(job["inputs"])
    arrays, items = {}, []
    for i, item in enumerate(job["items"]):
        report = {"path": item["path"], "ok": False}
        try:
            model = keras.models.load_model(item["path"])
            result = model.predict(data[item["x"]], verbose=0)
            result = result if isinstance(result, list) else [result]
            for j, r in enumerate(result):
                arrays[f"{i}/y{j}"] = np.asarray(r, np.float32)
            for k, w in enumerate(model.get_weights()):
                arrays[f"{i}/w{k}"] = np.asarray(w)
            report.update(ok=True, outputs=len(result),
                          weights=len(model.get_weights()), resaved=[])
            for target in item.get("resave", []):
                model.save(target)
                report["resaved"].append(target)
        except Exception as err:  # reported, not raised: the table shows it
            report["error"] = f"{type(err).__name__}: {str(err)[:300]}"
        items.append(report)
    np.savez(job["out"], **arrays)
    backend = "tensorflow" if job["keras2"] else keras.backend.backend()
    print(json.dumps({"keras": keras.__version__, "backend": backend,
                      "module": keras.__name__, "items": items}))
    return 0


def run_keras(python, backend, keras2, items, inputs, tmp: Path):
    """Runs :func:`worker` in ``python``; returns (its JSON, its arrays)."""
    tag = "keras2" if keras2 else "keras"
    job = {"keras2": keras2, "inputs": str(inputs), "items": items,
           "out": str(tmp / f"{tag}_out.npz")}
    job_path = tmp / f"{tag}_job.json"
    job_path.write_text(json.dumps(job))
    env = dict(os.environ)
    if backend and not keras2:
        env["KERAS_BACKEND"] = backend
    if keras2:
        env["TF_USE_LEGACY_KERAS"] = "1"
    result = subprocess.run([python, str(Path(__file__).resolve()), "--worker",
                             str(job_path)], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise SystemExit(f"the Keras worker failed ({python}):\n"
                         f"{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1]), np.load(job["out"])


# ---------------------------------------------------------------- convsim's side
def train_convsim_mnist(args):
    """The book's MNIST convnet, trained for one epoch on ``--images`` images."""
    from convsim import utils
    from convsim.datasets import mnist
    from convsim.experiments.book_models import build_mnist_model

    (x, y), (xt, _) = mnist.load_data(mnist.BUNDLED_DIR)
    x = x[:args.images].reshape(-1, 28, 28, 1).astype(np.float32) / 255
    y = utils.to_categorical(y[:args.images], 10)
    probes = xt[:args.probes].reshape(-1, 28, 28, 1).astype(np.float32) / 255
    utils.set_random_seed(args.seed)
    model = build_mnist_model()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=64, epochs=1, verbose=0)
    print(f"convsim trained the book's MNIST convnet: {len(x):,} images, 1 epoch, "
          f"{time.perf_counter() - start:.1f} s, accuracy "
          f"{history.history['accuracy'][-1]:.3f}")
    return model, probes


def convsim_outputs(model, x) -> list[np.ndarray]:
    result = model.predict(x, verbose=0)
    return list(result) if isinstance(result, (list, tuple)) else [result]


def weights_match(reference: list, theirs, i: int) -> str:
    """'yes (n/n)' when ``theirs`` holds exactly ``reference``'s float32 bits."""
    found = [theirs[f"{i}/w{k}"] for k in range(len(reference))
             if f"{i}/w{k}" in theirs.files]
    same = sum(a.shape == np.shape(b) and bits(a) == bits(b)
               for a, b in zip(found, reference, strict=False))
    ok = len(found) == len(reference) == same
    return f"{'yes' if ok else 'NO'} ({same}/{len(reference)})"


def hashes_match(hashes: list, theirs, i: int, count: int) -> str:
    """'yes (n/n)' when the weights Keras read have the SHA-256 ``hashes``."""
    found = [sha256(theirs[f"{i}/w{k}"]) for k in range(count)]
    same = sum(a == b for a, b in zip(found, hashes, strict=False))
    ok = len(found) == len(hashes) == same
    return f"{'yes' if ok else 'NO'} ({same}/{len(hashes)})"


def largest_difference(ours: list, theirs, i: int) -> str:
    keys = [f"{i}/y{j}" for j in range(len(ours))]
    if not all(k in theirs.files for k in keys):
        return "no outputs"
    diffs = [float(np.max(np.abs(theirs[k] - o))) for k, o in zip(keys, ours,
                                                                  strict=True)]
    return f"{max(diffs):.3g}"


def row(*cells, widths=(34, 7, 24, 24)):
    print("  ".join(f"{c:<{w}}" for c, w in zip(cells, widths, strict=False)))


def failure(report) -> str:
    return "no: " + report.get("error", "?")[:200]


# ---------------------------------------------------------------- the directions
def convsim_to_keras(args, tmp: Path, arrays: dict) -> tuple[list, list]:
    """Direction 1's files and what convsim knows about them."""
    model, probes = train_convsim_mnist(args)
    arrays["mnist"] = probes
    cases = []
    for suffix in (".keras", ".h5"):
        path = tmp / f"convsim_mnist{suffix}"
        model.save(path)
        resave = [str(tmp / f"keras_resaved_from{suffix.replace('.', '_')}{s}")
                  for s in (".keras", ".h5")]
        cases.append({"path": str(path), "x": "mnist", "resave": resave,
                      "weights": [np.array(w.value) for w in model.weights],
                      "outputs": convsim_outputs(model, probes)})
    return cases


def keras_to_convsim_to_keras(tmp: Path, arrays: dict) -> list:
    """Direction 3's files: each fixture read and written again by convsim."""
    from convsim import models

    expected = np.load(FIXTURES / "predictions.npz")
    manifest = json.loads((FIXTURES / "manifest.json").read_text())["files"]
    cases = []
    for name in sorted(manifest):
        arrays[name] = expected[f"{name}/x"]
        keys = ([f"{name}/y"] if f"{name}/y" in expected.files else
                [f"{name}/y{j}" for j in range(10) if f"{name}/y{j}" in expected.files])
        keras_outputs = [expected[k] for k in keys]
        case = {"fixture": name, "x": name, "outputs": keras_outputs,
                "hashes": [w["sha256"] for w in manifest[name]["weights"]]}
        try:
            model = models.load_model(FIXTURES / name)
        except Exception as err:
            case["error"] = f"convsim cannot read it: {type(err).__name__}: {err}"
            cases.append(case)
            continue
        for suffix in (".keras", ".h5"):
            path = tmp / f"convsim_{Path(name).stem}_{Path(name).suffix[1:]}{suffix}"
            model.save(path)
            cases.append({**case, "path": str(path)})
    return cases


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args.worker)
    failed = False
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        arrays = {}
        forward = convsim_to_keras(args, tmp, arrays)
        reverse = keras_to_convsim_to_keras(tmp, arrays)
        inputs = tmp / "inputs.npz"
        np.savez(inputs, **arrays)
        runnable = [c for c in reverse if "path" in c]
        items = [{"path": c["path"], "x": c["x"], "resave": c.get("resave", [])}
                 for c in forward + runnable]
        info, theirs = run_keras(args.keras_python, args.keras_backend, False,
                                 items, inputs, tmp)
        print(f"\n1. convsim -> Keras {info['keras']} ({info['backend']}): "
              "Keras loads convsim's files and predicts")
        row("file", "loads", "max |keras - convsim|", "weights bit-identical")
        for i, (case, report) in enumerate(zip(forward, info["items"],
                                               strict=False)):
            name = Path(case["path"]).name
            if not report["ok"]:
                failed = True
                row(name, failure(report))
                continue
            match = weights_match(case["weights"], theirs, i)
            failed |= not match.startswith("yes")
            row(name, "yes", largest_difference(case["outputs"], theirs, i), match)

        print("\n2. convsim -> Keras -> convsim: convsim reads the files Keras "
              "saved again")
        row("file", "loads", "", "weights bit-identical")
        from convsim import models

        for case, report in zip(forward, info["items"], strict=False):
            for path in report.get("resaved", []) if report["ok"] else []:
                try:
                    back = models.load_model(path)
                except Exception as err:
                    failed = True
                    row(Path(path).name, f"no: {type(err).__name__}: {err}"[:200])
                    continue
                same = sum(bits(a.value) == bits(b) for a, b in
                           zip(back.weights, case["weights"], strict=False))
                ok = same == len(case["weights"]) == len(back.weights)
                failed |= not ok
                row(Path(path).name, "yes", "",
                    f"{'yes' if ok else 'NO'} ({same}/{len(case['weights'])})")
            if not report["ok"]:
                row(Path(case["path"]).name, "skipped: Keras could not load it")

        print("\n3. Keras -> convsim -> Keras: Keras loads convsim's copies of "
              "its own files (tests/fixtures/keras)")
        row("fixture -> convsim's copy", "loads", "max |copy - original|",
            "weights = Keras's")
        offset = len(forward)
        for case in reverse:
            label = f"{case['fixture']} -> {Path(case.get('path', '?')).suffix}"
            if "error" in case:
                failed = True
                row(case["fixture"], "no", case["error"][:160])
                continue
            i = offset + runnable.index(case)
            report = info["items"][i]
            if not report["ok"]:
                failed = True
                row(label, failure(report))
                continue
            match = hashes_match(case["hashes"], theirs, i, report["weights"])
            failed |= not match.startswith("yes")
            row(label, "yes", largest_difference(case["outputs"], theirs, i), match)

        if any(c["fixture"].startswith("keras2_") for c in reverse):
            print("   (the keras2_* originals were predicted by Keras 2 on TensorFlow, "
                  "their copies here by Keras 3: float32 rounding apart)")

        if args.keras2_python:
            failed |= keras2(args, forward, runnable, inputs, tmp)
    print("\nall loaded and matched" if not failed else "\nSOMETHING FAILED (above)")
    return 1 if failed else 0


def keras2(args, forward, runnable, inputs, tmp) -> bool:
    """The ``.h5`` files convsim wrote, loaded by Keras 2 (tf_keras)."""
    cases = [c for c in forward + runnable if c["path"].endswith(".h5")]
    items = [{"path": c["path"], "x": c["x"]} for c in cases]
    info, theirs = run_keras(args.keras2_python, None, True, items, inputs, tmp)
    print(f"\n4. convsim's .h5 files -> Keras 2 ({info['keras']}, "
          f"{info.get('module', 'keras')}, {info['backend']})")
    row("file", "loads", "max |keras 2 - expected|", "weights bit-identical")
    failed = False
    for i, (case, report) in enumerate(zip(cases, info["items"], strict=True)):
        name = Path(case["path"]).name
        if not report["ok"]:
            failed = True
            row(name, failure(report))
            continue
        if "weights" in case:
            match = weights_match(case["weights"], theirs, i)
        else:
            match = hashes_match(case["hashes"], theirs, i, report["weights"])
        failed |= not match.startswith("yes")
        row(name, "yes", largest_difference(case["outputs"], theirs, i), match)
    return failed


if __name__ == "__main__":
    sys.exit(main())
