"""The learner's cats-vs-dogs code (the notes, chapter 5.2 and 5.4) runs on
convsim with only its imports changed.

The blocks below are copied from the notes, Korean comments included. What
differs from the notes, and nothing else:

* the imports: ``keras`` -> ``convsim`` (six lines);
* indentation inside the two ``for`` loops, which the notes lost when they
  were copied as text (Python needs it back);
* at run time, :data:`QUICK_RUN` points the notes' folders and files at a tiny
  tree of images the test writes and cuts 100 steps x 30 (or 100) epochs to
  2 steps x 1 epoch, so that both 150x150 convnets train in seconds.

The notes never import ``os``, ``numpy`` or ``matplotlib.pyplot`` (the learner's
notebook had them from earlier cells), so the namespace starts with those.
matplotlib runs on its Agg backend: ``plt.show()`` warns that it cannot open a
window, and the notes' activation grid divides by the standard deviation of
channels that are all zero (NumPy warns: invalid value); both warnings are
expected here, as they would be in Keras.
"""

from __future__ import annotations

import os

import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")

NOTEBOOK_WARNINGS = [
    pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]

MODEL = """\
# 네트워크 구성
from convsim import layers
from convsim import models
model = models.Sequential()
model.add(layers.Conv2D(32, (3,3), activation='relu', input_shape=(150,150,3))) # 입력 특성 맵에 적용 할 필터 수: 32, 윈도우 사이즈, 활성화함수, 입력 데이터 규격: 150*150, RGB 3 채널
model.add(layers.MaxPooling2D((2,2))) # 최대 풀링 연산 적용할 윈도우 사이즈 - 다운샘플링(크기 축소)
model.add(layers.Conv2D(64, (3,3), activation='relu')) # 입력 특성 맵에 적용할 필터 수:64, 윈도우 사이즈, 활성화 함수
model.add(layers.MaxPooling2D((2,2))) # 윈도우 사이즈
model.add(layers.Conv2D(128, (3,3), activation='relu')) # 필터 수: 128개, 윈도우 사이즈
model.add(layers.MaxPooling2D((2,2))) # 윈도우 사이즈
model.add(layers.Conv2D(128, (3,3), activation='relu')) # 필터 수: 128개, 윈도우 사이즈
model.add(layers.MaxPooling2D(2,2)) # 윈도우 사이즈
# 여기까지 합성곱 기반 층(지역 패턴 추출 층)
# 여기서부터 완전 연결 층(전역 패턴 추출, 분류기)
model.add(layers.Flatten()) # 1차원 텐서(벡터)로 변환
model.add(layers.Dense(512, activation='relu')) # 512차원 벡터공간에 투영
model.add(layers.Dense(1, activation='sigmoid'))
model.summary()
"""  # noqa: E501

COMPILE = """\
# 모델 컴파일
from convsim import optimizers
model.compile(
loss = 'binary_crossentropy',
optimizer = optimizers.adam_v2.Adam(learning_rate=0.001),
metrics=['acc']
)
"""  # noqa: E501

DATA = """\
# 데이터 전처리
from convsim.preprocessing.image import ImageDataGenerator
train_datagen = ImageDataGenerator(rescale=1./255) # 스케일 1/255 로 조정 , 부동소수점 형태로 변환
test_datagen = ImageDataGenerator(rescale=1./255) # 스케일 조정
train_generator = train_datagen.flow_from_directory(
'/Users/kibeomkim/Desktop/cats_and_dogs_small/train',
target_size=(150, 150), # 네트워크 입력 규격에 맞게 크기 변환
batch_size=20, # 1에폭 동안 투입 할 데이터 묶음
class_mode = 'binary' # 데이터가 이진 레이블임.
)
valid_generator = test_datagen.flow_from_directory(
'/Users/kibeomkim/Desktop/cats_and_dogs_small/test',
target_size=(150,150),
batch_size=20,
class_mode='binary'
)
"""  # noqa: E501

