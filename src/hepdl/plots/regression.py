r"""Figures for judging a regression: response and resolution, predicted against true,
the ratio predicted/true and the pulls.

Every function draws in the HEP style of :mod:`hepdl.plots._style`, writes the figure
atomically (temporary name, then rename), creates the parent directory, leaves no figure
open and returns the path written. The metrics drawn are those of
:mod:`hepdl.metrics.regression`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from hepdl.errors import DataError
from hepdl.metrics.checks import check_same_length, check_scores
from hepdl.plots._style import check_path, hep_style, new_figure, save_figure

__all__ = [
    "plot_predicted_vs_true",
    "plot_pulls",
    "plot_ratio_distribution",
    "plot_response_resolution",
]

RATIO_LABEL = "predicted / true"
_Z84 = 0.994457883209753  # the 84 % quantile of a unit Gaussian


def _number(value: Any, *, where: str) -> float | None:
    """A finite float, ``None`` for a missing value, or raise."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise DataError(f"{where}: expected a number or None, got {value!r}") from None
    if not math.isfinite(number):
        raise DataError(f"{where}: expected a finite number or None, got {value!r}")
    return number


def _check_bins(bins: Any) -> int:
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise DataError(f"bins: expected a positive number of bins, got {bins!r}")
    return int(bins)


# --- response and resolution -----------------------------------------------------------

_CURVE_KEYS = ("low", "high", "response", "relative_resolution")


def _curve_points(label: str, rows: Any) -> dict[str, np.ndarray]:
    """The drawable bins of one curve as arrays ``(K,)``: centre, half width, response,
    relative resolution and their errors (0 where absent). Bins with ``None`` are skipped."""
    where = f"curves[{label!r}]"
    if not isinstance(rows, Sequence) or isinstance(rows, str) or len(rows) == 0:
        got = "an empty list" if isinstance(rows, Sequence) else type(rows).__name__
        raise DataError(
            f"{where}: expected a non-empty list of bins as returned by binned_response, got {got}"
        )
    columns: dict[str, list[float]] = {
        k: [] for k in ("x", "dx", "response", "response_error", "res", "res_error")
    }
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise DataError(f"{where}[{i}]: expected a mapping, got {type(row).__name__}")
        missing = [k for k in _CURVE_KEYS if k not in row]
        if missing:
            raise DataError(f"{where}[{i}]: expected keys {list(_CURVE_KEYS)}, missing {missing}")
        low = _number(row["low"], where=f"{where}[{i}] low")
        high = _number(row["high"], where=f"{where}[{i}] high")
        if low is None or high is None or high < low:
            raise DataError(f"{where}[{i}]: expected low <= high, got {row['low']}, {row['high']}")
        resp = _number(row["response"], where=f"{where}[{i}] response")
        res = _number(row["relative_resolution"], where=f"{where}[{i}] relative_resolution")
        if resp is None or res is None:
            continue  # too few entries in the bin
        resp_err = _number(row.get("response_error"), where=f"{where}[{i}] response_error")
        res_err = _number(
            row.get("relative_resolution_error"), where=f"{where}[{i}] relative_resolution_error"
        )
        columns["x"].append(0.5 * (low + high))
        columns["dx"].append(0.5 * (high - low))
        columns["response"].append(resp)
        columns["response_error"].append(resp_err or 0.0)
        columns["res"].append(res)
        columns["res_error"].append(res_err or 0.0)
    return {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}


def _stacked_figure(figsize: tuple[float, float]):
    """A pyplot-free figure with two axes above each other sharing x, on an Agg canvas."""
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 1]})
    return fig, top, bottom


