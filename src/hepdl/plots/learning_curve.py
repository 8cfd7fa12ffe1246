"""The figure of ``hepdl learning-curve``: a test metric against the number of training
rows, the mean over seeds with a band of one standard deviation.

Drawn in the HEP style of :mod:`hepdl.plots._style`, written atomically; returns the path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.metrics.checks import check_same_length
from hepdl.plots._style import check_path, hep_style, new_figure, save_figure

__all__ = ["plot_learning_curve"]


def plot_learning_curve(
    sizes: Any, mean: Any, std: Any, *, metric: str, path: str | os.PathLike[str]
) -> Path:
    """``mean`` (P,) of ``metric`` with a band of ``std`` (P,; NaN: no band) around it,
    against the training rows ``sizes`` (P,) on a log x axis."""
    size = np.asarray(sizes, dtype=np.float64)  # (P,)
    centre = np.asarray(mean, dtype=np.float64)  # (P,)
    spread = np.nan_to_num(np.asarray(std, dtype=np.float64))  # one seed: no band
    if size.ndim != 1 or not len(size) or size.min() <= 0:
        raise DataError("sizes: expected a non-empty 1-D array of training rows > 0")
    check_same_length(sizes=size, mean=centre, std=spread)
    out = check_path(path)
    with hep_style():
        fig, (ax,) = new_figure()
        ax.plot(size, centre, marker="o", label=f"test {metric}, mean over seeds")
        ax.fill_between(
            size, centre - spread, centre + spread, alpha=0.3, label="±1 std over seeds"
        )
        ax.set_xscale("log")
        ax.set_xlabel("training rows")
        ax.set_ylabel(metric)
        ax.legend()
        return save_figure(fig, out)
