from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hepdl.errors import ConfigError
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask


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
