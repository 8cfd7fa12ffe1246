"""Multi-head attention with a per-head additive bias, and ParT's NormFormer block.

Attention of queries q_i over keys k_j with an interaction bias U_ij per head,

    Attention(Q, K, V) = softmax( Q K^T / sqrt(d_head) + U ) V,

where padded keys get the lowest finite score, so their softmax weight is exactly 0 and
an all-padded row stays finite (uniform weights, no NaN in the forward or backward pass).

The block is the Particle Transformer's (Qu, Li, Qian 2022, arXiv:2202.03772) NormFormer
layout (Shleifer et al. 2021): pre-LayerNorm, attention, per-head scale, post-attention
LayerNorm, residual; then LayerNorm, Linear, GELU, LayerNorm, Linear and a learnt scale of
the residual. The head scale multiplies each head's output before the output projection,
as in NormFormer (weaver-core's code applies it after the projection).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class MultiHeadAttention(nn.Module):
    """(query (B, L, C), context (B, S, C), key_mask (B, S), bias (B, H, L, S)) -> (B, L, C)."""

    def __init__(self, dim: int, *, heads: int, dropout: float, scale_heads: bool) -> None:
        super().__init__()
        self.heads = heads
        self.head_dim = dim // heads
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.project = nn.Linear(dim, dim)
        self.dropout = dropout
        self.head_scale = nn.Parameter(torch.ones(heads)) if scale_heads else None

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        batch, length, _ = x.shape
        return x.view(batch, length, self.heads, self.head_dim).transpose(1, 2)  # (B, H, L, d)

    def forward(
        self,
        query: torch.Tensor,
        context: torch.Tensor,
        *,
        key_mask: torch.Tensor,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        batch, length, dim = query.shape
        q = self._split(self.query(query))  # (B, H, L, d)
        k, v = (self._split(t) for t in self.key_value(context).chunk(2, dim=-1))  # (B, H, S, d)
        scores = torch.zeros((), dtype=q.dtype, device=q.device) if bias is None else bias
        scores = scores.expand(batch, self.heads, length, context.shape[1])  # (B, H, L, S)
        blocked = ~key_mask[:, None, None, :]  # (B, 1, 1, S)
        scores = scores.masked_fill(blocked, torch.finfo(q.dtype).min)
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=scores, dropout_p=self.dropout if self.training else 0.0
        )  # (B, H, L, d)
        if self.head_scale is not None:
            out = out * self.head_scale.view(1, -1, 1, 1)
        return self.project(out.transpose(1, 2).reshape(batch, length, dim))  # (B, L, C)


class AttentionBlock(nn.Module):
    """ParT's particle-attention block, or a class-attention block when given ``cls``.

    Particle attention: x (B, P, C) -> (B, P, C), each particle attending to the valid
    particles with the interaction bias. Class attention (CaiT, Touvron et al. 2021): the
    class token cls (B, 1, C) attends to itself and the valid particles -> (B, 1, C).
    """

    def __init__(
        self,
        dim: int,
        *,
        heads: int,
        ffn_ratio: int,
        dropout: float,
        attn_dropout: float,
        activation_dropout: float,
    ) -> None:
        super().__init__()
        hidden = ffn_ratio * dim
        self.pre_attn_norm = nn.LayerNorm(dim)
        self.attn = MultiHeadAttention(dim, heads=heads, dropout=attn_dropout, scale_heads=True)
        self.post_attn_norm = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)
        self.pre_fc_norm = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.post_fc_norm = nn.LayerNorm(hidden)
        self.act_dropout = nn.Dropout(activation_dropout)
        self.fc2 = nn.Linear(hidden, dim)
        self.residual_scale = nn.Parameter(torch.ones(dim))

    def forward(
        self,
        x: torch.Tensor,
        *,
        mask: torch.Tensor,
        bias: torch.Tensor | None = None,
        cls: torch.Tensor | None = None,
    ) -> torch.Tensor:
        if cls is None:
            residual = x  # (B, P, C)
            normed = self.pre_attn_norm(x)
            h = self.attn(normed, normed, key_mask=mask, bias=bias)
        else:
            residual = cls  # (B, 1, C)
            context = self.pre_attn_norm(torch.cat([cls, x], dim=1))  # (B, 1 + P, C)
            key_mask = torch.cat([mask.new_ones(mask.shape[0], 1), mask], dim=1)  # (B, 1 + P)
            # the query is the raw class token, as in the reference implementation
            h = self.attn(cls, context, key_mask=key_mask)
        h = residual + self.dropout(self.post_attn_norm(h))
        f = self.act_dropout(self.post_fc_norm(self.act(self.fc1(self.pre_fc_norm(h)))))
        return self.dropout(self.fc2(f)) + self.residual_scale * h
