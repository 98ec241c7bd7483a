"""``ImageDataGenerator``: random rotations, shifts, shears, zooms and flips.

Data augmentation shows the network a slightly different version of each
photo every epoch, so it cannot memorise the 2,000 training pictures. The
generator only *describes* the randomness; ``flow`` and
``flow_from_directory`` return iterators that apply it batch after batch.

Per image, in Keras's order: draw the random parameters
(:meth:`ImageDataGenerator.get_random_transform`), warp (one affine matrix,
:mod:`convsim.preprocessing.affine`), shift channels, flip, change brightness
(:meth:`~ImageDataGenerator.apply_transform`), and only then normalise
(:meth:`~ImageDataGenerator.standardize`: ``preprocessing_function``, then
``rescale``, then centring). So ``rescale=1./255`` applies to the augmented
image, and ``cval`` is in the units of the raw pixels (0-255).
"""

from __future__ import annotations

import threading
import warnings

import numpy as np

from convsim.errors import ArgumentError, WrongTypeError
from convsim.preprocessing import affine, arguments
from convsim.preprocessing.image_utils import array_to_img, img_to_array
from convsim.preprocessing.iterators import DirectoryIterator, NumpyArrayIterator
from convsim.random import make_rng
from convsim.validation import check_seed, standardize_data_format

__all__ = ["ImageDataGenerator"]

