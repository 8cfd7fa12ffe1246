"""What a run costs, for the landscape table: seconds per training epoch, inference
throughput and the number of trainable parameters.

``EpochTimer`` times the training part of each epoch (the validation pass inside it is
subtracted, so models with the same training set compare by their training cost alone);
the task's epoch hooks drive it (hepdl.tasks._base). ``timed_scores`` times a
prediction on the test set after a warm-up batch, so one-off costs (lazy allocations,
oneDNN kernel selection) are not charged to throughput.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from hepdl.tasks.fit_state import EpochTimer

# Rows predicted once before timing: enough to trigger every lazy first-call cost.
WARMUP_ROWS = 256

# The wall-clock entries of metrics.json: they differ between any two runs, while every
# other entry is reproducible (same config and seed, same values).
TIMING_KEYS = ("train_seconds_per_epoch", "fit_seconds", "inference_jets_per_second")


def without_timings(metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` without the wall-clock entries (what two identical runs share)."""
    return {key: value for key, value in metrics.items() if key not in TIMING_KEYS}


def timed_scores(
    predict: Callable[[np.ndarray], np.ndarray], index: np.ndarray
) -> tuple[np.ndarray, float | None]:
    """``(predict(index), jets per second)``: the rows ``index`` predicted in one timed call
    after a warm-up call on the first ``WARMUP_ROWS`` of them. The rate is None for an
    empty index or a call too fast for the clock."""
    if len(index):
        predict(index[:WARMUP_ROWS])  # warm-up, not timed
    start = time.perf_counter()
    scores = predict(index)  # (N,)
    elapsed = time.perf_counter() - start
    rate = len(index) / elapsed if len(index) and elapsed > 0 else None
    return scores, rate


def trainable_parameters(model: Any) -> int:
    """Number of trainable parameters of a torch module (``requires_grad`` tensors)."""
    return int(sum(p.numel() for p in model.parameters() if p.requires_grad))


def run_costs(model: Any, timer: EpochTimer, jets_per_second: float | None) -> dict[str, Any]:
    """metrics.json's cost entries of a trained network: parameters, training seconds per
    epoch and inference jets per second (what ``hepdl compare`` tabulates)."""
    return {
        "n_parameters": trainable_parameters(model),
        "train_seconds_per_epoch": timer.mean_seconds(),
        "inference_jets_per_second": jets_per_second,
    }
