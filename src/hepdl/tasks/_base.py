"""What every hepdl task does besides learning: time its epochs, make its checkpoints
resumable to the same weights, and cost Lightning as little as it can per step.

Bookkeeping lives in module hooks, not Lightning callbacks, on purpose: Lightning
dispatches every hook of every callback on every training call, overridden or not (about
50 Python calls per callback per call, measured with cProfile), while a module's epoch and
checkpoint hooks run once per epoch.

Per optimizer step Lightning adds ~0.25 ms of Python around a 1 ms step of a small MLP
(benchmarks/bench_training_epoch.py). What is cut here, each without changing a number:
- the hook name Lightning stores on the module around every hook call (~40 per step)
  skips ``nn.Module.__setattr__``'s parameter/buffer checks;
- batches already on the CPU are not walked tensor by tensor to "move" them there;
- ``backward`` calls ``loss.backward()`` directly where ``manual_backward`` would do only
  that plus dispatching two hooks nobody listens to (32-bit precision on one device);
  mixed precision (loss scaling) and DDP (its reducer is armed there) keep Lightning's.
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch

from hepdl.train._timing import EpochTimer
from hepdl.train.resume import (
    complete_stopped_epoch,
    restore_resume_state,
    save_resume_state,
    set_loader_epoch,
)

_BACKWARD_HOOKS = ("on_before_backward", "on_after_backward")


def direct_backward_is_exact(trainer: L.Trainer, module: L.LightningModule) -> bool:
    """True when ``manual_backward(loss)`` would amount to ``loss.backward()``: the plain
    32-bit precision plugin (no loss scaling), one device (no DDP reducer to arm), and no
    callback or module hook on ``on_before_backward`` / ``on_after_backward``."""
    from lightning.pytorch.plugins.precision import Precision
    from lightning.pytorch.strategies import SingleDeviceStrategy
    from lightning.pytorch.utilities.model_helpers import is_overridden

    if type(trainer.precision_plugin) is not Precision:
        return False
    if type(trainer.strategy) is not SingleDeviceStrategy:
        return False
    hooked = [
        is_overridden(hook, callback, parent=L.Callback)
        for callback in trainer.callbacks
        for hook in _BACKWARD_HOOKS
    ]
    hooked += [is_overridden(hook, module, parent=L.LightningModule) for hook in _BACKWARD_HOOKS]
    return not any(hooked)


class TaskBase(L.LightningModule):
    """Times each training epoch (``epoch_timer``, validation excluded), saves in every
    checkpoint the state an exact resume needs (hepdl.train.resume) and takes the lean
    path per step. Subclasses that override these hooks call ``super()``."""

    def __init__(self) -> None:
        super().__init__()
        self.epoch_timer = EpochTimer()
        self._direct_backward = False  # decided when the fit starts

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets _current_fx_name before and after every hook; nn.Module.__setattr__
        # checks each value against parameters, modules and buffers first (a few
        # microseconds each). The value is a hook name or None, so it is stored directly.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def backward_step(self, loss: torch.Tensor) -> None:
        """Back-propagate ``loss``: directly where that is exactly what Lightning does."""
        if self._direct_backward:
            loss.backward()
        else:
            self.manual_backward(loss)

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        # hepdl's loaders yield CPU tensors: on a CPU there is nothing to move, and Lightning
        # would walk every tensor of a StepGroup to find that out.
        if device.type == "cpu":
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def on_train_start(self) -> None:
        self._direct_backward = direct_backward_is_exact(self.trainer, self)

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
