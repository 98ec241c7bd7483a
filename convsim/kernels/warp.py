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

Whatever numbers reach it, the kernel reads only inside its arrays and writes
only input values, blends of them, or ``cval``: a position that is NaN or
infinite has no pixel to take, so it gets ``cval`` in every mode (SciPy does
the same for NaN except in 'nearest'); a finite position however far away is
wrapped or reflected exactly (``np.fmod``, never a float-to-integer cast that
could overflow), and every tap index is brought inside the image in integer
arithmetic. :func:`convsim.preprocessing.affine.warp_batch`, its only caller,
refuses such matrices before they get here; these rules are the second line.

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

from convsim.errors import ArgumentError

MODES = {"nearest": 0, "reflect": 1, "wrap": 2, "constant": 3}
_NEAREST, _REFLECT, _WRAP, _CONSTANT = 0, 1, 2, 3
_OUTSIDE = -1.0  # map_coordinate's answer for "no pixel here: use cval"


@njit(cache=True, nogil=True)
def map_coordinate(c, n, mode):
    """Bring a position ``c`` outside ``[0, n - 1]`` back inside, SciPy-style.

    Returns ``-1.0`` (:data:`_OUTSIDE`) for 'constant' positions outside the
    image and for a position that is not a number at all (NaN, +-inf), where
    the caller writes cval; every other answer lies in ``(-1, n)``, whatever
    finite ``c`` is. The period is taken off with ``np.fmod``, which is exact
    for every double (no conversion to an integer that could overflow), so a
    position 1e300 pixels away wraps or reflects as correctly as one 3 away.
    """
    if c >= 0.0 and c <= n - 1:  # inside; NaN is not
        return c
    if mode == _CONSTANT or not math.isfinite(c):
        return _OUTSIDE
    if n <= 1:
        return 0.0
    if mode == _NEAREST:
        return 0.0 if c < 0.0 else n - 1.0
    if mode == _WRAP:  # period n - 1: position n - 1 is position 0 again
        period = n - 1.0
        if c < 0.0:  # SciPy: in (0, n - 1], so -period lands on n - 1
            return np.fmod(c, period) + period
        return np.fmod(c, period)  # in [0, n - 1)
    # reflect, half-sample symmetric: dcba|abcd|dcba, period 2n
    period = 2.0 * n
    if c < 0.0:
        if c < -period:
            c = np.fmod(c, period)  # (-2n, 0]
        if c < -n:
            return c + period
        return (1e-15 if c > -1e-15 else -c) - 1.0  # SciPy guards against -0.0
    c = np.fmod(c, period)  # [0, 2n)
    return period - c - 1.0 if c >= n else c


@njit(cache=True, nogil=True)
def _tap(i, n, mode):
    """Index in ``[0, n - 1]`` of one interpolation tap, for any integer ``i``.

    A tap outside the image is mapped with the mode's own rule in integer
    arithmetic (SciPy uses 'mirror', dcb|abcd|cba, for wrap and constant,
    where the tap outside always has weight 0). Numba's ``%`` on integers
    follows Python (the result has the divisor's sign), so every branch
    returns an index inside the image.
    """
    if i >= 0 and i < n:
        return i
    if n <= 1:
        return 0
    if mode == _NEAREST:
        return 0 if i < 0 else n - 1
    if mode == _REFLECT:  # period 2n: -1 -> 0, n -> n - 1
        i = i % (2 * n)
        return 2 * n - 1 - i if i >= n else i
    period = 2 * n - 2  # mirror, period 2n - 2: -1 -> 1, n -> n - 2
    i = i % period
    return period - i if i >= n else i


@njit(cache=True, nogil=True)
def warp_image(image, m, order, mode, cval, out):
    """Warp one ``(height, width, channels)`` image into ``out`` (same shape)."""
    h, w, channels = image.shape
    for row in range(h):
        for col in range(w):
            # added in SciPy's order (offset first), so that far-away
            # positions round exactly as SciPy's do
            r = map_coordinate(m[0, 2] + row * m[0, 0] + col * m[0, 1], h, mode)
            c = map_coordinate(m[1, 2] + row * m[1, 0] + col * m[1, 1], w, mode)
            if r <= _OUTSIDE or c <= _OUTSIDE:  # no pixel to take: cval
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
    n = images.shape[0]
    if (matrices.shape[0] != n or matrices.shape[1] != 2
            or matrices.shape[2] != 3 or identity.shape[0] != n):
        raise ArgumentError("the warp needs one (2, 3) matrix and one identity "
                            "flag per image")
    out = np.empty_like(images)  # (batch, height, width, channels)
    fill = np.float32(cval)
    for b in prange(n):
        if identity[b]:
            out[b] = images[b]
        else:
            warp_image(images[b], matrices[b], order, mode, fill, out[b])
    return out


affine_warp_parallel = njit(cache=True, nogil=True, parallel=True)(_affine_warp)
affine_warp_serial = njit(cache=True, nogil=True)(_affine_warp)
