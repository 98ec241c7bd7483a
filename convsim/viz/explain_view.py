"""One number of a network, explained on the terminal: the formula with the
real numbers, and the patch of the image it comes from.

:func:`explanation_view` draws an :class:`~convsim.trace.Explanation`:

* a title: the layer, what it does, which cell;
* the input image with the receptive field outlined (a
  :class:`~convsim.viz.fields.FieldMap`, shrunk to fit), beside a few
  sentences: which pixels can change the cell, which window of the layer's
  input it read;
* the working, as on paper: ``relu( 0.12×0.84 + (−0.05)×0.91 + … + bias
  0.03 ) = relu(1.27) = 1.27``. Long sums are grouped by input channel with
  their partial sums, and shortened to what the terminal's width holds (``…
  (6 more terms: 0.13)``); the full list stays in the Explanation;
* the check: the number ``model.predict`` gives for the cell beside the
  working's.

Every number shown is read from the Explanation; nothing is computed here
except the rounding for display.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.table import Table
from rich.text import Text

from convsim.trace.explanation import Explanation
from convsim.viz.explain_words import (
    cell_words,
    layer_words,
    say,
    shape_words,
    softmax_words,
    source_words,
    span_words,
)
from convsim.viz.fields import FieldMap
from convsim.viz.grid import Grid
from convsim.viz.words import label

__all__ = ["Formula", "explanation_view", "number", "product"]

#: The channels a convolution's working lists one per line (those whose
#: partial sums are largest); the rest are added up on one line.
CHANNEL_LINES = 6
#: The largest products a Dense unit's working lists.
DENSE_LINES = 5
#: The widest the picture of the input gets, in columns.
PICTURE_COLUMNS = 36
MINUS = "\u2212"


def number(value: float) -> str:
    """A number short enough for a formula, with a real minus sign:
    ``0.84``, ``−0.05``, ``0.003``, ``1.3e−05``, ``12.35``, ``0``.

    >>> [number(v) for v in (0.8412, -0.05, 0.0031, 0.0, 12.345, 2.5e-5)]
    ['0.84', '−0.05', '0.003', '0', '12.35', '2.5e−05']
    """
    value = float(value)
    size = abs(value)
    if value == 0:
        text = "0"
    elif size >= 1e4 or size < 1e-3:
        text = f"{value:.1e}"
    elif size >= 0.01:
        text = f"{value:.2f}"
    else:
        text = f"{value:.3f}"
    return text.replace("-", MINUS)


def result(value: float) -> str:
    """A layer's output, to 4 significant digits (a probability of 0.9958
    must not read as 1.00)."""
    return f"{float(value):.4g}".replace("-", MINUS)


def product(x: float, w: float) -> str:
    """``x×w``, a negative factor in brackets: ``0.12×(−0.05)``."""
    return "×".join(f"({number(v)})" if v < 0 else number(v) for v in (x, w))


def signed(value: float) -> str:
    """A number to follow a ``+``: negative ones in brackets."""
    return f"({number(value)})" if value < 0 else number(value)


@dataclass
class Formula:
    """``start term + term + … (n more terms: s) end``, wrapped to the width
    it is drawn at, in at most ``lines`` lines: as many terms as fit, the
    rest counted and added up.

    ``rest`` is ``(count, sum)`` of terms left out beforehand (a Dense unit
    lists only its largest products).
    """

    start: str
    terms: list[str]
    end: str
    lang: str = "en"
    lines: int = 1
    rest: tuple[int, float] = (0, 0.0)
    rest_values: tuple[float, ...] = ()  # each term's value, to add up the rest

    def layout(self, width: int) -> list[str]:
        """The lines, as many terms as fit in :attr:`lines` lines of ``width``."""
        indent = " " * min(4, cell_len(self.start))
        for shown in range(len(self.terms), -1, -1):
            pieces = self.terms[:shown]
            left_out = len(self.terms) - shown + self.rest[0]
            if left_out:
                skipped = self.rest[1] + float(sum(self.rest_values[shown:]))
                pieces = pieces + [say(self.lang, "more_terms", n=left_out,
                                       total=number(skipped))]
            lines = _wrap(self.start, pieces, self.end, width, indent)
            if len(lines) <= self.lines or shown == 0:
                return lines
        return []  # pragma: no cover - the loop always returns

    def __rich_console__(self, console: Console, options: ConsoleOptions
                         ) -> RenderResult:
        for line in self.layout(options.max_width):
            yield Text(line, no_wrap=True, overflow="ellipsis")


def _wrap(start: str, pieces: list[str], end: str, width: int, indent: str
          ) -> list[str]:
    """``start p1 + p2 + … end`` broken before a ``+`` where a line is full."""
    lines, line = [], start + (pieces[0] if pieces else "")
    for piece in pieces[1:]:
        if cell_len(line) + 3 + cell_len(piece) > width:
            lines.append(line)
            line = indent + "+ " + piece
        else:
            line += " + " + piece
    if cell_len(line) + cell_len(end) > width and line.strip():
        lines.append(line)
        line = indent
    lines.append(line + end)
    return lines


def explanation_view(why: Explanation, image: np.ndarray, lang: str = "en"
                     ) -> RenderableType:
    """Everything about one cell: title, picture and field, working, check.

    ``image`` is the model's input ``(height, width, channels)``, as
    explained.
    """
    return Group(_title(why, lang), Text(""), _picture_and_words(why, image, lang),
                 Text(""), *_working(why, lang), Text(""), _check(why, lang))


def _title(why: Explanation, lang: str) -> Group:
    """The layer and what it does; the cell, in the layer's output."""
    layer = Text(why.layer, style="bold")
    layer.append(f" · {layer_words(why, lang)}", style="")
    if len(why.output_shape) == 1:
        cell = say(lang, "cell_of_vector", cell=cell_words(why, lang),
                   n=why.output_shape[0])
    else:
        cell = say(lang, "cell_of", cell=cell_words(why, lang),
                   shape=shape_words(why.output_shape))
    return Group(layer, Text(cell, style="bold"))


