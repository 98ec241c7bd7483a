"""What a filter responds to most: gradient ascent in input space (book 5.4.2).

The book's recipe, step by step:

1. start from a grey image with a little noise (pixels 128 to 148 of 0..255);
2. the loss is the filter's mean activation
   (:func:`~convsim.trace.gradients.filter_mean`);
3. its gradient with respect to the image says how to change every pixel to
   raise the loss; divide it by its root mean square (``sqrt(mean(g**2))``,
   plus 1e-5 so a zero gradient stays zero), so every step has the same size
   whatever the layer's scale;
4. add it to the image (step size 1, in pixel units) and repeat, 40 times;
5. turn the result into a picture (:func:`deprocess_image`).

The book climbs VGG16, which takes pixels 0..255 directly. The book's own
convnets (and every convsim model) see pixels scaled to 0..1, as
``ImageDataGenerator(rescale=1./255)`` does: here the image and the step are
in pixel units as in the book (grey 128, a step of 1 grey level), the model is
shown ``pixels * scale``, and the gradient is taken with respect to what the
model is shown, as the book's ``K.gradients(loss, model.input)``. Divided by
its own size it is a direction, whatever its units; the 1e-5 only stops a
zero gradient from becoming a division by zero. (Taken with respect to the
pixels instead, the gradient of a small network's first layer is about 1e-5
itself, and the 1e-5 would shrink its steps.)

The filters of one layer are climbed together, one image per filter, in a
single batch: the images never mix, and 16 filters cost about as much as one
batch of 16.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from convsim.trace.gradients import filter_mean, gradient
from convsim.validation import check_float, check_seed, positive_int

__all__ = ["Ascent", "STEPS", "STEP_SIZE", "ascend", "deprocess_image"]

STEPS = 40  # the book's 40 steps ...
STEP_SIZE = 1.0  # ... of size 1 (pixel units)
START_GREY, START_NOISE = 128.0, 20.0  # the book's start: random() * 20 + 128
EPSILON = 1e-5  # the book's guard against dividing by a zero gradient


@dataclass(frozen=True)
class Ascent:
    """The result of :func:`ascend` for some filters of one layer.

    Attributes:
        layer: the layer's name.
        filters: the filter indices, one per image.
        step: the step size, in pixel units.
        images: ``(filters, height, width, channels)`` the climbed inputs in
            pixel units (not clipped: :func:`deprocess_image` makes pictures).
        history: ``(steps + 1, filters)`` each filter's mean activation before
            every step and after the last.
        snapshots: ``{step: images}`` copies taken before the listed steps
            (``steps`` itself: the end).
    """

    layer: str
    filters: tuple[int, ...]
    step: float
    images: np.ndarray
    history: np.ndarray
    snapshots: dict

    @property
    def before(self) -> np.ndarray:
        return self.history[0]

    @property
    def after(self) -> np.ndarray:
        return self.history[-1]


def ascend(model, layer, filters, *, steps: int = STEPS, step: float = STEP_SIZE,
           scale: float = 1 / 255, seed: int | None = None,
           keep: tuple[int, ...] = ()) -> Ascent:
    """Climb the mean activation of each of ``filters`` of ``layer``.

    Args:
        model: a convsim model (one chain of layers) with a fixed input size.
        layer: the layer (or its name) whose filters are climbed.
        filters: filter indices; one image is climbed for each.
        steps, step: how many gradient steps, and their size in pixel units.
        scale: what the model is shown is ``pixels * scale`` (1/255: the
            book's ``rescale``; 1 for a model that takes 0..255 pixels).
        seed: the start's noise (``None``: the same noise every time).
        keep: steps before which to keep a copy of the images (for pictures
            of the climb); ``steps`` means the end.
    """
    steps = positive_int(steps, "steps")
    step = check_float(step, "step", 0, low_open=True)
    scale = check_float(scale, "scale", 0, low_open=True)
    rng = np.random.default_rng(0 if check_seed(seed) is None else seed)
    filters = tuple(int(f) for f in np.atleast_1d(filters))
    objective = filter_mean(model, layer, filters)
    shape = (len(filters), *tuple(model.input.shape)[1:])
    pixels = rng.random(shape) * START_NOISE + START_GREY  # float64, as the book
    history, snapshots = [], {}
    for i in range(steps + 1):
        if i in keep:
            snapshots[i] = pixels.copy()
        found = gradient(model, pixels * scale, objective)
        history.append(found.values)
        if i == steps:
            break
        grads = found.grad.astype(np.float64)  # d loss / d (the model's input)
        rms = np.sqrt(np.mean(grads ** 2, axis=tuple(range(1, grads.ndim)),
                              keepdims=True))
        pixels += grads / (rms + EPSILON) * step
    return Ascent(objective.layer.name, filters, step, pixels, np.array(history),
                  snapshots)


def deprocess_image(x: np.ndarray) -> np.ndarray:
    """The book's ``deprocess_image``: one climbed image (any shape) as uint8
    pixels. Centre it on 0, give it a standard deviation of 0.1, move it to
    0.5, clip to 0..1 and scale to 0..255, so the pattern, whatever its
    range, fills a visible grey range around mid-grey.
    """
    x = np.asarray(x, dtype=np.float64)
    x = x - x.mean()
    x = x / (x.std() + EPSILON)
    x = np.clip(x * 0.1 + 0.5, 0, 1)
    return np.clip(x * 255, 0, 255).astype(np.uint8)
