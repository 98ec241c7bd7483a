"""``python -m convsim explain``: one number of a model worked out on the
command line, in English and Korean, and its picture with ``--save``.

Most tests use a small untrained model saved to a temporary file (the
working and the check are the same for any weights); one runs the trained
MNIST convnet of the session (``trained_mnist``) with no MODEL, as a learner
would.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from rich.console import Console

from convsim import layers, models
from convsim.__main__ import main as convsim_main
from convsim.experiments import explain_cli
from convsim.experiments.explain_cli import main

#: English words that must not appear in Korean output.
ENGLISH = re.compile(r"\b(the|of|rows?|cols?|channels?|window|products?|sum|"
                     r"bias|model|image|input|field|layers?|predict gives)\b")


def run(argv, width: int = 160) -> tuple[int, str]:
    """The exit status and the output, on a console wide enough that no
    sentence beside the picture is wrapped."""
    out = io.StringIO()
    code = main(argv, console=Console(file=out, width=width, color_system=None))
    return code, out.getvalue()


@pytest.fixture
def small_model(tmp_path):
    """A small untrained convnet for 28x28 digits, saved in convsim's format."""
    net = models.Sequential([
        layers.Input(shape=(28, 28, 1)),
        layers.Conv2D(4, 3, activation="relu", name="conv"),
        layers.MaxPooling2D(2, name="pool"),
        layers.Conv2D(3, 3, strides=2, padding="same", name="conv_2"),
        layers.Flatten(name="flat"),
        layers.Dense(5, activation="softmax", name="out")], name="small")
    path = tmp_path / "small.convsim"
    net.save(path)
    return str(path)


def test_a_conv_cell_is_worked_out_and_checked(small_model):
    code, text = run([small_model, "--layer", "conv_2", "--at", "3,2,1"])
    assert code == 0, text
    assert "conv_2 · Conv2D 3×3, 3 filters, stride 2, padding 'same', linear" in text
    assert "row 3, col 2, filter 1 of its 7×7×3 output" in text
    assert "Its window: rows 5–7, cols 3–5 of pool's output (13×13×4), all 4 " \
           "channels: 36 products." in text
    assert "sum of the 4 channels = " in text and "(no activation)" in text
    assert "✔ model.predict gives" in text
    assert "Image: test digit 0 of convsim's bundled MNIST sample (a 9)" in text


def test_without_at_the_largest_number_is_explained(small_model):
    code, text = run([small_model, "--layer", "out"])
    assert code == 0
    assert re.search(r"No --at given: the largest number of out is explained, at "
                     r"unit \d\.", text)
    assert "softmax:" in text and "✔" in text


def test_without_layer_the_layers_are_listed_with_a_command_to_copy(small_model):
    code, text = run([small_model])
    assert code == 0
    assert re.search(r"3\s+flat\s+Flatten\s+147\s+\(passes numbers on", text)
    assert re.search(r"0\s+conv\s+Conv2D\s+26×26×4\s+ROW,COL,CHANNEL", text)
    command = re.search(r"For example: (.*)", text).group(1)
    assert command == f"python -m convsim explain {small_model} --layer conv_2 " \
                      f"--at 3,3,0"
    code, _ = run(command.split()[4:])  # after "python -m convsim explain"
    assert code == 0


def test_korean_says_everything_in_korean(small_model):
    code, text = run([small_model, "--layer", "pool", "--at", "2,3,1", "--lang",
                      "ko"])
    assert code == 0
    assert "출력 13×13×4의 행 2, 열 3, 채널 1" in text
    assert "수용 영역: 이미지의 행 4–7, 열 6–9 (4×4 픽셀)." in text
    assert "최대 풀링은 윈도우에서 가장 큰 값을 남깁니다:" in text
    assert "✔ model.predict가 이 칸에 준 값도" in text
    prose = re.sub(r"model\.predict|MaxPooling2D|MNIST", "",
                   text.replace(small_model, ""))
    assert not ENGLISH.search(prose), ENGLISH.search(prose)


def test_korean_lists_the_layers(small_model):
    code, text = run([small_model, "--lang", "ko"])
    assert code == 0 and "예: python -m convsim explain" in text
    assert "(숫자를 그대로 넘기는 층: 설명할 계산 없음)" in text


