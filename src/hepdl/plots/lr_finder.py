"""The figure of ``hepdl lr-find``: the smoothed training loss of the learning-rate range
test against the learning rate, with the suggested rate marked.

Drawn in the HEP style of :mod:`hepdl.plots._style`, written atomically; returns the path.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.metrics.checks import check_same_length
from hepdl.plots._style import SIGNAL_COLOR, check_path, hep_style, new_figure, save_figure

__all__ = ["plot_lr_find"]


def plot_lr_find(
    lrs: Any,
    losses: Any,
    *,
    suggestion: float | None,
    path: str | os.PathLike[str],
    warmup: int = 11,
    valley: tuple[float, float] | None = None,
) -> Path:
    """Smoothed loss ``losses`` (S,) against the learning rates ``lrs`` (S,), log x axis.

    The first ``warmup`` points, where the smoothing's bias correction still lags (the loss
    seems to rise there), are drawn dotted in grey; ``valley`` (the learning rates where
    the longest descent of the loss starts and ends, see hepdl.train.lr_finder.valley) is
    shaded; ``suggestion`` (or None) is marked at the swept rate nearest to it, and the
    lowest loss with a cross (the rate not to pick: just before divergence). NaN losses
    (steps without a loss) leave gaps.
    """
    lr = np.asarray(lrs, dtype=np.float64)  # (S,)
    loss = np.asarray(losses, dtype=np.float64)  # (S,)
    if lr.ndim != 1 or not len(lr):
        raise DataError("lrs: expected a non-empty 1-D array of learning rates")
    check_same_length(lrs=lr, losses=loss)
    if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 1:
        raise DataError(f"warmup: expected a whole number of points >= 1, got {warmup!r}")
    out = check_path(path)
    with hep_style():
        fig, (ax,) = new_figure(figsize=(10, 8))
        early = min(warmup, len(lr))
        ax.plot(lr[:early], loss[:early], ls=":", lw=2, color="0.6", label="Smoothing warm-up")
        ax.plot(lr[early - 1 :], loss[early - 1 :], lw=2, label="Smoothed training loss")
        if valley is not None:
            ax.axvspan(*valley, color=SIGNAL_COLOR, alpha=0.1, label="Longest descent (valley)")
        if np.isfinite(loss[early - 1 :]).any():
            low = (
                early
                - 1
                + int(np.nanargmin(np.where(np.isfinite(loss), loss, np.nan)[early - 1 :]))
            )
            ax.plot([lr[low]], [loss[low]], "x", ms=12, mew=3, color="0.3", label="Lowest loss")
        if suggestion is not None:
            at = int(np.argmin(np.abs(lr - suggestion)))
            ax.plot(
                [lr[at]],
                [loss[at]],
                "o",
                ms=10,
                color=SIGNAL_COLOR,
                label=f"Suggested lr = {suggestion:.2e}",
            )
        ax.set_xscale("log")
        ax.set_xlabel("Learning rate")
        ax.set_ylabel("Loss")
        ax.legend(loc="best")
        return save_figure(fig, out)
