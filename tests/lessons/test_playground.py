"""The playground lesson: every number it shows against an independent source.

* the output size and the 'same' zeros it works out, against convsim.shapes and
  the shape ops.conv returns, for random choices; the formula as printed,
  evaluated, gives the same numbers;
* the rows and columns it says no window reads, against the gradient of a
  convolution with a kernel of ones (ops.conv_backward): d(sum of outputs)/dx
  counts, for each input cell, the windows that read it;
* the map of the flipped kernel, against scipy.signal.convolve2d (a true
  convolution) on the padded input, dilated kernel, strided;
* every window the animation shows, against ops.conv;
* the errors of invalid combinations, and the lesson in both languages within
  80 columns.
"""

from __future__ import annotations

import io
import math
import re

import numpy as np
import pytest
from convsim.lessons import playground
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from rich.cells import cell_len
from rich.console import Console
from rich.text import Text

from convsim import ops, shapes, trace
from convsim.errors import ArgumentError
from convsim.lesson import cli, window_story
from convsim.lesson.frames import compose, status_line
from convsim.trace.reach import reach
from convsim.viz import playground_view

signal = pytest.importorskip("scipy.signal")


@st.composite
def conv_choices(draw, drawable: bool = True):
    """(n, k, s, padding, d) that Keras's Conv2D accepts (no stride with
    dilation) and whose window fits (or is padded to fit)."""
    n = draw(st.integers(1, 16))
    k = draw(st.integers(1, 9))
    d = draw(st.integers(1, 4))
    s = 1 if d > 1 else draw(st.integers(1, 6))
    padding = draw(st.sampled_from(["valid", "same"]))
    span = d * (k - 1) + 1
    assume(span <= (playground_view.VIEW if drawable else 99))
    assume(padding == "same" or span <= n)
    return n, k, s, padding, d


def traced(n, k, s, padding, d, channels=1, filters=1, seed=0):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 4, (n, n, channels)).astype(np.float32)
    kernel = rng.integers(-1, 2, (k, k, channels, filters)).astype(np.float32)
    return trace.trace_conv(image, kernel, strides=s, padding=padding,
                            dilation_rate=d)


# ---------------------------------------------------------------- output size


def numeric_chains(line: str) -> list[list[float]]:
    """The ``a = b = c`` runs of a formula line whose pieces are plain
    arithmetic, evaluated (``floor``, ``ceil``, ``max``, ``//``, ``×``); a label
    before a piece ("check   floor(...)") and a closing gloss are left out."""
    line = re.sub(r"\s{2,}\(.*\)$", "", line)  # "  (left 1, right 1)"
    chains = []
    for clause in re.split(r",\s(?=\D)", line):  # "top = ..., bottom = ..."
        chain = []
        for piece in clause.split("=") + [""]:
            expr = piece.split("  ")[-1].strip().replace("×", "*")
            if expr and re.fullmatch(r"(floor|ceil|max|[\d\s+\-*/(),])+", expr):
                chain.append(eval(expr, {"floor": math.floor, "ceil": math.ceil,
                                         "max": max}))
            elif len(chain) > 1:
                chains.append(chain)
                chain = []
            else:
                chain = []
    return chains


@given(conv_choices(drawable=False), st.sampled_from(["en", "ko"]))
def test_the_output_size_and_zeros_shown_are_those_of_shapes_and_ops(choice, lang):
    n, k, s, padding, d = choice
    t = traced(n, k, s, padding, d)
    frame = window_story.size_frame(t, lang)
    geometry = shapes.window_geometry((n, n), (k, k), (s, s), padding, (d, d))
    out = ops.conv(np.zeros((1, n, n, 1)), np.ones((k, k, 1, 1)), s, padding,
                   dilation_rate=d).shape[1:3]
    assert frame.data["out"] == geometry[:2] == out
    assert frame.data["pads"] == geometry.pads
    lines = frame.data["formula"]
    assert lines[-1].endswith(f"= {out[0]}")
    for line in lines:  # every piece of arithmetic on screen is right
        for chain in numeric_chains(line):
            assert len(set(chain)) == 1, line
    top, bottom = geometry.pads[:2]
    if padding == "same":
        assert f"= {top + bottom}" in lines[4]
        assert f"= {top}" in lines[5] and f"= {bottom}" in lines[5]
    explain = frame.question.explain  # one line that works the size out
    assert explain.endswith(f"= {out[0]}") and numeric_chains(explain)
    assert all(len(set(chain)) == 1 for chain in numeric_chains(explain))
    assert frame.question.check(f"{out[0]}x{out[1]}")
    assert not frame.question.check(f"{out[0] + 1}x{out[1]}")


