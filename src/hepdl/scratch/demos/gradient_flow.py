r"""Vanishing and exploding gradients: how fast each layer of a deep network learns.

By (BP2), delta^l = ((w^{l+1})^T delta^{l+1}) (.) sigma'(z^l), so going down one layer
multiplies the error by a weight matrix and by sigma'. For a sigmoid sigma' <= 1/4, and
with weights of variance ~1/n the error shrinks by about that factor per layer: the first
layers of a deep sigmoid network barely learn (vanishing gradients). A ReLU passes the
error of the active half unchanged, and He's variance 2/n restores the lost half, so the
error keeps its size; with variance sigma_w^2 / n and sigma_w^2 > 2 it grows by
sigma_w^2 / 2 per layer in squared norm (exploding gradients).

The speed of learning of layer l is measured as ||dC/db^l|| = ||sum_x delta^l_x|| (BP3),
at initialisation, on one batch of random inputs with random targets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepdl.errors import ConfigError
from hepdl.scratch.demos._figures import drawing
from hepdl.scratch.network import MLP

__all__ = [
    "NETWORKS",
    "GradientFlowResult",
    "layer_gradient_norms",
    "plot_vanishing_gradients",
    "vanishing_gradients_demo",
]

NETWORKS: dict[str, dict[str, str | float]] = {
    "sigmoid, Xavier": {"hidden": "sigmoid", "init": "xavier"},
    r"ReLU, He ($\sigma_w^2 = 2$)": {"hidden": "relu", "init": "he"},
    r"ReLU, $\sigma_w^2 = 4$": {"hidden": "relu", "init": "gaussian", "sigma_w": 2.0},
}
"""The deep networks compared: vanishing, stable and exploding."""


def layer_gradient_norms(net: MLP, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """||dC/db^l|| for l = 1..L, the speed at which each layer's biases learn. ``(L,)``."""
    _, grads = net.loss_and_gradients(x, y)
    return np.array([np.linalg.norm(g) for g in grads.biases])


@dataclass
class GradientFlowResult:
    depth: int  # hidden layers
    width: int
    norms: dict[str, np.ndarray]  # network label -> ||dC/db^l||, l = 1..depth+1

    def ratio(self, label: str) -> float:
        """||dC/db^1|| / ||dC/db^depth||: first over last hidden layer."""
        norms = self.norms[label]
        return float(norms[0] / norms[self.depth - 1])


def vanishing_gradients_demo(
    *, depth: int = 15, width: int = 50, batch: int = 100, seed: int = 0
) -> GradientFlowResult:
    """Gradient norm per layer for ``depth`` hidden layers of ``width`` units, for each of
    :data:`NETWORKS`, with a linear output and the MSE cost."""
    if depth < 2:
        raise ConfigError(f"depth: expected at least 2 hidden layers, got {depth}")
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, width))
    y = rng.normal(size=(batch, 1))
    sizes = [width] * (depth + 1) + [1]
    norms = {
        label: layer_gradient_norms(MLP(sizes, output="linear", seed=seed, **options), x, y)
        for label, options in NETWORKS.items()
    }
    return GradientFlowResult(depth, width, norms)


def plot_vanishing_gradients(result: GradientFlowResult, path: str | os.PathLike[str]) -> Path:
    """||dC/db^l|| against the layer l, log scale, one line per network."""
    with drawing(path) as (ax,):
        layers = np.arange(1, result.depth + 1)
        for label, norms in result.norms.items():
            ax.plot(layers, norms[: result.depth], marker="o", label=label)
        ax.set_yscale("log")
        ax.set_xlabel("hidden layer $l$ (1: next to the input)")
        ax.set_ylabel(r"$\|\partial C / \partial b^l\|$")
        ax.set_title(f"{result.depth} x {result.width} units, at initialisation", fontsize="medium")
        ax.legend()
    return Path(path)
