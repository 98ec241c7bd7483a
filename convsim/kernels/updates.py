"""The optimizers' weight updates, one pass over each weight array.

:mod:`convsim.optimizers` writes each rule as NumPy lines, one formula per
line, and those lines stay the definition (``tests/kernels/test_updates.py``
pins these kernels to them bit for bit). Written that way, a single Adam step
walks each array eight times and makes six temporary arrays the size of the
weights: 30 ms a step for the cats-vs-dogs convnet's 3.4 million weights, a
tenth of the whole training step. These kernels read and write every weight
once, on every core.

Same bits as the NumPy lines: every scalar arrives as float32 (NumPy turns a
Python float into float32 before it multiplies a float32 array), and each
element goes through the same float32 operations in the same order. Numba
does not fuse a multiply and an add into one rounding unless asked
(``fastmath`` is off), so nothing is rounded differently.

Every array is one-dimensional: the optimizer passes ``w.reshape(-1)`` and
the like, views of the very arrays it keeps (a 0-d weight becomes one
element, where a reshape inside Numba could write to a copy). A division by zero
gives infinity or NaN as in NumPy (``error_model="numpy"``; Numba's default
would treat it as Python does).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange


@njit(cache=True, parallel=True, error_model="numpy")
def rmsprop(w, g, v, rho, one_minus_rho, epsilon, lr):
    """Keras 3's RMSprop without momentum or centring, in place::

        v = rho * v + (1 - rho) * g**2
        w -= lr * g / sqrt(v + epsilon)
    """
    for i in prange(w.size):
        gi = g[i]
        vi = v[i] * rho + one_minus_rho * (gi * gi)
        v[i] = vi
        w[i] -= lr * gi / np.sqrt(vi + epsilon)


@njit(cache=True, parallel=True, error_model="numpy")
def adam(w, g, m, v, one_minus_beta_1, one_minus_beta_2, alpha, epsilon):
    """Keras 3's Adam without amsgrad, in place, with the bias correction
    already folded into ``alpha``::

        m += (1 - beta_1) * (g - m)
        v += (1 - beta_2) * (g**2 - v)
        w -= alpha * m / (sqrt(v) + epsilon)
    """
    for i in prange(w.size):
        gi = g[i]
        mi = m[i] + one_minus_beta_1 * (gi - m[i])
        vi = v[i] + one_minus_beta_2 * (gi * gi - v[i])
        m[i] = mi
        v[i] = vi
        w[i] -= alpha * mi / (np.sqrt(vi) + epsilon)
