"""The augmentation and overfitting lessons run non-interactively and their
frames show the right pictures and numbers."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from convsim.lessons import augmentation, overfitting
from PIL import Image
from rich.console import Console

from convsim import lesson as cli
from convsim.lesson.frames import compose
from convsim.lesson.player import Player


def capture_console(width: int = 100, colour: bool = False) -> Console:
    if colour:
        return Console(file=io.StringIO(), width=width, color_system="truecolor",
                       force_terminal=True)
    return Console(file=io.StringIO(), width=width, color_system=None,
                   force_terminal=False)


def text_of(lesson, index: int) -> str:
    console = capture_console()
    console.print(compose(lesson, index))
    return console.file.getvalue()


@pytest.fixture
def no_photos(tmp_path, monkeypatch):
    """No cats_and_dogs_small anywhere convsim would look."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("CONVSIM_DATA", raising=False)


@pytest.fixture
def photo(tmp_path):
    rng = np.random.default_rng(3)
    path = tmp_path / "my cat.png"
    Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(path)
    return path


def frame(lesson, key, value=None):
    return next(f for f in lesson.frames
                if key in f.data and (value is None or f.data[key] == value))


# ---------------------------------------------------------------- augmentation
def test_augmentation_falls_back_to_a_drawn_picture(no_photos):
    lesson = augmentation.build()
    first = lesson.frames[0]
    assert first.data["path"] is None
    assert first.data["photo"].shape == (150, 150, 3)
    np.testing.assert_array_equal(first.data["photo"], augmentation.drawn_picture())
    assert "drawn by convsim" in first.caption


def test_single_changes_move_the_pixels_as_the_captions_say(photo):
    lesson = augmentation.build(image=str(photo))
    original = lesson.frames[0].data["photo"]
    assert original.shape == (150, 150, 3)
    flip = frame(lesson, "kind", "flip").data["image"]
    np.testing.assert_array_equal(flip, original[:, ::-1])
    width = frame(lesson, "kind", "width")
    assert width.data["params"] == {"tx": 15.0}  # 0.1 x 150 pixels
    # output column c shows input column c + 15: the picture moved left
    np.testing.assert_array_equal(width.data["image"][:, :135], original[:, 15:])
    assert "tx = +15" in width.caption and "15 pixels to the left" in width.caption
    height = frame(lesson, "kind", "height")
    np.testing.assert_array_equal(height.data["image"][:135], original[15:])
    assert "15 pixels up" in height.caption
    rotation = frame(lesson, "kind", "rotation")
    assert rotation.data["params"] == {"theta": 30.0}
    assert "theta = +30°" in rotation.caption
    # Keras's rotation, by hand: output (x, y) samples the input at
    # centre + R(30°) (output - centre), bilinearly; checked away from borders
    a = np.radians(30.0)
    centre = 74.5
    for y, x in [(60, 70), (75, 75), (90, 80), (100, 50)]:
        sx = centre + np.cos(a) * (x - centre) - np.sin(a) * (y - centre)
        sy = centre + np.sin(a) * (x - centre) + np.cos(a) * (y - centre)
        x0, y0 = int(np.floor(sx)), int(np.floor(sy))
        fx, fy = sx - x0, sy - y0
        expected = ((1 - fy) * ((1 - fx) * original[y0, x0] + fx * original[y0, x0 + 1])
                    + fy * ((1 - fx) * original[y0 + 1, x0]
                            + fx * original[y0 + 1, x0 + 1]))
        np.testing.assert_allclose(rotation.data["image"][y, x], expected,
                                   rtol=1e-4, atol=1e-3)
    shear = frame(lesson, "kind", "shear")
    assert "0.52 pixels" in shear.caption  # 150 * sin(0.2 degrees)
    zoom_out = frame(lesson, "kind", "zoom_out").data["image"]
    # shrunk to 1/1.5: the border is made of repeated edge pixels
    np.testing.assert_array_equal(zoom_out[0, 0], original[0, 0])
    assert not np.array_equal(zoom_out, original)


def test_random_versions_follow_the_seed_and_the_ranges(no_photos):
    lesson = augmentation.build(seed=5)
    drawn = [f.data["params"] for f in lesson.frames if "random" in f.data]
    assert len(drawn) == augmentation.VARIANTS == 4
    for params in drawn:
        assert abs(params["theta"]) <= 30
        assert abs(params["tx"]) <= 15 and abs(params["ty"]) <= 15
        assert 0.5 <= params["zx"] <= 1.5 and 0.5 <= params["zy"] <= 1.5
    first = frame(lesson, "random", 1)
    assert f"rotation {drawn[0]['theta']:+.1f}°" in first.caption
    grid = frame(lesson, "grid")
    _, versions = augmentation.random_versions(augmentation.drawn_picture(), seed=5)
    for shown, expected in zip(grid.data["grid"], versions, strict=True):
        np.testing.assert_array_equal(shown, expected)
    other = augmentation.build(seed=6)
    assert frame(other, "random", 1).data["params"] != drawn[0]


