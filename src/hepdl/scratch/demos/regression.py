r"""Linear and logistic regression: the one-layer networks of the lectures.

Linear regression is the network ``1 -> 1`` with a linear output and the cost
C = 1/(2N) sum_i (w x_i + b - y_i)^2. Its minimum has a closed form, the normal equation

    (X^T X) theta = X^T y,      X = [x, 1] (N, 2),  theta = (w, b),

against which batch, stochastic and mini-batch gradient descent are compared.

Logistic regression is the network ``2 -> 1`` with a sigmoid output and binary
cross-entropy: p(y = 1 | x) = sigma(w . x + b), and the decision boundary p = 1/2 is the
straight line w . x + b = 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepdl.errors import DataError
from hepdl.scratch.demos._figures import drawing
from hepdl.scratch.network import MLP
from hepdl.scratch.optimizers import History, fit

__all__ = [
    "GD_VARIANTS",
    "LinearRegressionResult",
    "LogisticRegressionResult",
    "linear_regression_demo",
    "logistic_regression_demo",
    "normal_equation",
    "plot_linear_regression",
    "plot_logistic_regression",
]

GD_VARIANTS: dict[str, dict[str, float | int | None]] = {
    # name: batch size, learning rate, decay. Stochastic steps are noisy: a smaller eta
    # that decays lets them settle; the whole-batch gradient allows a large step.
    "batch": {"batch_size": None, "lr": 0.5, "decay": 0.0},
    "stochastic": {"batch_size": 1, "lr": 0.02, "decay": 0.2},
    "mini-batch": {"batch_size": 16, "lr": 0.1, "decay": 0.0},
}
"""The three gradient-descent variants of the linear-regression demo."""


def normal_equation(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """theta = (w_1..w_d, b) minimising sum_i (w . x_i + b - y_i)^2: ``x (N, d)``, ``y (N,)``.

    Solves (X^T X) theta = X^T y with X = [x, 1] directly, as written in the lectures.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.shape != (len(x),):
        raise DataError(f"x, y: expected shapes (N, d) and (N,), got {x.shape} and {y.shape}")
    design = np.hstack([x, np.ones((len(x), 1))])  # X = [x, 1] (N, d+1)
    gram = design.T @ design
    if np.linalg.matrix_rank(gram) < gram.shape[0]:
        raise DataError("x: X^T X is singular (constant or collinear inputs); no unique fit")
    return np.linalg.solve(gram, design.T @ y)


@dataclass
class LinearRegressionResult:
    x: np.ndarray  # (N, 1)
    y: np.ndarray  # (N,)
    theta_normal: np.ndarray  # (w, b) from the normal equation
    cost_normal: float  # its cost, the minimum of C
    histories: dict[str, History]  # cost after each epoch, per variant
    thetas: dict[str, np.ndarray]  # (w, b) after training, per variant


def linear_regression_demo(
    *, n_samples: int = 200, epochs: int = 40, noise: float = 0.5, seed: int = 0
) -> LinearRegressionResult:
    """Fit y = 1.5 x - 0.7 + noise by the normal equation and by the three GD variants.

    Every variant starts from the same weights and runs ``epochs`` passes over the data:
    batch GD takes one step per epoch, mini-batch GD ``ceil(N/16)`` and stochastic GD ``N``.
    """
    if n_samples < 3:
        raise DataError(f"n_samples: expected at least 3 points for a line fit, got {n_samples}")
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, size=(n_samples, 1))
    y = 1.5 * x[:, 0] - 0.7 + noise * rng.normal(size=n_samples)
    theta = normal_equation(x, y)
    cost_normal = 0.5 * float(np.mean((x @ theta[:1] + theta[1] - y) ** 2))
    start = MLP([1, 1], output="linear", loss="mse", init="gaussian", seed=seed)
    histories, thetas = {}, {}
    for name, options in GD_VARIANTS.items():
        net = start.copy()
        histories[name] = fit(net, x, y, epochs=epochs, seed=seed, **options)
        thetas[name] = np.array([net.weights[0][0, 0], net.biases[0][0]])
    return LinearRegressionResult(x, y, theta, cost_normal, histories, thetas)


