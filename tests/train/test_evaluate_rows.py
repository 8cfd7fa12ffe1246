"""hepdl evaluate says what it evaluated (the folder it wrote, training rows it was given,
a file without labels), and hepdl compare refuses runs tested on different rows. Real
runs of a small MLP on Parquet files written as a user's would be."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.config import load_config
from hepdl.errors import DataError
from hepdl.evaluation import evaluate_run
from hepdl.train.compare import compare_runs
from hepdl.train.run import train_experiment

COLUMNS = ["f1", "f2", "noise"]


def _config(folder: Path, jets: str, *, split_seed: int = 0, seed: int = 7) -> Path:
    raw = {
        "name": "toy",
        "seed": seed,
        "data": {
            "files": [jets],
            "representation": {"name": "columns", "columns": COLUMNS},
            "batch_size": 64,
            "split": {"seed": split_seed},
        },
        "model": {"name": "mlp", "hidden": [8]},
        "trainer": {"max_epochs": 1, "early_stopping": None, "output_dir": str(folder / "runs")},
        "evaluate": {"plots": False},
    }
    path = folder / f"toy-{split_seed}-{seed}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("evaluate")
    jets = write_feature_file(folder / "jets.parquet", n=400)
    result = train_experiment(load_config(_config(folder, jets)), run_dir=folder / "run")
    return folder, jets, result


def test_evaluating_the_training_file_warns_with_the_counts(trained) -> None:
    folder, jets, result = trained
    evaluation = evaluate_run(result.run_dir, [jets], out_dir=folder / "on-train")
    n_train, n_val = result.metrics["n_train"], result.metrics["n_val"]
    assert (n_train, n_val) == (240, 80)
    assert evaluation.warnings == [
        f"{n_train} of 400 rows of {jets} are training rows of run {result.run_dir} and "
        f"{n_val} its validation rows (which chose its epoch): these metrics are not an "
        "independent test; evaluate on its test rows or other files"
    ]
    assert evaluation.out_dir == folder / "on-train"
    assert json.loads((folder / "on-train/metrics.json").read_text())["n_jets"] == 400


def test_another_file_gives_no_warning_and_the_cli_prints_the_folder(trained) -> None:
    folder, _, result = trained
    other = write_feature_file(folder / "other.parquet", n=300, seed=11)
    out = folder / "elsewhere"
    cli = CliRunner().invoke(
        app, ["evaluate", str(result.run_dir), "--data", other, "--out", str(out)]
    )
    assert cli.exit_code == 0, cli.output
    assert "warning" not in cli.output
    assert f"evaluation written to: {out}" in " ".join(cli.output.split())
    assert json.loads((out / "metrics.json").read_text())["n_jets"] == 300


def test_the_test_rows_alone_give_no_warning(trained) -> None:
    folder, jets, result = trained
    with np.load(result.run_dir / "predictions.npz") as saved:
        n_test = len(saved["labels"])
    # The test rows by hand: the rows of the file that are neither training nor validation.
    from hepdl.train.row_identity import row_keys

    table = pq.read_table(jets)
    features = np.stack([table[c].to_numpy().astype(np.float32) for c in COLUMNS], axis=1)
    keys = row_keys({"features": features}, len(features))
    with np.load(result.run_dir / "row_keys.npz") as saved:
        seen = np.isin(keys, saved["train"]) | np.isin(keys, saved["val"])
    assert int((~seen).sum()) == n_test == 80
    pq.write_table(table.filter(~seen), folder / "test_rows.parquet")
    evaluation = evaluate_run(result.run_dir, [str(folder / "test_rows.parquet")])
    assert evaluation.warnings == []
    assert evaluation.metrics["auc"] == pytest.approx(result.metrics["auc"], abs=1e-12)


def test_a_file_without_labels_is_predicted_and_says_metrics_need_labels(trained) -> None:
    folder, _, result = trained
    other = write_feature_file(folder / "unlabelled-src.parquet", n=120, seed=5)
    pq.write_table(pq.read_table(other).drop(["label"]), folder / "unlabelled.parquet")
    out = folder / "predicted"
    args = ["evaluate", str(result.run_dir), "--data", str(folder / "unlabelled.parquet")]
    cli = CliRunner().invoke(app, [*args, "--out", str(out)])
    assert cli.exit_code == 0, cli.output
    note = (
        "the file has no label column 'label' (data.label_column): predictions written "
        "(outputs, scores in predictions.npz); metrics need labels"
    )
    assert f"note: {note}" in " ".join(cli.output.split())
    assert json.loads((out / "metrics.json").read_text())["note"] == note
    # the scores, by hand: the model on the standardised features
    from hepdl.data.scaling import Standardizer
    from hepdl.train.artifacts import load_trained
    from hepdl.train.predict import predict_probabilities

    _, model, prep = load_trained(result.run_dir)
    table = pq.read_table(other)
    x = np.stack([table[c].to_numpy().astype(np.float32) for c in COLUMNS], axis=1)
    expected = predict_probabilities(model, Standardizer.from_dict(prep.standardizer).transform(x))
    with np.load(out / "predictions.npz") as saved:
        np.testing.assert_allclose(saved["outputs"], expected, rtol=1e-12)
        assert saved["scores"].shape == (120,)


def test_compare_refuses_runs_tested_on_different_rows(trained, tmp_path) -> None:
    folder, jets, result = trained
    other_split = train_experiment(
        load_config(_config(folder, jets, split_seed=1)), run_dir=tmp_path / "split1"
    )
    with pytest.raises(DataError) as err:
        compare_runs([result.run_dir, other_split.run_dir], out_dir=tmp_path / "cmp")
    message = str(err.value)
    assert message.startswith(
        f"runs {result.run_dir} and {other_split.run_dir} were tested on different rows (80 rows,"
    )
    assert message.endswith(
        "their metrics do not compare; test every run on the same rows (the same files, "
        "data.split or given test files)"
    )
    # another seed on the same split: the same test rows, compared without a note
    same_rows = train_experiment(
        load_config(_config(folder, jets, seed=8)), run_dir=tmp_path / "seed8"
    )
    compared = compare_runs([result.run_dir, same_rows.run_dir], out_dir=tmp_path / "cmp2")
    assert compared.notes == []
