"""Time convsim's conv and pooling kernels on the book's two convnets, against PyTorch.

    python bench/kernels.py              # both models, auto conv path
    python bench/kernels.py --paths      # also time each conv path: direct vs im2col
    python bench/kernels.py --repeats 10 --model mnist

For every conv/pool layer of the book's MNIST convnet (batch 64) and cats-vs-dogs
convnet (150x150x3, batch 20) it prints the forward and backward time per batch
(median of --repeats runs, after a warm-up that also compiles the kernels), the
same op in PyTorch when it is installed, and the ratio convsim / PyTorch
(above 1 means convsim is slower). Both are measured in the same run because
these machines are noisy; only the ratios are comparable across runs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from convsim import ops
from convsim.kernels import conv as conv_kernels
from convsim.kernels import patches
from convsim.runtime.blas import one_blas_thread
from convsim.runtime.tasks import thread_count

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # PyTorch is an optional reference
    torch = None

# (name, batch, height, width, channels, layer list); layers: ("conv", filters) or
# ("pool", 2). All convs are 3x3 'valid' stride 1, all pools 2x2 stride 2, as in
# the notes.
MODELS = {
    "mnist": (
        64,
        28,
        28,
        1,
        [("conv", 32), ("pool", 2), ("conv", 64), ("pool", 2), ("conv", 64)],
    ),
    "cats-vs-dogs": (
        20,
        150,
        150,
        3,
        [
            ("conv", 32),
            ("pool", 2),
            ("conv", 64),
            ("pool", 2),
            ("conv", 128),
            ("pool", 2),
            ("conv", 128),
            ("pool", 2),
        ],
    ),
}


def median_ms(fn, repeats: int) -> float:
    fn()  # warm-up (and compile on the very first call)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def conv_case(x, kernel, bias, repeats):
    y = ops.conv(x, kernel, bias=bias)
    dy = np.random.default_rng(1).standard_normal(y.shape).astype(np.float32)
    ours = (
        median_ms(lambda: ops.conv(x, kernel, bias=bias), repeats),
        median_ms(lambda: ops.conv_backward(x, kernel, dy), repeats),
    )
    if torch is None:
        return ours, None
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    wt = torch.from_numpy(kernel).permute(3, 2, 0, 1).contiguous()
    bt, dyt = (
        torch.from_numpy(bias),
        torch.from_numpy(dy).permute(0, 3, 1, 2).contiguous(),
    )

    def backward():
        return torch.ops.aten.convolution_backward(
            dyt,
            xt,
            wt,
            [bt.shape[0]],
            [1, 1],
            [0, 0],
            [1, 1],
            False,
            [0, 0],
            1,
            [True, True, True],
        )

    with torch.no_grad():
        theirs = (
            median_ms(lambda: F.conv2d(xt, wt, bt), repeats),
            median_ms(backward, repeats),
        )
    return ours, theirs


def pool_case(x, size, repeats):
    y, argmax = ops.max_pool_with_argmax(x, size)
    dy = np.ones_like(y)
    ours = (
        median_ms(lambda: ops.max_pool_with_argmax(x, size), repeats),
        median_ms(lambda: ops.max_pool_backward(x, dy, size, argmax=argmax), repeats),
    )
    if torch is None:
        return ours, None
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    yt, idx = F.max_pool2d(xt, size, return_indices=True)
    dyt = torch.ones_like(yt)

    def backward():
        return torch.ops.aten.max_pool2d_with_indices_backward(
            dyt, xt, [size, size], [size, size], [0, 0], [1, 1], False, idx
        )

    with torch.no_grad():
        theirs = (
            median_ms(lambda: F.max_pool2d(xt, size, return_indices=True), repeats),
            median_ms(backward, repeats),
        )
    return ours, theirs


def bench_model(name, repeats, console, paths):
    batch, h, w, c, layers = MODELS[name]
    rng = np.random.default_rng(0)
    x = rng.random((batch, h, w, c), dtype=np.float32)
    table = Table(title=f"{name}: batch {batch}, input {h}x{w}x{c} (ms per batch)")
    columns = [
        "layer",
        "input",
        "ours fwd",
        "torch fwd",
        "ratio",
        "ours bwd",
        "torch bwd",
        "ratio",
    ]
    if paths:
        columns += ["direct fwd", "im2col fwd", "direct dK", "im2col dK"]
    for col in columns:
        table.add_column(col, justify="right", no_wrap=True)
    for kind, arg in layers:
        shape = "x".join(map(str, x.shape[1:]))
        if kind == "conv":
            kernel = (rng.standard_normal((3, 3, x.shape[3], arg)) * 0.1).astype(
                np.float32
            )
            bias = np.zeros(arg, np.float32)
            ours, theirs = conv_case(x, kernel, bias, repeats)
            label = f"conv {arg} 3x3"
            extra = path_times(x, kernel, bias, repeats) if paths else ()
            x = ops.relu(ops.conv(x, kernel, bias=bias))
        else:
            ours, theirs = pool_case(x, arg, repeats)
            label = f"maxpool {arg}x{arg}"
            extra = ("",) * 4 if paths else ()
            x = ops.max_pool(x, arg)
        row = [label, shape, f"{ours[0]:.2f}"]
        row += _theirs(ours[0], theirs and theirs[0]) + [f"{ours[1]:.2f}"]
        row += _theirs(ours[1], theirs and theirs[1])
        row += [e if isinstance(e, str) else f"{e:.2f}" for e in extra]
        table.add_row(*row)
    console.print(table)


def path_times(x, kernel, bias, repeats):
    """Forward and dL/dkernel times of each conv path, each function called
    directly: the direct loops (conv._conv2d_direct, conv._kernel_grad_direct)
    and im2col + BLAS (patches.conv2d_im2col, patches.conv2d_backward_im2col),
    to justify conv.DIRECT_MAX_PATCH. As in training, dL/dkernel is timed
    without dL/dx (the first layer's case: the direct loop's use)."""
    geo = ops.conv_geometry(x.shape, kernel.shape[:2])
    out_hw = (geo.out_h, geo.out_w)
    kh, kw, _, filters = kernel.shape
    geometry = (kh, kw, 1, 1, 1, 1, 0, 0, *out_hw)  # stride, dilation 1; 'valid'
    dy = np.random.default_rng(2).standard_normal(
        (x.shape[0], *out_hw, filters)).astype(np.float32)
    shares = max(1, min(x.shape[0], thread_count()))

    def direct():
        conv_kernels._conv2d_direct(x, kernel, bias, 1, 1, 1, 1, 0, 0, *out_hw, False)

    def direct_dk():
        conv_kernels._kernel_grad_direct(x, dy, kh, kw, 1, 1, 1, 1, 0, 0, shares)

    @one_blas_thread()  # as in training (see convsim.runtime.blas)
    def im2col():
        patches.conv2d_im2col(x, kernel, bias, geometry)

    @one_blas_thread()
    def im2col_dk():
        patches.conv2d_backward_im2col(x, kernel, dy, geometry, input_grad=False,
                                       kernel_grad=True)

    return (median_ms(direct, repeats), median_ms(im2col, repeats),
            median_ms(direct_dk, repeats), median_ms(im2col_dk, repeats))


def _theirs(ours, theirs):
    if theirs is None:
        return ["-", "-"]
    return [f"{theirs:.2f}", f"{ours / theirs:.2f}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=[*MODELS, "all"], default="all")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--paths",
        action="store_true",
        help="also time the direct loop and im2col+BLAS conv paths",
    )
    args = parser.parse_args(argv)
    console = Console(width=150)  # the tables are wide; fine in a log file
    if torch is None:
        console.print("PyTorch not installed: printing convsim times only.")
    else:
        console.print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    start = time.perf_counter()
    ops.conv(np.zeros((1, 3, 3, 1), np.float32), np.zeros((3, 3, 1, 1), np.float32))
    console.print(
        f"first conv call (compile or load from cache): "
        f"{time.perf_counter() - start:.2f} s"
    )
    for name in MODELS if args.model == "all" else [args.model]:
        bench_model(name, args.repeats, console, args.paths)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
