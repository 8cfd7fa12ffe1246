"""Metrics of the field as pure functions on NumPy arrays (no torch, no matplotlib).

Binary classification (labels 1 = signal, 0 = background; higher score = more signal-like):
:func:`roc_curve`, :func:`roc_auc`, :func:`accuracy`, :func:`binary_accuracy`,
:func:`background_rejection`, :func:`max_significance_improvement`,
:func:`classification_summary`, and :func:`one_vs_rest_scores` for multiclass outputs.
"""

from __future__ import annotations

from hepdl.metrics.classification import (
    accuracy,
    background_rejection,
    binary_accuracy,
    classification_summary,
    max_significance_improvement,
    one_vs_rest_scores,
    roc_auc,
    roc_curve,
)

__all__ = [
    "accuracy",
    "background_rejection",
    "binary_accuracy",
    "classification_summary",
    "max_significance_improvement",
    "one_vs_rest_scores",
    "roc_auc",
    "roc_curve",
]
