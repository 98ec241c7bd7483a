"""im2col and its adjoint for a range of output positions.

A convolution is one matrix product once every output position's receptive
field (its *patch*) is laid out as a row: ``patches @ kernel.reshape(-1,
filters)`` gives every output cell at once, and BLAS computes such products
far faster than any loop we can write. Copying the patches of a whole batch
would take a lot of memory (a batch of twenty 150x150 photos: 120 MB for the
second layer), so convsim copies a few hundred rows at a time into a small
buffer that stays in the CPU cache, multiplies, and moves on
(:mod:`convsim.kernels.conv` drives this).

Output positions are numbered over the whole batch: position ``p`` is image
``p // (out_h * out_w)``, row ``(p // out_w) % out_h``, column ``p % out_w``.
A patch row lists the window's cells in (row in window, column in window,
channel) order, the order of ``kernel.reshape(kh * kw * in_channels, filters)``.

``nogil=True``: these loops release Python's GIL, so several Python threads
can copy patches at the same time.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True)
def copy_patches(x, start, stop, kh, kw, sh, sw, dh, dw, pad_top, pad_left,
                 out_h, out_w, cols):
    """``cols[r] =`` the patch of output position ``start + r``, for positions
    ``start <= p < stop``; cells in the padding are zeros.

    ``x``: ``(batch, height, width, channels)``; ``cols``: at least
    ``(stop - start, kh * kw * channels)``.
    """
    h, w, c = x.shape[1], x.shape[2], x.shape[3]
    per_image = out_h * out_w
    for p in range(start, stop):
        b, cell = p // per_image, p % per_image
        oy, ox = cell // out_w, cell % out_w
        r = p - start
        for i in range(kh):
            iy = oy * sh + i * dh - pad_top
            for j in range(kw):
                ix = ox * sw + j * dw - pad_left
                first = (i * kw + j) * c
                if iy < 0 or iy >= h or ix < 0 or ix >= w:
                    for ch in range(c):
                        cols[r, first + ch] = 0.0  # a padding cell
                else:
                    for ch in range(c):
                        cols[r, first + ch] = x[b, iy, ix, ch]


@njit(cache=True, nogil=True)
def add_patches_back(dcols, start, stop, kh, kw, sh, sw, dh, dw, pad_top, pad_left,
                     out_h, out_w, dx):
    """The adjoint of :func:`copy_patches`: ``dx +=`` every patch gradient
    ``dcols[r]`` put back where position ``start + r`` took its patch from.

    Windows overlap, so an input cell collects the gradient of every patch it
    was in: that is why a convolution's input gradient is a sum. Cells in the
    padding are dropped. ``dcols``: at least ``(stop - start, kh * kw *
    channels)``; ``dx``: ``(batch, height, width, channels)``.
    """
    h, w, c = dx.shape[1], dx.shape[2], dx.shape[3]
    per_image = out_h * out_w
    for p in range(start, stop):
        b, cell = p // per_image, p % per_image
        oy, ox = cell // out_w, cell % out_w
        r = p - start
        for i in range(kh):
            iy = oy * sh + i * dh - pad_top
            if iy < 0 or iy >= h:
                continue
            for j in range(kw):
                ix = ox * sw + j * dw - pad_left
                if ix < 0 or ix >= w:
                    continue
                first = (i * kw + j) * c
                for ch in range(c):
                    dx[b, iy, ix, ch] += dcols[r, first + ch]
