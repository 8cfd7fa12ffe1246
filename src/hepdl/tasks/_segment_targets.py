"""The truth of a segmentation: the per-pixel signal energy fraction a representation
gives (``pixel_target`` (N, 1, H, W), ``hepdl.data.representations.calo_cells``), the
head it needs, and the fixed energy-threshold baseline.

Both targets read the same array, the fraction f in [0, 1]; ``dominant`` learns the class
f > 0.5, ``fraction`` the number. The baseline keeps the cells above one energy threshold;
the threshold is chosen on the validation images (the task counts them during its
first validation epoch, ``SegmentationTask``) to maximise the signal-class IoU, saved
with the model, and applied unchanged to the test set and to any file evaluated later.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.tasks._coding import TargetCoding
from hepdl.tasks.segment_section import ENERGY_ARRAY, HEAD, TARGET_ARRAY

# Candidate cell-energy thresholds of the baseline, GeV: 5 MeV steps up to 0.5 GeV (the
# noise and pile-up scale of a crystal), 50 MeV steps up to 5 GeV.
BASELINE_THRESHOLDS = np.round(
    np.concatenate([np.arange(0.0, 0.5, 0.005), np.arange(0.5, 5.0 + 1e-9, 0.05)]), 6
)


class SegmentationTargets(TargetCoding):
    """Per-pixel signal fractions as the loss's targets; ``baseline_threshold`` (GeV) the
    validation-chosen threshold of the baseline, None until the fit has chosen it."""

    def __init__(
        self, *, target: str, loss: str, energy_weighted: bool, baseline_threshold: Any = None
    ) -> None:
        self.target = target
        self.loss = loss
        self.energy_weighted = energy_weighted
        self.baseline_threshold = None if baseline_threshold is None else float(baseline_threshold)
        self.baseline_validation_iou: float | None = None

    # ----------------------------------------------------------------- truth -> loss targets
    def fraction(self, sample: Any) -> np.ndarray:
        """The signal fraction (N, 1, H, W) float32 of every row, checked against the image."""
        arrays = sample.inputs
        if TARGET_ARRAY not in arrays:
            raise ConfigError(
                f"{sample.source}: task.kind: segment needs the per-pixel truth "
                f"'{TARGET_ARRAY}', but representation '{sample.representation.get('name')}' "
                f"gives {', '.join(sorted(arrays))}; use representation calo_cells with option "
                "signal (e.g. signal: [ecal_signal])"
            )
        truth, image = arrays[TARGET_ARRAY], arrays.get("image")
        if image is None:
            raise DataError(f"{sample.source}: task.kind: segment needs an 'image' (N, C, H, W)")
        expected = (image.shape[0], 1, *image.shape[2:])
        if image.ndim != 4 or truth.shape != expected:
            raise DataError(
                f"{sample.source}: the segmentation target '{TARGET_ARRAY}' has shape "
                f"{tuple(truth.shape)}, but the image has shape {tuple(image.shape)}; "
                f"expected a target of shape {expected} (one value per pixel)"
            )
        if not (np.isfinite(truth).all() and truth.min() >= 0 and truth.max() <= 1):
            raise DataError(
                f"{sample.source}: the segmentation target '{TARGET_ARRAY}' must hold "
                "fractions in [0, 1] in every pixel"
            )
        return truth.astype(np.float32, copy=False)

    def encode(self, sample: Any) -> np.ndarray:
        return self.fraction(sample)  # (N, 1, H, W); dominant: the task takes f > 0.5

    # ----------------------------------------------------------------- the model and task
    def head_options(self, model_options: Mapping[str, Any]) -> dict[str, Any]:
        for key, value in HEAD.items():
            if key in model_options and model_options[key] != value:
                raise ConfigError(
                    f"model.{key} is {model_options[key]!r}, but task.kind: segment predicts "
                    f"one signal probability per pixel ({key}: {value!r}); remove model.{key} "
                    "(the task sets it)"
                )
        return {k: v for k, v in HEAD.items() if k not in model_options}

    def task_options(self, evaluate: Any) -> dict[str, Any]:
        # The task writes the baseline threshold it chooses on the validation set here.
        return {"truth": self}

    def saved(self) -> dict[str, Any]:
        return {
            "targets": {
                "array": TARGET_ARRAY,
                "target": self.target,
                "baseline_threshold": self.baseline_threshold,
                "baseline_validation_iou": self.baseline_validation_iou,
            }
        }

    @classmethod
    def from_saved(cls, section: Any, saved: Mapping[str, Any]) -> SegmentationTargets:
        coding = cls(
            target=section.target,
            loss=section.loss,
            energy_weighted=section.energy_weighted,
            baseline_threshold=saved.get("baseline_threshold"),
        )
        coding.baseline_validation_iou = saved.get("baseline_validation_iou")
        return coding

    def prediction_columns(
        self, outputs: np.ndarray, columns: Mapping[str, np.ndarray], *, source: str
    ) -> dict[str, np.ndarray]:
        """Per row: ``signal_cells``, the number of pixels predicted signal-dominated
        (probability > 0.5), and ``signal_fraction_mean``, the mean predicted probability;
        the per-pixel maps are the model's outputs themselves."""
        flat = outputs.reshape(len(outputs), -1)  # (N, H * W)
        return {
            "signal_cells": (flat > 0.5).sum(axis=1).astype(np.int64),
            "signal_fraction_mean": flat.mean(axis=1),
        }

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
        """metrics.json (IoU per class and energy-weighted, pixel accuracy, recovered
        signal energy, each with bootstrap errors over images, beside the threshold
        baseline), predictions.npz and the figures."""
        from hepdl.tasks._segment_report import write_segmentation_report

        extra = dict(extra or {})
        if self.baseline_threshold is None and train is not None:
            # A task that never validated (no validation epoch ran): the baseline falls
            # back to the training rows, never to the test rows, and says so.
            from hepdl.metrics.segmentation import best_threshold

            _, train_sample, train_rows = train
            threshold, iou = best_threshold(
                cell_energy(train_sample.inputs, train_rows),
                self.fraction(train_sample)[train_rows] > 0.5,
                BASELINE_THRESHOLDS,
            )
            self.baseline_threshold, self.baseline_validation_iou = threshold, iou
            extra["baseline_note"] = "threshold chosen on the training rows (no validation ran)"
        image = sample.inputs["image"][rows]  # (n, C, H, W)
        energy = cell_energy(sample.inputs, rows)  # (n, 1, H, W)
        return write_segmentation_report(
            out_dir,
            probabilities=outputs.astype(np.float32),
            fraction=self.fraction(sample)[rows],
            image=image,
            energy=energy,
            rows=rows,
            threshold=self.baseline_threshold,
            threshold_validation_iou=self.baseline_validation_iou,
            target=self.target,
            plots=evaluate.plots,
            history=history,
            extra=extra,
        )


def cell_energy(inputs: Any, rows: np.ndarray) -> np.ndarray:
    """(n, 1, H, W) float64: the energy of each pixel of rows ``rows``: the
    representation's ``pixel_energy`` when it gives one, else the sum over the image's
    channels (layers)."""
    if ENERGY_ARRAY in inputs:
        return np.asarray(inputs[ENERGY_ARRAY][rows], dtype=np.float64)
    return inputs["image"][rows].sum(axis=1, keepdims=True, dtype=np.float64)


def fit_segmentation_targets(section: Any, sample: Any) -> SegmentationTargets:
    """The coding of ``section`` (a SegmentConfig), its truth checked on ``sample``."""
    coding = SegmentationTargets(
        target=section.target, loss=section.loss, energy_weighted=section.energy_weighted
    )
    truth = coding.fraction(sample)
    if not (truth > 0.5).any():
        raise DataError(
            f"{sample.source}: no pixel of '{TARGET_ARRAY}' is signal-dominated (fraction > "
            "0.5); there is no signal to segment (is option signal the right column?)"
        )
    return coding