@pytest.mark.parametrize("argv, message", [
    (["--layer", "cnov"], r"`layer` must be the name or index of a layer of model "
                          r"'small': conv \(26, 26, 4\).*Did you mean 'conv'\?"),
    (["--layer", "flat"], r"Layer 'flat' is a Flatten"),
    (["--layer", "9"], r"index in \[0, 4\]"),
    (["--layer", "conv", "--at", "26,0,0"],
     r"whose output has shape \(26, 26, 4\): row in \[0, 25\]"),
    (["--layer", "out", "--at", "1,2"], r"`at` must be \(unit,\): 1 number"),
    (["--layer", "conv", "--at", "1,x"], r"argument --at: expected whole numbers "
                                         r"separated by commas"),
    (["--image", "a.png", "--seed", "3"], r"--seed picks one of the bundled digits"),
    (["--layer", "pool", "--at", "20,0,0", "--lang", "ko"],
     r"--at에는 pool 층의 출력 13×13×4 안의 칸을 주세요: 행 0–12, 열 0–12, "
     r"채널 0–3. 받은 값: 20,0,0"),
    (["--layer", "nope", "--lang", "ko"], r"--layer에는 이 모델의 층 이름이나 "
                                          r"번호를 주세요: conv \(26, 26, 4\)"),
    (["--layer", "flat", "--lang", "ko"], r"flat 층\(Flatten\)은 숫자를 그대로 "
                                          r"넘기기만 해서"),
])
def test_a_wrong_layer_or_cell_is_a_usage_error_in_one_line(small_model, capsys,
                                                            argv, message):
    console = Console(file=io.StringIO(), color_system=None)
    if "x" in argv[-1] or "--seed" in argv:  # argparse's own checks
        with pytest.raises(SystemExit) as stop:
            main([small_model, *argv], console=console)
        assert stop.value.code == 2
    else:
        assert main([small_model, *argv], console=console) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("usage:")
             and not line.startswith("   ")]
    assert len(lines) == 1 and re.search(message, lines[0]), err
    assert "Traceback" not in err


def test_a_missing_model_or_image_is_one_error_line(small_model, tmp_path):
    code, text = run([str(tmp_path / "nope.convsim")])
    assert code == 1 and text.count("\n") == 1 and text.startswith("error: ")
    code, text = run([small_model, "--image", str(tmp_path / "nope.png")])
    assert code == 1 and text.startswith("error: ") and "nope.png" in text


def test_your_own_image_and_a_keras_file(small_model, tmp_path):
    pytest.importorskip("h5py")
    keras_file = tmp_path / "small.h5"
    models.load_model(small_model).save(keras_file)
    picture = tmp_path / "digit.png"
    pixels = np.zeros((40, 40), np.uint8)
    pixels[10:30, 18:22] = 255  # a 1, resized to 28x28 on the way in
    Image.fromarray(pixels).save(picture)
    code, text = run([str(keras_file), "--image", str(picture), "--layer", "conv",
                      "--at", "13,13,2"])
    assert code == 0, text
    assert f"Image: your image {picture}" in text and "✔" in text


@pytest.mark.slow  # matplotlib: 2-5 s
def test_save_writes_the_picture(small_model, tmp_path):
    path = tmp_path / "pictures" / "cell.png"
    code, text = run([small_model, "--layer", "conv", "--at", "5,6,0", "--save",
                      str(path)])
    assert code == 0 and f"Saved the picture to {path}" in text
    with Image.open(path) as picture:
        assert picture.format == "PNG" and picture.size == (900, 440)
    code, text = run([small_model, "--layer", "out", "--at", "2", "--lang", "ko",
                      "--save", str(tmp_path / "unit.png")])
    assert code == 0 and "그림을 저장했습니다: " in text


def test_explain_is_a_convsim_command(small_model, capsys):
    assert convsim_main(["explain", small_model, "--layer", "pool", "--at",
                         "0,0,0"]) == 0
    assert "MaxPooling2D 2×2" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        convsim_main(["explain", "--help"])
    assert stop.value.code == 0
    help_text = capsys.readouterr().out
    assert "--layer NAME" in help_text and "examples:" in help_text
    assert explain_cli.PROG + " --layer conv2d_1 --at 4,7,12" in help_text