def test_augmentation_cli_prints_and_saves_the_2x2_grid(photo, tmp_path):
    console = capture_console()
    assert cli.main(["augmentation", "--no-animate", "--image", str(photo)],
                    console=console) == 0
    out = console.file.getvalue()
    assert augmentation.TITLE["en"] in out and "my cat.png" in out
    assert "\x1b[" not in out
    grid = tmp_path / "figures" / "grid.png"
    assert cli.main(["augmentation", "--image", str(photo), "--save", str(grid)],
                    console=console) == 0
    assert f"Saved {grid}" in console.file.getvalue()
    with Image.open(grid) as picture:
        assert picture.size == (500, 500)  # the notes' figsize=(5, 5)
        pixels = np.asarray(picture.convert("L"))
    # four pictures: the quadrants are not blank
    for quadrant in (pixels[:250, :250], pixels[:250, 250:], pixels[250:, :250],
                     pixels[250:, 250:]):
        assert quadrant.std() > 10


def test_augmentation_uses_the_notes_photo_of_a_data_folder(tmp_path):
    root = tmp_path / "cats_and_dogs_small"
    for split in ("train", "validation", "test"):
        for cls in ("cats", "dogs"):
            (root / split / cls).mkdir(parents=True)
            for i in range(9):
                Image.new("RGB", (8, 8), (i * 20, 0, 0)).save(
                    root / split / cls / f"{cls}.{i}.jpg")
    lesson = augmentation.build(data=str(root))
    assert lesson.frames[0].data["path"].endswith("cats.7.jpg")  # fnames[7]
    console = capture_console()
    assert cli.main(["augmentation", "--data", str(tmp_path / "nowhere")],
                    console=console) == 1
    assert "cats_and_dogs_small" in console.file.getvalue()
    assert cli.main(["pooling", "--image", "x.png"], console=console) == 2


def test_photos_are_true_colour_half_blocks():
    pixels = np.array([[[255, 0, 0], [0, 255, 0]],
                       [[0, 0, 255], [10, 20, 30]]], np.uint8)
    console = capture_console(colour=True)
    console.print(augmentation.Photo(pixels))
    out = console.file.getvalue()
    assert out.count("▀") == 2
    assert "38;2;255;0;0" in out and "48;2;0;0;255" in out  # top red, bottom blue
    assert "38;2;0;255;0" in out and "48;2;10;20;30" in out
    plain = capture_console()
    plain.print(augmentation.Photo(pixels, "t"))
    assert "▀" not in plain.file.getvalue()


def test_augmentation_in_korean(no_photos):
    console = capture_console()
    result = augmentation.run(console=console, lang="ko")
    out = console.file.getvalue()
    assert "데이터 증식" in out and "원본" in out
    assert len(result.shown) == sum(f.key for f in augmentation.build().frames)


# ---------------------------------------------------------------- overfitting
def write_history(path, val_loss, acc, val_acc, **info):
    loss = list(np.linspace(0.7, 0.05, len(val_loss)))
    document = {"format": "convsim-history", "experiment": "cats-vs-dogs",
                "augment": False, "dropout": None, "epochs_planned": 30,
                "steps_per_epoch": 100, "batch_size": 20,
                "seconds_per_epoch": [190.0, 200.0], **info,
                "history": {"loss": loss, "acc": acc, "val_loss": val_loss,
                            "val_acc": val_acc}}
    path.write_text(json.dumps(document))
    return document


def test_overfitting_finds_the_best_epoch_and_the_gap(tmp_path):
    path = tmp_path / "plain.history.json"
    write_history(path, val_loss=[0.69, 0.62, 0.58, 0.60, 0.66, 0.75],
                  acc=[0.55, 0.65, 0.75, 0.85, 0.92, 0.97],
                  val_acc=[0.52, 0.63, 0.68, 0.70, 0.71, 0.72],
                  test={"loss": 0.7, "acc": 0.705})
    lesson = overfitting.build(history=str(path))
    intro = lesson.frames[0].caption
    assert "the plain convnet" in intro and "6 epoch(s) of 30 planned" in intro
    assert "195 s per epoch" in intro
    best = frame(lesson, "best_epoch")
    assert best.data["best_epoch"] == 3 and best.data["min_val_loss"] == 0.58
    assert "lowest at epoch 3 (0.5800)" in best.caption
    assert "rose to 0.7500" in best.caption
    gap = frame(lesson, "gap")
    assert gap.data["gap"] == pytest.approx(0.25)
    assert gap.data["verdict"] == "gap_clear"
    assert "97.0%" in gap.caption and "72.0%" in gap.caption
    assert "25.0 points" in gap.caption and "70.5%" in gap.caption  # test photos
    epochs = [f.data["epoch"] for f in lesson.frames if "epoch" in f.data]
    assert epochs == [1, 2, 3, 4, 5, 6]
    fourth = frame(lesson, "epoch", 4)
    assert fourth.data["val_acc"] == 0.70
    assert "gap 15.0 points" in fourth.caption
    # the chart of epoch 4 has marks, the first frame's is empty
    def marks(index):
        chart = text_of(lesson, index).split("╭")[0]
        return chart.count("o") + chart.count("*")

    assert marks(lesson.frames.index(fourth)) >= marks(0) + 4


