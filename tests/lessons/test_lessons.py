"""Every lesson runs non-interactively, and its frames show the right numbers."""

from __future__ import annotations

import io

import numpy as np
import pytest
from convsim.lessons import (
    channels,
    convolution,
    feature_maps,
    padding,
    pooling,
    shapes,
    stride,
)
from rich.console import Console

from convsim import lesson as cli
from convsim.lesson.frames import compose
from convsim.lesson.player import Player

MODULES = [convolution, channels, padding, stride, pooling, feature_maps, shapes]


def capture_console(width: int = 100) -> Console:
    return Console(file=io.StringIO(), width=width, color_system=None,
                   force_terminal=False)


def text_of(lesson, index: int, width: int = 100) -> str:
    console = capture_console(width)
    console.print(compose(lesson, index))
    return console.file.getvalue()


def frame_with(lesson, key: str):
    return next(f for f in lesson.frames if key in f.data)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.NAME)
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_lesson_prints_its_key_frames(module, lang):
    console = capture_console()
    result = module.run(console=console, lang=lang)
    out = console.file.getvalue()
    assert result.shown and not result.quit
    assert len(result.shown) == sum(f.key for f in module.build(lang=lang).frames)
    assert module.TITLE[lang] in out
    assert "\x1b[" not in out  # plain text in a pipe


@pytest.mark.slow
def test_every_frame_of_every_lesson_renders():
    for module in MODULES:
        lesson = module.build()
        for i in range(len(lesson.frames)):
            assert text_of(lesson, i).strip()


def test_convolution_first_cell_is_the_sum_of_its_products():
    lesson = convolution.build()
    image = convolution.make_image()
    expected = float((image[0:3, 0:3] * convolution.FILTER).sum())
    last = frame_with(lesson, "output")
    assert last.data["output"].shape == (5, 5)
    assert last.data["output"][0, 0] == expected
    assert last.data["working"] == "floor((7 - 3) / 1) + 1 = 5"
    # the detailed first step shows every product and the running sum
    first = [f for f in lesson.frames if "step" in f.data and f.data["step"].index == 0]
    assert len(first) == 1 + 9 + 1
    assert "Running sum" in first[5].caption
    done = text_of(lesson, lesson.frames.index(first[-1]))
    assert f"=  {expected:g}" in done and f"({0}, {0}) = {expected:g}" in done


def test_convolution_size_and_seed_change_the_image():
    small = convolution.build(size=5)
    assert frame_with(small, "output").data["output"].shape == (3, 3)
    assert not np.array_equal(convolution.make_image(7, seed=1),
                              convolution.make_image(7))


def test_padding_same_is_5x5_and_its_first_cell_is_the_hand_sum():
    lesson = padding.build()
    image, even = padding.make_inputs()
    compare = frame_with(lesson, "same_output")
    same, valid = compare.data["same_output"], compare.data["valid_output"]
    assert same.shape == (5, 5) and valid.shape == (3, 3)
    # 'same' pads one zero all round: the first window sees only image[0:2, 0:2]
    assert same[0, 0] == image[0:2, 0:2].sum()
    assert valid[0, 0] == image[0:3, 0:3].sum()
    text = text_of(lesson, lesson.frames.index(compare))
    assert f"{int(image[0:2, 0:2].sum())}" in text
    pads = frame_with(lesson, "pads").data["pads"]
    assert pads == (1, 1, 1, 1)
    # part 3: Keras's odd zero at the bottom/right vs PyTorch's padding=1
    assert frame_with(lesson, "tf_pads").data["tf_pads"] == (0, 1, 0, 1)
    assert frame_with(lesson, "torch_pads").data["torch_pads"] == (1, 1, 1, 1)
    last = frame_with(lesson, "tf_output")
    k = np.ones((3, 3), np.float32)
    assert last.data["tf_output"][0, 0] == (even[0:3, 0:3] * k).sum()
    assert last.data["torch_output"][0, 0] == (even[0:2, 0:2]).sum()


