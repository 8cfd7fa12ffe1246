"""The same network in PyTorch, with the same weights: the cross-check of backprop.

:func:`to_torch` builds ``nn.Sequential`` layers computing ``z^L`` (the weighted input of
the output layer) from the scratch network's weights; :func:`torch_loss_and_gradients`
applies the output activation and the same cost and lets ``torch.autograd`` compute every
gradient. The cost follows the scratch network's route: from the logits (softplus,
log-softmax) where it simplifies the output error, from ``a^L`` otherwise.

This module imports torch at the top: import it only where torch is wanted.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hepdl.scratch.activations import ELU, Activation, LeakyReLU, Maxout
from hepdl.scratch.gradcheck import relative_error
from hepdl.scratch.network import MLP

__all__ = ["TorchMaxout", "to_torch", "torch_check", "torch_loss_and_gradients"]


class TorchMaxout(nn.Module):
    """max over ``pieces`` consecutive columns: ``(B, n * k) -> (B, n)``, as the scratch one."""

    def __init__(self, pieces: int) -> None:
        super().__init__()
        self.pieces = pieces

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.view(z.shape[0], -1, self.pieces).max(dim=2).values


def _torch_activation(act: Activation) -> nn.Module:
    if isinstance(act, Maxout):
        return TorchMaxout(act.pieces)
    if isinstance(act, LeakyReLU):
        return nn.LeakyReLU(act.slope)
    if isinstance(act, ELU):
        return nn.ELU(act.alpha)
    simple = {
        "sigmoid": nn.Sigmoid,
        "tanh": nn.Tanh,
        "relu": nn.ReLU,
        "softmax": lambda: nn.Softmax(dim=1),
        "linear": nn.Identity,
    }
    return simple[act.name]()


def to_torch(net: MLP, *, dtype: torch.dtype | None = None) -> nn.Sequential:
    """Layers ``Linear, activation, ..., Linear`` with copies of w^l, b^l: x -> z^L.

    ``dtype`` defaults to the network's (float32 or float64).
    """
    dtype = dtype or (torch.float64 if net.dtype == np.float64 else torch.float32)
    layers: list[nn.Module] = []
    for i, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        linear = nn.Linear(w.shape[1], w.shape[0], dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))  # same (out, in) layout as w^l
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if i < len(net.weights) - 1:
            layers.append(_torch_activation(net.activation_functions[i]))
    return nn.Sequential(*layers)


def _torch_cost(net: MLP, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    loss, output = net.loss_function, net.activation_functions[-1]
    n = len(z)
    simplified = net.simplify_output_error and loss.simplifies_with == output.name
    if simplified and loss.name == "bce":
        return F.binary_cross_entropy_with_logits(z, y, reduction="sum") / n
    if simplified and loss.name == "cce":
        return -(y * F.log_softmax(z, dim=1)).sum() / n
    a = _torch_activation(output)(z)
    if loss.name == "mse":
        return 0.5 * ((a - y) ** 2).sum() / n
    if loss.name == "bce":
        return F.binary_cross_entropy(a, y, reduction="sum") / n
    return -(y * torch.log(a)).sum() / n  # cce


def torch_loss_and_gradients(
    net: MLP, x: np.ndarray, y: np.ndarray
) -> tuple[float, list[np.ndarray]]:
    """Cost and ``[dC/dw^1, dC/db^1, ...]`` by torch.autograd, in the network's dtype."""
    x, y = net.check_data(x, y)
    layers = to_torch(net)
    cost = _torch_cost(net, layers(torch.from_numpy(x)), torch.from_numpy(y))
    cost.backward()
    grads = [g for m in layers if isinstance(m, nn.Linear) for g in (m.weight, m.bias)]
    return float(cost.detach()), [g.grad.numpy() for g in grads]


def torch_check(net: MLP, x: np.ndarray, y: np.ndarray) -> float:
    """Largest relative error between the scratch backprop and torch.autograd gradients."""
    _, grads = net.loss_and_gradients(x, y)
    _, reference = torch_loss_and_gradients(net, x, y)
    return max(relative_error(g, r) for g, r in zip(grads.as_list(), reference, strict=True))
