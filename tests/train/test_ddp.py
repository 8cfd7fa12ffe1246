"""DDP across processes: two CPU processes under torchrun (gloo) train the same model as
one process, each taking half of every batch (hepdl.train.distributed, ShuffledBatches)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from tests.conftest import write_feature_file
from torch.utils.data import DataLoader, TensorDataset

from hepdl.config import TrainerConfig
from hepdl.train.distributed import RUN_DIR_ENV, agree_run_dir, shard_batches
from hepdl.train.loaders import ShuffledBatches, epoch_seed, tensor_loader

DDP = ["--set", "trainer.devices=2", "--set", "trainer.strategy=ddp"]


def _batches(sampler: ShuffledBatches, epoch: int) -> list[torch.Tensor]:
    sampler.set_epoch(epoch)
    return list(sampler)


def test_shares_are_disjoint_halves_of_the_one_process_batches() -> None:
    whole = ShuffledBatches(50, batch_size=8, shuffle=True, seed=3)
    shares = [
        ShuffledBatches(50, batch_size=8, shuffle=True, seed=3, rank=r, world_size=2)
        for r in range(2)
    ]
    for epoch in (0, 4):
        full = _batches(whole, epoch)
        parts = [_batches(s, epoch) for s in shares]
        assert len(full) == len(parts[0]) == len(parts[1]) == len(whole) == 7
        for batch, a, b in zip(full, *parts, strict=True):
            assert torch.equal(torch.cat([a, b]), batch)  # contiguous halves, rank order
            assert len(a) - len(b) in (0, 1)
    assert not torch.equal(torch.cat(_batches(whole, 0)), torch.cat(_batches(whole, 1)))


def test_epoch_order_is_a_function_of_seed_and_epoch_only() -> None:
    a = ShuffledBatches(30, batch_size=30, shuffle=True, seed=9)
    b = ShuffledBatches(30, batch_size=30, shuffle=True, seed=9)
    for _ in range(3):  # a's earlier epochs do not change epoch 3's order
        list(a)
    expected = torch.randperm(30, generator=torch.Generator().manual_seed(epoch_seed(9, 3)))
    assert torch.equal(_batches(a, 3)[0], expected)
    assert torch.equal(_batches(b, 3)[0], expected)
    assert [len(x) for x in list(b)] == [30]  # without set_epoch: the next epoch, reshuffled
    assert not torch.equal(_batches(b, 4)[0], expected)


def test_a_last_batch_smaller_than_the_world_is_dropped_on_every_rank() -> None:
    # 17 rows in batches of 8: the last batch has 1 row, too few for 2 processes.
    for rank in (0, 1):
        sampler = ShuffledBatches(17, batch_size=8, shuffle=False, rank=rank, world_size=2)
        got = list(sampler)
        assert len(sampler) == len(got) == 2
        assert [t.tolist() for t in got] == [
            list(range(8))[4 * rank : 4 * rank + 4],
            list(range(8, 16))[4 * rank : 4 * rank + 4],
        ]


def test_bad_rank_is_refused() -> None:
    with pytest.raises(ValueError) as err:
        ShuffledBatches(10, batch_size=2, shuffle=False, rank=2, world_size=2)
    assert str(err.value) == (
        "ShuffledBatches: rank must be in [0, world_size) with world_size >= 1, "
        "got rank=2, world_size=2"
    )


def test_shard_batches_sets_each_loaders_share() -> None:
    x, y = np.zeros((12, 2), np.float32), np.zeros(12, np.int64)
    train = tensor_loader(x, y, batch_size=4, shuffle=True, seed=1)
    val = tensor_loader(x, y, batch_size=4, shuffle=False)
    shard_batches(train, val, rank=1, world_size=2)
    assert [b[0].shape[0] for b in val] == [2, 2, 2]
    assert torch.equal(torch.cat([b[1] for b in val]), torch.zeros(6, dtype=torch.int64))
    assert (train.sampler.rank, train.sampler.world_size) == (1, 2)
    with pytest.raises(TypeError) as err:
        shard_batches(DataLoader(TensorDataset(torch.zeros(4))), rank=0, world_size=2)
    assert str(err.value) == (
        "shard_batches expects DataLoaders over ShuffledBatches, got a sampler SequentialSampler"
    )


def test_one_process_makes_its_own_run_dir_whatever_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RUN_DIR_ENV, str(tmp_path / "someone-elses"))
    config = TrainerConfig(accelerator="cpu", devices=1)
    assert agree_run_dir(config, lambda: tmp_path / "mine") == tmp_path / "mine"


def _experiment(folder: Path) -> Path:
    data = write_feature_file(folder / "jets.parquet", n=800, seed=2)
    raw = {
        "name": "ddp",
        "seed": 4,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 16,  # 480 training rows: 30 batches, split 8 + 8
        },
        "model": {"name": "mlp", "hidden": [16, 16]},  # no dropout: ranks draw their own
        "task": {"lr": 0.003},
        "trainer": {
            "max_epochs": 2,
            "accelerator": "cpu",
            "progress_bar": False,
            "output_dir": str(folder / "runs"),
        },
        "evaluate": {"plots": False},
    }
    path = folder / "ddp.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _train(folder: Path, launcher: list[str], *options: str) -> Path:
    before = set((folder / "runs").glob("*"))
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [*launcher, "-m", "hepdl.cli", "train", str(folder / "ddp.yaml"), *options]
    done = subprocess.run(command, env=env, cwd=folder, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-4000:]
    [run] = set((folder / "runs").glob("*")) - before  # every rank wrote to one directory
    return run


def test_two_processes_under_torchrun_match_one_process(tmp_path: Path) -> None:
    _experiment(tmp_path)
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2"]
    ddp = _train(tmp_path, torchrun, *DDP)
    single = _train(tmp_path, [sys.executable])

    saved = yaml.safe_load((ddp / "config.yaml").read_text())["trainer"]
    assert (saved["devices"], saved["strategy"]) == (2, "ddp")
    # Checkpoints hold the same weights up to the rounding of a different summation order
    # (each process sums 8 rows, then DDP averages the two mean gradients): measured
    # 6e-8 after these 60 Adam steps; 1e-5 still catches a wrong share or batch size.
    for name in ("best.ckpt", "last.ckpt"):
        a, b = (torch.load(r / "checkpoints" / name, weights_only=True) for r in (ddp, single))
        assert a["epoch"] == b["epoch"] and a["global_step"] == b["global_step"] == 60
        for key, tensor in a["state_dict"].items():
            np.testing.assert_allclose(tensor, b["state_dict"][key], rtol=0, atol=1e-5)
    history = [json.loads((r / "history.json").read_text()) for r in (ddp, single)]
    for key in ("train_loss", "val_loss", "train_accuracy", "val_accuracy"):
        np.testing.assert_allclose(history[0][key], history[1][key], rtol=1e-6, atol=0)
    metrics = [json.loads((r / "metrics.json").read_text()) for r in (ddp, single)]
    assert metrics[0]["n_test"] == metrics[1]["n_test"] == 160  # evaluated once, on all rows
    for key in ("auc", "accuracy", "max_sic"):
        assert metrics[0][key] == pytest.approx(metrics[1][key], abs=1e-6)
