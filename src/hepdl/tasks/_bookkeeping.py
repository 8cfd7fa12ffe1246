"""What every hepdl task does besides learning: time its epochs and make its checkpoints
resumable to the same weights.

These are module hooks, not Lightning callbacks, on purpose. Lightning dispatches every
hook of every callback on every training call, overridden or not (about 50 Python calls
per callback per step, measured with cProfile: benchmarks/bench_training_epoch.py), while
a module's epoch and checkpoint hooks run once per epoch.
"""

from __future__ import annotations

from typing import Any

import lightning as L

from hepdl.train._timing import EpochTimer
from hepdl.train.resume import (
    complete_stopped_epoch,
    restore_resume_state,
    save_resume_state,
    set_loader_epoch,
)


class BookkeepingModule(L.LightningModule):
    """Times each training epoch (``epoch_timer``, validation excluded) and saves in every
    checkpoint the state an exact resume needs (hepdl.train.resume). Subclasses that
    override these hooks call ``super()``."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch_timer = EpochTimer()

    def on_train_epoch_start(self) -> None:
        self.epoch_timer.train_epoch_start()
        set_loader_epoch(self.trainer)

    def on_validation_start(self) -> None:
        self.epoch_timer.validation_start()

    def on_validation_end(self) -> None:
        self.epoch_timer.validation_end()

    def on_train_epoch_end(self) -> None:
        self.epoch_timer.train_epoch_end()

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        save_resume_state(self.trainer, self, checkpoint)

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        restore_resume_state(self.trainer, self, checkpoint)

    def on_fit_end(self) -> None:
        complete_stopped_epoch(self.trainer)
