"""Classification: a model, its loss, accuracy per epoch and the optimiser settings.

Losses (y the true class, p the predicted probability):
    bce  binary cross-entropy   -[y ln p + (1 - y) ln(1 - p)], sigmoid output (1 unit)
    cce  categorical CE         -ln p_y, softmax output (one unit per class)
    mse  mean squared error     (p - y)^2 on the probabilities (one-hot y for softmax)
The sigmoid/softmax is fused into the cross-entropies (``*_with_logits``) for stability.

Per optimizer step this task costs Lightning as little as it can (measured against a plain
PyTorch loop in benchmarks/bench_training_epoch.py): manual optimisation (no closure
around training_step), several steps per training call (``StepGroup``), nothing logged
per step (the epoch's loss and accuracy are one vectorised pass at epoch end) and the
lean per-step path of ``hepdl.tasks._base.TaskBase``.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from hepdl.errors import ConfigError
from hepdl.models.inputs import forward
from hepdl.tasks._base import TaskBase
from hepdl.tasks._epoch_metrics import (
    check_monitor,
    gather_rows,
    logged_names,
    physics_metrics,
    signal_score,
)
from hepdl.tasks._optim import Schedule, build_optimizer, check_schedule
from hepdl.train.loaders import StepGroup

LOSS_NEEDS_OUTPUT = {"bce": "sigmoid", "cce": "softmax"}


class ClassificationTask(TaskBase):
    """Trains ``model`` (features (B, F) -> logits (B, K)) on integer labels (B,)."""

    def __init__(
        self,
        model: nn.Module,
        *,
        loss: str = "bce",
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        schedule: Mapping[str, Any] | None = None,
        gradient_clip: float | None = None,
        gradient_clip_algorithm: str = "norm",
        signal_class: int | None = None,
        signal_efficiencies: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        output = getattr(model, "output", "linear")
        needed = LOSS_NEEDS_OUTPUT.get(loss)
        if needed and output != needed:
            raise ConfigError(
                f"task.loss '{loss}' needs model.output '{needed}', but the model has '{output}'"
            )
        if nesterov and momentum == 0:
            raise ConfigError("task.nesterov needs task.momentum > 0")
        if gradient_clip_algorithm not in ("norm", "value"):
            raise ConfigError(
                f"task.gradient_clip_algorithm '{gradient_clip_algorithm}' is not norm or value"
            )
        if gradient_clip is not None and gradient_clip <= 0:
            raise ConfigError(f"task.gradient_clip must be > 0 (or null: off), got {gradient_clip}")
        if schedule is not None:
            check_schedule(schedule)
        self.model = model
        self.loss_name = loss
        self.optimizer_name = optimizer
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        # The optimiser options are checked now, not when the fit has started.
        build_optimizer(model.parameters(), **self._optimizer_options())
        self.schedule_options = dict(schedule) if schedule is not None else None
        self.gradient_clip = gradient_clip
        self.gradient_clip_algorithm = gradient_clip_algorithm
        # Physics metrics per validation epoch need the signal class; without it (a task
        # used outside hepdl's runs) only losses and accuracies are logged.
        self.signal_class = signal_class
        self.signal_efficiencies = (
            None if signal_class is None else [float(e) for e in signal_efficiencies or ()]
        )
        self._schedule: Schedule | None = None
        self._epoch_lr = lr
        # Per-batch scheduler steps: the schedule's (one-cycle, warm-up in steps) and any a
        # tuner put in Lightning's list (the LR finder); empty without a schedule.
        self._batch_steps: tuple[Any, ...] = ()
        # One zero_grad/backward/step per batch, written out in training_step: automatic
        # optimisation would wrap training_step in a closure handed to optimizer.step.
        self.automatic_optimization = False
        self.history: dict[str, list[float]] = {}
        # Per-step (loss, logits, labels) of the running epoch, per stage.
        self._epoch: dict[str, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {
            "train": [],
            "val": [],
        }

    # ------------------------------------------------------------------ the maths
    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return self.model.probabilities(logits)

    def signal_probability(self, logits: torch.Tensor, *, signal_class: int = 1) -> torch.Tensor:
        """P(signal) per jet, (B,): the sigmoid unit, or the softmax entry of the signal."""
        prob = self.probabilities(logits)
        return prob[:, 0] if prob.shape[1] == 1 else prob[:, signal_class]

    def compute_loss(
        self, logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The batch loss: the mean over rows, or sum(w_i l_i) / sum(w_i) with ``weights``."""
        # Unweighted: torch's own mean reduction, the loss a hand-written loop computes (the
        # per-row path rounds differently from ~256 rows on, which Adam amplifies to ~1e-3
        # in the weights of nearly idle units).
        reduction = "mean" if weights is None else "none"
        if self.loss_name == "bce":
            loss = F.binary_cross_entropy_with_logits(
                logits[:, 0], labels.to(logits.dtype), reduction=reduction
            )
        elif self.loss_name == "cce":
            loss = F.cross_entropy(logits, labels, reduction=reduction)
        else:
            prob = self.probabilities(logits)
            target = (
                labels.to(prob.dtype)[:, None]
                if prob.shape[1] == 1
                else F.one_hot(labels, prob.shape[1]).to(prob.dtype)
            )
            # Every row has K entries, so the mean over all entries is the mean of the rows'.
            loss = F.mse_loss(prob, target, reduction=reduction)
        if weights is None:
            return loss
        per_row = loss if loss.ndim == 1 else loss.mean(dim=1)  # (B,)
        weights = weights.to(per_row.dtype)
        # A batch whose rows all weigh 0 (outside the reweighting range) contributes 0.
        return (per_row * weights).sum() / weights.sum().clamp_min(torch.finfo(per_row.dtype).tiny)

    def predicted_class(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.shape[1] == 1:
            return (logits[:, 0] > 0).long()  # sigmoid(z) > 0.5  <=>  z > 0
        return logits.argmax(dim=1)

    # ------------------------------------------------------------------ Lightning hooks
    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.model(features)

    def _step(self, batch: tuple[torch.Tensor, torch.Tensor], stage: str) -> torch.Tensor:
        inputs, labels, *weights = batch  # (B, F) or {name: (B, ...)}, (B,) [, (B,)]
        logits = forward(self.model, inputs)  # (B, K)
        loss = self.compute_loss(logits, labels, weights[0] if weights else None)
        # Only references are kept per step (no tensor ops, no host sync); the epoch's
        # accuracy is one vectorised pass over all its logits in _close_epoch.
        self._epoch[stage].append((loss.detach(), logits.detach(), labels))
        return loss

    def _close_epoch(self, stage: str) -> None:
        steps = self._epoch[stage]
        if not steps:
            return
        losses, logits, labels = zip(*steps, strict=True)
        labels = torch.cat(labels)  # (N,)
        sizes = torch.tensor([len(y) for y in logits], dtype=torch.float64, device=labels.device)
        logits = torch.cat(logits)  # (N, K)
        correct = (self.predicted_class(logits) == labels).sum()
        sums = torch.stack(
            [(torch.stack(losses).double() * sizes).sum(), correct.double(), sizes.sum()]
        )
        steps.clear()
        sums = self.trainer.strategy.reduce(sums, reduce_op="sum")  # over DDP processes
        loss, accuracy = (sums[0] / sums[2]).item(), (sums[1] / sums[2]).item()
        self.log(f"{stage}_loss", loss, prog_bar=True)
        self.log(f"{stage}_accuracy", accuracy, prog_bar=True)
        self.history.setdefault(f"{stage}_loss", []).append(loss)
        self.history.setdefault(f"{stage}_accuracy", []).append(accuracy)
        if stage == "val" and self.signal_class is not None:
            self._log_physics(logits, labels)

    def _log_physics(self, logits: torch.Tensor, labels: torch.Tensor) -> None:
        """val_auc and the rejections (see ``hepdl.tasks._epoch_metrics``) over the rows of
        every process, so each rank logs the same values."""
        world = self.trainer.world_size
        logits = gather_rows(logits, all_gather=self.all_gather, world_size=world)  # (N, K)
        labels = gather_rows(labels, all_gather=self.all_gather, world_size=world)  # (N,)
        values = physics_metrics(
            signal_score(logits, self.probabilities, self.signal_class),
            labels.cpu().numpy(),
            signal_class=self.signal_class,
            efficiencies=self.signal_efficiencies,
        )
        for name, value in values.items():
            self.log(name, value)
            self.history.setdefault(name, []).append(value)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        # One optimizer step per batch; a StepGroup (trainer.steps_per_execution) brings
        # several batches to one call, taken in order.
        # The optimizer as Lightning wraps it: precision plugins (AMP loss scaling), the
        # strategy and the global step counter still see every step.
        optimizer = self.optimizers()
        for one in batch if isinstance(batch, StepGroup) else (batch,):
            loss = self._step(one, "train")
            optimizer.zero_grad()
            self.backward_step(loss)
            optimizer.step()
            for step in self._batch_steps:  # nothing to loop over without a schedule
                step()
        return loss.detach()

    # Lightning asks inspect for training_step's parameters on every step (to decide
    # whether to pass batch_idx); a stored __signature__ is returned without rebuilding it.
    training_step.__signature__ = inspect.signature(training_step)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # The precision plugin calls this hook between the backward pass and the step, after
        # unscaling the gradients under 16-mixed, so the clip applies to the true gradients.
        if self.gradient_clip is not None:
            self.clip_gradients(
                optimizer,
                gradient_clip_val=self.gradient_clip,
                gradient_clip_algorithm=self.gradient_clip_algorithm,
            )

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        # History "lr": the learning rate of each epoch's first step.
        self._epoch_lr = float(self.trainer.optimizers[0].param_groups[0]["lr"])

    def on_train_epoch_end(self) -> None:
        super().on_train_epoch_end()  # the epoch's time, before the epoch-end work
        # Lightning has run this epoch's validation already: plateau sees its metric.
        self._close_epoch("train")
        self.log("lr", self._epoch_lr)
        self.history.setdefault("lr", []).append(self._epoch_lr)
        if self._schedule is not None:
            metrics = {k: float(v) for k, v in self.trainer.callback_metrics.items()}
            self._schedule.epoch_end(metrics)
            self._batch_steps = self._per_batch_steps()

    def on_validation_epoch_end(self) -> None:
        self._close_epoch("val")

    def logged_metrics(self) -> list[str]:
        """The names this task logs per epoch (valid monitors for early stopping)."""
        return logged_names(self.signal_efficiencies)

    def setup(self, stage: str) -> None:
        # A monitor that is never logged would silently keep no best checkpoint and never
        # stop early: refuse it before the first step.
        valid = self.logged_metrics()
        trainer = self.trainer
        for callback in [*trainer.early_stopping_callbacks, *trainer.checkpoint_callbacks]:
            if getattr(callback, "monitor", None) is not None:
                check_monitor(callback.monitor, valid, key="trainer.early_stopping.monitor")
        if self.schedule_options and self.schedule_options.get("name") == "plateau":
            monitor = self.schedule_options.get("monitor") or "val_loss"
            check_monitor(monitor, valid, key="task.schedule.monitor")

    def on_train_start(self) -> None:
        super().on_train_start()
        self._batch_steps = self._per_batch_steps()

    def _per_batch_steps(self) -> tuple[Any, ...]:
        """What to step after each optimizer step: the schedule while it steps per batch,
        and any per-step scheduler another tool put in Lightning's list (the LR finder
        swaps in its own, which Lightning steps only under automatic optimisation)."""
        steps = [
            config.scheduler.step
            for config in self.trainer.lr_scheduler_configs
            if config.scheduler is not self._schedule and config.interval == "step"
        ]
        if self._schedule is not None and self._schedule.per_batch:
            steps.append(self._schedule.batch_end)
        return tuple(steps)

    def _optimizer_options(self) -> dict[str, Any]:
        return {
            "name": self.optimizer_name,
            "lr": self.lr,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
        }

    def _optimizer_steps_per_fit(self) -> int:
        """Optimizer steps of the whole fit: Lightning counts training calls, each of which
        takes ``steps_per_epoch / calls per epoch`` steps when batches come in StepGroups."""
        calls = int(self.trainer.estimated_stepping_batches)  # also sets up the loader
        sampler = getattr(self.trainer.train_dataloader, "sampler", None)
        steps_per_epoch = getattr(sampler, "steps_per_epoch", None)
        if steps_per_epoch is None:
            return calls
        return calls * steps_per_epoch // len(sampler)

    def configure_optimizers(self) -> Any:
        optimizer = build_optimizer(self.model.parameters(), **self._optimizer_options())
        if self.schedule_options is None:
            self._schedule = None
            return optimizer
        self._schedule = Schedule(
            optimizer,
            self.schedule_options,
            base_lr=self.lr,
            max_epochs=self.trainer.max_epochs,
            total_steps=self._optimizer_steps_per_fit(),
        )
        # Registered with Lightning only for its state in checkpoints (resuming continues
        # the schedule); the task steps it, Lightning does not under manual optimisation.
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self._schedule}}