def plot_response_resolution(
    curves: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    path: str | os.PathLike[str],
    xlabel: str = "true value",
    title: str | None = None,
    log_x: bool = False,
) -> Path:
    r"""Response (top) and relative resolution (bottom) against the bin centre, one curve
    per estimate, e.g. the network against a baseline calibration.

    ``curves`` is ``{label: bins}`` with ``bins`` the list returned by
    :func:`hepdl.metrics.regression.binned_response` (or the ``binned`` entry of
    :func:`~hepdl.metrics.regression.regression_summary`): each bin a mapping with ``low``,
    ``high``, ``response`` and ``relative_resolution``, and optionally ``response_error``
    and ``relative_resolution_error`` (drawn as error bars). Horizontal bars span the bin.
    Bins with ``None`` values (too few entries) are skipped; a curve left with no bin
    says so in the legend. The dashed line marks a response of 1. ``log_x`` draws the bin
    centres on a log scale (for a steeply falling spectrum binned in :math:`p_T`).
    """
    if not isinstance(curves, Mapping):
        raise DataError(
            f"curves: expected a dict {{label: binned_response(...)}}, got {type(curves).__name__}"
        )
    if not curves:
        raise DataError("curves: expected at least one curve, got none")
    points = {str(label): _curve_points(str(label), rows) for label, rows in curves.items()}
    if not any(len(p["x"]) for p in points.values()):
        raise DataError(
            "curves: no bin has a response to draw (every value is None: too few entries per "
            "bin); use fewer bins or more events"
        )
    if log_x and any(len(p["x"]) and (p["x"] - p["dx"]).min() <= 0 for p in points.values()):
        raise DataError("log_x: expected positive bin edges for a log scale, found low <= 0")
    out = check_path(path)
    with hep_style():
        fig, top, bottom = _stacked_figure((10, 12))
        for label, p in points.items():
            text = label if len(p["x"]) else f"{label} (no bin with enough entries)"
            kwargs = {"fmt": "o-", "ms": 6, "lw": 2, "capsize": 0}
            line = top.errorbar(
                p["x"], p["response"], xerr=p["dx"], yerr=p["response_error"], label=text, **kwargs
            )
            color = line[0].get_color()
            bottom.errorbar(
                p["x"], p["res"], xerr=p["dx"], yerr=p["res_error"], color=color, **kwargs
            )
        top.axhline(1.0, ls="--", lw=1.5, color="0.4")
        top.set_ylabel("Response (median)")
        bottom.set_ylabel("Relative resolution")
        bottom.set_xlabel(xlabel)
        bottom.set_ylim(bottom=0.0)
        if log_x:
            bottom.set_xscale("log")
            bottom.xaxis.set_minor_formatter(NullFormatter())
        top.legend(loc="best", fontsize="small")
        if title:
            top.set_title(title)
        return save_figure(fig, out)


# --- predicted against true ------------------------------------------------------------


def _common_range(*arrays: np.ndarray, clip: float) -> tuple[float, float]:
    """The range holding all but ``clip`` percent at each end of every array."""
    lo = min(float(np.percentile(a, clip)) for a in arrays)
    hi = max(float(np.percentile(a, 100.0 - clip)) for a in arrays)
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def plot_predicted_vs_true(
    pred: Any,
    true: Any,
    *,
    path: str | os.PathLike[str],
    label: str = "target",
    bins: int = 80,
) -> Path:
    """Two-dimensional histogram of predicted against true value, log colour scale, with
    the diagonal (perfect prediction) dashed.

    Both axes share one range, from the 0.1 % to the 99.9 % quantile of both arrays, so a
    few outliers do not squeeze the picture; entries outside are not drawn. Axis labels
    read ``true {label}`` and ``predicted {label}``.
    """
    p = check_scores(pred, name="pred")
    t = check_scores(true, name="true")
    check_same_length(pred=p, true=t)
    n_bins = _check_bins(bins)
    out = check_path(path)
    lo, hi = _common_range(p, t, clip=0.1)
    edges = np.linspace(lo, hi, n_bins + 1)  # (bins + 1,)
    counts, _, _ = np.histogram2d(t, p, bins=(edges, edges))  # (bins, bins), [true, pred]
    with hep_style():
        fig, (ax,) = new_figure(figsize=(11, 10))
        shown = np.ma.masked_equal(counts.T, 0.0)  # rows = pred (y), columns = true (x)
        mesh = ax.pcolormesh(
            edges, edges, shown, norm=LogNorm(vmin=1.0, vmax=max(float(counts.max()), 1.0))
        )
        fig.colorbar(mesh, ax=ax, label="Entries")
        ax.plot([lo, hi], [lo, hi], ls="--", lw=1.5, color="0.3", label="predicted = true")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_xlabel(f"true {label}")
        ax.set_ylabel(f"predicted {label}")
        ax.legend(loc="upper left")
        return save_figure(fig, out)


# --- ratio distribution ----------------------------------------------------------------


