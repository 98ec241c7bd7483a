"""What a ``train`` experiment leaves behind, and the lines that say so.

Every experiment ends the same way: the test score on the console, then the
files you asked for: the per-epoch history (JSON), the trained model
(``--save``) and the book's two-panel accuracy/loss figure (``--plot``,
unless ``--no-plot``). Each file is attempted even when an earlier one could
not be written, each failure is one red line, and the exit status says
whether everything was saved (0) or not (1).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.markup import escape

__all__ = ["report_test_accuracy", "save_outputs"]


def report_test_accuracy(console: Console, loss: float, accuracy: float,
                         count: int, items: str) -> None:
    """The run's final score, e.g. "Test accuracy: 0.9871 (test loss 0.0412)
    on 10,000 test images."."""
    console.print(f"[bold]Test accuracy: {accuracy:.4f}[/] (test loss "
                  f"{loss:.4f}) on {count:,} test {items}.", highlight=False)


def save_outputs(model, logs: dict, console: Console, *, model_path=None,
                 plot: str | None = None, title: str = "Accuracy & Loss",
                 recorder=None) -> int:
    """Write the history, the model and the figure; returns the exit status.

    A history with no complete epoch is not written: an empty file would only
    be refused by whoever reads it.

    Args:
        model: the trained model.
        logs: ``history.history``: one list of values per metric.
        console: where each saved file (or failure) is reported.
        model_path: ``--save``; None saves no model.
        plot: the figure's path; None draws none.
        title: the figure's title.
        recorder: a :class:`~convsim.training.history_file.HistoryRecorder`
            whose file is written first, if it has a path.
    """
    status = 0
    if recorder is not None and recorder.path is not None and not recorder.epoch:
        console.print("No complete epoch: no history to save.")
    elif recorder is not None and recorder.path is not None:
        try:
            recorder.write()
            console.print(f"Saved the history to {recorder.path}", highlight=False)
        except OSError as err:
            console.print(f"[red]Could not save the history:[/] {escape(str(err))}",
                          highlight=False)
            status = 1
    if model_path:
        try:
            model.save(model_path)
            console.print(f"Saved the model to {model_path}", highlight=False)
        except OSError as err:
            console.print(f"[red]Could not save the model:[/] "
                          f"{escape(str(err))}", highlight=False)
            status = 1
    if plot is not None:
        status = max(status, _save_figure(logs, plot, title, console))
    return status


def _save_figure(logs: dict, plot: str, title: str, console: Console) -> int:
    if not logs:
        console.print("No complete epoch: no figure to draw.")
        return 0
    from convsim.viz.plots import plot_history

    try:
        plot_history(logs, Path(plot), title=title)
        console.print(f"Saved the accuracy/loss curves to {plot}", highlight=False)
    except (OSError, ValueError) as err:
        console.print(f"[red]Could not save the figure:[/] "
                      f"{escape(str(err))}", highlight=False)
        return 1
    return 0
