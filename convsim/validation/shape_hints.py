"""What to do when images have the wrong shape: the fix, in one sentence.

The commonest mistakes with the book's convnets are shapes, and the bare fact
("expected (None, 28, 28, 1), found (32, 28, 28)") leaves a learner to guess
what went wrong. Each case below is recognised from the two shapes alone and
answered with the line of code that fixes it:

* the channels axis is missing (MNIST digits are ``(n, 28, 28)``):
  ``x.reshape((-1, 28, 28, 1))``, as the book does;
* one image without the batch axis: ``np.expand_dims(x, 0)``;
* one image with neither: ``x.reshape((1, 28, 28, 1))``;
* channels first (PyTorch's ``(n, 1, 28, 28)``): convsim, like Keras by
  default, is channels-last: ``np.transpose(x, (0, 2, 3, 1))``;
* the wrong number of channels (RGB photos for a grayscale model, or the
  other way round) or the wrong image size: how to load them right.
"""

from __future__ import annotations

__all__ = ["input_shape_hint"]


def _fits(expected, got) -> bool:
    """Whether ``got`` matches ``expected`` where ``expected`` is known."""
    return len(expected) == len(got) and all(
        e is None or e == g for e, g in zip(expected, got, strict=True))


def _shape(values) -> str:
    return "(" + ", ".join(str(v) for v in values) + ("," if len(values) == 1
                                                      else "") + ")"


def input_shape_hint(expected: tuple, got: tuple) -> str:
    """The fix for arrays of shape ``got`` given to a model (or layer) that
    takes ``expected`` (``(None, height, width, channels)``); ``""`` when no
    common mistake explains the difference."""
    expected, got = tuple(expected), tuple(got)
    if len(expected) != 4:
        return ""
    sample = expected[1:]
    known = all(v is not None for v in sample)
    if not known and len(got) == 3:
        return ("A layer takes a batch of images (batch, height, width, "
                "channels): for one image, add the batch axis with "
                "np.expand_dims(x, 0); for grayscale images without a channels "
                "axis, x.reshape((-1, height, width, 1)).")
    like = _shape(("-1", *sample)) if known else "(-1, height, width, channels)"
    if _fits(sample, got):
        return ("That is one image without the batch axis: give a batch of one, "
                f"np.expand_dims(x, 0) (shape {_shape((1, *got))}).")
    if len(got) == 3 and sample[2] == 1 and _fits(sample[:2], got[1:]):
        return ("The images have no channels axis: add it as the book does, "
                f"x.reshape({like}).")
    if len(got) == 2 and sample[2] == 1 and _fits(sample[:2], got):
        return ("That is one image without the batch and channels axes: "
                f"x.reshape({_shape((1, *got, 1))}).")
    if len(got) == 4 and _fits((sample[2], *sample[:2]), got[1:]) \
            and got[1] != got[3]:
        return ("The images are channels-first (batch, channels, height, width), "
                "as PyTorch keeps them; convsim, like Keras, is channels-last: "
                "np.transpose(x, (0, 2, 3, 1)).")
    if len(got) == 4 and _fits(sample[:2], got[1:3]) and sample[2] is not None:
        return _channels_hint(sample[2], got[3])
    if len(got) == 4 and sample[0] is not None and sample[1] is not None:
        return (f"The model takes {sample[0]}x{sample[1]} images; these are "
                f"{got[1]}x{got[2]}: resize them, e.g. image.load_img(path, "
                f"target_size=({sample[0]}, {sample[1]})).")
    return ""


def _channels_hint(wanted: int, have: int) -> str:
    names = {1: "grayscale", 3: "RGB", 4: "RGBA"}
    hint = (f"The model takes {wanted} channel{'s' if wanted != 1 else ''}"
            f"{f' ({names[wanted]})' if wanted in names else ''}; these images "
            f"have {have}.")
    if wanted in (1, 3):
        mode = "grayscale" if wanted == 1 else "rgb"
        hint += (f" Load them with image.load_img(path, color_mode='{mode}'), or "
                 "flow_from_directory(..., color_mode='" + mode + "').")
    return hint
