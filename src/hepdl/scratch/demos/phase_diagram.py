r"""Order and chaos in a deep tanh network: the trainability phase diagram.

With weights w_ij ~ N(0, sigma_w^2 / N) and biases b_i ~ N(0, sigma_b^2) in every layer of
width N, mean-field theory (Poole et al. 2016, Schoenholz et al. 2017) follows the variance
q^l of the weighted inputs,

    q^l = sigma_w^2 E_z[tanh(sqrt(q^{l-1}) z)^2] + sigma_b^2,       z ~ N(0, 1),

to its fixed point q*, and the factor by which a backpropagated error grows per layer,

    chi_1 = sigma_w^2 E_z[tanh'(sqrt(q*) z)^2]        (E ||delta^l||^2 = chi_1 E ||delta^{l+1}||^2).

chi_1 < 1 is the ordered phase (gradients vanish with depth, nearby inputs converge),
chi_1 > 1 the chaotic phase (gradients explode, nearby inputs decorrelate); at
sigma_b^2 = 0 the boundary is sigma_w^2 = 1. Signals cross ~1/|ln chi_1| layers, so only
near the boundary can a deep network be trained (Schoenholz et al.: depth L up to about
6 / |ln chi_1|).

:func:`phase_diagram` measures chi_1 on actual networks of :class:`hepdl.scratch.MLP`:
the slope of ln ||delta^l||^2 against l from one backward pass.
:func:`hepdl.scratch.demos.trainability.trainability` trains such networks across the
grid, and :func:`plot_phase_diagram` draws their training loss beside chi_1, both on the
mean-field boundary (Schoenholz et al.'s figure, Bahri et al. 2020).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hepdl.errors import ConfigError
from hepdl.scratch.demos._figures import drawing
from hepdl.scratch.demos._grid import variance_grid
from hepdl.scratch.demos.trainability import CHANCE_LOSS, Trainability
from hepdl.scratch.network import MLP

__all__ = ["PhaseDiagram", "mean_field_chi", "measured_chi", "phase_diagram", "plot_phase_diagram"]

# Gauss-Hermite nodes for E_z[f(z)], z ~ N(0, 1): exact for polynomials of degree < 2*101.
_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(101)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def mean_field_chi(
    sigma_w2: np.ndarray | float, sigma_b2: np.ndarray | float, *, iterations: int = 2000
) -> tuple[np.ndarray, np.ndarray]:
    """``(q*, chi_1)`` of a deep tanh network, element-wise over broadcast arrays.

    q* is reached by iterating the variance map from q = 1; at sigma_b^2 = 0 and
    sigma_w^2 <= 1 it is 0 and chi_1 = sigma_w^2 exactly.
    """
    sw2, sb2 = np.broadcast_arrays(np.asarray(sigma_w2, float), np.asarray(sigma_b2, float))
    if (sw2 < 0).any() or (sb2 < 0).any():
        raise ConfigError("sigma_w2, sigma_b2: expected variances >= 0")
    q = np.ones(sw2.size)
    w2, b2 = sw2.ravel(), sb2.ravel()
    moving = np.arange(q.size)
    # Most points reach q* in tens of iterations; near sigma_w^2 = 1, sigma_b^2 = 0 the
    # approach is algebraic (q ~ 1/l), so only the points still moving are iterated.
    for _ in range(iterations):
        u = np.sqrt(q[moving])[:, None] * _NODES  # (moving, nodes)
        new = w2[moving] * (np.tanh(u) ** 2 @ _WEIGHTS) + b2[moving]
        still = np.abs(new - q[moving]) > 1e-14
        q[moving] = new
        moving = moving[still]
        if moving.size == 0:
            break
    q = q.reshape(sw2.shape)
    u = np.sqrt(q)[..., None] * _NODES
    chi = sw2 * ((1.0 - np.tanh(u) ** 2) ** 2 @ _WEIGHTS)
    return q, chi


def measured_chi(
    sigma_w2: float,
    sigma_b2: float,
    *,
    depth: int = 40,
    width: int = 100,
    batch: int = 16,
    seed: int = 0,
) -> float:
    """chi_1 of one random tanh network: exp(-slope) of ln ||delta^l||^2 against l.

    The first quarter of the layers is left out of the fit: there the variance of the
    weighted inputs is still moving from that of the inputs to q*.
    """
    net = MLP(
        [width] * (depth + 1),
        hidden="tanh",
        output="tanh",
        loss="mse",
        init="gaussian",
        sigma_w=float(np.sqrt(sigma_w2)),
        sigma_b=float(np.sqrt(sigma_b2)),
        seed=seed,
    )
    rng = np.random.default_rng(seed + 1)
    x, y = rng.normal(size=(batch, width)), rng.normal(size=(batch, width))
    _, grads = net.loss_and_gradients(x, y)
    log_norms = np.array([np.log(np.einsum("bj,bj->", d, d)) for d in grads.deltas])  # (L,)
    layers = np.arange(1, depth + 1)
    first = depth // 4
    slope = np.polyfit(layers[first:], log_norms[first:], 1)[0]
    return float(np.exp(-slope))


@dataclass
class PhaseDiagram:
    sigma_w2: np.ndarray  # (n_w,)
    sigma_b2: np.ndarray  # (n_b,)
    measured: np.ndarray  # (n_b, n_w) chi_1 measured on networks
    theory: np.ndarray  # (n_b, n_w) chi_1 of mean-field theory
    depth: int
    width: int


def phase_diagram(
    *,
    sigma_w2: np.ndarray | None = None,
    sigma_b2: np.ndarray | None = None,
    depth: int = 40,
    width: int = 100,
    batch: int = 16,
    seed: int = 0,
) -> PhaseDiagram:
    """chi_1 measured and predicted on a grid (default sigma_w^2 in [0.25, 4], 16 values,
    sigma_b^2 in [0, 0.3], 7 values) for tanh networks of ``depth`` layers."""
    sw2, sb2 = variance_grid(sigma_w2, sigma_b2, n_w=16, n_b=7)
    if depth < 8:
        raise ConfigError(
            f"depth: expected at least 8 layers to measure a growth rate, got {depth}"
        )
    measured = np.array(
        [
            [measured_chi(w, b, depth=depth, width=width, batch=batch, seed=seed) for w in sw2]
            for b in sb2
        ]
    )
    _, theory = mean_field_chi(sw2[None, :], sb2[:, None])
    return PhaseDiagram(sw2, sb2, measured, theory, depth, width)


def _mean_field_lines(ax, sigma_w2: np.ndarray, sigma_b2: np.ndarray, depth: int) -> None:
    """Mean-field theory over the axes' grid: chi_1 = 1 (solid) and |ln chi_1| = 6/L,
    the depth scale that still trains (dashed)."""
    fine_w = np.linspace(sigma_w2[0], sigma_w2[-1], 120)
    fine_b = np.linspace(sigma_b2[0], sigma_b2[-1], 60)
    _, chi = mean_field_chi(fine_w[None, :], fine_b[:, None])  # (60, 120)
    ax.contour(fine_w, fine_b, np.log(chi), levels=[0.0], colors="k", linewidths=2)
    band = 6.0 / depth
    ax.contour(
        fine_w,
        fine_b,
        np.log(chi),
        levels=[-band, band],
        colors="k",
        linestyles="--",
        linewidths=1,
    )
    ax.set_xlabel(r"$\sigma_w^2$")
    ax.set_ylabel(r"$\sigma_b^2$")


def plot_phase_diagram(
    result: PhaseDiagram, path: str | os.PathLike[str], *, trained: Trainability | None = None
) -> Path:
    """ln chi_1 measured (colour), the boundary chi_1 = 1 and the band |ln chi_1| < 6/L
    of mean-field theory (lines); with ``trained``, a second panel: the training loss of
    networks across the grid on the same lines."""
    ncols = 1 if trained is None else 2
    with drawing(path, ncols=ncols, figsize=(8.0 * ncols, 6.5)) as axes:
        from matplotlib.colors import TwoSlopeNorm

        ax = axes[0]
        log_chi = np.log(result.measured)
        # White at chi_1 = 1, full colour at each extreme: the phases have different ranges.
        norm = TwoSlopeNorm(0.0, min(log_chi.min(), -1e-3), max(log_chi.max(), 1e-3))
        mesh = ax.pcolormesh(
            result.sigma_w2, result.sigma_b2, log_chi, cmap="RdBu_r", norm=norm, shading="nearest"
        )
        ax.figure.colorbar(mesh, ax=ax, label=r"measured $\ln \chi_1$ (per layer)")
        _mean_field_lines(ax, result.sigma_w2, result.sigma_b2, result.depth)
        ax.text(0.03, 0.5, "ordered:\nvanishing", transform=ax.transAxes, color="w")
        ax.text(0.97, 0.96, "chaotic:\nexploding", transform=ax.transAxes, ha="right", va="top")
        ax.set_title(
            f"tanh, {result.depth} x {result.width}; theory:\n"
            r"$\chi_1 = 1$ (solid), $|\ln\chi_1| = 6/L$ (dashed)",
            fontsize="small",
        )
        if trained is not None:
            _draw_trainability(axes[1], trained)
    return Path(path)


def _draw_trainability(ax, trained: Trainability) -> None:
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"].with_extremes(bad="#bdbdbd")
    loss = np.ma.masked_invalid(trained.loss)  # inf: diverged, drawn grey
    top = max(CHANCE_LOSS, float(loss.max()) if loss.count() else 0.0)
    mesh = ax.pcolormesh(
        trained.sigma_w2, trained.sigma_b2, loss, cmap=cmap, vmin=0.0, vmax=top, shading="nearest"
    )
    bar = ax.figure.colorbar(mesh, ax=ax, label=f"training loss after {trained.steps} steps")
    bar.ax.axhline(CHANCE_LOSS, color="w", linewidth=2)  # chance, on the colour scale
    _mean_field_lines(ax, trained.sigma_w2, trained.sigma_b2, trained.depth)
    ax.set_title(
        f"trained: tanh, {trained.depth} x {trained.width}, {trained.n_digits} digits\n"
        f"chance: ln 10 = {CHANCE_LOSS:.2f} (white mark); grey: diverged",
        fontsize="small",
    )
