"""heatmap.png: a scan's metric over its first two grid keys, one annotated cell per point
(drawn by :func:`hepdl.plots.scan.plot_heatmap`). With more than two keys, a cell shows
the best point over the others; failed points read FAIL on a grey cell."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.train._scan_report import ScanRow
from hepdl.train._scan_space import yaml_text


def plot_heatmap(
    rows: Sequence[ScanRow],
    *,
    keys: Sequence[str],
    metric: str,
    direction: str,
    path: Path,
    target: float | None = None,
) -> Path:
    """Mean ``metric`` per cell (annotated mean ± std, FAIL for failed points) over
    ``keys[0]`` (x) and ``keys[1]`` (y; a single row with one key). The best point of a
    cell is the highest (``direction`` "maximize") or lowest mean, or with ``target`` the
    one nearest to it."""
    from hepdl.plots.scan import heatmap_order
    from hepdl.plots.scan import plot_heatmap as draw

    x_key, y_key = keys[0], (keys[1] if len(keys) > 1 else None)
    xs = heatmap_order(_distinct(rows, x_key))
    ys = heatmap_order(_distinct(rows, y_key)) if y_key else [None]
    z = np.full((len(ys), len(xs)), np.nan)  # (Y, X) mean of the best point per cell
    notes = [["" for _ in xs] for _ in ys]
    better = _better(direction, target)
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
    others = [k for k in keys if k not in (x_key, y_key)]
    best = f", best over {', '.join(others)}" if others else ""
    return draw(
        z,
        notes,
        x_values=xs,
        y_values=ys,
        x_ticks=[yaml_text(v) for v in xs],
        y_ticks=[yaml_text(v) for v in ys] if y_key else [""],  # a one-key grid: one row
        x_label=x_key,
        y_label=y_key or "",
        colorbar_label=metric,
        title=f"{metric} (validation, chooses), mean ± std over seeds{best}",
        path=path,
    )


def _better(direction: str, target: float | None) -> Any:
    """The better of two means: max, min, or the nearer to ``target``."""
    if target is None:
        return max if direction == "maximize" else min
    return lambda a, b: min(a, b, key=lambda v: abs(v - target))


def _distinct(rows: Sequence[ScanRow], key: str) -> list[Any]:
    seen: dict[str, Any] = {}
    for row in rows:
        seen.setdefault(yaml_text(row.values.get(key)), row.values.get(key))
    return list(seen.values())


def _index(values: Sequence[Any], value: Any) -> int:
    return [yaml_text(v) for v in values].index(yaml_text(value))
