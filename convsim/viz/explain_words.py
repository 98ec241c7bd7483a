"""The words of an explained cell (:mod:`convsim.viz.explain_view`), in
English and Korean.

Korean uses the Korean edition's vocabulary (합성곱, 필터, 패딩, 스트라이드,
윈도우, 특성 맵, 편향, 활성화 함수, 최대 풀링, 평균 풀링) and 수용 영역 for the
receptive field. The sentences are built so that no particle follows a
number or a name that changes (``출력 {shape}의``, ``곱 {n}개``): a particle
after a variable would need the variable's last sound to choose between
은/는, 이/가 or 을/를.

>>> say("ko", "more_terms", n=6, total="0.13")
'… (나머지 항 6개: 0.13)'
"""

from __future__ import annotations

__all__ = ["TEXT", "cell_words", "count_words", "layer_words", "say", "shape_words",
           "softmax_words", "source_words", "span_words"]

TEXT = {
    "en": {
        "cell_of": "{cell} of its {shape} output",
        "cell_of_vector": "{cell} of its {n} outputs",
        "row": "row", "col": "col", "channel": "channel", "filter": "filter",
        "unit": "unit", "ch": "ch",
        "filters": "{n} filters", "filters_one": "1 filter", "units": "{n} units",
        "units_one": "1 unit",
        "rows": "rows {a}–{b}", "rows_one": "row {a}", "cols": "cols {a}–{b}",
        "cols_one": "col {a}", "stride": "stride {s}",
        "padding": "padding '{p}'", "dilation": "dilation {d}",
        "image": "the input image", "output_of": "{name}'s output",
        "field": "Receptive field: {rows}, {cols} of the "
                 "image ({h}×{w} pixels). No pixel outside it can change this "
                 "number.",
        "field_whole": "Receptive field: the whole {h}×{w} image. Any pixel can "
                       "change this number.",
        "field_empty": "Receptive field: no pixel at all. Every window below "
                       "this cell reads only zeros of the padding, so only the "
                       "biases make this number.",
        "field_gaps": "It has gaps (a dilation, or a stride longer than the "
                      "window, skips rows or columns): {n} of these {total} "
                      "pixels are read.",
        "window_conv": "Its window: {rows}, {cols} of "
                       "{source} ({shape}), all {channels} channels: {products} "
                       "products.",
        "window_conv_one": "Its window: {rows}, {cols} "
                           "of {source} ({shape}): {products} products.",
        "window_pool": "Its window: {rows}, {cols} of "
                       "{source} ({shape}), channel {channel} only: pooling keeps "
                       "the channels apart.",
        "window_padding": "Part of the window lies on the zero padding.",
        "dense_flat": "Its inputs: the {n} numbers of {source} ({shape}), laid "
                      "out in a row by Flatten.",
        "dense_inputs": "Its inputs: the {n} numbers of {source}.",
        "activation_input": "It applies its activation to the number in the same "
                            "place of {source}.",
        "working_conv": "The weighted sum (patch × filter), channel by channel:",
        "working_conv_one": "The weighted sum (patch × filter):",
        "more_terms": "… ({n} more terms: {total})",
        "more_channels": "… {n} more channels: together {total}",
        "channel_total": "sum of the {n} channels = {total}",
        "working_dense": "The {shown} largest of its {n} products (input × weight):",
        "working_dense_all": "Its {n} products (input × weight), largest first:",
        "more_products": "… {n} more products: together {total}",
        "dense_total": "sum of the {n} products = {total}",
        "flat_cell": "= {source} row {row}, col {col}, ch {ch}",
        "no_activation": "(no activation)",
        "softmax": "softmax turns the {n} {nouns}' sums z into probabilities: "
                   "this {noun}'s share of e^z",
        "softmax_nouns": {"dense": ("unit", "units"), "conv": ("filter", "filters"),
                          "activation": ("channel", "channels")},
        "working_max": "Max pooling keeps the largest number of the window:",
        "working_average": "Average pooling keeps the mean of the window's real "
                           "cells:",
        "kept": "(kept: row {row}, col {col})",
        "check_same": "model.predict gives {predicted} for this cell: the same "
                      "number as the working.",
        "check_close": "model.predict gives {predicted} for this cell, the "
                       "working {value}: they differ by {diff}, float32 rounding.",
        "check_wrong": "model.predict gives {predicted} for this cell but the "
                       "working gives {value} (difference {diff}). This is a bug "
                       "in convsim: please report it.",
    },
    "ko": {
        "cell_of": "출력 {shape}의 {cell}",
        "cell_of_vector": "출력 {n}개 중 {cell}",
        "row": "행", "col": "열", "channel": "채널", "filter": "필터",
        "unit": "유닛", "ch": "채널",
        "filters": "필터 {n}개", "filters_one": "필터 1개", "units": "유닛 {n}개",
        "units_one": "유닛 1개",
        "rows": "행 {a}–{b}", "rows_one": "행 {a}", "cols": "열 {a}–{b}",
        "cols_one": "열 {a}", "stride": "스트라이드 {s}",
        "padding": "패딩 '{p}'", "dilation": "팽창 {d}",
        "image": "입력 이미지", "output_of": "{name} 출력",
        "field": "수용 영역: 이미지의 {rows}, {cols} "
                 "({h}×{w} 픽셀). 이 밖의 픽셀은 이 값을 바꿀 수 없습니다.",
        "field_whole": "수용 영역: {h}×{w} 이미지 전체. 어느 픽셀이든 이 값을 "
                       "바꿀 수 있습니다.",
        "field_empty": "수용 영역: 픽셀이 하나도 없습니다. 이 칸 아래의 윈도우가 "
                       "모두 제로 패딩만 읽으므로, 이 값은 편향만으로 만들어집니다.",
        "field_gaps": "빈틈이 있습니다 (팽창이나 윈도우보다 긴 스트라이드가 행이나 "
                      "열을 건너뜁니다): 이 {total}개 픽셀 중 {n}개만 읽습니다.",
        "window_conv": "이 층의 윈도우: {source}({shape})의 {rows}, {cols}, 채널 "
                       "{channels}개 모두: 곱 {products}개.",
        "window_conv_one": "이 층의 윈도우: {source}({shape})의 {rows}, {cols}: "
                           "곱 {products}개.",
        "window_pool": "이 층의 윈도우: {source}({shape})의 {rows}, {cols}, 채널 "
                       "{channel}만: 풀링은 채널마다 따로 "
                       "합니다.",
        "window_padding": "윈도우 일부가 제로 패딩 위에 있습니다.",
        "dense_flat": "입력: Flatten이 {source}({shape})에서 한 줄로 펼친 숫자 "
                      "{n}개.",
        "dense_inputs": "입력: {source}의 숫자 {n}개.",
        "activation_input": "{source}에서 같은 자리의 숫자에 활성화 함수를 "
                            "적용합니다.",
        "working_conv": "가중합 (패치 × 필터), 채널별로:",
        "working_conv_one": "가중합 (패치 × 필터):",
        "more_terms": "… (나머지 항 {n}개: {total})",
        "more_channels": "… 나머지 채널 {n}개: 합 {total}",
        "channel_total": "채널 {n}개의 합 = {total}",
        "working_dense": "곱 {n}개 중 가장 큰 {shown}개 (입력 × 가중치):",
        "working_dense_all": "곱 {n}개 (입력 × 가중치), 큰 것부터:",
        "more_products": "… 나머지 곱 {n}개: 합 {total}",
        "dense_total": "곱 {n}개의 합 = {total}",
        "flat_cell": "= {source} 행 {row}, 열 {col}, 채널 {ch}",
        "no_activation": "(활성화 함수 없음)",
        "softmax": "소프트맥스는 {noun} {n}개의 합 z를 확률로 바꿉니다: e^z 전체에서 "
                   "이 {noun}의 몫",
        "softmax_nouns": {"dense": ("유닛", "유닛"), "conv": ("필터", "필터"),
                          "activation": ("채널", "채널")},
        "working_max": "최대 풀링은 윈도우에서 가장 큰 값을 남깁니다:",
        "working_average": "평균 풀링은 윈도우 안 실제 칸들의 평균을 남깁니다:",
        "kept": "(고른 값: 행 {row}, 열 {col})",
        "check_same": "model.predict가 이 칸에 준 값도 {predicted}: 위 계산과 같은 "
                      "숫자입니다.",
        "check_close": "model.predict가 이 칸에 준 값은 {predicted}, 위 계산은 "
                       "{value}: 차이는 {diff}, float32 반올림 오차입니다.",
        "check_wrong": "model.predict가 이 칸에 준 값은 {predicted}인데 위 계산은 "
                       "{value}입니다 (차이 {diff}). convsim의 버그이니 알려 "
                       "주세요.",
    },
}


