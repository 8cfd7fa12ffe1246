"""EdgeConv on a dynamic k-nearest-neighbour graph (Wang et al. 2019), as in ParticleNet.

For particle i with neighbours j in kNN(i), the edge features are (x_i, x_j - x_i); a
shared network h (1x1 convolutions, BatchNorm, ReLU) maps each edge, and the block output
is

    x_i' = ReLU( shortcut(x_i) + mean_{j in kNN(i)} h(x_i, x_j - x_i) ).

Masking: padded particles are never neighbours (their distance is +inf) and a particle is
never its own neighbour. The edge input of a padded particle is exactly zero, as in the
reference, so BatchNorm's training-mode statistics see only zeros from padding. A jet
with fewer than k + 1 valid particles averages over the neighbours it has, so the output
does not depend on how far the jet is padded in eval mode (the reference code instead
shifts padded points 1e9 away, which keeps them as neighbours of small jets).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def knn(points: torch.Tensor, mask: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k nearest valid neighbours of each particle, excluding itself.

    points (B, C, P), mask (B, P) -> indices (B, P, k'), valid (B, P, k') with
    k' = min(k, P - 1); ``valid`` is False where the jet has fewer than k' other particles.
    Distance: |x_i - x_j|^2 = |x_i|^2 - 2 x_i.x_j + |x_j|^2.
    """
    width = points.shape[2]
    if torch.jit.is_tracing():  # an exported graph (hepdl.deploy) takes any P: k' in the graph
        k = torch.clamp(torch.tensor(k), max=width - 1)
    else:
        k = min(k, width - 1)
    inner = torch.einsum("bci,bcj->bij", points, points)  # (B, P, P)
    square = (points * points).sum(dim=1)  # (B, P)
    distance = square.unsqueeze(2) - 2 * inner + square.unsqueeze(1)  # (B, P, P)
    # i == j from an index comparison, not torch.eye: ONNX's EyeLike has no bool kernel in
    # ONNX Runtime; the same mask
    index = torch.arange(width, device=points.device)  # (P,)
    self_pair = index.unsqueeze(1) == index.unsqueeze(0)  # (P, P)
    blocked = self_pair.unsqueeze(0) | ~mask.unsqueeze(1)  # (B, P, P): j is no neighbour
    distance = distance.masked_fill(blocked, float("inf"))
    nearest, indices = distance.topk(k, dim=-1, largest=False)  # (B, P, k)
    return indices, torch.isfinite(nearest)


def gather_neighbours(features: torch.Tensor, indices: torch.Tensor) -> torch.Tensor:
    """features (B, C, P), indices (B, P, k) -> neighbour features (B, C, P, k)."""
    batch, channels, width = features.shape
    offset = torch.arange(batch, device=features.device).view(batch, 1, 1) * width
    flat = features.transpose(1, 2).reshape(batch * width, channels)  # (B*P, C)
    picked = flat[(indices + offset).reshape(-1)]  # (B*P*k, C)
    return picked.view(batch, width, -1, channels).permute(0, 3, 1, 2)  # (B, C, P, k)


class EdgeConvBlock(nn.Module):
    """One EdgeConv block: kNN on ``points``, edge network on ``features``, shortcut.

    (points (B, D, P), features (B, C, P), mask (B, P)) -> (B, widths[-1], P).
    """

    def __init__(self, *, k: int, in_channels: int, widths: Sequence[int]) -> None:
        super().__init__()
        self.k = k
        layers: list[nn.Module] = []
        width_in = 2 * in_channels  # (x_i, x_j - x_i)
        for width in widths:
            # bias is redundant before BatchNorm
            layers += [nn.Conv2d(width_in, width, 1, bias=False), nn.BatchNorm2d(width)]
            layers.append(nn.ReLU())
            width_in = width
        self.edge_net = nn.Sequential(*layers)
        out = int(widths[-1])
        self.shortcut: nn.Module = (
            nn.Identity()
            if in_channels == out
            else nn.Sequential(nn.Conv1d(in_channels, out, 1, bias=False), nn.BatchNorm1d(out))
        )
        self.act = nn.ReLU()

    def forward(
        self, points: torch.Tensor, features: torch.Tensor, mask: torch.Tensor
    ) -> torch.Tensor:
        indices, valid = knn(points, mask, self.k)  # (B, P, k), (B, P, k)
        neighbours = gather_neighbours(features, indices)  # (B, C, P, k)
        centre = features.unsqueeze(-1).expand_as(neighbours)  # (B, C, P, k)
        # A padded centre still has real neighbours; zero its edges, as the reference's are
        # (its padded points pick each other), so that (0, x_j) stays out of BatchNorm's
        # batch statistics. Only the zeros themselves enter them.
        centre_mask = mask[:, None, :, None].to(features.dtype)  # (B, 1, P, 1)
        edge_input = torch.cat([centre, neighbours - centre], dim=1) * centre_mask  # (B, 2C, P, k)
        edges = self.edge_net(edge_input)  # (B, C', P, k)
        weight = valid.unsqueeze(1).to(edges.dtype)  # (B, 1, P, k)
        count = weight.sum(dim=-1).clamp(min=1)  # (B, 1, P)
        aggregated = (edges * weight).sum(dim=-1) / count  # (B, C', P)
        return self.act(self.shortcut(features) + aggregated)
