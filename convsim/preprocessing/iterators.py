"""Endless batch iterators over arrays (``flow``) and folders (``flow_from_directory``).

Like Keras's, they never stop: after the last batch of an epoch (which may be
smaller than ``batch_size``) the order is reshuffled and a new epoch begins.
That is why ``fit`` needs ``steps_per_epoch`` and the notes' preview loop needs
a ``break``. ``len(iterator)`` is the number of batches in one epoch,
``ceil(samples / batch_size)``.

Randomness: with ``seed=s`` batch number ``k`` (counted from the start) draws
its shuffle and its augmentations from ``np.random.default_rng([s, k])``, so
two iterators with the same seed produce identical batches, whatever thread
runs them. Without a seed every run differs (Keras's behaviour).
"""

from __future__ import annotations

import math
import os
import threading

import numpy as np

from convsim.errors import ArgumentError, MissingFileError, WrongTypeError
from convsim.preprocessing.image_folders import (
    ON_ERROR,
    class_names,
    list_class_files,
    skipped_message,
    unreadable_message,
)
from convsim.preprocessing.image_utils import (
    IMAGE_EXTENSIONS,
    ImageReadError,
    array_to_img,
    image_file_problem,
    img_to_array,
    load_img,
    standardize_color_mode,
    standardize_interpolation,
)
from convsim.random import make_rng
from convsim.validation import check_seed, positive_int, standardize_tuple

__all__ = ["DirectoryIterator", "Iterator", "NumpyArrayIterator"]

CLASS_MODES = ("categorical", "binary", "sparse", "input", None)


def _split_bounds(generator, subset) -> tuple[float, float] | None:
    """Fractions of the data that form ``subset`` (Keras: validation first)."""
    if subset is None:
        return None
    split = generator._validation_split if generator is not None else 0.0
    if subset not in ("training", "validation"):
        raise ArgumentError("`subset` must be one of {'training', 'validation'} or "
                            f"None. Received: subset={subset!r}")
    if not split:
        raise ArgumentError(f"`subset={subset!r}` needs `validation_split` to be set "
                            "in the ImageDataGenerator.")
    return (0.0, split) if subset == "validation" else (split, 1.0)


class Iterator:
    """Endless batches of indices into ``n`` samples; subclasses turn indices
    into arrays in :meth:`_get_batches_of_transformed_samples`."""

    white_list_formats = IMAGE_EXTENSIONS

    def __init__(self, n: int, batch_size: int, shuffle: bool, seed):
        self.n = n
        self.batch_size = positive_int(batch_size, "batch_size")
        self.seed = check_seed(seed)
        self.shuffle = bool(shuffle)
        self.batch_index = 0
        self.total_batches_seen = 0
        self.lock = threading.Lock()
        self.index_array = None
        self._rng = None

    def _batch_rng(self) -> np.random.Generator:
        if self.seed is not None:
            return np.random.default_rng([self.seed, self.total_batches_seen])
        if self._rng is None:
            self._rng = make_rng()
        return self._rng

    def _set_index_array(self, rng) -> None:
        self.index_array = (rng.permutation(self.n) if self.shuffle
                            else np.arange(self.n))

    def __len__(self) -> int:
        return math.ceil(self.n / self.batch_size)

    def reset(self) -> None:
        """Start the next batch at the beginning of a new epoch."""
        self.batch_index = 0

    def on_epoch_end(self) -> None:
        self._set_index_array(self._batch_rng())

    def skip(self, batches: int) -> None:
        """Move on as if ``batches`` more batches had been drawn, without
        loading them.

        With a ``seed``, the batches after that are exactly the ones the
        iterator would have produced next: each batch's shuffle and
        augmentations depend only on the seed and the batch's number. A
        resumed training run uses this to see the batches an uninterrupted run
        would have seen. Without a seed the order stays random.
        """
        positive_int(batches, "batches", allow_zero=True)
        with self.lock:
            per_pass = len(self)  # every pass over the data has this many batches
            position = self.batch_index + batches  # batches into the current pass
            self.total_batches_seen += batches
            self.batch_index = position % per_pass if per_pass else 0
            if self.batch_index and (position >= per_pass or self.index_array is None):
                # In a later pass: rebuild the order its first batch drew.
                pass_start = self.total_batches_seen - self.batch_index
                rng = (np.random.default_rng([self.seed, pass_start])
                       if self.seed is not None else self._batch_rng())
                self._set_index_array(rng)

    def __getitem__(self, idx: int):
        """Batch ``idx`` of the current epoch order (Keras Sequence access)."""
        if not 0 <= idx < len(self):
            raise IndexError(f"Asked to retrieve element {idx}, but the Sequence "
                             f"has length {len(self)}")
        with self.lock:
            rng = self._batch_rng()
            self.total_batches_seen += 1
            if self.index_array is None:
                self._set_index_array(rng)
            index_array = self.index_array[self.batch_size * idx:
                                           self.batch_size * (idx + 1)]
        return self._get_batches_of_transformed_samples(index_array, rng)

    def __iter__(self):
        return self

    def __next__(self):
        if self.n == 0:
            raise ArgumentError(self._empty_message())
        with self.lock:  # only the bookkeeping is locked; loading runs free
            rng = self._batch_rng()
            if self.batch_index == 0:
                self._set_index_array(rng)
            start = (self.batch_index * self.batch_size) % self.n
            if self.n > start + self.batch_size:
                self.batch_index += 1
            else:
                self.batch_index = 0  # last (maybe short) batch of the epoch
            self.total_batches_seen += 1
            index_array = self.index_array[start:start + self.batch_size]
        return self._get_batches_of_transformed_samples(index_array, rng)

    next = __next__

    def _empty_message(self) -> str:
        return "This iterator has no samples to yield."

    def _save_batch(self, batch_x, index_array, rng) -> None:
        for i, j in enumerate(index_array):
            img = array_to_img(batch_x[i], scale=True)
            name = f"{self.save_prefix}_{j}_{rng.integers(10**7)}.{self.save_format}"
            img.save(os.path.join(self.save_to_dir, name))

    def _get_batches_of_transformed_samples(self, index_array, rng):
        raise NotImplementedError


