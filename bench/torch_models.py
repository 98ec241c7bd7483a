"""The book's two convnets in PyTorch, for the benchmarks that time them
against convsim (bench/run.py, bench/train_mnist.py,
bench/train_cats_vs_dogs.py): one definition, so every bench times the same
network.

Keras's recipe for the starting weights: Glorot (Xavier) uniform kernels and
zero biases. The last layer gives logits; the benches apply softmax or the
sigmoid inside their loss, as convsim fuses them for a softmax or sigmoid
output layer.
"""

from __future__ import annotations


def torch_book_model(name: str, seed: int = 0):
    """``'mnist'`` (28x28x1 -> 10) or ``'cats-vs-dogs'`` (150x150x3 -> 1), its
    weights drawn after ``torch.manual_seed(seed)``."""
    import torch
    from torch import nn

    torch.manual_seed(seed)
    if name == "mnist":
        parts = [nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
                 nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10)]
    elif name == "cats-vs-dogs":
        parts = [nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Conv2d(64, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Conv2d(128, 128, 3), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Flatten(), nn.Linear(7 * 7 * 128, 512), nn.ReLU(),
                 nn.Linear(512, 1)]
    else:
        raise ValueError(f"No PyTorch twin of {name!r}: 'mnist' or 'cats-vs-dogs'.")
    model = nn.Sequential(*parts)
    for module in model:
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.xavier_uniform_(module.weight)  # Keras's glorot_uniform
            nn.init.zeros_(module.bias)
    return model
