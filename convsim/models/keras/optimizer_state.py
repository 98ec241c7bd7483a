"""Keras's optimizer variables in convsim's order, and back.

Keras saves an optimizer's state as a list of arrays in the order the
optimizer made its variables (``save_own_variables`` in
keras/src/optimizers/base_optimizer.py; ``optimizer_weights`` of a legacy
``.h5``, ``save_optimizer_weights_to_hdf5_group``). That order:

* Keras 3: ``iteration``, ``learning_rate`` (unless the rate is a
  schedule), then the slots of ``build``: Adam's momentum and velocity
  interleaved per weight, then every ``velocity_hat`` (``amsgrad``);
  RMSprop's velocities, then momentums (``momentum > 0``), then average
  gradients (``centered``); SGD's momentums (``momentum != 0``)
  (``add_optimizer_variables``, keras/src/optimizers/{adam,rmsprop,sgd}.py);
* Keras 2.11 to 2.15: the same without ``learning_rate``
  (keras/optimizers/{adam,rmsprop,sgd}.py at v2.13.1);
* Keras 2's older ``optimizer_v2`` (a config with ``decay``): no
  ``learning_rate`` either, and Adam's momentums all before its velocities.

convsim keeps the same state as ``{"iterations", "momentum/0", ...}`` (the
weight's index in ``model.trainable_weights``, the order of Keras's
``trainable_variables``): :func:`layout` lists the arrays a file must hold,
with their shapes, so every one is checked before it is read; a file that
holds anything else keeps its optimizer fresh, with a note, as Keras does
("Skipping variable loading for optimizer").
"""

from __future__ import annotations

import numpy as np

__all__ = ["layout", "state_to_keras"]


def layout(optimizer, shapes: list[tuple], keras3: bool, old_v2: bool = False
           ) -> list[tuple[str, tuple]]:
    """``[(convsim key, shape)]`` in the order Keras stores ``optimizer``'s
    state for trainable weights of ``shapes`` (``"learning_rate"`` is the
    rate itself, not convsim state)."""
    cls = type(optimizer).__name__
    keys = [("iterations", ())]
    if keras3 and not optimizer.decay:
        keys.append(("learning_rate", ()))

    def block(slot):
        return [(f"{slot}/{i}", shape) for i, shape in enumerate(shapes)]

    if cls == "Adam":
        if old_v2:
            keys += block("momentum") + block("velocity")
        else:
            keys += [(f"{slot}/{i}", shape) for i, shape in enumerate(shapes)
                     for slot in ("momentum", "velocity")]
        keys += block("velocity_hat") if optimizer.amsgrad else []
    elif cls == "RMSprop":
        keys += block("velocity")
        keys += block("momentum") if optimizer.momentum else []
        keys += block("average_gradient") if optimizer.centered else []
    elif cls == "SGD" and optimizer.momentum:
        keys += block("momentum")
    return keys


def state_to_keras(optimizer, variables) -> list[tuple[str, np.ndarray]]:
    """``[(name, array)]`` of ``optimizer``'s state for ``variables`` (the
    model's trainable weights) in Keras 3's order: zeros and step 0 if the
    optimizer has not taken a step yet, as a fresh Keras optimizer holds."""
    variables = list(variables)
    state = optimizer.get_state() if optimizer.built else {}
    prefix = optimizer.name
    arrays = []
    for key, shape in layout(optimizer, [v.shape for v in variables], True):
        if key == "iterations":
            value = np.asarray(optimizer.iterations, np.int64)
            name = f"{prefix}/iteration"
        elif key == "learning_rate":
            value = np.asarray(optimizer.learning_rate, np.float32)
            name = f"{prefix}/learning_rate"
        else:
            slot, index = key.split("/")
            value = np.asarray(state.get(key, np.zeros(shape, np.float32)),
                               np.float32)
            name = f"{prefix}/{variables[int(index)].path.replace('/', '_')}_{slot}"
        arrays.append((name, value))
    return arrays
