"""The heads and losses of ``hepdl.tasks.regress`` (formulas in its docstring), on
standardised targets: (B, T * P) outputs -> point, log-variance or quantiles -> loss."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F

LOSSES = ("mse", "mae", "huber", "log_cosh", "quantile", "gaussian_nll")
DEFAULT_QUANTILES = (0.16, 0.5, 0.84)


def structured_outputs(raw: torch.Tensor, *, n_targets: int, loss: str) -> dict[str, torch.Tensor]:
    """The head's outputs (B, T * P) as ``point`` (B, T) and, per loss, ``log_var`` (B, T)
    or non-crossing ``quantiles`` (B, T, Q), in standardised target units."""
    per_target = raw.reshape(len(raw), n_targets, -1)  # (B, T, P)
    if loss == "gaussian_nll":
        return {"point": per_target[..., 0], "log_var": per_target[..., 1]}
    if loss == "quantile":
        steps = torch.cat([per_target[..., :1], F.softplus(per_target[..., 1:])], dim=-1)
        return {"quantiles": steps.cumsum(dim=-1)}  # (B, T, Q), rising along Q
    return {"point": per_target[..., 0]}


def decode_outputs(raw: np.ndarray, *, n_targets: int, loss: str) -> dict[str, np.ndarray]:
    """``structured_outputs`` of saved model outputs (N, T * P), as float64 NumPy arrays."""
    with torch.no_grad():
        parts = structured_outputs(
            torch.as_tensor(raw, dtype=torch.float64), n_targets=n_targets, loss=loss
        )
    return {name: values.numpy() for name, values in parts.items()}


def median_index(quantiles: Sequence[float]) -> int:
    """The quantile nearest 0.5: the point prediction of a quantile regression."""
    return int(np.argmin([abs(q - 0.5) for q in quantiles]))


def per_row_loss(
    outputs: Mapping[str, torch.Tensor],
    target: torch.Tensor,
    *,
    loss: str,
    huber_delta: float = 1.0,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
) -> torch.Tensor:
    """The loss of each row, (B,): averaged over targets (and quantiles). ``target`` (B, T)."""
    if loss == "quantile":
        q = torch.as_tensor(quantiles, dtype=target.dtype, device=target.device)  # (Q,)
        residual = target[..., None] - outputs["quantiles"]  # (B, T, Q)
        pinball = torch.maximum(q * residual, (q - 1) * residual)
        return pinball.mean(dim=(1, 2))
    if loss == "gaussian_nll":
        log_var = outputs["log_var"].clamp(-30.0, 30.0)  # exp stays finite in float32
        nll = 0.5 * (log_var + (target - outputs["point"]) ** 2 * torch.exp(-log_var))
        return nll.mean(dim=1)
    residual = outputs["point"] - target  # (B, T)
    if loss == "mse":
        return (residual**2).mean(dim=1)
    if loss == "mae":
        return residual.abs().mean(dim=1)
    if loss == "huber":
        return F.huber_loss(outputs["point"], target, reduction="none", delta=huber_delta).mean(
            dim=1
        )
    # log cosh(r) = r + softplus(-2 r) - ln 2, without overflow for large |r|
    return (residual + F.softplus(-2.0 * residual) - np.log(2.0)).mean(dim=1)
