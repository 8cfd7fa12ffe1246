"""Optimisers and learning-rate schedules of a task, stepped by the task itself.

The task uses manual optimisation (see ``hepdl.tasks.classify``), so Lightning steps no
scheduler: :class:`Schedule` is stepped by the task, per batch (one-cycle, warm-up in
steps) and per epoch (everything else; plateau with the monitored metric after
validation). It is handed to Lightning as the task's scheduler only so that checkpoints
keep its state and a resumed run continues the schedule.

Learning rate at optimizer step t of epoch e (eta_0 = ``task.lr``):

    step         eta_0 * gamma^floor(e / step_size)
    exponential  eta_0 * gamma^e
    cosine       min_lr + (eta_0 - min_lr) (1 + cos(pi e / E)) / 2,  E = trainer.max_epochs
    one-cycle    torch.optim.lr_scheduler.OneCycleLR over all T steps of the fit, per batch:
                 up from max_lr / 25 to max_lr over pct_start T steps, then down (cosine)
    plateau      multiplied by ``factor`` when the monitored metric has not improved for
                 ``patience`` epochs (torch ReduceLROnPlateau)

A linear warm-up multiplies any of these but plateau by

    w(k) = f + (1 - f) min(k, K) / K,   f = warmup_start_factor,

with k the steps (``warmup_steps`` = K) or epochs (``warmup_epochs`` = K) done, i.e.
torch's LinearLR(start_factor=f, end_factor=1, total_iters=K) applied on top of the
schedule: eta = w(k) * eta_schedule. The schedule runs from the first step; the warm-up only
scales its start down. Plateau reacts to the metric it sees, which a warm-up would distort,
so the two are not combined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch.optim import lr_scheduler

from hepdl.errors import ConfigError
from hepdl.tasks.schedule_options import check_schedule  # _base checks with it too

OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop")


def build_optimizer(
    params: Iterable[torch.nn.Parameter],
    *,
    name: str,
    lr: float,
    momentum: float = 0.0,
    nesterov: bool = False,
    weight_decay: float = 0.0,
    betas: tuple[float, float] | None = None,
) -> torch.optim.Optimizer:
    """The torch optimiser ``name``. ``weight_decay`` is an L2 term added to the gradient
    (g + lambda w) for sgd, adam and rmsprop, and decoupled for adamw (w <- w - eta lambda w
    beside the Adam step, Loshchilov & Hutter). ``betas``: Adam's moment decay rates
    (torch's (0.9, 0.999) when None; a GAN's critic and generator train with (0.5, 0.9),
    Gulrajani et al.)."""
    if betas is not None and name not in ("adam", "adamw"):
        raise ConfigError(f"task.betas applies to optimizer adam or adamw, not '{name}'")
    adam = {} if betas is None else {"betas": tuple(betas)}
    if name == "sgd":
        return torch.optim.SGD(
            params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )
    if momentum or nesterov:
        if name != "rmsprop":
            raise ConfigError(
                f"task.momentum and task.nesterov apply to optimizer sgd (and momentum to "
                f"rmsprop), not '{name}'"
            )
        if nesterov:
            raise ConfigError("task.nesterov applies to optimizer sgd, not 'rmsprop'")
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay, **adam)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay, **adam)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    raise ConfigError(f"task.optimizer '{name}' is not one of {', '.join(OPTIMIZERS)}")


def default_plateau_mode(monitor: str) -> str:
    """``min`` for a loss, ``max`` for everything else (accuracy, AUC, rejection)."""
    return "min" if monitor.endswith("loss") else "max"


class Schedule:
    """A torch scheduler (or none) times a linear warm-up, stepped per batch and per epoch.

    ``batch_end()`` after every optimizer step while ``per_batch`` is true, and
    ``epoch_end(metrics)`` after each training epoch (validation has run by then). Before
    the inner scheduler steps, the optimiser is given back the inner scheduler's own
    learning rate, so its recursive formulas (cosine, plateau) never see the warm-up
    factor: eta = w(k) * eta_schedule exactly.
    """

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        options: Mapping[str, Any],
        *,
        base_lr: float,
        max_epochs: int,
        total_steps: float,
    ) -> None:
        check_schedule(options)
        self.optimizer = optimizer
        self.name = options.get("name")
        self.monitor = options.get("monitor") or "val_loss"
        self.inner = self._inner(options, base_lr=base_lr, max_epochs=max_epochs, total=total_steps)
        self.inner_per_batch = self.name == "one-cycle"
        warm_steps, warm_epochs = options.get("warmup_steps"), options.get("warmup_epochs")
        self.warmup = int(warm_steps or warm_epochs or 0)
        self.warmup_per_batch = bool(warm_steps)
        start = options.get("warmup_start_factor")
        self.start_factor = 0.01 if start is None else float(start)
        self.ticks = 0  # warm-up steps (or epochs) done
        self.inner_lrs = [group["lr"] for group in optimizer.param_groups]
        self._apply()

    def _inner(
        self, options: Mapping[str, Any], *, base_lr: float, max_epochs: int, total: float
    ) -> Any:
        opt, name = self.optimizer, self.name

        def get(key: str, default: Any) -> Any:
            value = options.get(key)
            return default if value is None else value

        if name == "step":
            return lr_scheduler.StepLR(opt, step_size=options["step_size"], gamma=get("gamma", 0.1))
        if name == "exponential":
            return lr_scheduler.ExponentialLR(opt, gamma=options["gamma"])
        if name == "cosine":
            return lr_scheduler.CosineAnnealingLR(opt, T_max=max_epochs, eta_min=get("min_lr", 0.0))
        if name == "one-cycle":
            if not 0 < total < float("inf"):
                raise ConfigError(
                    "task.schedule.name 'one-cycle' needs the number of optimizer steps of the "
                    "fit, but the training batches have no length (streamed data): use cosine"
                )
            return lr_scheduler.OneCycleLR(
                opt,
                max_lr=get("max_lr", base_lr),
                total_steps=int(total),
                pct_start=get("pct_start", 0.3),
            )
        if name == "plateau":
            return lr_scheduler.ReduceLROnPlateau(
                opt,
                mode=get("mode", default_plateau_mode(self.monitor)),
                factor=get("factor", 0.1),
                patience=get("patience", 10),
            )
        return None

    @property
    def per_batch(self) -> bool:
        """Whether ``batch_end`` still has work: one-cycle, or a warm-up in steps not done."""
        return self.inner_per_batch or (self.warmup_per_batch and self.ticks < self.warmup)

    @property
    def factor(self) -> float:
        """The warm-up factor w(k) (1 without warm-up or after it)."""
        if self.ticks >= self.warmup:
            return 1.0
        return self.start_factor + (1.0 - self.start_factor) * self.ticks / self.warmup

    def _apply(self) -> None:
        w = self.factor
        for group, lr in zip(self.optimizer.param_groups, self.inner_lrs, strict=True):
            group["lr"] = w * lr

    def _step_inner(self, metric: float | None = None) -> None:
        for group, lr in zip(self.optimizer.param_groups, self.inner_lrs, strict=True):
            group["lr"] = lr
        if metric is None:
            self.inner.step()
        else:
            self.inner.step(metric)
        self.inner_lrs = [group["lr"] for group in self.optimizer.param_groups]

    def batch_end(self) -> None:
        if self.inner_per_batch:
            self._step_inner()
        if self.warmup_per_batch and self.ticks < self.warmup:
            self.ticks += 1
        self._apply()

    def epoch_end(self, metrics: Mapping[str, float]) -> None:
        """Step the epoch schedule; plateau reads ``metrics[monitor]`` (of this epoch)."""
        if self.inner is not None and not self.inner_per_batch:
            if self.name == "plateau":
                if self.monitor not in metrics:
                    raise ConfigError(
                        f"task.schedule.monitor '{self.monitor}' was not logged this epoch "
                        f"(logged: {', '.join(sorted(metrics))}); plateau needs a validation set "
                        "for val_ metrics"
                    )
                self._step_inner(float(metrics[self.monitor]))
            else:
                self._step_inner()
        if not self.warmup_per_batch and self.ticks < self.warmup:
            self.ticks += 1
        self._apply()

    def state_dict(self) -> dict[str, Any]:
        # Plain values only, so a checkpoint loads with torch.load(weights_only=True).
        return {
            "ticks": self.ticks,
            "inner_lrs": list(self.inner_lrs),
            "inner": None if self.inner is None else self.inner.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.ticks = int(state["ticks"])
        self.inner_lrs = list(state["inner_lrs"])
        if self.inner is not None and state["inner"] is not None:
            self.inner.load_state_dict(state["inner"])
        self._apply()
