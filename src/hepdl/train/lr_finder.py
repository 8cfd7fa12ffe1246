"""The learning-rate range test (Smith 2017) with Lightning's LR finder.

Training starts at ``min_lr`` and multiplies the learning rate by a constant factor after
every optimizer step, reaching ``max_lr`` at the last of ``num_training`` = n steps
(Lightning's _ExponentialLR: eta_0 = eta_min, eta_i = eta_min (eta_max / eta_min)^((i + 1) / n)),

recording the training loss smoothed as L_i = (beta L_(i-1) + (1 - beta) l_i) / (1 - beta^(i+1))
(beta = 0.98, Lightning's _LRCallback). The model's weights and the optimiser state are
restored afterwards.

The suggestion is fastai's "valley" rule (:func:`valley`), not Lightning's steepest
point-to-point slope: that slope is the difference of two noisy neighbours, so on a small
tabular set it often lands on a wiggle of the flat start (it suggested 2.75e-5 and 6.9e-6
where 1e-3 trains well). The valley is the longest stretch over which the loss keeps
falling on the way to its minimum; the suggestion sits in its middle, in the steep part of
the descent and well below the minimum, where the loss is about to blow up.

Under manual optimisation (hepdl's tasks) Lightning's finder still records the loss,
since ``training_step`` returns it (Lightning hands that value to ``on_train_batch_end``
as ``outputs["loss"]``), but Lightning does not step the finder's scheduler; the task
steps every per-step scheduler in Lightning's list after its optimizer step, which
includes the finder's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.config import ExperimentConfig
from hepdl.errors import ConfigError, DataError
from hepdl.paths import output_folder

SUGGESTION_SKIP = 10  # first points left out of the suggestion (Lightning's default)


@dataclass(frozen=True)
class LRFindResult:
    """The swept learning rates, their smoothed losses (same length) and the suggestion."""

    lrs: list[float]
    losses: list[float]
    suggestion: float | None
    # The learning rates where the valley the suggestion sits in starts and ends.
    valley: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        # JSON has no NaN: a step without a loss (none recorded) is written as null.
        return {
            "lrs": self.lrs,
            "losses": [x if math.isfinite(x) else None for x in self.losses],
            "suggestion": self.suggestion,
        }


def find_lr(
    task: Any,
    train_loader: Any,
    *,
    work_dir: Path,
    min_lr: float = 1e-6,
    max_lr: float = 1.0,
    num_training: int = 100,
    early_stop_threshold: float | None = 4.0,
    accelerator: str = "auto",
    precision: str = "32-true",
) -> LRFindResult:
    """Run the range test on ``task`` (a LightningModule) with ``train_loader``.

    ``early_stop_threshold``: stop when the smoothed loss exceeds this multiple of the best
    one (divergence); None sweeps all ``num_training`` steps.
    """
    import lightning as L
    from lightning.pytorch.tuner import Tuner

    if not 0 < min_lr < max_lr:
        raise ConfigError(f"lr-find: expected 0 < min_lr < max_lr, got {min_lr:g} and {max_lr:g}")
    if num_training < 2:
        raise ConfigError(f"lr-find: num_training must be at least 2, got {num_training}")
    output_folder(work_dir)  # a writable folder, or one error naming --out
    trainer = L.Trainer(
        accelerator=accelerator,
        devices=1,
        max_epochs=-1,  # the finder stops after num_training steps, over as many epochs as needed
        precision=precision,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=work_dir,
        num_sanity_val_steps=0,
    )
    finder = Tuner(trainer).lr_find(
        task,
        train_dataloaders=train_loader,
        min_lr=min_lr,
        max_lr=max_lr,
        num_training=num_training,
        early_stop_threshold=early_stop_threshold,
        update_attr=False,
    )
    lrs = [float(x) for x in finder.results["lr"]]
    losses = [float(x) for x in finder.results["loss"]]
    found = valley(losses, skip_begin=SUGGESTION_SKIP)
    if found is None:
        return LRFindResult(lrs=lrs, losses=losses, suggestion=None)
    start, at, end = found
    return LRFindResult(lrs=lrs, losses=losses, suggestion=lrs[at], valley=(lrs[start], lrs[end]))


def valley(losses: Any, *, skip_begin: int = SUGGESTION_SKIP) -> tuple[int, int, int] | None:
    """fastai's valley rule on smoothed ``losses`` (S,) of a geometric sweep: ``(start,
    suggested, end)`` indices, or None with fewer than 3 usable points.

    The longest decreasing subsequence of the losses after the first ``skip_begin`` (the
    smoothing's warm-up) ends at ``end``, the bottom of the longest descent; ``start`` is
    ``end`` minus its length. The suggestion is ``start + floor(L/3) + floor(L/6)`` for
    ``L = end - start``: half-way down, on the steep part, a factor of the sweep's spread
    below the minimum (fastai.callback.schedule.valley). NaN losses never extend a descent.
    """
    loss = np.asarray(losses, dtype=np.float64)[skip_begin:]  # (S',)
    loss = np.where(np.isfinite(loss), loss, np.inf)  # a step without a loss breaks a descent
    if np.isfinite(loss).sum() < 3:
        return None
    # run[i]: length of the longest strictly decreasing subsequence ending at point i.
    run = np.ones(len(loss), dtype=np.int64)
    for i in range(1, len(loss)):
        higher = loss[:i] > loss[i]  # earlier points this one descends from
        if higher.any() and np.isfinite(loss[i]):
            run[i] = run[:i][higher].max() + 1
    end = int(np.argmax(run))  # the first point where the longest descent ends
    start = max(end - int(run[end]), 0)
    sections = (end - start) / 3
    at = start + int(sections) + int(sections / 2)
    return start + skip_begin, at + skip_begin, end + skip_begin


def lr_find_experiment(
    config: ExperimentConfig,
    *,
    out_dir: Path,
    min_lr: float = 1e-6,
    max_lr: float = 1.0,
    num_training: int = 100,
) -> LRFindResult:
    """The range test on the training split of ``config``: writes ``lr_find.json`` and
    ``lr_find.png`` to ``out_dir``. ``task.schedule`` is left out (the test sets the lr)."""
    import lightning as L

    from hepdl.models.classical import is_classical
    from hepdl.plots.lr_finder import plot_lr_find
    from hepdl.tasks import create_task
    from hepdl.train.artifacts import write_json

    if is_classical(config.model.name):
        raise ConfigError(
            f"lr-find trains a neural network; model.name '{config.model.name}' is a "
            "scikit-learn baseline without a learning rate"
        )
    if config.data.streaming is not None:
        raise ConfigError(
            "lr-find reads the training split into memory; data.streaming is not supported: "
            "point data.files at one file of the stream instead"
        )
    L.seed_everything(config.seed, workers=True, verbose=False)
    model, loader, derived = _training_split(config)
    section = config.task.model_copy(update={"schedule": None})
    task = create_task(section, model, **derived)
    result = find_lr(
        task,
        loader,
        work_dir=out_dir,
        min_lr=min_lr,
        max_lr=max_lr,
        num_training=num_training,
        accelerator=config.trainer.accelerator,
        precision=config.trainer.precision,
    )
    if not result.lrs:
        raise DataError("lr-find: no training step ran; the training split is empty")
    write_json(out_dir / "lr_find.json", result.to_dict())
    plot_lr_find(
        result.lrs,
        result.losses,
        suggestion=result.suggestion,
        path=out_dir / "lr_find.png",
        warmup=SUGGESTION_SKIP + 1,  # the points the suggestion skips, greyed out
        valley=result.valley,
    )
    return result


def _training_split(config: ExperimentConfig) -> tuple[Any, Any, dict[str, Any]]:
    """(model, shuffled loader of the training rows, options the task derives from the
    data), prepared by the one data path of ``hepdl train`` (hepdl.train.prepared)."""
    from hepdl.train._tree_batches import batch_loader
    from hepdl.train.prepared import prepare_data

    data = prepare_data(config)
    loader = batch_loader(
        data.rows(data.train_idx),
        data.targets[data.train_idx],
        batch_size=config.data.batch_rows(len(data.train_idx)),
        shuffle=True,
        seed=config.seed,
    )
    return data.model, loader, data.coding.task_options(config.evaluate)
