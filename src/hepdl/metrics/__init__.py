"""Metrics of the field as pure functions on NumPy arrays (no torch, no matplotlib).

Binary classification (labels 1 = signal, 0 = background; higher score = more signal-like):
:func:`roc_curve`, :func:`roc_auc`, :func:`accuracy`, :func:`binary_accuracy`,
:func:`background_rejection`, :func:`false_positive_rate`, :func:`max_significance_improvement`,
:func:`classification_summary`, and :func:`one_vs_rest_scores` for multiclass outputs.

Regression (``pred`` against ``true``; see :mod:`hepdl.metrics.regression`):
:func:`response`, :func:`resolution_iqr`, :func:`relative_resolution`,
:func:`gaussian_core_fit`, :func:`bias`, :func:`rmse`, :func:`mae`, :func:`pulls`,
:func:`pull_summary`, :func:`quantile_coverage`, :func:`binned_response` and
:func:`regression_summary`; calorimeter resolutions fitted as a/sqrt(E) (+) b/E (+) c:
:func:`binned_resolution`, :func:`fit_resolution`, :func:`fit_binned_resolution`
(:mod:`hepdl.metrics.resolution_fit`).

Segmentation (per-pixel truth; :mod:`hepdl.metrics.segmentation`): IoU per class and
energy-weighted, pixel accuracy.

Generated against simulated samples (the CaloChallenge; :mod:`hepdl.metrics.generative`):
:func:`separation_power`, :func:`wasserstein_1`, :func:`feature_distances` (with the
truth-vs-truth floor), :func:`classifier_test` (AUC of a classifier told to separate them)
and :func:`shower_metrics`; for jets the JetNet metrics (:mod:`hepdl.metrics.jetnet`):
:func:`w1m`, :func:`w1p`, :func:`w1efp`, :func:`fpd`, :func:`kpd`, :func:`jetnet_metrics`.
"""

from __future__ import annotations

from hepdl.lazy_exports import lazy_exports

# Each name is imported on first use: importing hepdl.metrics loads nothing.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hepdl.metrics.classification": [
            "accuracy",
            "background_rejection",
            "binary_accuracy",
            "classification_summary",
            "false_positive_rate",
            "max_significance_improvement",
            "one_vs_rest_scores",
            "roc_auc",
            "roc_curve",
        ],
        "hepdl.metrics.regression": [
            "bias",
            "binned_response",
            "gaussian_core_fit",
            "mae",
            "pull_summary",
            "pulls",
            "quantile_coverage",
            "ratio",
            "regression_summary",
            "relative_resolution",
            "resolution_iqr",
            "response",
            "rmse",
        ],
        "hepdl.metrics.resolution_fit": [
            "binned_resolution",
            "fit_binned_resolution",
            "fit_resolution",
        ],
        "hepdl.metrics.generative": [
            "classifier_test",
            "feature_distances",
            "separation_power",
            "shower_metrics",
            "wasserstein_1",
        ],
        "hepdl.metrics.jetnet": ["fpd", "jetnet_metrics", "kpd", "w1efp", "w1m", "w1p"],
    },
)
