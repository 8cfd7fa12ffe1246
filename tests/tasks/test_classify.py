from __future__ import annotations

import copy
import csv
import math
from pathlib import Path

import lightning as L
import pytest
import torch
import torch.nn.functional as F
from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint, TQDMProgressBar
from torch import nn

from hepdl.config import TrainerConfig
from hepdl.errors import ConfigError
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask
from hepdl.train.loaders import epoch_seed, tensor_loader
from hepdl.train.trainer import PROGRESS_REFRESH_STEPS, NoProfiler, build_trainer


def task_for(loss: str, output: str, out_features: int) -> ClassificationTask:
    torch.manual_seed(0)
    net = create_model("mlp", in_features=3, hidden=[5], output=output, out_features=out_features)
    return ClassificationTask(net, loss=loss)


def test_bce_matches_naive_formula():
    task = task_for("bce", "sigmoid", 1)
    logits = torch.tensor([[0.3], [-1.2], [2.0]])
    y = torch.tensor([1, 0, 0])
    p = torch.sigmoid(logits[:, 0])
    naive = -(y * torch.log(p) + (1 - y) * torch.log(1 - p)).mean()
    torch.testing.assert_close(task.compute_loss(logits, y), naive)


def test_cce_matches_naive_formula():
    task = task_for("cce", "softmax", 3)
    logits = torch.tensor([[0.3, 1.0, -0.5], [2.0, 0.1, 0.0]])
    y = torch.tensor([2, 0])
    p = torch.softmax(logits, dim=1)
    naive = -(torch.log(p[0, 2]) + torch.log(p[1, 0])) / 2
    torch.testing.assert_close(task.compute_loss(logits, y), naive)


def test_mse_on_probabilities():
    task = task_for("mse", "softmax", 2)
    logits = torch.tensor([[0.0, 1.0], [1.0, -1.0]])
    y = torch.tensor([1, 1])
    p = torch.softmax(logits, dim=1)
    target = F.one_hot(y, 2).float()
    torch.testing.assert_close(task.compute_loss(logits, y), ((p - target) ** 2).mean())
    sig = task_for("mse", "sigmoid", 1)
    z = torch.tensor([[0.5], [-0.5]])
    torch.testing.assert_close(sig.compute_loss(z, y), ((torch.sigmoid(z[:, 0]) - 1.0) ** 2).mean())


def test_predicted_class_and_signal_probability():
    task = task_for("bce", "sigmoid", 1)
    logits = torch.tensor([[0.1], [-0.1]])
    assert task.predicted_class(logits).tolist() == [1, 0]
    torch.testing.assert_close(task.signal_probability(logits), torch.sigmoid(logits[:, 0]))


def test_loss_output_mismatch_is_config_error():
    net = create_model("mlp", in_features=3, output="softmax", out_features=2)
    with pytest.raises(ConfigError, match=r"needs model\.output 'sigmoid'"):
        ClassificationTask(net, loss="bce")
    with pytest.raises(ConfigError, match=r"nesterov needs task\.momentum"):
        ClassificationTask(create_model("mlp", in_features=3), nesterov=True)


@pytest.mark.parametrize(
    ("optimizer", "options", "expected"),
    [
        ("sgd", {"momentum": 0.8, "nesterov": True, "weight_decay": 1e-4}, torch.optim.SGD),
        ("adam", {"weight_decay": 1e-3}, torch.optim.Adam),
    ],
)
def test_optimizers(optimizer, options, expected):
    net = create_model("mlp", in_features=3)
    opt = ClassificationTask(net, optimizer=optimizer, lr=0.05, **options).configure_optimizers()
    assert isinstance(opt, expected)
    group = opt.param_groups[0]
    assert group["lr"] == 0.05
    for key, value in options.items():
        assert group[key] == value


# ---------------------------------------------------------------- training in the Trainer


def fit(task, x, y, *, epochs, batch_size, tmp_path, val=None):
    """``task`` through hepdl's Trainer (loggers, checkpoints, no progress bar)."""
    config = TrainerConfig(
        max_epochs=epochs, progress_bar=False, early_stopping=None, deterministic=True
    )
    trainer, best = build_trainer(config, tmp_path)
    loader = tensor_loader(x, y, batch_size=batch_size, shuffle=True, seed=5)
    val_loader = tensor_loader(*val, batch_size=batch_size, shuffle=False) if val else None
    trainer.fit(task, loader, val_loader)
    return trainer, best


