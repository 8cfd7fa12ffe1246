"""The learning-rate range test (Lightning's LR finder) and ``hepdl lr-find``."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from hepdl._cli_optim import register
from hepdl.config import config_from_dict
from hepdl.errors import ConfigError
from hepdl.models import create_model
from hepdl.plots.lr_finder import plot_lr_find
from hepdl.tasks import ClassificationTask
from hepdl.train.loaders import tensor_loader
from hepdl.train.lr_finder import SUGGESTION_SKIP, find_lr, lr_find_experiment

PNG = b"\x89PNG\r\n\x1a\n"


def test_range_test_on_a_tiny_problem_restores_the_weights(tmp_path):
    torch.manual_seed(0)
    x = torch.randn(256, 3)
    y = (x[:, 0] - x[:, 1] > 0).long()
    net = create_model("mlp", in_features=3, hidden=[8])
    initial = copy.deepcopy(net.state_dict())
    task = ClassificationTask(net, optimizer="sgd", lr=0.123)
    loader = tensor_loader(x, y, batch_size=32, shuffle=True)  # 8 batches: 3+ epochs swept
    result = find_lr(
        task,
        loader,
        work_dir=tmp_path,
        min_lr=1e-4,
        max_lr=10.0,
        num_training=25,
        early_stop_threshold=None,
    )
    assert len(result.lrs) == len(result.losses) == 25
    assert result.lrs[0] == pytest.approx(1e-4)
    assert result.lrs[-1] == pytest.approx(10.0)
    ratios = np.diff(np.log(result.lrs[1:]))  # the sweep is geometric (the task steps it)
    np.testing.assert_allclose(ratios, np.log(1e5) / 25, rtol=1e-9)
    assert all(np.isfinite(result.losses))
    assert 1e-4 <= result.suggestion <= 10.0
    for name, value in net.state_dict().items():  # Lightning restored the initial weights
        assert torch.equal(value, initial[name]), name
    assert task.lr == 0.123

    path = plot_lr_find(
        result.lrs,
        result.losses,
        suggestion=result.suggestion,
        path=tmp_path / "lr_find.png",
        warmup=SUGGESTION_SKIP + 1,
    )
    assert path.read_bytes().startswith(PNG)


def test_bad_range_is_config_error(tmp_path):
    task = ClassificationTask(create_model("mlp", in_features=3))
    loader = tensor_loader(
        torch.zeros(4, 3), torch.tensor([0, 1, 0, 1]), batch_size=2, shuffle=False
    )
    with pytest.raises(
        ConfigError, match=r"^lr-find: expected 0 < min_lr < max_lr, got 1 and 0\.1$"
    ):
        find_lr(task, loader, work_dir=tmp_path, min_lr=1.0, max_lr=0.1)


def test_lr_find_command_writes_plot_and_json(feature_file, tmp_path):
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # two commands: typer then dispatches by name
    config = tmp_path / "exp.yaml"
    config.write_text(
        "data:\n"
        f"  files: [{feature_file}]\n"
        "  representation: {name: columns, columns: [f1, f2, noise]}\n"
        "  batch_size: 32\n"
        "model: {name: mlp, hidden: [8]}\n"
        "task: {schedule: {name: cosine}}\n"
    )
    out = tmp_path / "sweep"
    result = CliRunner().invoke(
        app,
        ["lr-find", str(config), "--out", str(out), "--steps", "30", "--set", "task.lr=0.5"],
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((out / "lr_find.json").read_text())
    assert set(saved) == {"lrs", "losses", "suggestion"}
    assert 0 < len(saved["lrs"]) == len(saved["losses"]) <= 30
    assert f"suggested learning rate: {saved['suggestion']:.3g}" in result.output
    assert (out / "lr_find.png").read_bytes().startswith(PNG)


def test_lr_find_refuses_streaming_and_classical(feature_file, tmp_path):
    stream_config = config_from_dict(
        {
            "data": {
                "files": [feature_file],
                "streaming": {"val_files": [feature_file], "test_files": [feature_file]},
            }
        }
    )
    with pytest.raises(ConfigError, match=r"^lr-find reads the training split into memory"):
        lr_find_experiment(stream_config, out_dir=tmp_path)
    bdt = config_from_dict({"data": {"files": [feature_file]}, "model": {"name": "bdt"}})
    with pytest.raises(ConfigError, match=r"^lr-find trains a neural network; model\.name 'bdt'"):
        lr_find_experiment(bdt, out_dir=tmp_path)
