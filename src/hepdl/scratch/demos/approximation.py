r"""Universal approximation: one hidden layer of ReLUs fitting a function of one variable.

The network 1 -> H -> 1 computes

    f(x) = sum_j v_j max(0, w_j x + b_j) + c,

a sum of ramps. Each ramp bends at w_j x + b_j = 0, so f is piecewise linear with at most
H kinks, at x_j = -b_j / w_j. More units, more kinks: with enough of them the polygon
follows any continuous function on an interval as closely as wanted.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepdl.errors import DataError
from hepdl.scratch.demos._figures import drawing
from hepdl.scratch.network import MLP
from hepdl.scratch.optimizers import History, fit

__all__ = ["ApproximationResult", "approximation_demo", "kinks", "plot_approximation"]


def default_target(x: np.ndarray) -> np.ndarray:
    """sin(2x) + 0.3 x: curved, with turning points and a trend."""
    return np.sin(2.0 * x) + 0.3 * x


def kinks(net: MLP) -> np.ndarray:
    """x_j = -b_j / w_j of every hidden unit of a 1 -> H -> 1 network (w_j != 0), sorted."""
    if len(net.sizes) != 3 or net.sizes[0] != 1:
        raise DataError(f"net: expected a 1 -> H -> 1 network, got sizes {net.sizes}")
    w, b = net.weights[0][:, 0], net.biases[0]  # (H,), (H,)
    moving = w != 0
    return np.sort(-b[moving] / w[moving])


@dataclass
class ApproximationResult:
    x: np.ndarray  # (N,) training points
    target: np.ndarray  # (N,) f(x)
    net: MLP
    history: History
    rms_error: float  # sqrt(mean (net(x) - f(x))^2) on the training points
    kinks: np.ndarray  # sorted -b_j / w_j


def approximation_demo(
    *,
    hidden: int = 30,
    function: Callable[[np.ndarray], np.ndarray] = default_target,
    x_range: tuple[float, float] = (-3.0, 3.0),
    n_points: int = 200,
    epochs: int = 4000,
    lr: float = 0.02,
    momentum: float = 0.9,
    seed: int = 0,
) -> ApproximationResult:
    """Fit ``function`` on ``x_range`` with a 1 -> ``hidden`` -> 1 ReLU network.

    The weights start Gaussian with sigma_w = sigma_b = 2, which scatters the initial kinks
    -b/w over the interval (with b = 0 they would all sit at x = 0); batch gradient
    descent with momentum then moves them to where the function bends.
    """
    lo, hi = x_range
    if not lo < hi:
        raise DataError(f"x_range: expected (low, high) with low < high, got {x_range}")
    x = np.linspace(lo, hi, n_points)
    target = np.asarray(function(x), dtype=np.float64)
    if target.shape != x.shape or not np.isfinite(target).all():
        raise DataError(f"function: expected finite values of shape {x.shape}, got {target.shape}")
    net = MLP(
        [1, hidden, 1],
        hidden="relu",
        output="linear",
        loss="mse",
        init="gaussian",
        sigma_w=2.0,
        sigma_b=2.0,
        seed=seed,
    )
    history = fit(net, x[:, None], target, epochs=epochs, lr=lr, momentum=momentum, seed=seed)
    rms = float(np.sqrt(np.mean((net.predict(x[:, None])[:, 0] - target) ** 2)))
    return ApproximationResult(x, target, net, history, rms, kinks(net))


def plot_approximation(result: ApproximationResult, path: str | os.PathLike[str]) -> Path:
    """The function, the network and its kinks x = -b/w (dotted) inside the interval."""
    with drawing(path) as (ax,):
        ax.plot(result.x, result.target, color="k", lw=3, label="target $f(x)$")
        fine = np.linspace(result.x[0], result.x[-1], 2000)
        ax.plot(
            fine,
            result.net.predict(fine[:, None])[:, 0],
            color="#e42536",
            label=f"ReLU network, {result.net.sizes[1]} units",
        )
        inside = result.kinks[(result.kinks > result.x[0]) & (result.kinks < result.x[-1])]
        for i, k in enumerate(inside):
            ax.axvline(k, color="0.5", ls=":", lw=1, label="kinks $x = -b/w$" if i == 0 else None)
        ax.set_xlabel("$x$")
        ax.set_ylabel("$f(x)$")
        ax.set_title(f"rms error {result.rms_error:.3f}")
        ax.legend()
    return Path(path)
