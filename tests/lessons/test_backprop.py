"""The backprop lesson: it plays in both languages, every gradient it shows is
the one the real layers and a real training step compute, max pooling's
gradient reaches only winners, ReLU blocks it where z <= 0, the SGD frame's
new weights are what ``train_on_batch`` writes, and its frames fit in 80
columns."""

from __future__ import annotations

import io

import numpy as np
import pytest
from convsim.lessons import backprop
from rich.cells import cell_len
from rich.console import Console

from convsim import layers, models, optimizers
from convsim import lesson as cli
from convsim.kernels import reference
from convsim.lesson.frames import compose
from convsim.lesson.player import Player


def capture_console(width: int = 100) -> Console:
    return Console(file=io.StringIO(), width=width, color_system=None,
                   force_terminal=False)


def frames_with(lesson, key: str) -> list:
    return [f for f in lesson.frames if key in f.data]


def the_pass(lesson):
    return frames_with(lesson, "backprop")[0].data["backprop"]


def book_network(kernel, bias):
    """The lesson's network as a compiled model, built here from the layers."""
    model = models.Sequential([layers.Input(shape=(None, None, 1)),
                               layers.Conv2D(1, 3), layers.Activation("relu"),
                               layers.MaxPooling2D(2)])
    model.layers[0].set_weights([kernel, bias])
    model.compile(optimizer=optimizers.SGD(learning_rate=backprop.LEARNING_RATE),
                  loss="mean_squared_error")
    return model


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_lesson_plays_its_key_frames_in_both_languages(lang):
    console = capture_console()
    result = backprop.run(console=console, lang=lang)
    out = console.file.getvalue()
    lesson = backprop.build(lang=lang)
    assert result.shown and not result.quit
    assert len(result.shown) == sum(f.key for f in lesson.frames) >= 10
    assert backprop.TITLE[lang] in out and "\x1b[" not in out
    assert "dL/dw[0, 0] =" in out and "dL/db =" in out
    if lang == "ko":
        assert "역전파" in out and "기울기" in out and "옵티마이저" in out


@pytest.mark.parametrize("seed, size", [(None, None), (3, 4), (7, 5), (11, 7)])
def test_every_gradient_shown_is_the_real_training_steps(seed, size):
    """The frames' numbers against a compiled model doing one train_on_batch:
    the loss, every dL/dw (the SGD step divided by the learning rate), dL/db,
    and the new weights of the SGD frame."""
    lesson = backprop.build(seed=seed, size=size)
    done = the_pass(lesson)
    conv_back = done.backward[0]
    kernel, bias = conv_back.forward.kernel.copy(), conv_back.forward.bias.copy()
    model = book_network(kernel, bias)
    x, t = done.inputs[0][None], done.target[None]
    assert model.evaluate(x, t, verbose=0) == pytest.approx(done.loss)
    model.train_on_batch(x, t)
    new_kernel, new_bias = model.layers[0].get_weights()
    lr = np.float32(backprop.LEARNING_RATE)
    for frame in frames_with(lesson, "weight"):
        step = frame.data["weight"]
        i, j, _, _ = step.tap
        assert step.total == step.layer_grad
        want = new_kernel[i, j, 0, 0]
        assert kernel[i, j, 0, 0] - lr * np.float32(step.total) == want
    bias_step = frames_with(lesson, "bias")[0].data["bias"]
    assert bias[0] - lr * np.float32(bias_step.total) == new_bias[0]
    sgd = next(f.data for f in frames_with(lesson, "update")
               if f.data["step"].optimizer == "SGD")
    np.testing.assert_array_equal(sgd["update"].after[0], new_kernel)
    np.testing.assert_array_equal(sgd["update"].after[1], new_bias)
    assert sgd["loss_after"] == pytest.approx(model.evaluate(x, t, verbose=0))
    assert len(frames_with(lesson, "weight")) == 9


