"""A segmentation's judgement on the test images: metrics.json, predictions.npz, the
figures, and the rows of the CLI's summary table.

A cell is *signal* when the true signal fraction is > 0.5 and predicted signal when the
network's probability is > 0.5. Beside the network the fixed baseline keeps every cell
above the energy threshold chosen on the validation set. The physics figure is the
signal energy recovered per shower after removing the cells called pile-up,

    R = sum over kept cells of E_cell / S,   S = sum over cells of f_cell * E_cell (E > 0),

S the signal energy the window's cells hold; R = 1 is perfect, R > 1 means pile-up energy
kept, R < 1 signal energy thrown away. "all cells" (nothing removed) shows what pile-up
alone does. Errors are bootstrap standard deviations over showers (IoU, accuracy) and
standard errors of the mean (R).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.atomic import write_json, write_npz

# Example showers drawn in examples.png (the first ones of the test set).
EXAMPLES = 4


def _value(entry: Mapping[str, Any]) -> float | None:
    return entry["value"]


def _headline(summary: Mapping[str, Any]) -> dict[str, Any]:
    """The top-level numbers of one method's summary (what compare and scan rank)."""
    return {
        "iou": _value(summary["iou_signal"]),
        "iou_error": summary["iou_signal"]["error"],
        "iou_pileup": _value(summary["iou_pileup"]),
        "iou_pileup_error": summary["iou_pileup"]["error"],
        "mean_iou": summary["mean_iou"],
        "energy_weighted_iou": _value(summary["energy_weighted_iou_signal"]),
        "energy_weighted_iou_error": summary["energy_weighted_iou_signal"]["error"],
        "energy_weighted_iou_pileup": _value(summary["energy_weighted_iou_pileup"]),
        "pixel_accuracy": _value(summary["pixel_accuracy"]),
        "pixel_accuracy_error": summary["pixel_accuracy"]["error"],
        "energy_weighted_pixel_accuracy": _value(summary["energy_weighted_pixel_accuracy"]),
    }


