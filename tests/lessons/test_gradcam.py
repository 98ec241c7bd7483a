"""Grad-CAM (convsim.trace.gradcam) and the gradcam lesson: the map is
non-negative, input-sized and in 0..1; it is exact on hand-set weights and
all zeros (no NaN, no warning) when nothing speaks for the class; on a convnet
trained in a second to tell a bright bar's shape, it peaks on the bar and not
on a dim distractor; the upsampling is PyTorch's bilinear; the lesson builds
on the trained MNIST convnet in English and Korean."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from convsim.lessons import gradcam
from rich.console import Console
from rich.measure import Measurement

from convsim import layers, models, optimizers
from convsim.errors import ArgumentError
from convsim.lesson.frames import compose
from convsim.lesson.josa import attach
from convsim.trace.gradcam import grad_cam, predicted_class, resize_bilinear
from convsim.trace.gradients import class_score, gradient
from convsim.utils import set_random_seed

# ---------------------------------------------------------------- hand-set


def bright_detector(left_weight: float = 1.0):
    """A 1x1 convolution that keeps only bright pixels (relu(x - 0.7)), then
    a Dense layer: class 0 adds up the left half, class 1 the right half."""
    model = models.Sequential([layers.Input(shape=(16, 16, 1)),
                               layers.Conv2D(1, 1, activation="relu", name="last"),
                               layers.Flatten(),
                               layers.Dense(2, activation="softmax", name="out")])
    left = np.zeros((16, 16), np.float32)
    left[:, :8] = 1
    kernel = np.stack([left_weight * left.ravel(), 1 - left.ravel()], axis=1)
    model.set_weights([np.ones((1, 1, 1, 1)), np.array([-0.7]), kernel,
                       np.zeros(2)])
    return model


def squares_image(bright_left: bool = True):
    x = np.full((16, 16, 1), 0.05, np.float32)
    bright, dim = ((slice(2, 6), slice(10, 14)) if not bright_left
                   else (slice(6, 10), slice(2, 6))), (slice(9, 13), slice(10, 14))
    x[dim] = 0.5
    x[bright] = 1.0
    return x, bright


def test_hand_set_weights_give_exactly_the_bright_square():
    model = bright_detector()
    x, bright = squares_image()
    cam = grad_cam(model, x)
    assert (cam.index, cam.sign, cam.layer) == (0, 1, "last")
    np.testing.assert_allclose(cam.score, 0.3 * 16, rtol=1e-5)  # the logit
    np.testing.assert_allclose(cam.weights, [0.5])  # half the cells weigh 1
    expected = np.zeros((16, 16))
    expected[bright] = 1.0
    np.testing.assert_allclose(cam.cam, expected, atol=1e-6)
    np.testing.assert_allclose(cam.heatmap, expected, atol=1e-6)  # 16 -> 16
    assert cam.heatmap.shape == x.shape[:2]


def test_nothing_for_the_class_gives_zeros_without_nan():
    x, _ = squares_image()
    x[x > 0.7] = 0.6  # no bright pixel: every map is 0, so every product is 0
    cam = grad_cam(bright_detector(), x, index=0)
    assert cam.peak == 0 and not np.isnan(cam.heatmap).any()
    assert np.all(cam.cam == 0) and np.all(cam.heatmap == 0)
    y, _ = squares_image()  # bright, but the class's weights are negative
    cam = grad_cam(bright_detector(left_weight=-1.0), y, index=0)
    assert cam.raw.min() < 0 and cam.peak == 0 and np.all(cam.heatmap == 0)


# ---------------------------------------------------------------- trained


def bars(n: int, rng):
    """16x16 images: a bright horizontal bar (class 0) or vertical bar (class
    1) somewhere, and a dim 4x4 square somewhere else. The bar's shape decides
    the class, wherever it is, so its evidence is the same in every place."""
    x = rng.uniform(0, 0.1, (n, 16, 16, 1)).astype(np.float32)
    y = rng.integers(0, 2, n)
    boxes = []
    for i in range(n):
        h, w = (2, 6) if y[i] == 0 else (6, 2)
        while True:
            r, c = rng.integers(0, 17 - h), rng.integers(0, 17 - w)
            r2, c2 = rng.integers(0, 13, 2)
            if r2 + 4 <= r or r + h <= r2 or c2 + 4 <= c or c + w <= c2:
                break
        x[i, r2:r2 + 4, c2:c2 + 4] = 0.5
        x[i, r:r + h, c:c + w] = 1.0
        boxes.append(((r, c, h, w), (r2, c2)))
    return x, np.eye(2, dtype=np.float32)[y], boxes


def test_on_a_trained_convnet_the_map_peaks_on_the_deciding_bar():
    """About 65 training steps (well under a second)."""
    set_random_seed(0)
    x, y, _ = bars(400, np.random.default_rng(0))
    model = models.Sequential([
        layers.Input(shape=(16, 16, 1)),
        layers.Conv2D(8, 3, activation="relu", padding="same"),
        layers.MaxPooling2D(2),
        layers.Conv2D(8, 3, activation="relu", padding="same", name="last"),
        layers.Flatten(),
        layers.Dense(2, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.01), loss="categorical_crossentropy")
    model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    test, labels, boxes = bars(30, np.random.default_rng(100))
    assert (model.predict(test, verbose=0).argmax(1) == labels.argmax(1)).mean() > 0.9
    on_bar = 0
    for image, label, ((r, c, h, w), (r2, c2)) in zip(test, labels, boxes,
                                                       strict=True):
        cam = grad_cam(model, image, index=int(label.argmax()))
        assert cam.heatmap.shape == (16, 16) and cam.heatmap.min() >= 0
        assert cam.cam.max() == 1.0 and cam.heatmap.max() <= 1.0
        assert cam.cam.shape == (8, 8)
        peak_r, peak_c = np.unravel_index(np.argmax(cam.heatmap), (16, 16))
        near = r - 2 <= peak_r < r + h + 2 and c - 2 <= peak_c < c + w + 2
        hotter = (cam.heatmap[r:r + h, c:c + w].mean()
                  > cam.heatmap[r2:r2 + 4, c2:c2 + 4].mean())
        on_bar += near and hotter
    assert on_bar >= 27  # 30 of 30 when measured


def test_the_maps_weights_and_sum_are_grad_cams(trained_mnist):
    from convsim.experiments.your_model import sample_digit

    image = sample_digit(3)[0][:, :, None]
    cam = grad_cam(trained_mnist, image, index=5)
    conv = trained_mnist.get_layer(cam.layer)
    probe = models.Model(trained_mnist.input, conv.output)
    np.testing.assert_allclose(cam.maps, probe.predict(image[None], verbose=0)[0],
                               rtol=1e-6)
    direct = gradient(trained_mnist, image[None], class_score(trained_mnist, 5),
                      wrt=conv)
    np.testing.assert_allclose(cam.grads, direct.grad[0], rtol=1e-6)
    np.testing.assert_allclose(cam.weights, cam.grads.mean(axis=(0, 1)))
    np.testing.assert_allclose(cam.raw, (cam.maps * cam.weights).mean(axis=-1))
    assert 0 <= cam.heatmap.min() and cam.heatmap.max() <= 1
    index, sign, probabilities = predicted_class(trained_mnist, image)
    assert sign == 1 and index == int(np.argmax(probabilities))


@pytest.mark.parametrize("shape, size", [((3, 3), (28, 28)), ((15, 15), (150, 150)),
                                         ((4, 7), (9, 5)), ((6, 6), (3, 3))])
def test_bilinear_resize_is_pytorchs_align_corners_false(shape, size):
    torch = pytest.importorskip("torch")
    values = np.random.default_rng(0).uniform(0, 1, shape)
    expected = torch.nn.functional.interpolate(
        torch.tensor(values)[None, None], size=size, mode="bilinear",
        align_corners=False)[0, 0].numpy()
    np.testing.assert_allclose(resize_bilinear(values, size), expected, atol=1e-12)


# ---------------------------------------------------------------- the lesson

ALLOWED_IN_KOREAN = re.compile(r"(conv2d|sequential)(_\d+)?|Grad-CAM|ReLU|MNIST|"
                               r"convsim|cv2\.COLORMAP_JET|cv2\.resize|save|cam\.png|image|PATH|last")


def check_frames(lesson, lang: str) -> None:
    console = Console(file=io.StringIO(), width=80, color_system="truecolor",
                      force_terminal=True)
    for i, frame in enumerate(lesson.frames):
        assert Measurement.get(console, console.options,
                               frame.render()).maximum <= 80, i
        console.print(compose(lesson, i))
        if lang == "ko":
            text = frame.caption + (frame.question.prompt if frame.question else "")
            stray = [w for w in re.findall(r"[A-Za-z][A-Za-z0-9_.\-]+", text)
                     if not ALLOWED_IN_KOREAN.fullmatch(w)]
            assert not stray, (i, stray, text)


@pytest.fixture(scope="module")
def lessons(trained_mnist):
    return {lang: gradcam.build(lang=lang) for lang in ("en", "ko")}


def test_lesson_explains_the_predicted_digit_and_the_runner_up(lessons,
                                                               trained_mnist):
    lesson = lessons["en"]
    first = lesson.frames[0].data
    probabilities = first["probabilities"]
    assert first["index"] == int(np.argmax(probabilities))
    cam = lesson.frames[-1].data["cam"]
    again = grad_cam(trained_mnist, first["image"], index=first["index"])
    np.testing.assert_array_equal(cam.heatmap, again.heatmap)
    other = next(f.data["other"] for f in lesson.frames if "other" in f.data)
    assert other.index == int(np.argsort(-probabilities)[1])
    question = next(f.question for f in lesson.frames if f.question)
    assert question.check("3x3") and not question.check("28x28")
    assert "the digit 9" in lesson.frames[0].caption  # the bundled test digit 0


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_lesson_frames_fit_80_columns_and_korean_is_korean(lessons, lang):
    check_frames(lessons[lang], lang)


def tiny_cats_model():
    """A one-sigmoid-unit model like the book's cats vs dogs, small."""
    model = models.Sequential([layers.Input(shape=(20, 20, 3)),
                               layers.Conv2D(4, 3, activation="relu", name="c"),
                               layers.MaxPooling2D(2),
                               layers.Conv2D(4, 3, activation="relu", name="last"),
                               layers.Flatten(), layers.Dropout(0.5),
                               layers.Dense(1, activation="sigmoid")])
    rng = np.random.default_rng(3)
    model.set_weights([rng.normal(0.0, 0.3, w.shape) for w in model.get_weights()])
    return model


