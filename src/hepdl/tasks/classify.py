"""Classification: a model, its loss, accuracy per epoch and the optimiser settings.

Losses (y the true class, p the predicted probability):
    bce  binary cross-entropy   -[y ln p + (1 - y) ln(1 - p)], sigmoid output (1 unit)
    cce  categorical CE         -ln p_y, softmax output (one unit per class)
    mse  mean squared error     (p - y)^2 on the probabilities (one-hot y for softmax)
The sigmoid/softmax is fused into the cross-entropies (``*_with_logits``) for stability.

Per epoch: ``<stage>_loss`` and ``<stage>_accuracy``, and on the validation set the
physics metrics of ``hepdl.tasks._epoch_metrics`` (AUC, rejections). The optimisation
plumbing (manual optimisation, step groups, clipping, schedules) is ``TaskBase``'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hepdl.errors import ConfigError, DataError
from hepdl.models.inputs import forward
from hepdl.tasks._base import TaskBase, weighted_mean
from hepdl.tasks._classification_report import (
    PREDICTIONS_FILE,
    auc_cell,
    rejection_cell,
    save_predictions,
    signal_scores,
    write_evaluation,
)
from hepdl.tasks._coding import TargetCoding
from hepdl.tasks._epoch_metrics import (
    BASE_NAMES,
    gather_rows,
    logged_names,
    physics_metrics,
    rejection_name,
    signal_score,
)
from hepdl.tasks._registry import register_task
from hepdl.tasks.classify_section import ClassifyConfig, classification_head, metric_direction

LOSS_NEEDS_OUTPUT = {"bce": "sigmoid", "cce": "softmax"}


@register_task("classify")
class ClassificationTask(TaskBase):
    """Trains ``model`` (features (B, F) -> logits (B, K)) on integer labels (B,)."""

    Config = ClassifyConfig
    epoch_sum_names = ("accuracy",)

    def __init__(
        self,
        model: nn.Module,
        *,
        loss: str = "bce",
        signal_class: int | None = None,
        signal_efficiencies: Sequence[float] | None = None,
        **optimization: Any,
    ) -> None:
        output = getattr(model, "output", "linear")
        needed = LOSS_NEEDS_OUTPUT.get(loss)
        if needed and output != needed:
            raise ConfigError(
                f"task.loss '{loss}' needs model.output '{needed}', but the model has '{output}'"
            )
        super().__init__(model, **optimization)
        self.loss_name = loss
        # Physics metrics per validation epoch need the signal class; without it (a task
        # used outside hepdl's runs) only losses and accuracies are logged.
        self.signal_class = signal_class
        self.signal_efficiencies = (
            None if signal_class is None else [float(e) for e in signal_efficiencies or ()]
        )

    # ------------------------------------------------------------------ the maths
    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return self.model.probabilities(logits)

    def signal_probability(self, logits: torch.Tensor, *, signal_class: int = 1) -> torch.Tensor:
        """P(signal) per jet, (B,): the sigmoid unit, or the softmax entry of the signal."""
        prob = self.probabilities(logits)
        return prob[:, 0] if prob.shape[1] == 1 else prob[:, signal_class]

    def compute_loss(
        self, logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The batch loss: the mean over rows, or sum(w_i l_i) / sum(w_i) with ``weights``."""
        # Unweighted: torch's own mean reduction, the loss a hand-written loop computes (the
        # per-row path rounds differently from ~256 rows on, which Adam amplifies to ~1e-3
        # in the weights of nearly idle units).
        reduction = "mean" if weights is None else "none"
        if self.loss_name == "bce":
            loss = F.binary_cross_entropy_with_logits(
                logits[:, 0], labels.to(logits.dtype), reduction=reduction
            )
        elif self.loss_name == "cce":
            loss = F.cross_entropy(logits, labels, reduction=reduction)
        else:
            prob = self.probabilities(logits)
            target = (
                labels.to(prob.dtype)[:, None]
                if prob.shape[1] == 1
                else F.one_hot(labels, prob.shape[1]).to(prob.dtype)
            )
            # Every row has K entries, so the mean over all entries is the mean of the rows'.
            loss = F.mse_loss(prob, target, reduction=reduction)
        if weights is None:
            return loss
        return weighted_mean(loss, weights)

    def predicted_class(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.shape[1] == 1:
            return (logits[:, 0] > 0).long()  # sigmoid(z) > 0.5  <=>  z > 0
        return logits.argmax(dim=1)

    # ------------------------------------------------------------------ steps and epochs
    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.model(features)

    def step_loss(self, batch: tuple[torch.Tensor, ...], stage: str) -> torch.Tensor:
        inputs, labels, *weights = batch  # (B, F) or {name: (B, ...)}, (B,) [, (B,)]
        logits = forward(self.model, inputs)  # (B, K)
        loss = self.compute_loss(logits, labels, weights[0] if weights else None)
        self.record(stage, loss, len(logits), (logits.detach(), labels))
        return loss

    def epoch_sums(self, records: Sequence[Any]) -> list[torch.Tensor]:
        logits = torch.cat([r[0] for r in records])  # (N, K)
        labels = torch.cat([r[1] for r in records])  # (N,)
        return [(self.predicted_class(logits) == labels).sum()]

    def epoch_metrics(self, stage: str, records: Sequence[Any]) -> dict[str, float]:
        """val_auc and the rejections (see ``hepdl.tasks._epoch_metrics``) over the rows of
        every process, so each rank logs the same values."""
        if stage != "val" or self.signal_class is None:
            return {}
        world = self.trainer.world_size
        logits = torch.cat([r[0] for r in records])  # (N, K)
        labels = torch.cat([r[1] for r in records])  # (N,)
        logits = gather_rows(logits, all_gather=self.all_gather, world_size=world)
        labels = gather_rows(labels, all_gather=self.all_gather, world_size=world)
        return physics_metrics(
            signal_score(logits, self.probabilities, self.signal_class),
            labels.cpu().numpy(),
            signal_class=self.signal_class,
            efficiencies=self.signal_efficiencies,
        )

    def logged_metrics(self) -> list[str]:
        return logged_names(self.signal_efficiencies)

    # ------------------------------------------------------------ the run's data and results
    needs_labels = True  # rows are split class-stratified
    predictions_are = "scores"  # see TaskBase.predictions_are

    @classmethod
    def sample_columns(cls, section: ClassifyConfig) -> dict[str, str]:
        return {}

    @classmethod
    def fit_targets(
        cls, section: ClassifyConfig, sample: Any, train_rows: np.ndarray, data: Any
    ) -> ClassTargets:
        return fit_class_targets(section, sample, data)

    @classmethod
    def targets_from_saved(cls, section: ClassifyConfig, saved: Mapping[str, Any]) -> ClassTargets:
        return ClassTargets(
            class_names=saved["class_names"], signal_class=saved["signal_class"], loss=section.loss
        )

    @staticmethod
    def summary(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
        return classification_summary_rows(metrics)

    # ------------------------------------------------------------ comparing runs
    @classmethod
    def comparison_columns(
        cls, metrics: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, str, str, str | None]]:
        """AUC (ranks), accuracy, then 1/eps_B at each eps_S any run records, rising."""
        prefix = "rejection_at_eps_s_"
        keys = sorted(
            {key for m in metrics for key in m if key.startswith(prefix)},
            key=lambda key: float(key.removeprefix(prefix)),
        )
        columns: list[tuple[str, str, str, str | None]] = [
            ("auc", "AUC", "{:.4f}", None),
            ("accuracy", "accuracy", "{:.4f}", None),
        ]
        # null: no background jet passes the cut, the rejection exceeds n_background
        columns += [
            (key, f"1/eps_B @ eps_S={key.removeprefix(prefix)}", "{:.1f}", "n_background")
            for key in keys
        ]
        return columns

    @classmethod
    def metric_direction(cls, name: str) -> str | None:
        """A loss is better low; any other metric high (AUC, accuracy, rejections, SIC)."""
        return metric_direction(name)


class ClassTargets(TargetCoding):
    """Integer labels (N,) of ``class_names``; the signal class ranks the ROC."""

    def __init__(self, *, class_names: list[str], signal_class: int, loss: str) -> None:
        self.class_names = list(class_names)
        self.signal_class = signal_class
        self.loss = loss

    def encode(self, sample: Any) -> np.ndarray:
        if list(sample.class_names) != self.class_names:
            raise DataError(
                f"{sample.source}: classes {sample.class_names} differ from the trained "
                f"classes {self.class_names}"
            )
        return sample.labels

    def head_options(self, model_options: Mapping[str, Any]) -> dict[str, Any]:
        options = classification_head(self.loss, model_options, len(self.class_names))
        return {k: v for k, v in options.items() if k not in model_options}

    def task_options(self, evaluate: Any) -> dict[str, Any]:
        return {
            "signal_class": self.signal_class,
            "signal_efficiencies": evaluate.signal_efficiencies,
        }

    def saved(self) -> dict[str, Any]:
        return {"class_names": self.class_names, "signal_class": self.signal_class}

    def write_evaluation(
        self,
        out_dir: Path,
        *,
        outputs: np.ndarray,
        sample: Any,
        rows: np.ndarray,
        evaluate: Any,
        train: tuple[np.ndarray, Any, np.ndarray] | None = None,
        history: dict[str, list[float]] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """ROC, AUC, rejections and SIC of P(signal)."""
        labels = self.encode(sample)
        train_pair = None
        if train is not None:
            train_outputs, train_sample, train_rows = train
            train_pair = (self.encode(train_sample)[train_rows], self.scores(train_outputs))
        return write_evaluation(
            out_dir,
            labels=labels[rows],
            scores=signal_scores(outputs, signal_class=self.signal_class),
            signal_class=self.signal_class,
            class_names=self.class_names,
            signal_efficiencies=evaluate.signal_efficiencies,
            plots=evaluate.plots,
            train=train_pair,
            history=history,
            extra=extra,
            bootstrap=evaluate.bootstrap,
        )

    def scores(self, outputs: np.ndarray) -> np.ndarray:
        """P(signal) (N,) of class probabilities (N, K)."""
        return signal_scores(outputs, signal_class=self.signal_class)

    def prediction_columns(
        self, outputs: np.ndarray, columns: Mapping[str, np.ndarray], *, source: str
    ) -> dict[str, np.ndarray]:
        """``score`` P(signal) (N,) and ``p_<class>`` per class; a single sigmoid unit
        (K = 1) gives P(class 1), so P(class 0) = 1 - it."""
        probabilities = outputs if outputs.shape[1] > 1 else np.hstack([1 - outputs, outputs])
        named = {"score": self.scores(outputs)}
        for index, name in enumerate(self.class_names):
            named[f"p_{name}"] = probabilities[:, index]
        return named


def fit_class_targets(section: ClassifyConfig, sample: Any, data: Any) -> ClassTargets:
    from hepdl.data.labels import signal_class_index

    return ClassTargets(
        class_names=sample.class_names,
        signal_class=signal_class_index(sample.class_names, data.signal_class),
        loss=section.loss,
    )


def classification_summary_rows(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The CLI's table of a classifier's test metrics: AUC, accuracy, rejections, SIC."""
    # The signal class is named: which class is "signal" changes every number below.
    signal = metrics.get("signal_class")
    named = f" '{signal}'" if signal is not None else ""
    title = (
        f"test set ({metrics.get('n_signal', '?')} signal{named}, "
        f"{metrics.get('n_background', '?')} background jets)"
    )
    rows = [("ROC AUC", auc_cell(metrics)), ("accuracy", f"{metrics['accuracy']:.4f}")]
    for key in metrics:
        if key.startswith("rejection_at_eps_s_"):
            eps = key.removeprefix("rejection_at_eps_s_")
            # With the background events it rests on: "> 99 (0 bkg events ...)" when none.
            rows.append((f"1/eps_B at eps_S = {eps}", rejection_cell(metrics, key)))
    sic = metrics.get("max_sic")
    rows.append(("max eps_S/sqrt(eps_B)", f"{sic:.2f}" if sic is not None else "n/a"))
    return title, rows


__all__ = [
    "BASE_NAMES",
    "PREDICTIONS_FILE",
    "ClassTargets",
    "ClassificationTask",
    "ClassifyConfig",
    "rejection_name",
    "save_predictions",
    "signal_scores",
    "write_evaluation",
]
