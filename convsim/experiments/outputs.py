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

from convsim.errors import message
from convsim.experiments.words import line

__all__ = ["report_test_accuracy", "save_outputs"]


def report_test_accuracy(console: Console, loss: float, accuracy: float,
                         count: int, items: str, lang: str = "en") -> None:
    """The run's final score, e.g. "Test accuracy: 0.9871 (test loss 0.0412)
    on 10,000 test images." (``items``: ``"images"`` or ``"photos"``)."""
    console.print(line(lang, "test_accuracy", acc=f"{accuracy:.4f}",
                       loss=f"{loss:.4f}", count=f"{count:,}",
                       items=line(lang, items)), highlight=False)


def save_outputs(model, logs: dict, console: Console, *, model_path=None,
                 plot: str | None = None, title: str = "Accuracy & Loss",
                 recorder=None, lang: str = "en") -> int:
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
        lang: the language of the lines said (``"en"`` or ``"ko"``).
    """
    def say(key: str, **values) -> None:
        console.print(line(lang, key, **values), highlight=False)

    status = 0
    if recorder is not None and recorder.path is not None and not recorder.epoch:
        say("no_epoch_history")
    elif recorder is not None and recorder.path is not None:
        try:
            recorder.write()
            say("saved_history", path=recorder.path)
        except OSError as err:
            say("history_failed", err=message(err, lang))
            status = 1
    if model_path:
        try:
            model.save(model_path)
            say("saved_model", path=model_path)
        except OSError as err:
            say("model_failed", err=message(err, lang))
            status = 1
    if plot is not None:
        status = max(status, _save_figure(logs, plot, title, say, lang))
    return status


def _save_figure(logs: dict, plot: str, title: str, say, lang: str) -> int:
    if not logs:
        say("no_epoch_figure")
        return 0
    from convsim.viz.plots import plot_history

    try:
        plot_history(logs, Path(plot), title=title)
        say("saved_figure", path=plot)
    except (OSError, ValueError) as err:
        say("figure_failed", err=message(err, lang))
        return 1
    return 0
