"""Event weights from ``data.weights_file`` reach the network's training loss."""

from __future__ import annotations

import numpy as np
import torch
from safetensors.torch import load_file
from tests.conftest import write_feature_file

from hepdl.config import config_from_dict
from hepdl.train.run import train_experiment


def _train(tmp_path, name: str, weights: np.ndarray | None):
    data = write_feature_file(tmp_path / "jets.parquet", n=200)
    raw = {
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 50,
        },
        "model": {"name": "mlp", "hidden": [8]},
        "task": {"optimizer": "sgd", "lr": 0.1},
        "trainer": {
            "max_epochs": 2,
            "progress_bar": False,
            "deterministic": True,
            "output_dir": str(tmp_path / name),
        },
        "evaluate": {"plots": False},
    }
    if weights is not None:
        np.save(tmp_path / f"{name}.npy", weights)
        raw["data"]["weights_file"] = str(tmp_path / f"{name}.npy")
    result = train_experiment(config_from_dict(raw, source="test"))
    return load_file(result.run_dir / "model.safetensors")


def test_weights_enter_the_loss_as_a_normalised_weighted_mean(tmp_path, one_thread):
    plain = _train(tmp_path, "plain", None)
    ones = _train(tmp_path, "ones", np.ones(200))
    twos = _train(tmp_path, "twos", np.full(200, 2.0))
    rng = np.random.default_rng(1)
    varied = _train(tmp_path, "varied", rng.uniform(0.0, 3.0, 200))
    # sum(w l) / sum(w): a common factor cancels exactly, unit weights give the plain
    # mean up to rounding, and unequal weights train another network.
    assert all(torch.equal(ones[key], twos[key]) for key in ones)
    assert all(torch.allclose(plain[key], ones[key], atol=1e-5) for key in plain)
    assert any(not torch.allclose(plain[key], varied[key], atol=1e-3) for key in plain)
