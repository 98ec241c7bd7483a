"""Numba kernels: convolution, pooling, dense, activations, losses, warp.

Pure functions over float32 NHWC arrays; nothing runs at import (Numba compiles
each kernel the first time it is called, then caches it on disk). They are
called through :mod:`convsim.ops` (and the losses and the image augmentation),
which check every argument first and follow :mod:`convsim.runtime`'s contract.
:mod:`convsim.kernels.reference` holds the literal loops that define what the
fast kernels compute.
"""


def cached_kernels() -> list:
    """Every kernel of this package that Numba keeps on disk (``cache=True``),
    for :func:`convsim.runtime.compiling.nothing_on_disk`. Imports the kernel
    modules (Numba compiles nothing until a kernel is called)."""
    import importlib
    import pkgutil

    found = []
    for info in pkgutil.iter_modules(__path__, __name__ + "."):
        module = importlib.import_module(info.name)
        found += [value for value in vars(module).values()
                  if hasattr(value, "_cache") and hasattr(value, "py_func")]
    return found
