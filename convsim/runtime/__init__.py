"""How convsim's kernels run fast, in one room.

:mod:`~convsim.runtime.tasks` (work split over threads), :mod:`~convsim.runtime.blas`
(NumPy's BLAS threads), :mod:`~convsim.runtime.openmp` (Numba's threads) and
:mod:`~convsim.runtime.memory` (the allocator).
"""
