"""convsim: watch a convolutional network compute, then train real ones on a CPU.

Importing convsim is cheap: the Numba kernels compile the first time they are
called (and are cached on disk after that), not at import. The lessons are
found by :mod:`convsim.lesson.catalog` when a lesson is asked for.

One shortcut lives here: ``convsim.explain(model, image, layer, at)``, the
full working of one number of a trained network
(:func:`convsim.trace.explain`). It is imported when first used, so
``import convsim`` stays cheap and the floors below the trace never see it.
"""

__version__ = "0.1.0"

#: Names ``convsim.NAME`` gives, and the module each comes from (PEP 562).
SHORTCUTS = {"explain": "convsim.trace.explain"}


def __getattr__(name: str):
    if name == "explain":
        from convsim.trace import explain

        return explain
    raise AttributeError(f"module 'convsim' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *SHORTCUTS])
