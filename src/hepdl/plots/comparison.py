r"""Figures of ``hepdl compare`` and ``ensemble``: the ROC curves of several classifiers,
each a median and a band over the runs (seeds) of one group.

The regression counterpart, response and resolution curves of several runs overlaid, is
:func:`hepdl.plots.regression.plot_response_resolution`. Every function draws in the HEP
style of :mod:`hepdl.plots._style`, writes the figure atomically, leaves no figure open and
returns the path written.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np

from hepdl.errors import DataError
from hepdl.plots._style import check_path, hep_style, new_figure, save_figure

__all__ = ["plot_roc_bands"]


def plot_roc_bands(
    bands: Mapping[str, Any],
    *,
    eps_s: Any,
    path: str | os.PathLike[str],
    title: str | None = None,
) -> Path:
    r"""One median ROC and its min-max band per group: :math:`1/\varepsilon_B` (log)
    against :math:`\varepsilon_S`, with the random classifier dashed.

    ``bands`` is ``{label: (3, G) array}``: the median, minimum and maximum over runs of
    the rejection at each signal efficiency of ``eps_s`` (G,), or ``(5, G)`` with the
    binomial interval's low and high end below them (:func:`hepdl.metrics.uncertainty.
    rejection_band`), drawn as a lighter band. Infinite values (a curve resting on fewer
    than one background event) are not drawn, nor is an infinite upper end of the band
    above the top of the axes. Up to 20 groups get distinct colours.
    """
    grid = np.asarray(eps_s, dtype=np.float64)  # (G,)
    if grid.ndim != 1 or not len(grid) or grid.min() <= 0:
        raise DataError("eps_s: expected a 1-D grid of signal efficiencies > 0")
    if not isinstance(bands, Mapping) or not bands:
        raise DataError("bands: expected a dict {label: (median, low, high)} with a curve")
    curves = {str(label): np.asarray(band, dtype=np.float64) for label, band in bands.items()}
    for label, band in curves.items():
        if band.shape not in ((3, len(grid)), (5, len(grid))):
            raise DataError(
                f"bands[{label!r}]: expected shape (3, {len(grid)}) (median, low, high on the "
                f"grid) or (5, {len(grid)}) (then the binomial low and high), got {band.shape}"
            )
    out = check_path(path)
    with hep_style():
        fig, (ax,) = new_figure(figsize=(15, 10))
        # tab20: a distinct colour for each of up to 20 groups (the default cycle repeats
        # after 10, and a landscape has more taggers than that).
        colors = matplotlib.colormaps["tab20"].colors
        top = 10.0
        for i, (label, (median, low, high, *binomial)) in enumerate(curves.items()):
            shown = np.isfinite(high) & np.isfinite(median)  # inf: nothing left to draw
            color = colors[(2 * i) % 20 + (2 * i) // 20 % 2]  # dark shades first
            ax.plot(grid[shown], median[shown], lw=2, color=color, label=label)
            ax.fill_between(grid[shown], low[shown], high[shown], color=color, alpha=0.25)
            if binomial:  # the statistical interval of the test set, around the runs' spread
                stat_low, stat_high = binomial
                ax.fill_between(
                    grid[shown], stat_low[shown], np.minimum(stat_high[shown], 1e12),
                    color=color, alpha=0.12, lw=0,
                )  # fmt: skip
            if shown.any():
                top = max(top, float(high[shown].max()))
        ax.plot(grid, 1.0 / grid, ls="--", color="0.4", label="Random classifier")
        if any(len(band) == 5 for band in curves.values()):
            ax.plot([], [], " ", label="dark: min-max over runs; light: 68% CL (binomial);\n"
                    "cut where < 1 background event")  # fmt: skip
        ax.set_yscale("log")
        ax.set_xlim(0.0, 1.0)
        ax.set_ylim(1.0, 10 ** math.ceil(math.log10(top) + 0.3))
        ax.set_xlabel(r"Signal efficiency $\varepsilon_S$")
        ax.set_ylabel(r"Background rejection $1/\varepsilon_B$")
        ax.grid(True, which="major")
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize="small")
        if title:
            ax.set_title(title)
        return save_figure(fig, out)
