"""Is tracing cheap? Time and peak memory of tracing the book's cats-vs-dogs model.

Run: ``python bench/trace.py [--repeat 5]``

Compares, on one 150x150x3 image with the book's model
(:func:`convsim.experiments.book_models.build_cats_model`: four Conv2D +
MaxPooling2D blocks, Flatten, Dense 512, Dense 1):

* ``model.predict`` of that one image;
* :func:`convsim.trace.trace_model`: every layer called as predict calls it,
  plus the geometry and the padded views the lazy steps point into;
* the same, then reading the middle step of every layer with its arithmetic
  (products, or the cell a pooling window keeps), as a lesson does. The first
  step read from a Conv2D or Dense layer asks the layer for its values before
  the activation (``layer.linear``), once.

Peak memory is measured with ``tracemalloc`` (NumPy reports its allocations to
it), after a warm-up call so Numba compilation is not counted.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from convsim import trace
from convsim.experiments.book_models import build_cats_model


def plain_predict(model, image: np.ndarray) -> np.ndarray:
    return model.predict(image[None], verbose=0)[0]


def traced(model, image: np.ndarray) -> np.ndarray:
    return trace.trace_model(model, image).outputs


def traced_and_read(model, image: np.ndarray) -> np.ndarray:
    stack = trace.trace_model(model, image)
    for layer_trace in stack:
        if len(layer_trace):
            step = layer_trace[len(layer_trace) // 2]
            if isinstance(layer_trace, trace.PoolTrace):
                _ = step.argmax
            else:
                _ = step.products, step.pre_activation_output
    return stack.outputs


def measure(fn, model, image, repeat: int) -> tuple[float, float]:
    """Best wall time (s) over ``repeat`` runs, and peak traced memory (MiB)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(model, image)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn(model, image)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(times), peak / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    model = build_cats_model()
    image = np.random.default_rng(1).random((150, 150, 3), dtype=np.float32)
    plain = plain_predict(model, image)  # warm-up: compiles the kernels
    np.testing.assert_array_equal(traced(model, image), plain)
    first = trace.trace_model(model, image)[0]
    products = len(first) * first.kernel[..., 0].size
    print(f"first layer: {len(first):,} steps, {products:,} products (never "
          f"materialised: as float32 they would take {products * 4 / 2**20:.1f} MiB)")
    print(f"{'':28s}{'time (ms)':>10s}{'peak (MiB)':>12s}")
    for label, fn in (("model.predict", plain_predict),
                      ("trace_model", traced),
                      ("trace_model + read steps", traced_and_read)):
        seconds, peak = measure(fn, model, image, args.repeat)
        print(f"{label:28s}{seconds * 1e3:10.1f}{peak:12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
