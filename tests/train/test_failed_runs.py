"""A run that fails before its metrics leaves a FAILED marker (or nothing), and hepdl
compare skips marked folders with a note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.config import load_config
from hepdl.errors import DataError
from hepdl.train.compare import compare_runs
from hepdl.train.run import train_experiment


def _config(folder: Path, **model) -> Path:
    raw = {
        "name": "toy",
        "seed": 7,
        "data": {
            "files": [write_feature_file(folder / "jets.parquet", n=300)],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
        },
        "model": {"name": "mlp", "hidden": [8], **model},
        "trainer": {"max_epochs": 1, "early_stopping": None, "output_dir": str(folder / "runs")},
        "evaluate": {"plots": False},
    }
    path = folder / "toy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _boom(*_args, **_kwargs):
    raise RuntimeError("boom: the fit broke")


def test_a_run_failing_in_its_fit_is_marked_and_compare_skips_it(tmp_path, monkeypatch) -> None:
    import hepdl.train._fit as fit

    config = load_config(_config(tmp_path))
    good = train_experiment(config, run_dir=tmp_path / "good")
    with monkeypatch.context() as patch:
        patch.setattr(fit, "fit_in_run_dir", _boom)
        with pytest.raises(RuntimeError, match="boom"):
            train_experiment(config)  # its folder is named inside the call
    [failed] = [d for d in (tmp_path / "runs").iterdir()]
    assert (failed / "FAILED").read_text() == "RuntimeError: boom: the fit broke\n"
    assert not (failed / "metrics.json").exists()
    result = compare_runs([good.run_dir, failed], out_dir=tmp_path / "cmp")
    assert result.notes == [f"skipped {failed}: the run failed (RuntimeError: boom: the fit broke)"]
    assert [row.name for row in result.rows] == ["mlp"] and result.rows[0].n_runs == 1
    assert "note: skipped" in (tmp_path / "cmp/comparison.md").read_text()
    cli = CliRunner().invoke(
        app, ["compare", str(good.run_dir), str(failed), "--out", str(tmp_path / "c")]
    )
    assert cli.exit_code == 0, cli.output
    assert f"note: skipped {failed}: the run failed" in " ".join(cli.output.split())
    with pytest.raises(DataError, match="every run directory given is marked FAILED"):
        compare_runs([failed], out_dir=tmp_path / "none")
    # the same folder trained again successfully: the marker goes
    again = train_experiment(config, run_dir=failed)
    assert not (failed / "FAILED").exists()
    assert (
        json.loads((again.run_dir / "metrics.json").read_text())["n_test"] == good.metrics["n_test"]
    )


def test_a_run_failing_before_its_folder_leaves_nothing(tmp_path) -> None:
    config = load_config(_config(tmp_path, dropout=0.5))
    bad = config.model_copy(
        update={
            "data": config.data.model_copy(update={"files": [str(tmp_path / "missing.parquet")]})
        }
    )
    with pytest.raises(DataError):
        train_experiment(bad)
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []
