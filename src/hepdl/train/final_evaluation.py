"""The test-set evaluation a finished fit writes (metrics.json, predictions, figures), the
same for in-memory and streamed training: the task's own evaluation, with the divergence
record when the fit diverged, or the record alone when the outputs are not finite."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np


def write_test_evaluation(
    run_dir: Path, *, task: Any, coding: Any, outputs: np.ndarray, extra: dict, **evaluation: Any
) -> dict[str, Any]:
    """metrics.json and the rest of ``coding.write_evaluation`` for the test ``outputs``
    (N, K); ``task.diverged`` (hepdl.tasks.divergence) goes into the metrics, and NaN
    outputs of a diverged fit leave no metric to compute: the record says why."""
    from hepdl.tasks.divergence import DIVERGED_KEY, without_test_metrics
    from hepdl.train.artifacts import write_json

    if task.diverged is not None:
        extra = {**extra, DIVERGED_KEY: task.diverged}
        if not np.isfinite(outputs).all():
            metrics = {**extra, DIVERGED_KEY: without_test_metrics(task.diverged)}
            write_json(run_dir / "metrics.json", metrics)
            return metrics
    return coding.write_evaluation(run_dir, outputs=outputs, extra=extra, **evaluation)