FIT = """\
# 모델 훈련
history = model.fit_generator(
train_generator,
steps_per_epoch= 100, # 20*100 = 총 훈련 데이터 갯수
epochs = 30 ,
validation_data = valid_generator,
validation_steps = 50
)
"""  # noqa: E501

PLOT = """\
acc = history.history['acc']
val_acc = history.history['val_acc']
loss = history.history['loss']
val_loss = history.history['val_loss']
epochs = range(1, len(acc) + 1)
plt.figure(figsize=(10,5))
plt.subplot(1,2,1)
plt.plot(epochs, acc, 'bo', label='Training Accuracy')
plt.plot(epochs, val_acc, 'r', label='Validation Accuracy')
plt.title('Training and Validation Accuracy')
plt.legend()
plt.subplot(1,2,2)
plt.plot(epochs, loss, 'bo', label='Tranining Loss')
plt.plot(epochs, val_loss, 'r', label='Validation Loss')
plt.title('Training and Validation Loss')
plt.legend()
plt.suptitle('Accuracy & Loss')
plt.tight_layout()
plt.show()
"""  # noqa: E501

DROPOUT = """\
# 드롭아웃 포함한 새로운 컨브넷 정의
from convsim import models
from convsim import layers
from convsim import optimizers
model = models.Sequential()
# 합성곱 기반 층
model.add(layers.Conv2D(32, (3,3), activation='relu', input_shape=(150,150,3)))
model.add(layers.MaxPooling2D((2,2)))
model.add(layers.Conv2D(64, (3,3), activation='relu'))
model.add(layers.MaxPooling2D((2,2)))
model.add(layers.Conv2D(128, (3,3), activation='relu'))
model.add(layers.MaxPooling2D((2,2)))
model.add(layers.Conv2D(128, (3,3), activation='relu'))
model.add(layers.MaxPooling2D((2,2)))
model.add(layers.Flatten())
model.add(layers.Dropout(0.5))
# 완전 연결 분류기
model.add(layers.Dense(512, activation='relu'))
model.add(layers.Dense(1, activation='sigmoid'))
# 모델 컴파일
model.compile(
loss = 'binary_crossentropy',
metrics = ['acc'],
optimizer = optimizers.adam_v2.Adam(lr = 0.001)
)
# 데이터 증식 & 전처리
train_datagen = ImageDataGenerator(
rescale = 1./255,
rotation_range = 40,
width_shift_range= 0.1,
height_shift_range=0.1,
shear_range = 0.4,
zoom_range= 0.5,
horizontal_flip=True
)
test_datagen = ImageDataGenerator(
rescale=1./255
)
train_generator = train_datagen.flow_from_directory(
'/Users/kibeomkim/Desktop/cats_and_dogs_small/train',
target_size=(150,150),
batch_size= 20,
class_mode='binary'
)
valid_generator = test_datagen.flow_from_directory(
'/Users/kibeomkim/Desktop/cats_and_dogs_small/test',
target_size = (150,150),
batch_size=20,
class_mode = 'binary'
)
# 모델 훈련
history = model.fit_generator(
train_generator,
steps_per_epoch=100,
epochs = 100,
validation_data = valid_generator,
validation_steps = 50
)
model.save('/Users/kibeomkim/Desktop/models_saved/dog_and_cant.h5')
"""  # noqa: E501

LOAD = """\
from convsim.models import load_model
# 저장한 작은 컨브넷 로드
model2 = load_model('/Users/kibeomkim/Desktop/models_saved/dog_and_cant.h5')
model2.summary()
"""  # noqa: E501

