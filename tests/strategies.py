"""Hypothesis strategies the kernel tests share."""

from __future__ import annotations

from hypothesis import strategies as st


@st.composite
def conv_arguments(draw, batch=(1, 3), channels=4, extra=6):
    """Keras-style arguments of a small convolution whose window fits:
    ``((n, h, w, c), (kh, kw, c, f), strides, padding, dilation)``, with
    ``batch`` images (a range), up to ``channels`` input channels and filters,
    and inputs up to ``extra`` cells larger than the smallest that fits."""
    padding = draw(st.sampled_from(["valid", "same"]))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    lowest = [1, 1]
    if padding == "valid":  # the window must fit
        lowest = [d * (k - 1) + 1 for d, k in zip(dilation, (kh, kw), strict=True)]
    h = draw(st.integers(lowest[0], lowest[0] + extra))
    w = draw(st.integers(lowest[1], lowest[1] + extra))
    n = draw(st.integers(*batch))
    c, f = draw(st.integers(1, channels)), draw(st.integers(1, channels))
    return (n, h, w, c), (kh, kw, c, f), strides, padding, dilation
