r"""A conditional normalizing flow of showers, trained by maximum likelihood.

The loss is the negative log-likelihood of the dequantised log cells x
(``hepdl.models.shower_flow``) per cell, -ln p(x | c) / D, averaged over the batch
(weighted by the row weights, if any): the flow's exact density, so ``train_loss`` and
``val_loss`` are directly comparable (nats per cell; lower is a better density model).
"""

from __future__ import annotations

from typing import Any

import torch

from hepdl.tasks._base import weighted_mean
from hepdl.tasks._generative import GenerativeTask
from hepdl.tasks._registry import register_task
from hepdl.tasks.flow_section import FlowConfig


@register_task("flow")
class FlowTask(GenerativeTask):
    """Trains ``model`` (a density of showers: ``hepdl.models.shower_flow``)."""

    Config = FlowConfig
    model_methods = ("sample_targets", "summary", "log_prob")
    model_names = "shower_flow"

    def step_loss(self, batch: Any, stage: str) -> torch.Tensor:
        inputs, u, *weights = batch  # {"incident_energy": (B, 1)}, (B, D) [, (B,)]
        energy = self.condition_input(inputs)
        per_row = -self.model.log_prob(u, energy) / u.shape[1]  # (B,) nats per cell
        loss = weighted_mean(per_row, weights[0]) if weights else per_row.mean()
        if stage == "val":
            self.record_validation(loss, u, energy)
        else:
            self.record(stage, loss, len(u))
        return loss


__all__ = ["FlowConfig", "FlowTask"]
