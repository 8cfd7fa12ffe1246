"""Shared pieces of the set models (Deep Sets, ParticleNet, Particle Transformer).

Input checks for the ``point_cloud`` arrays, the output-activation options they share
with ``mlp`` and masked pooling over particles. Padding is ``mask = False``; every pooling
here gives padded particles exactly zero weight, so a jet padded to any P gives the same
result.
"""

from __future__ import annotations

import torch

from hepdl.errors import ConfigError, DataError

OUTPUTS = ("sigmoid", "softmax", "linear")


def check_output(output: str, out_features: int) -> None:
    """ConfigError for an unknown output activation or a softmax with fewer than 2 classes."""
    if output not in OUTPUTS:
        raise ConfigError(f"model.output: expected one of {', '.join(OUTPUTS)}, got '{output}'")
    if out_features < 1:
        raise ConfigError(f"model.out_features: expected a positive width, got {out_features}")
    if output == "softmax" and out_features < 2:
        raise ConfigError("model.output: softmax needs out_features >= 2 (one per class)")


def check_positive(value: int, *, option: str) -> None:
    if value < 1:
        raise ConfigError(f"model.{option}: expected a positive integer, got {value}")


def check_widths(widths: list[int], *, option: str, allow_empty: bool = False) -> None:
    if not widths and not allow_empty:
        raise ConfigError(f"model.{option}: expected at least one width, got []")
    if any(w < 1 for w in widths):
        raise ConfigError(f"model.{option}: every width must be positive, got {widths}")


def check_dropout(dropout: float, *, option: str = "dropout") -> None:
    if not 0.0 <= dropout < 1.0:
        raise ConfigError(f"model.{option}: expected a probability in [0, 1), got {dropout}")


def probabilities(logits: torch.Tensor, output: str) -> torch.Tensor:
    """Apply the output activation (sigmoid, softmax or none) to logits."""
    if output == "sigmoid":
        return torch.sigmoid(logits)
    if output == "softmax":
        return torch.softmax(logits, dim=-1)
    return logits


def check_point_cloud(
    model: str,
    *,
    points: torch.Tensor | None,
    features: torch.Tensor,
    mask: torch.Tensor,
    in_features: int,
    pairwise: torch.Tensor | None = None,
    pairwise_features: int = 0,
) -> torch.Tensor:
    """DataError unless the arrays have the ``point_cloud`` shapes; returns a bool mask.

    Expected: ``points (B, P, 2)``, ``features (B, P, in_features)``, ``mask (B, P)``,
    ``pairwise (B, P, P, pairwise_features)``.
    """
    if features.ndim != 3 or features.shape[2] != in_features:
        raise DataError(
            f"{model}: features must have shape (batch, particles, {in_features}), "
            f"got {tuple(features.shape)}"
        )
    batch, width = features.shape[:2]
    if tuple(mask.shape) != (batch, width):
        raise DataError(
            f"{model}: mask must have shape (batch, particles) = {(batch, width)}, "
            f"got {tuple(mask.shape)}"
        )
    if points is not None and tuple(points.shape) != (batch, width, 2):
        raise DataError(
            f"{model}: points must have shape (batch, particles, 2) = {(batch, width, 2)}, "
            f"got {tuple(points.shape)}"
        )
    if pairwise is not None:
        expected = (batch, width, width, pairwise_features)
        if tuple(pairwise.shape) != expected:
            raise DataError(
                f"{model}: pairwise must have shape (batch, particles, particles, "
                f"{pairwise_features}) = {expected}, got {tuple(pairwise.shape)}"
            )
    return mask.to(torch.bool)


def masked_sum(x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_i w_i x_i over particles; w is the bool mask or per-particle weights that are 0
    on padding. x (B, P, C), weights (B, P) -> (B, C)."""
    return (x * weights.unsqueeze(-1).to(x.dtype)).sum(dim=1)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over the valid particles; 0 for an empty jet. x (B, P, C) -> (B, C)."""
    counts = mask.sum(dim=1, keepdim=True).clamp(min=1).to(x.dtype)  # (B, 1)
    return masked_sum(x, mask) / counts
