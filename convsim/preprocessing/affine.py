"""The geometry of data augmentation: one 3x3 matrix per image.

Keras's ``ImageDataGenerator`` moves an image by *pulling* pixels: for each
output pixel it asks "which input position lands here?". That question is one
matrix, built from four simple ones in a fixed order and applied about the
image centre::

    input = centre + R(theta) @ (shift + Shear(s) @ Zoom(zx, zy) @ (output - centre))

in ``(x, y) = (column, row)`` coordinates, with

* ``R(theta) = [[cos, -sin], [sin, cos]]``, ``theta`` in degrees;
* ``shift = (tx, ty)`` in pixels: ``tx`` horizontal (width), ``ty`` vertical;
* ``Shear(s) = [[1, -sin s], [0, cos s]]``, ``s`` in degrees;
* ``Zoom = diag(zx, zy)``: a zoom factor above 1 *shrinks* the picture
  (each output pixel looks further away from the centre), below 1 enlarges it.

These are the matrices and the order of ``keras.preprocessing.image.
apply_affine_transform`` (Keras 2.x). Two Keras bugs are *not* copied: the
centre is the true pixel centre ``((width - 1) / 2, (height - 1) / 2)`` (Keras
passes height and width the wrong way round, which only matters for
non-square images), and ``height_shift_range`` moves the picture vertically as
documented (Keras's ``get_random_transform`` feeds it to the horizontal shift:
keras-team/tf-keras#310, keras-preprocessing#348).

The kernel (:mod:`convsim.kernels.warp`) works in ``(row, column)`` order,
so :func:`transform_matrix` returns the matrix with its two axes swapped.
"""

from __future__ import annotations

import math
import threading

import numpy as np

from convsim.errors import ArgumentError
from convsim.kernels import warp
from convsim.preprocessing import arguments
from convsim.runtime import kernel_call

__all__ = ["MAX_POSITION", "apply_affine_transform", "flip_axis", "is_identity",
           "transform_matrix", "warp_batch"]

#: How far from the image (in pixels) a matrix may send a sample position. At
#: 1e10 a float64 position is still exact to 2e-6 pixel and its integer part
#: is nine orders of magnitude inside int64; every transform within the
#: arguments' bounds (:mod:`convsim.preprocessing.arguments`) stays below it
#: for images up to a million pixels on a side.
MAX_POSITION = 1e10


def transform_matrix(theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0, zy=1.0,
                     height=1, width=1) -> np.ndarray:
    """The ``(2, 3)`` float64 matrix mapping output ``(row, col, 1)`` to the input
    position to sample, for an image of ``height x width`` pixels.

    >>> transform_matrix(tx=2.0, height=5, width=5)  # sample 2 pixels to the right
    array([[1., 0., 0.],
           [0., 1., 2.]])
    """
    m = np.eye(3)
    if theta != 0:
        a = math.radians(theta)
        m = m @ np.array([[math.cos(a), -math.sin(a), 0.0],
                          [math.sin(a), math.cos(a), 0.0],
                          [0.0, 0.0, 1.0]])
    if tx != 0 or ty != 0:
        m = m @ np.array([[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]])
    if shear != 0:
        s = math.radians(shear)
        m = m @ np.array([[1.0, -math.sin(s), 0.0],
                          [0.0, math.cos(s), 0.0],
                          [0.0, 0.0, 1.0]])
    if zx != 1 or zy != 1:
        m = m @ np.array([[zx, 0.0, 0.0], [0.0, zy, 0.0], [0.0, 0.0, 1.0]])
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    to_centre = np.array([[1.0, 0.0, cx], [0.0, 1.0, cy], [0.0, 0.0, 1.0]])
    from_centre = np.array([[1.0, 0.0, -cx], [0.0, 1.0, -cy], [0.0, 0.0, 1.0]])
    m = to_centre @ m @ from_centre
    # (x, y) -> (row, col): swap both the two rows and the two columns.
    m = m[[1, 0, 2]][:, [1, 0, 2]]
    return np.ascontiguousarray(m[:2])


def is_identity(theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0, zy=1.0) -> bool:
    """True when no warp is needed (Keras then leaves the image untouched)."""
    return theta == 0 and tx == 0 and ty == 0 and shear == 0 and zx == 1 and zy == 1


