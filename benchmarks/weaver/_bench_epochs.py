"""Per-epoch records of benchmarks/bench_weaver_particlenet.py: each epoch's validation
accuracy (and hepdl's validation loss) and the test AUC of each epoch's weights.

The test AUC of every epoch is computed the same way for both sides, after training: the
epoch's weights in eval mode on hepdl's ``point_cloud`` test arrays (which equal weaver's
padded inputs, tests/test_bench_weaver_config.py). This lets the report compare both sides
at the same epoch and under the same best-epoch rule, not only under each tool's own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np


def hepdl_epoch_recorder() -> Any:
    """A Lightning callback keeping, per epoch, ``val_loss``, ``val_accuracy`` and a copy of
    the model's weights (in its ``epochs`` list). Lightning 2 runs the validation loop
    before ``on_train_epoch_end``, so the metrics belong to the weights copied."""
    import lightning as L

    class EpochRecorder(L.Callback):
        def __init__(self) -> None:
            self.epochs: list[dict[str, Any]] = []

        def on_train_epoch_end(self, trainer: Any, module: Any) -> None:
            metrics = trainer.callback_metrics
            self.epochs.append(
                {
                    "val_loss": float(metrics["val_loss"]),
                    "val_accuracy": float(metrics["val_accuracy"]),
                    "state": {k: v.detach().clone() for k, v in module.model.state_dict().items()},
                }
            )

    return EpochRecorder()


def record_weaver_validation(tools: Any) -> list[float]:
    """Wrap weaver's ``evaluate_classification`` so that each validation accuracy it returns
    during training (a float; the final test call returns a tuple) lands in the list."""
    accuracies: list[float] = []
    evaluate = tools.evaluate_classification

    def recorded(*a: Any, **kw: Any) -> Any:
        result = evaluate(*a, **kw)
        if not isinstance(result, tuple):
            accuracies.append(float(result))
        return result

    tools.evaluate_classification = recorded  # model_setup imports it at call time
    return accuracies


def epoch_test_aucs(
    model: Any,
    states: list[Mapping[str, Any]],
    score: Callable[[Any], np.ndarray],
    labels: np.ndarray,
) -> tuple[list[float], float]:
    """The test AUC of each epoch's weights: load ``states[e]`` into ``model``, score the
    test jets with ``score(model)`` (signal probability, (N,)); and the CPU seconds spent."""
    from sklearn.metrics import roc_auc_score

    start = time.process_time()
    aucs = []
    for state in states:
        model.load_state_dict(state)
        model.eval()
        aucs.append(float(roc_auc_score(labels, score(model))))
    return aucs, time.process_time() - start


def unscored(epochs: int) -> list[float]:
    """The per-epoch test AUCs of a run that did not score its epochs: NaN each."""
    return [float("nan")] * epochs


def weaver_scorer(points: np.ndarray, features: np.ndarray, mask: np.ndarray) -> Callable:
    """score(model) for weaver's ParticleNet on hepdl arrays: points (N, P, 2), features
    (N, P, F), mask (N, P) -> the softmax probability of class 1 (top), (N,)."""
    import torch

    tensors = (
        torch.as_tensor(points, dtype=torch.float32).transpose(1, 2),  # (N, 2, P)
        torch.as_tensor(features, dtype=torch.float32).transpose(1, 2),  # (N, F, P)
        torch.as_tensor(mask).float().unsqueeze(1),  # (N, 1, P)
    )

    def score(model: Any) -> np.ndarray:
        chunks = []
        with torch.no_grad():
            for i in range(0, len(points), 1024):
                logits = model(*(t[i : i + 1024] for t in tensors))  # (b, 2)
                chunks.append(torch.softmax(logits, dim=1)[:, 1])
        return torch.cat(chunks).double().numpy()

    return score


def best_epochs(record: Mapping[str, Any]) -> dict[str, int]:
    """0-based epochs chosen by each rule: lowest val loss (where recorded), highest val
    accuracy (first of ties, as weaver's strict '>' keeps), and the last epoch."""
    accuracy = record["val_accuracy"]
    chosen = {"val_accuracy": int(np.argmax(accuracy)), "last": len(accuracy) - 1}
    if record.get("val_loss"):
        chosen["val_loss"] = int(np.argmin(record["val_loss"]))
    return chosen
