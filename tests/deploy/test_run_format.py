"""A run directory records which hepdl wrote it (preprocessing.json ``written_by``); a run
of another run format is refused by every loader with one message, not misread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.deploy.runs import make_run, write_jet_file
from typer.testing import CliRunner

import hepdl
from hepdl.cli import app
from hepdl.errors import DataError
from hepdl.train.artifacts import RUN_FORMAT, load_trained


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("format")
    jets = write_jet_file(folder / "jets.parquet")
    return make_run(folder, jets, model={"name": "mlp"}, representation={"name": "substructure"})


def _with_format(run_dir: Path, tmp_path: Path, written_by: object) -> Path:
    copy = tmp_path / "run"
    copy.mkdir()
    for name in ("config.yaml", "model.safetensors"):
        (copy / name).write_bytes((run_dir / name).read_bytes())
    prep = json.loads((run_dir / "preprocessing.json").read_text())
    prep["written_by"] = written_by
    (copy / "preprocessing.json").write_text(json.dumps(prep))
    return copy


def test_a_run_records_who_wrote_it(run_dir: Path) -> None:
    prep = json.loads((run_dir / "preprocessing.json").read_text())
    assert prep["written_by"] == {"hepdl": hepdl.__version__, "run_format": RUN_FORMAT}
    load_trained(run_dir)  # its own format loads


def test_a_run_without_the_record_loads_as_format_1(run_dir: Path, tmp_path: Path) -> None:
    copy = _with_format(run_dir, tmp_path, None)
    prep = json.loads((copy / "preprocessing.json").read_text())
    del prep["written_by"]
    (copy / "preprocessing.json").write_text(json.dumps(prep))
    assert RUN_FORMAT == 1  # else older runs need a conversion, not this test
    load_trained(copy)


def test_a_newer_run_format_is_refused_by_name(run_dir: Path, tmp_path: Path) -> None:
    copy = _with_format(run_dir, tmp_path, {"hepdl": "9.0.0", "run_format": RUN_FORMAT + 1})
    out = tmp_path / "scores.parquet"
    data = str(run_dir.parent / "jets.parquet")
    result = CliRunner().invoke(app, ["predict", str(copy), "--data", data, "--out", str(out)])
    assert result.exit_code != 0
    assert result.output.strip().splitlines()[-1] == (
        f"error: {copy}: written by hepdl 9.0.0 in run format {RUN_FORMAT + 1}; this hepdl "
        f"{hepdl.__version__} reads run format {RUN_FORMAT}: upgrade hepdl to 9.0.0 or later"
    )
    assert not out.exists()


def test_a_damaged_record_is_named(run_dir: Path, tmp_path: Path) -> None:
    copy = _with_format(run_dir, tmp_path, {"hepdl": "0.1.0", "run_format": "one"})
    with pytest.raises(DataError, match="'written_by' should be an object"):
        load_trained(copy)
