"""What each layer of a real model outputs for one image, drawn as your notes draw it.

Your notes (컨브넷 학습 시각화) look inside the trained cats-vs-dogs convnet in
three steps, and this module does the same three:

1. an *activation model*: one input, the outputs of the first eight layers
   (``models.Model(inputs=model.input, outputs=[layer.output ...])``), whose
   ``predict`` on one image gives every chosen layer's feature maps at once
   (:func:`layer_activations`). The numbers are the real layers' own: nothing
   here computes a convolution again;
2. each channel squeezed into 0..255 for the eye: minus its mean, divided by
   its standard deviation, times 64, plus 128, clipped
   (:func:`normalise_channels`). A channel that is the same everywhere (a
   *dead* one, usually all zeros after ``relu``) has a standard deviation of
   0; the notes' code divides by it and gets NaN with a NumPy warning, here it
   is drawn flat at 128, the value "no difference from the mean" gets;
3. the channels side by side, 16 per row (:func:`activation_grid`), one grid
   per layer under the layer's name in viridis colours
   (:func:`activations_figure`, :func:`save_activations_png`).

The terminal draws the same grids as coloured half-block pixels
(:mod:`convsim.viz.activation_view`).

>>> values = np.zeros((4, 4, 3), np.float32)
>>> values[1, 2, 0] = 5.0                     # channel 0 has one bright cell
>>> grid, dead = activation_grid(values, images_per_row=2)
>>> grid.shape, dead                          # 2 rows of 2 tiles; channels 1, 2 dead
((8, 8), 2)
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from convsim import layers as layer_classes
from convsim.errors import ArgumentError, NotReadyError, WrongTypeError
from convsim.validation import as_float32, did_you_mean, positive_int

__all__ = ["IMAGES_PER_ROW", "ActivationGrid", "LayerActivation", "activation_grid",
           "activations_figure", "dead_words", "flat_channels", "layer_activations",
           "normalise_channels", "picture_layers", "save_activations_png"]

#: Channels per row of a layer's grid, as in your notes (``images_per_row = 16``).
IMAGES_PER_ROW = 16
#: The notes' scaling: a channel's mean becomes 128 and one standard deviation
#: 64 grey levels, so about two standard deviations either side fit in 0..255.
MIDDLE, SPREAD = 128.0, 64.0
#: Layers whose output is a stack of pictures ``(height, width, channels)``:
#: what the notes' first eight layers are, and the default here.
PICTURE_LAYERS = (layer_classes.Conv2D, layer_classes.MaxPooling2D,
                  layer_classes.AveragePooling2D)

WORDS = {
    "en": {"dead_zero": "{dead} of {n} channels are dead: zero everywhere for this "
                        "image",
           "dead_flat": "{dead} of {n} channels are dead: the same value "
                        "everywhere for this image",
           "alive": "every channel responds somewhere in this image"},
    "ko": {"dead_zero": "채널 {n}개 중 {dead}개가 죽어 있습니다: 이 이미지에서는 "
                        "모든 곳이 0",
           "dead_flat": "채널 {n}개 중 {dead}개가 죽어 있습니다: 이 이미지에서는 "
                        "모든 곳이 같은 값",
           "alive": "모든 채널이 이 이미지의 어딘가에서 응답합니다"},
}


@dataclass(frozen=True)
class LayerActivation:
    """One layer's output for one image.

    Attributes:
        name: the layer's name (``'conv2d'``), the title of its grid.
        kind: its class name (``'Conv2D'``, ``'MaxPooling2D'``).
        values: ``(height, width, channels)`` float32: what the layer gave
            ``predict`` for the image (the batch axis of one taken off).
    """

    name: str
    kind: str
    values: np.ndarray

    @property
    def channels(self) -> int:
        return int(self.values.shape[-1])

    @property
    def dead(self) -> np.ndarray:
        """The channels that are the same everywhere (see :func:`flat_channels`)."""
        return flat_channels(self.values)

    @property
    def zero_share(self) -> float:
        """The fraction of all the values that are exactly 0 (``relu`` made them
        so): how sparse the layer's answer to this image is."""
        return float(np.mean(self.values == 0)) if self.values.size else 0.0


