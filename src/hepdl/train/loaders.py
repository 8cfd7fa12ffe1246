"""Batches from tensors already in memory.

The sampler hands whole index tensors to ``TensorDataset.__getitem__``, so a batch is
one fancy-indexing call per tensor instead of ``batch_size`` single-row lookups and a
collate: the same cost as slicing tensors in a hand-written loop.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset


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


def tensor_loader(
    features: np.ndarray | torch.Tensor,
    labels: np.ndarray | torch.Tensor,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
) -> DataLoader:
    """Features (N, F) float32 and labels (N,) int64 -> a DataLoader of (B, F), (B,) batches."""
    x = torch.as_tensor(features, dtype=torch.float32)
    y = torch.as_tensor(labels, dtype=torch.int64)
    batches = ShuffledBatches(len(x), batch_size=batch_size, shuffle=shuffle, seed=seed)
    # batch_size=None: the sampler already yields whole batches of indices.
    return DataLoader(TensorDataset(x, y), sampler=batches, batch_size=None)