def test_the_rmsprop_frame_is_rmsprops_step():
    lesson = backprop.build()
    done = the_pass(lesson)
    frame = next(f for f in frames_with(lesson, "update")
                 if f.data["step"].optimizer == "RMSprop")
    conv = layers.Conv2D(1, 3)
    conv.build((None, None, None, 1))
    conv.set_weights([done.backward[0].forward.kernel, np.zeros(1)])
    conv.kernel.grad, conv.bias.grad = (done.backward[0].kernel_grad,
                                        done.backward[0].bias_grad)
    optimizers.RMSprop().apply([conv.kernel.grad, conv.bias.grad], conv.weights)
    np.testing.assert_array_equal(frame.data["update"].after[0], conv.kernel.value)
    step = frame.data["step"]
    assert step.slots["velocity"] == pytest.approx(0.1 * step.grad ** 2)
    assert abs(step.change) == pytest.approx(0.001 * np.sqrt(10), rel=1e-3)
    assert "√" in frame.caption and "0.00316" in frame.caption


@pytest.mark.parametrize("seed", [None, 1, 2])
def test_pooling_sends_the_gradient_only_to_winners(seed):
    lesson = backprop.build(seed=seed)
    pool_back = the_pass(lesson).backward[2]
    grad_a = pool_back.grad_inputs[:, :, 0]
    winners = set()
    for frame in frames_with(lesson, "window"):
        step = frame.data["window"]
        winners.add(step.winner)
        assert grad_a[step.winner] == step.grad
        assert np.count_nonzero(step.sent) <= 1
    assert {tuple(int(i) for i in c) for c in zip(*np.nonzero(grad_a),
                                                   strict=True)} <= winners
    assert len(frames_with(lesson, "window")) == len(pool_back.windows)


@pytest.mark.parametrize("seed", [None, 4])
def test_relu_blocks_where_z_was_not_positive(seed):
    lesson = backprop.build(seed=seed)
    frame = frames_with(lesson, "relu")[0]
    relu_back, focus = frame.data["relu"], frame.data["focus"]
    z, dz = relu_back.inputs, relu_back.grad_inputs
    assert not dz[z <= 0].any()
    np.testing.assert_array_equal(dz[z > 0], relu_back.grad_outputs[z > 0])
    assert focus.layer_grad == (focus.grad if focus.pre_activation > 0 else 0)
    if not focus.passes:  # the example's blocked winner: its gradient stops here
        assert focus.grad != 0 and "blocked" in frame.caption


@pytest.mark.parametrize("size", range(backprop.SIZE[1], backprop.SIZE[2] + 1))
def test_every_example_shows_a_gradient_passing_and_one_blocked(size):
    for seed in (None, *range(8)):
        done = backprop.make_example(size, seed)
        relu_back, pool_back = done.backward[1], done.backward[2]
        passes = [relu_back.step(*w.winner, 0).passes for w in pool_back.windows]
        assert any(passes)
        if len(passes) > 1:
            assert not all(passes)
        grads = done.backward[0].kernel_grad
        assert np.array_equal(grads, np.round(grads))  # small whole numbers


def test_the_input_gradient_is_a_full_convolution_with_the_filter_turned():
    """What the cells_done frame says: dL/dz padded with 2 zeros, convolved
    with the filter turned by 180 degrees, is dL/dx."""
    lesson = backprop.build()
    conv_back = the_pass(lesson).backward[0]
    dz = conv_back.grad_pre_activation[None]
    turned = conv_back.forward.kernel[::-1, ::-1]
    out_hw = conv_back.grad_inputs.shape[:2]
    full = reference.conv2d(dz, turned, np.zeros(1), (1, 1), (2, 2, 2, 2), (1, 1),
                            out_hw)
    np.testing.assert_array_equal(full[0], conv_back.grad_inputs)
    np.testing.assert_array_equal(
        frames_with(lesson, "grad_inputs")[0].data["grad_inputs"],
        conv_back.grad_inputs)
    for frame in frames_with(lesson, "cell"):
        step = frame.data["cell"]
        assert step.total == step.layer_grad


