"""The losses and steps of the generative tasks (gan, vae, flow), against their formulas:
the WGAN-GP penalty of a linear critic, the critic / generator alternation, the minimax
and non-saturating losses, the VAE's KL and its annealing, the flow's likelihood."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hepdl.errors import ConfigError
from hepdl.models import create_model
from hepdl.models._shower_space import log_cells
from hepdl.tasks.flow import FlowTask
from hepdl.tasks.gan import GANTask
from hepdl.tasks.vae import VAETask

LAYERS = [6, 4, 2]


def model(name: str, **options):
    torch.manual_seed(0)
    small = {
        "calo_gan": {"latent": 4, "hidden": [8], "critic_hidden": [8]},
        "shower_vae": {"latent": 3, "hidden": [8]},
        "shower_flow": {"transforms": 2, "hidden": [8]},
    }[name]
    return create_model(name, layer_cells=LAYERS, energy_range=[1, 100], **small, **options)


def batch(n: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    u = torch.rand(n, 12, generator=g) * 0.05 * (torch.rand(n, 12, generator=g) < 0.7)
    energy = 1 + 99 * torch.rand(n, 1, generator=g)
    return {"incident_energy": energy}, u


def test_gradient_penalty_of_a_linear_critic_is_its_weight_norm_less_one_squared() -> None:
    task = GANTask(model("calo_gan"))
    linear = nn.Linear(17, 1)
    task.model.critic = linear  # D(x) = w.x + b: grad_x D = w everywhere
    real, fake = torch.randn(6, 17), torch.randn(6, 17)
    expected = (linear.weight.norm() - 1) ** 2
    assert task.gradient_penalty(real, fake).item() == pytest.approx(expected.item(), rel=1e-6)
    loss, penalty = task.critic_loss(real, fake)
    scores_real, scores_fake = linear(real)[:, 0], linear(fake)[:, 0]
    assert loss.item() == pytest.approx((scores_fake.mean() - scores_real.mean()).item(), 1e-6)
    assert penalty.item() == pytest.approx(expected.item(), rel=1e-6)


def test_minimax_and_non_saturating_losses_follow_goodfellow() -> None:
    fake = torch.randn(5, 17)
    for loss, formula in (
        ("minimax", lambda s: torch.log(1 - torch.sigmoid(s)).mean()),
        ("non_saturating", lambda s: -torch.log(torch.sigmoid(s)).mean()),
    ):
        task = GANTask(model("calo_gan"), loss=loss)
        scores = task.model.critic_score(fake)
        assert task.generator_loss(fake).item() == pytest.approx(formula(scores).item(), 1e-5)
        assert task.penalty_weight == 0  # no gradient penalty outside WGAN-GP
        real = torch.randn(5, 17)
        critic, penalty = task.critic_loss(real, fake)
        s_real = task.model.critic_score(real)
        expected = -(
            torch.log(torch.sigmoid(s_real)).mean() + torch.log(1 - torch.sigmoid(scores)).mean()
        )
        assert critic.item() == pytest.approx(expected.item(), rel=1e-5) and penalty == 0


def _attach_optimizers(task: GANTask) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    critic = torch.optim.Adam(task.model.critic_parameters(), lr=1e-2)
    generator = torch.optim.Adam(task.model.generator_parameters(), lr=1e-2)
    task.optimizers = lambda: (critic, generator)  # what Lightning's would return
    task._direct_backward = True
    return critic, generator


def test_the_generator_steps_once_per_critic_steps_batches() -> None:
    task = GANTask(model("calo_gan"), critic_steps=3)
    _attach_optimizers(task)

    def snapshot(params):
        return [p.detach().clone() for p in params]

    for step in range(1, 7):
        generator, critic = (snapshot(task.model.generator_parameters()),
                             snapshot(task.model.critic_parameters()))  # fmt: skip
        task.training_update(batch(seed=step))
        moved = [
            not torch.equal(a, b)
            for a, b in zip(generator, task.model.generator_parameters(), strict=True)
        ]
        assert any(moved) == (step % 3 == 0), step
        # every batch moves the critic (not its last bias: D(u') - D(u) does not depend on it)
        assert any(
            not torch.equal(a, b)
            for a, b in zip(critic, task.model.critic_parameters(), strict=True)
        )
    assert task.critic_updates == 6
    metrics = task.epoch_metrics("train", [r for _, _, r in task._epoch["train"]])
    assert set(metrics) == {"train_critic_loss", "train_generator_loss", "train_gradient_penalty"}
    assert all(math.isfinite(v) for v in metrics.values())


def test_an_epoch_without_a_generator_update_logs_no_generator_loss() -> None:
    task = GANTask(model("calo_gan"), critic_steps=5)
    _attach_optimizers(task)
    task.training_update(batch())
    metrics = task.epoch_metrics("train", [r for _, _, r in task._epoch["train"]])
    assert "train_generator_loss" not in metrics


def test_the_vae_loss_is_reconstruction_plus_beta_kl(monkeypatch) -> None:
    task = VAETask(model("shower_vae"), kl_weight=0.5, kl_annealing_epochs=4)
    inputs, u = batch()
    energy = inputs["incident_energy"]
    torch.manual_seed(5)
    reconstruction, kl = task.elbo_terms(u, energy)
    mu, log_var = task.model.encode(u, energy)
    q = torch.distributions.Normal(mu, torch.exp(0.5 * log_var))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    torch.testing.assert_close(kl, torch.distributions.kl_divergence(q, p).sum(1))
    torch.manual_seed(5)
    z = mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)
    naive = ((task.model.decode(z, energy) - log_cells(u)) ** 2).sum(1)
    torch.testing.assert_close(reconstruction, naive)
    # beta rises linearly over 4 epochs in training, is the full weight in validation
    for epoch, beta in ((0, 0.0), (1, 0.125), (2, 0.25), (4, 0.5), (9, 0.5)):
        monkeypatch.setattr(VAETask, "current_epoch", property(lambda self, e=epoch: e))
        assert task.beta("train") == pytest.approx(beta)
        assert task.beta("val") == 0.5


def test_the_flow_loss_is_the_negative_log_likelihood_per_cell() -> None:
    task = FlowTask(model("shower_flow"))
    inputs, u = batch()
    torch.manual_seed(2)
    loss = task.step_loss((inputs, u), "train")
    torch.manual_seed(2)
    expected = -task.model.log_prob(u, inputs["incident_energy"]).mean() / 12
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)


@pytest.mark.parametrize(
    ("task", "name", "wanted"),
    [
        (GANTask, "shower_vae", "calo_gan"),
        (VAETask, "calo_gan", "shower_vae"),
        (FlowTask, "calo_gan", "shower_flow"),
    ],
)
def test_a_task_refuses_a_model_of_another_kind(task, name, wanted) -> None:
    with pytest.raises(ConfigError, match=f"use model.name: {wanted}"):
        task(model(name))


def test_betas_reach_adam_and_are_refused_for_sgd() -> None:
    task = GANTask(model("calo_gan"), betas=(0.5, 0.9))
    optimizers = task.configure_optimizers()
    assert [o.param_groups[0]["betas"] for o in optimizers] == [(0.5, 0.9), (0.5, 0.9)]
    with pytest.raises(
        ConfigError, match=r"task.betas applies to optimizer adam or adamw, not 'sgd'"
    ):
        GANTask(model("calo_gan"), optimizer="sgd")


def test_minimax_score_identity() -> None:
    s = torch.linspace(-5, 5, 11)
    torch.testing.assert_close(-F.softplus(s), torch.log(1 - torch.sigmoid(s)), atol=1e-5, rtol=0)