ACTIVATIONS = """\
# 합성곱 층, 풀링 층 출력 시각화
# '활성화' 시각화
img_path = '/Users/kibeomkim/Desktop/cc.png'
from convsim.preprocessing import image
img = image.load_img(img_path, target_size=(150,150))
img_tensor = image.img_to_array(img) # 텐서로 변환
img_tensor = np.expand_dims(img_tensor, axis=0) # 배치 축 추가
img_tensor /= 255. # 1/255로 스케일 조정
print(img_tensor.shape)
# 원본 이미지 출력
plt.figure(figsize=(2,2))
plt.imshow(img_tensor[0])
plt.xticks([])
plt.yticks([])
plt.show()
# 상위 8개 레이어 출력만 추출
from convsim import models
layer_outputs = [layer.output for layer in model2.layers[:8]] # 상위 8개 레이어 출력 추출
# 특정 입력에 대한 출력 매핑하는 모형
activation_model = models.Model(inputs=model2.input, outputs=layer_outputs)
# 하나 입력에 대해: 8개 출력 대응된다 (층 8개 출력 결과)
# 예측모드로 모델 실행하기
activations = activation_model.predict(img_tensor) # img_tensor 1개 입력에 대해: 8개 층 각각에 통과시켜서 그 출력 반환
# 첫번째 합성곱 층 활성화 맵 시각화
first_layer_activation_result = activations[0]
print(first_layer_activation_result.shape) # 합성곱 결과: 높이 148, 너비 148, 배치 1, 필터 적용한 응답 맵 32개
# 응답 맵 32개 중 12번째 응답 맵 시각화
plt.figure(figsize=(2,2))
plt.matshow(first_layer_activation_result[0, :,:,21], cmap='viridis')
plt.xticks([])
plt.yticks([])
plt.show()
first_layer_activation_result = activations[0]
print(first_layer_activation_result.shape) # 합성곱 결과: 높이 148, 너비 148, 배치 1, 필터 적용한 응답 맵 32개
# 응답 맵 32개 중 2번째 활성화 맵
plt.figure(figsize=(2,2))
plt.matshow(first_layer_activation_result[0, :,:,2], cmap='viridis')
plt.xticks([])
plt.yticks([])
plt.show()
# 네트워크 모든 활성화 시각화
layer_names = []
for layer in model2.layers[:8] : # 상위 8개 층 이름들 추출 (그림 이름으로 사용)
    layer_names.append(layer.name)
print(layer_names)
"""  # noqa: E501

GRID = """\
images_per_row = 16
for layer_name, layer_activation in zip(layer_names, activations) : # 층 - 활성화 매핑
    n_features = layer_activation.shape[-1] # 활성화 마다 채널 수
    size = layer_activation.shape[1] # 높이와 너비 어차피 같다.
    n_cols = n_features // images_per_row
    display_grid = np.zeros((size*n_cols, images_per_row*size))
    for col in range(n_cols) :
        for row in range(images_per_row) :
            channel_image = layer_activation[0, :, :, col*images_per_row+row]
            # 채널 이미지 스케일 조정
            # 정규화
            channel_image -= channel_image.mean()
            channel_image /= channel_image.std()
            channel_image*=64
            channel_image += 128
            channel_image = np.clip(channel_image, 0, 255).astype('uint8')
            display_grid[col*size : (col+1)*size, row*size:(row+1)*size] = channel_image
    scale = 1./size
    plt.figure(figsize=(scale*display_grid.shape[1], scale*display_grid.shape[0]))
    plt.title(layer_name)
    plt.grid(False)
    plt.imshow(display_grid, aspect='auto', cmap='viridis')
    #plt.xticks([])
    #plt.yticks([])
    plt.show()
"""  # noqa: E501

NOTES_FOLDER = "/Users/kibeomkim/Desktop/cats_and_dogs_small"
NOTES_MODEL = "/Users/kibeomkim/Desktop/models_saved/dog_and_cant.h5"
NOTES_PHOTO = "/Users/kibeomkim/Desktop/cc.png"
PER_CLASS = 3  # photos per class and split in the test's tree
FIRST_EIGHT_SHAPES = [(1, 148, 148, 32), (1, 74, 74, 32), (1, 72, 72, 64),
                      (1, 36, 36, 64), (1, 34, 34, 128), (1, 17, 17, 128),
                      (1, 15, 15, 128), (1, 7, 7, 128)]


