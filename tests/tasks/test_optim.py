"""Optimisers, learning-rate schedules, gradient clipping and mixed precision of the task."""

from __future__ import annotations

import copy
import re

import pytest
import torch
from lightning.pytorch.callbacks import Callback
from torch.optim import lr_scheduler

from hepdl.config import TrainerConfig, config_from_dict
from hepdl.errors import ConfigError
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask
from hepdl.tasks._optim import build_optimizer, check_schedule
from hepdl.train.loaders import tensor_loader
from hepdl.train.trainer import build_trainer

BASE_LR = 0.1
EPOCHS = 6
BATCHES = 3  # per epoch: 48 rows in batches of 16


def data(n: int = 48, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    return x, (x[:, 0] - x[:, 1] > 0).long()


class StepLRs(Callback):
    """The learning rate of every optimizer step, read just before the step's batch."""

    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx) -> None:
        self.lrs.append(trainer.optimizers[0].param_groups[0]["lr"])


def fit(task, tmp_path, *, epochs=EPOCHS, val=True, precision="32-true", callbacks=()):
    config = TrainerConfig(
        max_epochs=epochs, progress_bar=False, early_stopping=None, precision=precision
    )
    trainer, _ = build_trainer(config, tmp_path)
    for callback in callbacks:
        trainer.callbacks.append(callback)
    x, y = data()
    loader = tensor_loader(x, y, batch_size=16, shuffle=True, seed=1)
    val_loader = tensor_loader(*data(32, seed=3), batch_size=16, shuffle=False) if val else None
    trainer.fit(task, loader, val_loader)
    return trainer


def scheduled_task(schedule: dict | None, **options) -> ClassificationTask:
    torch.manual_seed(0)
    net = create_model("mlp", in_features=3, hidden=[4])
    return ClassificationTask(net, optimizer="sgd", lr=BASE_LR, schedule=schedule, **options)


def by_hand(make, *, per_batch: bool, metrics=None) -> list[float]:
    """The learning rate per optimizer step of a torch scheduler stepped in a plain loop."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=BASE_LR)
    scheduler = make(opt)
    lrs = []
    for epoch in range(EPOCHS):
        for _ in range(BATCHES):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_batch:
                scheduler.step()
        if not per_batch:
            scheduler.step(*([metrics[epoch]] if metrics else []))
    return lrs


def warmup_factors(length: int, start: float, *, per_batch: bool) -> list[float]:
    """w per optimizer step from torch's LinearLR run by hand (lr 1: the lr is the factor)."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    warm = lr_scheduler.LinearLR(opt, start_factor=start, end_factor=1.0, total_iters=length)
    factors = []
    for _ in range(EPOCHS):
        for _ in range(BATCHES):
            factors.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_batch:
                warm.step()
        if not per_batch:
            warm.step()
    return factors


SCHEDULES = [
    ({"name": "step", "step_size": 2, "gamma": 0.5}, lambda o: lr_scheduler.StepLR(o, 2, 0.5)),
    ({"name": "exponential", "gamma": 0.7}, lambda o: lr_scheduler.ExponentialLR(o, 0.7)),
    (
        {"name": "cosine", "min_lr": 0.01},
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS, eta_min=0.01),
    ),
]


@pytest.mark.parametrize(("schedule", "make"), SCHEDULES, ids=["step", "exponential", "cosine"])
def test_epoch_schedules_equal_torch_by_hand(schedule, make, tmp_path):
    steps = StepLRs()
    task = scheduled_task(schedule)
    fit(task, tmp_path, callbacks=[steps])
    expected = by_hand(make, per_batch=False)
    assert steps.lrs == pytest.approx(expected, rel=1e-12)
    assert task.history["lr"] == pytest.approx(expected[::BATCHES], rel=1e-12)  # epoch starts
    assert len(set(task.history["lr"])) > 2  # the schedule did change the lr


def test_one_cycle_steps_per_batch(tmp_path):
    steps = StepLRs()
    # pct_start 1/3 of 18 steps: the peak falls on step 6 exactly.
    fit(scheduled_task({"name": "one-cycle", "pct_start": 1 / 3}), tmp_path, callbacks=[steps])
    total = EPOCHS * BATCHES
    expected = by_hand(
        lambda o: lr_scheduler.OneCycleLR(o, max_lr=BASE_LR, total_steps=total, pct_start=1 / 3),
        per_batch=True,
    )
    assert steps.lrs == pytest.approx(expected, rel=1e-12)
    assert max(steps.lrs) == pytest.approx(BASE_LR)  # max_lr defaults to task.lr


