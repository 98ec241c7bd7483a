"""The notes' two-panel accuracy/loss figure (convsim.viz.plots)."""

import numpy as np
import pytest
from matplotlib.colors import to_rgba

from convsim.viz.plots import plot_history

HISTORY = {"acc": [0.5, 0.7, 0.8], "val_acc": [0.55, 0.65, 0.7],
           "loss": [0.9, 0.6, 0.4], "val_loss": [0.8, 0.7, 0.75]}


def lines(ax):
    return {line.get_label(): line for line in ax.get_lines()}


def test_two_panels_with_the_notes_titles_styles_and_values(tmp_path):
    fig = plot_history(HISTORY, path=tmp_path / "curves.png")
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    accuracy, loss = fig.axes
    assert fig._suptitle.get_text() == "Accuracy & Loss"
    assert accuracy.get_title() == "Training and Validation Accuracy"
    assert loss.get_title() == "Training and Validation Loss"
    train, valid = lines(accuracy)["Training Accuracy"], lines(accuracy)[
        "Validation Accuracy"]
    assert (to_rgba(train.get_color()), train.get_marker(), train.get_linestyle()
            ) == (to_rgba("b"), "o", "None")  # 'bo'
    assert (to_rgba(valid.get_color()), valid.get_linestyle()) == (to_rgba("r"), "-")
    np.testing.assert_array_equal(train.get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(valid.get_ydata(), HISTORY["val_acc"])
    np.testing.assert_array_equal(lines(loss)["Validation Loss"].get_ydata(),
                                  HISTORY["val_loss"])
    assert list(accuracy.get_xticks()) == [1, 2, 3]


def test_one_epoch_shows_the_validation_value_and_a_whole_epoch_tick():
    fig = plot_history({"accuracy": [0.7], "val_accuracy": [0.8], "loss": [0.9],
                        "val_loss": [0.6]})
    valid = lines(fig.axes[0])["Validation Accuracy"]
    assert valid.get_marker() == "o"  # a line through one point draws nothing
    assert list(fig.axes[0].get_xticks()) == [1]


def test_loss_only_history_gives_one_panel():
    assert len(plot_history({"loss": [1.0, 0.5]}).axes) == 1


@pytest.mark.parametrize("history", [{}, {"loss": []}, [0.5], {"acc": [1.0]}])
def test_a_history_without_loss_is_refused(history):
    with pytest.raises(ValueError, match="at least one epoch of 'loss'"):
        plot_history(history)