class ActivationGrid(NamedTuple):
    """What :func:`activation_grid` returns: the picture and its dead count."""

    grid: np.ndarray  # (rows * height, images_per_row * width) uint8
    dead: int  # channels drawn flat because they are the same everywhere


def picture_layers(model) -> list:
    """The layers of ``model`` whose output is a stack of pictures: every
    Conv2D and pooling layer, in order (for the book's cats-vs-dogs convnet,
    the eight your notes draw)."""
    return [layer for layer in _layers_of(model) if isinstance(layer, PICTURE_LAYERS)]


def layer_activations(model, image, layers=None) -> list[LayerActivation]:
    """The outputs of ``layers`` of ``model`` for one ``image``.

    Built as your notes build it: an activation model with the model's input
    and one output per chosen layer, run with ``predict`` (inference mode:
    Dropout does nothing), so every number is what the real layers compute.

    Args:
        model: a convsim model that knows its input shape.
        image: one input, ``(height, width, channels)`` as the model takes it
            (a grayscale ``(height, width)`` gets its channel axis; a batch of
            one is accepted too).
        layers: ``None`` for :func:`picture_layers`; or a layer name, or a
            list of names or layers of ``model``. Each must output
            ``(batch, height, width, channels)``.

    Returns:
        One :class:`LayerActivation` per chosen layer, in the order given.
    """
    from convsim import models

    chosen = _choose(model, layers)
    batch = _one_image(model, image)[None]
    activation_model = models.Model(inputs=model.input,
                                    outputs=[layer.output for layer in chosen])
    outputs = activation_model.predict(batch, verbose=0)
    if not isinstance(outputs, (list, tuple)):
        outputs = [outputs]
    found = []
    for layer, output in zip(chosen, outputs, strict=True):
        values = np.asarray(output[0], dtype=np.float32)
        if not np.all(np.isfinite(values)):
            raise ArgumentError(f"Layer '{layer.name}' gives NaN or infinite values "
                                "for this image: the model's weights may be "
                                "broken (a training run that diverged?).")
        found.append(LayerActivation(layer.name, type(layer).__name__, values))
    return found


def flat_channels(values) -> np.ndarray:
    """The indexes of the channels of ``(height, width, channels)`` ``values``
    that hold one value everywhere. Such a channel has nothing to show; after
    ``relu`` it is usually all zeros: the pattern its filter looks for is
    nowhere in this image."""
    values = _maps(values, "values")
    if values.shape[0] * values.shape[1] == 0:
        return np.arange(values.shape[-1])
    same = values.max(axis=(0, 1)) == values.min(axis=(0, 1))
    return np.flatnonzero(same)


def normalise_channels(values) -> np.ndarray:
    """Each channel of ``(height, width, channels)`` ``values`` as the notes
    scale it for the eye: ``clip((x - mean) / std * 64 + 128, 0, 255)`` as
    uint8 (truncated, as ``astype('uint8')`` does).

    The notes' lines, one channel at a time, in float64 so that no activation
    is too large or too small to square. A channel with one value everywhere
    (standard deviation 0) is drawn flat at 128 instead of the notes' NaN.
    """
    maps = _maps(values, "values")
    flat = set(flat_channels(maps).tolist())
    out = np.empty(maps.shape, np.uint8)
    for k in range(maps.shape[-1]):
        channel = np.array(maps[:, :, k], dtype=np.float64)  # a copy, contiguous
        channel -= channel.mean()
        if k not in flat:  # the notes divide here, by 0 for a dead channel
            channel /= channel.std()
        channel *= SPREAD
        channel += MIDDLE
        out[:, :, k] = np.clip(channel, 0, 255).astype("uint8")
    return out


