"""Numba kernels: convolution, pooling, dense, activations, losses, warp.

Pure functions over float32 NHWC arrays; nothing runs at import (Numba compiles
each kernel the first time it is called, then caches it on disk). They are
called through :mod:`convsim.ops` (and the losses and the image augmentation),
which check every argument first and follow :mod:`convsim.runtime`'s contract.
:mod:`convsim.kernels.reference` holds the literal loops that define what the
fast kernels compute.
"""