class NumpyArrayIterator(Iterator):
    """Batches of augmented images from an array ``x`` of shape
    ``(samples, height, width, channels)``, with optional labels ``y``."""

    def __init__(self, x, y, image_data_generator, batch_size=32, shuffle=False,
                 sample_weight=None, seed=None, save_to_dir=None, save_prefix="",
                 save_format="png", subset=None):
        if isinstance(x, (tuple, list)):
            raise WrongTypeError("convsim's `flow` takes one image array `x`; extra "
                                 "inputs as a tuple are not supported.")
        x = np.asarray(x)
        if x.dtype.kind not in "biuf":
            raise WrongTypeError(f"`x` must be a numeric image array. Received: "
                                 f"x.dtype={x.dtype}")
        if x.ndim != 4:
            raise ArgumentError("Input data in `NumpyArrayIterator` should have rank "
                                "4 (samples, height, width, channels). You passed an "
                                f"array with shape {x.shape}")
        for name, other in (("y", y), ("sample_weight", sample_weight)):
            if other is not None and len(x) != len(other):
                raise ArgumentError(
                    f"`x` (images tensor) and `{name}` should have the same "
                    f"length. Found: x.shape = {x.shape}, {name}.shape = "
                    f"{np.asarray(other).shape}")
        bounds = _split_bounds(image_data_generator, subset)
        sl = slice(None)
        if bounds is not None:
            split_idx = int(len(x) * bounds[1 if subset == "validation" else 0])
            sl = slice(None, split_idx) if subset == "validation" else slice(split_idx,
                                                                             None)
        self.x = np.asarray(x[sl], dtype=np.float32)
        self.y = None if y is None else np.asarray(y)[sl]
        self.sample_weight = (None if sample_weight is None
                              else np.asarray(sample_weight)[sl])
        self.image_data_generator = image_data_generator
        self.save_to_dir, self.save_prefix = save_to_dir, save_prefix
        self.save_format = save_format
        super().__init__(len(self.x), batch_size, shuffle, seed)

    def _get_batches_of_transformed_samples(self, index_array, rng):
        batch_x = self.x[index_array]  # fancy indexing copies
        if self.image_data_generator is not None:
            batch_x = self.image_data_generator._transform_batch(batch_x, rng)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, rng)
        if self.y is None:
            return batch_x
        if self.sample_weight is None:
            return batch_x, self.y[index_array]
        return batch_x, self.y[index_array], self.sample_weight[index_array]


