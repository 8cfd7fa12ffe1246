r"""Conditional variational autoencoder of calorimeter showers (Kingma, Welling,
arXiv:1312.6114; conditioned on the incident energy as in the CaloChallenge VAEs).

Encoder q(z | x, c): the log cells x (B, D) (``hepdl.models._shower_space``) and the
energy condition c (B, 1) -> LeakyReLU layers (``hidden``) -> mean mu and log-variance
ln sigma^2 (B, latent). Reparameterisation z = mu + sigma * eps, eps ~ N(0, 1). Decoder
p(x | z, c): (z, c) -> the ``hidden`` layers in reverse -> x_hat (B, D) through a ReLU,
so empty cells can come out exactly empty. Sampling draws z from the prior N(0, 1) and
decodes it. The ELBO and its KL weight are the task's (``hepdl.tasks.vae``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from hepdl.models._registry import register_model
from hepdl.models._set_common import check_positive, check_widths
from hepdl.models._shower_space import ShowerGenerator, cells_from_log, log_cells, mlp


@register_model("shower_vae")
class ShowerVAE(ShowerGenerator):
    """Encoder and decoder of showers of ``layer_cells`` cells per layer."""

    def __init__(
        self,
        *,
        layer_cells: Sequence[int] = (288, 144, 72),
        energy_range: Sequence[float] = (1.0, 100.0),
        latent: int = 32,
        hidden: Sequence[int] = (512, 256),
    ) -> None:
        super().__init__()
        self._setup(layer_cells, energy_range)
        check_positive(latent, option="latent")
        hidden = list(hidden)
        check_widths(hidden, option="hidden")
        self.latent = latent
        self.encoder = mlp([self.cells + 1, *hidden, 2 * latent])
        self.decoder = mlp([latent + 1, *reversed(hidden), self.cells])

    def encode(self, u: torch.Tensor, energy: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Showers u (B, D) at energies (B, 1) -> (mu, log-variance), each (B, latent)."""
        h = self.encoder(torch.cat([log_cells(u), self.condition(energy)], dim=1))
        mu, log_var = h.chunk(2, dim=1)
        return mu, log_var.clamp(-20, 10)  # sigma in [5e-5, 150]: no overflow in exp

    def decode(self, z: torch.Tensor, energy: torch.Tensor) -> torch.Tensor:
        """Latent z (B, latent) at energies (B, 1) -> log cells x_hat (B, D) >= 0."""
        return torch.relu(self.decoder(torch.cat([z, self.condition(energy)], dim=1)))

    def fractions(self, energy: torch.Tensor) -> torch.Tensor:
        z = torch.randn(len(energy), self.latent, device=energy.device, dtype=energy.dtype)
        return cells_from_log(self.decode(z, energy))
