from __future__ import annotations

import numpy as np
import torch

from hepdl.train.loaders import tensor_loader


def test_batches_cover_every_row_once_per_epoch():
    x = np.arange(23, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    y = np.arange(23) % 2
    loader = tensor_loader(x, y, batch_size=5, shuffle=True, seed=3)
    assert len(loader) == 5
    epoch1 = torch.cat([xb[:, 0] for xb, _ in loader])
    epoch2 = torch.cat([xb[:, 0] for xb, _ in loader])
    assert sorted(epoch1.tolist()) == list(range(23))
    assert sorted(epoch2.tolist()) == list(range(23))
    assert not torch.equal(epoch1, epoch2)  # reshuffled each epoch
    for xb, yb in loader:  # rows and labels stay paired
        assert torch.equal(xb[:, 0].long() % 2, yb)


def test_same_seed_same_order_and_sequential_without_shuffle():
    x, y = np.random.default_rng(0).random((40, 3), dtype=np.float32), np.zeros(40, np.int64)
    a = [xb for xb, _ in tensor_loader(x, y, batch_size=8, shuffle=True, seed=1)]
    b = [xb for xb, _ in tensor_loader(x, y, batch_size=8, shuffle=True, seed=1)]
    assert all(torch.equal(p, q) for p, q in zip(a, b, strict=True))
    seq = torch.cat([xb for xb, _ in tensor_loader(x, y, batch_size=7, shuffle=False)])
    assert torch.equal(seq, torch.from_numpy(x))