def test_overfitting_quiz_asks_for_the_best_epoch(tmp_path):
    path = tmp_path / "h.json"
    write_history(path, val_loss=[0.69, 0.62, 0.58, 0.60],
                  acc=[0.5, 0.6, 0.7, 0.8], val_acc=[0.5, 0.6, 0.65, 0.66])
    answers = iter(["3"])
    player = Player(capture_console(), quiz=True, ask=lambda prompt: next(answers))
    result = overfitting.run(history=str(path), player=player)
    assert result.asked == 1 and result.right == 1


def test_overfitting_says_when_there_is_none_yet(tmp_path):
    path = tmp_path / "aug.history.json"
    write_history(path, val_loss=[0.69, 0.60, 0.55, 0.50],
                  acc=[0.55, 0.62, 0.68, 0.72], val_acc=[0.56, 0.64, 0.70, 0.74],
                  augment=True, dropout=0.5, interrupted=True)
    lesson = overfitting.build(history=str(path), lang="ko")
    assert "데이터 증식 + 드롭아웃 0.5" in lesson.frames[0].caption
    assert "중간에 멈춤" in lesson.frames[0].caption
    best = frame(lesson, "best_epoch")
    assert best.data["best_epoch"] == 4
    assert "마지막 에포크에서 가장 낮습니다" in best.caption
    assert frame(lesson, "gap").data["verdict"] == "gap_small"


def test_long_histories_are_revealed_in_chunks_and_fit_80_columns(tmp_path):
    n = 100
    logs = {"loss": list(np.linspace(0.7, 0.3, n)),
            "acc": list(np.linspace(0.5, 0.9, n)),
            "val_loss": list(np.linspace(0.7, 0.45, n)),
            "val_acc": list(np.linspace(0.5, 0.8, n))}
    lesson = overfitting.build(logs=logs)
    reveals = [f.data["epoch"] for f in lesson.frames if "epoch" in f.data]
    assert len(reveals) == overfitting.MAX_REVEALS and reveals[-1] == n
    console = capture_console(width=80)
    console.print(compose(lesson, len(lesson.frames) - 2))
    assert all(len(line) <= 80 for line in console.file.getvalue().splitlines())


def test_overfitting_refuses_histories_without_validation(tmp_path):
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"loss": [0.5, 0.4], "acc": [0.6, 0.7]}))
    with pytest.raises(ValueError, match="validation"):
        overfitting.build(history=str(path))
    console = capture_console()
    assert cli.main(["overfitting", "--history", str(path)], console=console) == 1
    assert "error" in console.file.getvalue()


@pytest.mark.slow
def test_the_built_in_run_overfits(monkeypatch):
    """The few-second run on 200 bundled digits shows the lesson's point."""
    logs = overfitting.short_run()
    assert len(logs["loss"]) == overfitting.SHORT_RUN["epochs"]
    assert logs["acc"][-1] - logs["val_acc"][-1] >= overfitting.CLEAR_GAP
    assert logs["acc"][-1] > 0.95
    lesson = overfitting.build(logs=logs)
    assert frame(lesson, "gap").data["verdict"] == "gap_clear"
    assert "200" in lesson.frames[0].caption


def test_overfitting_cli_without_history_in_a_pipe(monkeypatch):
    monkeypatch.setitem(overfitting.SHORT_RUN, "epochs", 2)
    monkeypatch.setitem(overfitting.SHORT_RUN, "validation", 50)
    console = capture_console()
    assert cli.main(["overfitting", "--no-animate", "--lang", "ko"],
                    console=console) == 0
    out = console.file.getvalue()
    assert "과대적합" in out and "200개" in out and "\x1b[" not in out


def test_tiny_losses_are_not_rounded_to_zero():
    logs = {"loss": [0.7, 0.3, 2.7778e-05], "acc": [0.5, 0.8, 1.0],
            "val_loss": [0.6, 0.8, 2.97], "val_acc": [0.6, 0.68, 0.684]}
    best = frame(overfitting.build(logs=logs), "best_epoch")
    assert "fell from 0.7000 to 2.7778e-05" in best.caption
