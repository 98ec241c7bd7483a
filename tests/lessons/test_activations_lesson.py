"""Activations: the notes' grid (normalisation, layout, dead channels), the
activations themselves against direct NumPy computations, and the lesson."""

from __future__ import annotations

import doctest
import io
import re

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from rich.console import Console

from convsim import layers, models
from convsim.errors import ArgumentError, NotReadyError, WrongTypeError
from convsim.experiments.book_models import build_cats_model, build_mnist_model
from convsim.lesson import catalog
from convsim.lesson import cli as lesson_cli
from convsim.lesson.frames import compose, status_line
from convsim.viz import activation_view, activations
from convsim.viz.activation_view import ChannelTiles, ChannelView, tile_layout
from convsim.viz.activations import (
    activation_grid,
    dead_words,
    layer_activations,
    normalise_channels,
)

# what your notes print for the cats-vs-dogs convnet's first eight layers
NOTES_SHAPES = [(148, 148, 32), (74, 74, 32), (72, 72, 64), (36, 36, 64),
                (34, 34, 128), (17, 17, 128), (15, 15, 128), (7, 7, 128)]


def notes_formula(channel, dtype=np.float64) -> np.ndarray:
    """The notes' lines for one channel, on a copy (the notes work in place)."""
    channel_image = np.array(channel, dtype=dtype)
    channel_image -= channel_image.mean()
    channel_image /= channel_image.std()
    channel_image *= 64
    channel_image += 128
    return np.clip(channel_image, 0, 255).astype("uint8")


def direct_conv_relu(x, kernel, bias) -> np.ndarray:
    """A 'valid' stride-1 convolution + bias + relu, straight from NumPy."""
    kh, kw = kernel.shape[:2]
    patches = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(0, 1))
    # patches: (out_h, out_w, channels_in, kh, kw)
    out = np.einsum("yxcij,ijcf->yxf", patches.astype(np.float64),
                    kernel.astype(np.float64)) + bias
    return np.maximum(out, 0)


def direct_max_pool(x) -> np.ndarray:
    h, w, c = x.shape
    return x[:h // 2 * 2, :w // 2 * 2].reshape(h // 2, 2, w // 2, 2, c).max(
        axis=(1, 3))


# ---------------------------------------------------------------- the grid
def test_normalisation_is_the_notes_formula_channel_by_channel():
    rng = np.random.default_rng(0)
    values = np.maximum(rng.normal(0.2, 1.0, (9, 7, 5)), 0).astype(np.float32)
    values[:, :, 3] *= 1000  # a loud channel: scaled by its own std, not the layer's
    pictures = normalise_channels(values)
    assert pictures.dtype == np.uint8 and pictures.shape == values.shape
    for k in range(5):
        np.testing.assert_array_equal(pictures[:, :, k],
                                      notes_formula(values[:, :, k]))
        # the notes' own float32 arithmetic gives the same picture, give or
        # take one grey level where float32 rounds a value across an integer
        notes32 = notes_formula(values[:, :, k], np.float32).astype(int)
        assert np.abs(pictures[:, :, k].astype(int) - notes32).max() <= 1


@given(hnp.arrays(np.float32, st.tuples(st.integers(1, 6), st.integers(1, 6),
                                        st.integers(1, 4)),
                  elements=st.floats(-1e6, 1e6, width=32)))
def test_normalisation_matches_the_formula_and_never_warns(values):
    pictures = normalise_channels(values)  # any warning fails (filterwarnings)
    for k in range(values.shape[-1]):
        channel = values[:, :, k]
        if channel.max() == channel.min():
            assert (pictures[:, :, k] == 128).all()
        else:
            np.testing.assert_array_equal(pictures[:, :, k], notes_formula(channel))


