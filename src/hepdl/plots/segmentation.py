r"""Figures for judging a per-pixel segmentation of calorimeter images: example showers
(cell energies, true signal fraction, predicted signal probability side by side) and the
signal energy recovered per shower after removing the cells called pile-up.

Every function draws in the HEP style of :mod:`hepdl.plots._style`, writes the figure
atomically, creates the parent directory, leaves no figure open and returns the path.
The numbers drawn are those of :mod:`hepdl.metrics.segmentation`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.colors import LogNorm

from hepdl.errors import DataError
from hepdl.metrics.checks import check_scores
from hepdl.plots._style import check_path, hep_style, new_figure, save_figure

__all__ = ["plot_recovered_energy", "plot_segmentation_examples"]


def plot_segmentation_examples(
    energy: Any, truth: Any, predicted: Any, *, path: str | os.PathLike[str]
) -> Path:
    """One row per example image: the cell energies (GeV, log colour scale; cells <= 0
    blank), the true signal fraction and the predicted signal probability, each (K, H, W)
    with the same K >= 1. The outline of the cells truly dominated by the signal (fraction
    > 0.5) is drawn on the prediction."""
    e, t, p = (np.asarray(a, dtype=np.float64) for a in (energy, truth, predicted))
    if e.ndim != 3 or not e.shape == t.shape == p.shape or len(e) == 0:
        raise DataError(
            f"plot_segmentation_examples: energy {e.shape}, truth {t.shape} and prediction "
            f"{p.shape} must be the same (K, H, W) with K >= 1"
        )
    out = check_path(path)
    rows = len(e)
    with hep_style():
        fig, _ = new_figure(ncols=0, figsize=(15, 4.6 * rows))
        axes = fig.subplots(rows, 3, squeeze=False)
        positive = e[e > 0]
        low = max(float(positive.min()) if positive.size else 1e-3, 1e-3)
        high = max(float(e.max()), low * 10)
        for k in range(rows):
            shown = np.where(e[k] > 0, e[k], np.nan)
            panels = (
                (shown, "cell energy [GeV]", {"norm": LogNorm(low, high), "cmap": "viridis"}),
                (t[k], "true signal fraction", {"vmin": 0, "vmax": 1, "cmap": "magma"}),
                (p[k], "predicted P(signal)", {"vmin": 0, "vmax": 1, "cmap": "magma"}),
            )
            for ax, (values, label, style) in zip(axes[k], panels, strict=True):
                image = ax.imshow(values, origin="lower", interpolation="nearest", **style)
                fig.colorbar(image, ax=ax, label=label, fraction=0.046)
                ax.set_xlabel("i-phi")
                ax.set_ylabel("i-eta")
            axes[k][2].contour(t[k] > 0.5, levels=[0.5], colors="cyan", linewidths=1.0)
        return save_figure(fig, out)


def plot_recovered_energy(
    ratios: Mapping[str, Any], *, path: str | os.PathLike[str], bins: int = 60
) -> Path:
    r"""Histograms of the recovered signal energy per shower, :math:`\sum_{kept} E / S`,
    one per method (``{label: (N,) array}``), normalised to unit area, with the mean and
    its standard error in the legend and a dashed line at 1 (everything recovered,
    nothing of the pile-up kept). The range spans the 0.5-99.5 % quantiles of all."""
    if not isinstance(ratios, Mapping) or not ratios:
        raise DataError("ratios: expected a non-empty dict {label: array}")
    arrays = {
        str(label): check_scores(values, name=f"ratios[{str(label)!r}]")
        for label, values in ratios.items()
    }
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
        raise DataError(f"bins: expected a positive integer, got {bins!r}")
    out = check_path(path)
    every = np.concatenate(list(arrays.values()))
    lo, hi = np.percentile(every, [0.5, 99.5])
    lo, hi = (lo - 0.05, hi + 0.05) if hi <= lo else (lo, hi)
    edges = np.linspace(min(lo, 0.9), max(hi, 1.1), bins + 1)
    with hep_style():
        fig, (ax,) = new_figure(figsize=(10, 9))
        top = 0.0
        for label, r in arrays.items():
            counts, _ = np.histogram(r, bins=edges)
            density = counts / (len(r) * np.diff(edges))
            error = r.std(ddof=1) / np.sqrt(len(r)) if len(r) > 1 else float("nan")
            ax.stairs(density, edges, lw=2, label=f"{label}: {r.mean():.3f} $\\pm$ {error:.3f}")
            top = max(top, float(density.max()))
        ax.axvline(1.0, ls="--", lw=1.5, color="0.4")
        ax.set_xlim(edges[0], edges[-1])
        ax.set_ylim(0.0, top * 1.4 if top > 0 else 1.0)
        ax.set_xlabel(r"kept cell energy / true signal energy")
        ax.set_ylabel("Normalised to unit area")
        ax.legend(loc="upper left", fontsize="x-small", title="mean $\\pm$ error")
        return save_figure(fig, out)
