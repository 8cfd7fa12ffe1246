"""Deep Sets for jets: Energy Flow and Particle Flow Networks.

Komiske, Metodiev, Thaler, "Energy Flow Networks: Deep Sets for Particle Jets",
JHEP 01 (2019) 121, arXiv:1810.05165. A per-particle network Phi maps each particle to a
latent vector, a sum over the particles pools them, and a network F classifies the sum:

    PFN:  y = F( sum_i Phi(p_i) )                 p_i: all features of particle i
    EFN:  y = F( sum_i z_i Phi(eta_i, phi_i) )    z_i = pT_i / sum_j pT_j

The sum makes both invariant under permutations of the particles. The EFN is also
infrared and collinear safe: a particle with z -> 0 contributes nothing, and splitting a
particle into two collinear ones with z_a + z_b = z leaves the sum unchanged. Padded
particles (``mask = False``) get weight 0, so they never change the output.

Defaults follow the paper: Phi (100, 100, 256), F (100, 100, 100), ReLU.

Backbone and head (``hepdl.models``): ``forward_features`` is Phi, the (weighted) sum and
the hidden layers of F: (B, num_features), num_features = the last entry of ``f_sizes``
(the latent dimension, ``phi_sizes[-1]``, without them). ``forward_head`` is the linear
output layer ``head``; ``reset_head`` replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hepdl.errors import ConfigError
from hepdl.models._head import check_embedding
from hepdl.models._registry import register_model
from hepdl.models._set_common import (
    check_dropout,
    check_output,
    check_point_cloud,
    check_positive,
    check_widths,
    masked_sum,
    probabilities,
)

Z_TRANSFORMS = ("identity", "exp")


def _dense(widths: Sequence[int], width_in: int, *, dropout: float) -> nn.Sequential:
    """``Linear -> ReLU -> [Dropout]`` per width; acts on the last axis of any shape."""
    layers: list[nn.Module] = []
    for width in widths:
        layers += [nn.Linear(width_in, width), nn.ReLU()]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        width_in = width
    return nn.Sequential(*layers)


class _DeepSet(nn.Module):
    """Phi per particle, weighted masked sum, then F and a linear output layer."""

    def __init__(
        self,
        *,
        phi_in: int,
        phi_sizes: Sequence[int],
        f_sizes: Sequence[int],
        out_features: int,
        output: str,
        dropout: float,
    ) -> None:
        super().__init__()
        check_widths(list(phi_sizes), option="phi_sizes")
        check_widths(list(f_sizes), option="f_sizes", allow_empty=True)
        check_output(output, out_features)
        check_dropout(dropout)
        self.out_features = out_features
        self.output = output
        self.latent_dim = int(phi_sizes[-1])
        self.phi = _dense(phi_sizes, phi_in, dropout=0.0)
        self.f = _dense(f_sizes, self.latent_dim, dropout=dropout)
        self.num_features = int(f_sizes[-1]) if f_sizes else self.latent_dim
        self.head = nn.Linear(self.num_features, out_features)

    def _pool(self, phi_in: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """F(sum_i w_i Phi(phi_in_i)) without the output layer -> (B, num_features)."""
        latent = masked_sum(self.phi(phi_in), weights)  # (B, latent)
        return self.f(latent)  # (B, num_features)

    def forward(
        self,
        points: torch.Tensor | None,
        features: torch.Tensor,
        mask: torch.Tensor,
        pairwise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """points (B, P, 2), features (B, P, F), mask (B, P) -> logits (B, out)."""
        return self.forward_head(self.forward_features(points, features, mask, pairwise))

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The output layer, no activation: embedding (B, num_features) -> logits."""
        check_embedding(type(self).__name__, features, self.num_features)
        return self.head(features)  # (B, out_features)

    def reset_head(self, out_features: int, output: str = "linear") -> None:
        """A fresh output layer of ``out_features`` and output activation ``output``;
        Phi and F are kept."""
        check_output(output, out_features)
        self.head = nn.Linear(self.num_features, out_features).to(self.head.weight)
        self.out_features = out_features
        self.output = output

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Apply the output activation to logits from ``forward``."""
        return probabilities(logits, self.output)


@register_model("pfn")
class ParticleFlowNetwork(_DeepSet):
    """Particle Flow Network: y = F(sum_i Phi(features_i)). Ignores ``points``.

    Args:
        in_features: per-particle feature width F (set from the data by the trainer).
        phi_sizes: widths of Phi; the last one is the latent dimension.
        f_sizes: widths of the hidden layers of F (may be empty).
        out_features: 1 for a sigmoid output, the number of classes for softmax.
        output: ``sigmoid``, ``softmax`` or ``linear``.
        dropout: dropout after each hidden layer of F.
    """

    consumes = ("features", "mask")

    def __init__(
        self,
        *,
        in_features: int,
        phi_sizes: Sequence[int] = (100, 100, 256),
        f_sizes: Sequence[int] = (100, 100, 100),
        out_features: int = 1,
        output: str = "sigmoid",
        dropout: float = 0.0,
    ) -> None:
        check_positive(in_features, option="in_features")
        super().__init__(
            phi_in=in_features,
            phi_sizes=phi_sizes,
            f_sizes=f_sizes,
            out_features=out_features,
            output=output,
            dropout=dropout,
        )
        self.in_features = in_features

    def forward_features(
        self,
        points: torch.Tensor | None,
        features: torch.Tensor,
        mask: torch.Tensor,
        pairwise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """points (B, P, 2) unused, features (B, P, F), mask (B, P) -> (B, num_features)."""
        mask = check_point_cloud(
            "pfn", points=points, features=features, mask=mask, in_features=self.in_features
        )
        return self._pool(features, mask)


@register_model("efn")
class EnergyFlowNetwork(_DeepSet):
    """Energy Flow Network: y = F(sum_i z_i Phi(delta_eta_i, delta_phi_i)).

    The angles are ``points`` (Delta eta, Delta phi to the jet axis). The energy
    fraction z_i is read from column ``z_feature`` of ``features``: with
    ``z_transform="exp"`` the column holds ln z (the default, column 4 = ``log_pt_rel`` of
    the ``point_cloud`` representation's default features), with ``"identity"`` it holds
    z itself. With ``normalize_z`` the weights are divided by their sum over the valid
    particles, z_i = pT_i / sum_j pT_j, as in the paper's preprocessing.

    Args:
        in_features: per-particle feature width F (set from the data by the trainer).
        z_feature: index of the column of ``features`` that holds z (or ln z).
        z_transform: ``exp`` or ``identity``, applied to that column.
        normalize_z: divide z by its sum over the jet's valid particles.
        phi_sizes, f_sizes, out_features, output, dropout: as for ``pfn``.
    """

    consumes = ("points", "features", "mask")

    def __init__(
        self,
        *,
        in_features: int,
        z_feature: int = 4,
        z_transform: str = "exp",
        normalize_z: bool = True,
        phi_sizes: Sequence[int] = (100, 100, 256),
        f_sizes: Sequence[int] = (100, 100, 100),
        out_features: int = 1,
        output: str = "sigmoid",
        dropout: float = 0.0,
    ) -> None:
        check_positive(in_features, option="in_features")
        if not 0 <= z_feature < in_features:
            raise ConfigError(
                f"model.z_feature: expected a feature column in [0, {in_features}), got {z_feature}"
            )
        if z_transform not in Z_TRANSFORMS:
            raise ConfigError(
                f"model.z_transform: expected one of {', '.join(Z_TRANSFORMS)}, got '{z_transform}'"
            )
        super().__init__(
            phi_in=2,
            phi_sizes=phi_sizes,
            f_sizes=f_sizes,
            out_features=out_features,
            output=output,
            dropout=dropout,
        )
        self.in_features = in_features
        self.z_feature = z_feature
        self.z_transform = z_transform
        self.normalize_z = normalize_z

    def energy_weights(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """z_i per particle, 0 for padding. features (B, P, F), mask (B, P) -> (B, P)."""
        z = features[..., self.z_feature]  # (B, P)
        if self.z_transform == "exp":
            # padding holds ln z = 0 (z = 1): send it to -inf so that its z is exactly 0
            z = torch.exp(z.masked_fill(~mask, float("-inf")))
        z = z.masked_fill(~mask, 0.0)
        if self.normalize_z:
            z = z / z.sum(dim=1, keepdim=True).clamp(min=torch.finfo(z.dtype).tiny)
        return z

    def forward_features(
        self,
        points: torch.Tensor,
        features: torch.Tensor,
        mask: torch.Tensor,
        pairwise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """points (B, P, 2), features (B, P, F), mask (B, P) -> (B, num_features)."""
        mask = check_point_cloud(
            "efn", points=points, features=features, mask=mask, in_features=self.in_features
        )
        return self._pool(points, self.energy_weights(features, mask))