def plot_ratio_distribution(
    ratios: Mapping[str, Any],
    *,
    path: str | os.PathLike[str],
    bins: int = 60,
    xlabel: str = RATIO_LABEL,
) -> Path:
    r"""Histograms of the ratio predicted/true, one per estimate, normalised to unit area,
    with the median and the relative resolution (half 16–84 % range over the median) in
    the legend and a dashed line at 1.

    ``ratios`` is ``{label: array}``. The range spans the 0.5 % to 99.5 % quantiles of all
    ratios; the normalisation counts every entry, so the part outside the range shows as
    missing area.
    """
    if not isinstance(ratios, Mapping):
        raise DataError(f"ratios: expected a dict {{label: array}}, got {type(ratios).__name__}")
    if not ratios:
        raise DataError("ratios: expected at least one array, got none")
    arrays = {
        str(label): check_scores(values, name=f"ratios[{str(label)!r}]")
        for label, values in ratios.items()
    }
    n_bins = _check_bins(bins)
    out = check_path(path)
    lo, hi = _common_range(*arrays.values(), clip=0.5)
    edges = np.linspace(lo, hi, n_bins + 1)  # (bins + 1,)
    with hep_style():
        fig, (ax,) = new_figure(figsize=(10, 9))
        top = 0.0
        for label, r in arrays.items():
            counts, _ = np.histogram(r, bins=edges)
            density = counts / (len(r) * np.diff(edges))
            median = float(np.median(r))
            q16, q84 = np.percentile(r, [16.0, 84.0])
            rel = (q84 - q16) / 2.0 / median if median != 0 else math.inf
            text = f"{label}: median {median:.3f}, rel. res. {rel:.3f}"
            ax.stairs(density, edges, lw=2, label=text)
            top = max(top, float(density.max()))
        ax.axvline(1.0, ls="--", lw=1.5, color="0.4")
        ax.set_xlim(lo, hi)
        ax.set_ylim(0.0, top * 1.35 if top > 0 else 1.0)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("Normalised to unit area")
        ax.legend(loc="upper left", fontsize="x-small")
        return save_figure(fig, out)


# --- pulls -----------------------------------------------------------------------------


def plot_pulls(
    pulls: Any,
    *,
    path: str | os.PathLike[str],
    bins: int = 50,
    limit: float = 5.0,
) -> Path:
    r"""Histogram of the pulls :math:`(\hat y - y)/\hat\sigma` in :math:`[-\mathrm{limit},
    \mathrm{limit}]` with the unit Gaussian (right uncertainties) overlaid.

    Normalised to unit area over all entries, so pulls beyond the limit show as missing
    area (their fraction is in the legend). The legend gives the mean, the standard
    deviation and the robust width (half the 16–84 % range / 0.9945). ``pulls`` is a 1-D
    array, e.g. :func:`hepdl.metrics.regression.pulls`.
    """
    values = check_scores(pulls, name="pulls")
    n_bins = _check_bins(bins)
    try:
        lim = float(limit)
    except (TypeError, ValueError):
        raise DataError(f"limit: expected a positive number, got {limit!r}") from None
    if not (lim > 0 and math.isfinite(lim)):
        raise DataError(f"limit: expected a positive number, got {limit!r}")
    out = check_path(path)
    edges = np.linspace(-lim, lim, n_bins + 1)  # (bins + 1,)
    counts, _ = np.histogram(values, bins=edges)
    norm = len(values) * np.diff(edges)
    density, error = counts / norm, np.sqrt(counts) / norm
    centers = 0.5 * (edges[1:] + edges[:-1])
    q16, q84 = np.percentile(values, [16.0, 84.0])
    outside = float(np.mean(np.abs(values) > lim))
    text = (
        f"pulls: mean {values.mean():.3f}, std {values.std():.3f}, "
        f"robust width {(q84 - q16) / 2.0 / _Z84:.3f}"
    )
    if outside > 0:
        text += f"\n{100.0 * outside:.2g} % beyond $\\pm${lim:g}"
    x = np.linspace(-lim, lim, 400)
    with hep_style():
        fig, (ax,) = new_figure(figsize=(10, 9))
        shown = counts > 0
        ax.errorbar(
            centers[shown], density[shown], yerr=error[shown], fmt="o", ms=5, color="k", label=text
        )
        ax.plot(x, np.exp(-0.5 * x**2) / math.sqrt(2 * math.pi), lw=2, label="unit Gaussian")
        ax.set_xlim(-lim, lim)
        ax.set_ylim(0.0, max(0.4, float((density + error).max())) * 1.35)
        ax.set_xlabel(r"Pull $(\hat{y} - y)/\hat{\sigma}$")
        ax.set_ylabel("Normalised to unit area")
        ax.legend(loc="upper left", fontsize="x-small")
        return save_figure(fig, out)
