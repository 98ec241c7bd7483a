"""flow_from_directory on a small tree of images the test writes with Pillow."""

import io
import re
import threading

import numpy as np
import pytest
from numpy.testing import assert_array_equal
from PIL import Image
from rich.console import Console

from convsim import errors
from convsim.errors import ArgumentError
from convsim.preprocessing.image import (
    DirectoryIterator,
    ImageDataGenerator,
    ImageReadError,
    Prefetcher,
    prefetch,
)


def capture_console():
    return Console(file=io.StringIO(), width=80, color_system=None,
                   force_terminal=True)


def write(path, mode, size, value):
    """A solid image whose first channel encodes ``value`` (to find it again)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = {"L": value, "RGB": (value, 7, 9), "RGBA": (value, 7, 9, 128)}[mode]
    Image.new(mode, size, colour).save(path)


@pytest.fixture
def tree(tmp_path):
    """dogs/ is created before cats/ on purpose: labels must follow sorted names.

    cats: 3 images (RGB png, grayscale jpg in a sub-folder, RGBA png)
    dogs: 2 images (bmp, tif) plus files that must be skipped
    """
    root = tmp_path / "train"
    write(root / "dogs" / "d1.bmp", "RGB", (5, 4), 200)
    write(root / "dogs" / "d2.TIF", "RGB", (6, 6), 210)
    (root / "dogs" / "notes.txt").write_text("not an image")
    (root / "dogs" / "._d1.bmp").write_bytes(b"macOS metadata, not an image")
    (root / "dogs" / "model.h5").write_bytes(b"\x00" * 10)
    write(root / "cats" / "c1.png", "RGB", (8, 8), 10)
    write(root / "cats" / "more" / "c2.jpg", "L", (7, 3), 20)
    write(root / "cats" / "c3.png", "RGBA", (3, 3), 30)
    write(root / "stray.png", "RGB", (2, 2), 99)  # not in a class folder
    return root


def flow(root, **kwargs):
    kwargs.setdefault("target_size", (4, 4))
    kwargs.setdefault("console", capture_console())
    return ImageDataGenerator().flow_from_directory(str(root), **kwargs)


def test_found_message_classes_and_files(tree):
    console = capture_console()
    it = flow(tree, console=console, class_mode="binary", shuffle=False)
    assert console.file.getvalue() == "Found 5 images belonging to 2 classes.\n"
    assert it.class_indices == {"cats": 0, "dogs": 1}
    assert it.filenames == ["cats/c1.png", "cats/c3.png", "cats/more/c2.jpg",
                            "dogs/d1.bmp", "dogs/d2.TIF"]
    assert it.samples == it.n == 5 and it.num_classes == 2
    assert_array_equal(it.classes, [0, 0, 0, 1, 1])
    assert it.filepaths[0] == str(tree / "cats" / "c1.png")
    assert len(it) == 1


def test_default_console_prints_to_stdout_like_keras(tree, capsys):
    ImageDataGenerator().flow_from_directory(str(tree), target_size=(4, 4))
    assert capsys.readouterr().out == "Found 5 images belonging to 2 classes.\n"


def test_binary_labels_by_sorted_class_name_and_pixels(tree):
    it = flow(tree, class_mode="binary", shuffle=False, batch_size=5)
    x, y = next(it)
    assert x.shape == (5, 4, 4, 3) and x.dtype == np.float32
    assert y.dtype == np.float32
    assert_array_equal(y, [0, 0, 0, 1, 1])
    # the files' own values, in filename order; grayscale 20 became RGB 20,20,20
    assert_array_equal(x[:, 0, 0, 0], [10, 30, 20, 200, 210])
    assert_array_equal(x[2, 0, 0], [20, 20, 20])


def test_explicit_classes_order_and_label_modes(tree):
    it = flow(tree, classes=["dogs", "cats"], class_mode="sparse", shuffle=False,
              batch_size=5)
    assert it.class_indices == {"dogs": 0, "cats": 1}
    assert_array_equal(next(it)[1], [0, 0, 1, 1, 1])
    x, y = next(flow(tree, class_mode="categorical", shuffle=False, batch_size=5))
    assert_array_equal(y, [[1, 0]] * 3 + [[0, 1]] * 2)
    assert y.dtype == np.float32
    only_x = next(flow(tree, class_mode=None, batch_size=2))
    assert isinstance(only_x, np.ndarray) and only_x.shape == (2, 4, 4, 3)
    x, same = next(flow(tree, class_mode="input", batch_size=2))
    assert_array_equal(x, same)


@pytest.mark.parametrize("color_mode, channels", [("grayscale", 1), ("rgba", 4)])
def test_color_modes_convert_every_file(tree, color_mode, channels):
    x, _ = next(flow(tree, color_mode=color_mode, shuffle=False, batch_size=5))
    assert x.shape == (5, 4, 4, channels)
    if color_mode == "rgba":
        assert_array_equal(x[:, 0, 0, 3], [255, 128, 255, 255, 255])


def test_iterates_forever_with_short_last_batch_and_reshuffles(tree):
    it = flow(tree, batch_size=2, seed=3, class_mode="sparse")
    assert len(it) == 3
    epochs = []
    for _ in range(4):
        batches = [next(it) for _ in range(3)]
        assert [len(b[0]) for b in batches] == [2, 2, 1]
        epochs.append(np.concatenate([b[0][:, 0, 0, 0] for b in batches]))
    for order in epochs:  # every epoch shows every image exactly once
        assert sorted(order) == [10, 20, 30, 200, 210]
    assert len({tuple(e) for e in epochs}) > 1  # reshuffled between epochs


def test_seed_makes_batches_reproducible(tree):
    gen = ImageDataGenerator(rotation_range=40, zoom_range=0.3, horizontal_flip=True)
    a = gen.flow_from_directory(str(tree), target_size=(6, 6), batch_size=2,
                                seed=42, console=capture_console())
    b = gen.flow_from_directory(str(tree), target_size=(6, 6), batch_size=2,
                                seed=42, console=capture_console())
    for _ in range(5):
        (xa, ya), (xb, yb) = next(a), next(b)
        assert_array_equal(xa, xb)
        assert_array_equal(ya, yb)


def test_no_shuffle_keeps_file_order(tree):
    it = flow(tree, batch_size=3, shuffle=False, class_mode="sparse")
    assert_array_equal(next(it)[1], [0, 0, 0])
    assert_array_equal(next(it)[1], [1, 1])
    assert_array_equal(next(it)[1], [0, 0, 0])


def test_a_corrupt_photo_is_found_when_the_folder_is_read(tree):
    bad = tree / "cats" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a whole jpeg")
    with pytest.raises(ImageReadError, match=r"^1 of the 6 image files in "
                       r"'.*train' cannot be used:\n  cats/broken\.jpg: .*; the "
                       r"file is corrupt, truncated or not an image\nDelete or "
                       r"replace them, or pass on_error='skip' to "
                       r"flow_from_directory to leave them out\.$"):
        flow(tree, shuffle=False, batch_size=5)


def test_every_unreadable_file_is_listed_with_its_reason(tree, fifo):
    photo = (tree / "cats" / "c1.png").read_bytes()
    (tree / "cats" / "cut.png").write_bytes(photo[:len(photo) // 2])
    (tree / "dogs" / "text.jpg").write_text("not a photo")
    (tree / "dogs" / "null.jpg").symlink_to("/dev/null")
    fifo(tree / "dogs" / "pipe.jpg")
    with pytest.raises(ImageReadError) as info:
        flow(tree)
    message = str(info.value)
    assert message.startswith(f"4 of the 9 image files in {str(tree)!r} cannot "
                              "be used:\n")
    listed = [line.split(":")[0].strip() for line in message.splitlines()[1:-1]]
    assert listed == ["cats/cut.png", "dogs/null.jpg", "dogs/pipe.jpg",
                      "dogs/text.jpg"]
    assert "is a device, not a regular file" in message
    assert "is a FIFO (named pipe)" in message


def test_on_error_skip_leaves_them_out_and_says_how_many(tree):
    data = (tree / "cats" / "more" / "c2.jpg").read_bytes()
    (tree / "cats" / "cut.jpg").write_bytes(data[:len(data) // 2])
    console = capture_console()
    it = DirectoryIterator(str(tree), ImageDataGenerator(), target_size=(4, 4),
                           class_mode="binary", shuffle=False, batch_size=5,
                           console=console, on_error="skip")
    assert console.file.getvalue() == (
        "Found 5 images belonging to 2 classes.\n"
        "Skipped 1 unreadable image file(s) (on_error='skip'): cats/cut.jpg. The "
        "iterator's .skipped lists them with the reasons.\n")
    assert it.filenames == ["cats/c1.png", "cats/c3.png", "cats/more/c2.jpg",
                            "dogs/d1.bmp", "dogs/d2.TIF"]
    assert_array_equal(it.classes, [0, 0, 0, 1, 1])
    assert [name for name, _ in it.skipped] == ["cats/cut.jpg"]
    assert "truncated" in it.skipped[0][1].lower()
    for _ in range(3):  # whole epochs, never meeting the cut photo
        x, y = next(it)
        assert_array_equal(x[:, 0, 0, 0], [10, 30, 20, 200, 210])


def test_a_clean_folder_skips_nothing_and_prints_only_keras_line(tree):
    console = capture_console()
    it = DirectoryIterator(str(tree), None, target_size=(4, 4), console=console,
                           on_error="skip")
    assert console.file.getvalue() == "Found 5 images belonging to 2 classes.\n"
    assert it.skipped == ()


def test_on_error_must_be_raise_or_skip(tree):
    with pytest.raises(ValueError, match=r"^`on_error` must be one of \{'raise', "
                       r"'skip'\}\. Received: on_error='ignore'$"):
        DirectoryIterator(str(tree), None, on_error="ignore")


@pytest.mark.parametrize("folders", [["a", "b", "c"], ["a"]])
def test_binary_labels_need_exactly_two_classes(tmp_path, folders):
    for name in folders:
        write(tmp_path / name / "1.png", "RGB", (2, 2), 1)
    with pytest.raises(ArgumentError, match=r"^class_mode='binary' needs exactly "
                       rf"2 classes \(one sub-folder each\), whose labels are 0 "
                       rf"and 1; found {len(folders)} in '.*': "
                       rf"{re.escape(str(folders))}\. Use class_mode='categorical' "
                       r"or 'sparse' for more classes"):
        flow(tmp_path, class_mode="binary")
    assert flow(tmp_path, class_mode="sparse").num_classes == len(folders)


def test_binary_with_two_chosen_classes_of_three(tmp_path):
    for value, name in enumerate(["a", "b", "c"]):
        write(tmp_path / name / "1.png", "RGB", (2, 2), value)
    it = flow(tmp_path, class_mode="binary", classes=["c", "a"], shuffle=False)
    assert_array_equal(next(it)[1], [0, 1])


@pytest.mark.parametrize("classes", ["cats", ["cats", "cats"], ["cats", 3]])
def test_classes_must_be_distinct_folder_names(tree, classes):
    with pytest.raises(ArgumentError, match=r"^`classes` must be a list of "
                       r"distinct sub-folder names, e\.g\. \['cats', 'dogs'\]\. "
                       rf"Received: classes={re.escape(repr(classes))}$"):
        flow(tree, classes=classes)


def test_a_link_back_to_a_folder_is_listed_once(tree):
    (tree / "cats" / "more" / "loop").symlink_to(tree / "cats")
    it = flow(tree, follow_links=True, shuffle=False)
    assert it.filenames == ["cats/c1.png", "cats/c3.png", "cats/more/c2.jpg",
                            "dogs/d1.bmp", "dogs/d2.TIF"]


def test_missing_directory_and_bad_arguments(tree):
    with pytest.raises(FileNotFoundError, match="Image directory not found"):
        flow(tree / "nope")
    with pytest.raises(FileNotFoundError, match="Class folder 'birds'"):
        flow(tree, classes=["birds"])
    with pytest.raises(ValueError, match="`class_mode` must be one of"):
        flow(tree, class_mode="multi")
    with pytest.raises(ValueError, match="`color_mode` must be one of"):
        flow(tree, color_mode="cmyk")
    with pytest.raises(ValueError, match="target_size"):
        flow(tree, target_size=(0, 4))
    with pytest.raises(ValueError, match="Invalid interpolation method 'cubic'"):
        flow(tree, interpolation="cubic")


def test_empty_directory_says_what_is_expected(tmp_path):
    (tmp_path / "a").mkdir()
    console = capture_console()
    it = flow(tmp_path, console=console)
    assert console.file.getvalue() == "Found 0 images belonging to 1 classes.\n"
    with pytest.raises(ValueError, match="No images found"):
        next(it)


def test_validation_subset_per_class(tree):
    gen = ImageDataGenerator(validation_split=0.5)
    val = gen.flow_from_directory(str(tree), target_size=(4, 4), subset="validation",
                                  console=capture_console())
    train = gen.flow_from_directory(str(tree), target_size=(4, 4),
                                    subset="training", console=capture_console())
    assert val.filenames == ["cats/c1.png", "dogs/d1.bmp"]
    assert train.samples == 3


def test_prefetcher_yields_the_same_batches(tree):
    a = flow(tree, batch_size=2, seed=9, class_mode="binary")
    b = flow(tree, batch_size=2, seed=9, class_mode="binary")
    with prefetch(b, buffer_size=2) as ahead:
        assert len(ahead) == 3 and ahead.class_indices == a.class_indices
        for _ in range(7):
            (xa, ya), (xb, yb) = next(a), next(ahead)
            assert_array_equal(xa, xb)
            assert_array_equal(ya, yb)
    assert not ahead._thread.is_alive()


def test_prefetcher_reraises_errors_and_stops():
    def broken():
        yield 1
        raise RuntimeError("decoder exploded")

    it = Prefetcher(broken(), buffer_size=1)
    assert next(it) == 1
    with pytest.raises(RuntimeError, match="decoder exploded"):
        next(it)
    with pytest.raises(StopIteration):
        next(it)
    it.close()
    with pytest.raises(ValueError, match="`buffer_size` must be a positive"):
        Prefetcher(iter([]), buffer_size=0)


def test_prefetcher_close_unblocks_a_full_queue():
    def endless():
        n = 0
        while True:
            n += 1
            yield n

    it = Prefetcher(endless(), buffer_size=1)
    assert next(it) == 1
    it.close()
    assert not it._thread.is_alive()
    assert threading.active_count() >= 1


def test_real_photos(shared_data):
    train = shared_data / "cats_and_dogs_small" / "train"
    if not train.is_dir():
        pytest.skip(f"{train} not found")
    console = capture_console()
    it = ImageDataGenerator(rescale=1. / 255).flow_from_directory(
        train, target_size=(150, 150), batch_size=20, class_mode="binary",
        console=console)
    assert console.file.getvalue() == "Found 2000 images belonging to 2 classes.\n"
    x, y = next(it)
    assert x.shape == (20, 150, 150, 3) and 0 <= x.min() and x.max() <= 1
    assert set(np.unique(y)) <= {0.0, 1.0} and len(it) == 100


@pytest.mark.parametrize("first", [0, 2])
@pytest.mark.parametrize("skipped", [0, 1, 3, 5, 7, 12])
def test_skip_leads_to_the_batches_an_unbroken_run_draws(first, skipped):
    """Shuffled, augmented, 10 samples in batches of 4 (passes of 3 batches,
    the last one short): skipping from the start or after 2 batches lands
    mid-pass, on a pass start, and passes later, and the next batches match
    those of an iterator that drew every batch."""
    x = np.arange(10 * 4 * 4 * 3, dtype=np.float32).reshape(10, 4, 4, 3)
    y = np.arange(10)
    generator = ImageDataGenerator(rotation_range=30, horizontal_flip=True)
    unbroken = generator.flow(x, y, batch_size=4, shuffle=True, seed=3)
    drawn = [next(unbroken) for _ in range(first + skipped + 4)]
    resumed = generator.flow(x, y, batch_size=4, shuffle=True, seed=3)
    for _ in range(first):  # some batches drawn before the skip
        next(resumed)
    resumed.skip(skipped)
    for want_x, want_y in drawn[first + skipped:]:
        got_x, got_y = next(resumed)
        assert_array_equal(got_y, want_y)
        assert_array_equal(got_x, want_x)


def test_skip_refuses_a_negative_count():
    iterator = ImageDataGenerator().flow(np.zeros((3, 2, 2, 1)), batch_size=2)
    with pytest.raises(ValueError, match="`batches` must be a non-negative integer"):
        iterator.skip(-1)


def test_flow_from_directory_passes_on_error_through(tree):
    data = (tree / "cats" / "more" / "c2.jpg").read_bytes()
    (tree / "cats" / "cut.jpg").write_bytes(data[:len(data) // 2])
    generator = ImageDataGenerator()
    with pytest.raises(errors.DatasetError, match="cats/cut.jpg"):
        generator.flow_from_directory(str(tree), target_size=(4, 4),
                                      console=capture_console())
    it = generator.flow_from_directory(str(tree), target_size=(4, 4),
                                       console=capture_console(), on_error="skip")
    assert [name for name, _ in it.skipped] == ["cats/cut.jpg"]
