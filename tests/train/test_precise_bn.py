"""BatchNorm statistics recomputed for the evaluated weights (hepdl.train._precise_bn)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from tests.conftest import write_feature_file
from torch import nn

from hepdl.config import config_from_dict
from hepdl.models import create_model
from hepdl.train._precise_bn import recalibrate_batch_norm
from hepdl.train.loaders import grouped_loader, tensor_loader
from hepdl.train.run import train_experiment


def _loader(x: np.ndarray, *, batch_size: int = 10, steps: int = 1):
    loader = tensor_loader(x, np.zeros(len(x), np.int64), batch_size=batch_size, shuffle=False)
    return grouped_loader(loader, steps=steps)


@pytest.mark.parametrize("steps", [1, 3])
def test_running_statistics_are_the_average_of_the_batch_statistics(steps):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(40, 3)) * [1e-2, 5.0, 1.0] + [3.0, -1.0, 0.0]).astype(np.float32)
    norm = nn.BatchNorm1d(3)  # fresh: running mean 0, variance 1, as before any training
    model = nn.Sequential(norm).eval()
    used = recalibrate_batch_norm(model, _loader(x, steps=steps), max_batches=3)
    assert used == 3
    batches = x[:30].reshape(3, 10, 3)  # the first 3 batches of 10 rows, in order
    mean = np.mean([b.mean(axis=0) for b in batches], axis=0)
    var = np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0)  # unbiased, as torch
    np.testing.assert_allclose(norm.running_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(norm.running_var.numpy(), var, rtol=1e-5)
    assert norm.momentum == 0.1 and not norm.training  # settings restored


def test_a_model_without_batchnorm_is_left_alone():
    model = create_model("mlp", in_features=3, hidden=[4])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    x = np.ones((20, 3), np.float32)
    assert recalibrate_batch_norm(model, _loader(x), max_batches=5) == 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_a_run_saves_recalibrated_statistics(tmp_path: Path):
    data = write_feature_file(tmp_path / "jets.parquet", n=300, seed=4)
    raw = {
        "name": "bn",
        "seed": 2,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 32,
        },
        "model": {"name": "mlp", "hidden": [8], "batch_norm": True},
        "trainer": {
            "max_epochs": 1,  # 6 batches: running statistics still mostly the start values
            "progress_bar": False,
            "output_dir": str(tmp_path / "runs"),
            "recalibrate_batchnorm": 4,
        },
        "evaluate": {"plots": False},
    }
    result = train_experiment(config_from_dict(raw, source="test"))
    assert result.metrics["batchnorm_recalibration_batches"] == 4
    saved = load_file(result.run_dir / "model.safetensors")
    (mean_key,) = [k for k in saved if k.endswith("running_mean")]
    start = torch.zeros_like(saved[mean_key])
    assert not torch.allclose(saved[mean_key], start)  # not the untrained start value

    raw["trainer"]["recalibrate_batchnorm"] = 0
    off = train_experiment(config_from_dict(raw, source="test"))
    assert off.metrics["batchnorm_recalibration_batches"] == 0
    kept = load_file(off.run_dir / "model.safetensors")
    assert not torch.equal(kept[mean_key], saved[mean_key])  # the running average differs


def test_the_recurrent_models_masked_normalisation_averages_too():
    # The LSTM standardises real particles only (functional batch_norm on the mask).
    rng = np.random.default_rng(3)
    features = (rng.normal(size=(20, 5, 2)) * [4.0, 0.5] + [10.0, -2.0]).astype(np.float32)
    mask = np.arange(5)[None, :] < rng.integers(1, 6, size=20)[:, None]  # (20, 5)
    loader = tensor_loader(
        {"features": features, "mask": mask}, np.zeros(20, np.int64), batch_size=10,
        shuffle=False,
    )  # fmt: skip
    model = create_model("lstm", in_features=2, hidden_size=4, hidden=[4]).eval()
    assert recalibrate_batch_norm(model, loader, max_batches=2) == 2
    real = [features[i : i + 10][mask[i : i + 10]] for i in (0, 10)]  # (n_real, 2) each
    mean = np.mean([r.mean(axis=0) for r in real], axis=0)
    var = np.mean([r.var(axis=0, ddof=1) for r in real], axis=0)
    norm = model.input_norm
    np.testing.assert_allclose(norm.running_mean.numpy(), mean, rtol=1e-5)
    np.testing.assert_allclose(norm.running_var.numpy(), var, rtol=1e-5)
    assert norm.momentum == 0.1