def test_the_formula_reads_as_the_book_writes_it():
    lines = window_story.size_frame(traced(8, 3, 2, "valid", 1), "en").data["formula"]
    assert lines[-1].endswith("= floor((8 + 0 - 2 - 1) / 2) + 1 = floor(5 / 2) + 1 = 3")
    same = window_story.size_frame(traced(6, 3, 2, "same", 1), "en").data["formula"]
    assert "ceil(6 / 2) = 3" in same[2]
    assert "top = 1 // 2 = 0, bottom = 1 - 0 = 1" in same[5]  # the odd zero: after


# ---------------------------------------------------------------- rows no window reads


@given(conv_choices(drawable=False))
def test_reach_counts_are_the_gradient_of_a_ones_kernel(choice):
    n, k, s, padding, d = choice
    t = traced(n, k, s, padding, d)
    x = np.zeros((1, n, n, 1), np.float32)
    ones = np.ones((k, k, 1, 1), np.float32)
    out = ops.conv(x, ones, s, padding, dilation_rate=d)
    d_x = ops.conv_backward(x, ones, np.ones_like(out), s, padding, d)[0][0, :, :, 0]
    cover = reach(t)
    assert_allclose(cover.counts, d_x)
    assert cover.dropped_rows == tuple(np.flatnonzero(d_x.sum(axis=1) == 0))
    assert cover.dropped_cols == tuple(np.flatnonzero(d_x.sum(axis=0) == 0))


@given(st.integers(1, 16), st.integers(1, 9), st.integers(1, 6),
       st.sampled_from(["valid", "same"]))
def test_reach_of_a_pooling_is_that_of_the_same_windows(n, p, s, padding):
    assume(padding == "same" or p <= n)
    pooled = trace.trace_pool(np.zeros((n, n)), p, s, padding)
    x = np.zeros((1, n, n, 1), np.float32)
    ones = np.ones((p, p, 1, 1), np.float32)
    out = ops.conv(x, ones, s, padding)
    d_x = ops.conv_backward(x, ones, np.ones_like(out), s, padding)[0][0, :, :, 0]
    assert_allclose(reach(pooled).counts, d_x)


@given(conv_choices(), st.sampled_from(["en", "ko"]))
def test_every_dropped_row_and_column_is_named(choice, lang):
    t = traced(*choice)
    frame = window_story.reach_frame(t, lang)
    rows, cols = frame.data["dropped_rows"], frame.data["dropped_cols"]
    cover = reach(t)
    assert (rows, cols) == (cover.dropped_rows, cover.dropped_cols)
    named = set()  # the row numbers in "rows 1, 3–5" / "행 1, 3–5"
    for listed in re.findall(r"(?:rows?|행) ((?:\d+(?:–\d+)?(?:, )?)+)",
                             frame.caption):
        for run in listed.rstrip(", ").split(", "):
            first, _, last = run.partition("–")
            named |= set(range(int(first), int(last or first) + 1))
    assert set(rows) <= named
    if not rows:
        assert frame.caption == window_story.TEXT[lang]["all_read"]


def test_the_books_15_to_7_pooling_drops_row_and_column_14():
    lesson = playground.build(size=15, pool=2)
    frame = next(f for f in lesson.frames if "dropped_rows" in f.data)
    assert frame.data["dropped_rows"] == frame.data["dropped_cols"] == (14,)
    text = Text.from_markup(frame.caption).plain
    assert "No window reads row 14: the last window reaches down to row 13" in text
    assert "The same goes for column 14." in text


def test_a_stride_longer_than_the_window_skips_rows_between():
    frame = window_story.reach_frame(traced(12, 2, 5, "valid", 1), "en")
    assert frame.data["dropped_rows"] == (2, 3, 4, 7, 8, 9)
    assert "rows 2–4, 7–9: the window is 2 rows tall and moves 5 rows" in frame.caption


# ---------------------------------------------------------------- the flip


