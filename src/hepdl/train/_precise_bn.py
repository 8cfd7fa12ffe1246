"""BatchNorm running statistics recomputed for the weights that are evaluated (PreciseBN).

BatchNorm normalises with the statistics of each batch while training and with running
averages at evaluation, r <- (1 - m) r + m s_batch (m = 0.1, r_0: mean 0, variance 1).
After n batches the start value still weighs (1 - m)^n, and the average lags weights that
changed within the last ~1/m batches. A short training on inputs far from unit scale then
evaluates with statistics that describe no weights at all: a ResNet on unit-sum jet images
(stem variance ~2e-4) after 29 batches kept a running variance of 0.047, put every test
score in [0.51, 0.53] and scored accuracy 0.500 at AUC 0.74 (docs/landscape.md).
Recomputing the averages with the final weights (Wu & Johnson, "Rethinking 'Batch' in
BatchNorm", arXiv:2105.07576) fixes the evaluated network without touching its weights.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import torch
from torch import nn

from hepdl.models.inputs import forward


def _single_batches(loader: Iterable[Any]) -> Iterator[Any]:
    """The loader's batches one by one (a ``StepGroup`` holds several)."""
    from hepdl.train.loaders import StepGroup

    for item in loader:
        yield from item if isinstance(item, StepGroup) else (item,)


def recalibrate_batch_norm(model: nn.Module, loader: Iterable[Any], *, max_batches: int) -> int:
    """Set every BatchNorm's running mean and variance to the plain average, over the first
    ``max_batches`` batches of ``loader`` (``(inputs, labels[, weights])`` as the training
    loader yields them), of the batch statistics the current weights produce; the
    momentum and the train/eval mode are restored. Returns the batches used: 0 for a model
    without BatchNorm or ``max_batches`` 0 (nothing changes then)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms or max_batches <= 0:
        return 0
    momenta = [norm.momentum for norm in norms]
    was_training = model.training
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average: every batch weighs the same
    model.train()  # batch statistics, as in training (dropout too)
    used = 0
    try:
        with torch.no_grad():
            for batch in _single_batches(loader):
                if used == max_batches:
                    break
                forward(model, batch[0])
                used += 1
    finally:
        for norm, momentum in zip(norms, momenta, strict=True):
            norm.momentum = momentum
        model.train(was_training)
    return used
