"""The trace: every step of a real model's forward pass, for one image, on demand.

A learner wants to see *each* patch, product, pad and stride; a computer wants
to run the whole layer at once. The trace gives both without a second copy of
the layers:

* it is built FROM a real layer or model (:func:`trace_layer`,
  :func:`trace_model`): it reads the layer's own attributes and weights, takes
  the window geometry from :mod:`convsim.shapes` as the ops do, and gets every
  output by calling the layer, so its numbers are the ones ``model.predict``
  computes;
* its steps form a lazy sequence: ``trace[i]`` builds one frozen event
  (:class:`ConvStep`, :class:`PoolStep`, :class:`DenseStep`) from views into the
  padded input and the kernel, and works out the products and sums, with the
  helpers of :mod:`convsim.kernels.reference` that define the kernels, only
  when asked. The first layer of the cats-vs-dogs model makes 700,928 steps and
  19 million products; none of them exists until a lesson looks at it.

The lessons' small hand-made examples use :func:`trace_conv` and
:func:`trace_pool`, which build the real layer from a kernel array and
arguments, then trace it.

>>> import numpy as np
>>> from convsim import layers
>>> conv = layers.Conv2D(1, 3, strides=2, kernel_initializer="ones", name="c")
>>> t = trace_layer(conv, np.arange(25.0).reshape(5, 5))
>>> len(t), t.step(0, 1).move, t.step(0, 1).total, t.step(0, 1).output
(4, (0, 2), 72.0, 72.0)
"""

from convsim.trace.backprop import trace_backprop, trace_backprop_by_hand
from convsim.trace.backward import (
    trace_activation_backward,
    trace_backward,
    trace_conv_backward,
    trace_pool_backward,
)
from convsim.trace.by_hand import trace_conv, trace_pool
from convsim.trace.events import ConvStep, DenseStep, PadEvent, PoolStep
from convsim.trace.explain import explain
from convsim.trace.explanation import Explanation, ReceptiveField
from convsim.trace.gradcam import ClassMap, grad_cam
from convsim.trace.gradients import class_score, filter_mean, gradient
from convsim.trace.layer import (
    ConvTrace,
    DenseTrace,
    LayerTrace,
    PoolTrace,
    trace_layer,
)
from convsim.trace.model import ModelTrace, trace_model
from convsim.trace.patterns import ascend, deprocess_image
from convsim.trace.receptive_field import LayerField, receptive_field, receptive_fields
from convsim.trace.update import trace_update

__all__ = [
    "ConvStep", "ConvTrace", "DenseStep", "DenseTrace", "Explanation", "LayerTrace",
    "ModelTrace", "PadEvent", "PoolStep", "PoolTrace", "ReceptiveField", "explain",
    "trace_conv", "trace_layer", "trace_model", "trace_pool",
]
__all__ += ["trace_activation_backward", "trace_backprop", "trace_backprop_by_hand",
            "trace_backward", "trace_conv_backward", "trace_pool_backward",
            "trace_update"]
__all__ += ["LayerField", "receptive_field", "receptive_fields"]
__all__ += ["ClassMap", "ascend", "class_score", "deprocess_image", "filter_mean",
            "grad_cam", "gradient"]
