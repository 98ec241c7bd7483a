"""convsim.shapes against TensorFlow's rules, recomputed independently in
tests/reference.py, and against the book's general output-size formula
``out = floor((n + pad_total - d*(k-1) - 1) / s) + 1``."""

from __future__ import annotations

import doctest
import itertools
import math

import pytest
from reference import tf_padding

from convsim import shapes

# Every (n, k, s, d) with n <= 20, k <= 6, s <= 4, d <= 3: 1,440 combinations
# per padding, pure integer arithmetic, a few milliseconds.
GRID = list(itertools.product(range(1, 21), range(1, 7), range(1, 5), range(1, 4)))


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_output_size_formula_for_many_values(padding):
    checked = 0
    for n, k, s, d in GRID:
        out = shapes.conv_output_length(n, k, s, padding, d)
        pad = shapes.padding_amounts(n, k, s, padding, d)
        if padding == "valid" and d * (k - 1) + 1 > n:
            assert out <= 0  # the window does not fit; ops refuses it
            continue
        general = math.floor((n + pad.total - d * (k - 1) - 1) / s) + 1
        assert out == general, (n, k, s, d)
        assert (out, pad.before, pad.after) == tf_padding(n, k, s, padding, d)
        checked += 1
    assert checked > 500


def test_same_rules():
    for n, k, s, d in GRID:
        out = shapes.conv_output_length(n, k, s, "same", d)
        pad = shapes.padding_amounts(n, k, s, "same", d)
        assert out == math.ceil(n / s)
        assert pad.after - pad.before in (0, 1)  # the odd zero goes after
        if s == 1:  # 'same' keeps the size, padding exactly the window's overhang
            assert out == n and pad.total == d * (k - 1)
        # the last window still starts on a real cell
        assert (out - 1) * s - pad.before <= n - 1


def test_valid_has_no_padding():
    for n, k, s, d in GRID:
        assert shapes.padding_amounts(n, k, s, "valid", d) == (0, 0)


@pytest.mark.parametrize("n, k, s, d, want", [
    (4, 3, 2, 1, (0, 1)),  # even input, stride 2: TF pads bottom/right only
    (6, 3, 2, 1, (0, 1)),
    (5, 3, 2, 1, (1, 1)),
    (5, 3, 1, 1, (1, 1)),
    (6, 2, 1, 1, (0, 1)),  # even kernel: the extra zero after
    (5, 4, 1, 1, (1, 2)),
    (7, 3, 1, 2, (2, 2)),  # dilation 2 spans 5 cells
    (3, 3, 1, 3, (3, 3)),
    (1, 5, 1, 1, (2, 2)),
    (8, 2, 3, 1, (0, 0)),  # stride > kernel: 3 windows at 0, 3, 6 fit unpadded
    (7, 2, 3, 1, (0, 1)),  # ...but the third one at 6 needs a zero at 7
])
def test_hand_worked_same_paddings(n, k, s, d, want):
    assert tuple(shapes.padding_amounts(n, k, s, "same", d)) == want


@pytest.mark.parametrize("n, k, s, want", [
    (28, 3, 1, 26), (13, 2, 2, 6), (150, 3, 1, 148), (15, 2, 2, 7), (5, 3, 2, 2),
])
def test_book_model_sizes(n, k, s, want):
    """Sizes from the book's MNIST and cats-vs-dogs convnets."""
    assert shapes.conv_output_length(n, k, s) == want


def test_window_geometry_combines_the_axes():
    geo = shapes.window_geometry((4, 7), (3, 2), (2, 3), "same", (1, 1))
    assert (geo.out_h, geo.out_w) == (2, 3)
    assert geo.pads == (0, 1, 0, 1)
    assert geo.rows.total == 1 and geo.cols == shapes.Padding1D(0, 1)


def test_effective_window():
    assert [shapes.effective_window(3, d) for d in (1, 2, 3)] == [3, 5, 7]


def test_output_size_working_reads_like_the_book():
    assert shapes.output_size_working(28, 3) == "floor((28 - 3) / 1) + 1 = 26"
    assert shapes.output_size_working(5, 3, 2, "same") == "ceil(5 / 2) = 3"
    assert shapes.output_size_working(9, 3, dilation=2) == (
        "floor((9 - 5) / 1) + 1 = 5")


def test_docstring_examples():
    failures, tried = doctest.testmod(shapes)
    assert tried > 0 and failures == 0
