r"""Seed ensembles: one config trained with seeds ``seed .. seed + N - 1`` into one folder.

Only the experiment ``seed`` changes (weight initialisation, batch order, dropout, a
``data.train_size`` subsample); ``data.split.seed`` stays, so every member is tested on the
same rows and their predictions can be averaged row by row. The folder holds

    <out>/seed-<s>/        one ordinary run directory per member
    <out>/ensemble/        metrics.json + predictions.npz of the averaged model
    <out>/comparison.md    mean ± std over members, and the ensemble as its own row
    <out>/roc_comparison.png (classifiers) or response_comparison.png (regressions)

The ensemble-averaged classifier scores a jet by the mean member score,

.. math::

    \bar{s}(x) = \frac{1}{N}\sum_{k=1}^{N} s_k(x),

which averages out the seed-to-seed variance of the members (its AUC is usually at or
above the members' mean). A regression ensemble likewise predicts the mean of the
members' point predictions, :math:`\bar{y}(x) = \frac{1}{N}\sum_k \hat{y}_k(x)` per
target, judged like a member (response, resolution, binned in the members' bins, the
members' baseline beside it). Its metrics add the spread across members,
``member_spread``: the median over test rows of
:math:`\operatorname{std}_k \hat{y}_k(x) / |y|` (sample std over members, relative to the
true value, so it reads beside the relative resolution; null for one member); the
per-row std is saved as ``predicted_member_std`` (N, T) beside ``predicted_point``.

Its cost columns are those of running all members: parameters summed, inference rate
:math:`1/\sum_k (1/r_k)`, seconds per epoch summed.

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
    PREDICTIONS_FILE,
    REJECTION_PREFIX,
    Comparison,
    Row,
    RunRecord,
    load_run,
    one_kind,
    save_predictions,
    task_of,
    write_comparison,
)


@dataclass(frozen=True)
class EnsembleResult:
    out_dir: Path
    members: list[RunRecord]
    metrics: dict[str, Any]  # of the ensemble-averaged model
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
    """The averaged model's metrics (``out_dir/ensemble``) and the comparison of the
    members (one row, mean ± std) with the average (its own row) in ``out_dir``."""
    if not members:
        raise ConfigError("ensemble: no member runs to average")
    kind = one_kind(members)
    # How members' predictions combine (``TaskBase.predictions_are``).
    averages = {"scores": _average_classifier, "values": _average_regression}
    average = averages.get(task_of(kind).predictions_are)
    if average is None:
        raise ConfigError(f"ensemble: task.kind '{kind}' has no ensemble average")
    metrics, what = average(members, out_dir / "ensemble")
    first = members[0]
    record = RunRecord(
        run_dir=out_dir / "ensemble",
        metrics=metrics,
        model=first.model,
        config_name=first.config_name,
        kind=kind,
    )
    label = f"{name} ({what} of {len(members)})"
    comparison = write_comparison(
        {name: members},
        out_dir=out_dir,
        extra_rows=[Row(name=label, runs=[record], n_runs=len(members))],
        title=f"{name}: {len(members)} seeds",
    )
    return EnsembleResult(out_dir=out_dir, members=members, metrics=metrics, comparison=comparison)


def _average_classifier(members: list[RunRecord], ensemble_dir: Path) -> tuple[dict, str]:
    """The mean-score classifier's metrics and predictions, written to ``ensemble_dir``."""
    from hepdl.metrics import classification_summary
    from hepdl.train.artifacts import write_json

    labels, scores = mean_scores(members)
    first = members[0].metrics
    efficiencies = [
        float(k.removeprefix(REJECTION_PREFIX)) for k in first if k.startswith(REJECTION_PREFIX)
    ]
    metrics = classification_summary(labels, scores, signal_efficiencies=efficiencies)
    metrics = {**_provenance(members, len(labels)), **metrics, **ensemble_costs(members)}
    ensemble_dir.mkdir(parents=True, exist_ok=True)
    write_json(ensemble_dir / "metrics.json", metrics)
    save_predictions(ensemble_dir, labels=labels, scores=scores)
    return metrics, "mean score"


