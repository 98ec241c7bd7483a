"""The learner's own MNIST code (from the notes, chapter 5.1) runs on convsim
with only its imports changed, and training on the bundled sample learns.

NOTES_CODE below is copied from the notes: the model block, then the training
block. Only the import lines differ (``keras``/``tensorflow.keras`` ->
``convsim``). To keep the test fast, :func:`test_notes_code_runs` then makes the
three substitutions listed in ``QUICK_RUN`` (a 600/200-image slice, 1 epoch)
and serves that slice of the bundled real digits from ``mnist.load_data()``.
"""

from __future__ import annotations

import types

import numpy as np
import pytest

from convsim.datasets import mnist as real_mnist

NOTES_CODE = """\
from convsim import layers
from convsim import models
# 간단한 컨브넷 작성
# 이미지 특징 추출 층(합성곱 기반 층)
model = models.Sequential()
model.add(layers.Conv2D(32, (3,3), activation='relu', input_shape=(28, 28, 1))) # 필터 수, 패치 사이즈(3X3), 요소별 적용할 활성화 함수, 입력 특성 맵 사이즈
model.add(layers.MaxPooling2D((2,2)))
model.add(layers.Conv2D(64, (3,3), activation='relu')) # activation='relu': 음수, 0은 모두 0으로 만들고. 양수 값만 남긴다.
model.add(layers.MaxPooling2D((2,2)))
model.add(layers.Conv2D(64, (3,3), activation='relu'))
model.add(layers.Flatten()) # 특성공학 결과물 1차원 텐서(벡터)로 변환하는 층
# 완전 연결 분류기
model.add(layers.Dense(64, activation='relu'))
model.add(layers.Dense(10, activation='softmax')) # 출력층: 최상위층, 분류 결과물 확률 꼴로 변환.
# 모델 설계 결과 요약
model.summary()

# MNIST 숫자 이미지 합성곱 신경망으로 분류
from convsim.datasets import mnist
from convsim.utils import to_categorical
(train_images, train_labels), (test_images, test_labels) = mnist.load_data()
train_images = train_images.reshape((60000, 28, 28, 1)) # 6만개 배치, 높이 28, 너비 28, 채널 1 사이즈로 크기 조정
train_images = train_images.astype('float32') / 255
test_images = test_images.reshape((10000, 28, 28, 1)) # 1만개 배치, 높이 28, 너비 28, 채널 1 사이즈로 크기 조정
test_images = test_images.astype('float32') / 255 # 전부 부동소수점 실수로 변환 + 1/255 로 스케일 조정
train_labels = to_categorical(train_labels) # train_label 들을 모두 원핫 인코딩 벡터로 변환 # 분류 결과와 크로스엔트로피 비교하기 위함
test_labels = to_categorical(test_labels)
# 모델 컴파일
model.compile(
optimizer = 'rmsprop',
loss = 'categorical_crossentropy',
metrics = ['accuracy']
)
# 모델 학습
model.fit(
train_images,
train_labels,
epochs = 5,
batch_size=64,
validation_data = (test_images, test_labels)
)
test_loss, test_acc = model.evaluate(test_images, test_labels) ; print(test_acc)
"""  # noqa: E501

QUICK_RUN = [("(60000, 28, 28, 1)", "(600, 28, 28, 1)"),
             ("(10000, 28, 28, 1)", "(200, 28, 28, 1)"),
             ("epochs = 5", "epochs = 1")]


@pytest.fixture
def bundled_sample():
    """The 5,000 real digits shipped in the package (no network, no ../shared)."""
    return real_mnist.load_data(real_mnist.BUNDLED_DIR, verbose=False)


@pytest.mark.slow
def test_notes_code_runs(monkeypatch, capsys, bundled_sample):
    (x_train, y_train), (x_test, y_test) = bundled_sample
    fake = types.SimpleNamespace(load_data=lambda: (
        (x_train[:600], y_train[:600]), (x_test[:200], y_test[:200])))
    monkeypatch.setattr("convsim.datasets.mnist.load_data", fake.load_data)
    code = NOTES_CODE
    for old, new in QUICK_RUN:
        assert code.count(old) == 1
        code = code.replace(old, new)
    namespace = {}
    exec(compile(code, "notes_mnist", "exec"), namespace)
    out = capsys.readouterr().out
    assert 'Model: "sequential' in out and "Total params: 93,322" in out
    assert "Epoch 1/1" in out and "val_accuracy" in out
    printed_acc = float(out.strip().splitlines()[-1])
    assert printed_acc == namespace["test_acc"]
    assert 0.0 <= printed_acc <= 1.0


@pytest.mark.slow
def test_training_on_the_bundled_sample_learns(bundled_sample):
    """One epoch on 1,000 real digits: far above the 10% of guessing."""
    from convsim.experiments.book_models import build_mnist_model
    from convsim.utils import set_random_seed, to_categorical

    (x_train, y_train), (x_test, y_test) = bundled_sample
    set_random_seed(0)
    model = build_mnist_model()
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    x = x_train[:1000].reshape(-1, 28, 28, 1).astype("float32") / 255
    history = model.fit(x, to_categorical(y_train[:1000], 10), epochs=1,
                        batch_size=32, verbose=0)
    test_x = x_test[:500].reshape(-1, 28, 28, 1).astype("float32") / 255
    loss, acc = model.evaluate(test_x, to_categorical(y_test[:500], 10), verbose=0)
    assert acc > 0.6, (acc, history.history)
    assert loss < 1.5
    predicted = model.predict(test_x[:100], verbose=0).argmax(axis=1)
    assert np.mean(predicted == y_test[:100]) > 0.6