def write_segmentation_report(
    out_dir: Path,
    *,
    probabilities: np.ndarray,
    fraction: np.ndarray,
    image: np.ndarray,
    energy: np.ndarray,
    rows: np.ndarray,
    threshold: float,
    threshold_validation_iou: float | None,
    target: str,
    plots: bool,
    history: dict[str, list[float]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Judge ``probabilities`` (n, 1, H, W) against the true signal ``fraction`` (same
    shape) on the images ``image`` (n, C, H, W) whose pixels hold ``energy`` (n, 1, H, W)
    GeV (what the fraction is a share of), rows ``rows`` (n,) of the sample (kept in
    predictions.npz, so the images can be rebuilt); write and return the metrics."""
    from hepdl.metrics.segmentation import (
        mean_with_error,
        recovered_energy,
        segmentation_summary,
    )

    out_dir.mkdir(parents=True, exist_ok=True)
    energy = np.asarray(energy, dtype=np.float64)  # (n, 1, H, W) GeV
    weights = np.clip(energy, 0.0, None)
    truth = fraction > 0.5
    predicted = probabilities > 0.5
    kept_by_threshold = energy > threshold
    network = segmentation_summary(truth, predicted, energy=weights)
    baseline = segmentation_summary(truth, kept_by_threshold, energy=weights)
    signal = fraction * weights  # (n, 1, H, W) the signal energy per cell
    with_signal = signal.sum(axis=(1, 2, 3)) > 0  # (n,)
    keep = {
        "network": predicted,
        f"threshold E > {threshold:g} GeV": kept_by_threshold,
        "all cells": np.ones_like(predicted),
    }
    ratios = {
        label: recovered_energy(energy[with_signal], mask[with_signal], signal[with_signal])
        for label, mask in keep.items()
    }
    # Each cell weighed by its predicted signal probability, not cut (the fraction's use);
    # cells of E <= 0 hold no signal (f = 0 there), and their negative noise times a
    # probability the loss never constrained (weight 0) would bias the sum, so as in S
    # only positive energies count.
    weighted = (weights * probabilities)[with_signal].sum(axis=(1, 2, 3))
    ratios["network, energy x probability"] = weighted / signal[with_signal].sum(axis=(1, 2, 3))
    recovered = {label: mean_with_error(r) for label, r in ratios.items()}
    metrics: dict[str, Any] = {
        **(extra or {}),
        "target": target,
        "n": len(probabilities),
        **_headline(network),
        "recovered_energy_mean": recovered["network"]["mean"],
        "recovered_energy_mean_error": recovered["network"]["mean_error"],
        "recovered_energy_width": recovered["network"]["half_width_16_84"],
        "baseline": {
            "method": "keep cells with E > threshold (sum over layers)",
            "threshold_gev": threshold,
            "threshold_chosen_on": "validation",
            "validation_iou": threshold_validation_iou,
            **_headline(baseline),
            "recovered_energy_mean": recovered[f"threshold E > {threshold:g} GeV"]["mean"],
            "recovered_energy_mean_error": recovered[f"threshold E > {threshold:g} GeV"][
                "mean_error"
            ],
        },
        "recovered_energy": {
            "definition": "sum of kept cells' energy / signal energy in the cells, per shower",
            "n_showers": int(with_signal.sum()),
            "n_without_signal": int((~with_signal).sum()),
            **recovered,
        },
        "details": {"network": network, "baseline": baseline},
    }
    if target == "fraction":
        error = (probabilities - fraction).astype(np.float64) ** 2
        metrics["fraction_mse"] = float(error.mean())
        metrics["fraction_energy_weighted_mse"] = float(
            (error * weights).sum() / max(weights.sum(), np.finfo(float).tiny)
        )
    write_npz(
        out_dir / "predictions.npz",
        probabilities=probabilities.astype(np.float32),
        fraction=fraction.astype(np.float32),
        rows=np.asarray(rows, dtype=np.int64),
        **{f"recovered_{_key(label)}": r for label, r in ratios.items()},
    )
    if plots:
        from hepdl.plots import plot_training_history
        from hepdl.plots.segmentation import plot_recovered_energy, plot_segmentation_examples

        shown = slice(0, min(EXAMPLES, len(image)))
        plot_segmentation_examples(
            energy[shown, 0], fraction[shown, 0], probabilities[shown, 0],
            path=out_dir / "examples.png",
        )  # fmt: skip
        plot_recovered_energy(ratios, path=out_dir / "recovered_energy.png")
        if history:
            plot_training_history(history, path=out_dir / "history.png")
    write_json(out_dir / "metrics.json", metrics)  # last: its presence means complete
    return metrics


def _key(label: str) -> str:
    """An npz-safe name of a method: ``threshold E > 0.1 GeV`` -> ``threshold``."""
    if label.startswith("threshold"):
        return "threshold"
    return label.replace(", energy x probability", "_weighted").replace(" ", "_")


def segmentation_summary_rows(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The CLI's table of a segmentation's test metrics, network beside the baseline."""
    if "iou" not in metrics:
        return "segmentation (no truth)", []
    base = metrics.get("baseline") or {}

    def both(key: str) -> str:
        return f"{_number(metrics.get(key), metrics.get(f'{key}_error'))}  (threshold: " + (
            f"{_number(base.get(key), base.get(f'{key}_error'))})"
        )

    title = f"test set ({metrics.get('n', '?')} images): per-pixel signal vs pile-up"
    rows = [
        ("IoU signal cells", both("iou")),
        ("IoU pile-up cells", both("iou_pileup")),
        ("energy-weighted IoU signal", both("energy_weighted_iou")),
        ("pixel accuracy", both("pixel_accuracy")),
        ("recovered energy (mean)", both("recovered_energy_mean")),
        ("baseline threshold (GeV)", _number(base.get("threshold_gev"), None)),
    ]
    return title, rows


def _number(value: Any, error: Any) -> str:
    if value is None:
        return "n/a"
    return f"{value:.4f}" if error is None else f"{value:.4f} +- {error:.4f}"