def test_stride_2_over_5x5_gives_2x2():
    lesson = stride.build()
    last = frame_with(lesson, "stride2")
    image = stride.make_image()
    assert last.data["stride2"].shape == (2, 2)
    assert last.data["stride1"].shape == (3, 3)
    assert last.data["stride2"][1, 1] == (image[2:5, 2:5] * stride.FILTER).sum()
    text = text_of(lesson, len(lesson.frames) - 1)
    assert "floor((5 - 3) / 2) + 1 = 2" in text and "not 4×4" in text


def test_pooling_keeps_the_max_and_the_mean():
    lesson = pooling.build()
    fmap = pooling.make_map()
    last = frame_with(lesson, "max")
    blocks = fmap.reshape(2, 2, 2, 2).transpose(0, 2, 1, 3).reshape(2, 2, 4)
    np.testing.assert_array_equal(last.data["max"], blocks.max(-1))
    np.testing.assert_allclose(last.data["average"], blocks.mean(-1))
    first = next(f for f in lesson.frames if f.question is not None)
    step = first.data["step"]
    assert first.question.check(f"{step.argmax[0]},{step.argmax[1]}")
    assert f"< {int(step.max)}>" in text_of(lesson, lesson.frames.index(first)) or \
        f"<{int(step.max)}>" in text_of(lesson, lesson.frames.index(first))


def test_channels_sums_each_channel_then_adds_bias_and_relu():
    lesson = channels.build()
    image, kernel = channels.make_layer()
    step = lesson.frames[-2].data["step"]
    r, c, f = step.row, step.col, step.filter
    patch = image[r:r + 3, c:c + 3, :]
    per_channel = [(patch[:, :, ch] * kernel[:, :, ch, f]).sum() for ch in range(3)]
    np.testing.assert_allclose(step.channel_sums, per_channel)
    expected = max(sum(per_channel) + channels.BIAS[f], 0)
    assert step.output == expected
    out = lesson.frames[-1].data["output"]
    assert out.shape == (3, 3, channels.FILTERS)
    assert lesson.frames[-1].question.check("3x3x64")


def test_shapes_walks_the_seed_model_with_the_right_working():
    shapes.build()  # the model built before takes conv2d, max_pooling2d...
    lesson = shapes.build()
    final = lesson.frames[-1]
    rows = final.data["rows"]
    assert [r.name for r in rows[:3]] == ["conv2d", "max_pooling2d", "conv2d_1"]
    assert [r.output_shape for r in rows] == [
        (148, 148, 32), (74, 74, 32), (72, 72, 64), (36, 36, 64), (34, 34, 128),
        (17, 17, 128), (15, 15, 128), (7, 7, 128), (6272,), (512,), (1,)]
    assert final.data["total"] == 3_453_121
    text = text_of(lesson, len(lesson.frames) - 1)
    assert "floor((15 - 2) / 2) + 1 = 7" in text
    assert "(3*3*64 + 1) * 128 = 73,856" in text
    assert "3,453,121" in text


