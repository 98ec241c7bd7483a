"""Is tracing cheap? Time and peak memory of tracing the book's cats-vs-dogs stack.

Run: ``python bench/trace.py [--repeat 5]``

Compares, on one 150x150x3 image with the seed model's convolutional base
(Conv2D 32 -> MaxPool -> Conv2D 64 -> MaxPool -> Conv2D 128 -> MaxPool ->
Conv2D 128 -> MaxPool, relu, 3x3, 2x2):

* the plain forward pass: ``ops.conv`` + ``ops.relu`` + ``ops.max_pool``;
* :func:`convsim.trace.trace_stack` (same kernels, plus the padded views the
  lazy steps point into);
* reading one step of every layer and its products (what a lesson does).

Peak memory is measured with ``tracemalloc`` (NumPy reports its allocations to
it), after a warm-up call so Numba compilation is not counted.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np

from convsim import ops, trace

FILTERS = (32, 64, 128, 128)
IMAGE_SHAPE = (150, 150, 3)


def build_stack(seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    specs, channels = [], IMAGE_SHAPE[2]
    for filters in FILTERS:
        spec = trace.Conv2DSpec(filters, 3, activation="relu")
        specs.append(spec.with_weights((1, 1, channels), rng))
        specs.append(trace.Pool2DSpec(2))
        channels = filters
    return specs


def plain_forward(image: np.ndarray, specs: list) -> np.ndarray:
    x = image[None]
    for spec in specs:
        if isinstance(spec, trace.Conv2DSpec):
            x = ops.relu(ops.conv(x, spec.kernel, bias=spec.bias))
        else:
            x = ops.max_pool(x, spec.pool_size)
    return x[0]


def traced_forward(image: np.ndarray, specs: list) -> np.ndarray:
    return trace.trace_stack(image, specs).outputs


def traced_and_read(image: np.ndarray, specs: list) -> np.ndarray:
    stack = trace.trace_stack(image, specs)
    for layer in stack:
        step = layer[len(layer) // 2]
        _ = step.products if isinstance(layer, trace.ConvTrace) else step.argmax
    return stack.outputs


def measure(fn, image, specs, repeat: int) -> tuple[float, float]:
    """Best wall time (s) over ``repeat`` runs, and peak traced memory (MiB)."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(image, specs)
        times.append(time.perf_counter() - start)
    tracemalloc.start()
    fn(image, specs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return min(times), peak / 2**20


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    image = np.random.default_rng(1).random(IMAGE_SHAPE, dtype=np.float32)
    specs = build_stack()
    plain = plain_forward(image, specs)  # warm-up: compiles the kernels
    traced = traced_forward(image, specs)
    np.testing.assert_allclose(traced, plain, rtol=1e-6, atol=1e-6)
    first = trace.trace_stack(image, specs)[0]
    products = len(first) * first.kernel[..., 0].size
    print(f"first layer: {len(first):,} steps, {products:,} products (never "
          f"materialised: as float32 they would take {products * 4 / 2**20:.1f} MiB)")
    print(f"{'':28s}{'time (ms)':>10s}{'peak (MiB)':>12s}")
    for label, fn in (("plain forward (ops)", plain_forward),
                      ("trace_stack", traced_forward),
                      ("trace_stack + read steps", traced_and_read)):
        seconds, peak = measure(fn, image, specs, args.repeat)
        print(f"{label:28s}{seconds * 1e3:10.1f}{peak:12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
