"""The book's experiments from the command line: ``python -m convsim train ...``.

* :mod:`~convsim.experiments.cli`: the ``train`` command, one subcommand per
  experiment;
* :mod:`~convsim.experiments.mnist` and :mod:`~convsim.experiments.cats_vs_dogs`:
  one experiment each (its options and its run);
* :mod:`~convsim.experiments.options`: the options every experiment shares;
* :mod:`~convsim.experiments.outputs`: saving the model, the history and the
  figure, and the final report;
* :mod:`~convsim.experiments.book_models`: the book's two convnets, defined
  once (the lessons, tests and benchmarks build them from here too).
"""
