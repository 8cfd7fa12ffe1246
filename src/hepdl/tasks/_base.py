"""What every hepdl task shares: the optimisation plumbing (manual optimisation, several
optimizer steps per training call, clipping, schedules, several optimisers), the epoch's
loss and metrics from what each step recorded, epoch timing, exactly resumable
checkpoints, and the leanest per-step path Lightning allows.

A kind of learning subclasses :class:`TaskBase` in its own file and fills in
- ``Config``: its section of the experiment file (a ``hepdl.config.TaskSection``);
- ``step_loss(batch, stage)``: the loss of one batch, recording what its epoch metrics need
  with ``record``; ``epoch_sums`` / ``epoch_metrics`` turn the records into numbers;
- for several optimisers (a GAN, an adversary) ``optimized_parameters`` (one parameter
  group per optimiser) and ``training_update`` (the steps of one batch).

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

import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar

import lightning as L
import torch
from torch import nn

from hepdl.config import TaskSection
from hepdl.errors import ConfigError
from hepdl.tasks._optim import Schedule, build_optimizer, check_schedule
from hepdl.tasks.fit_state import (
    EpochTimer,
    StepGroup,
    complete_stopped_epoch,
    restore_resume_state,
    save_resume_state,
    set_loader_epoch,
)

_BACKWARD_HOOKS = ("on_before_backward", "on_after_backward")


def weighted_mean(per_row: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum(w_i l_i) / sum(w_i) of per-row losses (B,) or (B, K) (mean over K first)."""
    per_row = per_row if per_row.ndim == 1 else per_row.mean(dim=1)  # (B,)
    weights = weights.to(per_row.dtype)
    # A batch whose rows all weigh 0 (outside the reweighting range) contributes 0.
    return (per_row * weights).sum() / weights.sum().clamp_min(torch.finfo(per_row.dtype).tiny)


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
    """A model (or several, in an ``nn.ModuleDict``) and how it learns.

    One optimizer step per batch under manual optimisation (no closure around the step);
    a ``StepGroup`` (``trainer.steps_per_execution``) brings several batches to one
    training call. Per epoch and stage the mean loss and the task's metrics are logged
    and kept in ``history``. Subclasses that override a hook call ``super()``.
    """

    kind: ClassVar[str]  # the registered name, set by ``register_task``
    Config: ClassVar[type[TaskSection]]
    # hepdl.tasks.divergence: the losses whose non-finite value stops the fit, and whether
    # a loss far above the first step's counts too (not for an adversarial loss).
    divergence_watch: ClassVar[tuple[str, ...]] = ("train_loss", "val_loss")
    divergence_bound: ClassVar[bool] = True

    def __init__(
        self,
        model: nn.Module,
        *,
        optimizer: str = "adam",
        lr: float = 1e-3,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
        schedule: Mapping[str, Any] | None = None,
        gradient_clip: float | None = None,
        gradient_clip_algorithm: str = "norm",
        betas: tuple[float, float] | None = None,
    ) -> None:
        super().__init__()
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
        self.optimizer_name = optimizer
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.betas = betas  # Adam's; None: torch's default (a task's own option, not shared)
        # The optimiser options are checked now, not when the fit has started.
        for params in self.optimized_parameters():
            build_optimizer(params, **self._optimizer_options())
        self.schedule_options = dict(schedule) if schedule is not None else None
        self.gradient_clip = gradient_clip
        self.gradient_clip_algorithm = gradient_clip_algorithm
        self.epoch_timer = EpochTimer()
        self._direct_backward = False  # decided when the fit starts
        self._schedules: list[Schedule] = []
        self._epoch_lr = lr
        # Per-batch scheduler steps: the schedules' (one-cycle, warm-up in steps) and any a
        # tuner put in Lightning's list (the LR finder); empty without a schedule.
        self._batch_steps: tuple[Any, ...] = ()
        self.automatic_optimization = False
        self.history: dict[str, list[float]] = {}
        # The first training step's loss (initial weights) and, once a training epoch
        # breaks hepdl.tasks.divergence's rule, {"epoch", "reason"}: the fit stops there.
        self.initial_loss: float | None = None
        self.diverged: dict[str, Any] | None = None
        # Per step of the running epoch, per stage: (loss, rows, what step_loss recorded).
        self._epoch: dict[str, list[tuple[torch.Tensor, int, Any]]] = {"train": [], "val": []}

    # ------------------------------------------------------------ what a task fills in
    def step_loss(self, batch: Any, stage: str) -> torch.Tensor:
        """The loss of one batch (``stage`` "train" or "val"); calls ``record``."""
        raise NotImplementedError(f"{type(self).__name__} must define step_loss")

    def epoch_sums(self, records: Sequence[Any]) -> list[torch.Tensor]:
        """Additive per-epoch counts (e.g. correct predictions) from the records of one
        process, summed over DDP processes and divided by the rows: logged as
        ``<stage>_<name>`` for each name of ``epoch_sum_names``."""
        return []

    epoch_sum_names: ClassVar[tuple[str, ...]] = ()

    def epoch_metrics(self, stage: str, records: Sequence[Any]) -> dict[str, float]:
        """Metrics that are not sums (AUC, resolution), from the records of one stage."""
        return {}

    def logged_metrics(self) -> list[str]:
        """The names this task logs per epoch (valid monitors for early stopping)."""
        raise NotImplementedError(f"{type(self).__name__} must define logged_metrics")

    def optimized_parameters(self) -> list[Iterable[nn.Parameter]]:
        """One parameter group per optimiser; one optimiser over the model by default."""
        return [self.model.parameters()]

    def training_update(self, batch: Any) -> torch.Tensor:
        """The optimizer step(s) of one batch; returns the loss. One optimiser by default;
        a task with several optimisers (``self.optimizers()`` is then a list) overrides it
        and ends each step with ``self.after_optimizer_step()``."""
        optimizer = self.optimizers()
        loss = self.step_loss(batch, "train")
        optimizer.zero_grad()
        self.backward_step(loss)
        optimizer.step()
        self.after_optimizer_step()
        return loss

    # ------------------------------------------------------------ the run's data and results
    # What hepdl's commands ask a task class before a model exists: which truth to read,
    # how to split, how to code it, and how to show the test metrics.
    needs_labels: ClassVar[bool] = False  # True: class labels, class-stratified split
    # Kinds of one family write the same test metrics, so hepdl compare sets their runs
    # side by side (the generative gan, vae, flow: "generative"); None: its kind alone.
    metrics_family: ClassVar[str | None] = None
    # What its test predictions are, for the commands that combine runs: "scores" (one
    # signal score per row: ROC curves in `compare`, averaged probabilities in `ensemble`)
    # or "values" (predicted numbers: response curves, averaged point predictions).
    predictions_are: ClassVar[str | None] = None

    @classmethod
    def sample_columns(cls, section: Any) -> dict[str, str]:
        """The flat columns the task reads, each mapped to the config key naming it."""
        return {}

    @classmethod
    def truth_columns(cls, section: Any) -> set[str]:
        """The columns of ``sample_columns`` that hold only truth: an evaluation file may
        lack them (the predictions are written, the metrics need them)."""
        return set()

    @classmethod
    def fit_targets(cls, section: Any, sample: Any, train_rows: Any, data: Any) -> Any:
        """The task's ``TargetCoding``, fitted on rows ``train_rows`` of ``sample``."""
        raise NotImplementedError(f"{cls.__name__} must define fit_targets")

    @classmethod
    def targets_from_saved(cls, section: Any, saved: Mapping[str, Any]) -> Any:
        """The ``TargetCoding`` rebuilt from a run's preprocessing.json."""
        raise NotImplementedError(f"{cls.__name__} must define targets_from_saved")

    @staticmethod
    def summary(metrics: Mapping[str, Any]) -> tuple[str, list[tuple[str, str]]]:
        """The title and (name, value) rows of the CLI's table of test metrics."""
        raise NotImplementedError("a task must define summary")

    @classmethod
    def comparison_columns(
        cls, metrics: Sequence[Mapping[str, Any]]
    ) -> list[tuple[str, str, str, str | None]]:
        """The task's columns of ``hepdl compare``'s table for runs whose test metrics
        (metrics.json, one per run) are ``metrics``, the first ranking the rows (its
        ``metric_direction``): (key, header, format of one number, above). ``key`` is an
        entry of metrics.json ("a.b": entry b of entry a); ``above`` the entry a null
        value lies above (a rejection with no background left: ``n_background``) or None.
        The run costs (parameters, s/epoch, jets/s) follow them for every task."""
        raise NotImplementedError(f"{cls.__name__} must define comparison_columns")

    @classmethod
    def metric_direction(cls, name: str) -> str | None:
        """Which value of the test metric ``name`` is better: "max" (AUC), "min" (a
        resolution, an RMSE, a loss), "one" / "zero" (nearest 1, a response; nearest 0, a
        bias), or None where it ranks nothing. It ranks ``hepdl compare``'s rows and is the
        default direction of ``hepdl scan`` and ``learning-curve``."""
        raise NotImplementedError(f"{cls.__name__} must define metric_direction")

    # ---------------------------------------------------------------- the epoch's records
    def record(self, stage: str, loss: torch.Tensor, rows: int, payload: Any = None) -> None:
        """Keep this step's loss and ``payload`` for the epoch: references only (no tensor
        ops, no host sync); the epoch's numbers are one vectorised pass at its end."""
        self._epoch[stage].append((loss.detach(), rows, payload))

    def _close_epoch(self, stage: str) -> None:
        steps = self._epoch[stage]
        if not steps:
            return
        losses, sizes, records = zip(*steps, strict=True)
        if stage == "train" and self.initial_loss is None:  # one sync, once per fit
            self.initial_loss = float(losses[0])
        sizes = torch.tensor(sizes, dtype=torch.float64, device=losses[0].device)
        extra = [t.double() for t in self.epoch_sums(records)]
        sums = torch.stack([(torch.stack(losses).double() * sizes).sum(), *extra, sizes.sum()])
        steps.clear()
        sums = self.trainer.strategy.reduce(sums, reduce_op="sum")  # over DDP processes
        values = {f"{stage}_loss": (sums[0] / sums[-1]).item()}
        for i, name in enumerate(self.epoch_sum_names, start=1):
            values[f"{stage}_{name}"] = (sums[i] / sums[-1]).item()
        for name, value in values.items():
            self.log(name, value, prog_bar=True)
            self.history.setdefault(name, []).append(value)
        for name, value in self.epoch_metrics(stage, records).items():
            self.log(name, value)
            self.history.setdefault(name, []).append(value)

    # ------------------------------------------------------------------ Lightning hooks
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

    def after_optimizer_step(self) -> None:
        """Step what steps per batch (one-cycle, warm-up in steps, a tuner's scheduler)."""
        for step in self._batch_steps:  # nothing to loop over without a schedule
            step()

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        # The optimizer as Lightning wraps it: precision plugins (AMP loss scaling), the
        # strategy and the global step counter still see every step.
        for one in batch if isinstance(batch, StepGroup) else (batch,):
            loss = self.training_update(one)
        return loss.detach()

    # Lightning asks inspect for training_step's parameters on every step (to decide
    # whether to pass batch_idx); a stored __signature__ is returned without rebuilding it.
    training_step.__signature__ = inspect.signature(training_step)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self.step_loss(batch, "val")

    def transfer_batch_to_device(
        self, batch: Any, device: torch.device, dataloader_idx: int
    ) -> Any:
        # hepdl's loaders yield CPU tensors: on a CPU there is nothing to move, and Lightning
        # would walk every tensor of a StepGroup to find that out.
        if device.type == "cpu":
            return batch
        return super().transfer_batch_to_device(batch, device, dataloader_idx)

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # The precision plugin calls this hook between the backward pass and the step, after
        # unscaling the gradients under 16-mixed, so the clip applies to the true gradients.
        if self.gradient_clip is not None:
            self.clip_gradients(
                optimizer,
                gradient_clip_val=self.gradient_clip,
                gradient_clip_algorithm=self.gradient_clip_algorithm,
            )

    def setup(self, stage: str) -> None:
        # A monitor that is never logged would silently keep no best checkpoint and never
        # stop early: refuse it before the first step (configs are checked when loaded;
        # this catches a task used with a hand-built Trainer).
        from hepdl.tasks._epoch_metrics import check_monitor

        valid = self.logged_metrics()
        trainer = self.trainer
        for callback in [*trainer.early_stopping_callbacks, *trainer.checkpoint_callbacks]:
            if getattr(callback, "monitor", None) is not None:
                check_monitor(callback.monitor, valid, key="trainer.early_stopping.monitor")
        if self.schedule_options and self.schedule_options.get("name") == "plateau":
            monitor = self.schedule_options.get("monitor") or "val_loss"
            check_monitor(monitor, valid, key="task.schedule.monitor")

    def on_train_start(self) -> None:
        self._direct_backward = direct_backward_is_exact(self.trainer, self)
        self._batch_steps = self._per_batch_steps()

    def on_train_epoch_start(self) -> None:
        self.epoch_timer.train_epoch_start()
        set_loader_epoch(self.trainer)
        # History "lr": the learning rate of each epoch's first step (first optimiser).
        self._epoch_lr = float(self.trainer.optimizers[0].param_groups[0]["lr"])

    def on_validation_start(self) -> None:
        self.epoch_timer.validation_start()

    def on_validation_end(self) -> None:
        self.epoch_timer.validation_end()

    def on_validation_epoch_end(self) -> None:
        self._close_epoch("val")

    def on_train_epoch_end(self) -> None:
        self.epoch_timer.train_epoch_end()  # the epoch's time, before the epoch-end work
        # Lightning has run this epoch's validation already: plateau sees its metric.
        self._close_epoch("train")
        self._check_divergence()
        self.log("lr", self._epoch_lr)
        self.history.setdefault("lr", []).append(self._epoch_lr)
        if self._schedules:
            metrics = {k: float(v) for k, v in self.trainer.callback_metrics.items()}
            for schedule in self._schedules:
                schedule.epoch_end(metrics)
            self._batch_steps = self._per_batch_steps()

    def _check_divergence(self) -> None:
        from hepdl.tasks.divergence import find_divergence

        if self.diverged is not None or "train_loss" not in self.history:
            return
        watched = self.divergence_watch
        latest = {k: self.history[k][-1] for k in watched if self.history.get(k)}
        epochs = len(self.history["train_loss"])  # this epoch, counted from 1
        initial = self.initial_loss if self.divergence_bound else None
        self.diverged = find_divergence(latest, initial_loss=initial, epoch=epochs, watched=watched)
        if self.diverged is not None:
            self.trainer.should_stop = True

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        save_resume_state(self.trainer, self, checkpoint)
        checkpoint["hepdl_divergence"] = {
            "initial_loss": self.initial_loss,
            "diverged": self.diverged,
        }

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        restore_resume_state(self.trainer, self, checkpoint)
        saved = checkpoint.get("hepdl_divergence") or {}  # absent in older checkpoints
        self.initial_loss = saved.get("initial_loss")
        self.diverged = saved.get("diverged")

    def on_fit_end(self) -> None:
        complete_stopped_epoch(self.trainer)

    # ------------------------------------------------------------------ optimisers
    def _per_batch_steps(self) -> tuple[Any, ...]:
        """What to step after each optimizer step: the schedules while they step per batch,
        and any per-step scheduler another tool put in Lightning's list (the LR finder
        swaps in its own, which Lightning steps only under automatic optimisation)."""
        steps = [
            config.scheduler.step
            for config in self.trainer.lr_scheduler_configs
            if config.scheduler not in self._schedules and config.interval == "step"
        ]
        steps += [s.batch_end for s in self._schedules if s.per_batch]
        return tuple(steps)

    def _optimizer_options(self) -> dict[str, Any]:
        return {
            "name": self.optimizer_name,
            "lr": self.lr,
            "momentum": self.momentum,
            "nesterov": self.nesterov,
            "weight_decay": self.weight_decay,
            "betas": self.betas,
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
        optimizers = [
            build_optimizer(params, **self._optimizer_options())
            for params in self.optimized_parameters()
        ]
        if self.schedule_options is None:
            self._schedules = []
            return optimizers[0] if len(optimizers) == 1 else optimizers
        total_steps = self._optimizer_steps_per_fit()
        self._schedules = [
            Schedule(
                optimizer,
                self.schedule_options,
                base_lr=self.lr,
                max_epochs=self.trainer.max_epochs,
                total_steps=total_steps,
            )
            for optimizer in optimizers
        ]
        # Registered with Lightning only for their state in checkpoints (resuming continues
        # the schedules); the task steps them, Lightning does not under manual optimisation.
        configs = [
            {"optimizer": optimizer, "lr_scheduler": {"scheduler": schedule}}
            for optimizer, schedule in zip(optimizers, self._schedules, strict=True)
        ]
        return configs[0] if len(configs) == 1 else configs
