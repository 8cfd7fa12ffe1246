"""Figures of the field, drawn with matplotlib in the mplhep HEP style.

Importing this package changes no global matplotlib state: the style is applied inside
each function (see :func:`hep_style`), figures are drawn on an Agg canvas without pyplot,
and each function writes its file atomically and returns the path.
"""

from __future__ import annotations

from hepdl.plots._style import hep_style, save_figure
from hepdl.plots.classification import (
    plot_roc,
    plot_score_distributions,
    plot_training_history,
)
from hepdl.plots.comparison import plot_roc_bands
from hepdl.plots.learning_curve import plot_learning_curve
from hepdl.plots.lr_finder import plot_lr_find
from hepdl.plots.regression import (
    plot_predicted_vs_true,
    plot_pulls,
    plot_ratio_distribution,
    plot_response_resolution,
)

__all__ = [
    "hep_style",
    "plot_learning_curve",
    "plot_lr_find",
    "plot_predicted_vs_true",
    "plot_pulls",
    "plot_ratio_distribution",
    "plot_response_resolution",
    "plot_roc",
    "plot_roc_bands",
    "plot_score_distributions",
    "plot_training_history",
    "save_figure",
]
