"""``--lang ko`` for the commands: the trainer speaks Korean, and the errors a
learner meets from a command carry a Korean wording (convsim.errors.message)
beside the unchanged English."""

from __future__ import annotations

import io
import pickle
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from convsim.datasets.cats_vs_dogs import find_small_dataset
from convsim.errors import (
    ArgumentError,
    MissingFileError,
    MissingPackageError,
    ModelFileError,
    message,
)
from convsim.experiments import cli as train
from convsim.experiments import runs
from convsim.experiments.book_models import build_mnist_model
from convsim.experiments.explain_cli import main as explain
from convsim.lesson import cli as lesson
from convsim.models import load_model
from convsim.models.keras import check_can_write_keras
from convsim.training.callbacks import ProgbarLogger
from convsim.training.interrupts import TrainingInterrupted
from convsim.training.progbar import Progbar
from convsim.validation import input_shape_hint

HANGUL = re.compile("[가-힣]")
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "keras"


def capture() -> Console:
    return Console(file=io.StringIO(), width=300, color_system=None)


# ---------------------------------------------------------------- the errors
def test_an_error_keeps_its_english_and_carries_its_korean():
    err = ArgumentError("Received: 3", ko="받은 값: 3")
    assert str(err) == "Received: 3" and err.args == ("Received: 3",)
    assert message(err, "ko") == "받은 값: 3" and message(err, "en") == "Received: 3"
    assert pickle.loads(pickle.dumps(err)).ko == "받은 값: 3"
    assert message(ArgumentError("only English"), "ko") == "only English"
    assert message(KeyError("x"), "ko") == str(KeyError("x"))


def test_missing_and_not_a_model_file(tmp_path):
    with pytest.raises(MissingFileError) as missing:
        load_model(tmp_path / "nothing.convsim")
    assert str(missing.value).startswith("No model file found at ")
    assert message(missing.value, "ko").startswith("모델 파일을 찾을 수 없습니다: ")
    text = tmp_path / "notes.txt"
    text.write_text("not a model")
    with pytest.raises(ModelFileError) as wrong:
        load_model(text)
    assert "is not a convsim model file" in str(wrong.value)
    assert message(wrong.value, "ko").startswith("convsim 모델 파일이 아닙니다: ")
    assert repr(str(text)) in message(wrong.value, "ko")


