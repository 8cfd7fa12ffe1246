r"""Segmentation: a label or a number for every pixel (calorimeter cell) of an image.

The truth is the representation's ``pixel_target`` (N, 1, H, W), the signal energy
fraction f of each cell (``hepdl.data.representations.calo_cells``). The model (a U-Net,
``hepdl.models.unet``) gives one logit z per pixel; p = sigmoid(z). Per pixel:

    target dominant, loss bce     -[y ln p + (1 - y) ln(1 - p)],  y = [f > 0.5]
    target fraction, loss bce     -[f ln p + (1 - f) ln(1 - p)]   (soft targets)
    target fraction, loss mse     (p - f)^2

averaged over the pixels of an image, or with ``energy_weighted`` weighed by the cell
energies E (sum over layers, clipped at 0): sum(E l) / sum(E), so a shower counts once
whatever its energy; then averaged over images (weighted by the row weights, if any).

A pixel is predicted signal when p > 0.5. Per epoch the validation set's IoU of the
signal cells (``val_iou``), of the pile-up cells (``val_iou_pileup``), the energy-weighted
signal IoU (``val_energy_iou``) and the pixel accuracy are logged, from sums over every
batch (``hepdl.metrics.segmentation``; the test set's judgement, figures and the
threshold baseline in ``_segment_report``). During the first validation epoch the task
also counts, per candidate energy threshold, the cells above it and the signal cells
among them, and so chooses the threshold of the baseline on validation data only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hepdl.errors import DataError
from hepdl.models.inputs import forward
from hepdl.tasks._base import TaskBase, weighted_mean
from hepdl.tasks._registry import register_task
from hepdl.tasks._segment_report import segmentation_summary_rows
from hepdl.tasks._segment_targets import (
    BASELINE_THRESHOLDS,
    SegmentationTargets,
    fit_segmentation_targets,
)
from hepdl.tasks.segment_section import ENERGY_ARRAY, EPOCH_METRICS, SegmentConfig

# Per validation batch: the sums the epoch's metrics are ratios of.
_SUMS = (
    "inter_signal", "union_signal", "inter_pileup", "union_pileup",
    "energy_inter_signal", "energy_union_signal", "correct", "pixels",
)  # fmt: skip


@register_task("segment")
class SegmentationTask(TaskBase):
    """Trains ``model`` (image (B, C, H, W) -> logits (B, 1, H, W)) on per-pixel truth."""

    Config = SegmentConfig

    def __init__(
        self,
        model: nn.Module,
        *,
        target: str = "dominant",
        loss: str = "bce",
        energy_weighted: bool = False,
        truth: SegmentationTargets | None = None,
        **optimization: Any,
    ) -> None:
        super().__init__(model, **optimization)
        self.target = target
        self.loss_name = loss
        self.energy_weighted = energy_weighted
        # The coding the baseline threshold is chosen for (saved with the model).
        self.truth = truth
        self.baseline_threshold: float | None = None
        self._threshold_counts: list[Any] | None = None  # while the first val epoch runs

    def compute_loss(
        self,
        logits: torch.Tensor,
        fraction: torch.Tensor,
        energy: torch.Tensor,
        weights: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The batch loss of logits and true fractions (B, 1, H, W), the cell energies
        ``energy`` (B, 1, H, W) weighing the pixels when ``energy_weighted``."""
        if logits.shape != fraction.shape:
            raise DataError(
                f"segment: the model's output has shape {tuple(logits.shape)}, but the "
                f"per-pixel target has shape {tuple(fraction.shape)}; task.kind: segment "
                "needs a per-pixel model (e.g. model.name: unet) with one output channel"
            )
        fraction = fraction.to(logits.dtype)
        if self.loss_name == "mse":
            per_pixel = (torch.sigmoid(logits) - fraction) ** 2
        else:
            y = (fraction > 0.5).to(logits.dtype) if self.target == "dominant" else fraction
            per_pixel = F.binary_cross_entropy_with_logits(logits, y, reduction="none")
        per_pixel = per_pixel.flatten(1)  # (B, H * W)
        if self.energy_weighted:
            e = energy.flatten(1).clamp_min(0).to(per_pixel.dtype)
            tiny = torch.finfo(per_pixel.dtype).tiny
            per_image = (per_pixel * e).sum(1) / e.sum(1).clamp_min(tiny)  # (B,)
        else:
            per_image = per_pixel.mean(1)  # (B,)
        return per_image.mean() if weights is None else weighted_mean(per_image, weights)

    def step_loss(self, batch: tuple[Any, ...], stage: str) -> torch.Tensor:
        inputs, fraction, *weights = batch  # {"image": (B, C, H, W)}, (B, 1, H, W) [, (B,)]
        logits = forward(self.model, inputs)  # (B, 1, H, W)
        energy = inputs.get(ENERGY_ARRAY)  # (B, 1, H, W) GeV
        if energy is None:
            energy = inputs["image"].sum(dim=1, keepdim=True)
        loss = self.compute_loss(logits, fraction, energy, weights[0] if weights else None)
        if stage == "val":
            self.record(stage, loss, len(logits), batch_sums(logits.detach(), fraction, energy))
            if self._threshold_counts is not None:
                self._count_thresholds(energy, fraction)
        else:
            self.record(stage, loss, len(logits))
        return loss

    def epoch_metrics(self, stage: str, records: Sequence[Any]) -> dict[str, float]:
        """IoU (signal, pile-up, energy-weighted signal) and pixel accuracy of the epoch's
        validation pixels, from sums over every batch and process."""
        if stage != "val":
            return {}
        sums = torch.stack(list(records)).sum(0)  # (8,)
        sums = self.trainer.strategy.reduce(sums, reduce_op="sum")  # over DDP processes
        s = dict(zip(_SUMS, sums.double().tolist(), strict=True))

        def ratio(a: str, b: str) -> float:
            return s[a] / s[b] if s[b] > 0 else float("nan")

        return {
            "val_iou": ratio("inter_signal", "union_signal"),
            "val_iou_pileup": ratio("inter_pileup", "union_pileup"),
            "val_energy_iou": ratio("energy_inter_signal", "energy_union_signal"),
            "val_pixel_accuracy": ratio("correct", "pixels"),
        }

    def logged_metrics(self) -> list[str]:
        return list(EPOCH_METRICS)

    # ------------------------------------------------------------ the threshold baseline
    def on_validation_epoch_start(self) -> None:
        super().on_validation_epoch_start()
        if self.baseline_threshold is None:  # the first validation epoch of this fit
            self._threshold_counts = [
                np.zeros(len(BASELINE_THRESHOLDS)),
                np.zeros(len(BASELINE_THRESHOLDS)),
                0,
            ]

    def _count_thresholds(self, energy: torch.Tensor, fraction: torch.Tensor) -> None:
        from hepdl.metrics.segmentation import threshold_counts

        above, inter, n_true = threshold_counts(
            energy.detach().cpu().numpy(),
            (fraction > 0.5).cpu().numpy(),
            BASELINE_THRESHOLDS,
        )
        counts = self._threshold_counts
        counts[0] = counts[0] + above
        counts[1] = counts[1] + inter
        counts[2] += n_true

    def on_validation_epoch_end(self) -> None:
        super().on_validation_epoch_end()
        counts, self._threshold_counts = self._threshold_counts, None
        if counts is None or counts[2] == 0:  # no signal cell: nothing to choose for
            return
        from hepdl.metrics.segmentation import threshold_choice

        threshold, iou = threshold_choice(BASELINE_THRESHOLDS, counts[0], counts[1], counts[2])
        self.baseline_threshold = threshold
        if self.truth is not None:
            self.truth.baseline_threshold = threshold
            self.truth.baseline_validation_iou = iou

    # ------------------------------------------------------------ the run's data and results
    needs_labels = False  # images are split at random, not per class
    predictions_are = None  # per-pixel maps: no ROC curve or response curve to combine

    @classmethod
    def sample_columns(cls, section: SegmentConfig) -> dict[str, str]:
        return {}  # the truth is a representation array, not a column

    @classmethod
    def fit_targets(
        cls, section: SegmentConfig, sample: Any, train_rows: np.ndarray, data: Any
    ) -> SegmentationTargets:
        return fit_segmentation_targets(section, sample)

    @classmethod
    def targets_from_saved(
        cls, section: SegmentConfig, saved: Mapping[str, Any]
    ) -> SegmentationTargets:
        return SegmentationTargets.from_saved(section, saved["targets"])

    @staticmethod
    def summary(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
        return segmentation_summary_rows(metrics)

    @classmethod
    def comparison_columns(
        cls, metrics: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, str, str, str | None]]:
        """Signal IoU (ranks), pile-up IoU, energy-weighted IoU, pixel accuracy, the mean
        recovered energy, and the threshold baseline's IoU."""
        return [
            ("iou", "IoU signal", "{:.4f}", None),
            ("iou_pileup", "IoU pile-up", "{:.4f}", None),
            ("energy_weighted_iou", "energy IoU", "{:.4f}", None),
            ("pixel_accuracy", "pixel acc.", "{:.4f}", None),
            ("recovered_energy_mean", "recovered E", "{:.4f}", None),
            ("baseline.iou", "threshold IoU", "{:.4f}", None),
        ]

    @classmethod
    def metric_direction(cls, name: str) -> str | None:
        """IoUs and accuracies are better high, losses and errors low, the recovered
        energy nearest 1."""
        name = name.removeprefix("val_").rsplit(".", 1)[-1]
        if name.startswith("recovered_energy_mean") and not name.endswith("_error"):
            return "one"
        if name.endswith(("loss", "_error", "mse", "width")):
            return "min"
        if "iou" in name or name.endswith("accuracy"):
            return "max"
        return None


def batch_sums(logits: torch.Tensor, fraction: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
    """The additive counts of one batch (8,), in the order of ``_SUMS``: intersection and
    union of the signal cells and of the pile-up cells, the energy-weighted ones of the
    signal cells, the correct pixels and the pixels (all (B, 1, H, W) inputs)."""
    predicted = logits > 0  # p > 0.5
    truth = fraction > 0.5
    e = energy.clamp_min(0).to(torch.float64)
    signal_inter, signal_union = predicted & truth, predicted | truth
    return torch.stack(
        [
            signal_inter.sum().double(),
            signal_union.sum().double(),
            (~predicted & ~truth).sum().double(),
            (~predicted | ~truth).sum().double(),
            (e * signal_inter).sum(),
            (e * signal_union).sum(),
            (predicted == truth).sum().double(),
            torch.tensor(float(truth.numel()), dtype=torch.float64, device=truth.device),
        ]
    )


__all__ = ["SegmentConfig", "SegmentationTargets", "SegmentationTask", "batch_sums"]
