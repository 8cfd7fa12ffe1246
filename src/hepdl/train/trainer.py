"""Building the Lightning Trainer from the ``trainer`` config section."""

from __future__ import annotations

from pathlib import Path

import lightning as L
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

from hepdl.config import TrainerConfig


def build_trainer(config: TrainerConfig, run_dir: Path) -> tuple[L.Trainer, ModelCheckpoint]:
    """A Trainer that logs to CSV and TensorBoard in ``run_dir`` and keeps the best
    checkpoint by the early-stopping metric (``val_loss`` when early stopping is off)."""
    stopping = config.early_stopping
    monitor, mode = (stopping.monitor, stopping.mode) if stopping else ("val_loss", "min")
    best = ModelCheckpoint(
        dirpath=run_dir / "checkpoints",
        filename="best",
        monitor=monitor,
        mode=mode,
        save_last=True,
        enable_version_counter=False,
    )
    callbacks: list[L.Callback] = [best]
    if stopping:
        callbacks.append(
            EarlyStopping(
                monitor=monitor,
                mode=mode,
                patience=stopping.patience,
                min_delta=stopping.min_delta,
            )
        )
    loggers = [
        CSVLogger(run_dir, name="logs", version=""),
        TensorBoardLogger(run_dir, name="tensorboard", version="", default_hp_metric=False),
    ]
    trainer = L.Trainer(
        max_epochs=config.max_epochs,
        accelerator=config.accelerator,
        devices=config.devices,
        precision=config.precision,
        deterministic=config.deterministic,
        enable_progress_bar=config.progress_bar,
        enable_model_summary=False,
        logger=loggers,
        callbacks=callbacks,
        default_root_dir=run_dir,
        num_sanity_val_steps=0,
        log_every_n_steps=1,  # metrics are logged once per epoch; this only silences a warning
    )
    return trainer, best