def test_dead_channels_draw_flat_and_are_counted_without_nan_or_warning():
    values = np.zeros((6, 6, 4), np.float32)
    values[2:4, 1:5, 0] = [[1, 2, 3, 4], [5, 6, 7, 8]]
    values[:, :, 2] = 0.7  # the same value everywhere, but not zero
    with pytest.warns(RuntimeWarning):  # what the notes' code does to a 0 channel
        notes_formula(values[:, :, 1], np.float32)
    grid, dead = activation_grid(values, images_per_row=2)
    assert dead == 3 and not np.isnan(grid).any()
    assert (grid[0:6, 6:12] == 128).all() and (grid[6:12, :] == 128).all()
    flat = activations.LayerActivation("conv", "Conv2D", values)
    assert flat.dead.tolist() == [1, 2, 3]
    assert dead_words(flat) == ("3 of 4 channels are dead: the same value "
                                "everywhere for this image")
    zero = activations.LayerActivation("conv", "Conv2D", values[:, :, [0, 1, 3]])
    assert dead_words(zero) == ("2 of 3 channels are dead: zero everywhere for "
                                "this image")
    assert dead_words(zero, "ko") == ("채널 3개 중 2개가 죽어 있습니다: 이 "
                                      "이미지에서는 모든 곳이 0")


def test_grid_puts_channel_k_at_row_k_div_16_and_accepts_the_notes_batch_axis():
    rng = np.random.default_rng(1)
    values = rng.random((1, 5, 4, 37)).astype(np.float32)  # the notes' (1, h, w, c)
    grid, dead = activation_grid(values)
    assert grid.shape == (3 * 5, 16 * 4) and dead == 0
    pictures = normalise_channels(values[0])
    for k in (0, 15, 16, 36):
        row, col = divmod(k, 16)
        np.testing.assert_array_equal(grid[row * 5:(row + 1) * 5,
                                           col * 4:(col + 1) * 4], pictures[:, :, k])
    assert (grid[10:15, 5 * 4:] == 0).all()  # the last row's empty tiles
    with pytest.raises(ArgumentError, match=r"`images_per_row` must be a positive "
                                            r"integer. Received: images_per_row=0"):
        activation_grid(values, images_per_row=0)
    with pytest.raises(ArgumentError, match=r"\(height, width, channels\).*"
                                            r"Received: values.shape=\(5, 4\)"):
        activation_grid(values[0, :, :, 0])


