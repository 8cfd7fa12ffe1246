"""Particle Transformer (ParT): particle attention with a pairwise interaction bias.

Qu, Li, Qian, "Particle Transformer for Jet Tagging", ICML 2022, arXiv:2202.03772; the
layout follows weaver-core's ``ParticleTransformer``. Particles are embedded by an MLP;
every pair (i, j) of particles is embedded into one attention bias per head,

    U_ij = PairMLP( ln Delta_ij, ln kT_ij, ln z_ij, ln m^2_ij ),
    Delta = sqrt(Delta y^2 + Delta phi^2), kT = min(pT_i, pT_j) Delta,
    z = min(pT_i, pT_j) / (pT_i + pT_j), m^2 = (E_i + E_j)^2 - |p_i + p_j|^2,

and L particle-attention blocks compute softmax(Q K^T / sqrt(d) + U) V. Two class-attention
blocks then let a learnt class token attend to the particles; a LayerNorm and a linear
layer classify it. Without ``pairwise`` (or with ``pair_input_dim=0``) U = 0: the plain
Transformer baseline of the paper.

Attention is permutation equivariant and the class token pools invariantly, so the output
is invariant under permutations of the particles. Padded particles and pairs are never
keys, and the embeddings (with their BatchNorm) see only valid particles and pairs, so the
output does not depend on the padding, in training mode as well.

Defaults are the paper's: embed (128, 512, 128), pair embed (64, 64, 64), 8 heads, 8
particle-attention and 2 class-attention blocks, FFN ratio 4, dropout 0.1 in the particle
blocks and none in the class blocks.

Backbone and head (``hepdl.models``): ``forward_features`` is the embeddings, the
particle- and class-attention blocks, the final LayerNorm of the class token and the hidden
FC layers ``head[:-1]`` (``head``: a name kept for the state_dict): (B, num_features),
num_features = the last entry of ``fc_sizes`` (the model width ``embed_dims[-1]``
without them, the paper's layout). ``forward_head`` is the output layer ``head[-1]``;
``reset_head`` replaces it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from hepdl.errors import ConfigError
from hepdl.models._attention import AttentionBlock
from hepdl.models._head import SequentialHeaded
from hepdl.models._registry import register_model
from hepdl.models._set_common import (
    check_dropout,
    check_output,
    check_point_cloud,
    check_positive,
    check_widths,
    probabilities,
)


def _embedding(width_in: int, widths: Sequence[int], *, pair: bool) -> nn.Sequential:
    """The reference's embeddings, as per-row layers on the valid rows (M, width_in).

    Particles: BN, then (LayerNorm, Linear, GELU) per width. Pairs: BN, then
    (Linear, BN, GELU) per width, without the last GELU (pre-activation bias).
    """
    layers: list[nn.Module] = [nn.BatchNorm1d(width_in)]
    for width in widths:
        if pair:
            layers += [nn.Linear(width_in, width), nn.BatchNorm1d(width), nn.GELU()]
        else:
            layers += [nn.LayerNorm(width_in), nn.Linear(width_in, width), nn.GELU()]
        width_in = width
    if pair:
        layers = layers[:-1]
    return nn.Sequential(*layers)


def _scatter_rows(rows: torch.Tensor, where: torch.Tensor) -> torch.Tensor:
    """Put rows (M, C) at the True entries of where (...) -> (..., C), zeros elsewhere."""
    out = rows.new_zeros((*where.shape, rows.shape[-1]))
    out[where] = rows
    return out


@register_model("part")
class ParticleTransformer(SequentialHeaded, nn.Module):
    """Particle Transformer on the ``point_cloud`` representation.

    Args:
        in_features: per-particle feature width F (set from the data by the trainer).
        pair_input_dim: width of ``pairwise`` (4 for the representation's
            (ln Delta, ln kT, ln z, ln m^2)); 0 builds the model without interaction bias.
        embed_dims: widths of the particle embedding; the last is the model width C.
        pair_embed_dims: hidden widths of the pair embedding (its output is one value per
            head).
        num_heads: attention heads; must divide C.
        num_layers: particle-attention blocks.
        num_cls_layers: class-attention blocks.
        ffn_ratio: hidden width of the feed-forward network over C.
        dropout, attn_dropout, activation_dropout: of the particle-attention blocks.
        fc_sizes: hidden widths of the classifier after the class token (paper: none).
        fc_dropout: dropout after each of them.
        out_features: 1 for a sigmoid output, the number of classes for softmax.
        output: ``sigmoid``, ``softmax`` or ``linear``.
    """

    consumes = ("features", "mask", "pairwise")

    def __init__(
        self,
        *,
        in_features: int,
        pair_input_dim: int = 4,
        embed_dims: Sequence[int] = (128, 512, 128),
        pair_embed_dims: Sequence[int] = (64, 64, 64),
        num_heads: int = 8,
        num_layers: int = 8,
        num_cls_layers: int = 2,
        ffn_ratio: int = 4,
        dropout: float = 0.1,
        attn_dropout: float = 0.1,
        activation_dropout: float = 0.1,
        fc_sizes: Sequence[int] = (),
        fc_dropout: float = 0.0,
        out_features: int = 1,
        output: str = "sigmoid",
    ) -> None:
        super().__init__()
        check_positive(in_features, option="in_features")
        if pair_input_dim < 0:
            raise ConfigError(f"model.pair_input_dim: expected >= 0, got {pair_input_dim}")
        check_widths(list(embed_dims), option="embed_dims")
        check_widths(list(pair_embed_dims), option="pair_embed_dims", allow_empty=True)
        check_widths(list(fc_sizes), option="fc_sizes", allow_empty=True)
        for option, value in (("num_heads", num_heads), ("ffn_ratio", ffn_ratio)):
            check_positive(value, option=option)
        if num_layers < 0 or num_cls_layers < 1:
            raise ConfigError(
                "model.num_layers, model.num_cls_layers: expected >= 0 particle-attention "
                f"and >= 1 class-attention blocks, got {num_layers} and {num_cls_layers}"
            )
        dim = int(embed_dims[-1])
        if dim % num_heads:
            raise ConfigError(
                f"model.num_heads: must divide the model width embed_dims[-1] = {dim}, "
                f"got {num_heads}"
            )
        for option, value in (
            ("dropout", dropout),
            ("attn_dropout", attn_dropout),
            ("activation_dropout", activation_dropout),
            ("fc_dropout", fc_dropout),
        ):
            check_dropout(value, option=option)
        check_output(output, out_features)
        self.in_features = in_features
        self.pair_input_dim = pair_input_dim
        self.num_heads = num_heads
        self.out_features = out_features
        self.output = output
        self.embed = _embedding(in_features, embed_dims, pair=False)
        self.pair_embed = (
            _embedding(pair_input_dim, [*pair_embed_dims, num_heads], pair=True)
            if pair_input_dim
            else None
        )
        block = {"heads": num_heads, "ffn_ratio": ffn_ratio}
        self.blocks = nn.ModuleList(
            AttentionBlock(
                dim,
                **block,
                dropout=dropout,
                attn_dropout=attn_dropout,
                activation_dropout=activation_dropout,
            )
            for _ in range(num_layers)
        )
        self.cls_blocks = nn.ModuleList(
            AttentionBlock(dim, **block, dropout=0.0, attn_dropout=0.0, activation_dropout=0.0)
            for _ in range(num_cls_layers)
        )
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        self.norm = nn.LayerNorm(dim)
        layers: list[nn.Module] = []
        width_in = dim
        for width in fc_sizes:
            layers += [nn.Linear(width_in, width), nn.ReLU()]
            if fc_dropout > 0:
                layers.append(nn.Dropout(fc_dropout))
            width_in = width
        self.num_features = width_in  # the backbone's embedding width D
        layers.append(nn.Linear(width_in, out_features))  # the head: head[-1]
        self.head = nn.Sequential(*layers)

    def interaction_bias(self, pairwise: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """U per head from the valid pairs, 0 elsewhere. (B, P, P, 4) -> (B, H, P, P)."""
        if self.pair_embed is None:
            raise ConfigError(
                "model.pair_input_dim: this 'part' model was built with pair_input_dim=0 and "
                "takes no pairwise features; set pair_input_dim to their width or pass "
                "pairwise=None"
            )
        pairs = mask.unsqueeze(2) & mask.unsqueeze(1)  # (B, P, P)
        bias = _scatter_rows(self.pair_embed(pairwise[pairs]), pairs)  # (B, P, P, H)
        return bias.permute(0, 3, 1, 2)  # (B, H, P, P)

    def forward(
        self,
        points: torch.Tensor | None,
        features: torch.Tensor,
        mask: torch.Tensor,
        pairwise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """points (B, P, 2) unused, features (B, P, F), mask (B, P),
        pairwise (B, P, P, pair_input_dim) or None -> logits (B, out_features)."""
        return self.forward_head(self.forward_features(points, features, mask, pairwise))

    def forward_features(
        self,
        points: torch.Tensor | None,
        features: torch.Tensor,
        mask: torch.Tensor,
        pairwise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The normalised class token after the hidden FC layers -> (B, num_features)."""
        mask = check_point_cloud(
            "part",
            points=points,
            features=features,
            mask=mask,
            in_features=self.in_features,
            pairwise=pairwise,
            pairwise_features=self.pair_input_dim,
        )
        x = _scatter_rows(self.embed(features[mask]), mask)  # (B, P, C)
        bias = None if pairwise is None else self.interaction_bias(pairwise, mask)
        keep = mask.unsqueeze(-1).to(x.dtype)  # (B, P, 1)
        for block in self.blocks:
            x = block(x, mask=mask, bias=bias) * keep  # (B, P, C)
        cls = self.cls_token.expand(x.shape[0], -1, -1)  # (B, 1, C)
        for block in self.cls_blocks:
            cls = block(x, mask=mask, cls=cls)  # (B, 1, C)
        x = self.norm(cls.squeeze(1))  # (B, C)
        return self.hidden_head(x)  # (B, num_features)

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Apply the output activation to logits from ``forward``."""
        return probabilities(logits, self.output)
