"""convsim: watch a convolutional network compute, then train real ones on a CPU.

Importing convsim is cheap: the Numba kernels compile the first time they are
called (and are cached on disk after that), not at import.
"""

import importlib.util
import sys
from pathlib import Path

__version__ = "0.1.0"


def _use_checkout_lessons() -> None:
    """Make ``convsim.lessons`` importable when running from a source checkout.

    The lessons live in the top-level ``lessons/`` folder so learners find them
    easily; ``pip install`` ships that folder as ``convsim/lessons``. But Python
    puts the current folder first on ``sys.path``, so inside a checkout
    ``import convsim`` finds this source folder, which has no ``lessons``
    subfolder. Here we point ``convsim.lessons`` at ``../lessons`` in that case.
    """
    here = Path(__file__).resolve().parent
    checkout_lessons = here.parent / "lessons" / "__init__.py"
    if (here / "lessons").is_dir() or not checkout_lessons.is_file():
        return  # installed package (or no lessons at all): nothing to do
    spec = importlib.util.spec_from_file_location(
        "convsim.lessons",
        checkout_lessons,
        submodule_search_locations=[str(checkout_lessons.parent)],
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["convsim.lessons"] = module
    spec.loader.exec_module(module)
    globals()["lessons"] = module  # what `import convsim.lessons` would have set


if "convsim.lessons" not in sys.modules:
    _use_checkout_lessons()