def _picture_and_words(why: Explanation, image: np.ndarray, lang: str) -> Table:
    """The image with the field outlined, and what the field and window are."""
    field = why.field
    h, w = field.image_hw
    picture = FieldMap.fitted(np.asarray(image, dtype=float),
                              [(field.top, field.left, field.bottom + 1,
                                field.right + 1)],
                              columns=min(w, PICTURE_COLUMNS),
                              title=f"{label('input', lang)} {h}×{w}")
    words = [_field_words(why, lang)]
    if why.window is not None:
        words.append(_window_words(why, lang))
    elif why.kind == "dense":
        words.append(_dense_inputs_words(why, lang))
    else:
        words.append(say(lang, "activation_input",
                         source=source_words(why.source, lang)))
    table = Table.grid(padding=(0, 2))
    table.add_column(no_wrap=True)
    table.add_column()
    table.add_row(picture, Text("\n\n".join(words), overflow="fold"))
    return table


def _field_words(why: Explanation, lang: str) -> str:
    field = why.field
    if field.is_empty:
        return say(lang, "field_empty")
    if field.is_whole_image:
        text = say(lang, "field_whole", h=field.image_hw[0], w=field.image_hw[1])
    else:
        text = say(lang, "field", rows=span_words(lang, "rows", field.top,
                                                  field.bottom),
                   cols=span_words(lang, "cols", field.left, field.right),
                   h=field.height, w=field.width)
    if field.has_gaps:
        text += " " + say(lang, "field_gaps", n=len(field.rows) * len(field.cols),
                          total=field.height * field.width)
    return text


def _window_words(why: Explanation, lang: str) -> str:
    window = why.window
    source = source_words(window.source, lang)
    where = dict(rows=span_words(lang, "rows", window.top, window.bottom),
                 cols=span_words(lang, "cols", window.left, window.right),
                 source=source, shape=shape_words(window.input_shape))
    if why.kind == "conv":
        key = "window_conv" if window.input_shape[2] > 1 else "window_conv_one"
        text = say(lang, key, channels=window.input_shape[2],
                   products=why.products, **where)
    else:
        text = say(lang, "window_pool", channel=why.at[2], **where)
    if window.reaches_padding:
        text += " " + say(lang, "window_padding")
    return text


def _dense_inputs_words(why: Explanation, lang: str) -> str:
    count = why.input_shape[-1]
    if why.flattened_from is not None:
        source, shape = why.flattened_from
        return say(lang, "dense_flat", n=count, source=source_words(source, lang),
                   shape=shape_words(shape))
    return say(lang, "dense_inputs", n=count, source=source_words(why.source, lang))


# ---------------------------------------------------------------- the working


def _working(why: Explanation, lang: str) -> list[RenderableType]:
    if why.kind == "conv":
        return _conv_working(why, lang)
    if why.kind == "dense":
        return _dense_working(why, lang)
    if why.kind in ("max", "average"):
        return _pool_working(why, lang)
    return [_activation_line(why, lang)]


def _terms_formula(terms, start: str, lang: str, lines: int,
                   order=None, end: str | None = None) -> Formula:
    order = np.arange(len(terms)) if order is None else order
    pieces = [_term(terms, i) for i in order]
    values = tuple(float(terms.products[i]) for i in order)
    return Formula(start, pieces, end if end is not None
                   else f" = {number(terms.partial_sum)}", lang, lines,
                   rest_values=values)


def _term(terms, i: int) -> str:
    return product(terms.inputs[i], terms.weights[i])