# ---------------------------------------------------------------- activations
@pytest.mark.slow
def test_the_cats_model_gives_the_shapes_your_notes_print():
    model = build_cats_model()
    image = np.random.default_rng(2).random((150, 150, 3)).astype(np.float32)
    found = layer_activations(model, image)
    assert [a.values.shape for a in found] == NOTES_SHAPES
    assert [a.kind for a in found] == ["Conv2D", "MaxPooling2D"] * 4
    assert [a.name for a in found] == [layer.name for layer in model.layers[:8]]
    kernel, bias = (w.numpy() for w in model.layers[0].weights)
    np.testing.assert_allclose(found[0].values, direct_conv_relu(image, kernel, bias),
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(found[1].values, direct_max_pool(found[0].values))


def test_layers_are_chosen_by_name_and_bad_choices_are_named():
    model = build_mnist_model()
    image = np.zeros((28, 28), np.float32)  # grayscale: the channel axis is added
    (one,) = layer_activations(model, image, model.layers[3].name)
    assert one.values.shape == (5, 5, 64) and one.kind == "MaxPooling2D"
    with pytest.raises(ArgumentError, match=r"`layers` must name layers of model "
                                            r".*Received: 'conv2'\..*Did you mean"):
        layer_activations(model, image, ["conv2"])
    with pytest.raises(ArgumentError, match=r"Layer 'dense.*' outputs \(None, 64\)"
                                            r".*the layers that do are \['"):
        layer_activations(model, image, [model.layers[6].name])
    with pytest.raises(ArgumentError, match=r"`image` must be one input .* shape "
                                            r"\(28, 28, 1\)\. Received: "
                                            r"image.shape=\(150, 150, 3\)"):
        layer_activations(model, np.zeros((150, 150, 3)))
    with pytest.raises(NotReadyError, match="does not know its input shape"):
        layer_activations(models.Sequential([layers.Conv2D(2, 3)]), image)
    with pytest.raises(WrongTypeError, match="`model` must be a convsim model"):
        layer_activations("model.h5", image)


@pytest.mark.slow
def test_the_png_has_one_panel_per_layer_titled_with_its_name(tmp_path):
    model = build_mnist_model()
    image = np.random.default_rng(3).random((28, 28, 1)).astype(np.float32)
    found = layer_activations(model, image, [model.layers[0].name,
                                             model.layers[4].name])
    figure = activations.activations_figure(found)
    titles = [ax.get_title() for ax in figure.axes]
    assert len(titles) == 2 and titles[0].startswith(f"{found[0].name}  (Conv2D, "
                                                     "26×26×32)")
    assert dead_words(found[1]) in titles[1]
    shown = figure.axes[0].get_images()[0].get_array()
    np.testing.assert_array_equal(shown, activation_grid(found[0].values).grid)
    path = activations.save_activations_png(model, image, tmp_path / "a.png")
    with Image.open(path) as png:
        assert png.format == "PNG" and png.width >= 1000


def test_doctests():
    for module in (activations, activation_view):
        failures, tried = doctest.testmod(module)
        assert failures == 0 and tried > 0


# ---------------------------------------------------------------- terminal
def test_tiles_show_every_asked_channel_within_the_width():
    values = np.random.default_rng(4).random((11, 11, 20)).astype(np.float32)
    values[:, :, 3] = 0
    tiles = ChannelTiles(activations.LayerActivation("c", "Conv2D", values),
                         range(0, 20), title="c")
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(tiles)
    lines = console.file.getvalue().splitlines()
    assert lines[0] == "c" and max(len(line) for line in lines) <= 80
    assert lines[1].split() == ["0", "1", "2", "3×", "4", "5"]  # 6 of 11+1 in 80
    assert len(lines) == 1 + 4 * (1 + 6)  # 4 rows of tiles, label + 6 lines each
    assert tile_layout(148, 148, 32, columns=80, lines=16).scale > 1


def test_a_single_channel_spans_its_own_minimum_to_maximum():
    values = np.array([[0.0, 1.0], [2.0, 4.0]], np.float32)
    assert ChannelView(values).levels().tolist() == [[0, 64], [128, 255]]
    assert (ChannelView(np.full((3, 3), 2.0)).levels() == 0).all()
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(ChannelView(values, "c", zoom=3))  # each value 3x3 pixels
    lines = [line.rstrip() for line in console.file.getvalue().splitlines()]
    # levels 0, 64 / 128, 255 as the ramp ' :+@' (two pixel rows per line,
    # the brighter kept), and a colour bar from 4 (top) to 0
    assert lines == ["c", "   ::: @@ 4", "+++@@@ ++", "+++@@@    0"]


def test_the_input_is_drawn_in_colour_or_grey_and_shrunk_to_fit():
    photo = np.zeros((150, 150, 3), np.float32)
    photo[:, :75, 0] = 1.0  # left half red
    picture = activation_view.input_picture(photo, 28, "input")
    assert picture.rgb.shape == (25, 25, 3)  # 150 / 6
    assert picture.rgb[0, 0].tolist() == [255, 0, 0]
    assert picture.rgb[0, -1].tolist() == [0, 0, 0]
    digit = activation_view.input_picture(np.ones((28, 28, 1), np.float32), 28)
    assert digit.values.shape == (28, 28) and (digit.values == 255).all()


# ---------------------------------------------------------------- the lesson
@pytest.fixture(scope="module")
def lesson_module():
    return catalog.load("activations")


@pytest.mark.slow
def test_the_lesson_shows_the_models_real_activations(trained_mnist, lesson_module):
    lesson = lesson_module.build()
    first = lesson.frames[0]
    image = first.data["image"]
    found = first.data["activations"]
    kernel, bias = (w.numpy() for w in trained_mnist.get_layer(found[0].name).weights)
    conv = direct_conv_relu(image, kernel, bias)
    np.testing.assert_allclose(found[0].values, conv, rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(found[1].values, direct_max_pool(found[0].values))
    kernel, bias = (w.numpy() for w in trained_mnist.get_layer(found[2].name).weights)
    np.testing.assert_allclose(found[2].values,
                               direct_conv_relu(found[1].values, kernel, bias),
                               rtol=1e-4, atol=1e-5)
    single = [f for f in lesson.frames if "channel" in f.data]
    assert [f.data["channel"] for f in single] == [21, 2]
    np.testing.assert_array_equal(single[0].data["values"], found[0].values[:, :, 21])
    for activation in found:  # the pages cover every channel once, in order
        pages = [f.data["channels"] for f in lesson.frames
                 if f.data.get("activation") is activation]
        covered = [k for a, b in pages for k in range(a, b + 1)]
        assert covered == list(range(activation.channels))
    rows = lesson.frames[-1].data["rows"]
    assert [r[2] for r in rows] == [a.dead.size for a in found]
    assert "class 9" in first.caption  # the trained model reads its 9


@pytest.mark.slow
@pytest.mark.parametrize("screen", [(80, 24), (120, 45)])
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_frame_fits_the_screen(trained_mnist, lesson_module, screen, lang):
    width, height = screen
    lesson = lesson_module.build(lang=lang, screen=screen)
    console = Console(file=io.StringIO(), width=width, color_system="truecolor",
                      force_terminal=True)
    for i in range(len(lesson.frames)):
        lines = console.render_lines(compose(lesson, i, status_line(lang, True)),
                                     console.options, pad=False)
        assert len(lines) <= height, (i, len(lines))


@pytest.mark.slow
def test_your_cats_model_and_photo_fit_80x24_too(lesson_module, tmp_path):
    """The notes' way: --model a cats-vs-dogs file, --image a photo."""
    model_path, photo = tmp_path / "cats.convsim", tmp_path / "cat.png"
    build_cats_model().save(model_path)
    Image.fromarray(np.random.default_rng(5).integers(
        0, 256, (120, 160, 3), dtype=np.uint8)).save(photo)
    for lang in ("en", "ko"):
        lesson = lesson_module.build(lang=lang, model=str(model_path),
                                     image=str(photo))
        found = lesson.frames[0].data["activations"]
        assert [a.values.shape for a in found] == NOTES_SHAPES
        assert "cat.png" in lesson.frames[0].caption
        console = Console(file=io.StringIO(), width=80, color_system="truecolor",
                          force_terminal=True)
        for i in range(len(lesson.frames)):
            screen = compose(lesson, i, status_line(lang, True))
            assert len(console.render_lines(screen, console.options)) <= 24, i


@pytest.mark.slow
def test_korean_frames_leave_no_english_words(trained_mnist, lesson_module):
    lesson = lesson_module.build(lang="ko")
    allowed = {"MNIST", "convsim", "relu", "save", "activations", "png", "Conv2D",
               "MaxPooling2D"}
    for frame in lesson.frames:
        text = re.sub(r"\b(conv2d|max_pooling2d)\w*", "", frame.caption)
        words = set(re.findall(r"[A-Za-z]{2,}", text)) - allowed
        assert not words, (words, frame.caption)


@pytest.mark.slow
def test_layer_and_channel_options_and_save_png(trained_mnist, lesson_module,
                                                tmp_path, capsys):
    names = [a.name for a in lesson_module.build().frames[0].data["activations"]]
    lesson = lesson_module.build(layer=names[2], channel="7")
    single = [f for f in lesson.frames if "channel" in f.data]
    assert [(f.data["layer"], f.data["channel"]) for f in single] == [(names[2], 7)]
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(compose(lesson, 0))
    assert "model.get_layer(name).output" in console.file.getvalue()
    with pytest.raises(ArgumentError, match=r"--layer must name a layer of the "
                                            r"model that outputs feature maps: "
                                            rf"{names[0]}, .*Received: --layer x"):
        lesson_module.build(layer="x")
    with pytest.raises(ArgumentError, match=rf"--channel must be a channel number "
                                            rf"of layer '{names[0]}', from 0 to 31\. "
                                            r"Received: --channel 32"):
        lesson_module.build(channel="32")
    path = tmp_path / "activations.png"
    console = Console(file=io.StringIO(), width=80)
    assert lesson_cli.main(["activations", "--save", str(path)], console=console) == 0
    with Image.open(path) as png:
        assert png.format == "PNG" and png.height > png.width
    assert "Saved" in console.file.getvalue()
