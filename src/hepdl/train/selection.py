"""What chooses between runs: a validation metric, never a test metric.

``hepdl scan``, ``learning-curve`` and Optuna rank their points by the validation
counterpart of the metric asked for (``task.default_metric()`` unless ``--metric``): the
per-epoch metric the task logs on the validation rows (``val_auc`` for ``auc``,
``val_resolution`` for ``relative_resolution``), taken at the run's best epoch in the
metric's better direction. The test metrics are reported beside it and choose nothing,
so the test rows stay an unbiased estimate of the chosen point.

Generic over tasks: the counterpart is found among the names the task section declares
(``epoch_metrics``), by name, not by task kind.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from hepdl.errors import ConfigError, DataError

VAL_PREFIX = "val_"


def validation_metric(metric: str, declared: Sequence[str]) -> str:
    """The declared per-epoch validation metric that stands for test metric ``metric``:
    ``metric`` itself when it is one (``val_auc``), else ``val_<metric>``, else the first
    declared ``val_<tail>`` or ``val_<tail>_<target>`` whose ``<tail>`` ends the name
    (``relative_resolution`` -> ``val_resolution``; with several targets, the first
    target's, which metrics.json's top-level numbers are). ConfigError when none."""
    validation = [name for name in declared if name.startswith(VAL_PREFIX)]
    if metric in validation:
        return metric
    if VAL_PREFIX + metric in validation:
        return VAL_PREFIX + metric
    words = metric.split("_")
    for start in range(1, len(words)):  # the longest tail first
        tail = "_".join(words[start:])
        for name in validation:
            stem = name.removeprefix(VAL_PREFIX)
            if stem == tail or stem.startswith(tail + "_"):
                return name
    raise ConfigError(
        f"--metric '{metric}': no validation counterpart among the task's per-epoch metrics "
        f"({', '.join(validation)}); a scan chooses by validation metrics only: give one of "
        "these, or a test metric that has one"
    )


def best_validation_value(
    history: Mapping[str, Sequence[Any]],
    name: str,
    *,
    direction: str,
    target: float | None = None,
    source: str,
) -> float:
    """The best finite value of ``history[name]`` over the epochs: the highest for
    ``direction`` "maximize", the lowest for "minimize", the nearest ``target`` when given
    (a response: 1). DataError naming ``source`` (the run) when the history lacks it."""
    values = [float(v) for v in history.get(name) or [] if _finite(v)]
    if not values:
        recorded = ", ".join(k for k in history if k.startswith(VAL_PREFIX)) or "none"
        raise DataError(
            f"{source}: history.json has no finite '{name}' to choose by (its validation "
            f"metrics: {recorded}); choose --metric with one of these"
        )
    if target is not None:
        return min(values, key=lambda v: abs(v - target))
    return max(values) if direction == "maximize" else min(values)


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
