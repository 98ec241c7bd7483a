"""Affine warp of a batch of float32 NHWC images: the engine of data augmentation.

Every output pixel *pulls* its value from the input: for output position
``(row, col)`` the kernel reads the input at::

    in_row = m[0, 0] * row + m[0, 1] * col + m[0, 2]
    in_col = m[1, 0] * row + m[1, 1] * col + m[1, 2]

with one 2x3 matrix per image (rotation, shift, shear and zoom already combined
by :mod:`convsim.preprocessing.affine`). This is exactly what Keras's
``ImageDataGenerator`` asks of ``scipy.ndimage.affine_transform`` for each
channel, and the rules below reproduce SciPy's, so our augmented pixels are the
ones Keras would produce:

* ``order=0`` takes the nearest input pixel (``floor(c + 0.5)``); ``order=1``
  blends the four neighbours (bilinear).
* Fill modes, for positions outside the image (``abcd`` is one row):

  - ``nearest``  ``aaaa|abcd|dddd``  repeat the edge pixel;
  - ``reflect``  ``dcba|abcd|dcba``  mirror about the pixel edge (SciPy's
    half-sample symmetric 'reflect');
  - ``wrap``     SciPy's 'wrap': periodic with period ``n - 1`` (the first and
    last pixels overlap), which is what Keras really does although its
    docstring draws ``abcd|abcd|abcd``;
  - ``constant`` the value ``cval`` for any position outside
    ``[0, n - 1]`` on either axis (no blending with the border).

Modes and orders arrive as small ints (:data:`MODES`) so one compiled kernel
serves all of them. The batch loop is ``prange`` in :func:`affine_warp_parallel`;
:func:`affine_warp_serial` is the same code compiled without threads, for
background threads (Numba's default 'workqueue' threading layer must not be
entered from two threads at once).

The kernel is its own literal loop (one formula per output pixel), so it has no
twin in :mod:`convsim.kernels.reference`; ``tests/kernels/test_warp.py`` checks
it against a naive float64 reference written from SciPy's rules, and against
SciPy itself when installed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

MODES = {"nearest": 0, "reflect": 1, "wrap": 2, "constant": 3}
_NEAREST, _REFLECT, _WRAP, _CONSTANT, _MIRROR = 0, 1, 2, 3, 4


@njit(cache=True, nogil=True)
def map_coordinate(c, n, mode):
    """Bring a position ``c`` outside ``[0, n - 1]`` back inside, SciPy-style.

    Returns -1.0 for 'constant' positions outside the image (caller fills cval).
    """
    if c >= 0.0 and c <= n - 1:
        return c
    if n <= 1:
        return -1.0 if mode == _CONSTANT else 0.0
    if mode == _NEAREST:
        return 0.0 if c < 0.0 else float(n - 1)
    if mode == _CONSTANT:
        return -1.0
    if mode == _WRAP:  # period n - 1: position n - 1 is position 0 again
        period = n - 1
        if c < 0.0:
            return c + period * (int(-c / period) + 1)
        return c - period * int(c / period)
    if mode == _MIRROR:  # whole-sample symmetric: dcb|abcd|cba
        period = 2 * n - 2
        if c < 0.0:
            c = period * int(-c / period) + c
            return c + period if c <= 1 - n else -c
        c = c - period * int(c / period)
        return period - c if c >= n else c
    # reflect, half-sample symmetric: dcba|abcd|dcba
    period = 2 * n
    if c < 0.0:
        if c < -period:
            c = period * int(-c / period) + c
        if c < -n:
            return c + period
        return (1e-15 if c > -1e-15 else -c) - 1.0  # SciPy guards against -0.0
    c = c - period * int(c / period)
    return period - c - 1.0 if c >= n else c


@njit(cache=True, nogil=True)
def _tap(i, n, mode):
    """Index of one interpolation tap: a tap that falls outside is mapped with
    the mode's own rule (SciPy uses 'mirror' for wrap and constant, where the
    tap outside always has weight 0)."""
    if i >= 0 and i < n:
        return i
    tap_mode = _MIRROR if mode == _WRAP or mode == _CONSTANT else mode
    return int(map_coordinate(float(i), n, tap_mode))


@njit(cache=True, nogil=True)
def warp_image(image, m, order, mode, cval, out):
    """Warp one ``(height, width, channels)`` image into ``out`` (same shape)."""
    h, w, channels = image.shape
    for row in range(h):
        for col in range(w):
            r = map_coordinate(m[0, 0] * row + m[0, 1] * col + m[0, 2], h, mode)
            c = map_coordinate(m[1, 0] * row + m[1, 1] * col + m[1, 2], w, mode)
            if r <= -1.0 or c <= -1.0:  # 'constant' and outside the image
                for ch in range(channels):
                    out[row, col, ch] = cval
            elif order == 0:
                r0 = _tap(int(math.floor(r + 0.5)), h, mode)
                c0 = _tap(int(math.floor(c + 0.5)), w, mode)
                for ch in range(channels):
                    out[row, col, ch] = image[r0, c0, ch]
            else:
                fr, fc = math.floor(r), math.floor(c)
                wr1, wc1 = r - fr, c - fc  # weights of the lower/right taps
                wr0, wc0 = 1.0 - wr1, 1.0 - wc1
                r0, r1 = _tap(int(fr), h, mode), _tap(int(fr) + 1, h, mode)
                c0, c1 = _tap(int(fc), w, mode), _tap(int(fc) + 1, w, mode)
                for ch in range(channels):
                    t = 0.0  # float64 sum in SciPy's tap order
                    t += image[r0, c0, ch] * wr0 * wc0
                    t += image[r0, c1, ch] * wr0 * wc1
                    t += image[r1, c0, ch] * wr1 * wc0
                    t += image[r1, c1, ch] * wr1 * wc1
                    out[row, col, ch] = t


def _affine_warp(images, matrices, identity, order, mode, cval):
    """Warp each image of ``(batch, height, width, channels)`` with its own
    ``(2, 3)`` matrix; images flagged in ``identity`` are copied unchanged,
    as Keras skips the warp when no transform was drawn."""
    out = np.empty_like(images)  # (batch, height, width, channels)
    fill = np.float32(cval)
    for b in prange(images.shape[0]):
        if identity[b]:
            out[b] = images[b]
        else:
            warp_image(images[b], matrices[b], order, mode, fill, out[b])
    return out


affine_warp_parallel = njit(cache=True, nogil=True, parallel=True)(_affine_warp)
affine_warp_serial = njit(cache=True, nogil=True)(_affine_warp)