def true_convolution(t) -> np.ndarray:
    """scipy's convolve2d (it flips the kernel) on the padded input, with the
    dilated kernel, sampled every stride, summed over input channels."""
    (s, _), (d, _) = t.strides, t.dilation
    kh, kw, channels, filters = t.kernel.shape
    dilated = np.zeros((d * (kh - 1) + 1, d * (kw - 1) + 1, channels, filters))
    dilated[::d, ::d] = t.kernel
    maps = [sum(signal.convolve2d(t.padded[:, :, c], dilated[:, :, c, f],
                                  mode="valid")[::s, ::s] for c in range(channels))
            for f in range(filters)]
    return np.stack(maps, axis=-1)[:t.out_h, :t.out_w]


@given(conv_choices(), st.integers(1, 3), st.integers(1, 2), st.integers(0, 99))
def test_the_flipped_kernel_frame_is_a_true_convolution(choice, channels, filters,
                                                        seed):
    t = traced(*choice, channels=channels, filters=filters, seed=seed)
    frame = window_story.flip_frame(t, "en")
    assert_allclose(frame.data["conv"], true_convolution(t), atol=1e-4)
    assert_allclose(frame.data["xcorr"], ops.conv(
        t.inputs[None], t.kernel, t.strides, t.padding, dilation_rate=t.dilation)[0])
    differ = int((frame.data["conv"][:, :, 0] != frame.data["xcorr"][:, :, 0]).sum())
    assert frame.data["differ"] == differ
    if not np.array_equal(t.kernel, t.kernel[::-1, ::-1]):
        assert f"{differ} of {t.out_h * t.out_w} cells differ" in frame.caption


# ---------------------------------------------------------------- the lesson


BRIEF = dict(size=7, kernel=3, stride=2, padding="same", dilation=1, filters=2,
             channels=3)


def test_every_window_shown_is_what_ops_conv_computes():
    lesson = playground.build(**BRIEF)
    image = playground.make_input(7, 3)
    kernel = playground.make_kernel(3, 3, 2)
    expected = ops.conv(image[None], kernel, 2, "same")[0]
    steps = {f.data["step"].index: f.data["step"] for f in lesson.frames
             if "step" in f.data}
    assert len(steps) == expected.size  # every window of both filters
    for step in steps.values():
        assert step.output == pytest.approx(expected[step.row, step.col, step.filter])
    done = next(f for f in lesson.frames if "output" in f.data)
    assert_allclose(done.data["output"], expected)


def test_options_from_the_command_line_are_strings():
    text = playground.build(kernel="5", stride="1", padding="SAME", filters="2")
    ints = playground.build(kernel=5, stride=1, padding="same", filters=2)
    assert [f.caption for f in text.frames] == [f.caption for f in ints.frames]


def test_a_dilated_kernel_defaults_to_stride_1():
    settings = playground.settings(dilation="2")  # Keras refuses stride 2 with it
    assert (settings["s"], settings["d"]) == (1, 2)


@pytest.mark.parametrize("options, match", [
    (dict(size=7, kernel=9), r"kernel window 9x9 is larger than the 7x7 input"),
    (dict(stride=0), r"`strides` argument must be a tuple of 2 positive integers"),
    (dict(stride="two"), r"--stride must be a whole number, e\.g\. --stride 2\. "
                         r"Received: --stride two"),
    (dict(padding="full"), r"`padding` must be one of \{'valid', 'same'\}"),
    (dict(dilation=2, stride=2), r"`strides > 1` not supported in conjunction"),
    (dict(filters=0), r"`filters` must be a positive integer"),
    (dict(filters=5), r"at most 4 filters\. Received: --filters 5"),
    (dict(channels=9), r"at most 4 channels"),
    (dict(size=16, kernel=5, dilation=3, padding="same"), r"spans d×\(k-1\) \+ 1 = "
                                                          r"3×\(5-1\) \+ 1 = 13"),
    (dict(size=5, pool=7), r"pool window 7x7 is larger than the 5x5 input"),
    (dict(pool=0), r"`pool_size` argument must be a tuple of 2 positive"),
    (dict(pool=2, kernel=3), r"--kernel is for a convolution; with --pool"),
    (dict(pool=2, dilation=2), r"--dilation is for a convolution"),
    (dict(size=17), r"between 1 and 16\. Received: --size 17"),
])
def test_invalid_combinations_get_clear_errors(options, match):
    with pytest.raises(ArgumentError, match=match):
        playground.build(**options)


