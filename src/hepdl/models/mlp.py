"""The multilayer perceptron of the lectures.

Each hidden layer is ``Linear -> [BatchNorm] -> activation -> [Dropout]``; a maxout layer
replaces ``Linear -> activation`` by ``k`` affine maps and their element-wise maximum,
h_j = max_k (W_k x + b_k)_j (Goodfellow et al. 2013).

``forward`` returns logits: the output activation (sigmoid or softmax) is fused into the
loss for numerical stability (the lectures' simplified output error, delta^L = a^L - y).
``probabilities`` applies it for prediction.

Backbone and head (``hepdl.models``): ``forward_features`` is the hidden stack, features
(B, F) -> (B, num_features) with ``num_features`` the last hidden width (F without hidden
layers); ``forward_head`` the output layer ``layers[-1]``; ``reset_head`` replaces it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from hepdl.errors import ConfigError
from hepdl.models._head import check_embedding
from hepdl.models._registry import register_model
from hepdl.models._set_common import check_output

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "maxout", "linear")
OUTPUTS = ("sigmoid", "softmax", "linear")
INITIALIZATIONS = ("default", "xavier", "he", "normal")


class Maxout(nn.Module):
    """Maxout unit: ``pieces`` affine maps, element-wise maximum. (B, in) -> (B, out)."""

    def __init__(self, in_features: int, out_features: int, *, pieces: int) -> None:
        super().__init__()
        self.out_features = out_features
        self.pieces = pieces
        self.linear = nn.Linear(in_features, out_features * pieces)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.linear(x).view(x.shape[0], self.out_features, self.pieces)  # (B, out, k)
        return z.max(dim=-1).values  # (B, out)


def _activation(name: str, *, leaky_relu_slope: float, elu_alpha: float) -> nn.Module:
    if name == "sigmoid":
        return nn.Sigmoid()
    if name == "tanh":
        return nn.Tanh()
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(leaky_relu_slope)
    if name == "elu":
        return nn.ELU(elu_alpha)
    return nn.Identity()  # "linear"


def _per_layer(activation: str | Sequence[str], n_layers: int) -> list[str]:
    names = [activation] * n_layers if isinstance(activation, str) else list(activation)
    if len(names) != n_layers:
        raise ConfigError(
            f"model.activation: got {len(names)} activations for {n_layers} hidden layers; "
            "give one name, or one per hidden layer"
        )
    for name in names:
        if name not in ACTIVATIONS:
            raise ConfigError(
                f"model.activation: unknown activation '{name}'; "
                f"choose from {', '.join(ACTIVATIONS)}"
            )
    return names


@register_model("mlp")
class MLP(nn.Module):
    """Fully connected network on a feature vector. (B, F) -> logits (B, out_features).

    Args:
        in_features: input width F (set from the data by the trainer).
        hidden: widths of the hidden layers, e.g. ``[64, 64, 64]``.
        activation: one name for all hidden layers or one per layer, from ``ACTIVATIONS``.
        out_features: 1 for a sigmoid output, the number of classes for softmax.
        output: ``sigmoid`` (binary), ``softmax`` (categorical) or ``linear`` (regression).
        batch_norm: BatchNorm1d after each hidden affine map.
        dropout: dropout probability after each hidden activation.
        init: ``default`` (PyTorch), ``xavier`` (Glorot normal, for sigmoid/tanh),
            ``he`` (Kaiming normal, for the ReLU family) or ``normal``
            (w ~ N(0, sigma_w^2 / fan_in), b ~ N(0, sigma_b^2), the lectures' Gaussian).
    """

    consumes = ("features",)

    def __init__(
        self,
        *,
        in_features: int,
        hidden: Sequence[int] = (64, 64, 64),
        activation: str | Sequence[str] = "relu",
        out_features: int = 1,
        output: str = "sigmoid",
        batch_norm: bool = False,
        dropout: float = 0.0,
        init: str = "he",
        init_sigma_w: float = 1.0,
        init_sigma_b: float = 0.0,
        maxout_pieces: int = 2,
        leaky_relu_slope: float = 0.01,
        elu_alpha: float = 1.0,
    ) -> None:
        super().__init__()
        if in_features < 1:
            raise ConfigError(f"model.in_features: expected a positive width, got {in_features}")
        if any(int(w) < 1 for w in hidden):
            raise ConfigError(f"model.hidden: every width must be positive, got {list(hidden)}")
        if output not in OUTPUTS:
            raise ConfigError(f"model.output: expected one of {', '.join(OUTPUTS)}, got '{output}'")
        if output == "softmax" and out_features < 2:
            raise ConfigError("model.output: softmax needs out_features >= 2 (one per class)")
        if not 0.0 <= dropout < 1.0:
            raise ConfigError(f"model.dropout: expected a probability in [0, 1), got {dropout}")
        if init not in INITIALIZATIONS:
            raise ConfigError(
                f"model.init: expected one of {', '.join(INITIALIZATIONS)}, got '{init}'"
            )
        if maxout_pieces < 2:
            raise ConfigError(f"model.maxout_pieces: expected >= 2, got {maxout_pieces}")
        self.in_features = in_features
        self.out_features = out_features
        self.output = output
        layers: list[nn.Module] = []
        width_in = in_features
        for width, name in zip(hidden, _per_layer(activation, len(hidden)), strict=True):
            if name == "maxout":
                layers.append(Maxout(width_in, width, pieces=maxout_pieces))
                if batch_norm:
                    layers.append(nn.BatchNorm1d(width))
            else:
                layers.append(nn.Linear(width_in, width))
                if batch_norm:
                    layers.append(nn.BatchNorm1d(width))
                layers.append(
                    _activation(name, leaky_relu_slope=leaky_relu_slope, elu_alpha=elu_alpha)
                )
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width_in = width
        self.num_features = width_in  # the backbone's embedding width D
        layers.append(nn.Linear(width_in, out_features))  # the head: layers[-1]
        self.layers = nn.Sequential(*layers)
        self._init = {"scheme": init, "sigma_w": init_sigma_w, "sigma_b": init_sigma_b}
        self._initialize(init, sigma_w=init_sigma_w, sigma_b=init_sigma_b)

    def _initialize(self, scheme: str, *, sigma_w: float, sigma_b: float) -> None:
        if scheme == "default":
            return
        for module in self.modules():
            if isinstance(module, nn.Linear):
                _initialize_linear(module, scheme, sigma_w=sigma_w, sigma_b=sigma_b)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(features))  # (B, out_features)

    def forward_features(self, features: torch.Tensor) -> torch.Tensor:
        """The hidden stack: features (B, F) -> embedding (B, num_features)."""
        if features.ndim != 2 or features.shape[1] != self.in_features:
            raise ValueError(
                f"MLP expects features of shape (batch, {self.in_features}), "
                f"got {tuple(features.shape)}"
            )
        *hidden, _ = self.layers  # the modules nn.Sequential runs, without the head
        for layer in hidden:
            features = layer(features)
        return features  # (B, num_features)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The output layer, no activation: embedding (B, num_features) -> logits."""
        check_embedding(type(self).__name__, features, self.num_features)
        return self.layers[-1](features)  # (B, out_features)

    def reset_head(self, out_features: int, output: str = "linear") -> None:
        """A fresh output layer of ``out_features`` (initialised as the model's ``init``)
        and output activation ``output``; the hidden stack is kept."""
        check_output(output, out_features)
        head = nn.Linear(self.num_features, out_features)
        if self._init["scheme"] != "default":
            _initialize_linear(head, **self._init)
        self.layers[-1] = head.to(self.layers[-1].weight)
        self.out_features = out_features
        self.output = output

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Apply the output activation to logits from ``forward``."""
        if self.output == "sigmoid":
            return torch.sigmoid(logits)
        if self.output == "softmax":
            return torch.softmax(logits, dim=-1)
        return logits


def _initialize_linear(module: nn.Linear, scheme: str, *, sigma_w: float, sigma_b: float) -> None:
    if scheme == "xavier":
        nn.init.xavier_normal_(module.weight)
        nn.init.zeros_(module.bias)
    elif scheme == "he":
        nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
        nn.init.zeros_(module.bias)
    else:  # "normal": variance sigma_w^2 / fan_in keeps activations O(1) with depth
        nn.init.normal_(module.weight, std=sigma_w / math.sqrt(module.in_features))
        nn.init.zeros_(module.bias)
        if sigma_b > 0:
            nn.init.normal_(module.bias, std=sigma_b)