@pytest.mark.parametrize(
    ("schedule", "make", "per_batch"),
    [
        ({"name": "cosine", "min_lr": 0.01}, SCHEDULES[2][1], False),
        ({"name": "step", "step_size": 2, "gamma": 0.5}, SCHEDULES[0][1], False),
        ({"name": "one-cycle"}, None, True),
        ({}, None, False),  # warm-up alone, then the constant task.lr
    ],
    ids=["cosine", "step", "one-cycle", "constant"],
)
@pytest.mark.parametrize("unit", ["warmup_steps", "warmup_epochs"])
def test_warmup_multiplies_the_schedule(schedule, make, per_batch, unit, tmp_path):
    """lr = LinearLR factor x the schedule's lr, each run by hand in torch; the warm-up of 5
    steps crosses an epoch end (3 batches per epoch), where cosine and step act."""
    steps = StepLRs()
    options = {**schedule, unit: 5 if unit == "warmup_steps" else 2, "warmup_start_factor": 0.1}
    fit(scheduled_task(options), tmp_path, callbacks=[steps])
    if make is None and per_batch:

        def make(o):
            return lr_scheduler.OneCycleLR(o, max_lr=BASE_LR, total_steps=EPOCHS * BATCHES)

    inner = by_hand(make, per_batch=per_batch) if make else [BASE_LR] * EPOCHS * BATCHES
    warm = warmup_factors(options[unit], 0.1, per_batch=unit == "warmup_steps")
    assert steps.lrs == pytest.approx([w * s for w, s in zip(warm, inner, strict=True)], rel=1e-12)
    assert steps.lrs[0] == pytest.approx(0.1 * inner[0])


def test_plateau_steps_with_the_validation_metric(tmp_path):
    """mode max on the (falling) val_loss: no improvement every epoch, so with patience 0 the
    lr halves after each epoch, exactly as torch's ReduceLROnPlateau fed the same values."""
    schedule = {"name": "plateau", "factor": 0.5, "patience": 0, "mode": "max"}
    task = scheduled_task(schedule)
    fit(task, tmp_path)
    expected = by_hand(
        lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="max", factor=0.5, patience=0),
        per_batch=False,
        metrics=task.history["val_loss"],
    )
    assert task.history["lr"] == pytest.approx(expected[::BATCHES], rel=1e-12)
    assert task.history["lr"][-1] < BASE_LR


def test_plateau_monitor_must_be_logged(tmp_path):
    task = scheduled_task({"name": "plateau", "monitor": "val_auc"})  # no signal class given
    with pytest.raises(ConfigError, match=r"task\.schedule\.monitor 'val_auc' is never logged"):
        fit(task, tmp_path, epochs=1)


def test_schedule_state_travels_in_the_checkpoint(tmp_path):
    """The schedule's state is in last.ckpt as plain values (weights_only loading)."""
    fit(scheduled_task({"name": "step", "step_size": 2, "warmup_steps": 4}), tmp_path, epochs=3)
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    (saved,) = state["lr_schedulers"]
    assert saved["ticks"] == 4
    assert saved["inner"]["last_epoch"] == 3
    assert saved["inner_lrs"] == pytest.approx([BASE_LR * 0.1])  # gamma 0.1 after epoch 2


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (
            {"name": "cosine", "step_size": 3},
            "task.schedule.step_size does not apply to schedule 'cosine'; its options: min_lr",
        ),
        ({"name": "step"}, "task.schedule.step_size is required by schedule 'step'"),
        (
            {"name": "cosine", "warmup_steps": 3, "warmup_epochs": 1},
            "task.schedule: give warmup_epochs or warmup_steps, not both",
        ),
        (
            {"name": "plateau", "warmup_epochs": 2},
            "task.schedule.warmup_epochs cannot be combined with schedule 'plateau' (it reacts "
            "to the metric, which a warm-up would distort); use step, exponential, cosine or "
            "one-cycle, or drop the warm-up",
        ),
        (
            {"name": "cosine", "warmup_start_factor": 0.1},
            "task.schedule.warmup_start_factor needs warmup_epochs or warmup_steps",
        ),
        (
            {},
            "task.schedule: give a name (step, exponential, cosine, one-cycle, plateau) or a "
            "warm-up (warmup_epochs or warmup_steps)",
        ),
    ],
)
def test_bad_schedules_are_config_errors(schedule, message):
    with pytest.raises(ConfigError, match=f"^{re.escape(message)}$"):
        check_schedule(schedule)
    with pytest.raises(ConfigError, match=re.escape(message)):  # at load, naming the file
        config_from_dict({"data": {"files": ["a.parquet"]}, "task": {"schedule": schedule}})


# ---------------------------------------------------------------- optimisers


@pytest.mark.parametrize(
    ("name", "options", "expected"),
    [
        ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}, torch.optim.SGD),
        ("adam", {"weight_decay": 1e-3}, torch.optim.Adam),
        ("adamw", {"weight_decay": 0.05}, torch.optim.AdamW),
        ("rmsprop", {"momentum": 0.5, "weight_decay": 1e-3}, torch.optim.RMSprop),
    ],
)
def test_optimizer_names_and_options(name, options, expected):
    net = create_model("mlp", in_features=3)
    task = ClassificationTask(net, optimizer=name, lr=0.02, **options)
    optimizer = task.configure_optimizers()
    assert type(optimizer) is expected
    group = optimizer.param_groups[0]
    assert group["lr"] == 0.02
    for key, value in options.items():
        assert group[key] == value