@pytest.mark.slow
def test_the_trained_mnist_convnet_by_default(trained_mnist):
    code, text = run(["--layer", "dense_1"])
    assert code == 0
    assert "Model: the book's MNIST convnet, trained on convsim's 4,000 bundled " \
           "digits" in text
    assert "the largest number of dense_1 is explained, at unit 9." in text
    assert "Receptive field: rows 0–25, cols 0–25 of the image (26×26 pixels)." \
           in text
    assert "✔ model.predict gives" in text


@pytest.mark.slow
@pytest.mark.subprocess
def test_the_command_runs_as_a_program(small_model):
    done = subprocess.run([sys.executable, "-m", "convsim", "explain", small_model,
                           "--layer", "conv", "--at", "0,0,9"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "python -m convsim explain: error: `at` must be inside the output of layer "
        "'conv', whose output has shape (26, 26, 4): row in [0, 25], col in [0, "
        "25], channel in [0, 3]. Received: at=(0, 0, 9)"]


def test_a_long_sum_is_shortened_to_the_width_and_the_rest_added_up():
    from convsim.viz.explain_view import Formula, number, product

    values = [0.5, -0.25, 0.125, 1.0, -2.0, 0.75]
    terms = [product(v, 1.0) for v in values]
    full = Formula("ch 3: ", terms, " = 0.12", lines=1, rest_values=tuple(values))
    assert full.layout(200) == ["ch 3: 0.50×1.00 + (−0.25)×1.00 + 0.12×1.00 + "
                                "1.00×1.00 + (−2.00)×1.00 + 0.75×1.00 = 0.12"]
    short = full.layout(60)
    assert len(short) == 1 and len(short[0]) <= 60
    shown = short[0].count("×")
    assert f"… ({6 - shown} more terms: {number(sum(values[shown:]))})" in short[0]
    wrapped = Formula("", terms, " = 0.12", lines=3,
                      rest_values=tuple(values)).layout(40)
    assert len(wrapped) == 3 and all(len(line) <= 40 for line in wrapped)
    assert " ".join(wrapped).count("×") == 6 and wrapped[1].startswith("+ ")


def test_the_pictures_modules_examples_run():
    import doctest

    from convsim.viz import explain_view, explain_words

    for module in (explain_view, explain_words):
        failures, tried = doctest.testmod(module)
        assert tried and not failures


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_kind_of_layer_is_drawn_and_checked(lang):
    from convsim.trace import explain
    from convsim.viz.explain_view import explanation_view

    net = models.Sequential([
        layers.Input(shape=(9, 9, 3)),
        layers.Conv2D(4, 3, dilation_rate=2, activation="softmax", name="soft"),
        layers.AveragePooling2D(2, padding="same", name="avg"),
        layers.Activation("tanh", name="act"),
        layers.Dense(3, name="per_cell"),
        layers.Activation("softmax", name="act_soft")], name="mix")
    image = np.random.default_rng(0).random((9, 9, 3), dtype=np.float32)
    expected = {
        "soft": {"en": "softmax turns the 4 filters' sums z into probabilities",
                 "ko": "소프트맥스는 필터 4개의 합 z를 확률로 바꿉니다"},
        "avg": {"en": ") / 1 = ", "ko": ") / 1 = "},
        "act": {"en": "tanh(", "ko": "tanh("},
        "per_cell": {"en": "Its 4 products (input × weight), largest first:",
                     "ko": "곱 4개 (입력 × 가중치), 큰 것부터:"},
        "act_soft": {"en": "this channel's share of e^z", "ko": "이 채널의 몫"},
    }
    texts = {}
    for name, at in [("soft", (1, 2, 3)), ("avg", (2, 2, 1)), ("act", (1, 1, 0)),
                     ("per_cell", (1, 2, 2)), ("act_soft", (0, 0, 1))]:
        out = io.StringIO()
        Console(file=out, width=200, color_system=None).print(
            explanation_view(explain(net, image, name, at), image, lang))
        texts[name] = text = out.getvalue()
        assert expected[name][lang] in text, (name, text)
        assert "✔" in text and "✘" not in text
    # the dilated 3x3 window reads every other pixel of a 5x5 patch
    gaps = {"en": "It has gaps", "ko": "빈틈이 있습니다"}[lang]
    assert gaps in texts["soft"] and "25" in texts["soft"]
