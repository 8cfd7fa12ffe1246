"""`hepdl train` with data.streaming: training rows streamed chunk by chunk, validation and
test from their own files, representations cached on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl.cli import app

runner = CliRunner()


@pytest.fixture
def split_files(tmp_path: Path) -> dict[str, str]:
    return {
        name: write_feature_file(tmp_path / f"{name}.parquet", n=n, seed=seed)
        for name, n, seed in (("train", 900, 1), ("val", 300, 2), ("test", 300, 3))
    }


def _config(tmp_path: Path, files: dict[str, str], **data: object) -> Path:
    raw = {
        "name": "streamed",
        "seed": 4,
        "data": {
            "files": [files["train"]],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
            "streaming": {
                "val_files": [files["val"]],
                "test_files": [files["test"]],
                "chunk_rows": 100,
                "buffer_chunks": 3,
                "fit_rows": 500,
            },
            **data,
        },
        "model": {"name": "mlp", "hidden": [16]},
        "task": {"lr": 0.01},
        "trainer": {"max_epochs": 3, "progress_bar": False, "output_dir": str(tmp_path / "runs")},
        "evaluate": {"plots": False},
    }
    path = tmp_path / "streamed.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _metrics(tmp_path: Path) -> list[dict]:
    runs = sorted((tmp_path / "runs").iterdir())
    return [json.loads((run / "metrics.json").read_text()) for run in runs]


def test_streamed_training_evaluates_the_test_files(
    tmp_path: Path, split_files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEPDL_CACHE_DIR", str(tmp_path / "cache"))
    config = _config(tmp_path, split_files)
    first = runner.invoke(app, ["train", str(config)])
    assert first.exit_code == 0, first.output
    cached = list((tmp_path / "cache" / "representations").iterdir())
    assert cached  # the chunks' representations are on disk
    second = runner.invoke(app, ["train", str(config)])  # from the cache, same result
    assert second.exit_code == 0, second.output
    one, two = _metrics(tmp_path)
    assert one["streamed"] is True and one["n_test"] == 300
    assert one["auc"] > 0.9  # the toy classes are shifted by 2 sigma in f1 and f2
    assert one["auc"] == two["auc"] and one["accuracy"] == two["accuracy"]
    run = sorted((tmp_path / "runs").iterdir())[0]
    prep = json.loads((run / "preprocessing.json").read_text())
    assert prep["standardizer"] is not None  # fitted on the first fit_rows training rows
    evaluated = runner.invoke(app, ["evaluate", str(run), "--data", split_files["test"]])
    assert evaluated.exit_code == 0, evaluated.output
    again = json.loads(next((run / "evaluations").rglob("metrics.json")).read_text())
    assert again["auc"] == pytest.approx(one["auc"], abs=1e-9)


def test_streamed_training_with_reweighting(tmp_path: Path, split_files: dict[str, str]) -> None:
    config = _config(
        tmp_path, split_files, reweight={"column": "noise", "bins": 5, "normalize": "balanced"}
    )
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    assert _metrics(tmp_path)[0]["auc"] > 0.9


def test_streaming_needs_files(tmp_path: Path, split_files: dict[str, str]) -> None:
    config = _config(tmp_path, split_files)
    raw = yaml.safe_load(config.read_text())
    raw["data"]["class_files"] = {"qcd": [split_files["train"]], "top": [split_files["val"]]}
    raw["data"]["files"] = []
    config.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "data.streaming streams data.files" in result.output
