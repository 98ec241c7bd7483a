"""The book's experiments from the command line: ``python -m convsim train ...``.

:mod:`~convsim.experiments.cli` (the ``train`` command and its shared options),
:mod:`~convsim.experiments.mnist` and :mod:`~convsim.experiments.cats_vs_dogs`
(one experiment each) and :mod:`~convsim.experiments.book_models` (the book's
two convnets, defined once).
"""