def apply_affine_transform(x, theta=0.0, tx=0.0, ty=0.0, shear=0.0, zx=1.0,
                           zy=1.0, fill_mode="nearest", cval=0.0,
                           order=1) -> np.ndarray:
    """Rotate/shift/shear/zoom one ``(height, width, channels)`` image.

    Args:
        x: the image (any real dtype; the result is float32).
        theta: rotation in degrees (positive turns the picture anticlockwise
            on screen); at most 1e6 in size, like ``shear``.
        tx, ty: shift in pixels, horizontal and vertical, at most 1e6 in size.
            Positive values sample further right/down, so the content moves
            left/up.
        shear: shear angle in degrees.
        zx, zy: zoom factors (>1 shrinks the content, <1 enlarges it, a
            negative one also mirrors), at most 1000 in size.
        fill_mode: ``'nearest'``, ``'reflect'``, ``'wrap'`` or ``'constant'``.
        cval: fill value for ``'constant'`` (a finite float32).
        order: 0 (nearest pixel) or 1 (bilinear, Keras's default).

    Returns:
        The warped float32 image; an exact copy when nothing was asked for.

    Raises:
        ArgumentError: for a parameter that is not a finite number within its
            bound (NaN, inf, 1e308...), naming it.
    """
    x = np.asarray(x)
    if x.ndim != 3:
        raise ArgumentError("Input arrays must be multi-channel 2D images: shape "
                            f"(height, width, channels). Received: x.shape={x.shape}")
    geometry = arguments.geometry({"theta": theta, "tx": tx, "ty": ty,
                                   "shear": shear, "zx": zx, "zy": zy})
    mode = arguments.standardize_fill_mode(fill_mode)
    order = arguments.standardize_order(order)
    cval = arguments.pixel_value(cval, "cval")
    image = np.ascontiguousarray(x, dtype=np.float32)
    if is_identity(*geometry):
        return image.copy()
    m = transform_matrix(*geometry, x.shape[0], x.shape[1])
    return warp_batch(image[None], m[None], np.zeros(1, np.bool_), order, mode,
                      cval)[0]


@kernel_call
def warp_batch(batch, matrices, identity, order: int, fill_mode: str,
               cval: float) -> np.ndarray:
    """Warp a float32 NHWC ``batch``, image ``i`` by ``matrices[i]`` (2x3, from
    :func:`transform_matrix`); images with ``identity[i]`` are copied as they
    are. The only caller of the warp kernel, so its last gate: every matrix
    must be finite and keep every sample position within :data:`MAX_POSITION`
    pixels (:class:`~convsim.errors.ArgumentError` otherwise).

    Numba's default thread pool must be entered by one thread at a time, so
    only the main thread takes the parallel kernel; the background thread that
    prepares the next batches (:mod:`convsim.preprocessing.prefetch`) takes the
    serial one.
    """
    if not (isinstance(batch, np.ndarray) and batch.dtype == np.float32
            and batch.ndim == 4):
        raise ArgumentError("`batch` must be a float32 array of shape (batch, "
                            f"height, width, channels). Received: {_describe(batch)}")
    n, height, width = batch.shape[:3]
    matrices = np.asarray(matrices, dtype=np.float64)
    identity = np.asarray(identity, dtype=np.bool_)
    if matrices.shape != (n, 2, 3) or identity.shape != (n,):
        raise ArgumentError(f"A batch of {n} images needs `matrices` of shape ({n}, "
                            f"2, 3) and `identity` of shape ({n},). Received: "
                            f"matrices.shape={matrices.shape}, "
                            f"identity.shape={identity.shape}")
    _check_reach(matrices, height, width)
    kernel = (warp.affine_warp_parallel
              if threading.current_thread() is threading.main_thread()
              else warp.affine_warp_serial)
    return kernel(np.ascontiguousarray(batch), matrices, identity,
                  arguments.standardize_order(order),
                  warp.MODES[arguments.standardize_fill_mode(fill_mode)],
                  arguments.pixel_value(cval, "cval"))


def _check_reach(matrices: np.ndarray, height: int, width: int) -> None:
    """Refuse a matrix that is not finite or sends a sample position of a
    ``height x width`` image further than :data:`MAX_POSITION` pixels. The
    bound on ``|m0| (height - 1) + |m1| (width - 1) + |m2|`` bounds every sum
    the kernel computes on the way, not only the last one."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf and NaN are refused
        reach = (np.abs(matrices[:, :, 0]) * max(height - 1, 0)
                 + np.abs(matrices[:, :, 1]) * max(width - 1, 0)
                 + np.abs(matrices[:, :, 2])).max(axis=1, initial=0.0)
    bad = np.flatnonzero(~(reach <= MAX_POSITION))  # NaN is not <= anything
    if bad.size == 0:
        return
    i = int(bad[0])
    shown = matrices[i].tolist()
    if not np.isfinite(matrices[i]).all():
        raise ArgumentError(f"Every warp matrix must hold finite numbers. Received: "
                            f"matrices[{i}]={shown}")
    far = (f"up to {reach[i]:.3g}" if np.isfinite(reach[i])
           else "more than 1.8e308")
    raise ArgumentError(f"The warp matrix of image {i} samples positions {far} "
                        f"pixels away; at most {MAX_POSITION:g} are "
                        f"allowed (beyond, positions lose their sub-pixel "
                        f"precision). Received: matrices[{i}]={shown} for a "
                        f"{height}x{width} image")


def _describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    return f"a {type(value).__name__}"


def flip_axis(x, axis: int) -> np.ndarray:
    """Mirror ``x`` along ``axis`` (Keras's ``flip_axis``): axis 1 of a
    ``(height, width, channels)`` image is a left-right flip."""
    return np.flip(np.asarray(x), axis)
