from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import yaml
from safetensors.numpy import load_file
from sklearn.metrics import roc_auc_score
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.train._timing import without_timings
from tests.conftest import write_feature_file
from tests.real_files import ZMUMU

runner = CliRunner()


def experiment(tmp_path: Path, data_file: str, **sections) -> Path:
    raw = {
        "name": "toy",
        "seed": 7,
        "data": {
            "files": [data_file],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
        },
        "model": {"name": "mlp", "hidden": [16, 16]},
        "task": {"lr": 0.01},
        "trainer": {"max_epochs": 4, "progress_bar": False, "output_dir": str(tmp_path / "runs")},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    path = tmp_path / "toy.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def only_run(tmp_path: Path) -> Path:
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    return runs[0]


def test_train_writes_a_complete_run_dir(tmp_path, feature_file):
    result = runner.invoke(
        app, ["train", str(experiment(tmp_path, feature_file)), "--set", "trainer.max_epochs=3"]
    )
    assert result.exit_code == 0, result.output
    run = only_run(tmp_path)
    for name in (
        "config.yaml",
        "preprocessing.json",
        "model.safetensors",
        "metrics.json",
        "history.json",
        "roc.png",
        "scores.png",
        "history.png",
        "checkpoints/best.ckpt",
        "logs/metrics.csv",
    ):
        assert (run / name).is_file(), name
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    saved = yaml.safe_load((run / "config.yaml").read_text())
    assert saved["trainer"]["max_epochs"] == 3  # the override is in the resolved config
    metrics = json.loads((run / "metrics.json").read_text())
    for key in ("accuracy", "auc", "rejection_at_eps_s_0.3", "rejection_at_eps_s_0.5", "max_sic"):
        assert key in metrics
    # Two unit Gaussians shifted by 2 sigma each: the optimal AUC is Phi(2) = 0.977.
    assert metrics["auc"] > 0.93
    assert metrics["n_train"] == 360 and metrics["n_test"] == 120
    history = json.loads((run / "history.json").read_text())
    assert len(history["train_loss"]) == 3 and len(history["val_accuracy"]) == 3
    assert "ROC AUC" in result.output


def test_standardisation_fitted_on_training_split_only(tmp_path, feature_file):
    from hepdl.data.splits import split_indices

    assert runner.invoke(app, ["train", str(experiment(tmp_path, feature_file))]).exit_code == 0
    prep = json.loads((only_run(tmp_path) / "preprocessing.json").read_text())
    columns = pq.read_table(feature_file).to_pandas()
    train, _, _ = split_indices(
        len(columns), fractions=(0.6, 0.2, 0.2), seed=0, stratify=columns["label"].to_numpy()
    )
    expected = columns[["f1", "f2", "noise"]].to_numpy()[train].mean(axis=0)
    np.testing.assert_allclose(prep["standardizer"]["mean"], expected, rtol=1e-5)
    assert prep["class_names"] == ["qcd", "top"] and prep["signal_class"] == 1


def test_same_seed_same_weights_and_metrics(tmp_path, feature_file):
    config = experiment(tmp_path, feature_file)
    for out in ("a", "b"):
        result = runner.invoke(
            app, ["train", str(config), "--set", f"trainer.output_dir={tmp_path / out}"]
        )
        assert result.exit_code == 0, result.output
    run_a, run_b = (next((tmp_path / o).iterdir()) for o in ("a", "b"))
    wa, wb = (
        load_file(str(run_a / "model.safetensors")),
        load_file(str(run_b / "model.safetensors")),
    )
    assert all(np.array_equal(wa[k], wb[k]) for k in wa)
    metrics_a, metrics_b = (
        without_timings(json.loads((run / "metrics.json").read_text().replace(str(run), "")))
        for run in (run_a, run_b)
    )
    assert metrics_a == metrics_b  # wall-clock timings aside


def test_early_stopping_stops_a_run_that_does_not_improve(tmp_path, feature_file):
    config = experiment(
        tmp_path,
        feature_file,
        task={"lr": 1e-12},
        trainer={"max_epochs": 40, "early_stopping": {"patience": 2}},
    )
    assert runner.invoke(app, ["train", str(config)]).exit_code == 0
    history = json.loads((only_run(tmp_path) / "history.json").read_text())
    assert len(history["train_loss"]) < 10


def test_evaluate_on_another_file_matches_sklearn(tmp_path, feature_file):
    assert runner.invoke(app, ["train", str(experiment(tmp_path, feature_file))]).exit_code == 0
    run = only_run(tmp_path)
    other = write_feature_file(tmp_path / "other.parquet", n=400, seed=11)
    result = runner.invoke(app, ["evaluate", str(run), "--data", other])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "evaluations/other/metrics.json").read_text())
    assert metrics["n_jets"] == 400
    assert (run / "evaluations/other/roc.png").is_file()

    from hepdl.data.scaling import Standardizer
    from hepdl.train.artifacts import load_trained
    from hepdl.train.predict import predict_probabilities

    _, model, prep = load_trained(run)
    table = pq.read_table(other).to_pandas()
    x = Standardizer.from_dict(prep.standardizer).transform(
        table[["f1", "f2", "noise"]].to_numpy(np.float32)
    )
    scores = predict_probabilities(model, x)[:, 0]
    assert metrics["auc"] == pytest.approx(roc_auc_score(table["label"], scores), abs=1e-9)


def test_evaluate_refuses_file_without_the_trained_columns(tmp_path, feature_file):
    assert runner.invoke(app, ["train", str(experiment(tmp_path, feature_file))]).exit_code == 0
    bad = tmp_path / "bad.parquet"
    table = pq.read_table(feature_file).drop(["noise"])
    pq.write_table(table, bad)
    result = runner.invoke(app, ["evaluate", str(only_run(tmp_path)), "--data", str(bad)])
    assert result.exit_code == 2
    assert "noise" in result.output and "bad.parquet" in result.output


