"""heatmap.png: a scan's metric over its first two grid keys, one annotated cell per point.

Numeric keys whose values span a decade or more get a log axis (cell edges at the
geometric midpoints); other keys are drawn as evenly spaced categories. With more than two
keys, a cell shows the best point over the others.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.train._scan_report import ScanRow
from hepdl.train._scan_space import yaml_text


def _numeric(values: Sequence[Any]) -> bool:
    return len(values) > 1 and all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in values
    )


def _axis(values: Sequence[Any]) -> tuple[list[Any], np.ndarray, np.ndarray, str]:
    """Sorted values, cell centres (V,), cell edges (V + 1,) and the axis scale."""
    if not _numeric(values):
        centres = np.arange(len(values), dtype=np.float64)
        return list(values), centres, np.arange(len(values) + 1) - 0.5, "linear"
    ordered = sorted(values)
    x = np.asarray(ordered, dtype=np.float64)  # (V,)
    log = x[0] > 0 and x[-1] / x[0] >= 10
    t = np.log10(x) if log else x
    inner = (t[1:] + t[:-1]) / 2  # midpoints between neighbouring values
    edges = np.concatenate([[2 * t[0] - inner[0]], inner, [2 * t[-1] - inner[-1]]])
    return ordered, x, (10**edges if log else edges), ("log" if log else "linear")


def plot_heatmap(
    rows: Sequence[ScanRow],
    *,
    keys: Sequence[str],
    metric: str,
    direction: str,
    path: Path,
) -> Path:
    """Mean ``metric`` per cell (annotated mean ± std, FAIL for failed points) over
    ``keys[0]`` (x) and ``keys[1]`` (y; a single row with one key)."""
    from hepdl.plots._style import hep_style, new_figure, save_figure

    x_key, y_key = keys[0], (keys[1] if len(keys) > 1 else None)
    xs, x_centres, x_edges, x_scale = _axis(_distinct(rows, x_key))
    ys, y_centres, y_edges, y_scale = _axis(_distinct(rows, y_key) if y_key else [None])
    z = np.full((len(ys), len(xs)), np.nan)  # (Y, X) mean of the best point per cell
    notes = [["" for _ in xs] for _ in ys]
    better = max if direction == "maximize" else min
    for row in rows:
        i, j = _index(ys, row.values.get(y_key) if y_key else None), _index(xs, row.values[x_key])
        mean = row.mean(metric)
        if mean is None:
            notes[i][j] = notes[i][j] or ("FAIL" if row.errors else "n/a")
            continue
        if math.isnan(z[i, j]) or better(mean, z[i, j]) == mean:
            z[i, j] = mean
            std = row.std(metric)
            spread = "" if std is None or math.isnan(std) else f"\n± {std:.3f}"
            notes[i][j] = f"{mean:.3f}{spread}"
    with hep_style():
        fig, (ax,) = new_figure(figsize=(1.8 * len(xs) + 3, 1.3 * len(ys) + 2.5))
        ax.set_facecolor("0.85")  # failed and missing cells: grey
        mesh = ax.pcolormesh(x_edges, y_edges, np.ma.masked_invalid(z), cmap="viridis")
        fig.colorbar(mesh, ax=ax, label=metric)
        finite = z[np.isfinite(z)]
        middle = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for i, y in enumerate(y_centres):
            for j, x in enumerate(x_centres):
                dark = np.isfinite(z[i, j]) and z[i, j] < middle  # white text on dark cells
                color = "white" if dark else "black"
                ax.text(x, y, notes[i][j], ha="center", va="center", fontsize=12, color=color)
        _ticks(ax, "x", xs, x_centres, x_scale, x_key)
        _ticks(ax, "y", ys, y_centres, y_scale, y_key or "")
        others = [k for k in keys if k not in (x_key, y_key)]
        best = f", best over {', '.join(others)}" if others else ""
        ax.set_title(f"test {metric}, mean ± std over seeds{best}", fontsize=11)
        return save_figure(fig, path)


def _distinct(rows: Sequence[ScanRow], key: str) -> list[Any]:
    seen: dict[str, Any] = {}
    for row in rows:
        seen.setdefault(yaml_text(row.values.get(key)), row.values.get(key))
    return list(seen.values())


def _index(values: Sequence[Any], value: Any) -> int:
    return [yaml_text(v) for v in values].index(yaml_text(value))


def _ticks(ax: Any, which: str, values: list[Any], centres: Any, scale: str, label: str) -> None:
    from matplotlib.ticker import NullLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    getattr(ax, f"set_{which}scale")(scale)
    axis.set_minor_locator(NullLocator())
    names = [yaml_text(v) for v in values] if label else [""] * len(values)  # one-key grid
    getattr(ax, f"set_{which}ticks")(centres, names)
    getattr(ax, f"set_{which}label")(label)