class ImageDataGenerator:
    """Generate batches of images with real-time data augmentation (Keras API).

    Args:
        featurewise_center: subtract the dataset mean (needs :meth:`fit`).
        samplewise_center: subtract each image's own mean.
        featurewise_std_normalization: divide by the dataset std (needs fit).
        samplewise_std_normalization: divide each image by its own std.
        zca_whitening: apply ZCA whitening (needs fit).
        zca_epsilon: added to the eigenvalues before whitening.
        rotation_range: degrees; each image turns by uniform(-r, r).
        width_shift_range: float < 1: fraction of the width; float >= 1:
            pixels; both uniform(-s, s). An int n: whole pixels in
            (-n, n); a list: one of its values with a random sign.
        height_shift_range: the same, vertically.
        brightness_range: ``(low, high)``: multiply brightness by
            uniform(low, high) (via PIL, clipped to 0-255).
        shear_range: shear angle in degrees, uniform(-s, s).
        zoom_range: float z: zoom factors uniform in [1 - z, 1 + z], drawn
            separately for x and y; or ``[low, high]``.
        channel_shift_range: add uniform(-c, c) to all channels (clipped to
            the image's own range).
        fill_mode: how to fill pixels that come from outside the picture:
            ``'nearest'`` (default), ``'reflect'``, ``'wrap'``, ``'constant'``.
        cval: the fill value for ``'constant'`` (raw pixel units, a finite
            float32).
        horizontal_flip: mirror left-right with probability 1/2.
        vertical_flip: mirror upside-down with probability 1/2.
        rescale: multiply every pixel by this after augmenting (e.g. 1/255);
            None or 0 means no rescaling.
        preprocessing_function: called on each augmented image (3-D array)
            before rescaling; must return the same shape.
        data_format: only ``'channels_last'`` (or None).
        validation_split: fraction in (0, 1) set aside as the
            ``subset='validation'`` of ``flow``/``flow_from_directory``.
        interpolation_order: 1 (bilinear, Keras's default) or 0 (nearest).
        dtype: the float dtype of the batches (float32).

    Every number must be finite and within the bounds of
    :mod:`convsim.preprocessing.arguments` (angles at most 1e6 degrees, shifts
    1e6 pixels, zoom and brightness factors 1000, pixel values float32's
    range); anything else is refused here with an ``ArgumentError`` naming
    the argument, not when the first batch is drawn.

    Example:
        >>> datagen = ImageDataGenerator(rescale=1. / 255, rotation_range=40)
        >>> x = np.zeros((3, 8, 8, 3))
        >>> next(datagen.flow(x, batch_size=2, seed=0)).shape
        (2, 8, 8, 3)
    """

    def __init__(self, featurewise_center=False, samplewise_center=False,
                 featurewise_std_normalization=False,
                 samplewise_std_normalization=False, zca_whitening=False,
                 zca_epsilon=1e-6, rotation_range=0, width_shift_range=0.0,
                 height_shift_range=0.0, brightness_range=None, shear_range=0.0,
                 zoom_range=0.0, channel_shift_range=0.0, fill_mode="nearest",
                 cval=0.0, horizontal_flip=False, vertical_flip=False,
                 rescale=None, preprocessing_function=None, data_format=None,
                 validation_split=0.0, interpolation_order=1, dtype="float32"):
        standardize_data_format(data_format)
        self.data_format = "channels_last"
        self.featurewise_center = bool(featurewise_center)
        self.samplewise_center = bool(samplewise_center)
        self.featurewise_std_normalization = bool(featurewise_std_normalization)
        self.samplewise_std_normalization = bool(samplewise_std_normalization)
        self.zca_whitening = bool(zca_whitening)
        check = arguments.number
        self.zca_epsilon = check(zca_epsilon, "zca_epsilon")
        self.rotation_range = check(rotation_range, "rotation_range", 0,
                                    arguments.MAX_DEGREES, arguments.DEGREES)
        self.width_shift_range = arguments.shift_range(width_shift_range,
                                                       "width_shift_range")
        self.height_shift_range = arguments.shift_range(height_shift_range,
                                                        "height_shift_range")
        self.shear_range = check(shear_range, "shear_range", 0,
                                 arguments.MAX_DEGREES, arguments.DEGREES)
        self.zoom_range = arguments.zoom_range(zoom_range)
        self.channel_shift_range = arguments.pixel_value(
            channel_shift_range, "channel_shift_range", low=0)
        self.fill_mode = arguments.standardize_fill_mode(fill_mode)
        self.cval = arguments.pixel_value(cval, "cval")
        self.horizontal_flip = bool(horizontal_flip)
        self.vertical_flip = bool(vertical_flip)
        if rescale is not None:
            rescale = arguments.pixel_value(rescale, "rescale")
        self.rescale = rescale
        if preprocessing_function is not None and not callable(
                preprocessing_function):
            raise WrongTypeError("`preprocessing_function` must be callable. "
                                 f"Received: {preprocessing_function!r}")
        self.preprocessing_function = preprocessing_function
        if validation_split and not 0 < check(validation_split,
                                              "validation_split") < 1:
            raise ArgumentError("`validation_split` must be strictly between 0 and "
                                f"1. Received: {validation_split}")
        self._validation_split = float(validation_split or 0.0)
        self.interpolation_order = arguments.standardize_order(interpolation_order)
        if np.dtype(dtype) != np.float32:
            raise ArgumentError("convsim computes in float32: `dtype` must be "
                                f"'float32'. Received: dtype={dtype!r}")
        self.dtype = "float32"
        self.brightness_range = arguments.brightness_range(brightness_range)
        if self.zca_whitening or self.featurewise_std_normalization:
            self.featurewise_center = True
        if self.samplewise_std_normalization:
            self.samplewise_center = True
        self.mean = self.std = self.zca_whitening_matrix = None
        self._rng = None
        self._rng_lock = threading.Lock()

    # ----------------------------------------------------------------- random
    def _default_rng(self) -> np.random.Generator:
        with self._rng_lock:
            if self._rng is None:
                self._rng = make_rng()
            return self._rng

    def get_random_transform(self, img_shape, seed=None) -> dict:
        """Draw the random parameters for one image of shape ``img_shape``.

        ``seed`` may be None (the generator's own stream), an int, or a
        ``np.random.Generator``. Returns Keras's dictionary: ``theta``,
        ``tx`` (horizontal shift, px), ``ty`` (vertical shift, px), ``shear``,
        ``zx``, ``zy``, ``flip_horizontal``, ``flip_vertical``,
        ``channel_shift_intensity``, ``brightness``.
        """
        rng = _as_rng(seed) if seed is not None else self._default_rng()
        height, width = img_shape[0], img_shape[1]
        theta = (rng.uniform(-self.rotation_range, self.rotation_range)
                 if self.rotation_range else 0)
        # Keras draws the vertical shift first, then the horizontal one.
        ty = _draw_shift(rng, self.height_shift_range, height)
        tx = _draw_shift(rng, self.width_shift_range, width)
        shear = (rng.uniform(-self.shear_range, self.shear_range)
                 if self.shear_range else 0)
        low, high = self.zoom_range
        zx, zy = (1, 1) if low == 1 and high == 1 else rng.uniform(low, high, 2)
        flip_h = bool(rng.random() < 0.5) and self.horizontal_flip
        flip_v = bool(rng.random() < 0.5) and self.vertical_flip
        channel_shift = None
        if self.channel_shift_range != 0:
            channel_shift = rng.uniform(-self.channel_shift_range,
                                        self.channel_shift_range)
        brightness = None
        if self.brightness_range is not None:
            brightness = rng.uniform(*self.brightness_range)
        return {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx,
                "zy": zy, "flip_horizontal": flip_h, "flip_vertical": flip_v,
                "channel_shift_intensity": channel_shift, "brightness": brightness}

    # ------------------------------------------------------------- transforms
    def apply_transform(self, x, transform_parameters: dict) -> np.ndarray:
        """Apply drawn parameters to one ``(height, width, channels)`` image;
        returns a new float32 array (``x`` is left untouched)."""
        x = np.array(x, dtype=np.float32)  # a copy: flips below work in place
        if x.ndim != 3:
            raise ArgumentError("Expected one image of shape (height, width, "
                                f"channels). Received: x.shape={x.shape}")
        return self._apply_batch(x[None], [transform_parameters])[0]

    def random_transform(self, x, seed=None) -> np.ndarray:
        """Augment one image with freshly drawn parameters."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    def _apply_batch(self, batch: np.ndarray, params: list) -> np.ndarray:
        """Warp, channel-shift, flip and brighten a float32 NHWC batch; every
        parameter is checked first (``apply_transform`` takes them from you)."""
        n, height, width = batch.shape[:3]
        params = [_checked(p) for p in params]
        geometry = [p["geometry"] for p in params]
        identity = np.array([affine.is_identity(*g) for g in geometry], np.bool_)
        if not identity.all():
            matrices = np.stack([affine.transform_matrix(*g, height, width)
                                 for g in geometry])
            batch = affine.warp_batch(batch, matrices, identity,
                                      self.interpolation_order, self.fill_mode,
                                      self.cval)
        for i, p in enumerate(params):
            if p["channel_shift_intensity"] is not None:
                img = batch[i]
                low, high = img.min(), img.max()
                with np.errstate(over="ignore"):  # +-inf is clipped just below
                    np.clip(img + p["channel_shift_intensity"], low, high, out=img)
            if p["flip_horizontal"]:
                batch[i] = batch[i, :, ::-1]
            if p["flip_vertical"]:
                batch[i] = batch[i, ::-1]
            if p["brightness"] is not None:
                batch[i] = _brightness(batch[i], p["brightness"])
        return batch

    def standardize(self, x) -> np.ndarray:
        """Normalise one image (or a batch) in place, in Keras's order:
        ``preprocessing_function``, ``rescale``, sample-wise, feature-wise."""
        if self.preprocessing_function:
            x = self.preprocessing_function(x)
        if self.rescale:
            x *= self.rescale
        if self.samplewise_center:
            x -= np.mean(x, keepdims=True)
        if self.samplewise_std_normalization:
            x /= np.std(x, keepdims=True) + 1e-6
        if self.featurewise_center:
            if self.mean is None:
                _warn_not_fit("featurewise_center")
            else:
                x -= self.mean
        if self.featurewise_std_normalization:
            if self.std is None:
                _warn_not_fit("featurewise_std_normalization")
            else:
                x /= self.std + 1e-6
        if self.zca_whitening:
            if self.zca_whitening_matrix is None:
                _warn_not_fit("zca_whitening")
            else:
                flat = x.reshape(-1, int(np.prod(x.shape[-3:])))
                x = (flat @ self.zca_whitening_matrix).reshape(x.shape)
        return x

    def _transform_batch(self, batch: np.ndarray, rng) -> np.ndarray:
        """What the iterators call: augment and standardise a whole batch."""
        params = [self.get_random_transform(batch.shape[1:], rng)
                  for _ in range(batch.shape[0])]
        batch = self._apply_batch(batch, params)
        for i in range(batch.shape[0]):
            batch[i] = self.standardize(batch[i])
        return batch

    def fit(self, x, augment=False, rounds=1, seed=None) -> None:
        """Compute the dataset statistics for the feature-wise options."""
        x = np.array(x, dtype=np.float32)
        if x.ndim != 4:
            raise ArgumentError("Input to `.fit()` should have rank 4. Got array "
                                f"with shape: {x.shape}")
        if self.rescale:
            x *= self.rescale
        if augment:
            rng = _as_rng(seed) if seed is not None else self._default_rng()
            x = np.concatenate([self._apply_batch(
                x.copy(), [self.get_random_transform(x.shape[1:], rng)
                           for _ in range(len(x))]) for _ in range(rounds)])
        if self.featurewise_center:
            self.mean = np.mean(x, axis=(0, 1, 2)).reshape(1, 1, -1)
            x -= self.mean
        if self.featurewise_std_normalization:
            self.std = np.std(x, axis=(0, 1, 2)).reshape(1, 1, -1)
            x /= self.std + 1e-6
        if self.zca_whitening:
            flat = x.reshape(len(x), -1).astype(np.float64)
            u, s, _ = np.linalg.svd(flat.T, full_matrices=False)
            s_inv = np.sqrt(len(x)) / (s + self.zca_epsilon)
            self.zca_whitening_matrix = ((u * s_inv) @ u.T).astype(np.float32)

    # -------------------------------------------------------------- iterators
    def flow(self, x, y=None, batch_size=32, shuffle=True, sample_weight=None,
             seed=None, save_to_dir=None, save_prefix="", save_format="png",
             subset=None):
        """Iterate forever over batches of augmented arrays ``x`` (and ``y``).

        Returns a :class:`~convsim.preprocessing.iterators.NumpyArrayIterator`
        yielding ``x_batch`` or ``(x_batch, y_batch[, weights])``.
        """
        return NumpyArrayIterator(
            x, y, self, batch_size=batch_size, shuffle=shuffle,
            sample_weight=sample_weight, seed=seed, save_to_dir=save_to_dir,
            save_prefix=save_prefix, save_format=save_format, subset=subset)

    def flow_from_directory(self, directory, target_size=(256, 256),
                            color_mode="rgb", classes=None,
                            class_mode="categorical", batch_size=32, shuffle=True,
                            seed=None, save_to_dir=None, save_prefix="",
                            save_format="png", follow_links=False, subset=None,
                            interpolation="nearest", keep_aspect_ratio=False,
                            console=None, on_error="raise"):
        """Iterate forever over augmented batches of the images in
        ``directory/<class>/...``; prints "Found N images belonging to K
        classes." on ``console`` (a rich Console; default: standard output).

        Every file is checked when the folder is listed: with ``on_error=
        'raise'`` (the default) a folder holding unreadable files is refused
        with all of them named; ``'skip'`` leaves them out and says how many.

        Returns a :class:`~convsim.preprocessing.iterators.DirectoryIterator`.
        """
        return DirectoryIterator(
            directory, self, target_size=target_size, color_mode=color_mode,
            classes=classes, class_mode=class_mode, batch_size=batch_size,
            shuffle=shuffle, seed=seed, save_to_dir=save_to_dir,
            save_prefix=save_prefix, save_format=save_format,
            follow_links=follow_links, subset=subset, interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio, console=console, on_error=on_error)


def _draw_shift(rng, shift_range, size: int) -> float:
    """Keras's shift draw: list/int -> a signed choice, float -> uniform."""
    if isinstance(shift_range, np.ndarray):
        shift = rng.choice(shift_range) * rng.choice([-1, 1])
    elif isinstance(shift_range, int):
        if shift_range == 0:
            return 0
        shift = rng.integers(shift_range) * rng.choice([-1, 1])
    elif shift_range:
        shift = rng.uniform(-shift_range, shift_range)
    else:
        return 0
    if np.max(shift_range) < 1:  # a fraction of the image size
        shift *= size
    return float(shift)


