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
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
from lightning.pytorch.callbacks.progress.tqdm_progress import _update_n
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.profilers import Profiler

from hepdl.config import TrainerConfig
from hepdl.paths import inside_run
from hepdl.train.checkpoints import AtomicCheckpointIO
from hepdl.train.epoch_log import EpochLines, draws_progress_bars
from hepdl.train.loaders import StepGroup
from hepdl.trainer_checks import check_machine

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
    """The best epoch's checkpoint (``best.ckpt``), and ``last.ckpt`` after every epoch.

    Lightning's ``save_last`` rewrites last.ckpt only in epochs that wrote a top-k
    checkpoint; resuming needs every epoch, so an epoch that did not is saved as last
    here. Written after the top-k check, last.ckpt holds the best score of its epoch.

    Lightning names every callback hook call after ``state_key``, a repr of the callback's
    settings rebuilt each time (five hooks per step); the settings never change after
    ``__init__``, so the key is cached at its first use.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(save_last=True, **options)

    @functools.cached_property
    def state_key(self) -> str:  # type: ignore[override]
        return super().state_key

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        if self._should_save_on_train_epoch_end(trainer):  # no validation loop
            self._save_last_if_unsaved(trainer)

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_unsaved(trainer)

    def _save_last_if_unsaved(self, trainer: L.Trainer) -> None:
        # Skipped when this step was saved already (an improved epoch: best and last).
        if not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


class StepProgressBar(TQDMProgressBar):
    """The training bar counts batches (optimizer steps), also when one training call takes
    a ``StepGroup`` of several (``trainer.steps_per_execution``), and redraws whenever the
    count passes a multiple of ``refresh_rate``."""

    @property
    def total_train_batches(self) -> int | float:
        sampler = getattr(self.trainer.train_dataloader, "sampler", None)
        return getattr(sampler, "steps_per_epoch", None) or super().total_train_batches

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any,
        batch_idx: int,
    ) -> None:  # fmt: skip
        bar = self.train_progress_bar
        if bar is None or not self.is_enabled:
            return
        size = getattr(getattr(trainer.train_dataloader, "sampler", None), "size", 1)
        steps = len(batch) if isinstance(batch, StepGroup) else 1
        done = batch_idx * size + steps  # every group before the last holds `size` batches
        passed = done // self.refresh_rate > (done - steps) // self.refresh_rate
        if passed or done == bar.total:
            _update_n(bar, done)
            bar.set_postfix(self.get_metrics(trainer, pl_module))


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
    if mode is None:  # a TrainerConfig outside an experiment (whose load sets the mode)
        mode = "min" if monitor.endswith("loss") else "max"
    for folder in ("checkpoints", "logs", "tensorboard"):  # never written through a link
        inside_run(run_dir, folder)
    best = BestCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor=monitor,
        mode=mode,
        enable_version_counter=False,
    )
    # Every callback costs each training call a dispatch of all its hooks; what hepdl
    # adds per epoch (timing, the exact-resume state) is in the task's hooks instead
    # (hepdl.tasks._base).
    callbacks: list[L.Callback] = [best]
    if stopping:
        callbacks.append(
            StopEarly(
                monitor=monitor,
                mode=mode,
                patience=stopping.patience,
                min_delta=stopping.min_delta,
            )
        )
    # A bar where stdout is a terminal; in a log file its carriage-return redraws would
    # pile up, so a line per epoch instead (epoch_log.py).
    bar = config.progress_bar and draws_progress_bars()
    if bar:
        callbacks.append(StepProgressBar(refresh_rate=PROGRESS_REFRESH_STEPS))
    elif config.progress_bar:
        callbacks.append(EpochLines())
    _check_precision(config)
    check_machine(config)  # devices this machine has, before any process starts
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
        enable_progress_bar=bar,
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
