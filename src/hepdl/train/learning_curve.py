"""Learning curves: test metrics against the number of training rows.

A learning curve is only honest when the validation and test rows are the same at every
size: ``data.train_size`` draws the smaller training sets from the training split alone
(:func:`hepdl.data.splits.training_subset`), and :func:`run_learning_curve` is a scan over
``data.train_size`` x seed (:func:`hepdl.train.scan.run_scan`), plotted as mean and
standard deviation over the seeds (:func:`hepdl.plots.learning_curve.plot_learning_curve`).
Any task kind: the metric defaults to the task's own (``task.default_metric()``: AUC for
a classifier, the relative resolution for a regression).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError

SIZE_KEY = "data.train_size"


def parse_sizes(text: str) -> list[int]:
    """``"1000,3000,10000"`` -> [1000, 3000, 10000] (positive integers, no repeats)."""
    try:
        sizes = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"--sizes {text!r}: expected training-set sizes as integers, e.g. 1000,3000,10000"
        ) from None
    if not sizes or min(sizes) < 1 or len(set(sizes)) != len(sizes):
        raise ConfigError(f"--sizes {text!r}: expected distinct positive integers")
    return sorted(sizes)


def run_learning_curve(
    config_path: str | Path,
    *,
    sizes: Sequence[int],
    seeds: int = 3,
    metric: str | None = None,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    storage: str | None = None,
    study_name: str | None = None,
    report: Callable[[str], None] | None = None,
) -> Any:
    """Train at every size with ``seeds`` seeds; writes the scan outputs (results.csv,
    results.md, scan.json) and ``learning_curve.png`` into the scan directory. ``metric``:
    None for the task's default; the study optimises it in its better direction."""
    from hepdl.plots.learning_curve import plot_learning_curve
    from hepdl.train.scan import GridAxis, ScanRequest, run_scan

    request = ScanRequest(
        config_path=Path(config_path),
        grid=[GridAxis(SIZE_KEY, list(sizes))],
        seeds=seeds,
        overrides=list(overrides),
        out=None if out is None else Path(out),
        storage=storage,
        study_name=study_name,
        metric=metric,
        kind="learning-curve",
    )
    result = run_scan(request, report=report)
    size, mean, std = curve_points(result.rows, metric=result.metric)
    plot_learning_curve(
        size, mean, std, metric=result.metric, path=result.out / "learning_curve.png"
    )
    return result


def curve_points(rows: Sequence[Any], *, metric: str) -> tuple[np.ndarray, ...]:
    """Training rows, mean and std over seeds of ``metric`` (each (P,), by size; std NaN
    for one seed); sizes whose every seed failed are left out."""
    points = sorted(
        (row.values[SIZE_KEY], row.mean(metric), row.std(metric))
        for row in rows
        if row.mean(metric) is not None
    )
    if not points:
        raise DataError(f"learning curve: no finished run reports the metric '{metric}'")
    return tuple(np.asarray(v, dtype=np.float64) for v in zip(*points, strict=True))
