"""TaskBase with several models and several optimisers, as a GAN or an adversary needs:
one method (``training_update``) per task, the plumbing (schedules, checkpoints, exact
resume) shared."""

from __future__ import annotations

import torch
from torch import nn

from hepdl.config import TrainerConfig
from hepdl.tasks import TaskBase
from hepdl.train.loaders import tensor_loader
from hepdl.train.trainer import build_trainer


class TwoPlayerTask(TaskBase):
    """A toy two-optimiser task: a regressor and a critic, stepped in turn per batch."""

    def __init__(self, **optimization) -> None:
        torch.manual_seed(0)
        players = nn.ModuleDict({"net": nn.Linear(3, 1), "critic": nn.Linear(1, 1)})
        super().__init__(players, **optimization)

    def optimized_parameters(self):
        return [self.model["net"].parameters(), self.model["critic"].parameters()]

    def losses(self, batch):
        x, y = batch[0], batch[1].float()
        prediction = self.model["net"](x)[:, 0]
        net_loss = ((prediction - y) ** 2).mean()
        critic_loss = ((self.model["critic"](prediction.detach()[:, None])[:, 0] - y) ** 2).mean()
        return net_loss, critic_loss

    def training_update(self, batch):
        net_opt, critic_opt = self.optimizers()
        net_loss, _ = self.losses(batch)
        net_opt.zero_grad()
        self.backward_step(net_loss)
        net_opt.step()
        self.after_optimizer_step()
        _, critic_loss = self.losses(batch)
        critic_opt.zero_grad()
        self.backward_step(critic_loss)
        critic_opt.step()
        self.after_optimizer_step()
        self.record("train", net_loss, len(batch[0]))
        return net_loss

    def step_loss(self, batch, stage):
        loss, _ = self.losses(batch)
        self.record(stage, loss, len(batch[0]))
        return loss

    def logged_metrics(self):
        return ["train_loss", "val_loss", "lr"]


def data():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(96, 3, generator=g)
    y = x @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(96, generator=g)
    return x, y


def fit(tmp_path, *, epochs, resume=None, schedule=None):
    x, y = data()
    task = TwoPlayerTask(lr=0.05, schedule=schedule)
    config = TrainerConfig(max_epochs=epochs, progress_bar=False)
    trainer, _ = build_trainer(config, tmp_path)
    trainer.fit(
        task,
        tensor_loader(x, y, batch_size=16, shuffle=True, seed=3),
        tensor_loader(x, y, batch_size=32, shuffle=False),
        ckpt_path=resume,
    )
    return task, trainer


def test_both_optimisers_step_and_both_schedules_follow(tmp_path):
    before = {k: v.clone() for k, v in TwoPlayerTask().state_dict().items()}
    task, trainer = fit(tmp_path, epochs=3, schedule={"name": "step", "step_size": 1, "gamma": 0.5})
    assert len(trainer.optimizers) == 2
    for name, value in task.state_dict().items():
        assert not torch.equal(value, before[name]), name  # every parameter of both moved
    for optimizer in trainer.optimizers:  # 0.05 halved after each of the 3 epochs
        assert abs(optimizer.param_groups[0]["lr"] - 0.05 / 8) < 1e-12
    assert len(task.history["train_loss"]) == 3 and len(task.history["val_loss"]) == 3
    assert task.history["train_loss"][-1] < task.history["train_loss"][0]
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    assert len(saved["optimizer_states"]) == 2 and len(saved["lr_schedulers"]) == 2


def test_a_resumed_two_optimiser_fit_ends_where_an_uninterrupted_one_does(tmp_path):
    straight, _ = fit(tmp_path / "straight", epochs=4)
    fit(tmp_path / "killed", epochs=2)
    resumed, _ = fit(
        tmp_path / "killed", epochs=4, resume=tmp_path / "killed" / "checkpoints" / "last.ckpt"
    )
    for name, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[name]), name
    assert straight.history == resumed.history
