"""Every check of what a user gives convsim, in one room.

Anything a user can get wrong is checked here, before it reaches a numba kernel,
so a mistake produces a sentence naming the argument, the rule and the value
received (Keras's wording), never a numba typing error, a NumPy error or a
crash. Two modules:

* :mod:`~convsim.validation.arguments`: sizes, strides and counts (bounded by
  :data:`MAX_SIZE`), choices and names (with "Did you mean ...?"), flags,
  numbers, arrays and shapes;
* :mod:`~convsim.validation.labels`: labels and targets, checked for what each
  loss can learn from (where Keras trains on nonsense without a word).

:mod:`~convsim.validation.shape_hints` turns a wrong image shape into the
line of code that fixes it (``x.reshape((-1, 28, 28, 1))``, ...).

Import from here: ``from convsim.validation import standardize_tuple``.
"""

from convsim.validation.arguments import (
    MAX_SIZE,
    PADDINGS,
    as_float32,
    build_shape,
    check_axis,
    check_bool,
    check_float,
    check_seed,
    construct,
    did_you_mean,
    from_config_dict,
    numeric_array,
    positive_int,
    shape_tuple,
    standardize_choice,
    standardize_data_format,
    standardize_tuple,
    unknown_identifier,
    weight_shape,
)
from convsim.validation.labels import (
    binary_labels,
    finite_values,
    output_array,
    probability_rows,
    sparse_labels,
    sparse_targets,
    targets_like,
)
from convsim.validation.shape_hints import input_shape_hint

__all__ = ["MAX_SIZE", "PADDINGS", "as_float32", "binary_labels", "build_shape",
           "check_axis", "check_bool", "check_float", "check_seed", "construct",
           "did_you_mean", "input_shape_hint",
           "finite_values", "from_config_dict", "numeric_array", "output_array",
           "positive_int", "probability_rows", "shape_tuple", "sparse_labels",
           "sparse_targets", "standardize_choice", "standardize_data_format",
           "standardize_tuple", "targets_like", "unknown_identifier",
           "weight_shape"]