def test_the_quiz_accepts_the_right_answers_and_counts_them():
    lesson = backprop.build()
    questions = [f.question for f in lesson.frames if f.question]
    assert len(questions) == 6
    answers = iter(q.answer for q in questions)
    result = Player(capture_console(), quiz=True,
                    ask=lambda prompt: next(answers)).play(lesson)
    assert (result.asked, result.right) == (6, 6)
    for q in questions:
        assert not q.check("12345")


def test_every_frame_fits_in_80_columns():
    for size in (backprop.SIZE[0], backprop.SIZE[2]):
        for lang in ("en", "ko"):
            lesson = backprop.build(lang=lang, size=size)
            for i in range(len(lesson.frames)):
                console = capture_console(width=200)
                console.print(lesson.frames[i].render())
                widest = max(cell_len(line) for line in
                             console.file.getvalue().splitlines())
                assert widest <= 80, (size, lang, i)
                text = capture_console(80)
                text.print(compose(lesson, i))
                assert text.file.getvalue().strip()


def test_size_and_seed_change_the_example():
    small = the_pass(backprop.build(size=4))
    assert small.inputs[0].shape == (4, 4, 1) and small.outputs.shape == (1, 1, 1)
    default, other = the_pass(backprop.build()), the_pass(backprop.build(seed=5))
    assert not np.array_equal(default.inputs[0], other.inputs[0])


def test_the_command_line_runs_it():
    console = capture_console()
    assert cli.main(["backprop", "--lang", "ko", "--seed", "2"], console=console) == 0
    assert "역전파" in console.file.getvalue()


def test_your_model_is_taken_through_the_same_steps(trained_mnist, tmp_path):
    """--model FILE: the first Conv2D layer's gradient in the frames is what a
    copy of the model, trained one step with SGD(1), changes its kernel by."""
    path = tmp_path / "my mnist.convsim"
    trained_mnist.save(str(path))
    console = capture_console(width=400)
    assert cli.main(["backprop", "--model", str(path)], console=console) == 0
    out = console.file.getvalue()
    assert "your model" in out and "my mnist.convsim" in out and "RMSprop" in out
    lesson = backprop.build(model=str(path), lang="ko")
    done = frames_with(lesson, "model_backprop")[0].data["model_backprop"]
    step = frames_with(lesson, "model_weight")[0].data["model_weight"]
    assert step.total == pytest.approx(step.layer_grad, rel=1e-4, abs=1e-7)
    copy = models.load_model(str(path))
    before = copy.layers[0].get_weights()[0]
    copy.compile(optimizer=optimizers.SGD(learning_rate=1.0),
                 loss="categorical_crossentropy")
    assert copy.evaluate(done.inputs[0][None], done.target[None],
                         verbose=0) == pytest.approx(done.loss, rel=1e-5)
    copy.train_on_batch(done.inputs[0][None], done.target[None])
    moved = before - copy.layers[0].get_weights()[0]
    np.testing.assert_allclose(moved, done.backward[0].kernel_grad, rtol=1e-3,
                               atol=1e-6)
    i, j, _, f = step.tap
    assert abs(moved[i, j, 0, f]) == np.abs(moved[:, :, 0, f]).max()
    update = frames_with(lesson, "model_update")[0].data["model_update"]
    assert update.optimizer == "RMSprop" and update.before == before[i, j, 0, f]


def test_a_model_without_conv2d_is_refused():
    model = models.Sequential([layers.Input(shape=(4, 4, 1)), layers.Flatten(),
                               layers.Dense(2, activation="softmax")])
    with pytest.raises(ValueError, match="`model` must have a Conv2D layer"):
        backprop.build(model=model, image=np.zeros((4, 4, 1)))


@pytest.mark.slow
def test_it_saves_a_gif(tmp_path):
    from PIL import Image

    path = tmp_path / "backprop.gif"
    assert cli.main(["backprop", "--size", "4", "--save", str(path)],
                    console=capture_console()) == 0
    with Image.open(path) as gif:
        assert gif.n_frames == len(backprop.build(size=4).frames)
