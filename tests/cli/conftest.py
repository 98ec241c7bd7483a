"""What the command-line tests share: a tiny tree of photos in the book's
layout, for ``train cats-vs-dogs`` runs that take seconds."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

PER_CLASS = 3


@pytest.fixture
def tree(tmp_path):
    """The book's layout with 3 reddish cats and 3 bluish dogs per split."""
    rng = np.random.default_rng(0)
    root = tmp_path / "cats_and_dogs_small"
    for split in ("train", "validation", "test"):
        for cls, tint in (("cats", (60, 0, 0)), ("dogs", (0, 0, 60))):
            (root / split / cls).mkdir(parents=True)
            for i in range(PER_CLASS):
                pixels = rng.integers(0, 190, (20, 28, 3)) + tint
                Image.fromarray(pixels.astype(np.uint8)).save(
                    root / split / cls / f"{cls}.{i}.jpg")
    return root
