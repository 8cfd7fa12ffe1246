"""data.reweight: a classifier trained with pT-flattening weights cannot learn the pT
spectrum; the weighted loss is sum(w l) / sum(w)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import yaml
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.models import create_model
from hepdl.tasks import ClassificationTask

runner = CliRunner()


def _pt_only_file(path: Path, n: int = 3000) -> str:
    """Two classes that differ only in their pT spectrum (exponential slopes 1/100, 1/200)."""
    rng = np.random.default_rng(5)
    label = rng.integers(0, 2, n)
    pt = 500.0 + rng.exponential(np.where(label == 1, 200.0, 100.0))
    table = pa.table({"jet_pt": pt, "label": label})
    meta = {b"hepdl": json.dumps({"class_names": ["qcd", "top"]}).encode()}
    pq.write_table(table.replace_schema_metadata(meta), path)
    return str(path)


def _train(tmp_path: Path, data_file: str, **data: object) -> Path:
    raw = {
        "name": "pt",
        "seed": 2,
        "data": {
            "files": [data_file],
            "representation": {"name": "columns", "columns": ["jet_pt"]},
            "batch_size": 128,
            **data,
        },
        "model": {"name": "mlp", "hidden": [16]},
        "task": {"lr": 0.01},
        "trainer": {"max_epochs": 6, "progress_bar": False, "output_dir": str(tmp_path)},
        "evaluate": {"plots": False},
    }
    tmp_path.mkdir()
    config = tmp_path / "pt.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    [run] = [p for p in tmp_path.iterdir() if p.is_dir()]
    return run


def _score_range(run: Path, pt: np.ndarray) -> float:
    """max - min of the trained classifier's P(top) over the pT values ``pt``."""
    from hepdl.data.scaling import Standardizer
    from hepdl.train.artifacts import load_trained
    from hepdl.train.predict import predict_probabilities

    _, model, prep = load_trained(run)
    x = Standardizer.from_dict(prep.standardizer).transform(pt[:, None])
    score = predict_probabilities(model, x)[:, 0]
    return float(score.max() - score.min())


def test_flattened_pt_cannot_be_learned(tmp_path: Path) -> None:
    """Without weights the score rises with pT (the top spectrum is harder); with weights
    that make both classes flat in 500-900 GeV it hardly changes with pT there (what is
    left is the noise of the large weights of sparse bins)."""
    data_file = _pt_only_file(tmp_path / "pt.parquet")
    edges = [float(x) for x in np.linspace(500.0, 900.0, 21)]
    plain = _train(tmp_path / "plain", data_file)
    flat = _train(tmp_path / "flat", data_file, reweight={"column": "jet_pt", "bins": edges})
    grid = np.linspace(510.0, 700.0, 20)  # where both classes are well populated
    assert json.loads((plain / "metrics.json").read_text())["auc"] > 0.6
    learned = _score_range(plain, grid)
    assert learned > 0.15
    assert _score_range(flat, grid) < 0.3 * learned


def test_bad_reweight_column_and_class_are_named(tmp_path: Path) -> None:
    data_file = _pt_only_file(tmp_path / "pt.parquet", n=200)
    raw = {
        "data": {
            "files": [data_file],
            "representation": {"name": "columns", "columns": ["jet_pt"]},
            "reweight": {"column": "jet_ptt"},
        },
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(tmp_path)},
    }
    config = tmp_path / "bad.yaml"
    config.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "data.reweight.column 'jet_ptt' is not a column (did you mean 'jet_pt'?)" in (
        result.output
    )
    raw["data"]["reweight"] = {"column": "jet_pt", "match_to": "higgs"}
    config.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "data.reweight.match_to 'higgs' is not one of the classes ['qcd', 'top']" in (
        result.output
    )


def test_weighted_loss_is_the_weighted_mean_of_row_losses() -> None:
    torch.manual_seed(0)
    task = ClassificationTask(create_model("mlp", in_features=3, hidden=[4]), loss="bce")
    logits = torch.randn(6, 1, dtype=torch.float64)
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    weights = torch.tensor([0.5, 2.0, 0.0, 1.0, 3.0, 1.5], dtype=torch.float64)
    p = torch.sigmoid(logits[:, 0])
    rows = -(labels * torch.log(p) + (1 - labels) * torch.log(1 - p))
    expected = float((rows * weights).sum() / weights.sum())
    assert abs(float(task.compute_loss(logits, labels, weights)) - expected) < 1e-12
    assert abs(float(task.compute_loss(logits, labels)) - float(rows.mean())) < 1e-12
    assert float(task.compute_loss(logits, labels, torch.zeros(6, dtype=torch.float64))) == 0.0