def say(lang: str, key: str, **values) -> str:
    """The sentence ``key`` in ``lang`` (English for an unknown language),
    filled in with ``values``."""
    return TEXT.get(lang, TEXT["en"])[key].format(**values)


def softmax_words(lang: str, kind: str, n: int) -> str:
    """What softmax does to the sums it is given, named for the layer: the
    units of a Dense layer, the filters of a convolution at one place."""
    noun, nouns = TEXT.get(lang, TEXT["en"])["softmax_nouns"][kind]
    return say(lang, "softmax", n=n, noun=noun, nouns=nouns)


def span_words(lang: str, axis: str, first: int, last: int) -> str:
    """``rows 4–6`` (``axis`` is ``'rows'`` or ``'cols'``), ``row 4`` for one;
    a padding row above the input is ``−1``."""
    a, b = (str(v).replace("-", "\u2212") for v in (first, last))
    if first == last:
        return say(lang, f"{axis}_one", a=a)
    return say(lang, axis, a=a, b=b)


def count_words(lang: str, key: str, n: int) -> str:
    """``64 filters``, ``1 filter``."""
    return say(lang, f"{key}_one") if n == 1 else say(lang, key, n=n)


def shape_words(shape) -> str:
    """``26×26×32``; a vector's length alone."""
    return "×".join(str(n) for n in shape)


