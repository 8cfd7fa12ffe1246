r"""Adversarial training of a conditional shower generator against a critic.

Per batch of simulated showers u (B, D) at incident energies E (B, 1), with generated
showers u' = G(z, c(E)) at the same energies and the critic's scores D(.):

    wasserstein     critic:    D(u') - D(u) + lambda (|grad_x D(x)| - 1)^2,
                               x = a u + (1 - a) u', a ~ U(0, 1) per shower
                    generator: -D(u')                                 (WGAN-GP)
    minimax         critic:    -ln sigma(D(u)) - ln(1 - sigma(D(u')))
                    generator: ln(1 - sigma(D(u')))            (Goodfellow et al. 2014)
    non_saturating  critic:    the same;  generator: -ln sigma(D(u'))

each averaged over the batch (the penalty x lives in the critic's input space,
``CaloGAN.critic_input``). The critic takes ``critic_steps`` updates per generator
update (a generator update follows every ``critic_steps``-th batch); the count of critic
updates is saved in the checkpoint, so a resumed run continues the same alternation.
Two Adam optimisers, critic first and generator second, both saved in checkpoints.

Logged per epoch: ``train_loss`` (the critic's loss, penalty included),
``train_critic_loss`` (without the penalty: for WGAN-GP, minus the critic's estimate of
the Wasserstein distance), ``train_generator_loss``, ``train_gradient_penalty``;
``val_loss`` is the critic loss on validation showers (no penalty, which needs gradients)
and ``val_separation_power`` the physics monitor (``hepdl.tasks._generative``). A NaN or
infinite critic or generator loss stops the fit at that epoch, naming the loss; there is
no bound relative to the first loss (``divergence_bound``): a WGAN critic's loss starts
near zero and grows in size as the critic learns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hepdl.tasks._generative import GenerativeTask
from hepdl.tasks._registry import register_task
from hepdl.tasks.gan_section import GanConfig


@register_task("gan")
class GANTask(GenerativeTask):
    """Trains ``model`` (a generator with a critic: ``hepdl.models.calo_gan``)."""

    Config = GanConfig
    model_methods = ("sample_targets", "summary", "generate", "critic_input", "critic_score")
    model_names = "calo_gan"
    divergence_watch = (
        "train_critic_loss", "train_generator_loss", "val_loss", "val_separation_power"
    )  # fmt: skip
    divergence_bound = False

    def __init__(
        self,
        model: nn.Module,
        *,
        loss: str = "wasserstein",
        gradient_penalty: float = 10.0,
        critic_steps: int = 5,
        betas: Sequence[float] = (0.5, 0.9),
        **optimization: Any,
    ) -> None:
        super().__init__(model, betas=tuple(betas), **optimization)
        self.loss_name = loss
        self.penalty_weight = gradient_penalty if loss == "wasserstein" else 0.0
        self.critic_steps = critic_steps
        self.critic_updates = 0  # over the whole fit; checkpointed

    def optimized_parameters(self) -> list[Any]:
        """The critic's parameters (first optimiser), the generator's (second)."""
        return [self.model.critic_parameters(), self.model.generator_parameters()]

    # ---------------------------------------------------------------- the two losses
    def critic_loss(
        self, real: torch.Tensor, fake: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss without penalty, gradient penalty) for critic inputs (B, ...) of simulated
        and generated samples; the penalty is 0 for the likelihood losses."""
        score_real = self.model.critic_score(real)  # (B,)
        score_fake = self.model.critic_score(fake)
        if self.loss_name == "wasserstein":
            loss = score_fake.mean() - score_real.mean()
        else:
            loss = F.binary_cross_entropy_with_logits(
                score_real, torch.ones_like(score_real)
            ) + F.binary_cross_entropy_with_logits(score_fake, torch.zeros_like(score_fake))
        if self.penalty_weight == 0 or not torch.is_grad_enabled():
            return loss, torch.zeros((), device=loss.device)
        return loss, self.gradient_penalty(real, fake)

    def gradient_penalty(self, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """mean over showers of (|grad D(x)|_2 - 1)^2 at x = a real + (1 - a) fake."""
        shape = (len(real),) + (1,) * (real.ndim - 1)  # one a per row: (B, 1) or (B, 1, 1)
        a = torch.rand(shape, device=real.device, dtype=real.dtype)
        between = (a * real + (1 - a) * fake).requires_grad_(True)  # (B, F) or (B, P, F)
        score = self.model.critic_score(between)
        (grad,) = torch.autograd.grad(score.sum(), between, create_graph=True)
        return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()

    def generator_loss(self, fake: torch.Tensor) -> torch.Tensor:
        score = self.model.critic_score(fake)  # (B,)
        if self.loss_name == "wasserstein":
            return -score.mean()
        if self.loss_name == "minimax":  # ln(1 - sigma(s)) = -softplus(s)
            return -F.softplus(score).mean()
        return F.binary_cross_entropy_with_logits(score, torch.ones_like(score))

    # ---------------------------------------------------------------- the steps
    def training_update(self, batch: Any) -> torch.Tensor:
        inputs, u, *_ = batch  # row weights do not enter an adversarial loss
        energy = self.condition_input(inputs)  # (B, 1): the incident energy of showers
        critic_optimizer, generator_optimizer = self.optimizers()
        model = self.model
        c = model.condition(energy)
        with torch.no_grad():
            generated = model.generate(c)  # (B, D)
        real, fake = model.critic_input(u, energy), model.critic_input(generated, energy)
        loss, penalty = self.critic_loss(real, fake)
        total = loss + self.penalty_weight * penalty
        critic_optimizer.zero_grad()
        self.backward_step(total)
        critic_optimizer.step()
        self.critic_updates += 1
        generator = torch.zeros((), device=total.device)  # no generator update this batch
        updated = self.critic_updates % self.critic_steps == 0
        if updated:
            generator = self.generator_loss(model.critic_input(model.generate(c), energy))
            generator_optimizer.zero_grad()
            self.backward_step(generator)
            generator_optimizer.step()
        self.after_optimizer_step()
        flag = torch.tensor(float(updated), device=total.device)
        losses = torch.stack([loss.detach(), generator.detach(), penalty.detach(), flag])
        self.record("train", total, len(u), {"losses": losses})
        return total

    def step_loss(self, batch: Any, stage: str) -> torch.Tensor:
        """The validation critic loss (no penalty) and the physics monitor's showers."""
        inputs, u, *_ = batch
        energy = self.condition_input(inputs)
        generated = self.model.sample_targets(energy)
        real = self.model.critic_input(u, energy)
        loss, _ = self.critic_loss(real, self.model.critic_input(generated, energy))
        self.record_validation(loss, u, energy)
        return loss

    def epoch_metrics(self, stage: str, records: Sequence[Any]) -> dict[str, float]:
        """Validation: the separation power; training: the mean critic loss, generator loss
        (over the batches that updated the generator) and gradient penalty."""
        if stage != "train":
            return super().epoch_metrics(stage, records)
        losses = torch.stack([r["losses"] for r in records]).double()  # (steps, 4)
        updated = losses[:, 3] > 0  # the batches that updated the generator
        metrics = {
            "train_critic_loss": float(losses[:, 0].mean()),
            "train_gradient_penalty": float(losses[:, 2].mean()),
        }
        if updated.any():  # an epoch of fewer than critic_steps batches may have none
            metrics["train_generator_loss"] = float(losses[updated, 1].mean())
        return metrics

    # ---------------------------------------------------------------- checkpoints
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["hepdl_gan"] = {"critic_updates": self.critic_updates}

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_load_checkpoint(checkpoint)
        self.critic_updates = int((checkpoint.get("hepdl_gan") or {}).get("critic_updates", 0))


__all__ = ["GANTask", "GanConfig"]
