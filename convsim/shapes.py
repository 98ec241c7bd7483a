"""Output sizes and paddings: the one place convsim computes them.

Every layer, op, tracer and lesson calls these functions, so the arithmetic a
learner sees in a lesson is exactly the arithmetic the kernels run.

The rules are TensorFlow's (and therefore Keras's), per spatial axis:

* ``'valid'`` (no padding): ``out = floor((n - d*(k-1) - 1) / s) + 1``
* ``'same'``: ``out = ceil(n / s)``; the zeros needed to get there are
  ``pad_total = max((out - 1)*s + d*(k-1) + 1 - n, 0)``, split as
  ``pad_before = pad_total // 2`` and ``pad_after = pad_total - pad_before``.
  So when ``pad_total`` is odd, the extra zero goes *after* (bottom/right).
  PyTorch's ``padding=1`` instead pads both sides equally, which is why the
  same stride-2 convolution can give different numbers in the two frameworks.

Both rules are the general formula
``out = floor((n + pad_total - d*(k-1) - 1) / s) + 1``.
"""

from __future__ import annotations

from typing import NamedTuple

from convsim.errors import ArgumentError


class Padding1D(NamedTuple):
    """Zeros added before (top/left) and after (bottom/right) one spatial axis."""

    before: int
    after: int

    @property
    def total(self) -> int:
        return self.before + self.after


def effective_window(size: int, dilation: int = 1) -> int:
    """Span of a window of ``size`` taps spaced ``dilation`` apart.

    >>> effective_window(3, dilation=2)
    5
    """
    return dilation * (size - 1) + 1


def conv_output_length(
    n: int, window: int, stride: int = 1, padding: str = "valid", dilation: int = 1
) -> int:
    """Output length along one axis; may be <= 0 when the window does not fit.

    >>> conv_output_length(5, 3, stride=2)  # 3x3 window, stride 2, 5x5 input
    2
    >>> conv_output_length(5, 3, padding="same")
    5
    """
    if padding == "same":
        return -(-n // stride)  # ceil(n / stride)
    return (n - effective_window(window, dilation)) // stride + 1


def padding_amounts(
    n: int, window: int, stride: int = 1, padding: str = "valid", dilation: int = 1
) -> Padding1D:
    """Zeros TensorFlow adds before and after one axis (odd extra one after).

    >>> padding_amounts(6, 3, stride=2, padding="same")  # even input, stride 2
    Padding1D(before=0, after=1)
    >>> padding_amounts(5, 3, padding="same")
    Padding1D(before=1, after=1)
    """
    if padding != "same":
        return Padding1D(0, 0)
    out = conv_output_length(n, window, stride, "same", dilation)
    total = max((out - 1) * stride + effective_window(window, dilation) - n, 0)
    return Padding1D(total // 2, total - total // 2)


def output_size_working(
    n: int, window: int, stride: int = 1, padding: str = "valid", dilation: int = 1
) -> str:
    """The output-size formula with the numbers filled in, for lessons.

    >>> output_size_working(15, 2, stride=2)  # last pooling of cats-vs-dogs
    'floor((15 - 2) / 2) + 1 = 7'
    """
    out = conv_output_length(n, window, stride, padding, dilation)
    if padding == "same":
        return f"ceil({n} / {stride}) = {out}"
    span = effective_window(window, dilation)
    return f"floor(({n} - {span}) / {stride}) + 1 = {out}"


class Geometry2D(NamedTuple):
    """Everything a 2D window op needs to know about where its windows go."""

    out_h: int
    out_w: int
    rows: Padding1D  # zeros above (before) and below (after)
    cols: Padding1D  # zeros left (before) and right (after)

    @property
    def pads(self) -> tuple[int, int, int, int]:
        """``(top, bottom, left, right)``, the order the kernels take."""
        return (*self.rows, *self.cols)


def window_geometry(
    in_hw: tuple[int, int],
    window: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
    dilation: tuple[int, int] = (1, 1),
) -> Geometry2D:
    """Output size and padding of a 2D convolution or pooling, per axis.

    >>> window_geometry((150, 150), (3, 3), (1, 1), "valid")[:2]
    (148, 148)
    >>> window_geometry((4, 4), (3, 3), (2, 2), "same").pads  # odd pad goes after
    (0, 1, 0, 1)
    """
    axes = [
        (
            conv_output_length(n, k, s, padding, d),
            padding_amounts(n, k, s, padding, d),
        )
        for n, k, s, d in zip(in_hw, window, strides, dilation, strict=True)
    ]
    return Geometry2D(axes[0][0], axes[1][0], axes[0][1], axes[1][1])


def fit_window(input_shape, window, strides, padding, dilation, what):
    """:func:`window_geometry` of a 4D input ``(batch, height, width,
    channels)``, or a clear error when the window does not fit: ``what`` is
    ``"kernel"`` or ``"pool"``, to name the argument the learner typed."""
    h, w = input_shape[1], input_shape[2]
    channels = input_shape[3]
    if h < 1 or w < 1 or (channels is not None and channels < 1):
        raise ArgumentError(f"`inputs` must have height, width and channels >= 1. "
                            f"Received: inputs.shape={tuple(input_shape)}")
    geo = window_geometry((h, w), window, strides, padding, dilation)
    if geo.out_h < 1 or geo.out_w < 1:
        arg = "kernel_size" if what == "kernel" else "pool_size"
        span = [effective_window(k, d)
                for k, d in zip(window, dilation, strict=True)]
        spans = ""
        if tuple(dilation) != (1, 1):
            spans = f" (spanning {span[0]}x{span[1]} with dilation_rate={dilation})"
        raise ArgumentError(
            f"The {what} window {window[0]}x{window[1]}{spans} is larger than the "
            f"{h}x{w} input with padding={padding!r}. Received: {arg}="
            f"{tuple(window)}, inputs.shape={tuple(input_shape)}. Use a smaller "
            f"{arg}, or padding='same'."
        )
    return geo
