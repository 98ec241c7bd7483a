"""Numba kernels: convolution, pooling, dense, activations, losses, warp."""

from convsim.runtime.openmp import start_numba_threads

# Before the first kernel runs: Numba's threads start with a short spin
# (convsim/numba_threads.py says why).
start_numba_threads()
