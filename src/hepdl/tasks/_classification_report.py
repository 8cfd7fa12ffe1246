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
) -> dict[str, Any]:
    """Metrics of the test scores in ``metrics.json`` and, with ``plots``, roc.png,
    scores.png (train overlaid on test: the overfitting check) and history.png."""
    from hepdl.metrics import classification_summary, roc_curve

    is_signal = (labels == signal_class).astype(np.int64)
    metrics = classification_summary(is_signal, scores, signal_efficiencies=signal_efficiencies)
    metrics = {**(extra or {}), "signal_class": class_names[signal_class], **metrics}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_json(out_dir / "metrics.json", metrics)
    # The test scores, so `hepdl compare` can redraw and band ROC curves across runs.
    save_predictions(out_dir, labels=is_signal, scores=scores)
    if plots:
        from hepdl.plots import plot_roc, plot_score_distributions, plot_training_history

        eps_b, eps_s, _ = roc_curve(is_signal, scores)
        plot_roc({f"test (AUC = {metrics['auc']:.3f})": (eps_s, eps_b)}, path=out_dir / "roc.png")
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
    return metrics
