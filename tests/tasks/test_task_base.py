"""The lean per-step path of hepdl's tasks (hepdl.tasks._base): direct ``loss.backward()``
only where Lightning's ``manual_backward`` would do nothing more, with the same weights."""

from __future__ import annotations

import tempfile
from pathlib import Path

import lightning as L
import numpy as np
import torch

from hepdl.config import TrainerConfig
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask
from hepdl.tasks._base import direct_backward_is_exact
from hepdl.train.loaders import grouped_loader, tensor_loader
from hepdl.train.trainer import build_trainer


class CountsBackward(ClassificationTask):
    """A module that listens to on_after_backward: Lightning must dispatch it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__(model, lr=0.01)
        self.backward_hooks = 0

    def on_after_backward(self) -> None:
        self.backward_hooks += 1


class AfterBackward(L.Callback):
    def on_after_backward(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        pass


def _fit(task: ClassificationTask, *, precision: str = "32-true", callbacks=()) -> L.Trainer:
    torch.manual_seed(0)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(96, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    config = TrainerConfig(max_epochs=2, early_stopping=None, progress_bar=False,
                           precision=precision)  # fmt: skip
    trainer, _ = build_trainer(config, Path(tempfile.mkdtemp()))
    trainer.callbacks.extend(callbacks)
    trainer.limit_val_batches = 0
    loader = tensor_loader(x, y, batch_size=16, shuffle=True, seed=2)
    trainer.fit(task, grouped_loader(loader, steps=4))
    return trainer


def _model() -> torch.nn.Module:
    torch.manual_seed(3)
    return create_model("mlp", in_features=3, hidden=[8], dropout=0.1)


def test_direct_backward_gives_lightnings_weights(one_thread):
    direct = ClassificationTask(_model(), lr=0.01)
    _fit(direct)
    assert direct._direct_backward
    hooked = CountsBackward(_model())
    _fit(hooked)
    assert not hooked._direct_backward and hooked.backward_hooks == 12  # 2 epochs x 6 steps
    for a, b in zip(direct.parameters(), hooked.parameters(), strict=True):
        assert torch.equal(a, b)


def test_lightnings_backward_where_it_does_more():
    task = ClassificationTask(_model(), lr=0.01)
    trainer = _fit(task, callbacks=[AfterBackward()])
    assert not task._direct_backward
    assert not direct_backward_is_exact(trainer, task)
    mixed = ClassificationTask(_model(), lr=0.01)
    _fit(mixed, precision="bf16-mixed")
    assert not mixed._direct_backward


def test_cpu_batches_are_not_walked():
    task = ClassificationTask(_model())
    batch = [(torch.ones(2, 3), torch.zeros(2, dtype=torch.int64))]
    assert task.transfer_batch_to_device(batch, torch.device("cpu"), 0) is batch
    moved = task.transfer_batch_to_device(batch, torch.device("meta"), 0)
    assert moved[0][0].device.type == "meta"  # other devices: Lightning's move