def test_adamw_decay_is_decoupled_and_adam_decay_is_l2():
    """With a zero gradient AdamW shrinks w by exactly (1 - lr lambda); Adam's L2 term
    instead enters the gradient, g = lambda w, and the normalised step is ~lr sign(w)."""
    w0 = torch.tensor([2.0, -1.0])
    for name, expected in (("adamw", w0 * (1 - 0.1 * 0.5)), ("adam", w0 - 0.1 * torch.sign(w0))):
        w = torch.nn.Parameter(w0.clone())
        opt = build_optimizer([w], name=name, lr=0.1, weight_decay=0.5)
        w.grad = torch.zeros(2)
        opt.step()
        torch.testing.assert_close(w.detach(), expected, rtol=1e-6, atol=1e-6)


def test_momentum_with_adam_is_config_error():
    with pytest.raises(
        ConfigError,
        match=r"^task\.momentum and task\.nesterov apply to optimizer sgd \(and momentum to "
        r"rmsprop\), not 'adam'$",
    ):
        ClassificationTask(create_model("mlp", in_features=3), optimizer="adam", momentum=0.9)


# ---------------------------------------------------------------- gradient clipping


class GradsAtStep(Callback):
    """Copies of the gradients the optimizer stepped with: read after the step, since the
    clipping runs inside optimizer.step (in the closure Lightning passes), after pre-hooks."""

    def __init__(self) -> None:
        self.grads: list[list[torch.Tensor]] = []

    def on_train_start(self, trainer, pl_module) -> None:
        optimizer = trainer.optimizers[0]

        def record(opt, args, kwargs) -> None:
            self.grads.append([p.grad.detach().clone() for p in pl_module.model.parameters()])

        optimizer.register_step_post_hook(record)


@pytest.mark.parametrize(("algorithm", "clip"), [("norm", 0.05), ("value", 0.01)])
def test_gradient_clipping(algorithm, clip, tmp_path):
    torch.manual_seed(0)
    net = create_model("mlp", in_features=3, hidden=[8])
    reference = copy.deepcopy(net)
    task = ClassificationTask(net, lr=0.01, gradient_clip=clip, gradient_clip_algorithm=algorithm)
    grads = GradsAtStep()
    config = TrainerConfig(max_epochs=1, progress_bar=False, early_stopping=None)
    trainer, _ = build_trainer(config, tmp_path)
    trainer.callbacks.append(grads)
    x, y = data(16)
    trainer.fit(task, tensor_loader(x, y, batch_size=16, shuffle=False))

    loss = task.compute_loss(reference(x), y)  # the same single batch on the copy
    loss.backward()
    params = list(reference.parameters())
    raw_norm = torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in params]))
    if algorithm == "norm":
        assert raw_norm > clip  # the clip did act
        torch.nn.utils.clip_grad_norm_(params, clip)
    else:
        assert max(p.grad.abs().max() for p in params) > clip
        torch.nn.utils.clip_grad_value_(params, clip)
    (stepped,) = grads.grads
    for ours, theirs in zip(stepped, [p.grad for p in params], strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-8)
    norm = torch.linalg.vector_norm(torch.stack([g.norm() for g in stepped]))
    if algorithm == "norm":
        assert norm.item() == pytest.approx(clip, rel=1e-5)
    else:
        assert max(g.abs().max().item() for g in stepped) == pytest.approx(clip)


def test_gradient_clip_must_be_positive():
    with pytest.raises(ConfigError, match=r"^task\.gradient_clip must be > 0 \(or null: off\)"):
        ClassificationTask(create_model("mlp", in_features=3), gradient_clip=0.0)


# ---------------------------------------------------------------- mixed precision


def test_bf16_mixed_trains_on_cpu(tmp_path):
    torch.manual_seed(0)
    task = ClassificationTask(create_model("mlp", in_features=3, hidden=[16]), lr=0.05)
    trainer = fit(task, tmp_path, epochs=5, precision="bf16-mixed")
    assert trainer.precision == "bf16-mixed"
    losses = task.history["train_loss"]
    assert losses[-1] < 0.8 * losses[0]


@pytest.mark.skipif(torch.cuda.is_available(), reason="16-mixed is valid with a CUDA GPU")
def test_16_mixed_without_gpu_is_config_error(tmp_path):
    config = TrainerConfig(precision="16-mixed", progress_bar=False)
    with pytest.raises(
        ConfigError,
        match=r"^trainer\.precision '16-mixed' needs a CUDA GPU, and none is used here; on a "
        r"CPU use trainer\.precision: bf16-mixed$",
    ):
        build_trainer(config, tmp_path)
