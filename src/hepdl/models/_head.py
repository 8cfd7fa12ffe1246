"""The backbone / head split every neural model shares, after timm.

``forward(inputs) == forward_head(forward_features(inputs))``: ``forward_features`` is the
backbone, inputs -> embedding (B, num_features); ``forward_head`` the final linear layer,
embedding -> logits (B, out_features), without an output activation; ``reset_head``
replaces that layer (timm's ``reset_classifier``) so one backbone serves another task.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from hepdl.errors import DataError
from hepdl.models._set_common import check_output


def check_embedding(model: str, features: torch.Tensor, num_features: int) -> None:
    """DataError unless ``features`` is an embedding (B, num_features) for the head."""
    if features.ndim != 2 or features.shape[1] != num_features:
        raise DataError(
            f"{model}.forward_head: expected an embedding of shape (batch, {num_features}) "
            f"as forward_features returns, got {tuple(features.shape)}"
        )


class SequentialHeaded:
    """The head of a model whose ``head`` is an ``nn.Sequential`` of fully connected layers
    ending in the output layer (ParticleNet, ParT): ``head[:-1]`` belongs to the backbone
    (see ``hidden_head``), ``head[-1]`` is the head. The model sets ``num_features``,
    ``out_features`` and ``output``."""

    head: Any  # nn.Sequential
    num_features: int
    out_features: int
    output: str

    def hidden_head(self, x: torch.Tensor) -> torch.Tensor:
        """The head's hidden layers, the end of the backbone: (B, C) -> (B, num_features)."""
        *hidden, _ = self.head  # the modules nn.Sequential runs, without the output layer
        for layer in hidden:
            x = layer(x)
        return x

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The output layer, no activation: embedding (B, num_features) -> logits."""
        check_embedding(type(self).__name__, features, self.num_features)
        return self.head[-1](features)  # (B, out_features)

    def reset_head(self, out_features: int, output: str = "linear") -> None:
        """A fresh output layer of ``out_features`` and output activation ``output``;
        the backbone is kept."""
        check_output(output, out_features)
        self.head[-1] = nn.Linear(self.num_features, out_features).to(self.head[-1].weight)
        self.out_features = out_features
        self.output = output


class MLPHeaded:
    """The head of a model that ends in an ``mlp`` submodule named ``head`` (the CNNs, RNNs
    and the recursive network): that mlp's hidden layers belong to the backbone (the model's
    ``forward_features`` ends in ``head.forward_features``), its output layer is the head."""

    head: Any  # hepdl.models.mlp.MLP

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """The output layer, no activation: embedding (B, num_features) -> logits."""
        return self.head.forward_head(features)  # (B, out_features)

    def reset_head(self, out_features: int, output: str = "linear") -> None:
        """A fresh output layer of ``out_features`` and output activation ``output``
        (sigmoid, softmax or linear); the backbone is kept."""
        self.head.reset_head(out_features, output)

    @property
    def num_features(self) -> int:
        """Width D of the embedding ``forward_features`` returns."""
        return self.head.num_features

    @property
    def out_features(self) -> int:
        return self.head.out_features

    @property
    def output(self) -> str:
        """The head's output activation (sigmoid, softmax or linear)."""
        return self.head.output

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        """Apply the output activation to logits from ``forward``."""
        return self.head.probabilities(logits)