def activation_grid(values, images_per_row: int = IMAGES_PER_ROW) -> ActivationGrid:
    """One layer's channels in a grid, ``images_per_row`` side by side.

    Args:
        values: ``(height, width, channels)``, or the notes' ``(1, height,
            width, channels)``.
        images_per_row: tiles per row (the notes' 16).

    Returns:
        ``(grid, dead)``: ``grid`` is ``(rows * height, images_per_row *
        width)`` uint8 of :func:`normalise_channels`, channel ``k`` at row
        ``k // images_per_row``, column ``k % images_per_row``. The notes keep
        only whole rows (``n_features // images_per_row``); here the last row
        may be part-filled and its empty tiles are 0. ``dead`` counts the
        channels drawn flat.
    """
    per_row = positive_int(images_per_row, "images_per_row")
    pictures = normalise_channels(values)
    height, width, channels = pictures.shape
    rows = math.ceil(channels / per_row)
    grid = np.zeros((rows * height, per_row * width), np.uint8)
    for k in range(channels):
        top, left = (k // per_row) * height, (k % per_row) * width
        grid[top:top + height, left:left + width] = pictures[:, :, k]
    return ActivationGrid(grid, int(flat_channels(values).size))


def dead_words(activation: LayerActivation, lang: str = "en") -> str:
    """``'12 of 64 channels are dead: zero everywhere for this image'``."""
    words = WORDS.get(lang, WORDS["en"])
    dead = activation.dead
    if not dead.size:
        return words["alive"]
    zero = not np.any(activation.values[:, :, dead])
    return words["dead_zero" if zero else "dead_flat"].format(
        dead=dead.size, n=activation.channels)


def activations_figure(activations: Sequence[LayerActivation], lang: str = "en",
                       images_per_row: int = IMAGES_PER_ROW, title: str | None = None):
    """A matplotlib ``Figure``: one panel per layer, its grid in viridis under
    the layer's name, its shape and how many channels are dead. Dead tiles
    carry a small ×, and the empty end of a last row is left white; a layer
    with fewer channels than ``images_per_row`` gets one row of them.

    Korean words need a Hangul font (see :func:`convsim.viz.gif.find_fonts`);
    without one the figure's words are English (matplotlib would draw boxes).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not activations:
        raise ArgumentError("`activations` is empty: no layer to draw.")
    font, lang = _font_for(lang)
    per_row = positive_int(images_per_row, "images_per_row")
    rows = [min(per_row, a.channels) for a in activations]  # 8 filters: 8 wide
    grids = [activation_grid(a.values, n) for a, n in zip(activations, rows,
                                                           strict=True)]
    ratios = [g.grid.shape[0] / g.grid.shape[1] for g in grids]
    width = 12.0
    figure = Figure(figsize=(width, width * sum(ratios) + 0.75 * len(grids) + 0.4))
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(grids), 1, squeeze=False,
                           gridspec_kw={"height_ratios": ratios})[:, 0]
    for ax, activation, (grid, _), n in zip(axes, activations, grids, rows,
                                            strict=True):
        _draw_panel(ax, activation, grid, n, lang, font)
    if title:
        figure.suptitle(title, fontproperties=font)
    figure.tight_layout()
    return figure


def save_activations_png(model, image, path, layers=None, lang: str = "en",
                         images_per_row: int = IMAGES_PER_ROW,
                         title: str | None = None, dpi: int = 100) -> str:
    """Draw the grids of ``layers`` of ``model`` for ``image``
    (:func:`layer_activations`, :func:`activations_figure`) and save them at
    ``path`` (PNG, or what the name's extension says); returns the path. The
    file is written whole or not at all."""
    from convsim.files import atomic_write

    figure = activations_figure(layer_activations(model, image, layers), lang,
                                images_per_row, title)
    target = os.fspath(path)
    kind = os.path.splitext(target)[1].lstrip(".").lower() or "png"
    atomic_write(target, lambda handle: figure.savefig(handle, format=kind, dpi=dpi))
    return target


# ---------------------------------------------------------------- helpers
def _draw_panel(ax, activation, grid, per_row, lang, font) -> None:
    """One layer: its grid, titled, with the dead tiles marked."""
    height, width, channels = activation.values.shape
    shown = np.ma.masked_array(grid, np.zeros(grid.shape, bool))
    for k in range(channels, grid.shape[0] // height * per_row):  # empty tiles
        top, left = (k // per_row) * height, (k % per_row) * width
        shown.mask[top:top + height, left:left + width] = True
    ax.imshow(shown, cmap="viridis", vmin=0, vmax=255, interpolation="nearest",
              aspect="equal")
    for k in activation.dead:
        ax.text((k % per_row + 0.5) * width - 0.5, (k // per_row + 0.5) * height - 0.5,
                "×", color="white", ha="center", va="center", fontsize=8)
    top, right = grid.shape[0] - 0.5, grid.shape[1] - 0.5  # thin lines between tiles
    ax.vlines(np.arange(1, per_row) * width - 0.5, -0.5, top, colors="white",
              linewidth=0.4)
    ax.hlines(np.arange(1, grid.shape[0] // height) * height - 0.5, -0.5, right,
              colors="white", linewidth=0.4)
    ax.set_xticks([])
    ax.set_yticks([])
    shape = "×".join(str(s) for s in activation.values.shape)
    ax.set_title(f"{activation.name}  ({activation.kind}, {shape})\n"
                 f"{dead_words(activation, lang)}", fontsize=10,
                 fontproperties=font)


def _font_for(lang: str):
    """``(font properties or None, the language the figure can be written in)``."""
    if lang != "ko":
        return None, "en"
    from matplotlib.font_manager import FontProperties

    from convsim.viz.gif import find_fonts

    hangul = find_fonts().hangul
    return (FontProperties(fname=hangul, size=10), "ko") if hangul else (None, "en")


def _layers_of(model) -> list:
    found = getattr(model, "layers", None)
    if found is None:
        raise WrongTypeError("`model` must be a convsim model (models.Sequential or "
                             f"models.Model). Received: model={model!r}")
    return [layer for layer in found if not isinstance(layer, layer_classes.InputLayer)]


def _choose(model, layers) -> list:
    """The layers asked for, checked: each in the model, each giving pictures."""
    available = _layers_of(model)
    if layers is None:
        chosen = picture_layers(model)
        if not chosen:
            raise ArgumentError(f"Model '{model.name}' has no Conv2D or pooling "
                                "layer; name the layers to show with `layers`.")
        return chosen
    by_name = {layer.name: layer for layer in available}
    wanted = [layers] if isinstance(layers, str) else list(layers)
    if not wanted:
        raise ArgumentError("`layers` is empty: name at least one layer.")
    chosen = []
    for item in wanted:
        layer = by_name.get(item) if isinstance(item, str) else item
        if layer is None or all(layer is not known for known in available):
            raise ArgumentError(
                f"`layers` must name layers of model '{model.name}': "
                f"{sorted(by_name)}. Received: {item!r}.{did_you_mean(item, by_name)}")
        if len(tuple(layer.output.shape)) != 4:
            pictures = [la.name for la in picture_layers(model)]
            raise ArgumentError(
                f"Layer '{layer.name}' outputs {tuple(layer.output.shape)}, not "
                "(batch, height, width, channels) pictures; the layers that do "
                f"are {pictures}. Received: layers={layers!r}")
        chosen.append(layer)
    return chosen


def _one_image(model, image) -> np.ndarray:
    """``image`` as one input of the shape ``model`` takes."""
    try:
        expected = tuple(model.input.shape[1:])
    except AttributeError:
        raise NotReadyError(f"Model '{model.name}' does not know its input shape "
                            "yet: give its first layer an input_shape, or build "
                            "it.") from None
    x = as_float32(image, "image")
    if x.ndim == len(expected) + 1 and x.shape[0] == 1:
        x = x[0]  # a batch of one
    if x.ndim == len(expected) - 1 and expected[-1] == 1:
        x = x[..., None]  # a grayscale image without its channel axis
    if x.ndim != len(expected) or any(e is not None and e != n
                                      for e, n in zip(expected, x.shape, strict=True)):
        raise ArgumentError(f"`image` must be one input of model '{model.name}': "
                            f"shape {expected}. Received: image.shape="
                            f"{np.shape(image)}")
    return x


def _maps(values, name: str) -> np.ndarray:
    """``(height, width, channels)`` float32; a batch of one is unwrapped."""
    x = as_float32(values, name)
    if x.ndim == 4 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 3:
        raise ArgumentError(f"`{name}` must be one layer's output, (height, width, "
                            f"channels) or (1, height, width, channels). Received: "
                            f"{name}.shape={x.shape}")
    return x
