r"""A conditional variational autoencoder of showers, trained on the negative ELBO.

Per shower, x = log cells of u (``hepdl.models._shower_space``), (mu, ln sigma^2) =
encoder(x, c), z = mu + sigma * eps, x_hat = decoder(z, c):

    reconstruction  sum over the D cells of (x_hat - x)^2
                    (a Gaussian likelihood of fixed width, up to constants)
    KL              -1/2 sum over the latent dims of (1 + ln sigma^2 - mu^2 - sigma^2)
    loss            reconstruction + beta KL,  beta = kl_weight * min(1, epoch / A)

averaged over the batch (weighted by the row weights, if any), A =
``kl_annealing_epochs`` (epoch counted from 0, so the first epoch trains an autoencoder;
A = 0: beta = kl_weight throughout). Validation uses beta = kl_weight, so ``val_loss``
compares across epochs. Both terms are logged per epoch: ``train_reconstruction``,
``train_kl``, ``val_reconstruction``, ``val_kl``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from hepdl.models._shower_space import log_cells
from hepdl.tasks._base import weighted_mean
from hepdl.tasks._generative import GenerativeTask
from hepdl.tasks._registry import register_task
from hepdl.tasks.vae_section import VaeConfig


@register_task("vae")
class VAETask(GenerativeTask):
    """Trains ``model`` (an encoder and decoder: ``hepdl.models.shower_vae``)."""

    Config = VaeConfig
    model_methods = ("sample_targets", "summary", "encode", "decode")
    model_names = "shower_vae"
    epoch_sum_names = ("reconstruction", "kl")

    def __init__(
        self,
        model: nn.Module,
        *,
        kl_weight: float = 1.0,
        kl_annealing_epochs: int = 0,
        **optimization: Any,
    ) -> None:
        super().__init__(model, **optimization)
        self.kl_weight = kl_weight
        self.kl_annealing_epochs = kl_annealing_epochs

    def beta(self, stage: str) -> float:
        """The KL weight of this epoch's training steps; the full weight in validation."""
        if stage != "train" or self.kl_annealing_epochs == 0:
            return self.kl_weight
        return self.kl_weight * min(1.0, self.current_epoch / self.kl_annealing_epochs)

    def elbo_terms(
        self, u: torch.Tensor, energy: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per shower (B,): the reconstruction error and the KL divergence."""
        mu, log_var = self.model.encode(u, energy)  # (B, latent) each
        z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
        x_hat = self.model.decode(z, energy)  # (B, D)
        reconstruction = ((x_hat - log_cells(u)) ** 2).sum(1)
        kl = -0.5 * (1 + log_var - mu**2 - log_var.exp()).sum(1)
        return reconstruction, kl

    def step_loss(self, batch: Any, stage: str) -> torch.Tensor:
        inputs, u, *weights = batch  # {"incident_energy": (B, 1)}, (B, D) [, (B,)]
        energy = self.condition_input(inputs)
        reconstruction, kl = self.elbo_terms(u, energy)
        per_row = reconstruction + self.beta(stage) * kl  # (B,)
        loss = weighted_mean(per_row, weights[0]) if weights else per_row.mean()
        sums = {"sums": torch.stack([reconstruction.detach().sum(), kl.detach().sum()])}
        if stage == "val":
            self.record_validation(loss, u, energy, **sums)
        else:
            self.record(stage, loss, len(u), sums)
        return loss

    def epoch_sums(self, records: Sequence[Any]) -> list[torch.Tensor]:
        total = torch.stack([r["sums"] for r in records]).sum(0)  # (2,)
        return [total[0], total[1]]


__all__ = ["VAETask", "VaeConfig"]
