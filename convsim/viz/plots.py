"""Matplotlib figures for training: the book's accuracy/loss curves.

:func:`plot_history` draws exactly the figure from your notes: two panels
side by side (``figsize=(10, 5)``), training values as blue dots (``'bo'``) and
validation values as a red line (``'r'``), titled "Training and Validation
Accuracy" / "... Loss" under the suptitle "Accuracy & Loss". Two things the
notes' code does not need for 5 or 30 epochs: after a single epoch the
validation value is a red dot (a line through one point is invisible), and the
epoch axis only ever shows whole epochs.

The figure is built with matplotlib's object API and its Agg canvas, never
pyplot, so it works with no display (a server, CI, SSH) and does not disturb a
notebook's own pyplot state. Show it in a notebook by just returning it, or
save it with ``path=``.
"""

from __future__ import annotations

import os

from convsim.errors import ArgumentError

__all__ = ["accuracy_key", "plot_history"]

_ACCURACY_KEYS = ("accuracy", "acc", "categorical_accuracy", "binary_accuracy",
                  "sparse_categorical_accuracy")


def accuracy_key(history: dict) -> str | None:
    """The accuracy entry of a history dict (``'acc'`` or ``'accuracy'``...)."""
    for key in _ACCURACY_KEYS:
        if key in history:
            return key
    return None


def plot_history(history, path=None, title="Accuracy & Loss", dpi=100):
    """The book's two-panel accuracy and loss figure.

    Args:
        history: what ``fit`` returned (a ``History``) or its ``.history`` dict.
        path: if given, save the figure there (PNG by the extension).
        title: the figure's suptitle.
        dpi: resolution when saving.

    Returns:
        The matplotlib ``Figure``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    logs = getattr(history, "history", history)
    if not isinstance(logs, dict) or "loss" not in logs or not logs["loss"]:
        raise ArgumentError("`history` must be what fit() returned (or its .history "
                            "dict) with at least one epoch of 'loss'.")
    epochs = range(1, len(logs["loss"]) + 1)
    acc = accuracy_key(logs)
    fig = Figure(figsize=(10, 5))
    FigureCanvasAgg(fig)
    panels = [("Accuracy", acc)] if acc else []
    panels.append(("Loss", "loss"))
    # A line through one point draws nothing: after a single epoch the
    # validation value is a red dot instead.
    validation_style = "r" if len(epochs) > 1 else "ro"
    for i, (what, key) in enumerate(panels, start=1):
        ax = fig.add_subplot(1, len(panels), i)
        ax.plot(epochs, logs[key], "bo", label=f"Training {what}")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], validation_style,
                    label=f"Validation {what}")
        ax.set_title(f"Training and Validation {what}")
        ax.set_xlabel("Epochs")
        if len(epochs) <= 10:
            ax.set_xticks(list(epochs))  # whole epochs, even for one or two
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(os.fspath(path), dpi=dpi)
    return fig