def plot_linear_regression(result: LinearRegressionResult, path: str | os.PathLike[str]) -> Path:
    """Left: excess cost C - C_min per epoch (log scale). Right: data and fitted lines."""
    with drawing(path, ncols=2) as (cost_ax, fit_ax):
        for name, history in result.histories.items():
            excess = np.maximum(np.array(history.loss) - result.cost_normal, 1e-16)
            cost_ax.plot(np.arange(1, len(excess) + 1), excess, label=f"{name} GD")
        cost_ax.set_yscale("log")
        cost_ax.set_xlabel("epoch")
        cost_ax.set_ylabel(r"$C - C_{\mathrm{normal\ eq.}}$")
        cost_ax.legend()
        fit_ax.scatter(result.x[:, 0], result.y, s=6, color="0.6", label="data")
        grid = np.linspace(result.x.min(), result.x.max(), 2)
        w, b = result.theta_normal
        fit_ax.plot(grid, w * grid + b, color="k", lw=3, label="normal equation")
        for name, (w, b) in result.thetas.items():
            fit_ax.plot(grid, w * grid + b, ls="--", label=f"{name} GD")
        fit_ax.set_xlabel("$x$")
        fit_ax.set_ylabel("$y$")
        fit_ax.legend()
    return Path(path)


@dataclass
class LogisticRegressionResult:
    x: np.ndarray  # (N, 2)
    labels: np.ndarray  # (N,) 0 or 1
    weights: np.ndarray  # (2,) w
    bias: float  # b; the boundary is w . x + b = 0
    history: History
    accuracy: float  # on the training points


def logistic_regression_demo(
    *, n_per_class: int = 200, epochs: int = 2000, lr: float = 1.0, seed: int = 0
) -> LogisticRegressionResult:
    """Two overlapping Gaussian classes in 2-D, centred at (-1, -0.5) and (1, 0.5), fitted
    by batch gradient descent on the binary cross-entropy (no regularisation)."""
    if n_per_class < 2:
        raise DataError(f"n_per_class: expected at least 2 points per class, got {n_per_class}")
    rng = np.random.default_rng(seed)
    centres = np.array([[-1.0, -0.5], [1.0, 0.5]])
    labels = np.repeat([0, 1], n_per_class)
    x = centres[labels] + rng.normal(size=(2 * n_per_class, 2))
    net = MLP([2, 1], output="sigmoid", loss="bce", init="gaussian", seed=seed)
    history = fit(net, x, labels.astype(float), epochs=epochs, lr=lr, seed=seed)
    w, b = net.weights[0][0].copy(), float(net.biases[0][0])
    accuracy = float(np.mean((x @ w + b > 0) == labels))  # p > 1/2  <=>  w . x + b > 0
    return LogisticRegressionResult(x, labels, w, b, history, accuracy)


def plot_logistic_regression(
    result: LogisticRegressionResult, path: str | os.PathLike[str]
) -> Path:
    """The two classes, p(y = 1 | x) as colour, and the boundary w . x + b = 0."""
    with drawing(path, figsize=(8.5, 6.5)) as (ax,):
        lo, hi = result.x.min(axis=0) - 0.5, result.x.max(axis=0) + 0.5
        gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
        logit = result.weights[0] * gx + result.weights[1] * gy + result.bias
        shade = ax.contourf(
            gx, gy, 1.0 / (1.0 + np.exp(-logit)), levels=20, cmap="RdBu_r", alpha=0.45
        )
        ax.figure.colorbar(shade, ax=ax, label=r"$p(y=1\,|\,x) = \sigma(w\cdot x + b)$")
        ax.contour(gx, gy, logit, levels=[0.0], colors="k", linewidths=2)
        for label, color in ((0, "#5790fc"), (1, "#e42536")):
            sel = result.labels == label
            ax.scatter(
                *result.x[sel].T,
                s=14,
                color=color,
                edgecolor="k",
                lw=0.4,
                marker="o^"[label],
                label=f"class {label}",
            )
        ax.set_xlabel("$x_1$")
        ax.set_ylabel("$x_2$")
        ax.set_title(
            f"boundary $w\\cdot x + b = 0$, accuracy {result.accuracy:.3f}", fontsize="medium"
        )
        ax.legend(loc="upper left")
    return Path(path)
