r"""Seed ensembles: one config trained with seeds ``seed .. seed + N - 1`` into one folder.

Only the experiment ``seed`` changes (weight initialisation, batch order, dropout, a
``data.train_size`` subsample); ``data.split.seed`` stays, so every member is tested on the
same jets and their scores can be averaged jet by jet. The folder holds

    <out>/seed-<s>/        one ordinary run directory per member
    <out>/ensemble/        metrics.json + predictions.npz of the averaged classifier
    <out>/comparison.md    mean ± std over members, and the ensemble as its own row
    <out>/roc_comparison.png

The ensemble-averaged classifier scores a jet by the mean member score,

.. math::

    \bar{s}(x) = \frac{1}{N}\sum_{k=1}^{N} s_k(x),

which averages out the seed-to-seed variance of the members (its AUC is usually at or
above the members' mean). Its cost columns are those of running all members: parameters
summed, inference rate :math:`1/\sum_k (1/r_k)`, seconds per epoch summed.

A member whose directory already holds ``metrics.json`` is not retrained, so an
interrupted ensemble resumes where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.config import ExperimentConfig
from hepdl.errors import ConfigError, DataError
from hepdl.train.compare import (
    Comparison,
    Row,
    RunRecord,
    load_run,
    rejection_on_grid,
    save_predictions,
    write_comparison,
)


@dataclass(frozen=True)
class EnsembleResult:
    out_dir: Path
    members: list[RunRecord]
    metrics: dict[str, Any]  # of the ensemble-averaged classifier
    comparison: Comparison


def member_seeds(config: ExperimentConfig, n_seeds: int) -> list[int]:
    """``config.seed, config.seed + 1, ..., config.seed + n_seeds - 1``."""
    if n_seeds < 1:
        raise ConfigError(f"--seeds: expected at least 1 member, got {n_seeds}")
    return [config.seed + i for i in range(n_seeds)]


def train_ensemble(
    config: ExperimentConfig,
    *,
    n_seeds: int,
    out_dir: Path | None = None,
    progress: Any = None,
) -> EnsembleResult:
    """Train the members (skipping finished ones), then compare them and their average."""
    from hepdl.train.run import train_experiment

    seeds = member_seeds(config, n_seeds)
    if out_dir is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        out_dir = Path(config.trainer.output_dir) / f"{config.name}-ensemble-{stamp}"
    out_dir = Path(out_dir)
    members = []
    for seed in seeds:
        run_dir = out_dir / f"seed-{seed}"
        if not (run_dir / "metrics.json").is_file():
            member = config.model_copy(update={"seed": seed})
            train_experiment(member, run_dir=run_dir, progress=progress)
        members.append(load_run(run_dir))
    return write_ensemble(members, out_dir=out_dir, name=config.name)


def write_ensemble(members: list[RunRecord], *, out_dir: Path, name: str) -> EnsembleResult:
    """The averaged classifier's metrics (``out_dir/ensemble``) and the comparison of the
    members (one row, mean ± std) with the average (its own row) in ``out_dir``."""
    from hepdl.metrics import classification_summary
    from hepdl.train.artifacts import write_json

    labels, scores = mean_scores(members)
    first = members[0].metrics
    efficiencies = [
        float(k.removeprefix("rejection_at_eps_s_"))
        for k in first
        if k.startswith("rejection_at_eps_s_")
    ]
    metrics = classification_summary(labels, scores, signal_efficiencies=efficiencies)
    metrics = {
        "data": first.get("data"),
        "n_test": len(labels),
        "members": [str(m.run_dir) for m in members],
        **metrics,
        **ensemble_costs(members),
    }
    ensemble_dir = out_dir / "ensemble"
    ensemble_dir.mkdir(parents=True, exist_ok=True)
    write_json(ensemble_dir / "metrics.json", metrics)
    save_predictions(ensemble_dir, labels=labels, scores=scores)

    label = f"{name} (mean score of {len(members)})"
    row = Row(
        name=label,
        # None (e.g. no background left at a working point) is kept: shown as > N_B.
        values={k: [v] for k, v in metrics.items() if v is None or isinstance(v, int | float)},
        n_runs=len(members),
        n_background=metrics["n_background"],
    )
    curve = rejection_on_grid(labels, scores)  # (G,): a single classifier, no band
    comparison = write_comparison(
        {name: members},
        out_dir=out_dir,
        extra_rows=[row],
        extra_bands={label: np.stack([curve, curve, curve])},
        title=f"{name}: {len(members)} seeds",
    )
    return EnsembleResult(out_dir=out_dir, members=members, metrics=metrics, comparison=comparison)


def mean_scores(members: list[RunRecord]) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, mean score)`` (N,) over the members, which must share the test jets."""
    if not members:
        raise ConfigError("ensemble: no member runs to average")
    labels, first = members[0].predictions()
    total = first.copy()
    for member in members[1:]:
        other_labels, other = member.predictions()
        if len(other_labels) != len(labels) or not np.array_equal(other_labels, labels):
            raise DataError(
                f"ensemble: {member.run_dir} was tested on other jets than "
                f"{members[0].run_dir} ({len(other_labels)} vs {len(labels)} test labels, or "
                "in another order); keep data.split.seed and the data fixed across seeds"
            )
        total += other
    return labels, total / len(members)


def ensemble_costs(members: list[RunRecord]) -> dict[str, float | None]:
    """Cost of running every member: summed parameters and s/epoch, combined rate."""

    def recorded(key: str) -> list[float] | None:
        values = [m.metrics.get(key) for m in members]
        return None if any(v is None for v in values) else [float(v) for v in values]

    params = recorded("n_parameters")
    seconds = recorded("train_seconds_per_epoch")
    rates = recorded("inference_jets_per_second")
    return {
        "n_parameters": sum(params) if params else None,
        "train_seconds_per_epoch": sum(seconds) if seconds else None,
        # Each jet passes through every member: the times per jet add up.
        "inference_jets_per_second": 1.0 / sum(1.0 / r for r in rates) if rates else None,
    }
