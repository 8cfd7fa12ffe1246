"""The backbone / head split every neural model shares, after timm.

``forward(inputs) == forward_head(forward_features(inputs))``: ``forward_features`` is the
backbone, inputs -> embedding (B, num_features); ``forward_head`` the final linear layer,
embedding -> logits (B, out_features), without an output activation; ``reset_head``
replaces that layer (timm's ``reset_classifier``) so one backbone serves another task.
"""

from __future__ import annotations

from typing import Any

import torch

from hepdl.errors import DataError


def check_embedding(model: str, features: torch.Tensor, num_features: int) -> None:
    """DataError unless ``features`` is an embedding (B, num_features) for the head."""
    if features.ndim != 2 or features.shape[1] != num_features:
        raise DataError(
            f"{model}.forward_head: expected an embedding of shape (batch, {num_features}) "
            f"as forward_features returns, got {tuple(features.shape)}"
        )


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
