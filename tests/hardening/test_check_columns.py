"""`hepdl check CONFIG` reads each data file's column names (its schema or header, never
its rows) and refuses a file without a column the config needs: one `error:` line naming
the config key, the file, the column and the closest one the file has. It loads neither
Lightning nor torch, even for a network config (tests/memory has the rest of the import
budget)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl.cli import app

ROOT = Path(__file__).resolve().parents[2]


def _check(config: Path, *sets: str) -> tuple[int, str]:
    args = ["check", str(config)]
    for override in sets:
        args += ["--set", override]
    result = CliRunner().invoke(app, args)
    return result.exit_code, result.output


def _config(folder: Path, data: dict, task: dict | None = None) -> Path:
    raw = {"name": "checked", "data": data, "model": {"name": "mlp", "hidden": [4]}}
    if task is not None:
        raw["task"] = task
    path = folder / "checked.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def jets(tmp_path: Path) -> str:
    return write_feature_file(tmp_path / "jets.parquet", n=50)  # f1, f2, noise, label


def _columns(jets: str, *names: str) -> dict:
    return {"files": [jets], "representation": {"name": "columns", "columns": list(names)}}


def test_a_file_with_every_column_is_ok(tmp_path: Path, jets: str) -> None:
    config = _config(tmp_path, _columns(jets, "f1", "f2", "noise"))
    assert _check(config) == (
        0,
        f"ok: {config}: model mlp, representation columns, task classify, 1 data file(s)\n",
    )


def test_a_representation_column_missing_names_the_closest(tmp_path: Path, jets: str) -> None:
    config = _config(tmp_path, _columns(jets, "f1", "nosie"))
    assert _check(config) == (
        2,
        f"error: {config}: data.representation.columns: data.files {jets} has no column "
        "'nosie' (did you mean 'noise'?)\n",
    )


def test_the_label_column_missing(tmp_path: Path, jets: str) -> None:
    config = _config(tmp_path, {**_columns(jets, "f1"), "label_column": "lable"})
    assert _check(config) == (
        2,
        f"error: {config}: data.label_column: data.files {jets} has no column 'lable' "
        "(did you mean 'label'?)\n",
    )


def test_one_file_per_class_needs_no_label_column(tmp_path: Path) -> None:
    table = pa.table({"f1": [1.0, 2.0], "f2": [0.5, 0.1]})
    files = {}
    for name in ("qcd", "top"):
        pq.write_table(table, tmp_path / f"{name}.parquet")
        files[name] = [str(tmp_path / f"{name}.parquet")]
    data = {"class_files": files, "representation": {"name": "columns", "columns": ["f1", "f3"]}}
    config = _config(tmp_path, data)
    assert _check(config) == (
        2,
        f"error: {config}: data.representation.columns: data.class_files.qcd "
        f"{files['qcd'][0]} has no column 'f3'; its columns are f1, f2\n",
    )
    assert _check(config, "data.representation.columns=[f1, f2]")[0] == 0


@pytest.mark.parametrize(
    ("task", "message"),
    [
        (
            {"targets": ["f2"], "ratio_to": "f3"},
            "task.ratio_to: data.files {jets} has no column 'f3'",
        ),
        ({"targets": ["nois"]}, "task.targets: data.files {jets} has no column 'nois'"),
    ],
)
def test_a_regression_s_targets_and_ratio_column(tmp_path: Path, jets: str, task, message) -> None:
    # no label column is needed: the file without one passes the other checks
    config = _config(tmp_path, _columns(jets, "f1"), {"kind": "regress", "loss": "mse", **task})
    code, output = _check(config)
    listed = "; its columns are f1, f2, noise, label"
    closest = listed if "ratio_to" in task else " (did you mean 'noise'?)"
    assert (code, output) == (2, f"error: {config}: {message.format(jets=jets)}{closest}\n")


def test_the_reweighting_column(tmp_path: Path, jets: str) -> None:
    config = _config(tmp_path, {**_columns(jets, "f1"), "reweight": {"column": "jet_pt"}})
    assert _check(config) == (
        2,
        f"error: {config}: data.reweight.column: data.files {jets} has no column 'jet_pt'; "
        "its columns are f1, f2, noise, label\n",
    )


def test_a_renaming_mapping_is_followed_to_the_file_s_column(tmp_path: Path, jets: str) -> None:
    data = {**_columns(jets, "x", "y"), "columns": {"x": "f1", "y": "f9", "label": "label"}}
    config = _config(tmp_path, data)
    assert _check(config) == (
        2,
        f"error: {config}: data.representation.columns: data.files {jets} has no column "
        "'f9' (data.columns.y); its columns are f1, f2, noise, label\n",
    )
    data["columns"] = {"x": "f1", "label": "label"}
    config = _config(tmp_path, data)
    assert _check(config) == (
        2,
        f"error: {config}: data.representation.columns: column 'y' is not among data.columns "
        "(label, x), the only columns read\n",  # yaml.safe_dump sorts the keys
    )


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1" + b"\x00" * 64)
    config = _config(tmp_path, _columns(str(broken), "f1"))
    code, output = _check(config)
    assert code == 2
    assert output.startswith(f"error: {config}: data.files: {broken}")
    assert output.count("\n") == 1 and "Traceback" not in output


def test_only_the_schema_is_read(tmp_path: Path, jets: str, monkeypatch) -> None:
    def no_rows(*args, **kwargs):
        raise AssertionError("hepdl check read the file's rows")

    monkeypatch.setattr("hepdl.data.readers._read", no_rows)
    monkeypatch.setattr("hepdl.data.readers._read_parquet", no_rows)
    config = _config(tmp_path, _columns(jets, "f1"))
    assert _check(config)[0] == 0


def _check_fresh(config: Path) -> tuple[int, str, list[str]]:
    """``hepdl check config`` in a fresh interpreter: exit code, output, and the heavy
    packages loaded after it."""
    code = (
        "import json, sys\nfrom typer.testing import CliRunner\nfrom hepdl.cli import app\n"
        f"result = CliRunner().invoke(app, ['check', {str(config)!r}])\n"
        "print(json.dumps([result.exit_code, result.output, sorted({m.split('.')[0] for m in "
        "sys.modules} & {'torch', 'lightning', 'sklearn', 'matplotlib'})]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    exit_code, output, loaded = json.loads(out.stdout.splitlines()[-1])
    return exit_code, output, loaded


def _loaded_after_check(config: Path) -> list[str]:
    exit_code, output, loaded = _check_fresh(config)
    assert exit_code == 0, output
    return loaded


def test_checking_a_config_loads_no_lightning(tmp_path: Path, jets: str) -> None:
    assert "lightning" not in _loaded_after_check(_config(tmp_path, _columns(jets, "f1")))


def test_checking_a_network_config_loads_no_torch(tmp_path: Path, jets: str) -> None:
    # the model options, inputs and choices come from models/_signature_table.py
    assert _loaded_after_check(_config(tmp_path, _columns(jets, "f1"))) == []


def test_a_bad_network_option_is_refused_without_torch(tmp_path: Path, jets: str) -> None:
    config = _config(tmp_path, _columns(jets, "f1"))
    raw = yaml.safe_load(config.read_text())
    raw["model"] = {"name": "pfn", "phi_sizes": [16, 0]}
    config.write_text(yaml.safe_dump(raw))
    assert _check_fresh(config) == (
        2,
        f"error: {config}: model.phi_sizes: model 'pfn' takes a list of at most 1024 entries, "
        "each an integer in [1, 65536] (hepdl.limits.MAX_WIDTH), got [16, 0]\n",
        [],
    )