def quick_run(tree, model_path, photo_path):
    """(old, new) replacements: the notes' paths and the long training."""
    return [(NOTES_FOLDER, str(tree)), (NOTES_MODEL, str(model_path)),
            (NOTES_PHOTO, str(photo_path)),
            ("steps_per_epoch= 100,", "steps_per_epoch= 2,"),
            ("steps_per_epoch=100,", "steps_per_epoch=2,"),
            ("epochs = 30 ,", "epochs = 1 ,"), ("epochs = 100,", "epochs = 1,"),
            ("validation_steps = 50", "validation_steps = 1")]


def run_block(code, namespace, replacements=()):
    """Execute one block of the notes (after the replacements that apply)."""
    import matplotlib.pyplot as plt

    for old, new in replacements:
        code = code.replace(old, new)
    assert "/Users/kibeomkim" not in code
    exec(compile(code, "notes", "exec"), namespace)
    figures = [plt.figure(n) for n in plt.get_fignums()]
    plt.close("all")
    return figures


@pytest.fixture
def notebook():
    """What the learner's notebook had imported before these cells."""
    import matplotlib.pyplot as plt

    yield {"os": os, "np": np, "plt": plt}
    plt.close("all")


@pytest.fixture
def tree(tmp_path):
    """cats_and_dogs_small/{train,validation,test}/{cats,dogs}: small JPEGs,
    reddish cats and bluish dogs, in the sizes and shapes photos come in."""
    rng = np.random.default_rng(0)
    root = tmp_path / "cats_and_dogs_small"
    for split in ("train", "validation", "test"):
        for label, (cls, tint) in enumerate((("cats", (60, 0, 0)),
                                             ("dogs", (0, 0, 60)))):
            folder = root / split / cls
            folder.mkdir(parents=True)
            for i in range(PER_CLASS):
                pixels = rng.integers(0, 190, (24 + 4 * i, 32, 3)) + tint
                Image.fromarray(pixels.astype(np.uint8)).save(
                    folder / f"{cls[:-1]}.{100 * label + i}.jpg")
    return root


def test_every_notes_block_counts_its_replacements():
    """The replacements really hit the notes' text (a renamed path would
    otherwise silently leave the 30-epoch run in)."""
    for old, _ in quick_run("T", "M", "P"):
        assert any(old in block for block in (DATA, FIT, DROPOUT, LOAD,
                                              ACTIVATIONS)), old
    for block in (MODEL, COMPILE, DATA, DROPOUT, LOAD, ACTIVATIONS):
        assert "keras" not in block


@NOTEBOOK_WARNINGS[0]
def test_plain_convnet_blocks_run(tree, tmp_path, capsys, notebook):
    changes = quick_run(tree, tmp_path / "m.h5", tmp_path / "cc.png")
    run_block(MODEL, notebook)
    out = capsys.readouterr().out
    assert "Total params: 3,453,121" in out and "(None, 7, 7, 128)" in out
    run_block(COMPILE, notebook)
    model = notebook["model"]
    assert model.optimizer.learning_rate == pytest.approx(0.001)
    assert type(model.optimizer).__name__ == "Adam"
    run_block(DATA, notebook, changes)
    out = capsys.readouterr().out
    found = f"Found {2 * PER_CLASS} images belonging to 2 classes."
    assert out.count(found) == 2
    assert notebook["train_generator"].class_indices == {"cats": 0, "dogs": 1}
    run_block(FIT, notebook, changes)
    history = notebook["history"].history
    assert sorted(history) == ["acc", "loss", "val_acc", "val_loss"]
    assert all(len(values) == 1 for values in history.values())
    assert "Epoch 1/1" in capsys.readouterr().out
    figures = run_block(PLOT, notebook)
    assert len(figures) == 1 and len(figures[0].axes) == 2
    assert figures[0]._suptitle.get_text() == "Accuracy & Loss"
    assert [ax.get_title() for ax in figures[0].axes] == [
        "Training and Validation Accuracy", "Training and Validation Loss"]