def _conv_working(why: Explanation, lang: str) -> list[RenderableType]:
    if len(why.terms) == 1:
        parts: list[RenderableType] = [Text(say(lang, "working_conv_one"),
                                            style="bold")]
        parts.append(_terms_formula(why.terms[0], "", lang, lines=3))
        parts.append(_activation_line(why, lang))
        return parts
    parts = [Text(say(lang, "working_conv"), style="bold")]
    sums = np.array([t.partial_sum for t in why.terms])
    shown = np.sort(np.argsort(-np.abs(sums), kind="stable")[:CHANNEL_LINES])
    width = len(str(len(why.terms) - 1))
    for ch in shown:
        start = f"{say(lang, 'ch')} {ch:>{width}}: "
        parts.append(_terms_formula(why.terms[ch], start, lang, lines=1))
    hidden = len(why.terms) - len(shown)
    if hidden:
        rest = float(sum(np.delete(sums, shown)))
        parts.append(Text(say(lang, "more_channels", n=hidden, total=number(rest)),
                          style="grey50"))
    parts.append(Text(say(lang, "channel_total", n=len(why.terms),
                          total=number(why.total))))
    parts.append(_activation_line(why, lang))
    return parts


def _dense_working(why: Explanation, lang: str) -> list[RenderableType]:
    terms = why.terms[0]
    top = terms.largest(DENSE_LINES)
    heading = "working_dense" if len(top) < len(terms) else "working_dense_all"
    parts: list[RenderableType] = [Text(say(lang, heading, n=len(terms),
                                            shown=len(top)), style="bold")]
    digits = len(str(len(terms) - 1))
    for i in top:
        parts.append(Text(f"  {_input_name(why, int(i), digits, lang)}: "
                          f"{_term(terms, int(i))} = {number(terms.products[i])}"))
    hidden = len(terms) - len(top)
    if hidden:
        rest = float(np.sum(np.delete(terms.products, top), dtype=np.float64))
        parts.append(Text(say(lang, "more_products", n=hidden, total=number(rest)),
                          style="grey50"))
        parts.append(Text(say(lang, "dense_total", n=len(terms),
                              total=number(why.total))))
    parts.append(_activation_line(why, lang))
    return parts


def _input_name(why: Explanation, index: int, digits: int, lang: str) -> str:
    """``x[123]``, and for a Dense layer after Flatten the cell it was."""
    name = f"x[{index}]".ljust(digits + 3)
    if why.flattened_from is None:
        return name
    source, shape = why.flattened_from
    row, col, ch = (int(i) for i in np.unravel_index(index, shape))
    return name + " " + say(lang, "flat_cell", source=source or say(lang, "image"),
                            row=row, col=col, ch=ch)


def _activation_line(why: Explanation, lang: str) -> RenderableType:
    """``relu( sum + bias b ) = relu(z) = y``, or softmax's share."""
    name, z = why.activation, why.pre_activation
    inside = (f"{number(why.total)} + {label('bias', lang)} {signed(why.bias)}"
              if why.terms else number(z))
    if name == "softmax":
        return _softmax_lines(why, inside, lang)
    if why.kind == "activation":
        return Text(f"{name}({number(z)}) = {result(why.value)}", style="bold")
    if name == "linear":
        return Text(f"{inside} = {result(why.value)}"
                    + "   " + say(lang, "no_activation"), style="bold")
    return Text(f"{name}( {inside} ) = {name}({number(z)}) = {result(why.value)}",
                style="bold")


def _softmax_lines(why: Explanation, inside: str, lang: str) -> RenderableType:
    sums = why.activation_inputs
    own = why.at[-1]
    z = f"z = {inside} = {number(why.pre_activation)}" if why.terms \
        else f"z = {inside}"
    exps = [f"e^{number(v)}" for v in sums]
    shown = exps if len(exps) <= 4 else exps[:2] + ["…"] + exps[-1:]
    share = Formula(f"softmax: e^{number(sums[own])} / (", [], "", lang, 2)
    share.terms = shown
    share.end = f") = {result(why.value)}"
    return Group(Text(z, style="bold"),
                 Text(softmax_words(lang, why.kind, len(sums)), style="grey50"),
                 share)


def _pool_working(why: Explanation, lang: str) -> list[RenderableType]:
    step = why.step
    cells = step.cells
    values = ", ".join(number(v) for v in step.values)
    chosen = None
    if why.kind == "max":
        row, col = step.argmax
        chosen = np.zeros(cells.shape, dtype=bool)
        chosen[row - step.origin[0], col - step.origin[1]] = True
        line = (f"max({values}) = {result(why.value)}   "
                + say(lang, "kept", row=row, col=col))
    else:
        line = (f"({values.replace(', ', ' + ')}) / {step.values.size} = "
                f"{result(why.value)}")
    grid = Grid(cells, chosen=chosen, row_start=step.origin[0],
                col_start=step.origin[1])
    return [Text(say(lang, f"working_{why.kind}"), style="bold"), grid,
            Text(line, style="bold")]


def _check(why: Explanation, lang: str) -> Text:
    mark, style = ("✔", "green") if why.check else ("✘", "bold red")
    predicted, value = (f"{v:.7g}".replace("-", MINUS)
                        for v in (why.predicted, why.value))
    if why.value == why.predicted:
        words = say(lang, "check_same", predicted=predicted)
    else:
        words = say(lang, "check_close" if why.check else "check_wrong",
                    predicted=predicted, value=value,
                    diff=f"{why.difference:.1e}".replace("-", MINUS))
    return Text(f"{mark} {words}", style=style)
