"""When a training has diverged, so that its metrics measure no trained model.

The rule, checked at the end of every training epoch (after its validation):

    diverged  <=>  train_loss or val_loss is NaN or infinite, or
                   loss > L0 + FACTOR * max(|L0|, 1)

where L0 is the loss of the very first training step (the initial weights, before any
update) and FACTOR = 1000: three orders of magnitude above where it started. An epoch's
loss is the mean over its steps, so one step that blows the weights up shows even when
later steps settle (a dead network that then outputs a constant: AUC 0.5). ``max(|L0|, 1)``
keeps the rule meaningful for a loss that starts near zero or below it (a Gaussian
negative log-likelihood).

A diverged run stops training there (nothing it learns afterwards can be trusted) and is
recorded as ``"diverged": {"epoch": e, "reason": ...}`` in metrics.json (``e`` counts from
1; ``"test_metrics": false`` added when its outputs are NaN, so no test metric exists),
printed as such, marked in ``hepdl compare`` and never chosen by a scan.

A task may watch other losses (a GAN: its critic and generator losses, each named when it
turns NaN) and drop the bound (an adversarial loss has no scale set by its start: a WGAN
critic's starts near 0 and grows as the critic learns); the non-finite rule always holds.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

FACTOR = 1000.0
DIVERGED_KEY = "diverged"  # the metrics.json entry
WATCHED = ("train_loss", "val_loss")


def find_divergence(
    losses: Mapping[str, float],
    *,
    initial_loss: float | None,
    epoch: int,
    watched: tuple[str, ...] = WATCHED,
) -> dict[str, Any] | None:
    """``{"epoch": epoch, "reason": ...}`` when one of ``losses`` (this epoch's
    ``watched`` losses) is non-finite or above the bound of ``initial_loss`` (the
    module's rule; None: no bound), else None."""
    for name in watched:
        value = losses.get(name)
        if value is None:
            continue
        if not math.isfinite(value):
            return {"epoch": epoch, "reason": f"{name} is {value}"}
        if initial_loss is not None and math.isfinite(initial_loss):
            bound = initial_loss + FACTOR * max(abs(initial_loss), 1.0)
            if value > bound:
                return {
                    "epoch": epoch,
                    "reason": f"{name} {value:.4g} is above {FACTOR:g} x the initial loss "
                    f"{initial_loss:.4g}",
                }
    if initial_loss is not None and not math.isfinite(initial_loss):
        return {"epoch": epoch, "reason": f"the initial loss is {initial_loss}"}
    return None


def without_test_metrics(diverged: Mapping[str, Any]) -> dict[str, Any]:
    """The record of a run whose outputs are NaN after diverging: no metric computed."""
    return {**diverged, "test_metrics": False}


def has_test_metrics(metrics: Mapping[str, Any]) -> bool:
    """False for a diverged run whose test outputs were NaN (no metric to show)."""
    return bool((metrics.get(DIVERGED_KEY) or {}).get("test_metrics", True))


def divergence_line(metrics: Mapping[str, Any]) -> str | None:
    """The line that says a run diverged (for the CLI and tables), or None."""
    diverged = metrics.get(DIVERGED_KEY)
    if not diverged:
        return None
    return (
        f"training DIVERGED at epoch {diverged.get('epoch')} ({diverged.get('reason')}): "
        f"the metrics of this run measure no trained model; lower task.lr or set "
        f"task.gradient_clip"
    )