def source_words(name: str | None, lang: str) -> str:
    """What a layer reads: "conv2d's output", or the input image (``None``)."""
    if name is None:
        return say(lang, "image")
    return say(lang, "output_of", name=name)


def cell_words(why, lang: str) -> str:
    """``row 4, col 7, filter 12`` (a convolution's channel is its filter);
    ``unit 3`` for Dense."""
    names = {"conv": ("row", "col", "filter"),
             "dense": ("row", "col", "unit")}.get(why.kind, ("row", "col", "channel"))
    if len(why.at) != 3:
        names = ("unit",) if len(why.at) == 1 else tuple(
            f"{i}" for i in range(len(why.at) - 1)) + ("unit",)
    return ", ".join(f"{say(lang, n) if n.isalpha() else n} {i}"
                     for n, i in zip(names, why.at, strict=True))


def layer_words(why, lang: str) -> str:
    """What the layer does, from its config: ``Conv2D 3×3, 64 filters, relu``."""
    config = why.config
    if why.kind == "dense":
        return f"Dense, {count_words(lang, 'units', config['units'])}, {why.activation}"
    if why.kind == "activation":
        return f"Activation('{why.activation}')"
    window = config.get("kernel_size") or config["pool_size"]
    parts = [f"{why.layer_type} {window[0]}×{window[1]}"]
    if why.kind == "conv":
        parts.append(count_words(lang, "filters", config["filters"]))
    usual = (1, 1) if why.kind == "conv" else tuple(window)  # Keras's default
    if tuple(config["strides"]) != usual:
        parts.append(say(lang, "stride", s=_one(config["strides"])))
    if config["padding"] != "valid":
        parts.append(say(lang, "padding", p=config["padding"]))
    if any(d != 1 for d in config.get("dilation_rate", (1, 1))):
        parts.append(say(lang, "dilation", d=_one(config["dilation_rate"])))
    if why.kind == "conv":
        parts.append(why.activation)
    return ", ".join(parts)


def _one(values) -> str:
    """A stride or dilation: ``2`` when it is the same along both axes, else
    ``2×1`` (rows × columns)."""
    a, b = values
    return str(a) if a == b else f"{a}×{b}"
