"""The state a task keeps across a fit, below any training command: epoch timing, groups
of batches per training call, and what an exactly resumable checkpoint holds beyond
Lightning's own (the generator states, the task's history, whether training had stopped).

The task's hooks drive all of it (``hepdl.tasks._base``); ``hepdl.train`` reads it back
(``hepdl.train.resume`` checks and continues runs, ``hepdl.train._timing`` reports costs).
Lightning's checkpoint restores the weights, the optimizer and scheduler states, the loop
counters and the callbacks; for the same weights bit for bit a resumed run also needs the
same random numbers (dropout, noise and the DataLoader's base seed draw from the global
torch, NumPy and Python generators, saved in every checkpoint by ``save_resume_state``
and restored before the first resumed step) and the same task state (``history``).
"""

from __future__ import annotations

import random
import time
from typing import Any

import lightning as L
import numpy as np
import torch
from torch.utils.data import DataLoader

STATE_KEY = "hepdl_resume"


class StepGroup(list):
    """Consecutive batches that one Lightning training call takes, one optimizer step each."""


class EpochTimer:
    """Wall time of each training epoch, validation excluded.

    ``seconds[e] = t(train epoch end) - t(train epoch start) - t(validation inside it)``.
    """

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0
        self._validation = 0.0
        self._val_start = 0.0

    def train_epoch_start(self) -> None:
        self._start = time.perf_counter()
        self._validation = 0.0

    def validation_start(self) -> None:
        self._val_start = time.perf_counter()

    def validation_end(self) -> None:
        # Inside fit the validation pass runs within the training epoch (reset at the next
        # epoch's start, so a stand-alone trainer.validate() changes nothing).
        self._validation += time.perf_counter() - self._val_start

    def train_epoch_end(self) -> None:
        self.seconds.append(time.perf_counter() - self._start - self._validation)

    def mean_seconds(self) -> float | None:
        """Mean over the finished epochs; None before the first epoch ends."""
        return float(np.mean(self.seconds)) if self.seconds else None


def rng_state() -> dict[str, Any]:
    """The global torch (CPU and CUDA), NumPy and Python generator states, as tensors,
    numbers and tuples only (loadable with ``weights_only=True``)."""
    # The legacy global generator is the one seed_everything seeds and old code draws from.
    _, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {
            "keys": torch.from_numpy(keys.astype(np.int64)),  # (624,) uint32 values
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": random.getstate(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators saved by ``rng_state``."""
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    saved = state["numpy"]
    np.random.set_state(  # noqa: NPY002
        (
            "MT19937",
            saved["keys"].numpy().astype(np.uint32),
            saved["pos"],
            saved["has_gauss"],
            saved["cached_gaussian"],
        )
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))


def set_loader_epoch(trainer: L.Trainer) -> None:
    """Lightning sets the epoch of a DataLoader's sampler; an iterable of batches that is
    no DataLoader (the streamed TaskBatches) gets it here, at the epoch's start, before
    its iter() (from the second epoch of a fit on; see ``next_epoch`` for the first)."""
    loader = trainer.train_dataloader
    if not isinstance(loader, DataLoader) and callable(getattr(loader, "set_epoch", None)):
        loader.set_epoch(trainer.fit_loop.epoch_progress.current.processed)


def save_resume_state(
    trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
) -> None:
    """Put in ``checkpoint`` what Lightning does not save: the generator states, the task's
    ``history``, whether training had stopped early and the next epoch. (The task's
    ``on_save_checkpoint``, hepdl.tasks._base.)"""
    history = getattr(pl_module, "history", {})
    checkpoint[STATE_KEY] = {
        "rng": rng_state(),
        "history": {name: list(values) for name, values in history.items()},
        # EarlyStopping runs before the checkpoint is written, so this is final.
        "stopped": bool(trainer.should_stop),
        "next_epoch": int(trainer.fit_loop.epoch_progress.current.processed),
    }


def restore_resume_state(
    trainer: L.Trainer, pl_module: L.LightningModule, checkpoint: dict[str, Any]
) -> None:
    """Undo ``save_resume_state`` when fit resumes from ``checkpoint`` (the task's
    ``on_load_checkpoint``, which Lightning calls before it restores the callbacks)."""
    follow_moved_run(trainer, checkpoint)
    saved = checkpoint.get(STATE_KEY)
    if saved is None:  # a checkpoint written without this state: nothing to restore
        return
    set_rng_state(saved["rng"])
    if hasattr(pl_module, "history"):
        pl_module.history = {name: list(values) for name, values in saved["history"].items()}
    # Fit clears should_stop before restoring; without this a run that had stopped
    # early would train on after its last checkpoint.
    trainer.should_stop = saved["stopped"]


def complete_stopped_epoch(trainer: L.Trainer) -> None:
    """At fit end: a run resumed after early stopping skips the fit loop, which leaves its
    epoch count one short (the last epoch was processed, but not marked completed).
    Lightning does the same correction when max_epochs is reached; a finished fit is
    unaffected."""
    progress = trainer.fit_loop.epoch_progress.current
    if trainer.should_stop and progress.completed < progress.processed:
        progress.completed = progress.processed


_CHECKPOINT_PATHS = ("best_model_path", "kth_best_model_path", "last_model_path")


def follow_moved_run(trainer: L.Trainer, checkpoint: dict[str, Any]) -> None:
    """Point the saved ModelCheckpoint states at this run's checkpoint folder.

    Lightning drops a checkpoint callback's best score when the folder it was saved from
    differs from the current one, which would change which epoch counts as best after a
    run directory was moved or copied. Runs here before Lightning reads those states.
    """
    from lightning.pytorch.callbacks import ModelCheckpoint

    states = checkpoint.get("callbacks", {})
    for callback in trainer.checkpoint_callbacks:
        state = states.get(callback.state_key)
        if not isinstance(callback, ModelCheckpoint) or not isinstance(state, dict):
            continue
        old, new = state.get("dirpath"), callback.dirpath
        if not old or not new or old == new:
            continue

        def moved(path: str, old: str = old, new: str = new) -> str:
            return new + path[len(old) :] if path.startswith(old) else path

        state["dirpath"] = new
        for key in _CHECKPOINT_PATHS:
            if isinstance(state.get(key), str):
                state[key] = moved(state[key])
        if isinstance(state.get("best_k_models"), dict):
            state["best_k_models"] = {moved(k): v for k, v in state["best_k_models"].items()}