def test_the_command_line_answers_an_invalid_combination_in_one_line():
    console = Console(file=io.StringIO(), width=300, color_system=None)
    code = cli.main(["playground", "--stride", "0", "--no-animate"], console=console)
    out = console.file.getvalue().strip()
    assert code == 1 and len(out.splitlines()) == 1 and "strides=0" in out


def test_the_size_is_asked_before_it_is_shown():
    lesson = playground.build()
    first_question = next(f for f in lesson.frames if f.question is not None)
    assert first_question.data["out"] == (3, 3)
    assert first_question.question.check("3x3") and first_question.question.check("3")


#: What a Korean frame may leave in Latin letters: code, flags, names.
IDENTIFIERS = {"padding", "same", "valid", "strides", "dilation_rate", "layers",
               "Conv2D", "MaxPooling2D", "pool_size", "convsim", "floor", "ceil",
               "max", "scipy", "signal", "convolve2d", "size", "kernel", "stride",
               "dilation", "filters", "channels", "pool", "ops", "conv"}


@pytest.mark.parametrize("options", [
    {}, BRIEF, pytest.param(dict(size=15, pool=2), marks=pytest.mark.slow),
    pytest.param(dict(size=16, kernel=7, stride=3), marks=pytest.mark.slow)],
    ids=["default", "brief", "pool", "big"])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_key_frames_fit_80_columns_in_both_languages(options, lang):
    lesson = playground.build(lang=lang, **options)
    for i, frame in enumerate(lesson.frames):
        if not (frame.key or frame.question):
            continue  # the slow test below draws every frame
        console = Console(file=io.StringIO(), width=80, color_system=None)
        console.print(compose(lesson, i, status_line(lang, False), height=24))
        lines = console.file.getvalue().splitlines()
        assert max(cell_len(line.rstrip()) for line in lines) <= 80, i
        assert len(lines) <= 24 and "…" not in console.file.getvalue(), i
        if lang == "ko":  # the whole screen: narration, grid titles, formulas
            screen = console.file.getvalue()
            assert not re.search(r"\((으|이|을|은|과|아)\)", screen)
            english = set(re.findall(r"[A-Za-z][A-Za-z_0-9]+", screen)) - IDENTIFIERS
            assert not english, (i, english)


@pytest.mark.slow
@pytest.mark.parametrize("width, height", [(80, 24), (120, 45)])
def test_every_frame_of_big_choices_fits(width, height):
    for options in (dict(size=16, kernel=9, stride=4, padding="same"),
                    dict(size=16, kernel=3, dilation=4, filters=4, channels=4),
                    dict(size=16, pool=3, stride=2, padding="same", channels=3)):
        lesson = playground.build(**options)
        frames = len(lesson.frames)  # every key frame, every 4th of the sweep
        sample = sorted({*range(0, frames, 4), frames - 1,
                         *(i for i, f in enumerate(lesson.frames) if f.key)})
        for i in sample:
            console = Console(file=io.StringIO(), width=width, color_system=None)
            console.print(compose(lesson, i, "status", height=height))
            lines = console.file.getvalue().splitlines()
            assert max(cell_len(x.rstrip()) for x in lines) <= width, (options, i)
            assert len(lines) <= height, (options, i)


def test_a_window_asked_about_shows_no_sum_before_the_answer():
    lesson = playground.build()
    asked = next(i for i, f in enumerate(lesson.frames)
                 if f.question is not None and "step" in f.data)
    step = lesson.frames[asked].data["step"]

    def shown(i):
        console = Console(file=io.StringIO(), width=120, color_system=None)
        console.print(compose(lesson, i))
        return console.file.getvalue()

    placed, revealed = shown(asked - 1), shown(asked)
    assert lesson.frames[asked - 1].data["step"] is step
    assert "Σ = ?" in placed and f"=  {step.output:g}" not in placed
    assert f"=  {step.output:g}" in revealed


def test_seed_changes_the_numbers_not_the_geometry():
    plain, seeded = playground.build(), playground.build(seed=3)
    out = [next(f for f in lesson.frames if "output" in f.data).data["output"]
           for lesson in (plain, seeded)]
    assert out[0].shape == out[1].shape and not np.array_equal(*out)
    assert [f.caption for f in plain.frames[1:3]] == [f.caption
                                                      for f in seeded.frames[1:3]]
