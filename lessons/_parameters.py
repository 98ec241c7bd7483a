"""Where a model's parameters are, in words: the shapes lesson's last frames.

Two sentences a learner can trust for any model, not only the book's:

* :func:`totals_caption`: the sum, the share of each kind of layer, the
  largest layer (or the layers tied for it) and why it has so many. On the
  book's cats-vs-dogs convnet the first Dense layer holds 93%; on its MNIST
  convnet the three convolutions hold 60% and ``conv2d_2`` ties with ``dense``
  at 36,928 each, so no fixed sentence ("convolutions have few") fits both.
* :func:`sharing_caption`: weight sharing, said as what it is: a convolution
  uses the same filters at every position of its output, so its parameters do
  not grow with the image, where a Dense layer computing an output of the same
  size from the same input would need one weight per pair of input and output
  values.

The sentences themselves are the lesson's (``TEXT`` in shapes.py); these
functions choose and fill them. Not a lesson (the leading underscore keeps it
out of the catalog).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from convsim.lesson.words import say

__all__ = ["percent", "sharing_caption", "totals_caption"]


def percent(part: int, whole: int) -> str:
    """A share as a learner reads it: ``93%``, or ``<1%`` for a small share
    that is not none (rounding it to 0% would say it is none).

    >>> percent(3_211_776, 3_453_121), percent(513, 3_453_121), percent(0, 5)
    ('93%', '<1%', '0%')
    """
    share = 100 * part / whole if whole else 0
    return "<1%" if 0 < share < 0.5 else f"{round(share)}%"


def _named(row) -> str:
    return f"{row.kind} '{row.name}'"


def totals_caption(rows: Sequence, words: Mapping[str, str]) -> str:
    """The sum of the parameters, each kind of layer's share (largest first),
    the largest layer and why it is that large.

    ``rows`` are the lesson's table rows (``kind``, ``name``, ``params``,
    ``input_shape``, ``output_shape``, ``window``, ``param_working``).
    """
    total = sum(r.params for r in rows)
    if not total:
        return words["no_params"]
    kinds: dict[str, int] = {}
    for row in rows:
        if row.params:
            kinds[row.kind] = kinds.get(row.kind, 0) + row.params
    shares = ", ".join(
        say(words["kind_share"], kind=kind, pct=percent(n, total), params=f"{n:,}")
        for kind, n in sorted(kinds.items(), key=lambda kv: -kv[1]))
    caption = say(words["total"], total=f"{total:,}", kinds=shares, sum=" + ".join(
        f"{r.params:,}" for r in rows if r.params))
    most = max(r.params for r in rows)
    largest = [r for r in rows if r.params == most]
    values = {"params": f"{most:,}", "pct": percent(most, total)}
    if len(largest) == 1:
        caption += " " + say(words["largest"], layer=_named(largest[0]), **values)
    else:
        caption += " " + say(words["largest_tie"], layers=words["and"].join(
            _named(r) for r in largest), **values)
    return caption + _why(largest[0], words)


def _why(row, words: Mapping[str, str]) -> str:
    """Why one layer has the parameters it has (Dense: a weight for every
    pair of input and unit; Conv2D: its filters), or nothing for another kind."""
    if row.kind == "Dense":
        return " " + say(words["dense_why"], layer=_named(row),
                         n=f"{row.input_shape[-1]:,}", u=f"{row.output_shape[-1]:,}",
                         working=row.param_working)
    if row.kind == "Conv2D" and row.window:
        kh, kw = row.window
        return " " + say(words["conv_why"], layer=_named(row), k=f"{kh}×{kw}",
                         c=row.input_shape[-1], f=row.output_shape[-1],
                         working=row.param_working)
    return ""


def sharing_caption(rows: Sequence, words: Mapping[str, str]) -> str | None:
    """Weight sharing, on the model's first convolution (the largest output,
    so the clearest contrast): its parameters against those of a Dense layer
    computing an output of the same size from the same input. None for a model
    without a Conv2D layer."""
    conv = next((r for r in rows if r.kind == "Conv2D" and r.window), None)
    if conv is None:
        return None
    (kh, kw), (oh, ow, f) = conv.window, conv.output_shape
    n_in, n_out = math.prod(conv.input_shape), math.prod(conv.output_shape)
    return say(words["sharing"], layer=_named(conv), f=f, k=f"{kh}×{kw}",
               c=conv.input_shape[-1], positions=f"{oh}×{ow} = {oh * ow:,}",
               out="×".join(map(str, conv.output_shape)), params=f"{conv.params:,}",
               inp="×".join(map(str, conv.input_shape)), n_in=f"{n_in:,}",
               n_out=f"{n_out:,}", dense=f"{(n_in + 1) * n_out:,}")
