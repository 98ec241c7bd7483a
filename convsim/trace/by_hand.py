"""A convolution or pooling written out by hand (a kernel array, a stride...),
traced: what the lessons use to animate their small examples.

Each function builds the real layer with those arguments and weights and
traces it, so a lesson's toy convolution runs exactly as ``layers.Conv2D``
would in a model, and a wrong argument gets the layer's own message. The
layers get a fixed ``name`` so tracing does not use up Keras-style default
names (``conv2d_1``, ...) of the learner's session.
"""

from __future__ import annotations

import numpy as np

from convsim import layers
from convsim.trace.layer import ConvTrace, PoolTrace
from convsim.validation import as_float32, standardize_choice

__all__ = ["trace_conv", "trace_pool"]

POOL_KINDS = ("max", "average")


def trace_conv(image, kernel, bias=None, strides=1, padding="valid",
               dilation_rate=1, activation=None) -> ConvTrace:
    """Trace a convolution of one image with the given ``kernel``.

    Args:
        image: ``(height, width)`` (grayscale), ``(height, width, channels)`` or
            a batch of one ``(1, height, width, channels)``.
        kernel: ``(kernel_h, kernel_w, in_channels, filters)``.
        bias: one number per filter (default zeros).
        strides, dilation_rate, activation: as :class:`convsim.layers.Conv2D`.
        padding: ``'valid'``, ``'same'`` (TensorFlow's rule), or explicit zeros
            ``(top, bottom, left, right)`` as PyTorch's ``padding=`` gives them
            (``padding=1`` there is ``(1, 1, 1, 1)`` here).

    >>> t = trace_conv(np.arange(25.0).reshape(5, 5), np.ones((3, 3, 1, 1)),
    ...                strides=2)
    >>> len(t)  # 2x2 outputs, 1 filter
    4
    >>> step = t[1]
    >>> (step.row, step.col, step.move)
    (0, 1, (0, 2))
    >>> float(step.products.sum()), step.output
    (72.0, 72.0)
    """
    kernel = as_float32(kernel, "kernel", 4, " of shape (kernel_h, kernel_w, "
                        "in_channels, filters)")
    kh, kw, channels, filters = kernel.shape
    explicit = not isinstance(padding, str)
    layer = layers.Conv2D(filters, (kh, kw), strides=strides,
                          padding="valid" if explicit else padding,
                          dilation_rate=dilation_rate, activation=activation,
                          name="conv2d")
    layer.build((None, None, None, channels))
    layer.set_weights([kernel, np.zeros(filters, np.float32) if bias is None
                       else bias])
    return ConvTrace(layer, image, padding if explicit else None)


def trace_pool(image, pool_size=2, strides=None, padding="valid",
               kind="max") -> PoolTrace:
    """Trace a max (``kind='max'``) or average (``'average'``) pooling of one
    image; the other arguments are those of :class:`convsim.layers.MaxPooling2D`.
    """
    kind = standardize_choice(kind, POOL_KINDS, "kind")
    pooling = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
    layer = pooling(pool_size, strides, padding, name=f"{kind}_pooling2d")
    return PoolTrace(layer, image)
