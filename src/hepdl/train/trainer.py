"""Building the Lightning Trainer from the ``trainer`` config section.

Lightning runs about a thousand Python calls of bookkeeping per training step, a large
share of a 1 ms step of a small network (benchmarks/bench_training_epoch.py measures it
against a plain PyTorch loop). What runs per step is therefore kept cheap: the task logs
once per epoch and no step metrics are gathered, the progress bar redraws every
``PROGRESS_REFRESH_STEPS`` batches (and at the end of each epoch), checkpoints are
written once per epoch, the profiler hook that wraps every hook call is a shared no-op,
and the callbacks build their state keys once.
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.profilers import Profiler

from hepdl.config import TrainerConfig
from hepdl.train.checkpoints import AtomicCheckpointIO
from hepdl.train.resume import ExactResume

# A redraw of the tqdm bar costs ~40 µs, a few percent of a 1 ms step when done every step.
PROGRESS_REFRESH_STEPS = 20


class NoProfiler(Profiler):
    """Records nothing, like Lightning's default PassThroughProfiler, but ``profile``
    returns one shared null context instead of a new generator-based context manager:
    Lightning enters it around every hook call, ~40 times per training step."""

    _NULL = contextlib.nullcontext()

    def start(self, action_name: str) -> None:
        """Nothing is recorded."""

    def stop(self, action_name: str) -> None:
        """Nothing is recorded."""

    def profile(self, action_name: str) -> contextlib.nullcontext[None]:  # type: ignore[override]
        return self._NULL


class BestCheckpoint(ModelCheckpoint):
    """ModelCheckpoint with its state key built once.

    Lightning names every callback hook call after ``state_key``, a repr of the callback's
    settings rebuilt each time (five hooks per step); the settings never change after
    ``__init__``, so the key is cached at its first use.
    """

    @functools.cached_property
    def state_key(self) -> str:  # type: ignore[override]
        return super().state_key


class StopEarly(EarlyStopping):
    """EarlyStopping with its state key built once (see ``BestCheckpoint``)."""

    @functools.cached_property
    def state_key(self) -> str:  # type: ignore[override]
        return super().state_key


def build_trainer(config: TrainerConfig, run_dir: Path) -> tuple[L.Trainer, ModelCheckpoint]:
    """A Trainer that logs to CSV and TensorBoard in ``run_dir`` and keeps the best
    checkpoint by the early-stopping metric (``val_loss`` when early stopping is off)."""
    stopping = config.early_stopping
    monitor, mode = (stopping.monitor, stopping.mode) if stopping else ("val_loss", "min")
    best = BestCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor=monitor,
        mode=mode,
        enable_version_counter=False,
    )
    # Lightning's save_last rewrites last.ckpt only in epochs that improved the best one;
    # resuming needs every epoch, so a second checkpoint without a monitor writes it. It
    # comes after ``best`` (Lightning keeps the order of checkpoint callbacks), so its file
    # holds the best score of the same epoch. ExactResume adds the generator states,
    # the history and the stop flag to every checkpoint.
    last = BestCheckpoint(
        dirpath=run_dir / "checkpoints", filename="last", enable_version_counter=False
    )
    callbacks: list[L.Callback] = [best, last, ExactResume()]
    if stopping:
        callbacks.append(
            StopEarly(
                monitor=monitor,
                mode=mode,
                patience=stopping.patience,
                min_delta=stopping.min_delta,
            )
        )
    if config.progress_bar:
        callbacks.append(TQDMProgressBar(refresh_rate=PROGRESS_REFRESH_STEPS))
    _check_precision(config)
    loggers = [
        CSVLogger(run_dir, name="logs", version=""),
        TensorBoardLogger(run_dir, name="tensorboard", version="", default_hp_metric=False),
    ]
    trainer = L.Trainer(
        max_epochs=config.max_epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        strategy=config.strategy,
        num_nodes=config.num_nodes,
        # Atomic writes, a kept previous last.ckpt, weights_only reads (checkpoints.py).
        plugins=[AtomicCheckpointIO()],
        # ShuffledBatches shards itself (loaders.py); Lightning's wrapper would hand each
        # process whole batches, doubling the effective batch per optimizer step.
        use_distributed_sampler=False,
        precision=config.precision,
        deterministic=config.deterministic,
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        logger=loggers,
        callbacks=callbacks,
        profiler=NoProfiler(),
        default_root_dir=run_dir,
        num_sanity_val_steps=0,
        # The task logs once per epoch (Lightning writes epoch metrics whatever this is);
        # 0 skips the per-step gathering of step metrics, ~70 Python calls per step.
        log_every_n_steps=0,
    )
    return trainer, best


def _check_precision(config: TrainerConfig) -> None:
    """float16 mixed precision needs a CUDA GPU (its loss scaling runs there); on a CPU the
    bfloat16 variant trains with the same memory savings and no scaling."""
    import torch

    from hepdl.errors import ConfigError

    if str(config.precision) in ("16", "16-mixed") and (
        config.accelerator == "cpu" or not torch.cuda.is_available()
    ):
        raise ConfigError(
            f"trainer.precision '{config.precision}' needs a CUDA GPU, and none is used here; "
            "on a CPU use trainer.precision: bf16-mixed"
        )
