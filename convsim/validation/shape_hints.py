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

#: Each fix in English and Korean; ``{like}`` and the others are filled in from
#: the shapes (Korean puts them after a colon or in code, never before a
#: particle, so the sentence does not depend on the numbers).
HINTS = {
    "en": {
        "batch_of_images": "A layer takes a batch of images (batch, height, width, "
                           "channels): for one image, add the batch axis with "
                           "np.expand_dims(x, 0); for grayscale images without a "
                           "channels axis, x.reshape((-1, height, width, 1)).",
        "one_image": "That is one image without the batch axis: give a batch of "
                     "one, np.expand_dims(x, 0) (shape {batch_of_one}).",
        "no_channels": "The images have no channels axis: add it as the book "
                       "does, x.reshape({like}).",
        "one_bare_image": "That is one image without the batch and channels axes: "
                          "x.reshape({shape}).",
        "channels_first": "The images are channels-first (batch, channels, height, "
                          "width), as PyTorch keeps them; convsim, like Keras, is "
                          "channels-last: np.transpose(x, (0, 2, 3, 1)).",
        "size": "The model takes {h}x{w} images; these are {got_h}x{got_w}: resize "
                "them, e.g. image.load_img(path, target_size=({h}, {w})).",
        "channels": "The model takes {wanted} channel{s}{name}; these images have "
                    "{have}.",
        "color_mode": " Load them with image.load_img(path, color_mode='{mode}'), "
                      "or flow_from_directory(..., color_mode='{mode}').",
    },
    "ko": {
        "batch_of_images": "층은 이미지의 배치 (배치, 높이, 너비, 채널)를 받습니다. "
                           "이미지 하나라면 배치 축을 더하세요: "
                           "np.expand_dims(x, 0). 채널 축이 없는 흑백 이미지라면: "
                           "x.reshape((-1, 높이, 너비, 1))",
        "one_image": "배치 축이 없는 이미지 한 장입니다: 이미지 하나짜리 배치로 "
                     "주세요. np.expand_dims(x, 0) (크기: {batch_of_one})",
        "no_channels": "이미지에 채널 축이 없습니다: 책처럼 채널 축을 더하세요. "
                       "x.reshape({like})",
        "one_bare_image": "배치 축과 채널 축이 없는 이미지 한 장입니다: "
                          "x.reshape({shape})",
        "channels_first": "채널이 앞에 오는 (배치, 채널, 높이, 너비) 이미지입니다. "
                          "파이토치는 이렇게 저장하지만 convsim은 케라스처럼 채널이 "
                          "마지막에 옵니다: np.transpose(x, (0, 2, 3, 1))",
        "size": "모델이 받는 이미지 크기: {h}x{w}. 이 이미지의 크기: "
                "{got_h}x{got_w}. 크기를 바꾸세요. 예: "
                "image.load_img(path, target_size=({h}, {w}))",
        "channels": "모델이 받는 채널 수: {wanted}{name}. 이 이미지의 채널 수: "
                    "{have}.",
        "color_mode": " 이렇게 불러오세요: image.load_img(path, "
                      "color_mode='{mode}') 또는 flow_from_directory(..., "
                      "color_mode='{mode}').",
    },
}
_NAMES = {"en": {1: "grayscale", 3: "RGB", 4: "RGBA"},
          "ko": {1: "흑백", 3: "RGB", 4: "RGBA"}}


def _fits(expected, got) -> bool:
    """Whether ``got`` matches ``expected`` where ``expected`` is known."""
    return len(expected) == len(got) and all(
        e is None or e == g for e, g in zip(expected, got, strict=True))


def _shape(values) -> str:
    return "(" + ", ".join(str(v) for v in values) + ("," if len(values) == 1
                                                      else "") + ")"


def input_shape_hint(expected: tuple, got: tuple, lang: str = "en") -> str:
    """The fix for arrays of shape ``got`` given to a model (or layer) that
    takes ``expected`` (``(None, height, width, channels)``), in ``lang``
    (``"en"`` or ``"ko"``); ``""`` when no common mistake explains the
    difference."""
    hints = HINTS.get(lang, HINTS["en"])
    found = _diagnose(tuple(expected), tuple(got))
    if found is None:
        return ""
    key, values = found
    if key == "channels":
        return _channels_hint(values["wanted"], values["have"], lang)
    return hints[key].format(**values)


def _diagnose(expected: tuple, got: tuple) -> tuple[str, dict] | None:
    """Which common mistake makes ``got`` from ``expected``, and its facts."""
    if len(expected) != 4:
        return None
    sample = expected[1:]
    known = all(v is not None for v in sample)
    if not known and len(got) == 3:
        return "batch_of_images", {}
    like = _shape(("-1", *sample)) if known else "(-1, height, width, channels)"
    if _fits(sample, got):
        return "one_image", {"batch_of_one": _shape((1, *got))}
    if len(got) == 3 and sample[2] == 1 and _fits(sample[:2], got[1:]):
        return "no_channels", {"like": like}
    if len(got) == 2 and sample[2] == 1 and _fits(sample[:2], got):
        return "one_bare_image", {"shape": _shape((1, *got, 1))}
    if len(got) == 4 and _fits((sample[2], *sample[:2]), got[1:]) \
            and got[1] != got[3]:
        return "channels_first", {}
    if len(got) == 4 and _fits(sample[:2], got[1:3]) and sample[2] is not None:
        return "channels", {"wanted": sample[2], "have": got[3]}
    if len(got) == 4 and sample[0] is not None and sample[1] is not None:
        return "size", {"h": sample[0], "w": sample[1], "got_h": got[1],
                        "got_w": got[2]}
    return None


def _channels_hint(wanted: int, have: int, lang: str) -> str:
    hints, names = HINTS.get(lang, HINTS["en"]), _NAMES.get(lang, _NAMES["en"])
    hint = hints["channels"].format(
        wanted=wanted, have=have, s="s" if wanted != 1 else "",
        name=f" ({names[wanted]})" if wanted in names else "")
    if wanted in (1, 3):
        hint += hints["color_mode"].format(mode="grayscale" if wanted == 1 else "rgb")
    return hint