def _checked(parameters: dict) -> dict:
    """One image's transform parameters (Keras's dictionary), each checked
    against the bounds of :mod:`~convsim.preprocessing.arguments`."""
    if not isinstance(parameters, dict):
        raise WrongTypeError("`transform_parameters` must be a dict such as "
                             "get_random_transform() returns. Received: "
                             f"{arguments.shown(parameters)}")
    name = "transform_parameters['{}']"
    shift = parameters.get("channel_shift_intensity")
    brightness = parameters.get("brightness")
    return {
        "geometry": arguments.geometry(parameters, name),
        "channel_shift_intensity": None if shift is None else arguments.pixel_value(
            shift, name.format("channel_shift_intensity")),
        "brightness": None if brightness is None else arguments.number(
            brightness, name.format("brightness"), 0, arguments.MAX_FACTOR),
        "flip_horizontal": bool(parameters.get("flip_horizontal", False)),
        "flip_vertical": bool(parameters.get("flip_vertical", False)),
    }


def _brightness(img: np.ndarray, factor: float) -> np.ndarray:
    """PIL brightness change of a 0-255 image, like Keras (scale=False)."""
    from PIL import ImageEnhance

    low, high = float(img.min()), float(img.max())
    out_of_range = low < 0 or high > 255
    pil = array_to_img(img, scale=out_of_range)
    out = img_to_array(ImageEnhance.Brightness(pil).enhance(factor))
    if out_of_range:  # back to the image's own range
        out = out / 255 * (high - low) + low
    return out


def _warn_not_fit(option: str) -> None:
    warnings.warn(f"This ImageDataGenerator specifies `{option}`, but it hasn't "
                  "been fit on any training data. Fit it first by calling "
                  "`.fit(numpy_data)`.", stacklevel=3)


def _as_rng(seed) -> np.random.Generator:
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        raise ArgumentError("`seed` must be a non-negative integer or a "
                            "np.random.Generator. Received: seed=None")
    return np.random.default_rng(check_seed(seed))