def test_a_binary_model_explains_dog_and_cat_with_the_logit_and_its_negative():
    model = tiny_cats_model()
    photo = np.random.default_rng(4).uniform(0, 1, (20, 20, 3)).astype(np.float32)
    p_dog = float(model.predict(photo[None], verbose=0)[0, 0])
    assert 0.01 < p_dog < 0.999
    for target, sign in (("1", 1), ("0", -1)):
        lesson = gradcam.build(model=model, image=photo, target=target, lang="ko")
        cam = lesson.frames[-1].data["cam"]
        assert cam.sign == sign and cam.index == 0
        np.testing.assert_allclose(cam.score, sign * np.log(p_dog / (1 - p_dog)),
                                   rtol=1e-3)
        other = next(f.data["other"] for f in lesson.frames if "other" in f.data)
        assert other.sign == -sign
        check_frames(lesson, "ko")
    assert "모델이 고양이를 찾은 곳" in lesson.frames[-3].caption  # target 0: cat
    assert "그리고 개(" in lesson.frames[-2].caption


def test_bad_choices_are_refused_clearly():
    model = tiny_cats_model()
    photo = np.zeros((20, 20, 3), np.float32)
    with pytest.raises(ArgumentError, match=r"--target must be a class of the "
                                            r"model: 0 \(cat\) or 1 \(dog\). "
                                            r"Received: --target '2'"):
        gradcam.build(model=model, image=photo, target="2")
    with pytest.raises(ArgumentError, match=r"The bundled digits are 28×28×1, and "
                                            r"the model takes 20×20×3 images: give "
                                            r"one with --image PATH"):
        gradcam.build(model=model)


@pytest.mark.parametrize("word, expected", [
    ("숫자 0", "숫자 0을"), ("숫자 2", "숫자 2를"), ("숫자 3", "숫자 3을"),
    ("숫자 9", "숫자 9를"), ("고양이", "고양이를"), ("개", "개를"),
    ("클래스 6", "클래스 6을"), ("사진", "사진을")])
def test_korean_object_particle_follows_the_last_sound(word, expected):
    assert attach(word, "(을)를") == expected
    lesson = gradcam.TEXT["ko"]["overlay"]
    assert "{cls}(을)를" in lesson  # say() chooses it (convsim.lesson.josa)


@pytest.mark.slow  # matplotlib's first import
def test_save_figure_draws_image_map_and_overlay(tmp_path, trained_mnist):
    path = gradcam.save_figure(tmp_path / "cam.png", target="4")
    from PIL import Image

    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.size[0] > 3 * picture.size[1] / 2
