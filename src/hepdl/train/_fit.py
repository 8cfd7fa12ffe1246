"""One Lightning fit inside a run directory: what in-memory and streamed training share.

Every DDP process calls it. Rank 0 alone writes the resolved config (a resumed run keeps
the one it has), and each fit is timed per epoch for the landscape table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import ModelCheckpoint

from hepdl.config import ExperimentConfig, save_config
from hepdl.train._timing import EpochTimer
from hepdl.train.trainer import build_trainer


def fit_in_run_dir(
    config: ExperimentConfig,
    task: L.LightningModule,
    train: Any,
    val: Any,
    *,
    run_dir: Path,
    ckpt_path: str | None,
    shard_loaders: bool,
) -> tuple[L.Trainer, ModelCheckpoint, EpochTimer]:
    """Fit ``task`` on the ``train`` / ``val`` loaders with the config's Trainer.

    ``shard_loaders``: the loaders yield whole batches of in-memory rows
    (``ShuffledBatches``), which each DDP process must cut to its share; streamed loaders
    deal chunks to the processes themselves. ``ckpt_path`` resumes from a checkpoint.
    """
    trainer, best = build_trainer(config.trainer, run_dir)
    if shard_loaders:
        from hepdl.train.distributed import shard_batches

        shard_batches(train, val, rank=trainer.global_rank, world_size=trainer.world_size)
    if trainer.is_global_zero and ckpt_path is None:  # rank 0 alone writes the run directory
        save_config(config, run_dir / "config.yaml")
    epoch_timer = EpochTimer()  # s/epoch for the landscape table (hepdl compare)
    trainer.callbacks.append(epoch_timer)
    trainer.fit(task, train, val, ckpt_path=ckpt_path)
    return trainer, best, epoch_timer
