"""Figures of generated against simulated samples: the average shower of every layer, and
the high-level feature histograms with generated / simulated ratio panels (the figures of
the CaloGAN paper and of the CaloChallenge evaluation)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from hepdl.errors import DataError
from hepdl.plots._style import check_path, hep_style, save_figure

SIMULATED, GENERATED, FLOOR = "simulated", "generated", "simulated (independent)"


def average_showers(
    reference_layers: Mapping[str, np.ndarray],
    generated_layers: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
) -> Path:
    """One row per sample (simulated, generated), one column per layer: the mean energy
    of every cell (GeV), on one logarithmic colour scale per layer."""
    out = check_path(path)
    names = list(reference_layers)
    if not names or set(names) != set(generated_layers):
        raise DataError(
            f"average_showers: the generated layers {sorted(generated_layers)} differ from "
            f"the simulated {sorted(reference_layers)}"
        )
    with hep_style():
        fig = Figure(figsize=(4.2 * len(names), 7), layout="constrained")
        FigureCanvasAgg(fig)
        axes = fig.subplots(2, len(names), squeeze=False)
        for column, name in enumerate(names):
            means = [np.asarray(s[name], np.float64).mean(axis=0) for s in
                     (reference_layers, generated_layers)]  # fmt: skip
            positive = np.concatenate([m[m > 0] for m in means])
            norm = None
            if len(positive):
                norm = LogNorm(vmin=max(positive.min(), positive.max() * 1e-5), vmax=positive.max())
            for row, (label, mean) in enumerate(zip((SIMULATED, GENERATED), means, strict=True)):
                ax = axes[row][column]
                shown = np.ma.masked_less_equal(mean, 0)
                image = ax.imshow(shown, origin="lower", aspect="auto", norm=norm, cmap="viridis")
                ax.set_title(f"{label}: {name}", fontsize=11)
                ax.set_xlabel("column")
                ax.set_ylabel("row")
            fig.colorbar(image, ax=axes[:, column].tolist(), label="mean cell energy [GeV]")
        return save_figure(fig, out)


def feature_histograms(
    reference: Mapping[str, np.ndarray],
    generated: Mapping[str, np.ndarray],
    path: str | os.PathLike[str],
    *,
    floor: Mapping[str, np.ndarray] | None = None,
    labels: Mapping[str, str] | None = None,
    bins: int = 40,
    columns: int = 4,
) -> Path:
    """A grid of normalised histograms, one per feature of ``reference``: simulated
    filled, generated (and an independent simulated sample, ``floor``) as steps, each with
    a ratio panel (sample / simulated) below it. Bins span the simulated 0.5-99.5 %."""
    from hepdl.physics.shower_features import feature_labels

    out = check_path(path)
    names = list(reference)
    missing = [n for n in names if n not in generated]
    if not names or missing:
        raise DataError(f"feature_histograms: the generated features lack {missing or 'all'}")
    labels = {**feature_labels(names), **(labels or {})} if _known(names) else dict(labels or {})
    rows = -(-len(names) // columns)
    with hep_style():
        fig = Figure(figsize=(4.0 * columns, 4.2 * rows), layout="constrained")
        FigureCanvasAgg(fig)
        grid = fig.add_gridspec(2 * rows, columns, height_ratios=[3, 1] * rows)
        for k, name in enumerate(names):
            r, c = divmod(k, columns)
            top = fig.add_subplot(grid[2 * r, c])
            bottom = fig.add_subplot(grid[2 * r + 1, c], sharex=top)
            ref = np.asarray(reference[name], np.float64)
            lo, hi = np.percentile(ref, [0.5, 99.5])
            if hi <= lo:
                lo, hi = lo - 0.5, hi + 0.5
            edges = np.linspace(lo, hi, bins + 1)
            h_ref, _ = np.histogram(np.clip(ref, lo, hi), edges, density=True)
            top.stairs(h_ref, edges, fill=True, alpha=0.35, color="grey", label=SIMULATED)
            samples = [(GENERATED, generated[name], "C0")]
            if floor is not None and name in floor:
                samples.append((FLOOR, floor[name], "C1"))
            for label, values, colour in samples:
                values = np.clip(np.asarray(values, np.float64), lo, hi)
                h, _ = np.histogram(values, edges, density=True)
                top.stairs(h, edges, color=colour, label=label, linewidth=1.5)
                with np.errstate(divide="ignore", invalid="ignore"):
                    ratio = np.where(h_ref > 0, h / h_ref, np.nan)
                bottom.stairs(ratio, edges, color=colour, baseline=None)
            bottom.axhline(1.0, color="grey", linewidth=1)
            bottom.set_ylim(0.5, 1.5)
            bottom.set_ylabel("ratio", fontsize=9)
            bottom.set_xlabel(labels.get(name, name), fontsize=10)
            top.tick_params(labelbottom=False)
            top.set_ylabel("density", fontsize=9)
            if k == 0:
                top.legend(fontsize=8)
        return save_figure(fig, out)


def _known(names: list[str]) -> bool:
    """Whether every name is a shower feature (``hepdl.physics.shower_features``)."""
    prefixes = ("e_", "centre_", "width_", "sparsity_")
    return all(n.startswith(prefixes) for n in names)
