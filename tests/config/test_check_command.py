"""``hepdl check CONFIG``: validation without training, ``ok:`` or one ``error:`` line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from hepdl.cli import app
from tests.conftest import write_feature_file


def _check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check", *args])
    return result.exit_code, result.output


@pytest.fixture
def config(tmp_path: Path) -> Path:
    jets = write_feature_file(tmp_path / "jets.parquet")  # its schema is read, not its rows
    path = tmp_path / "x.yaml"
    path.write_text(f"name: tagger\ndata:\n  files: [{jets}]\nmodel:\n  name: mlp\n")
    return path


def test_ok(config: Path) -> None:
    code, output = _check(str(config))
    assert (code, output) == (
        0,
        f"ok: {config}: model mlp, representation substructure, task classify, 1 data file(s)\n",
    )


def test_bad_option_one_error_line(config: Path) -> None:
    code, output = _check(str(config), "--set", "model.hidden=[1000000000000]")
    assert code == 2
    assert output == (
        f"error: {config}: model.hidden: model 'mlp' takes a list of at most 1024 entries, "
        "each an integer in [1, 65536] (hepdl.limits.MAX_WIDTH), got [1000000000000]\n"
    )


def test_missing_data_file(config: Path, tmp_path: Path) -> None:
    code, output = _check(str(config), "--set", f"data.files=[{tmp_path / 'none.parquet'}]")
    assert (code, output) == (
        2,
        f"error: {config}: data.files: no such file {tmp_path / 'none.parquet'}\n",
    )