def _average_regression(members: list[RunRecord], ensemble_dir: Path) -> tuple[dict, str]:
    """The mean-prediction regression's metrics and predictions, written to
    ``ensemble_dir``."""
    from hepdl.atomic import write_npz
    from hepdl.train.artifacts import write_json

    true, point, spread = mean_predictions(members)
    judged = regression_ensemble_metrics(true, point, spread, reference=members[0].metrics)
    metrics = {**_provenance(members, len(true)), **judged, **ensemble_costs(members)}
    ensemble_dir.mkdir(parents=True, exist_ok=True)
    write_json(ensemble_dir / "metrics.json", metrics)
    write_npz(
        ensemble_dir / PREDICTIONS_FILE,
        true=true,
        predicted_point=point,
        predicted_member_std=spread,
    )
    return metrics, "mean prediction"


def _provenance(members: list[RunRecord], n_test: int) -> dict[str, Any]:
    return {
        "data": members[0].metrics.get("data"),
        "n_test": n_test,
        "members": [str(m.run_dir) for m in members],
    }


def _check_same_rows(
    member: RunRecord, first: RunRecord, *, same: bool, n: int, n_first: int, rows: str
) -> None:
    """DataError unless ``member`` was tested on the rows of ``first`` (``rows``: "jets"
    with their labels, "rows" with their true values)."""
    if not same:
        counted = "test labels" if rows == "jets" else "test rows"
        raise DataError(
            f"ensemble: {member.run_dir} was tested on other {rows} than {first.run_dir} "
            f"({n} vs {n_first} {counted}, or in another order); keep data.split.seed and "
            "the data fixed across seeds"
        )


def mean_scores(members: list[RunRecord]) -> tuple[np.ndarray, np.ndarray]:
    """``(labels, mean score)`` (N,) over the members, which must share the test jets."""
    if not members:
        raise ConfigError("ensemble: no member runs to average")
    labels, first = members[0].predictions()
    total = first.copy()
    for member in members[1:]:
        other_labels, other = member.predictions()
        same = len(other_labels) == len(labels) and np.array_equal(other_labels, labels)
        _check_same_rows(
            member, members[0], same=same, n=len(other_labels), n_first=len(labels), rows="jets"
        )
        total += other
    return labels, total / len(members)


def mean_predictions(members: list[RunRecord]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(true, mean point prediction, sample std over members)``, each (N, T), of
    regression members that share the test rows (the std is NaN for one member)."""
    if not members:
        raise ConfigError("ensemble: no member runs to average")
    true, first = members[0].regression_predictions()
    points = [first]
    for member in members[1:]:
        other_true, point = member.regression_predictions()
        same = other_true.shape == true.shape and np.array_equal(other_true, true)
        _check_same_rows(
            member, members[0], same=same, n=len(other_true), n_first=len(true), rows="rows"
        )
        points.append(point)
    stacked = np.stack(points)  # (K, N, T)
    if len(points) == 1:
        return true, first, np.full_like(first, np.nan)
    return true, stacked.mean(axis=0), stacked.std(axis=0, ddof=1)


def regression_ensemble_metrics(
    true: np.ndarray, point: np.ndarray, spread: np.ndarray, *, reference: dict[str, Any]
) -> dict[str, Any]:
    """The metrics of the mean prediction ``point`` against ``true`` (each (N, T)) per
    target, as a member's metrics.json has them: in the bins of ``reference`` (a member's
    metrics), its baseline beside them, and ``member_spread`` (see the module doc)."""
    from hepdl.metrics.regression import regression_summary

    names = list(reference.get("targets") or [f"target_{t}" for t in range(true.shape[1])])
    per_target: dict[str, Any] = {}
    for t, target in enumerate(names):
        member = (reference.get("per_target") or {}).get(target, reference)
        binned = member.get("binned")
        edges = [b["low"] for b in binned] + [binned[-1]["high"]] if binned else None
        result = regression_summary(point[:, t], true[:, t], bins=edges)
        if member.get("baseline"):  # the uncorrected input: the same rows, the same numbers
            result["baseline"] = member["baseline"]
        relative = spread[:, t] / np.abs(true[:, t])  # (N,)
        finite = relative[np.isfinite(relative)]
        result["member_spread"] = float(np.median(finite)) if finite.size else None
        per_target[target] = result
    metrics = {"targets": names, **per_target[names[0]]}
    if len(names) > 1:
        metrics["per_target"] = per_target
    return metrics


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
