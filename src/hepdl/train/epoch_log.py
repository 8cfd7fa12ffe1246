"""One printed line per epoch, for output that is not a terminal.

A tqdm bar redraws itself with carriage returns; written to a log file (``hepdl train ...
> train.log``, a batch job's output) those redraws become one unreadable line of
thousands of partial bars. :func:`draws_progress_bars` decides whether stdout, where
Lightning's bar writes, can show one; where it cannot, :class:`EpochLines` prints

    epoch 3/20: train_loss 0.4121, val_loss 0.3987, val_auc 0.9134, lr 0.001 (1.2 s)

once per epoch, flushed, so a log followed with ``tail -f`` shows each epoch as it ends.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

import lightning as L

from hepdl.terminal import draws_progress_bars

__all__ = ["EpochLines", "draws_progress_bars", "epoch_line"]


def _order(name: str) -> tuple[int, str]:
    # train_* before val_* before the rest (lr, ...): the order of an epoch's events.
    rank = 0 if name.startswith("train_") else 1 if name.startswith("val_") else 2
    return rank, name


def epoch_line(epoch: int, max_epochs: int, metrics: dict[str, Any], seconds: float) -> str:
    """``epoch {epoch}/{max_epochs}: name value, ... ({seconds} s)`` for the scalar
    ``metrics`` (floats or one-element tensors), 4 significant digits."""
    values = []
    for name in sorted(metrics, key=_order):
        value = metrics[name]
        if hasattr(value, "numel"):
            if value.numel() != 1:
                continue
            value = value.item()
        if isinstance(value, int | float):
            values.append(f"{name} {value:.4g}")
    return f"epoch {epoch}/{max_epochs}: {', '.join(values)} ({seconds:.1f} s)"


class EpochLines(L.Callback):
    """Prints :func:`epoch_line` once per epoch on the first process.

    The task logs the epoch's training metrics in its own ``on_train_epoch_end``, which
    Lightning calls after the callbacks' hook of that name; so the line of an epoch is
    printed when the next one starts, or when training ends (early stopping included).
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream  # None: sys.stdout at the time of printing (pytest swaps it)
        self._started = 0.0
        self._pending: tuple[int, float] | None = None  # (epoch, seconds) not yet printed

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)
        self._started = time.perf_counter()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        # Validation has run already: the time covers the epoch's training and validation.
        self._pending = (trainer.current_epoch + 1, time.perf_counter() - self._started)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        self._flush(trainer)

    def _flush(self, trainer: L.Trainer) -> None:
        if self._pending is None:
            return
        epoch, seconds = self._pending
        self._pending = None
        if trainer.is_global_zero:
            line = epoch_line(epoch, trainer.max_epochs, trainer.callback_metrics, seconds)
            print(line, file=self.stream or sys.stdout, flush=True)
