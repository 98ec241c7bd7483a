"""The Keras side of ``bench/compare_keras.py``: run by an interpreter that has
TensorFlow/Keras installed (it never imports convsim).

    python bench/keras_worker.py JOB.npz

``JOB.npz`` holds ``x, y, xt, yt`` (float32 images, int labels), ``seed``,
``epochs``, ``batch_size`` and, for a paired run, ``weight_0 ... weight_9``
(convsim's initial weights, Keras layout) and ``order_0 ...`` (one permutation
of the training set per epoch). Prints one JSON line: Keras's version, seconds
per epoch and test accuracy after each epoch.
"""

import json
import os
import sys
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no TensorFlow start-up chatter

import keras  # noqa: E402


def notes_mnist_model():
    """The book's MNIST convnet in Keras, written as in the notes (this file
    runs without convsim, so it cannot use convsim.experiments.book_models)."""
    layers = keras.layers
    model = keras.models.Sequential()
    model.add(keras.Input(shape=(28, 28, 1)))
    model.add(layers.Conv2D(32, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation="relu"))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation="relu"))
    model.add(layers.Dense(10, activation="softmax"))
    return model


def main(job_path):
    job = np.load(job_path)
    epochs, batch_size = int(job["epochs"]), int(job["batch_size"])
    keras.utils.set_random_seed(int(job["seed"]))
    model = notes_mnist_model()
    weights = sorted(k for k in job.files if k.startswith("weight_"))
    if weights:
        model.set_weights([job[k] for k in sorted(weights, key=lambda k: int(k[7:]))])
    model.compile(optimizer="rmsprop", loss="categorical_crossentropy",
                  metrics=["accuracy"])
    y = keras.utils.to_categorical(job["y"], 10)
    yt = keras.utils.to_categorical(job["yt"], 10)
    x, xt = job["x"], job["xt"]
    times, accs = [], []
    for epoch in range(epochs):
        start = time.perf_counter()
        if f"order_{epoch}" in job.files:
            order = job[f"order_{epoch}"]
            model.fit(x[order], y[order], batch_size=batch_size, epochs=1,
                      shuffle=False, verbose=0)
        else:
            model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        times.append(time.perf_counter() - start)
        accs.append(float(model.evaluate(xt, yt, batch_size=256, verbose=0)[1]))
    print(json.dumps({"keras": keras.__version__, "times": times, "accs": accs}))


if __name__ == "__main__":
    main(sys.argv[1])
