"""`hepdl train` and `hepdl evaluate` with non-MLP architectures: the representation's named
arrays reach each model's forward by keyword (image -> CNN, point cloud -> PFN/ParticleNet,
sequence -> LSTM)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from hepdl.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    from hepdl.generate import SampleSettings, generate

    out = tmp_path_factory.mktemp("jets") / "jets.parquet"
    return str(generate("top-vs-qcd", SampleSettings(40, seed=3), out).path)


def _config(tmp_path: Path, jets: str, representation: dict, model: dict) -> Path:
    raw = {
        "name": model["name"],
        "seed": 3,
        "data": {
            "files": [jets],
            "representation": representation,
            "standardize": False,
            "batch_size": 16,
            "split": {"min_rows": 10},  # the 80-jet sample: 16 validation, 16 test jets
        },
        "model": model,
        "task": {"lr": 0.003},
        "trainer": {"max_epochs": 2, "progress_bar": False, "output_dir": str(tmp_path / "runs")},
        "evaluate": {"plots": False},
    }
    path = tmp_path / f"{model['name']}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.mark.parametrize(
    ("representation", "model"),
    [
        ({"name": "image", "pixels": 16}, {"name": "lenet", "in_channels": 1, "image_size": 16}),
        ({"name": "point_cloud", "max_particles": 32}, {"name": "pfn", "phi_sizes": [8, 8]}),
        (
            {"name": "point_cloud", "max_particles": 32},
            {"name": "particlenet", "k": 4, "edge_convs": [[8, 8]], "fc_sizes": [8]},
        ),
        ({"name": "sequence", "max_particles": 32}, {"name": "lstm", "hidden_size": 8}),
    ],
)
def test_train_then_evaluate_every_input_kind(
    tmp_path: Path, jets: str, representation: dict, model: dict
) -> None:
    config = _config(tmp_path, jets, representation, model)
    trained = runner.invoke(app, ["train", str(config)])
    assert trained.exit_code == 0, trained.output
    [run] = list((tmp_path / "runs").iterdir())
    metrics = json.loads((run / "metrics.json").read_text())
    assert 0.0 <= metrics["auc"] <= 1.0 and metrics["n_test"] == 16
    prep = json.loads((run / "preprocessing.json").read_text())
    assert prep["representation"]["name"] == representation["name"]
    evaluated = runner.invoke(app, ["evaluate", str(run), "--data", jets])
    assert evaluated.exit_code == 0, evaluated.output
    again = json.loads(next((run / "evaluations").rglob("metrics.json")).read_text())
    assert again["n_jets"] == 80


def test_standardize_is_refused_for_non_flat_inputs(tmp_path: Path, jets: str) -> None:
    config = _config(
        tmp_path,
        jets,
        {"name": "image", "pixels": 16},
        {"name": "lenet", "in_channels": 1, "image_size": 16},
    )
    raw = yaml.safe_load(config.read_text())
    raw["data"]["standardize"] = True
    config.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "data.standardize: true scales flat feature columns" in result.output
    assert "'image'" in result.output and "set data.standardize: false" in result.output


def test_a_model_without_its_inputs_is_refused(tmp_path: Path, jets: str) -> None:
    config = _config(
        tmp_path, jets, {"name": "image", "pixels": 16}, {"name": "pfn", "phi_sizes": [8]}
    )
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "needs the input(s)" in result.output and "point_cloud" in result.output
