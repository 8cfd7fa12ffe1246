"""Classification: a model, its loss, accuracy per epoch and the optimiser settings.

Losses (y the true class, p the predicted probability):
    bce  binary cross-entropy   -[y ln p + (1 - y) ln(1 - p)], sigmoid output (1 unit)
    cce  categorical CE         -ln p_y, softmax output (one unit per class)
    mse  mean squared error     (p - y)^2 on the probabilities (one-hot y for softmax)
The sigmoid/softmax is fused into the cross-entropies (``*_with_logits``) for stability.

Per optimizer step this task costs Lightning as little as it can (measured against a plain
PyTorch loop in benchmarks/bench_training_epoch.py): manual optimisation (no closure
around training_step), nothing logged per step (the epoch's loss and accuracy are one
vectorised pass at epoch end) and a direct store of the hook name Lightning sets on the
module around every hook call.
"""

from __future__ import annotations

import inspect
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn

from hepdl.errors import ConfigError
from hepdl.models.inputs import forward

LOSS_NEEDS_OUTPUT = {"bce": "sigmoid", "cce": "softmax"}


class ClassificationTask(L.LightningModule):
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
        self.model = model
        self.loss_name = loss
        self.optimizer_name = optimizer
        self.lr = lr
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        # One zero_grad/backward/step per batch, written out in training_step: automatic
        # optimisation would wrap training_step in a closure handed to optimizer.step.
        self.automatic_optimization = False
        self.history: dict[str, list[float]] = {}
        # Per-step (loss, logits, labels) of the running epoch, per stage.
        self._epoch: dict[str, list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]] = {
            "train": [],
            "val": [],
        }

    def __setattr__(self, name: str, value: Any) -> None:
        # Lightning sets _current_fx_name before and after every hook, about 50 times per
        # training step; nn.Module.__setattr__ checks each value against parameters,
        # modules and buffers first (a few microseconds, ~10% of a 1 ms step). The value is
        # a hook name or None, never a tensor or module, so it is stored directly.
        if name == "_current_fx_name":
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

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
        if self.loss_name == "bce":
            per_row = F.binary_cross_entropy_with_logits(
                logits[:, 0], labels.to(logits.dtype), reduction="none"
            )
        elif self.loss_name == "cce":
            per_row = F.cross_entropy(logits, labels, reduction="none")
        else:
            prob = self.probabilities(logits)
            target = (
                labels.to(prob.dtype)[:, None]
                if prob.shape[1] == 1
                else F.one_hot(labels, prob.shape[1]).to(prob.dtype)
            )
            per_row = F.mse_loss(prob, target, reduction="none").mean(dim=1)
        if weights is None:
            return per_row.mean()
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
        correct = (self.predicted_class(torch.cat(logits)) == labels).sum()
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

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        # The optimizer as Lightning wraps it: precision plugins (AMP loss scaling), the
        # strategy and the global step counter still see every step.
        optimizer = self.optimizers()
        loss = self._step(batch, "train")
        optimizer.zero_grad()
        self.manual_backward(loss)
        optimizer.step()
        return loss.detach()

    # Lightning asks inspect for training_step's parameters on every step (to decide
    # whether to pass batch_idx); a stored __signature__ is returned without rebuilding it.
    training_step.__signature__ = inspect.signature(training_step)

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def on_train_epoch_end(self) -> None:
        self._close_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._close_epoch("val")

    def configure_optimizers(self) -> torch.optim.Optimizer:
        params = self.model.parameters()
        if self.optimizer_name == "sgd":
            return torch.optim.SGD(
                params,
                lr=self.lr,
                momentum=self.momentum,
                nesterov=self.nesterov,
                weight_decay=self.weight_decay,
            )
        return torch.optim.Adam(params, lr=self.lr, weight_decay=self.weight_decay)
