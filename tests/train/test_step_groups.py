"""Several optimizer steps per Lightning training call (``trainer.steps_per_execution``):
the same batches, steps and weights as one step per call, in fewer calls."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from tests.conftest import write_feature_file

from hepdl.config import TrainerConfig, config_from_dict
from hepdl.errors import ConfigError
from hepdl.train._fit import GROUP_BYTES, MAX_AUTO_STEPS, batch_bytes, steps_per_execution
from hepdl.train.checkpoints import read_checkpoint
from hepdl.train.loaders import StepGroup, grouped_loader, tensor_loader
from hepdl.train.run import train_experiment


def _loader():
    x = np.arange(23, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)  # (23, 2)
    return tensor_loader(x, np.arange(23) % 2, batch_size=5, shuffle=True, seed=3)


def test_groups_hold_the_same_batches_in_the_same_order():
    plain, grouped = _loader(), grouped_loader(_loader(), steps=2)
    assert len(plain) == 5 and len(grouped) == 3  # 5 batches -> groups of 2, 2, 1
    assert grouped.sampler.steps_per_epoch == 5
    for epoch in (0, 1, 7):
        plain.sampler.set_epoch(epoch)
        grouped.sampler.set_epoch(epoch)
        groups = list(grouped)
        assert all(isinstance(group, StepGroup) for group in groups)
        assert [len(group) for group in groups] == [2, 2, 1]
        batches = [batch for group in groups for batch in group]
        for (xa, ya), (xb, yb) in zip(plain, batches, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)


def test_one_step_per_call_keeps_the_loader():
    loader = _loader()
    assert grouped_loader(loader, steps=1) is loader


def test_auto_groups_small_batches_in_memory_on_one_process_only():
    auto = TrainerConfig()
    small = {"world_size": 1, "in_memory": True, "batch_bytes": 5 * 1024}
    assert steps_per_execution(auto, **small) == MAX_AUTO_STEPS
    assert steps_per_execution(auto, **{**small, "batch_bytes": GROUP_BYTES // 3}) == 3
    assert steps_per_execution(auto, **{**small, "batch_bytes": 2 * GROUP_BYTES}) == 1
    assert steps_per_execution(auto, **{**small, "world_size": 2}) == 1
    assert steps_per_execution(auto, **{**small, "in_memory": False}) == 1
    assert steps_per_execution(TrainerConfig(steps_per_execution=3), **small) == 3
    assert steps_per_execution(TrainerConfig(steps_per_execution=1), world_size=4,
                               in_memory=True) == 1  # fmt: skip


def test_batch_bytes_counts_every_tensor_of_a_full_batch():
    loader = tensor_loader(
        {"points": np.zeros((50, 7, 2), np.float32), "mask": np.ones((50, 7), bool)},
        np.zeros(50, np.int64),
        batch_size=16,
        shuffle=True,
    )
    assert batch_bytes(loader) == 16 * (7 * 2 * 4 + 7 * 1 + 8)  # points, mask, labels
    assert loader.sampler.epoch == 0  # the shuffle order is untouched


@pytest.mark.parametrize(
    ("world_size", "in_memory", "where"),
    [(2, True, "2 processes (DDP)"), (1, False, "streamed data")],
)
def test_explicit_groups_where_they_cannot_work_are_refused(world_size, in_memory, where):
    with pytest.raises(ConfigError) as err:
        steps_per_execution(
            TrainerConfig(steps_per_execution=4), world_size=world_size, in_memory=in_memory
        )
    assert str(err.value) == (
        f"trainer.steps_per_execution 4 needs in-memory data on one process, but this run "
        f"trains on {where}: each optimizer step needs its own training call there; use 1 "
        "or 'auto'"
    )


def test_zero_steps_per_execution_is_a_config_error():
    with pytest.raises(ConfigError, match=r"trainer\.steps_per_execution") as err:
        config_from_dict(
            {"data": {"files": ["x.parquet"]}, "trainer": {"steps_per_execution": 0}},
            source="c.yaml",
        )
    assert "must be >= 1 or 'auto', got 0" in str(err.value)


def _experiment(tmp_path: Path, steps: int | str, **trainer: object):
    data = write_feature_file(tmp_path / "jets.parquet", n=400, seed=2)
    raw = {
        "name": f"steps-{steps}",
        "seed": 3,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 16,  # 15 steps per epoch: groups of 4 leave a last one of 3
        },
        "model": {"name": "mlp", "hidden": [8], "dropout": 0.2},
        # One-cycle steps per batch: its length must count optimizer steps, not calls.
        "task": {"lr": 0.01, "schedule": {"name": "one-cycle"}},
        "trainer": {
            "max_epochs": 3,
            "progress_bar": False,
            "output_dir": str(tmp_path / f"runs-{steps}"),
            "steps_per_execution": steps,
            **trainer,
        },
        "evaluate": {"plots": False},
    }
    return train_experiment(config_from_dict(raw, source="test"))


def test_grouped_training_ends_with_the_same_weights(tmp_path: Path, one_thread):
    one = _experiment(tmp_path, 1)
    four = _experiment(tmp_path, 4)
    assert (one.run_dir / "model.safetensors").read_bytes() == (
        four.run_dir / "model.safetensors"
    ).read_bytes()
    assert one.history == four.history
    assert len(one.history["lr"]) == 3
    optimizer_steps = read_checkpoint(four.run_dir / "checkpoints" / "last.ckpt")["global_step"]
    assert optimizer_steps == 3 * 15


def test_last_checkpoint_is_every_epoch_and_best_is_the_monitored_one(tmp_path: Path):
    # "Best" by the highest validation loss: the falling loss makes epoch 0 the best and
    # every later epoch a non-improving one, which must still be saved as last.ckpt.
    stopping = {"monitor": "val_loss", "mode": "max", "patience": 10}
    result = _experiment(tmp_path, "auto", early_stopping=stopping)
    losses = result.history["val_loss"]
    assert np.argmax(losses) == 0 and losses[-1] < losses[0]
    folder = result.run_dir / "checkpoints"
    assert read_checkpoint(folder / "best.ckpt")["epoch"] == 0
    assert read_checkpoint(folder / "last.ckpt")["epoch"] == 2
    assert read_checkpoint(folder / "last-previous.ckpt")["epoch"] == 1


def test_progress_bar_counts_optimizer_steps(tmp_path: Path, monkeypatch):
    from hepdl.models import create_model
    from hepdl.tasks import ClassificationTask
    from hepdl.train import trainer as trainer_module
    from hepdl.train.trainer import StepProgressBar, build_trainer

    monkeypatch.setattr(trainer_module, "PROGRESS_REFRESH_STEPS", 2)
    # pytest captures stdout (not a terminal): the bar is built only for a terminal.
    monkeypatch.setattr(trainer_module, "draws_progress_bars", lambda: True)
    trainer, _ = build_trainer(
        TrainerConfig(max_epochs=1, early_stopping=None, progress_bar=True), tmp_path
    )
    (bar,) = [c for c in trainer.callbacks if isinstance(c, StepProgressBar)]
    task = ClassificationTask(create_model("mlp", in_features=2, hidden=[4]))
    trainer.limit_val_batches = 0
    trainer.fit(task, grouped_loader(_loader(), steps=2))
    assert bar.train_progress_bar.total == 5
    assert bar.train_progress_bar.n == 5
