"""A run directory whose checkpoints/ (or logs/) folder is a symbolic link: resuming it
refuses to write through the link (issue 15 item 5)."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl.cli import app


def test_resume_refuses_a_checkpoints_folder_that_is_a_link(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    raw = {
        "name": "linked",
        "data": {
            "files": [write_feature_file(tmp_path / "jets.parquet", n=300)],
            "representation": {"name": "columns", "columns": ["f1", "f2"]},
        },
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(tmp_path / "runs")},
        "evaluate": {"plots": False},
    }
    config.write_text(yaml.safe_dump(raw))
    first = CliRunner().invoke(app, ["train", str(config)])
    assert first.exit_code == 0, first.output
    (run,) = (tmp_path / "runs").iterdir()
    elsewhere = tmp_path / "elsewhere"
    shutil.move(run / "checkpoints", elsewhere)
    (run / "checkpoints").symlink_to(elsewhere)
    before = {p.name: p.read_bytes() for p in elsewhere.iterdir()}
    (run / "metrics.json").unlink()  # an unfinished run: resuming it trains and writes
    resumed = CliRunner().invoke(app, ["train", str(config), "--resume", str(run)])
    assert resumed.exit_code == 2
    assert f"error: {run / 'checkpoints'}: is a symbolic link (to {elsewhere})" in resumed.output
    assert {p.name: p.read_bytes() for p in elsewhere.iterdir()} == before