@pytest.mark.parametrize("name", ["tiny.convsim", "tiny.keras", "tiny.h5"])
def test_shapes_of_a_saved_model(tmp_path, name):
    """``lesson shapes --model`` on convsim's own file and on Keras's two."""
    from convsim import layers, models

    if name != "tiny.convsim":
        pytest.importorskip("h5py", reason="Keras files need h5py (pip install "
                            "'convsim[keras]')")
    model = models.Sequential()
    model.add(layers.Conv2D(4, (3, 3), activation="relu", input_shape=(12, 12, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    model.add(layers.Dense(3, activation="softmax"))
    path = tmp_path / name
    model.save(str(path))
    lesson = shapes.build(model=str(path))
    rows = lesson.frames[-1].data["rows"]
    assert [r.output_shape for r in rows] == [(10, 10, 4), (5, 5, 4), (100,), (3,)]
    assert lesson.frames[-1].data["total"] == model.count_params()


@pytest.mark.parametrize("lang, words", [
    ("en", "each value becomes value × 1/255 + (-1); with scale 1/255, pixels "
           "0..255 become 0..1"),
    ("ko", "각 값이 값 × 1/255 + (-1)이 됩니다; scale이 1/255이면 픽셀 0..255가 "
           "0..1이 됩니다"),
])
def test_shapes_explains_rescaling(tmp_path, lang, words):
    """The second edition's first layer, ``Rescaling(1./255)``: shape
    unchanged, no parameters, and what it does to the pixels."""
    from convsim import layers, models

    model = models.Sequential([layers.Input(shape=(8, 8, 3)),
                               layers.Rescaling(1.0 / 255, offset=-1),
                               layers.Conv2D(2, 3), layers.Flatten()])
    path = tmp_path / "rescaled.convsim"
    model.save(str(path))
    lesson = shapes.build(lang=lang, model=str(path))
    row = lesson.frames[-1].data["rows"][0]
    assert (row.kind, row.output_shape, row.params) == ("Rescaling", (8, 8, 3), 0)
    assert row.working == shapes.TEXT[lang]["unchanged"]
    assert words in row.caption
    assert row.caption == lesson.frames[1].caption


def test_feature_maps_use_a_real_digit_and_match_the_convolution():
    lesson = feature_maps.build()
    image = lesson.frames[0].data["image"]
    assert image.shape == (28, 28) and 0 <= image.min() and image.max() <= 1
    assert lesson.frames[0].data["label"] == 4
    maps = lesson.frames[-1].data["maps"]
    vertical = maps["vertical"]
    assert vertical.shape == (26, 26)
    r, c = 10, 9
    assert vertical[r, c] == pytest.approx(
        float((image[r:r + 3, c:c + 3] * feature_maps.FILTERS[0].weights).sum()),
        abs=1e-5)


def test_feature_maps_fall_back_to_a_drawn_digit(monkeypatch):
    import convsim.datasets.mnist as mnist

    def missing(*args, **kwargs):
        raise OSError("no sample")

    monkeypatch.setattr(mnist, "load_data", missing)
    image, label, source = feature_maps.load_digit()
    assert label == 4 and image.shape == (28, 28)
    assert "not found" in source


def test_cli_list_help_and_errors(capsys):
    console = capture_console()
    assert cli.main(["--list"], console=console) == 0
    listing = console.file.getvalue()
    for name in cli.LESSONS:
        assert name in listing
    assert cli.main(["convolushun"], console=console) == 2
    assert "Did you mean 'convolution'?" in capsys.readouterr().err
    assert cli.main(["feature-maps", "--size", "5"], console=console) == 2
    assert "fixed size" in capsys.readouterr().err
    assert cli.main(["pooling", "--size", "99"], console=console) == 2
    assert "between 2 and 12" in capsys.readouterr().err
    assert cli.main(["padding", "--model", "x"], console=console) == 2
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    assert "--no-animate" in capsys.readouterr().out


def test_cli_runs_a_lesson_in_a_pipe_and_via_python_m_convsim():
    from convsim import __main__ as top

    console = capture_console()
    assert cli.main(["stride", "--lang", "ko"], console=console) == 0
    out = console.file.getvalue()
    assert "스트라이드" in out and "floor((5 - 3) / 2) + 1 = 2" in out
    assert top.main(["lesson", "--list"]) == 0


def test_default_language_follows_the_locale():
    from convsim.lesson.words import default_lang

    assert default_lang({"LANG": "ko_KR.UTF-8"}) == "ko"
    assert default_lang({"LC_ALL": "en_US.UTF-8", "LANG": "ko_KR.UTF-8"}) == "en"
    assert default_lang({}) == "en"


@pytest.mark.slow
def test_gif_export_writes_an_animation(tmp_path):
    from PIL import Image

    path = tmp_path / "notes" / "stride.gif"
    console = capture_console()
    assert cli.main(["stride", "--size", "5", "--save", str(path)],
                    console=console) == 0
    assert "Saved" in console.file.getvalue()
    with Image.open(path) as gif:
        assert gif.format == "GIF"
        assert gif.n_frames == len(stride.build().frames) > 1
        gif.seek(3)
        assert gif.getbbox() is not None
    assert cli.main(["stride", "--save", str(tmp_path / "x.png")],
                    console=console) == 1


def test_player_rejects_bad_arguments():
    with pytest.raises(ValueError, match="`fps` must be a positive number"):
        Player(capture_console(), fps=0)
    with pytest.raises(ValueError, match="`mode` must be one of"):
        Player(capture_console(), mode="fast")
