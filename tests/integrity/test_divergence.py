"""A training whose loss blows up is reported as diverged (metrics.json, the printed
summary, scan tables, compare), never as an ordinary AUC 0.5."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import yaml
from tests.conftest import write_feature_file
from tests.train.test_compare import _metrics, write_run
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.tasks.divergence import find_divergence
from hepdl.train._scan_report import ScanRow, table_lines
from hepdl.train.compare import compare_runs


def test_the_rule_non_finite_or_a_thousand_times_the_initial_loss():
    assert find_divergence({"train_loss": 0.5, "val_loss": 0.6}, initial_loss=0.69, epoch=3) is None
    # bound: 0.69 + 1000 * max(0.69, 1) = 1000.69
    assert find_divergence({"train_loss": 1000.6}, initial_loss=0.69, epoch=1) is None
    assert find_divergence({"train_loss": 1000.7}, initial_loss=0.69, epoch=2) == {
        "epoch": 2,
        "reason": "train_loss 1001 is above 1000 x the initial loss 0.69",
    }
    assert find_divergence(
        {"train_loss": 0.5, "val_loss": math.nan}, initial_loss=0.7, epoch=4
    ) == {
        "epoch": 4,
        "reason": "val_loss is nan",
    }
    # a loss that starts below zero (a Gaussian NLL) is measured against 1000 x 1
    assert find_divergence({"val_loss": 900.0}, initial_loss=-2.0, epoch=1) is None


def _config(tmp_path: Path, lr: float) -> Path:
    data = write_feature_file(tmp_path / "jets.parquet", n=600)
    raw = {
        "name": "toy",
        "seed": 7,
        "data": {
            "files": [data],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
        },
        "model": {"name": "mlp", "hidden": [16, 16]},
        "task": {"optimizer": "sgd", "lr": lr},
        "trainer": {"max_epochs": 4, "progress_bar": False, "output_dir": str(tmp_path / "runs")},
    }
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("lr", "reason", "table"),
    [
        (1e6, "train_loss is nan", False),  # NaN weights: no test metric at all
        (30.0, "train_loss 3.435e+10 is above 1000 x the initial loss 0.877", True),
    ],
)
def test_a_diverged_training_says_so(tmp_path, lr, reason, table):
    result = CliRunner().invoke(app, ["train", str(_config(tmp_path, lr))])
    assert result.exit_code == 0, result.output
    assert f"training DIVERGED at epoch 1 ({reason})" in " ".join(result.output.split())
    (run,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["diverged"]["epoch"] == 1 and metrics["diverged"]["reason"] == reason
    assert metrics["epochs"] == 1  # the fit stopped where it diverged
    assert ("ROC AUC" in result.output) is table
    assert ("auc" in metrics) is table


def test_a_diverged_streamed_training_says_so(tmp_path):
    # The streamed path writes the same record: SGD lr 1e6 on split files, chunk by chunk.
    config = _config(tmp_path, 1e6)
    raw = yaml.safe_load(config.read_text())
    files = {
        name: write_feature_file(tmp_path / f"{name}.parquet", n=300, seed=seed)
        for name, seed in (("val", 2), ("test", 3))
    }
    raw["data"]["streaming"] = {
        "val_files": [files["val"]],
        "test_files": [files["test"]],
        "chunk_rows": 100,
        "fit_rows": 300,
    }
    config.write_text(yaml.safe_dump(raw))
    result = CliRunner().invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    assert "training DIVERGED at epoch 1 (train_loss is nan)" in " ".join(result.output.split())
    (run,) = (tmp_path / "runs").iterdir()
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["streamed"] is True and metrics["diverged"]["reason"] == "train_loss is nan"
    assert "auc" not in metrics


def test_a_converged_training_has_no_divergence_record(tmp_path):
    result = CliRunner().invoke(app, ["train", str(_config(tmp_path, 0.05))])
    assert result.exit_code == 0, result.output
    (run,) = (tmp_path / "runs").iterdir()
    assert "diverged" not in json.loads((run / "metrics.json").read_text())
    assert "DIVERGED" not in result.output


def test_compare_marks_a_diverged_run_and_ranks_it_last(tmp_path):
    good = write_run(tmp_path, "mlp-1", model="mlp", metrics=_metrics(0.80, 0.7, 10, 100, 1, 1e4))
    bad_metrics = {**_metrics(0.90, 0.5, 10, 100, 1, 1e4), "diverged": {"epoch": 2, "reason": "x"}}
    bad = write_run(tmp_path, "bdt-1", model="bdt", metrics=bad_metrics)
    result = compare_runs([bad, good], out_dir=tmp_path / "out")
    rows = result.table.splitlines()[2:]
    assert rows[0].startswith("| mlp | 0.8000 |")
    assert rows[1].startswith("| bdt (DIVERGED: 1 of 1 runs) | 0.9000 |")


def test_the_scan_table_marks_diverged_points():
    fine = ScanRow(values={"task.lr": 0.01}, runs=[{"val_auc": 0.9}])
    blown = ScanRow(
        values={"task.lr": 1e6},
        errors=["seed 0: DataError: diverged"],
        diverged=[{"seed": 0, "epoch": 1, "reason": "train_loss is nan"}],
    )
    lines = table_lines([fine, blown], ["task.lr"], ["val_auc"])
    assert lines[0] == "| task.lr | runs | failures | diverged | val_auc | error |"
    assert lines[2] == "| 0.01 | 1 | 0 |  | 0.9 |  |"
    assert lines[3] == "| 1e+06 | 0 | 1 | 1 (epoch 1) |  | seed 0: DataError: diverged |"
