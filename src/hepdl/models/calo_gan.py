r"""CaloGAN-style conditional GAN of calorimeter showers (Paganini, de Oliveira, Nachman,
"CaloGAN: simulating 3D high energy particle showers in multilayer electromagnetic
calorimeters with generative adversarial networks", PRD 97 (2018) 014021,
arXiv:1712.10321).

Generator: noise z ~ N(0, 1) (``latent`` dims) and the energy condition c (B, 1) ->
a shared trunk of LeakyReLU layers (``hidden``) -> one head per calorimeter layer (as
CaloGAN has one stream per layer) and an energy head. Layer l's head is a linear map to
its cells and a ReLU, w_l >= 0, so empty cells come out exactly empty; the energy head
gives each layer's energy over the incident energy, f_l = softplus (B, L). The shower is
u_l = f_l w_l / sum(w_l): the energy is placed by the energy head and shared out by the
layer's shape, so the total E_tot / E_inc = sum_l f_l is one output the critic can hold
the generator to, not the sum of 504 cells' errors (a first version with the cells
alone missed the total by 0.7 E_inc in W1 on the CaloGAN positrons).

Critic (discriminator): an MLP (no normalisation layers: the WGAN-GP penalty is per
shower) on the log cells, and, as CaloGAN's discriminator is made aware of energy
conservation, on what a generator most easily gets wrong: the logarithm of each layer's
energy, the total energy over the incident energy, and the condition c. It returns one
score per shower (a logit for the minimax loss, a Wasserstein critic value for WGAN-GP;
the loss is the task's, ``hepdl.tasks.gan``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from hepdl.models._registry import register_model
from hepdl.models._set_common import check_positive, check_widths
from hepdl.models._shower_space import ShowerGenerator, log_cells, mlp


@register_model("calo_gan")
class CaloGAN(ShowerGenerator):
    """Generator (one head per layer) and critic of ``layer_cells`` cells per layer."""

    def __init__(
        self,
        *,
        layer_cells: Sequence[int] = (288, 144, 72),
        energy_range: Sequence[float] = (1.0, 100.0),
        latent: int = 64,
        hidden: Sequence[int] = (256, 512),
        critic_hidden: Sequence[int] = (512, 256, 128),
    ) -> None:
        super().__init__()
        self._setup(layer_cells, energy_range)
        check_positive(latent, option="latent")
        hidden, critic_hidden = list(hidden), list(critic_hidden)
        check_widths(hidden, option="hidden")
        check_widths(critic_hidden, option="critic_hidden")
        self.latent = latent
        self.trunk = mlp([latent + 1, *hidden], final=True)
        self.heads = nn.ModuleList(nn.Linear(hidden[-1], n) for n in self.layer_cells)
        n_layers = len(self.layer_cells)
        self.energy_head = nn.Linear(hidden[-1], n_layers)
        # cells, ln of each layer's energy, E_total / E_inc, c
        self.critic = mlp([self.cells + n_layers + 2, *critic_hidden, 1])

    def generate(self, c: torch.Tensor, noise: torch.Tensor | None = None) -> torch.Tensor:
        """Fractions u (B, D) for conditions c (B, 1); ``noise`` (B, latent) or random."""
        if noise is None:
            noise = torch.randn(len(c), self.latent, device=c.device, dtype=c.dtype)
        h = self.trunk(torch.cat([noise, c], dim=1))  # (B, hidden[-1])
        energy = F.softplus(self.energy_head(h))  # (B, L): E_l / E_inc
        layers = []
        for head, f in zip(self.heads, energy.unbind(1), strict=True):
            w = torch.relu(head(h))  # (B, n_l)
            layers.append(f[:, None] * w / w.sum(1, keepdim=True).clamp_min(1e-12))
        return torch.cat(layers, dim=1)  # (B, D)

    def fractions(self, energy: torch.Tensor) -> torch.Tensor:
        return self.generate(self.condition(energy))

    def critic_input(self, u: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        """What the critic sees of showers u (B, D) at energies (B, 1): (B, D + L + 2)."""
        layers = self.layer_sums(u)  # (B, L)
        total = layers.sum(1, keepdim=True)  # (B, 1), E_total / E_inc
        return torch.cat([log_cells(u), log_cells(layers), total, self.condition(energy)], 1)

    def critic_score(self, critic_input: torch.Tensor) -> torch.Tensor:
        """One score per shower (B,) from ``critic_input``'s (B, D + L + 2)."""
        return self.critic(critic_input).squeeze(1)

    def generator_parameters(self) -> list[nn.Parameter]:
        return [*self.trunk.parameters(), *self.heads.parameters(),
                *self.energy_head.parameters()]  # fmt: skip

    def critic_parameters(self) -> list[nn.Parameter]:
        return list(self.critic.parameters())
