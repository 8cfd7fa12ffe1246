"""Batches from tensors already in memory.

The sampler hands whole index tensors to ``TensorDataset.__getitem__``, so a batch is
one fancy-indexing call per tensor instead of ``batch_size`` single-row lookups and a
collate: the same cost as slicing tensors in a hand-written loop.

``grouped_loader`` hands Lightning several batches per training call (``StepGroup``), the
task taking one optimizer step per batch: Lightning's bookkeeping around a training call
(~500 Python calls, a quarter of a millisecond) is then paid once per group, like
Keras's ``steps_per_execution``. The batches, their order and the steps are unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler, TensorDataset

from hepdl.tasks.fit_state import StepGroup


def epoch_seed(seed: int, epoch: int) -> int:
    """The generator seed of one epoch's permutation: a function of (seed, epoch) only, so
    a run resumed at epoch k draws epoch k's order without replaying epochs 0..k-1."""
    state = np.random.SeedSequence([seed % 2**64, epoch]).generate_state(1, dtype=np.uint64)
    return int(state[0])


class ShuffledBatches(Sampler[torch.Tensor]):
    """Yields index tensors of whole batches: a fresh permutation per epoch when shuffling.

    Epoch e's order is drawn from ``epoch_seed(seed, e)``. Lightning calls ``set_epoch``
    before each epoch (a resumed run included); a loop that never calls it gets the next
    epoch's order on each pass.

    With ``world_size > 1`` (DDP) each global batch of ``batch_size`` rows is split into
    ``world_size`` contiguous shares and this process yields share ``rank``: the shares
    are disjoint, every process takes the same number of steps, and DDP's mean of the
    per-process mean gradients equals the one-process gradient of the whole batch when
    the shares are equal in size. A last batch with fewer rows than processes is dropped
    (some share would be empty).
    """

    def __init__(
        self,
        n: int,
        *,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.n = n
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.seed = seed
        self.epoch = 0
        self.shard(rank=rank, world_size=world_size)

    def shard(self, *, rank: int, world_size: int) -> None:
        """Yield share ``rank`` of ``world_size`` of every batch from now on."""
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(
                f"ShuffledBatches: rank must be in [0, world_size) with world_size >= 1, "
                f"got rank={rank}, world_size={world_size}"
            )
        self.rank = rank
        self.world_size = world_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        batches = -(-self.n // self.batch_size)
        last = self.n - (batches - 1) * self.batch_size  # rows in the last batch
        return batches - 1 if 0 < last < self.world_size else batches

    def __iter__(self):
        epoch, self.epoch = self.epoch, self.epoch + 1
        if self.shuffle:
            generator = torch.Generator().manual_seed(epoch_seed(self.seed, epoch))
            order = torch.randperm(self.n, generator=generator)  # (n,)
        else:
            order = torch.arange(self.n)  # (n,)
        for start in range(0, self.n, self.batch_size):
            batch = order[start : start + self.batch_size]  # (B,)
            if self.world_size > 1:
                if len(batch) < self.world_size:
                    return
                batch = batch.tensor_split(self.world_size)[self.rank]  # (B / world_size,)
            yield batch


def _as_is(batch: Any) -> Any:
    """A batch as the dataset made it, of tensors already (the DataLoader's default for
    ``batch_size=None`` walks it to convert NumPy arrays, a few calls per tensor)."""
    return batch


class StepGroups(Sampler[list[torch.Tensor]]):
    """Groups the index batches of ``batches`` by ``size``: an epoch of n batches becomes
    ceil(n / size) groups, the last one shorter. ``set_epoch`` reaches the inner sampler,
    so the order stays a function of (seed, epoch)."""

    def __init__(self, batches: Sampler[torch.Tensor], *, size: int) -> None:
        if size < 1:
            raise ValueError(f"StepGroups: size must be >= 1, got {size}")
        self.batches = batches
        self.size = size

    @property
    def steps_per_epoch(self) -> int:
        """Optimizer steps (batches) per epoch; ``len(self)`` counts the groups."""
        return len(self.batches)

    def set_epoch(self, epoch: int) -> None:
        self.batches.set_epoch(epoch)

    def __len__(self) -> int:
        return -(-len(self.batches) // self.size)

    def __iter__(self):
        group: list[torch.Tensor] = []
        for batch in self.batches:
            group.append(batch)
            if len(group) == self.size:
                yield group
                group = []
        if group:
            yield group


class _GroupedDataset(Dataset):
    """``dataset[list of index batches]`` -> ``StepGroup`` of the batches."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, indices: list[torch.Tensor]) -> StepGroup:
        return StepGroup(self.dataset[index] for index in indices)


def grouped_loader(loader: DataLoader, *, steps: int) -> DataLoader:
    """``loader`` (a DataLoader over ``ShuffledBatches``) yielding ``StepGroup``s of
    ``steps`` batches; ``loader`` itself when ``steps`` is 1."""
    if steps == 1:
        return loader
    return DataLoader(
        _GroupedDataset(loader.dataset),
        sampler=StepGroups(loader.sampler, size=steps),
        batch_size=None,
        collate_fn=_as_is,
    )


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
    """Features (N, F) float32 (or named arrays, each (N, ...)) and the task's targets
    (class labels (N,) -> int64, regression targets (N, T) -> float32) -> a DataLoader of
    (B, F) (or {name: (B, ...)}) and (B, ...) batches, plus (B,) per-row ``weights``."""
    y = torch.as_tensor(labels)
    y = y.float() if y.is_floating_point() else y.long()
    w = None if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    if isinstance(features, Mapping):
        dataset: Dataset = NamedTensors({k: _tensor(v) for k, v in features.items()}, y, w)
    else:
        x = torch.as_tensor(features, dtype=torch.float32)
        dataset = TensorDataset(x, y) if w is None else TensorDataset(x, y, w)
    batches = ShuffledBatches(len(y), batch_size=batch_size, shuffle=shuffle, seed=seed)
    # batch_size=None: the sampler already yields whole batches of indices.
    return DataLoader(dataset, sampler=batches, batch_size=None, collate_fn=_as_is)
