"""One Lightning fit inside a run directory: what in-memory and streamed training share.

Every DDP process calls it. Rank 0 alone writes the resolved config (a resumed run keeps
the one it has). The task times each epoch for the landscape table (``task.epoch_timer``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelCheckpoint

from hepdl.config import ExperimentConfig, TrainerConfig, save_config
from hepdl.errors import ConfigError
from hepdl.train._compatibility import check_checkpoint_fits
from hepdl.train._timing import EpochTimer
from hepdl.train.interrupt import stopped_by_signal
from hepdl.train.loaders import grouped_loader
from hepdl.train.trainer import build_trainer

# trainer.steps_per_execution "auto": Lightning's bookkeeping per training call (~0.25 ms of
# a CPU core) shared by up to 16 optimizer steps (benchmarks/bench_training_epoch.py
# --steps-per-execution 1 4 8 16: 16 leaves ~0.08 ms per step), as long as the group's
# batches, which sit in memory (and on the GPU) together, stay within GROUP_BYTES. Big
# batches take long steps anyway, where grouping gains nothing.
MAX_AUTO_STEPS = 16
GROUP_BYTES = 16 * 2**20


def batch_bytes(loader: Any) -> int:
    """Bytes of the tensors of one full batch of ``loader`` (a DataLoader over
    ``ShuffledBatches``), read from its dataset so the sampler's epoch count is untouched."""
    from torch.utils._pytree import tree_leaves

    rows = torch.arange(min(loader.sampler.batch_size, len(loader.dataset)))
    batch = loader.dataset[rows]
    return sum(t.nbytes for t in tree_leaves(batch) if isinstance(t, torch.Tensor))


def steps_per_execution(
    config: TrainerConfig, *, world_size: int, in_memory: bool, batch_bytes: int = 0
) -> int:
    """Optimizer steps per Lightning training call for this fit (``trainer.steps_per_execution``;
    "auto" sizes the group by ``batch_bytes``, the size of one batch).

    Several need in-memory batches on one process: under DDP each optimizer step needs its
    own forward through the DDP wrapper, which arms the gradient all-reduce of the next
    backward; streamed data comes one batch per call.
    """
    value = config.steps_per_execution
    if value == "auto":
        if not in_memory or world_size > 1:
            return 1
        return max(1, min(MAX_AUTO_STEPS, GROUP_BYTES // max(batch_bytes, 1)))
    if value > 1 and (world_size > 1 or not in_memory):
        where = f"{world_size} processes (DDP)" if world_size > 1 else "streamed data"
        raise ConfigError(
            f"trainer.steps_per_execution {value} needs in-memory data on one process, but "
            f"this run trains on {where}: each optimizer step needs its own training call "
            "there; use 1 or 'auto'"
        )
    return value


def fit_in_run_dir(
    config: ExperimentConfig,
    task: L.LightningModule,
    train: Any,
    val: Any,
    *,
    run_dir: Path,
    ckpt_path: str | None,
    in_memory: bool,
) -> tuple[L.Trainer, ModelCheckpoint, EpochTimer]:
    """Fit ``task`` on the ``train`` / ``val`` loaders with the config's Trainer.

    ``in_memory``: the loaders yield whole batches of in-memory rows (``ShuffledBatches``),
    which each DDP process cuts to its share and a single process groups by
    ``trainer.steps_per_execution``; streamed loaders deal chunks to the processes
    themselves. ``ckpt_path`` resumes from a checkpoint.
    """
    trainer, best = build_trainer(config.trainer, run_dir)
    if in_memory:
        from hepdl.train.distributed import shard_batches

        shard_batches(train, val, rank=trainer.global_rank, world_size=trainer.world_size)
        size = batch_bytes(train) if config.trainer.steps_per_execution == "auto" else 0
        steps = steps_per_execution(
            config.trainer, world_size=trainer.world_size, in_memory=True, batch_bytes=size
        )
        train = grouped_loader(train, steps=steps)
    else:
        steps_per_execution(config.trainer, world_size=trainer.world_size, in_memory=False)
    if trainer.is_global_zero and ckpt_path is None:  # rank 0 alone writes the run directory
        save_config(config, run_dir / "config.yaml")
    if ckpt_path is not None:  # one error naming the file, not Lightning's size mismatch
        check_checkpoint_fits(task, Path(ckpt_path), model_name=config.model.name)
        # The best epoch's checkpoint is loaded when the resumed fit ends: check it now.
        earlier_best = Path(ckpt_path).parent / "best.ckpt"
        if earlier_best.is_file():
            check_checkpoint_fits(task, earlier_best, model_name=config.model.name)
    with stopped_by_signal(trainer, run_dir):
        trainer.fit(task, train, val, ckpt_path=ckpt_path)
    return trainer, best, task.epoch_timer


def load_evaluated_weights(
    task: L.LightningModule, best: ModelCheckpoint, train: Any, config: ExperimentConfig
) -> int:
    """Put the best epoch's weights (not the last epoch's) in ``task`` and recompute its
    BatchNorm statistics for them over ``trainer.recalibrate_batchnorm`` training batches
    (hepdl.train._precise_bn); returns the batches used."""
    from hepdl.train._precise_bn import recalibrate_batch_norm

    if best.best_model_path:
        from hepdl.train.checkpoints import read_checkpoint

        path = Path(best.best_model_path)
        check_checkpoint_fits(task, path, model_name=config.model.name)
        task.load_state_dict(read_checkpoint(path)["state_dict"])
    return recalibrate_batch_norm(
        task.model, train, max_batches=config.trainer.recalibrate_batchnorm
    )