@pytest.mark.slow
@NOTEBOOK_WARNINGS[0]
@NOTEBOOK_WARNINGS[1]
def test_dropout_convnet_save_load_and_activations(tree, tmp_path, capsys,
                                                   notebook):
    pytest.importorskip("h5py", reason="the notes save their model as .h5, a "
                        "Keras file, which needs h5py (pip install "
                        "'convsim[keras]'); tests/api/test_without_h5py.py "
                        "checks the message convsim gives without it")
    model_path = tmp_path / "models_saved" / "dog_and_cant.h5"
    model_path.parent.mkdir()
    photo = tmp_path / "cc.png"
    Image.fromarray(np.random.default_rng(1).integers(
        0, 256, (90, 120, 3), dtype=np.uint8)).save(photo)
    changes = quick_run(tree, model_path, photo)
    # an earlier cell of the notebook imported the generator
    run_block("from convsim.preprocessing.image import ImageDataGenerator", notebook)
    run_block(DROPOUT, notebook, changes)
    model = notebook["model"]
    assert [type(layer).__name__ for layer in model.layers][8:10] == [
        "Flatten", "Dropout"]
    assert model.layers[9].rate == 0.5
    assert model.optimizer.learning_rate == pytest.approx(0.001)
    assert len(notebook["history"].history["val_acc"]) == 1
    # the notes' .h5 is what Keras writes there: HDF5, which Keras loads too
    assert model_path.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    capsys.readouterr()

    run_block(LOAD, notebook, changes)
    model2 = notebook["model2"]
    # a loaded, compiled model also counts Adam's two moments, as Keras does
    assert "Trainable params: 3,453,121" in capsys.readouterr().out
    run_block(ACTIVATIONS, notebook, changes)
    out = capsys.readouterr().out
    assert "(1, 150, 150, 3)" in out
    assert out.count("(1, 148, 148, 32)") == 2
    activations = notebook["activations"]
    assert [a.shape for a in activations] == FIRST_EIGHT_SHAPES
    img_tensor = notebook["img_tensor"]
    # the loaded model is the saved one, and its activations are its layers'
    np.testing.assert_allclose(model2.predict(img_tensor, verbose=0),
                               model.predict(img_tensor, verbose=0), rtol=1e-6)
    pooled = activations[0][:, :148, :148].reshape(1, 74, 2, 74, 2, 32).max(
        axis=(2, 4))
    np.testing.assert_array_equal(activations[1], pooled)
    assert (activations[0] >= 0).all()  # relu
    names = notebook["layer_names"]
    assert len(names) == 8
    assert [n.split("_")[0] for n in names] == ["conv2d", "max"] * 4

    figures = run_block(GRID, notebook)
    assert [f.axes[0].get_title() for f in figures] == names
    grid_shapes = [f.axes[0].get_images()[0].get_array().shape for f in figures]
    assert grid_shapes == [(148 * 2, 148 * 16), (74 * 2, 74 * 16), (72 * 4, 72 * 16),
                           (36 * 4, 36 * 16), (34 * 8, 34 * 16), (17 * 8, 17 * 16),
                           (15 * 8, 15 * 16), (7 * 8, 7 * 16)]


def test_data_block_on_the_real_photos(shared_data, capsys, notebook):
    folder = shared_data / "cats_and_dogs_small"
    run_block(DATA, notebook, [(NOTES_FOLDER, str(folder))])
    out = capsys.readouterr().out
    assert "Found 2000 images belonging to 2 classes." in out
    assert "Found 1000 images belonging to 2 classes." in out
    x, y = next(notebook["train_generator"])
    assert x.shape == (20, 150, 150, 3) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert set(np.unique(y)) <= {0.0, 1.0}
