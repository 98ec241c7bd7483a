"""Renderables: exact text on a capture console, colours, images, GIF frames."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from convsim import trace
from convsim.viz.conv_view import step_view
from convsim.viz.grid import Grid, PlainLegend, fmt_number
from convsim.viz.image import Heatmap


def plain(renderable, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    return "\n".join(line.rstrip() for line in console.file.getvalue().splitlines())


def coloured(renderable, width: int = 80) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True,
                      color_system="truecolor")
    console.print(renderable)
    return console.file.getvalue()


def test_numbers_are_short_and_exact_looking():
    assert [fmt_number(v) for v in (3.0, -0.25, 1 / 3, -0.001, 12.5)] == [
        "3", "-0.25", "0.33", "0", "12.5"]
    assert fmt_number(float("nan")) == "nan"


def test_grid_marks_in_plain_text():
    values = np.arange(9).reshape(3, 3)
    pad = np.zeros((3, 3), bool)
    pad[0, :] = True
    window = np.zeros((3, 3), bool)
    window[:2, :2] = True
    hidden = np.zeros((3, 3), bool)
    hidden[2, 2] = True
    grid = Grid(values, title="g", window=window, padding=pad, hidden=hidden,
                current=(2, 1), row_start=-1)
    assert plain(grid) == "\n".join([
        "     g",
        "    0  1  2",
        "-1 [0][1](2)",
        " 0 [3][4] 5",
        " 1  6 {7} ·",
    ])


def test_grid_colours_window_padding_and_choice():
    grid = Grid(np.array([[1, 2], [3, -4]]), window=np.eye(2, dtype=bool),
                chosen=np.array([[False, True], [False, False]]))
    out = coloured(grid)
    assert "48;2;47;111;223" in out  # the window's blue background
    assert "30;48;5;40" in out or "48;5;40" in out  # green3: the kept cell
    assert "[" not in out.replace("\x1b[", "")  # no plain marks in colour


def test_plain_legend_only_without_colour():
    assert "zero padding" in plain(PlainLegend())
    assert "패딩" in plain(PlainLegend("ko"))
    assert coloured(PlainLegend()).strip() == ""


def test_step_view_shows_padding_products_and_result():
    t = trace.trace_conv(np.arange(16.0).reshape(4, 4), np.ones((3, 3, 1, 1)),
                         bias=[1.0], padding="same", activation="relu")
    text = plain(step_view(t, t[0]), width=100)
    assert "padded input 6×6" in text
    assert "(0)" in text  # padding zeros are marked
    assert "sum 10  + bias 1  =  11  → relu → 11" in text  # 0+1+4+5 = 10
    running = plain(step_view(t, t[0], revealed=5), width=100)
    assert "…  0" in running.replace("  …  0", "…  0")


def test_heatmap_plain_ramp_and_colour_pixels():
    image = np.zeros((4, 4))
    image[:, 2:] = 1.0
    assert plain(Heatmap(image)).splitlines() == ["  @@", "  @@"]
    signed = Heatmap(np.array([[-1.0, 0.0, 1.0], [-1.0, 0.0, 1.0]]), signed=True)
    assert plain(signed).splitlines() == ["≡ #"]
    out = coloured(Heatmap(image))
    assert out.count("▀") == 8
    assert "38;2;255;255;255" in out  # white pixels
    assert plain(Heatmap(image, reveal_rows=2)) == "  @@\n"  # 2nd row: dark


def test_gif_frames_are_painted_cells():
    pytest.importorskip("PIL")
    from convsim.viz.gif import CellPainter, find_fonts, render_images

    images = render_images([Grid(np.eye(3), window=np.eye(3, dtype=bool)),
                            Heatmap(np.ones((4, 4)))], width=30)
    assert len(images) == 2 and images[0].size == images[1].size
    first = np.asarray(images[0])
    assert (first == [47, 111, 223]).all(-1).any()  # the window's blue is painted
    second = np.asarray(images[1])
    assert (second == [255, 255, 255]).all(-1).sum() > 100  # block pixels
    painter = CellPainter(14)
    assert painter.font_for("A", False) == find_fonts().regular
    if find_fonts().hangul:
        assert painter.font_for("합", False) == find_fonts().hangul
