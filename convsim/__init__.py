"""convsim: watch a convolutional network compute, then train real ones on a CPU.

Importing convsim is cheap: the Numba kernels compile the first time they are
called (and are cached on disk after that), not at import. The lessons are
found by :mod:`convsim.lesson.catalog` when a lesson is asked for.
"""

__version__ = "0.1.0"
