"""The lessons, one module each, in the order of the book's chapter 5.

``pip install`` ships this folder as ``convsim.lessons``; run a lesson with
``python -m convsim.lesson NAME``. What a lesson module provides is written in
README.md beside this file.

A new lesson is a new module here plus its name in :data:`CONTENTS`: nothing
in ``convsim/`` changes.
"""

#: The lesson modules in the order a learner should take them (the book's
#: order). ``python -m convsim.lesson --list`` shows them in this order; a
#: lesson's command-line name is the module's name with '-' for '_'.
CONTENTS = (
    "convolution",
    "channels",
    "padding",
    "stride",
    "pooling",
    "playground",
    "feature_maps",
    "backprop",
    "shapes",
    "receptive_field",
    "translation",
    "augmentation",
    "overfitting",
    "dropout",
    "activations",
    "filters",
    "gradcam",
)
