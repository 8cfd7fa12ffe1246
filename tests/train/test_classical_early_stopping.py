"""A BDT chooses its number of trees on hepdl's validation split and keeps only those;
with early stopping off it says so; its time is the fit time, in its own column."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import log_loss
from tests.conftest import write_feature_file

from hepdl.config import ExperimentConfig
from hepdl.train.classical import load_classical, train_classical
from hepdl.train.compare import compare_runs

COLUMNS = ["f1", "f2", "noise"]


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_feature_file(tmp_path_factory.mktemp("bdt_stop") / "jets.parquet")


def _config(out: Path, jets: str, **model) -> ExperimentConfig:
    raw = {
        "name": "toy",
        "seed": 7,
        "data": {"files": [jets], "representation": {"name": "columns", "columns": COLUMNS}},
        # A fast learning rate on 360 rows overfits within 40 trees.
        "model": {"name": "bdt", "max_iter": 40, "learning_rate": 0.5, **model},
        "trainer": {"progress_bar": False, "output_dir": str(out)},
        "evaluate": {"plots": True, "bootstrap": 0},
    }
    return ExperimentConfig.model_validate(raw)


def test_bdt_keeps_the_trees_of_the_lowest_validation_loss(tmp_path, jets):
    result = train_classical(_config(tmp_path, jets), run_dir=tmp_path / "run")
    val_loss = result.history["val_loss"]
    assert len(val_loss) == 40  # the history shows every stage fitted
    kept = int(np.argmin(val_loss)) + 1
    assert kept < 40, "the toy should overfit"
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["early_stopping"] == "validation loss" and metrics["stages_kept"] == kept
    assert metrics["best_epoch_score"] == pytest.approx(min(val_loss))
    assert metrics["fit_seconds"] > 0 and "train_seconds_per_epoch" not in metrics
    _, estimator, _ = load_classical(result.run_dir)
    assert estimator.n_iter_ == kept  # only those trees were saved
    # The saved model's validation loss is the chosen stage's: the same trees.
    config = _config(tmp_path, jets)
    from hepdl.train.prepared import prepare_data

    data = prepare_data(config, build_model=False)
    x, y = data.inputs["features"][data.val_idx], data.targets[data.val_idx]
    assert log_loss(y, estimator.predict_proba(x)) == pytest.approx(val_loss[kept - 1], rel=1e-9)
    assert (result.run_dir / "history.png").is_file()


def test_bdt_without_early_stopping_keeps_every_tree_and_says_so(tmp_path, jets):
    config = _config(tmp_path, jets, early_stopping=False)
    result = train_classical(config, run_dir=tmp_path / "all")
    assert result.metrics["early_stopping"] == "off"
    assert result.metrics["stages_kept"] == 40
    assert load_classical(result.run_dir)[1].n_iter_ == 40


def test_compare_shows_the_fit_time_in_its_own_column(tmp_path, jets):
    run = train_classical(_config(tmp_path, jets), run_dir=tmp_path / "bdt").run_dir
    table = compare_runs([run], out_dir=tmp_path / "cmp").table
    header = table.splitlines()[0]
    assert "| params | s/epoch | fit s | jets/s | runs |" in header
    row = table.splitlines()[2].split(" | ")
    fit = json.loads((run / "metrics.json").read_text())["fit_seconds"]
    assert row[header.split(" | ").index("fit s")] == f"{fit:.3g}"
    assert row[header.split(" | ").index("s/epoch")] == "–"
