"""`hepdl train` and `hepdl evaluate` of a segmentation on a small synthetic shower file in
the calo_format layout: metrics.json, figures, the threshold baseline chosen on the
validation rows only, and bad input as one error line."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import yaml
from tests.data.test_calo_cells import calo_table
from typer.testing import CliRunner

from hepdl.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def showers(tmp_path_factory: pytest.TempPathFactory) -> str:
    import hepdl.models.unet  # noqa: F401  (registers "unet": see tests/models/test_unet.py)

    path = tmp_path_factory.mktemp("segment") / "showers.parquet"
    ak.to_parquet(calo_table(160, seed=4), path)
    return str(path)


def write_config(tmp_path: Path, showers: str, *, task=None, model=None, representation=None):
    raw = {
        "name": "seg",
        "seed": 2,
        "data": {
            "files": [showers],
            "standardize": False,
            "batch_size": 32,
            "split": {"train": 0.6, "val": 0.2, "test": 0.2, "seed": 0},
            "representation": representation
            or {"name": "calo_cells", "layers": ["ecal"], "signal": ["ecal_signal"], "crop": 15},
        },
        "model": model or {"name": "unet", "depth": 1, "width": 4},
        "task": {"kind": "segment", "lr": 0.01, **(task or {})},
        "trainer": {
            "max_epochs": 2,
            "progress_bar": False,
            "early_stopping": {"monitor": "val_iou", "patience": 3},
            "output_dir": str(tmp_path / "runs"),
        },
    }
    path = tmp_path / "seg.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def train(config: Path) -> tuple[Path, dict, str]:
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    run = next((config.parent / "runs").iterdir())
    return run, json.loads((run / "metrics.json").read_text()), result.output


def test_train_writes_the_metrics_the_figures_and_the_baseline(tmp_path, showers):
    from hepdl.config import load_config
    from hepdl.metrics.segmentation import best_threshold
    from hepdl.tasks._segment_targets import BASELINE_THRESHOLDS
    from hepdl.train.prepared import prepare_data

    config = write_config(tmp_path, showers, task={"energy_weighted": True})
    run, metrics, output = train(config)
    for name in ("examples.png", "recovered_energy.png", "history.png", "predictions.npz"):
        assert (run / name).stat().st_size > 0, name
    assert "IoU signal cells" in output and "threshold:" in output
    for key in ("iou", "iou_pileup", "energy_weighted_iou", "pixel_accuracy", "mean_iou"):
        assert 0 <= metrics[key] <= 1, key
        assert 0 <= metrics["baseline"][key] <= 1, key
    assert metrics["iou_error"] > 0 and metrics["n"] == 32
    recovered = metrics["recovered_energy"]
    assert recovered["n_showers"] == 32
    assert set(recovered) >= {"network", "all cells", "network, energy x probability"}

    # The baseline's threshold is the best one on the validation rows, never the test rows.
    data = prepare_data(load_config(config), build_model=False)
    energy = data.sample.inputs["image"].sum(axis=1, keepdims=True)
    truth = data.sample.inputs["pixel_target"] > 0.5
    val = best_threshold(energy[data.val_idx], truth[data.val_idx], BASELINE_THRESHOLDS)
    assert metrics["baseline"]["threshold_gev"] == val[0]
    assert metrics["baseline"]["validation_iou"] == pytest.approx(val[1])
    saved = json.loads((run / "preprocessing.json").read_text())["targets"]
    assert saved["baseline_threshold"] == val[0]

    # The test IoU of the network is the metric function's on the written predictions.
    from hepdl.metrics.segmentation import class_iou

    arrays = np.load(run / "predictions.npz")
    test = truth[data.test_idx]
    assert np.array_equal(arrays["fraction"] > 0.5, test)
    assert metrics["iou"] == pytest.approx(class_iou(test, arrays["probabilities"] > 0.5))
    history = json.loads((run / "history.json").read_text())
    assert len(history["val_iou"]) == 2 and len(history["val_energy_iou"]) == 2

    # Evaluating on a file later applies the saved threshold unchanged.
    result = runner.invoke(
        app, ["evaluate", str(run), "--data", showers, "--out", str(tmp_path / "ev")]
    )
    assert result.exit_code == 0, result.output
    again = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert again["baseline"]["threshold_gev"] == val[0] and again["n"] == 160


def test_the_fraction_regression_trains_and_reports_its_error(tmp_path, showers):
    config = write_config(tmp_path, showers, task={"target": "fraction", "loss": "mse"}, model=None)
    _, metrics, _ = train(config)
    assert metrics["target"] == "fraction"
    assert 0 <= metrics["fraction_mse"] <= 1 and 0 <= metrics["fraction_energy_weighted_mse"] <= 1


def error_of(config: Path) -> str:
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    return result.output


def test_a_two_layer_image_needs_two_input_channels(tmp_path, showers):
    representation = {
        "name": "calo_cells",
        "layers": ["ecal", "hcal"],
        "signal": ["ecal_signal", "hcal_signal"],
    }
    output = error_of(write_config(tmp_path, showers, representation=representation))
    assert "input 'image' has width 2 (shape (160, 2, 35, 35)), but model UNet was built for " in (
        " ".join(output.split())
    )


def test_a_missing_signal_column_is_named(tmp_path, showers):
    representation = {"name": "calo_cells", "layers": ["ecal"], "signal": ["ecal_signall"]}
    output = " ".join(
        error_of(write_config(tmp_path, showers, representation=representation)).split()
    )
    assert "column 'ecal_signall' (did you mean 'ecal_signal'?) is not in the file" in output
