"""Figures of the field, drawn with matplotlib in the mplhep HEP style.

Importing this package changes no global matplotlib state: the style is applied inside
each function (see :func:`hep_style`), figures are drawn on an Agg canvas without pyplot,
and each function writes its file atomically and returns the path.
"""

from __future__ import annotations

from hepdl.lazy_exports import lazy_exports

# Each name is imported on first use: importing hepdl.plots loads no matplotlib.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hepdl.plots._style": ["hep_style", "save_figure"],
        "hepdl.plots.classification": [
            "plot_roc",
            "plot_score_distributions",
            "plot_training_history",
        ],
        "hepdl.plots.comparison": ["plot_roc_bands"],
        "hepdl.plots.generative": ["average_showers", "feature_histograms"],
        "hepdl.plots.learning_curve": ["plot_learning_curve"],
        "hepdl.plots.lr_finder": ["plot_lr_find"],
        "hepdl.plots.regression": [
            "plot_predicted_vs_true",
            "plot_pulls",
            "plot_ratio_distribution",
            "plot_response_resolution",
        ],
    },
)
