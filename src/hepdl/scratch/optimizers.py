r"""Gradient descent as in the lectures: batch, stochastic and mini-batch, momentum, decay.

One step on a batch of instances moves every parameter theta (each w^l and b^l) by

    v     <- gamma v + eta_t grad_theta C_batch          (momentum gamma; v = 0 at start)
    theta <- theta - v

with the learning rate decayed per epoch t as eta_t = eta_0 / (1 + decay * t). With
gamma = 0 this is plain gradient descent, theta <- theta - eta_t grad C. The three
variants differ only in the batch: all N instances (batch GD, one step per epoch), one
instance (stochastic GD, N steps per epoch) or B instances (mini-batch, ceil(N/B) steps),
in a new random order every epoch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from hepdl.errors import ConfigError
from hepdl.scratch.network import MLP

__all__ = ["GradientDescent", "History", "fit"]


@dataclass
class History:
    """Per epoch: the cost (whole training set, or the mean of the batch costs) and eta_t."""

    loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


class GradientDescent:
    """The update rule above; holds the velocities v, one per parameter array."""

    def __init__(self, *, lr: float, momentum: float = 0.0, decay: float = 0.0) -> None:
        if not (np.isfinite(lr) and lr > 0):
            raise ConfigError(f"lr: expected a learning rate > 0, got {lr}")
        if not 0.0 <= momentum < 1.0:
            raise ConfigError(f"momentum: expected gamma in [0, 1), got {momentum}")
        if not (np.isfinite(decay) and decay >= 0):
            raise ConfigError(f"decay: expected a learning-rate decay >= 0, got {decay}")
        self.lr, self.momentum, self.decay = float(lr), float(momentum), float(decay)
        self._velocity: list[np.ndarray] | None = None

    def learning_rate(self, epoch: int) -> float:
        """eta_t = eta_0 / (1 + decay * t) for epoch t = 0, 1, ..."""
        return self.lr / (1.0 + self.decay * epoch)

    def step(self, params: list[np.ndarray], grads: list[np.ndarray], *, lr: float) -> None:
        """Update ``params`` in place; ``grads`` (same order) are consumed as scratch space."""
        if self.momentum == 0.0:
            for p, g in zip(params, grads, strict=True):
                g *= lr  # theta <- theta - eta grad C, without a temporary array
                p -= g
            return
        if self._velocity is None:
            self._velocity = [np.zeros_like(p) for p in params]
        for p, g, v in zip(params, grads, self._velocity, strict=True):
            v *= self.momentum  # v <- gamma v + eta grad C
            g *= lr
            v += g
            p -= v  # theta <- theta - v


def fit(
    net: MLP,
    x: np.ndarray,
    y: np.ndarray,
    *,
    epochs: int,
    lr: float,
    batch_size: int | None = None,
    momentum: float = 0.0,
    decay: float = 0.0,
    seed: int = 0,
    evaluate: bool = True,
    on_epoch: Callable[[int, MLP], None] | None = None,
) -> History:
    """Train ``net`` in place by gradient descent and return its :class:`History`.

    Args:
        batch_size: ``None`` for batch GD (all instances), 1 for stochastic GD, B for
            mini-batches of B.
        evaluate: record the cost on the whole training set after each epoch (one extra
            forward pass); ``False`` records the mean of the batch costs instead.
        on_epoch: called as ``on_epoch(epoch, net)`` after each epoch.
    """
    if int(epochs) != epochs or epochs < 1:
        raise ConfigError(f"epochs: expected a positive integer, got {epochs}")
    x, y = net.check_data(x, y)
    n = len(x)
    if batch_size is None:
        batch_size = n
    if int(batch_size) != batch_size or batch_size < 1:
        raise ConfigError(
            f"batch_size: expected None (whole set) or an integer >= 1, got {batch_size}"
        )
    optimizer = GradientDescent(lr=lr, momentum=momentum, decay=decay)
    rng = np.random.default_rng(seed)
    params = net.parameters()
    history = History()
    for epoch in range(epochs):
        eta = optimizer.learning_rate(epoch)
        order = rng.permutation(n) if batch_size < n else None
        batch_costs = []
        for start in range(0, n, batch_size):
            if order is None:
                xb, yb = x, y
            else:
                idx = order[start : start + batch_size]
                xb, yb = x[idx], y[idx]  # (B, n_0), (B, n_L)
            cache = net.forward(xb, checked=True)  # data checked once above
            if not evaluate:
                batch_costs.append(net.cost(cache, yb))
            optimizer.step(params, net.backward(cache, yb).as_list(), lr=eta)
        history.loss.append(
            net.cost(net.forward(x, checked=True), y) if evaluate else float(np.mean(batch_costs))
        )
        history.lr.append(eta)
        if on_epoch is not None:
            on_epoch(epoch, net)
    return history
