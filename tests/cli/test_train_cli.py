"""What every ``python -m convsim train`` experiment shares: the options defined
once in convsim.experiments.options, and the book's two convnets defined once
in convsim.experiments.book_models."""

from __future__ import annotations

import pytest

from convsim.experiments import cli as train
from convsim.experiments.book_models import build_cats_model, build_mnist_model

EXPERIMENTS = ["mnist", "cats-vs-dogs"]
SHARED = ["--data", "--epochs", "--batch-size", "--seed", "--verbose", "--save",
          "--plot", "--no-plot", "--resume", "--history", "--backup-dir"]


def parse(argv):
    return train.build_parser().parse_args(argv)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_has_the_shared_options(experiment, capsys):
    with pytest.raises(SystemExit) as exit_info:
        train.main([experiment, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "data and training:" in out and "outputs:" in out
    for option in SHARED:
        assert option in out
    args = parse([experiment, "--data", "D", "--epochs", "3", "--batch-size", "7",
                  "--seed", "4", "--verbose", "2", "--save", "m.convsim",
                  "--plot", "p.png", "--no-plot", "--resume", "--history", "h.json",
                  "--backup-dir", "B"])
    assert (args.data, args.epochs, args.batch_size, args.seed, args.verbose,
            args.save, args.plot, args.no_plot, args.resume, args.history,
            args.backup_dir) == ("D", 3, 7, 4, 2, "m.convsim", "p.png", True, True,
                                 "h.json", "B")


@pytest.mark.parametrize("experiment", EXPERIMENTS)
@pytest.mark.parametrize("option, value, message", [
    ("--epochs", "0", "argument --epochs: expected a positive integer, got 0"),
    ("--epochs", "-3", "argument --epochs: expected a positive integer, got -3"),
    ("--batch-size", "2.5",
     "argument --batch-size: expected a positive integer, got '2.5'"),
    ("--verbose", "3", "argument --verbose: invalid choice: 3"),
    ("--seed", "x", "argument --seed: invalid int value: 'x'"),
])
def test_shared_options_refuse_the_same_values_everywhere(experiment, option,
                                                          value, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse([experiment, option, value])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_defaults_are_each_experiments_own():
    mnist, cats = parse(["mnist"]), parse(["cats-vs-dogs"])
    assert (mnist.epochs, mnist.batch_size) == (5, 64)
    assert (cats.epochs, cats.batch_size) == (None, 20)  # None: 30, or 100 augmented
    assert mnist.verbose == cats.verbose == 1
    assert mnist.seed is cats.seed is None


def test_the_mnist_model_is_the_books_and_not_compiled():
    model = build_mnist_model()
    assert model.count_params() == 93_322
    assert model.optimizer is None  # compiled where it is trained, as in the book


def test_the_cats_model_takes_the_books_dropout_and_other_sizes():
    model = build_cats_model(dropout=True)
    assert [type(layer).__name__ for layer in model.layers][8:10] == [
        "Flatten", "Dropout"]
    assert model.layers[9].rate == 0.5
    assert "Dropout" not in [type(layer).__name__
                             for layer in build_cats_model(dropout=0).layers]
    # 46x46 photos: four conv + pool blocks leave 1x1x128 features for Flatten
    small = build_cats_model(input_shape=(46, 46, 3))
    assert small.layers[8].output.shape == (None, 128)
    assert small.count_params() == 3_453_121 - (6272 - 128) * 512


@pytest.mark.parametrize("dropout, error", [
    (1.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
    ("0.5", TypeError)])
def test_a_bad_dropout_names_the_argument(dropout, error):
    with pytest.raises(error, match=r"`dropout` must be None, True \(the book's "
                                    r"0\.5\) or a number in \[0, 1\)\. Received: "
                                    r"dropout="):
        build_cats_model(dropout=dropout)


def test_a_bad_input_shape_names_the_argument():
    with pytest.raises(ValueError, match=r"`input_shape` argument must be a tuple "
                                         r"of 3 positive integers\. Received: "
                                         r"input_shape=\(150, 150\)"):
        build_cats_model(input_shape=(150, 150))
