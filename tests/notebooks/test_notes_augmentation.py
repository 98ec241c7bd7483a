"""The augmentation-preview code of the notes, run with only its imports changed.

The block below is the learner's notes verbatim (Korean comments dropped), with
``keras`` imports replaced by ``convsim`` ones and the photo folder pointed at a
folder the test writes. matplotlib runs on the Agg backend, whose ``plt.show()``
warns that it cannot open a window; that one warning is expected.
"""

import os

import matplotlib
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")


@pytest.fixture
def cats_folder(tmp_path):
    folder = tmp_path / "cats_and_dogs_small" / "train" / "cats"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(9):
        pixels = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / f"cat.{i}.jpg")
    return str(folder)


@pytest.mark.filterwarnings("ignore:FigureCanvasAgg is non-interactive")
def test_notes_preview_block_runs(cats_folder):
    import matplotlib.pyplot as plt

    from convsim.preprocessing import image
    from convsim.preprocessing.image import ImageDataGenerator

    datagen = ImageDataGenerator(
        rotation_range=30,
        width_shift_range=0.1,
        height_shift_range=0.1,
        shear_range=0.2,
        zoom_range=0.5,
        horizontal_flip=True,
        fill_mode='nearest'
    )
    fnames = sorted([os.path.join(cats_folder, fname) for fname in os.listdir(cats_folder)])  # noqa: E501
    img_path = fnames[7]
    img = image.load_img(img_path, target_size = (150,150))
    x = image.img_to_array(img)
    x = x.reshape((1,)+x.shape)
    plt.figure(figsize=(5,5))
    i = 1
    for batch in datagen.flow(x, batch_size=1) :
        plt.subplot(2,2,i)
        imgplot = plt.imshow(image.array_to_img(batch[0]))
        plt.xticks([])
        plt.yticks([])
        i += 1
        if i == 5 : break  # noqa: E701 (the notes' line, kept verbatim)
    plt.tight_layout()
    plt.show()

    figure = plt.gcf()
    assert x.shape == (1, 150, 150, 3) and x.dtype == np.float32
    assert len(figure.axes) == 4 and i == 5
    assert imgplot.get_array().shape == (150, 150, 3)
    plt.close("all")


def test_save_augmentation_grid_writes_the_2x2_png(tmp_path):
    from convsim.preprocessing.image import ImageDataGenerator, preview_augmentations
    from convsim.preprocessing.preview import (
        augmentation_grid_figure,
        save_augmentation_grid,
    )

    photo = np.random.default_rng(1).uniform(0, 255, (24, 24, 3))
    datagen = ImageDataGenerator(rotation_range=30, horizontal_flip=True)
    images = preview_augmentations(photo, datagen, n=4, seed=0)
    path = save_augmentation_grid(images, tmp_path / "grid.png")
    with Image.open(path) as png:
        assert png.format == "PNG" and png.size == (500, 500)  # 5 x 5 in, 100 dpi
    figure = augmentation_grid_figure(images, original=photo)
    assert len(figure.axes) == 5
    assert figure.axes[0].get_title() == "original"
    with pytest.raises(ValueError, match="cannot hold 4 images"):
        augmentation_grid_figure(images, rows=1, cols=3)
