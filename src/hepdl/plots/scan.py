"""The figure of ``hepdl scan`` over a grid: one annotated cell per point of its first two
keys, coloured by the test metric.

Numeric keys whose values span a decade or more get a log axis (cell edges at the
geometric midpoints); other keys are drawn as evenly spaced categories. Drawn in the HEP
style of :mod:`hepdl.plots._style`, written atomically; returns the path.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.plots._style import check_path, hep_style, new_figure, save_figure

__all__ = ["heatmap_order", "plot_heatmap"]


def _numeric(values: Sequence[Any]) -> bool:
    return len(values) > 1 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def heatmap_order(values: Sequence[Any]) -> list[Any]:
    """The order of an axis of :func:`plot_heatmap`: numbers rising, other values as given."""
    return sorted(values) if _numeric(values) else list(values)


def _axis(values: Sequence[Any]) -> tuple[np.ndarray, np.ndarray, str]:
    """Cell centres (V,), cell edges (V + 1,) and the scale of values in heatmap_order."""
    if not _numeric(values):
        centres = np.arange(len(values), dtype=np.float64)
        return centres, np.arange(len(values) + 1) - 0.5, "linear"
    x = np.asarray(values, dtype=np.float64)  # (V,)
    log = x[0] > 0 and x[-1] / x[0] >= 10
    t = np.log10(x) if log else x
    inner = (t[1:] + t[:-1]) / 2  # midpoints between neighbouring values
    edges = np.concatenate([[2 * t[0] - inner[0]], inner, [2 * t[-1] - inner[-1]]])
    return x, (10**edges if log else edges), ("log" if log else "linear")


def plot_heatmap(
    z: Any,
    notes: Sequence[Sequence[str]],
    *,
    x_values: Sequence[Any],
    y_values: Sequence[Any],
    x_ticks: Sequence[str],
    y_ticks: Sequence[str],
    x_label: str,
    y_label: str,
    colorbar_label: str,
    title: str,
    path: str | os.PathLike[str],
) -> Path:
    """Cells ``z`` (Y, X) (NaN: grey, no value) annotated with ``notes`` (Y rows of X
    texts) over the values of two keys, each in :func:`heatmap_order` and named on the
    axis by ``x_ticks`` / ``y_ticks``; dark cells get white text."""
    values = np.asarray(z, dtype=np.float64)
    shape = (len(y_values), len(x_values))
    if values.shape != shape or [len(row) for row in notes] != [shape[1]] * shape[0]:
        raise DataError(
            f"z and notes: expected {shape[0]} x {shape[1]} cells (y values by x values), "
            f"got {values.shape} and {len(notes)} rows of notes"
        )
    if len(x_ticks) != shape[1] or len(y_ticks) != shape[0]:
        raise DataError("x_ticks, y_ticks: expected one tick text per value of each axis")
    out = check_path(path)
    x_centres, x_edges, x_scale = _axis(x_values)
    y_centres, y_edges, y_scale = _axis(y_values)
    with hep_style():
        fig, (ax,) = new_figure(figsize=(1.8 * shape[1] + 3, 1.3 * shape[0] + 2.5))
        ax.set_facecolor("0.85")  # failed and missing cells: grey
        mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(values), cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=colorbar_label)
        finite = values[np.isfinite(values)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for i, y in enumerate(y_centres):
            for j, x in enumerate(x_centres):
                dark = np.isfinite(values[i, j]) and values[i, j] < middle
                color = "white" if dark else "black"
                ax.text(x, y, notes[i][j], ha="center", va="center", fontsize=12, color=color)
        _ticks(ax, "x", x_centres, x_scale, x_ticks, x_label)
        _ticks(ax, "y", y_centres, y_scale, y_ticks, y_label)
        ax.set_title(title, fontsize=11)
        return save_figure(fig, out)


def _ticks(ax: Any, which: str, centres: Any, scale: str, names: Sequence[str], label: str) -> None:
    from matplotlib.ticker import NullLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    getattr(ax, f"set_{which}scale")(scale)
    axis.set_minor_locator(NullLocator())
    getattr(ax, f"set_{which}ticks")(centres, list(names))
    getattr(ax, f"set_{which}label")(label)
