"""The printed table's rejections say how many background events they rest on."""

from __future__ import annotations

import numpy as np

from hepdl.metrics import classification_summary
from hepdl.metrics.uncertainty import classification_uncertainties
from hepdl.tasks.classify import ClassificationTask


def _metrics(y: np.ndarray, s: np.ndarray, effs=(0.3, 0.95)) -> dict:
    metrics = classification_summary(y, s, signal_efficiencies=effs)
    metrics["uncertainties"] = classification_uncertainties(
        y, s, signal_efficiencies=effs, n_resamples=20
    )
    return metrics


def test_rows_name_the_background_events_behind_each_rejection():
    rng = np.random.default_rng(0)
    y = np.r_[np.ones(1000, dtype=int), np.zeros(181, dtype=int)]
    s = 1 / (1 + np.exp(-np.r_[rng.normal(4.0, 1.0, 1000), rng.normal(0.0, 1.0, 181)]))
    metrics = _metrics(y, s)
    _, rows = ClassificationTask.summary(metrics)
    shown = dict(rows)
    auc_std = metrics["uncertainties"]["auc"]["std"]
    assert shown["ROC AUC"] == f"{metrics['auc']:.4f} ± {auc_std:.4f}"
    # eps_S = 0.3: no background passes; only the 68% lower bound, 1/(1 - 0.15865^(1/181)).
    assert shown["1/eps_B at eps_S = 0.3"] == "> 98.8 (0 bkg events of 181, 68% CL)"
    info = metrics["uncertainties"]["rejection_at_eps_s_0.95"]
    k, value = info["n_bkg_selected"], metrics["rejection_at_eps_s_0.95"]
    assert k >= 1
    up, down = info["binomial_high"] - value, value - info["binomial_low"]
    fmt = lambda v: f"{v:.3g}" if v < 100 else f"{v:.0f}"  # noqa: E731
    assert shown["1/eps_B at eps_S = 0.95"] == f"{fmt(value)} (+{fmt(up)} -{fmt(down)}, {k} bkg)"


def test_rows_of_a_run_saved_before_uncertainties():
    metrics = {"auc": 0.9, "accuracy": 0.8, "rejection_at_eps_s_0.3": None, "n_background": 50}
    shown = dict(ClassificationTask.summary(metrics)[1])
    assert shown["ROC AUC"] == "0.9000" and shown["1/eps_B at eps_S = 0.3"] == "> 50"
