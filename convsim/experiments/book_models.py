"""The book's two convnets, defined once.

Chapter 5 of *Deep Learning with Python* builds two models, and your notes copy
them line for line:

* :func:`build_mnist_model`: three Conv2D layers with max pooling between them,
  then a small dense classifier for the ten digits (93,322 parameters);
* :func:`build_cats_model`: four Conv2D + MaxPooling2D blocks and a dense
  classifier that says "dog" or "cat" for a 150x150 photo (3,453,121
  parameters), with the optional Dropout layer of the book's second run.

The ``train`` commands, the lessons, the tests and the benchmarks all build
them here, so there is exactly one place that says what "the book's model" is.

>>> build_mnist_model().count_params()
93322
"""

from __future__ import annotations

import numbers

from convsim.errors import ArgumentError, WrongTypeError
from convsim.validation import standardize_tuple

__all__ = ["BOOK_DROPOUT", "CATS_VS_DOGS_INPUT_SHAPE", "NOTES_LEARNING_RATE",
           "build_cats_model", "build_mnist_model"]

#: Every cats-vs-dogs photo is resized to 150x150 RGB before it enters the
#: network, as in the book.
CATS_VS_DOGS_INPUT_SHAPE = (150, 150, 3)
#: The rate of the book's ``Dropout(0.5)``, used when ``dropout=True``.
BOOK_DROPOUT = 0.5
#: Adam's step size in your notes, for the cats-vs-dogs convnet.
NOTES_LEARNING_RATE = 1e-3


def build_mnist_model():
    """The book's MNIST convnet (93,322 parameters), exactly as in your notes.

    Input ``(batch, 28, 28, 1)``; output ``(batch, 10)``, one softmax
    probability per digit. Not compiled: the MNIST recipe (RMSprop,
    categorical cross-entropy) is written out where the model is trained, as
    in the book.
    """
    from convsim import layers, models

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=(28, 28, 1)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def build_cats_model(dropout: float | bool | None = None,
                     learning_rate: float = NOTES_LEARNING_RATE, *,
                     input_shape: tuple[int, int, int] = CATS_VS_DOGS_INPUT_SHAPE):
    """The book's cats-vs-dogs convnet (3,453,121 parameters), compiled.

    Four Conv2D + MaxPooling2D blocks (32, 64, 128, 128 filters) turn a
    150x150x3 photo into 7x7x128 features; Flatten, Dense(512, relu) and
    Dense(1, sigmoid) give the probability that the photo is a dog (class 1:
    the folders are sorted, cats come first). Compiled like your notes: Adam
    with learning rate 1e-3 (the book itself uses RMSprop with 1e-4: a smaller
    step is the usual remedy when accuracy sits at 50%), binary cross-entropy,
    metric ``'acc'``.

    Args:
        dropout: ``None``, ``False`` or ``0``: no Dropout layer (the book's
            first run). ``True``: the book's ``Dropout(0.5)`` right after
            Flatten (its second run). A number in ``(0, 1)``: that rate.
        learning_rate: Adam's step size.
        input_shape: ``(height, width, channels)`` of the photos; another size
            shows how the same layers scale (a lesson uses this). At 150x150
            the last block gives 7x7x128 features, as in the book.

    Raises:
        TypeError: ``dropout`` is not a number, ``True`` or ``None``.
        ValueError: ``dropout`` is outside [0, 1), or ``input_shape`` is not
            three positive integers.

    >>> build_cats_model(dropout=True).layers[9].rate
    0.5
    """
    from convsim import layers, models, optimizers

    rate = _dropout_rate(dropout)
    input_shape = standardize_tuple(input_shape, 3, "input_shape")
    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation="relu", input_shape=input_shape))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(128, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(128, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Flatten())
    if rate:
        model.add(layers.Dropout(rate))
    model.add(layers.Dense(512, activation="relu"))
    model.add(layers.Dense(1, activation="sigmoid"))
    model.compile(loss="binary_crossentropy",
                  optimizer=optimizers.Adam(learning_rate=learning_rate),
                  metrics=["acc"])
    return model


def _dropout_rate(dropout) -> float:
    """The Dropout rate ``dropout`` asks for; 0.0 means no Dropout layer."""
    if dropout is None or dropout is False:
        return 0.0
    if dropout is True:
        return BOOK_DROPOUT
    message = ("`dropout` must be None, True (the book's 0.5) or a number in "
               f"[0, 1). Received: dropout={dropout!r}")
    if not isinstance(dropout, numbers.Real):
        raise WrongTypeError(message)
    if not 0 <= dropout < 1:
        raise ArgumentError(message)
    return float(dropout)
