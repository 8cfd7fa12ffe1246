"""A model's outputs on rows: batch by batch, in eval mode, after its output activation.

Used by training (the test rows' outputs) and by ``hepdl.evaluation`` (other files)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch


@torch.no_grad()
def predict_probabilities(
    model: Any, features: np.ndarray | Mapping[str, np.ndarray], *, batch_size: int = 8192
) -> np.ndarray:
    """The model's outputs after its output activation, (N, K), for features (N, F) or
    named inputs (each (N, ...)), in eval mode, batch by batch: class probabilities for a
    classifier, the raw values (linear output) for a regressor."""
    from hepdl.models.inputs import forward

    model.eval()
    named = features if isinstance(features, Mapping) else {"features": features}
    if "tree" in named:  # clustering trees: batches of whole jets, not slices of nodes
        from hepdl.train._tree_batches import tree_batches

        batches = tree_batches(named["tree"], batch_size=batch_size)
        chunks = [model.probabilities(forward(model, batch)) for batch in batches]
        return torch.cat(chunks).double().numpy()
    tensors = {
        k: (t.float() if t.is_floating_point() else t)
        for k, t in ((k, torch.as_tensor(v)) for k, v in named.items())
    }
    n = len(next(iter(tensors.values())))
    chunks = []
    for i in range(0, n, batch_size):
        batch = {k: t[i : i + batch_size] for k, t in tensors.items()}
        chunks.append(model.probabilities(forward(model, batch)))
    return torch.cat(chunks).double().numpy()
