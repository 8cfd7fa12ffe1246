"""Batches from tensors already in memory.

The sampler hands whole index tensors to ``TensorDataset.__getitem__``, so a batch is
one fancy-indexing call per tensor instead of ``batch_size`` single-row lookups and a
collate: the same cost as slicing tensors in a hand-written loop.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset


class ShuffledBatches(Sampler[torch.Tensor]):
    """Yields index tensors of whole batches: a fresh permutation per epoch when shuffling.

    The generator is seeded once, so epoch k of two runs with the same seed sees the same
    batches, and a restarted run replays the same order.
    """

    def __init__(self, n: int, *, batch_size: int, shuffle: bool, seed: int = 0) -> None:
        self.n = n
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)

    def __iter__(self):
        order = torch.randperm(self.n, generator=self.generator) if self.shuffle else None
        for start in range(0, self.n, self.batch_size):
            if order is None:
                yield torch.arange(start, min(start + self.batch_size, self.n))
            else:
                yield order[start : start + self.batch_size]


class NamedTensors(Dataset):
    """Named input tensors (``image``, or ``points``/``features``/``mask``, ...) and labels;
    indexing with a batch of indices gives ``({name: (B, ...)}, (B,))``."""

    def __init__(
        self,
        inputs: Mapping[str, torch.Tensor],
        labels: torch.Tensor,
        weights: torch.Tensor | None = None,
    ) -> None:
        self.inputs = dict(inputs)
        self.labels = labels
        self.weights = weights

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: torch.Tensor) -> tuple:
        named = {name: t[index] for name, t in self.inputs.items()}
        if self.weights is None:
            return named, self.labels[index]
        return named, self.labels[index], self.weights[index]


def _tensor(array: np.ndarray | torch.Tensor) -> torch.Tensor:
    """Floating arrays as float32; masks (bool) and indices (int) keep their dtype."""
    tensor = torch.as_tensor(array)
    return tensor.float() if tensor.is_floating_point() else tensor


def tensor_loader(
    features: np.ndarray | torch.Tensor | Mapping[str, np.ndarray],
    labels: np.ndarray | torch.Tensor,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> DataLoader:
    """Features (N, F) float32 (or named arrays, each (N, ...)) and labels (N,) int64 -> a
    DataLoader of (B, F) (or {name: (B, ...)}) and (B,) batches, plus (B,) per-row
    ``weights`` when given."""
    y = torch.as_tensor(labels, dtype=torch.int64)
    w = None if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    if isinstance(features, Mapping):
        dataset: Dataset = NamedTensors({k: _tensor(v) for k, v in features.items()}, y, w)
    else:
        x = torch.as_tensor(features, dtype=torch.float32)
        dataset = TensorDataset(x, y) if w is None else TensorDataset(x, y, w)
    batches = ShuffledBatches(len(y), batch_size=batch_size, shuffle=shuffle, seed=seed)
    # batch_size=None: the sampler already yields whole batches of indices.
    return DataLoader(dataset, sampler=batches, batch_size=None)
