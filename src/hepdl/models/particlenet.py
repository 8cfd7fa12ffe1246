"""ParticleNet: a jet as a particle cloud, EdgeConv on dynamic kNN graphs.

Qu, Gouskos, "ParticleNet: Jet Tagging via Particle Clouds", Phys. Rev. D 101 (2020)
056019, arXiv:1902.08570; the layout follows weaver-core's ``ParticleNet``. The first
EdgeConv block finds neighbours in (Delta eta, Delta phi); later blocks recompute the kNN
graph in the feature space of the previous block's output (the "dynamic" graph). The
outputs of all blocks are concatenated and fused by a 1x1 convolution, averaged over the
valid particles, and classified by fully connected layers:

    x^(0) = BN(features),  x^(l) = EdgeConv_l(graph(l), x^(l-1)),
    y = FC( mean_i Fusion(x_i^(1) ++ ... ++ x_i^(L)) ).

Mean pooling and the kNN make the output invariant under permutations of the particles;
padded particles are zeroed after every block, are never neighbours and are left out of
the mean. BatchNorm in training mode sees padded entries in its batch statistics as exact
zeros (EdgeConv zeroes their edge input), as in the reference; in eval mode the output does
not depend on the padding at all.

Defaults are the paper's ParticleNet: k = 16, EdgeConv widths (64, 64, 64), (128, 128,
128), (256, 256, 256), fusion, FC 256 with dropout 0.1. ParticleNet-Lite: k = 7,
((32, 32, 32), (64, 64, 64)), fc_sizes (128,).

Backbone and head (``hepdl.models``): ``forward_features`` is the input BatchNorm, the
EdgeConv blocks, the fusion, the masked mean and the hidden FC layers ``head[:-1]``
(``head``: a name kept for the state_dict): (B, num_features), num_features = the last
entry of ``fc_sizes`` (else the fusion width, else the last EdgeConv width).
``forward_head`` is the output layer ``head[-1]``; ``reset_head`` replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hepdl.models._edgeconv import EdgeConvBlock
from hepdl.models._head import SequentialHeaded
from hepdl.models._registry import register_model
from hepdl.models._set_common import (
    check_dropout,
    check_output,
    check_point_cloud,
    check_positive,
    check_widths,
    masked_mean,
    probabilities,
)


def _fusion_width(in_channels: int) -> int:
    """The reference's fusion width: in_channels rounded down to a multiple of 128,
    clipped to [128, 1024]."""
    return min(max((in_channels // 128) * 128, 128), 1024)


@register_model("particlenet")
class ParticleNet(SequentialHeaded, nn.Module):
    """ParticleNet on the ``point_cloud`` representation.

    Args:
        in_features: per-particle feature width F (set from the data by the trainer).
        k: neighbours per particle in every EdgeConv block.
        edge_convs: widths of the edge network of each EdgeConv block.
        fusion: concatenate all blocks' outputs and fuse them by a 1x1 convolution.
        fusion_channels: width of the fusion layer; ``None`` uses the reference rule
            (sum of block widths rounded down to a multiple of 128, within [128, 1024]).
        fc_sizes: widths of the fully connected layers after pooling.
        fc_dropout: dropout after each of them.
        input_batch_norm: BatchNorm on the input features (the reference's use_fts_bn).
        out_features: 1 for a sigmoid output, the number of classes for softmax.
        output: ``sigmoid``, ``softmax`` or ``linear``.
    """

    consumes = ("points", "features", "mask")

    def __init__(
        self,
        *,
        in_features: int,
        k: int = 16,
        edge_convs: Sequence[Sequence[int]] = ((64, 64, 64), (128, 128, 128), (256, 256, 256)),
        fusion: bool = True,
        fusion_channels: int | None = None,
        fc_sizes: Sequence[int] = (256,),
        fc_dropout: float = 0.1,
        input_batch_norm: bool = True,
        out_features: int = 1,
        output: str = "sigmoid",
    ) -> None:
        super().__init__()
        check_positive(in_features, option="in_features")
        check_positive(k, option="k")
        check_widths([len(block) for block in edge_convs], option="edge_convs")
        for block in edge_convs:
            check_widths(list(block), option="edge_convs")
        check_widths(list(fc_sizes), option="fc_sizes", allow_empty=True)
        check_dropout(fc_dropout, option="fc_dropout")
        check_output(output, out_features)
        self.in_features = in_features
        self.out_features = out_features
        self.output = output
        self.input_norm: nn.Module = (
            nn.BatchNorm1d(in_features) if input_batch_norm else nn.Identity()
        )
        blocks = []
        width_in = in_features
        for widths in edge_convs:
            blocks.append(EdgeConvBlock(k=k, in_channels=width_in, widths=widths))
            width_in = int(widths[-1])
        self.edge_convs = nn.ModuleList(blocks)
        self.fusion: nn.Module | None = None
        if fusion:
            concatenated = sum(int(widths[-1]) for widths in edge_convs)
            if fusion_channels is not None:
                check_positive(fusion_channels, option="fusion_channels")
            width_in = fusion_channels or _fusion_width(concatenated)
            self.fusion = nn.Sequential(
                nn.Conv1d(concatenated, width_in, 1, bias=False),
                nn.BatchNorm1d(width_in),
                nn.ReLU(),
            )
        layers: list[nn.Module] = []
        for width in fc_sizes:
            layers += [nn.Linear(width_in, width), nn.ReLU()]
            if fc_dropout > 0:
                layers.append(nn.Dropout(fc_dropout))
            width_in = width
        self.num_features = width_in  # the backbone's embedding width D
        layers.append(nn.Linear(width_in, out_features))  # the head: head[-1]
        self.head = nn.Sequential(*layers)

    def forward(
        self,
        points: torch.Tensor,
        features: torch.Tensor,
        mask: torch.Tensor,
        pairwise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """points (B, P, 2), features (B, P, F), mask (B, P) -> logits (B, out_features).

        ``pairwise`` is accepted for a uniform signature and not used.
        """
        return self.forward_head(self.forward_features(points, features, mask, pairwise))

    def forward_features(
        self,
        points: torch.Tensor,
        features: torch.Tensor,
        mask: torch.Tensor,
        pairwise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The pooled embedding after the hidden FC layers -> (B, num_features)."""
        mask = check_point_cloud(
            "particlenet",
            points=points,
            features=features,
            mask=mask,
            in_features=self.in_features,
        )
        keep = mask.unsqueeze(1).to(features.dtype)  # (B, 1, P)
        coordinates = points.transpose(1, 2) * keep  # (B, 2, P)
        x = self.input_norm(features.transpose(1, 2) * keep) * keep  # (B, F, P)
        outputs = []
        for index, block in enumerate(self.edge_convs):
            x = block(coordinates if index == 0 else x, x, mask) * keep  # (B, C_l, P)
            outputs.append(x)
        if self.fusion is not None:
            x = self.fusion(torch.cat(outputs, dim=1)) * keep  # (B, C_fusion, P)
        x = masked_mean(x.transpose(1, 2), mask)  # (B, C)
        return self.hidden_head(x)  # (B, num_features)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Apply the output activation to logits from ``forward``."""
        return probabilities(logits, self.output)
