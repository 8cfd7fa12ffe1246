"""Judging a classifier: scores, metrics.json and the plots physicists expect."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hepdl.errors import DataError
from hepdl.train.artifacts import load_trained, write_json


@torch.no_grad()
def predict_probabilities(
    model: Any, features: np.ndarray | Mapping[str, np.ndarray], *, batch_size: int = 8192
) -> np.ndarray:
    """Class probabilities (N, K) of features (N, F) or of named inputs (each (N, ...)), in
    eval mode, batch by batch."""
    from hepdl.models.inputs import forward

    model.eval()
    named = features if isinstance(features, Mapping) else {"features": features}
    if "tree" in named:  # clustering trees: batches of whole jets, not slices of nodes
        from hepdl.train._tree_batches import tree_batches

        batches = tree_batches(named["tree"], batch_size=batch_size)
        chunks = [model.probabilities(forward(model, batch)) for batch in batches]
        return torch.cat(chunks).double().numpy()
    tensors = {
        k: (t.float() if t.is_floating_point() else t)
        for k, t in ((k, torch.as_tensor(v)) for k, v in named.items())
    }
    n = len(next(iter(tensors.values())))
    chunks = []
    with torch.no_grad():
        for i in range(0, n, batch_size):
            batch = {k: t[i : i + batch_size] for k, t in tensors.items()}
            chunks.append(model.probabilities(forward(model, batch)))
    return torch.cat(chunks).double().numpy()


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
    from hepdl.train.compare import save_predictions

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


def evaluate_run(run_dir: Path, data_files: list[str], *, out_dir: Path | None = None) -> dict:
    """Evaluate a finished run on other files; writes into ``run_dir/evaluations/<name>``."""
    from hepdl.data.scaling import Standardizer
    from hepdl.train.inputs import load_sample

    run_dir = Path(run_dir)
    from hepdl.train.classical import classical_scores, is_classical_run, load_classical

    classical = is_classical_run(run_dir)
    config, model, prep = load_classical(run_dir) if classical else load_trained(run_dir)
    files = [str(Path(f).resolve()) for f in data_files]
    data = config.data.model_copy(update={"classes": prep.class_names})
    # The representation saved at training, never the config's: same inputs, same meaning.
    sample = load_sample(data, files=files, representation=prep.representation)
    if sample.class_names != prep.class_names:
        raise DataError(
            f"{sample.source}: classes {sample.class_names} differ from the trained "
            f"classes {prep.class_names}"
        )
    if list(sample.feature_names) != list(prep.feature_names):
        raise DataError(
            f"{sample.source}: gives {len(sample.feature_names)} features "
            f"{list(sample.feature_names)}, but run {run_dir} was trained on "
            f"{len(prep.feature_names)}: {list(prep.feature_names)}"
        )
    from hepdl.models.inputs import model_inputs

    inputs = dict(sample.inputs)
    if prep.standardizer is not None:
        inputs["features"] = Standardizer.from_dict(prep.standardizer).transform(inputs["features"])
    if classical:  # a scikit-learn baseline on flat features (N, F)
        scores = classical_scores(model, inputs["features"], signal_class=prep.signal_class)
    else:
        inputs = model_inputs(model, inputs, source=sample.source)
        scores = signal_scores(predict_probabilities(model, inputs), signal_class=prep.signal_class)
    out_dir = out_dir or run_dir / "evaluations" / Path(files[0]).stem
    return write_evaluation(
        out_dir,
        labels=sample.labels,
        scores=scores,
        signal_class=prep.signal_class,
        class_names=prep.class_names,
        signal_efficiencies=config.evaluate.signal_efficiencies,
        plots=config.evaluate.plots,
        extra={"data": sample.source, "n_jets": len(scores)},
    )
