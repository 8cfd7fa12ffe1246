"""``hepdl export``: what the file says about itself, and bad input (one error each)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from tests.deploy.runs import make_run, write_jet_file
from typer.testing import CliRunner

from hepdl.cli import app

runner = CliRunner()
FLAT = {"name": "columns", "columns": ["f1", "f2"]}


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_jet_file(tmp_path_factory.mktemp("jets") / "jets.parquet")


@pytest.fixture
def mlp_run(tmp_path: Path, jets: str) -> Path:
    return make_run(
        tmp_path, jets, model={"name": "mlp", "hidden": [8]}, representation=FLAT, standardize=True
    )


def _props(path: Path) -> dict[str, str]:
    return {p.key: p.value for p in onnx.load(str(path)).metadata_props}


def test_metadata_states_opset_inputs_and_the_folded_standardizer(mlp_run: Path) -> None:
    result = runner.invoke(app, ["export", str(mlp_run), "--opset", "18"])
    assert result.exit_code == 0, result.output
    assert "opset: 18 (torch.onnx TorchScript exporter (dynamo=False)" in result.output
    path = mlp_run / "model.onnx"
    props = _props(path)
    assert props["hepdl.opset"] == "18" and props["hepdl.model"] == "mlp"
    assert [o.version for o in onnx.load(str(path)).opset_import if o.domain == ""] == [18]
    assert json.loads(props["hepdl.inputs"]) == [
        {"name": "features", "dtype": "float32", "shape": ["batch", 2]}
    ]
    assert props["hepdl.standardizer"] == "folded into the graph"
    assert json.loads(props["hepdl.feature_names"]) == ["f1", "f2"]
    assert json.loads(props["hepdl.class_names"]) == ["qcd", "top"]


def test_a_regression_writes_its_target_scaling_and_ratio_column(tmp_path: Path, jets: str) -> None:
    run_dir = make_run(
        tmp_path,
        jets,
        model={"name": "mlp", "hidden": [8]},
        representation=FLAT,
        task={"kind": "regress", "targets": ["gen_pt"], "ratio_to": "jet_pt"},
        standardize=True,
    )
    result = runner.invoke(app, ["export", str(run_dir)])
    assert result.exit_code == 0, result.output
    targets = json.loads(_props(run_dir / "model.onnx")["hepdl.targets"])
    saved = json.loads((run_dir / "preprocessing.json").read_text())["targets"]
    assert targets["columns"] == ["gen_pt"] and targets["ratio_to"] == "jet_pt"
    assert targets["mean"] == saved["mean"] and targets["std"] == saved["std"]
    assert targets["physical"] == "(output * std + mean) * table[ratio_to]"
    assert targets["loss"] == "mse"


def test_an_existing_out_is_refused_unless_overwrite(mlp_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "tagger.onnx"
    out.write_bytes(b"keep me")
    refused = runner.invoke(app, ["export", str(mlp_run), "--out", str(out)])
    assert refused.exit_code == 2
    assert refused.output == f"error: {out}: exists already; pass --overwrite to replace it\n"
    assert out.read_bytes() == b"keep me"
    replaced = runner.invoke(app, ["export", str(mlp_run), "--out", str(out), "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert onnx.load(str(out)).graph.output[0].name == "output"


@pytest.mark.parametrize("missing", ["config.yaml", "preprocessing.json", "model.safetensors"])
def test_a_run_directory_with_a_missing_file_is_refused(mlp_run: Path, missing: str) -> None:
    (mlp_run / missing).unlink()
    result = runner.invoke(app, ["export", str(mlp_run)])
    assert result.exit_code == 2
    assert result.output == f"error: {mlp_run}: not a finished hepdl run ({missing} is missing)\n"


def test_unknown_format_and_missing_folder(mlp_run: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(mlp_run), "--format", "tflite"])
    assert result.exit_code == 2
    assert result.output == "error: --format 'tflite': expected one of onnx\n"
    out = tmp_path / "no" / "such" / "m.onnx"
    result = runner.invoke(app, ["export", str(mlp_run), "--out", str(out)])
    assert result.exit_code == 2
    assert result.output == f"error: {out.parent}: no such folder to write m.onnx into\n"


def test_a_failed_write_leaves_no_half_file(mlp_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The bytes go to a temporary file renamed at the end: a failure before the rename
    leaves neither the .onnx nor the temporary file."""
    import os

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "replace", broken_replace)
    result = runner.invoke(app, ["export", str(mlp_run)])
    assert result.exit_code != 0
    assert [p.name for p in mlp_run.iterdir() if "onnx" in p.name] == []


def test_tracing_on_rows_of_a_data_file(mlp_run: Path, jets: str) -> None:
    result = runner.invoke(app, ["export", str(mlp_run), "--data", jets])
    assert result.exit_code == 0, result.output
    import onnxruntime as ort

    session = ort.InferenceSession(str(mlp_run / "model.onnx"))
    out = session.run(None, {"features": np.zeros((3, 2), np.float32)})[0]
    assert out.shape == (3, 1) and ((out > 0) & (out < 1)).all()  # P(signal), a sigmoid


def test_first_rows_of_trees_are_whole_trees_renumbered() -> None:
    """The tree representation's node arrays: the first 2 jets' trees, as the
    representation builds them from those 2 jets alone (not the first 2 nodes)."""
    from hepdl.data import representation_from_config
    from hepdl.deploy.example_inputs import first_rows, toy_jets

    table = toy_jets(5, most_particles=6, seed=3)
    build = representation_from_config({"name": "tree"})
    every = {k: np.asarray(v) for k, v in dict(build(table, source="toy")).items()}
    alone = {k: np.asarray(v) for k, v in dict(build(table[:2], source="toy")).items()}
    first = first_rows(every, 2)
    assert sorted(first) == sorted(alone) and len(every["roots"]) == 5
    for name, values in alone.items():
        np.testing.assert_array_equal(first[name], values, err_msg=name)
    assert len(first["features"]) == every["offsets"][2] < len(every["features"])


def test_the_recursive_network_traced_on_a_file_is_refused_naming_its_loop(
    tmp_path: Path, jets: str
) -> None:
    model = {"name": "recursive", "hidden_size": 8}
    run_dir = make_run(tmp_path, jets, model=model, representation={"name": "tree"})
    result = runner.invoke(app, ["export", str(run_dir), "--data", jets])
    assert result.exit_code == 2
    assert result.output.startswith(
        "error: model 'recursive': layer <root> (RecursiveTagger) cannot be exported to ONNX: "
        "Converting a tensor to a Python list at hepdl/models/recursive.py:"
    ), result.output
    assert "the loop over the batch's tree levels" in result.output
