"""Where every random number in convsim comes from.

Initial weights, the shuffling in ``fit``, Dropout's masks and the image
generator's augmentation all draw from generators made by :func:`make_rng`.
:func:`set_random_seed` (also ``convsim.utils.set_random_seed``, Keras's name)
fixes the sequence those generators are spawned from, so a whole script becomes
repeatable: two runs give identical weights and identical training histories.
"""

from __future__ import annotations

import random

import numpy as np

from convsim.errors import ArgumentError
from convsim.validation import check_seed

__all__ = ["make_rng", "set_random_seed"]

# The seed sequence every random thing in convsim spawns its generator from.
# None means "not seeded": fresh OS entropy each time, like Keras without a seed.
_seed_sequence: np.random.SeedSequence | None = None


def set_random_seed(seed: int) -> None:
    """Make everything random in convsim (and Python's and NumPy's global RNGs)
    repeatable, like ``keras.utils.set_random_seed``.

    Call it once at the top of a script, before building the model. The layers
    created afterwards draw their initial weights, ``fit`` draws its shuffling and
    ``Dropout`` its masks from generators spawned in a fixed order from ``seed``.

    >>> set_random_seed(1337)
    >>> a = make_rng().random()
    >>> set_random_seed(1337)
    >>> a == make_rng().random()
    True
    """
    global _seed_sequence
    if seed is None:
        raise ArgumentError("`seed` must be a non-negative integer. Received: "
                            "seed=None")
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    _seed_sequence = np.random.SeedSequence(seed)


def make_rng(seed: int | None = None) -> np.random.Generator:
    """A new ``np.random.Generator``.

    With an explicit ``seed`` (a layer's ``seed=`` argument) the generator depends
    on it alone. Otherwise it is the next one spawned from
    :func:`set_random_seed`'s sequence, or fresh entropy if no seed was set.
    """
    if check_seed(seed) is not None:
        return np.random.default_rng(seed)
    if _seed_sequence is None:
        return np.random.default_rng()
    return np.random.default_rng(_seed_sequence.spawn(1)[0])
