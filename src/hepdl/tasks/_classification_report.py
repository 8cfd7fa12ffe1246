"""A classifier's judgement on the test rows: metrics.json (AUC, rejections, SIC),
predictions.npz (the signal scores ``hepdl compare`` and ``ensemble`` redraw) and the
figures (ROC, score distributions with the training rows overlaid, history)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hepdl.atomic import write_json, write_npz

PREDICTIONS_FILE = "predictions.npz"


def save_predictions(out_dir: Path, *, labels: np.ndarray, scores: np.ndarray) -> Path:
    """Write ``predictions.npz`` (labels (N,): 1 signal, 0 background; scores (N,))
    atomically into ``out_dir``."""
    return write_npz(
        Path(out_dir) / PREDICTIONS_FILE,
        labels=np.asarray(labels, dtype=np.int8),
        scores=np.asarray(scores),
    )


def signal_scores(prob: np.ndarray, *, signal_class: int) -> np.ndarray:
    """Discriminant (N,): P(signal). A single sigmoid unit gives P(class 1)."""
    if prob.shape[1] == 1:
        return prob[:, 0] if signal_class == 1 else 1.0 - prob[:, 0]
    return prob[:, signal_class]


def write_evaluation(
    out_dir: Path,
    *,
    labels: np.ndarray,
    scores: np.ndarray,
    signal_class: int,
    class_names: list[str],
    signal_efficiencies: list[float],
    plots: bool,
    train: tuple[np.ndarray, np.ndarray] | None = None,
    history: dict[str, list[float]] | None = None,
    extra: dict[str, Any] | None = None,
    bootstrap: int = 200,
) -> dict[str, Any]:
    """Metrics of the test scores in ``metrics.json`` (with ``uncertainties``: a stratified
    bootstrap of ``bootstrap`` resamples, 0 for none, and the binomial intervals) and, with
    ``plots``, roc.png (with the binomial band), scores.png (train overlaid on test: the
    overfitting check) and history.png."""
    from hepdl.metrics import classification_summary
    from hepdl.metrics.uncertainty import classification_uncertainties

    is_signal = (labels == signal_class).astype(np.int64)
    metrics = classification_summary(is_signal, scores, signal_efficiencies=signal_efficiencies)
    metrics["uncertainties"] = classification_uncertainties(
        is_signal, scores, signal_efficiencies=signal_efficiencies, n_resamples=bootstrap
    )
    metrics = {**(extra or {}), "signal_class": class_names[signal_class], **metrics}
    out_dir.mkdir(parents=True, exist_ok=True)
    # The test scores, so `hepdl compare` can redraw and band ROC curves across runs.
    save_predictions(out_dir, labels=is_signal, scores=scores)
    if plots:
        from hepdl.plots import plot_roc, plot_score_distributions, plot_training_history

        plot_roc(
            {f"test (AUC = {auc_cell(metrics)})": roc_with_band(is_signal, scores)},
            path=out_dir / "roc.png",
        )
        background = [n for i, n in enumerate(class_names) if i != signal_class]
        names = ("/".join(background), class_names[signal_class])
        if train is not None:
            train_labels, train_scores = train
            plot_score_distributions(
                train_scores=train_scores,
                train_labels=(train_labels == signal_class).astype(np.int64),
                test_scores=scores,
                test_labels=is_signal,
                path=out_dir / "scores.png",
                class_names=names,
            )
        if history:
            plot_training_history(history, path=out_dir / "history.png")
    # Last: a run or evaluation with metrics.json is complete (a full disk before it
    # leaves none, so a resume does not take the unfinished one for finished).
    write_json(out_dir / "metrics.json", metrics)
    return metrics


def roc_with_band(is_signal: np.ndarray, scores: np.ndarray) -> dict[str, np.ndarray]:
    """plot_roc's curve of the test scores: every ROC point (P,) and the 68% binomial band
    of its rejection (each point rests on k >= 1 background events)."""
    from hepdl.metrics import roc_curve
    from hepdl.metrics.uncertainty import clopper_pearson

    eps_b, eps_s, _ = roc_curve(is_signal, scores)
    n_bkg = int((is_signal == 0).sum())
    k = np.rint(eps_b * n_bkg)  # (P,) raw background events selected: the ROC is unweighted
    eps_low, eps_high = clopper_pearson(k, n_bkg)
    with np.errstate(divide="ignore"):
        band = np.stack([1.0 / eps_high, np.where(eps_low > 0, 1.0 / eps_low, np.inf)])
    return {"eps_s": eps_s, "eps_b": eps_b, "band": band}


def auc_cell(metrics: dict[str, Any]) -> str:
    """``0.9123 ± 0.0021`` (the bootstrap std), or without the error when none."""
    std = (metrics.get("uncertainties") or {}).get("auc", {}).get("std")
    return f"{metrics['auc']:.4f}" + (f" ± {std:.4f}" if std is not None else "")


def _number(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def rejection_cell(metrics: dict[str, Any], key: str) -> str:
    """The printed rejection ``key`` with the background events it rests on: ``"> 181 (0
    bkg events)"`` when none passes (or fewer than one, between ROC points),
    ``"2600 (+900 -700, 2 bkg)"`` with the 68% Clopper-Pearson interval otherwise."""
    value = metrics.get(key)
    info = (metrics.get("uncertainties") or {}).get(key)
    n_bkg = metrics.get("n_background", "?")
    if info is None:  # a run saved before hepdl recorded uncertainties
        return f"{value:.1f}" if value is not None else f"> {n_bkg}"
    k = info["n_bkg_selected"]
    if value is None or k == 0:  # the 68% lower bound: 0 of N_B passing excludes less
        return f"> {_number(info['binomial_low'])} (0 bkg events of {n_bkg}, 68% CL)"
    high = info["binomial_high"]
    up = f"+{_number(high - value)}" if high is not None else "+inf"
    return f"{_number(value)} ({up} -{_number(value - info['binomial_low'])}, {k} bkg)"