def test_config_typo_is_one_clear_error(tmp_path, feature_file):
    result = runner.invoke(
        app, ["train", str(experiment(tmp_path, feature_file)), "--set", "trainer.max_epoch=3"]
    )
    assert result.exit_code == 2
    assert "trainer.max_epoch" in result.output and "max_epochs" in result.output
    assert "Traceback" not in result.output


def test_one_class_only_is_refused(tmp_path):
    path = write_feature_file(tmp_path / "one.parquet", n=50)
    table = pq.read_table(path)
    pq.write_table(
        table.filter(table["label"].to_numpy() == 1).replace_schema_metadata(table.schema.metadata),
        path,
    )
    result = runner.invoke(app, ["train", str(experiment(tmp_path, path))])
    assert result.exit_code == 2
    assert "one.parquet" in result.output and "top" in result.output


def test_help_does_not_import_torch():
    heavy = "{'torch', 'lightning', 'pythia8mc'}"
    code = f"import sys, hepdl.cli; print(sorted({heavy} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_process_suggests():
    result = runner.invoke(app, ["generate", "top-vs-qdc", "--jets", "5", "--out", "x.parquet"])
    assert result.exit_code == 2
    assert "did you mean 'top-vs-qcd'?" in result.output


def test_generate_command_writes_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "jets.parquet"
    args = ["generate", "top-vs-qcd", "--jets", "5", "--out", str(out), "--seed", "2"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    table = pq.read_table(out)
    assert table.num_rows == 10
    assert table.column("label").to_pylist().count(1) == 5
    before = out.read_bytes()
    again = runner.invoke(app, args)  # the same command: already complete, nothing to do
    assert again.exit_code == 0 and "already complete" in again.output
    assert out.read_bytes() == before
    other = [*args[:-1], "3"]  # another seed: refused, the file kept
    refused = runner.invoke(app, other)
    assert refused.exit_code == 2 and "jets.parquet" in refused.output
    assert "--overwrite" in refused.output and out.read_bytes() == before
    assert runner.invoke(app, [*other, "--overwrite"]).exit_code == 0
    assert out.read_bytes() != before


def test_datasets_lists_every_sample_with_its_cuts():
    result = runner.invoke(app, ["datasets"])
    assert result.exit_code == 0, result.output
    for name in ("top-vs-qcd", "w-vs-qcd", "z-vs-qcd", "higgs-vs-qcd", "quark-vs-gluon"):
        assert name in result.output
    assert "R = 0.4" in result.output and "|y| < 1.7" in result.output
    assert "HardQCD:all = on" in result.output


def test_multiclass_softmax_on_a_real_root_file(tmp_path):
    """CMS dimuons (uproot-Zmumu.root): 3-class softmax on the muon-type label GG/GT/TT."""
    root_file = ZMUMU
    config = experiment(
        tmp_path,
        str(root_file),
        data={
            "label_column": "Type",
            "classes": ["GG", "GT", "TT"],
            "signal_class": "GG",
            "representation": {"name": "columns", "columns": ["eta1", "eta2", "pt1", "pt2"]},
        },
        task={"loss": "cce"},
    )
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    run = only_run(tmp_path)
    prep = json.loads((run / "preprocessing.json").read_text())
    assert prep["class_names"] == ["GG", "GT", "TT"] and prep["signal_class"] == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["signal_class"] == "GG"
    assert metrics["n_signal"] + metrics["n_background"] == metrics["n_test"]
    weights = load_file(str(run / "model.safetensors"))
    assert weights["layers.4.weight"].shape == (3, 16)  # one softmax unit per class


def test_nan_feature_is_one_error_naming_file_and_column(tmp_path, feature_file):
    table = pq.read_table(feature_file).to_pandas()
    table.loc[17, "f2"] = np.nan
    table.loc[30, "f2"] = np.inf
    bad = tmp_path / "nan.parquet"
    table.to_parquet(bad)
    result = runner.invoke(app, ["train", str(experiment(tmp_path, str(bad)))])
    assert result.exit_code == 2
    assert "nan.parquet" in result.output and "'f2'" in result.output
    assert "17" in result.output  # the first bad row
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_config_columns_rename_the_file_columns(tmp_path):
    """data.columns maps the names a model sees onto a real ROOT file's branches."""
    root_file = ZMUMU
    config = experiment(
        tmp_path,
        str(root_file),
        data={
            "columns": {"lead_pt": "pt1", "sub_pt": "pt2", "kind": "Type"},
            "label_column": "kind",
            "classes": ["GG", "GT", "TT"],
            "representation": {"name": "columns", "columns": ["lead_pt", "sub_pt"]},
        },
        task={"loss": "cce"},
    )
    result = runner.invoke(app, ["train", str(config), "--set", "trainer.max_epochs=1"])
    assert result.exit_code == 0, result.output
    prep = json.loads((only_run(tmp_path) / "preprocessing.json").read_text())
    assert prep["feature_names"] == ["lead_pt", "sub_pt"]
    bad = experiment(tmp_path, str(root_file), data={"columns": {"lead_pt": "pt_1"}})
    refused = runner.invoke(app, ["train", str(bad)])
    assert refused.exit_code == 2
    assert "'pt_1', which is not a column of the file" in refused.output
    assert "did you mean 'pt1'" in refused.output


def test_config_columns_and_a_named_preset_conflict(tmp_path, feature_file):
    config = experiment(
        tmp_path, feature_file, data={"columns": {"a": "f1"}, "preset": "top-landscape"}
    )
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2 and "give one of them" in result.output
