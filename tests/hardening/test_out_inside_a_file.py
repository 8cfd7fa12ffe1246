"""Every command that writes a folder refuses an --out inside an existing file with one
error, before it generates, reads or trains anything (issue 15 item 5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl.cli import app


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    write_feature_file(tmp_path / "jets.parquet", n=300)
    config = {
        "name": "out",
        "data": {
            "files": [str(tmp_path / "jets.parquet")],
            "representation": {"name": "columns", "columns": ["f1", "f2"]},
        },
        "trainer": {"max_epochs": 1, "output_dir": str(tmp_path / "runs")},
    }
    (tmp_path / "c.yaml").write_text(yaml.safe_dump(config))
    (tmp_path / "afile").write_text("a file, not a folder\n")
    return tmp_path


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        (["scan", "c.yaml", "--grid", "task.lr=0.1,0.2", "--out", "afile/x"], "--out afile/x"),
        (["learning-curve", "c.yaml", "--sizes", "50,100", "--out", "afile/x"], "--out afile/x"),
        (["lr-find", "c.yaml", "--out", "afile/x"], "--out afile/x"),
        (["ensemble", "c.yaml", "--seeds", "2", "--out", "afile/x"], "--out afile/x"),
        (
            ["generate", "top-vs-qcd", "--jets", "2", "--out", "afile/x.parquet"],
            "--out afile/x.parquet: its folder afile",
        ),
    ],
)
def test_out_inside_a_file_is_one_error_before_any_work(
    workspace: Path, monkeypatch: pytest.MonkeyPatch, command: list[str], shown: str
) -> None:
    monkeypatch.chdir(workspace)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert lines[-1] == (
        f"error: {shown}: afile is an existing file, not a folder; choose another output folder"
    )
    assert "Traceback" not in result.output
    assert not (workspace / "runs").exists()  # nothing trained
    assert (workspace / "afile").read_text() == "a file, not a folder\n"


def test_validate_of_a_file_hepdl_did_not_generate_names_the_missing_columns(
    workspace: Path,
) -> None:
    result = CliRunner().invoke(app, ["validate", str(workspace / "jets.parquet")])
    assert result.exit_code == 2
    assert f"error: {workspace / 'jets.parquet'}: has no column(s) jet_mass," in result.output