class DirectoryIterator(Iterator):
    """Batches of images read from ``directory/<class name>/...`` files.

    Attributes (as in Keras): ``class_indices`` (class name -> label, in sorted
    folder order unless ``classes`` is given), ``classes`` (label of every
    file), ``filenames`` (paths relative to ``directory``), ``filepaths``,
    ``samples``/``n``, ``num_classes``, ``image_shape``, ``batch_size``.
    Labels are float32: 0/1 for ``'binary'`` (which needs exactly 2 classes,
    as Keras's ``image_dataset_from_directory`` requires), the index for
    ``'sparse'``, one-hot rows for ``'categorical'``; ``'input'`` returns the
    images themselves and ``None`` no labels.

    Every file's header is checked when the folder is listed (a few hundred
    microseconds a photo, no decoding): with ``on_error='raise'`` (default)
    a folder holding unreadable files is refused with the list of them
    (:class:`~convsim.preprocessing.image_utils.ImageReadError`); with
    ``on_error='skip'`` they are left out, counted on ``console``, and listed
    with the reasons in ``skipped`` (a tuple of ``(file name, reason)``).
    """

    allowed_class_modes = set(CLASS_MODES)

    def __init__(self, directory, image_data_generator, target_size=(256, 256),
                 color_mode="rgb", classes=None, class_mode="categorical",
                 batch_size=32, shuffle=True, seed=None, data_format=None,
                 save_to_dir=None, save_prefix="", save_format="png",
                 follow_links=False, subset=None, interpolation="nearest",
                 keep_aspect_ratio=False, console=None, on_error="raise"):
        from convsim.validation import standardize_data_format

        standardize_data_format(data_format)
        self.directory = os.fspath(directory)
        if not os.path.isdir(self.directory):
            raise MissingFileError(f"Image directory not found: {self.directory!r}. "
                                   "Expected one sub-folder of images per class.")
        self.image_data_generator = image_data_generator
        self.target_size = standardize_tuple(target_size, 2, "target_size")
        self.color_mode = standardize_color_mode(color_mode)
        channels = {"grayscale": 1, "rgb": 3, "rgba": 4}[self.color_mode]
        self.image_shape = (*self.target_size, channels)
        if class_mode not in CLASS_MODES:
            raise ArgumentError("`class_mode` must be one of {'categorical', 'binary', "
                                f"'sparse', 'input', None}}. Received: "
                                f"class_mode={class_mode!r}")
        if on_error not in ON_ERROR:
            raise ArgumentError("`on_error` must be one of {'raise', 'skip'}. "
                                f"Received: on_error={on_error!r}")
        self.class_mode, self.on_error = class_mode, on_error
        self.interpolation = standardize_interpolation(interpolation)
        self.keep_aspect_ratio = bool(keep_aspect_ratio)
        self.save_to_dir, self.save_prefix = save_to_dir, save_prefix
        self.save_format = save_format
        self.dtype = "float32"
        self.split = _split_bounds(image_data_generator, subset)
        self.subset = subset
        classes = class_names(self.directory, classes, class_mode)
        self.num_classes = len(classes)
        self.class_indices = dict(zip(classes, range(len(classes)), strict=True))
        self._list_files(classes, bool(follow_links))
        if console is None:
            from rich.console import Console

            console = Console()
        console.print(f"Found {self.samples} images belonging to "
                      f"{self.num_classes} classes.", markup=False, highlight=False)
        if self.skipped:
            console.print(skipped_message(self.skipped), markup=False,
                          highlight=False, soft_wrap=True)
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _list_files(self, classes, follow_links: bool) -> None:
        """Find every class's image files and check each one's header; set
        ``filenames``, ``classes``, ``samples`` and ``skipped``."""
        filenames, labels = [], []
        for name in classes:
            found = list_class_files(self.directory, name, self.split, follow_links)
            filenames += found
            labels += [self.class_indices[name]] * len(found)
        problems = {f: image_file_problem(os.path.join(self.directory, f))
                    for f in filenames}
        #: ``(file name, reason)`` of every file left out (``on_error='skip'``).
        self.skipped = tuple((f, why) for f, why in problems.items() if why)
        if self.skipped and self.on_error == "raise":
            raise ImageReadError(unreadable_message(self.directory, self.skipped,
                                                    len(filenames)))
        keep = [i for i, f in enumerate(filenames) if not problems[f]]
        self.filenames = [filenames[i] for i in keep]
        self.classes = np.array([labels[i] for i in keep], dtype=np.int32)
        self.samples = len(self.filenames)
        self._filepaths = [os.path.join(self.directory, f) for f in self.filenames]

    @property
    def filepaths(self) -> list[str]:
        return self._filepaths

    @property
    def labels(self) -> np.ndarray:
        return self.classes

    def _empty_message(self) -> str:
        return (f"No images found in {self.directory!r}: expected one sub-folder "
                "per class holding files ending in "
                f"{', '.join('.' + e for e in IMAGE_EXTENSIONS)}.")

    def _get_batches_of_transformed_samples(self, index_array, rng):
        batch_x = np.empty((len(index_array), *self.image_shape), np.float32)
        for i, j in enumerate(index_array):
            img = load_img(self._filepaths[j], color_mode=self.color_mode,
                           target_size=self.target_size,
                           interpolation=self.interpolation,
                           keep_aspect_ratio=self.keep_aspect_ratio)
            batch_x[i] = img_to_array(img)
            img.close()
        if self.image_data_generator is not None:
            batch_x = self.image_data_generator._transform_batch(batch_x, rng)
        if self.save_to_dir:
            self._save_batch(batch_x, index_array, rng)
        labels = self.classes[index_array]
        if self.class_mode == "input":
            return batch_x, batch_x.copy()
        if self.class_mode in ("binary", "sparse"):
            return batch_x, labels.astype(np.float32)
        if self.class_mode == "categorical":
            batch_y = np.zeros((len(labels), self.num_classes), np.float32)
            batch_y[np.arange(len(labels)), labels] = 1.0
            return batch_x, batch_y
        return batch_x