def data(n=70, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x, (x[:, 0] - x[:, 1] > 0).long()


def test_training_equals_the_naive_pytorch_loop(tmp_path):
    """Each step is zero_grad, forward, backward, Adam step on the same batches as a loop
    written by hand: the weights after 3 epochs agree (batch 16: a short last batch)."""
    x, y = data()
    torch.manual_seed(1)
    reference = create_model("mlp", in_features=3, hidden=[8, 8])
    naive = copy.deepcopy(reference)
    task = ClassificationTask(copy.deepcopy(reference), loss="bce", lr=0.01)
    trainer, _ = fit(task, x, y, epochs=3, batch_size=16, tmp_path=tmp_path)

    opt = torch.optim.Adam(naive.parameters(), lr=0.01)
    steps = 0
    for epoch in range(3):  # the loader's order: seed 5, drawn afresh per epoch
        perm = torch.randperm(len(x), generator=torch.Generator().manual_seed(epoch_seed(5, epoch)))
        for start in range(0, len(x), 16):
            idx = perm[start : start + 16]
            opt.zero_grad()
            z = naive(x[idx])[:, 0]
            p = torch.sigmoid(z)
            loss = -(y[idx] * torch.log(p) + (1 - y[idx]) * torch.log(1 - p)).mean()
            loss.backward()
            opt.step()
            steps += 1
    assert trainer.global_step == steps == 15
    for ours, theirs in zip(task.model.parameters(), naive.parameters(), strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)


def test_epoch_loss_and_accuracy_are_over_all_rows(tmp_path):
    """With lr=0 the model is fixed, so the logged epoch loss is the mean BCE over all 70
    rows (batches of 32, 32 and 6 weighted by size) and the accuracy is the naive count."""
    x, y = data()
    torch.manual_seed(2)
    task = ClassificationTask(create_model("mlp", in_features=3, hidden=[4]), lr=0.0)
    xv, yv = data(n=23, seed=9)
    fit(task, x, y, epochs=2, batch_size=32, tmp_path=tmp_path, val=(xv, yv))

    def naive(features, labels):
        with torch.no_grad():
            z = task.model(features)[:, 0]
        p = torch.sigmoid(z)
        losses = [-(math.log(p[i]) if labels[i] else math.log(1 - p[i])) for i in range(len(p))]
        right = sum(int((z[i] > 0) == bool(labels[i])) for i in range(len(p)))
        return sum(losses) / len(p), right / len(p)

    train_loss, train_acc = naive(x, y)
    val_loss, val_acc = naive(xv, yv)
    assert task.history["train_loss"] == pytest.approx([train_loss] * 2, rel=1e-5)
    assert task.history["train_accuracy"] == pytest.approx([train_acc] * 2)
    assert task.history["val_loss"] == pytest.approx([val_loss] * 2, rel=1e-5)
    assert task.history["val_accuracy"] == pytest.approx([val_acc] * 2)
    rows = list(csv.DictReader((tmp_path / "logs" / "metrics.csv").open()))
    logged = [float(r["val_loss"]) for r in rows if r.get("val_loss")]
    assert logged == pytest.approx([val_loss] * 2, rel=1e-5)  # one CSV row per epoch


def test_same_seed_same_weights_and_best_checkpoint(tmp_path):
    x, y = data()
    runs = []
    for name in ("a", "b"):
        L.seed_everything(3, verbose=False)
        task = ClassificationTask(create_model("mlp", in_features=3, hidden=[6]), lr=0.05)
        _, best = fit(task, x, y, epochs=3, batch_size=16, tmp_path=tmp_path / name, val=(x, y))
        runs.append((task, best))
    (a, best_a), (b, best_b) = runs
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert a.history == b.history
    assert best_a.best_model_score == best_b.best_model_score
    assert Path(best_a.best_model_path).name == "best.ckpt"
    assert float(best_a.best_model_score) == pytest.approx(min(a.history["val_loss"]), rel=1e-6)
    state = torch.load(best_a.best_model_path, map_location="cpu", weights_only=True)
    assert state["global_step"] == 15  # optimizer steps, counted under manual optimisation


def test_hook_name_fast_path_keeps_module_registration():
    task = task_for("bce", "sigmoid", 1)
    task._current_fx_name = "training_step"
    assert task._current_fx_name == "training_step"
    assert "_current_fx_name" not in task._modules
    task.extra = nn.Linear(2, 2)  # any other attribute still goes through nn.Module
    assert "extra" in task._modules
    assert any(p is task.extra.weight for p in task.parameters())


def test_trainer_cheap_per_step_settings(tmp_path, monkeypatch):
    from hepdl.train import trainer as trainer_module

    # pytest captures stdout (not a terminal): the bar is built only for a terminal.
    monkeypatch.setattr(trainer_module, "draws_progress_bars", lambda: True)
    with_bar = TrainerConfig(progress_bar=True)
    trainer, best = build_trainer(with_bar, tmp_path)
    bars = [c for c in trainer.callbacks if isinstance(c, TQDMProgressBar)]
    assert [b.refresh_rate for b in bars] == [PROGRESS_REFRESH_STEPS]
    assert isinstance(trainer.profiler, NoProfiler)
    with trainer.profiler.profile("x") as inside:
        assert inside is None
    stopping = next(c for c in trainer.callbacks if isinstance(c, EarlyStopping))
    for callback, parent in ((best, ModelCheckpoint), (stopping, EarlyStopping)):
        key = callback.state_key  # built once, and the key Lightning's own property builds
        assert callback.state_key is key
        assert key == parent.state_key.fget(callback)
        assert "'monitor': 'val_loss'" in key and "'mode': 'min'" in key
    quiet, _ = build_trainer(TrainerConfig(progress_bar=False), tmp_path / "quiet")
    assert not any(isinstance(c, TQDMProgressBar) for c in quiet.callbacks)