def test_h5py_missing_in_korean(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(MissingPackageError) as saving:
        check_can_write_keras("model.h5")
    korean = message(saving.value, "ko")
    assert "h5py가 필요한데 설치되어 있지 않습니다: pip install 'convsim[keras]'" \
        in korean and "'model.h5'" in korean
    with pytest.raises(ModelFileError) as reading:
        load_model(FIXTURES / "mnist_convnet.h5")
    assert message(reading.value, "ko").endswith(
        "h5py가 필요한데 설치되어 있지 않습니다: pip install 'convsim[keras]'")


#: The line of code each English hint gives; the Korean hint gives it too.
SHAPES = [((32, 28, 28), "x.reshape((-1, 28, 28, 1))"),
          ((28, 28, 1), "np.expand_dims(x, 0)"),
          ((28, 28), "x.reshape((1, 28, 28, 1))"),
          ((32, 1, 28, 28), "np.transpose(x, (0, 2, 3, 1))"),
          ((32, 28, 28, 3), "color_mode='grayscale'"),
          ((32, 32, 32, 1), "target_size=(28, 28)")]


@pytest.mark.parametrize(("shape", "code"), SHAPES)
def test_every_shape_hint_is_said_in_korean_with_the_same_fix(shape, code):
    expected = (None, 28, 28, 1)
    english, korean = (input_shape_hint(expected, shape, lang)
                       for lang in ("en", "ko"))
    assert code in english and code in korean and HANGUL.search(korean)
    with pytest.raises(ArgumentError) as info:
        build_mnist_model().predict(np.zeros(shape, np.float32), verbose=0)
    said = message(info.value, "ko")
    assert re.match(r"모델 'sequential(_\d+)?'의 입력 0이 맞지 않습니다\.", said)
    assert f"받은 크기: {shape}" in said and korean in said
    assert input_shape_hint(expected, (5,), "ko") == ""


def test_a_layer_called_on_one_image_says_so_in_korean():
    from convsim import layers

    with pytest.raises(ArgumentError) as info:
        layers.Conv2D(2, 3)(np.zeros((28, 28, 1), np.float32))
    said = message(info.value, "ko")
    assert "입력 0이 맞지 않습니다" in said and "np.expand_dims(x, 0)" in said


def test_no_cats_vs_dogs_photos_in_korean(tmp_path):
    with pytest.raises(MissingFileError) as info:
        find_small_dataset(tmp_path)
    said = message(info.value, "ko")
    assert said.startswith("cats_and_dogs_small 폴더가 아닙니다: path=")
    assert "python -m convsim.datasets cats-vs-dogs" in said


# ---------------------------------------------------------------- the commands
@pytest.mark.parametrize(("argv", "said"), [
    (["padding", "--size", "99", "--lang", "ko"],
     "python -m convsim.lesson: 오류: 'padding' 레슨의 --size는 3부터 9까지입니다. "
     "받은 값: --size 99 (도움말: python -m convsim.lesson --help)"),
    (["paddin", "--lang", "ko"], "오류: 없는 레슨입니다: 'paddin'. 'padding' 레슨을 "
                                 "찾으셨나요?"),
    (["convolution", "--model", "m.convsim", "--lang", "ko"],
     "오류: --model 옵션은 다음 레슨에만 있습니다: "),
])
def test_a_lessons_wrong_option_is_one_korean_line(argv, said, capsys):
    assert lesson.main(argv, console=capture()) == 2
    err = capsys.readouterr().err
    assert said in err and len(err.strip().splitlines()) == 1


def test_a_lessons_missing_file_is_said_in_korean(tmp_path):
    console = capture()
    status = lesson.main(["shapes", "--model", str(tmp_path / "m.convsim"),
                          "--lang", "ko"], console=console)
    assert status == 1
    assert console.file.getvalue().startswith("오류: 모델 파일을 찾을 수 없습니다: ")


def test_explain_says_its_errors_in_korean(tmp_path):
    console = capture()
    assert explain([str(tmp_path / "none.convsim"), "--lang", "ko"],
                   console=console) == 1
    assert console.file.getvalue().startswith("오류: 모델 파일을 찾을 수 없습니다")


def test_the_progress_line_in_korean():
    ticks = iter([0.0, 1.5, 1.5, 1.5])
    bar = Progbar(10, capture(), clock=lambda: next(ticks), lang="ko")
    line = bar.render(5, {"loss": 0.5}).plain
    assert line.startswith(" 5/10 ") and "ms/스텝 - loss: 0.5000" in line
    assert "/스텝 - loss" in bar.render_line(10, {"loss": 0.5}).plain
    unknown = Progbar(None, capture(), clock=lambda: 0.0, lang="ko")
    assert "5/알 수 없음" in unknown.render(5, {}).plain
    ticks = iter([0.0, 1.5])
    english = Progbar(10, capture(), clock=lambda: next(ticks))
    assert "ms/step" in english.render(5, {}).plain


def test_ctrl_c_during_training_in_korean():
    console = capture()

    def fit():
        raise TrainingInterrupted("in epoch 1/2 after batch 3/5")

    assert runs.train_until_done(fit, console, "ko")
    said = console.file.getvalue()
    assert "Ctrl+C: 멈췄습니다(in epoch 1/2 after batch 3/5). 아무것도 저장하지 " \
           "못했습니다." in said


@pytest.mark.slow  # two short training runs
def test_train_mnist_speaks_korean(tmp_path, monkeypatch):
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")  # the locale chooses: no --lang
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    console = capture()
    backup = tmp_path / "run.backup"
    argv = ["mnist", "--epochs", "1", "--limit", "64", "--batch-size", "32",
            "--verbose", "2", "--no-plot", "--backup-dir", str(backup)]
    assert train.main(argv, console=console) == 0
    said = console.file.getvalue()
    for korean in ("MNIST 데이터: convsim에 들어 있는 샘플 (훈련 이미지 4,000개",
                   "--limit 64: 훈련 이미지는 앞의 64개", "Ctrl+C를 누르면",
                   "에포크 1/1", "ms/스텝 - loss: ", "이미지 64개로 1에포크를",
                   "테스트 정확도: "):
        assert korean in said, korean
    assert "Epoch" not in said and "Test accuracy" not in said
    console = capture()
    assert train.main([*argv, "--lang", "ko"], console=console) == 0  # finished
    assert "처음부터 시작합니다: 끝난 훈련의 체크포인트를" in console.file.getvalue()
    console = capture()
    assert train.main([*argv, "--resume"], console=console) == 0
    assert "이 훈련은 1에포크를 모두 마쳤습니다" in console.file.getvalue()
    console = capture()
    assert train.main([*argv, "--lang", "en"], console=console) == 0
    assert "Epoch 1/1" in console.file.getvalue()


def test_train_cats_vs_dogs_without_photos_in_korean(tmp_path):
    console = capture()
    assert train.main(["cats-vs-dogs", "--data", str(tmp_path), "--no-plot",
                       "--backup-dir", str(tmp_path / "b"), "--lang", "ko"],
                      console=console) == 1
    said = console.file.getvalue()
    assert said.startswith("개 vs 고양이 사진이 없습니다: cats_and_dogs_small 폴더가")
    assert "(이 명령에서 path=는 --data DIR입니다.)" in said


def test_progbar_logger_says_the_epoch_in_korean():
    console = capture()
    logger = ProgbarLogger(2, clock=lambda: 0.0, lang="ko")
    logger.console = console
    logger.params = {"epochs": 3, "steps": 2}
    logger.on_epoch_begin(0)
    logger.on_train_batch_end(1, {"loss": 1.0})
    logger.on_epoch_end(0, {"loss": 1.0})
    assert console.file.getvalue().splitlines()[0] == "에포크 1/3"


def test_the_lessons_trained_convnet_speaks_korean_when_it_is_made(tmp_path,
                                                                   monkeypatch):
    from convsim.experiments import pretrained

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    trained = []
    monkeypatch.setattr(pretrained, "_train",
                        lambda path, console, lang="en": trained.append(lang))
    path = pretrained.model_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"damaged")
    console = capture()
    pretrained.pretrained_model(console=console, lang="ko")
    assert trained == ["ko"]
    assert console.file.getvalue().startswith("보관한 모델을 읽을 수 없어 다시 "
                                              "훈련합니다: ")
