"""``model.summary()``: the layers, their output shapes and parameter counts.

Drawn as a rich table, like Keras's; ``print_fn`` gets the same text line by line.
"""

from __future__ import annotations

import io

from rich import box
from rich.console import Console
from rich.table import Table

__all__ = ["print_summary"]


def print_summary(model, line_length=None, print_fn=None,
                  console: Console | None = None) -> None:
    """Print ``model``'s layers, output shapes and parameter counts."""
    table = Table(box=box.HEAVY_HEAD, show_lines=False)
    table.add_column("Layer (type)", no_wrap=True)
    table.add_column("Output Shape", no_wrap=True)
    table.add_column("Param #", justify="right", no_wrap=True)
    for layer in model._summary_layers():
        shape = str(model._summary_shape(layer)) if layer.built else "?"
        params = f"{layer.count_params():,}" if layer.built else "0 (unbuilt)"
        table.add_row(f"{layer.name} ({type(layer).__name__})", shape, params)
    trainable = sum(int(w.value.size) for w in model.trainable_weights)
    frozen = sum(int(w.value.size) for w in model.non_trainable_weights)
    total = trainable + frozen
    lines = []
    opt = model.optimizer
    opt_params = opt.count_params() if opt is not None and opt.built else 0
    lines.append(f" Total params: {_count(total + opt_params)}")
    lines.append(f" Trainable params: {_count(trainable)}")
    lines.append(f" Non-trainable params: {_count(frozen)}")
    if opt_params:
        lines.append(f" Optimizer params: {_count(opt_params)}")
    if print_fn is not None:
        recorder = Console(width=line_length or 100, record=True,
                           color_system=None, file=io.StringIO())
        _print_summary(recorder, model.name, table, lines)
        for line in recorder.export_text().splitlines():
            print_fn(line)
        return
    _print_summary(console or Console(), model.name, table, lines)


def _count(n: int) -> str:
    size = float(n * 4)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{n:,} ({size:.2f} {unit})"
        size /= 1024
    return f"{n:,}"  # pragma: no cover


def _print_summary(console, name, table, lines):
    console.print(f'Model: "{name}"', style="bold", highlight=False)
    console.print(table)
    for line in lines:
        console.print(line, highlight=False)
