"""Row selection and batches for the ``tree`` representation (recursive networks).

The tree representation gives node arrays of all jets concatenated (T nodes for N jets),
not arrays with one row per jet, so a split or a batch cannot be a fancy index on each
array. Selecting jets is ``select_jets``: one vectorised gather and renumbering of the
children, roots and offsets for the whole batch (no Python call per jet or per node).

The model consumes the tree as one named input, ``tree``: a mapping of its arrays (see
``hepdl.models.inputs.model_inputs``, which groups the representation's arrays under it).
Batches are ``({"tree": {name: tensor}}, labels (B,)[, weights (B,)])``, what
``ClassificationTask`` and ``RecursiveTagger.forward`` take.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from hepdl.data.representations.tree import select_jets
from hepdl.train.loaders import ShuffledBatches, tensor_loader

TREE = "tree"


def select_rows(inputs: Mapping[str, Any], index: np.ndarray) -> dict[str, Any]:
    """The rows (jets) ``index`` of every named input: a fancy index of each (N, ...)
    array, ``select_jets`` of a tree."""
    return {
        name: select_jets(values, index) if name == TREE else values[index]
        for name, values in inputs.items()
    }


def node_features(inputs: Mapping[str, Any], index: np.ndarray) -> np.ndarray:
    """The node features (T', F) of the trees of jets ``index`` (fitting a Standardizer
    on the training jets' nodes only)."""
    tree = inputs[TREE]
    offsets = tree["offsets"]
    counts = (offsets[1:] - offsets[:-1])[index]  # (n,) nodes per jet
    new_starts = np.cumsum(counts) - counts  # (n,) where each jet starts among the T'
    shift = np.repeat(offsets[:-1][index] - new_starts, counts)  # (T',) old - new index
    return tree["features"][np.arange(int(counts.sum())) + shift]


def _tensors(tree: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Node arrays as tensors: floating ones as float32, indices keep int64."""
    out = {}
    for name, values in tree.items():
        tensor = torch.as_tensor(values)
        out[name] = tensor.float() if tensor.is_floating_point() else tensor
    return out


class TreeBatches(Dataset):
    """Clustering trees of N jets, labels (N,) and optional weights (N,); indexing with a
    tensor of jet indices gives ``({"tree": {name: tensor}}, (B,)[, (B,)])``, the trees of
    those jets renumbered into one self-contained batch."""

    def __init__(
        self,
        tree: Mapping[str, np.ndarray],
        labels: torch.Tensor,
        weights: torch.Tensor | None = None,
    ) -> None:
        self.tree = dict(tree)
        self.labels = labels
        self.weights = weights

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: torch.Tensor) -> tuple:
        rows = np.asarray(index, dtype=np.int64)
        named = {TREE: _tensors(select_jets(self.tree, rows))}
        if self.weights is None:
            return named, self.labels[index]
        return named, self.labels[index], self.weights[index]


def batch_loader(
    inputs: Mapping[str, Any],
    labels: np.ndarray,
    *,
    batch_size: int,
    shuffle: bool,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> DataLoader:
    """A DataLoader of the named ``inputs``: batches of whole trees for a ``tree`` input,
    else ``tensor_loader``'s fancy-indexed tensors."""
    if TREE not in inputs:
        return tensor_loader(
            inputs, labels, batch_size=batch_size, shuffle=shuffle, seed=seed, weights=weights
        )
    y = torch.as_tensor(labels, dtype=torch.int64)
    w = None if weights is None else torch.as_tensor(weights, dtype=torch.float32)
    dataset = TreeBatches(inputs[TREE], y, w)
    batches = ShuffledBatches(len(y), batch_size=batch_size, shuffle=shuffle, seed=seed)
    # batch_size=None: the sampler already yields whole batches of jet indices.
    return DataLoader(dataset, sampler=batches, batch_size=None)


def tree_batches(
    tree: Mapping[str, np.ndarray], *, batch_size: int
) -> Iterator[dict[str, dict[str, torch.Tensor]]]:
    """``{"tree": ...}`` batches of ``batch_size`` consecutive jets, in order (prediction)."""
    n_jets = len(tree["offsets"]) - 1
    for start in range(0, n_jets, batch_size):
        rows = np.arange(start, min(start + batch_size, n_jets))
        yield {TREE: _tensors(select_jets(tree, rows))}
