"""The judgement of a generative shower model on the test rows: showers generated at the
test showers' incident energies against the simulated test showers, with the
CaloChallenge metrics (``hepdl.metrics.generative``) each beside its truth-vs-truth
floor (the same metric between two independent simulated samples: as close to perfect
as a finite sample can show), written to metrics.json, predictions.npz (the generated
cells) and the figures (``hepdl.plots.generative``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.atomic import write_json, write_npz


def write_shower_report(
    out_dir: Path,
    *,
    layers: Mapping[str, tuple[int, int]],
    generated: np.ndarray,
    simulated: np.ndarray,
    energy: np.ndarray,
    floor: tuple[np.ndarray, np.ndarray] | None,
    plots: bool,
    history: dict[str, list[float]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """metrics.json of ``generated`` (n, D) GeV against ``simulated`` (n, D) at incident
    energies ``energy`` (n,); ``floor``: (cells (m, D), energies (m,)) of other
    simulated showers for the truth-vs-truth floor."""
    from hepdl.data.representations.calo_layers import split_layers
    from hepdl.metrics.generative import shower_metrics

    out_dir = Path(out_dir)
    simulated_layers = split_layers(simulated, layers)
    generated_layers = split_layers(generated, layers)
    floor_layers = None if floor is None else (split_layers(floor[0], layers), floor[1])
    metrics = shower_metrics(
        simulated_layers, energy, generated_layers, energy, floor=floor_layers, seed=0
    )
    metrics = {**metrics, **(extra or {})}
    write_npz(out_dir / "predictions.npz", generated=generated.astype(np.float32), energy=energy)
    if plots:
        from hepdl.physics.shower_features import high_level_features
        from hepdl.plots import plot_training_history
        from hepdl.plots.generative import average_showers, feature_histograms

        average_showers(simulated_layers, generated_layers, out_dir / "average_showers.png")
        reference = high_level_features(simulated_layers, energy)
        generated_features = high_level_features(generated_layers, energy)
        floor_features = None if floor is None else high_level_features(*floor_layers)
        feature_histograms(
            reference,
            generated_features,
            out_dir / "shower_features.png",
            floor=floor_features,
        )
        if history:
            plot_training_history(history, path=out_dir / "history.png",
                                  **kept_by_separation(history))  # fmt: skip
    write_json(out_dir / "metrics.json", metrics)  # last: its presence means complete
    return metrics


def kept_by_separation(history: Mapping[str, list[float]]) -> dict[str, Any]:
    """The history figure's mark at the epoch of lowest ``val_separation_power`` (the
    generative configs' monitor), not of the lowest validation loss, which for a GAN is
    an adversarial number that says little about the showers."""
    values = np.asarray(history.get("val_separation_power") or [], dtype=np.float64)
    if not np.isfinite(values).any():
        return {}
    epoch = int(np.nanargmin(np.where(np.isfinite(values), values, np.nan))) + 1
    return {"kept_epoch": epoch, "kept_label": f"lowest val_separation_power (epoch {epoch})"}


def shower_summary_rows(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
    """The CLI's table: each metric with its error and its truth-vs-truth floor."""
    rows: list[tuple[str, str]] = []
    floor = metrics.get("floor") or {}

    def add(name: str, key: str, fmt: str = "{:.4f}") -> None:
        value = _entry(metrics, key)
        if value is None:
            return
        text = fmt.format(value)
        error = _entry(metrics, key + "_error")
        if error is not None:
            text += " ± " + fmt.format(error)
        reference = _entry(floor, key)
        if reference is not None:
            text += f"  (sim. vs sim. {fmt.format(reference)})"
        rows.append((name, text))

    add("classifier AUC, cells", "classifier_low_level.auc", "{:.3f}")
    add("classifier AUC, high-level", "classifier_high_level.auc", "{:.3f}")
    add("mean separation power", "mean_separation_power")
    add("W1 of E_total / E_inc", "w1_e_total_over_incident")
    if metrics.get("showers_per_second"):
        rows.append(("showers per second", f"{metrics['showers_per_second']:.4g}"))
    return "generated vs simulated showers", rows


def _entry(metrics: Mapping[str, Any], key: str) -> float | None:
    value: Any = metrics
    for part in key.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return None
        value = value[part]
    return float(value) if isinstance(value, (int, float)) else None
