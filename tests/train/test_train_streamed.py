"""`hepdl train` with data.streaming: training rows streamed chunk by chunk, validation and
test from their own files, representations cached on disk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl.cli import app

runner = CliRunner()


@pytest.fixture
def split_files(tmp_path: Path) -> dict[str, str]:
    return {
        name: write_feature_file(tmp_path / f"{name}.parquet", n=n, seed=seed)
        for name, n, seed in (("train", 900, 1), ("val", 300, 2), ("test", 300, 3))
    }


def _config(tmp_path: Path, files: dict[str, str], **data: object) -> Path:
    raw = {
        "name": "streamed",
        "seed": 4,
        "data": {
            "files": [files["train"]],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
            "streaming": {
                "val_files": [files["val"]],
                "test_files": [files["test"]],
                "chunk_rows": 100,
                "buffer_chunks": 3,
                "fit_rows": 500,
            },
            **data,
        },
        "model": {"name": "mlp", "hidden": [16]},
        "task": {"lr": 0.01},
        "trainer": {"max_epochs": 3, "progress_bar": False, "output_dir": str(tmp_path / "runs")},
        "evaluate": {"plots": False},
    }
    path = tmp_path / "streamed.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _metrics(tmp_path: Path) -> list[dict]:
    runs = sorted((tmp_path / "runs").iterdir())
    return [json.loads((run / "metrics.json").read_text()) for run in runs]


def test_streamed_training_evaluates_the_test_files(
    tmp_path: Path, split_files: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEPDL_CACHE_DIR", str(tmp_path / "cache"))
    config = _config(tmp_path, split_files)
    first = runner.invoke(app, ["train", str(config)])
    assert first.exit_code == 0, first.output
    cached = list((tmp_path / "cache" / "representations").iterdir())
    assert cached  # the chunks' representations are on disk
    second = runner.invoke(app, ["train", str(config)])  # from the cache, same result
    assert second.exit_code == 0, second.output
    one, two = _metrics(tmp_path)
    assert one["streamed"] is True and one["n_test"] == 300
    assert one["auc"] > 0.9  # the toy classes are shifted by 2 sigma in f1 and f2
    assert one["auc"] == two["auc"] and one["accuracy"] == two["accuracy"]
    run = sorted((tmp_path / "runs").iterdir())[0]
    prep = json.loads((run / "preprocessing.json").read_text())
    assert prep["standardizer"] is not None  # fitted on the first fit_rows training rows
    evaluated = runner.invoke(app, ["evaluate", str(run), "--data", split_files["test"]])
    assert evaluated.exit_code == 0, evaluated.output
    again = json.loads(next((run / "evaluations").rglob("metrics.json")).read_text())
    assert again["auc"] == pytest.approx(one["auc"], abs=1e-9)


def test_streamed_training_with_reweighting(tmp_path: Path, split_files: dict[str, str]) -> None:
    config = _config(
        tmp_path, split_files, reweight={"column": "noise", "bins": 5, "normalize": "balanced"}
    )
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    assert _metrics(tmp_path)[0]["auc"] > 0.9


def test_streaming_needs_files(tmp_path: Path, split_files: dict[str, str]) -> None:
    config = _config(tmp_path, split_files)
    raw = yaml.safe_load(config.read_text())
    raw["data"]["class_files"] = {"qcd": [split_files["train"]], "top": [split_files["val"]]}
    raw["data"]["files"] = []
    config.write_text(yaml.safe_dump(raw))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert "data.streaming streams data.files" in result.output


def test_streamed_csv_splits_train_as_the_same_parquet_files(
    tmp_path: Path, split_files: dict[str, str]
) -> None:
    # The same rows as CSV (floats written with repr: exact) stream chunk by chunk too, the
    # given validation and test files honoured: the same metrics, to the last bit.
    import pandas as pd

    csv_files = {}
    for name, parquet in split_files.items():
        csv_files[name] = str(tmp_path / f"{name}.csv")
        pd.read_parquet(parquet).to_csv(csv_files[name], index=False)
    results = []
    for files, where in ((split_files, "pq"), (csv_files, "csv")):
        (tmp_path / where).mkdir()
        config = _config(tmp_path / where, files)
        result = runner.invoke(app, ["train", str(config)])
        assert result.exit_code == 0, result.output
        results.append(_metrics(tmp_path / where)[0])
    parquet, csv = results
    assert csv["n_test"] == parquet["n_test"] == 300
    assert csv["auc"] == parquet["auc"] and csv["accuracy"] == parquet["accuracy"]


def test_streamed_labels_and_weights_from_side_files(
    tmp_path: Path, split_files: dict[str, str]
) -> None:
    # Labels moved out of the tables into {stem}_y.npy beside each file train the same
    # model as the label column; a weights file beside the training file changes it.
    import numpy as np
    import pandas as pd

    bare = {}
    for name, parquet in split_files.items():
        frame = pd.read_parquet(parquet)
        np.save(tmp_path / f"{name}_y.npy", frame.pop("label").to_numpy())
        np.save(tmp_path / f"{name}_w.npy", np.where(frame["f1"] > 0, 5.0, 0.2))
        bare[name] = str(tmp_path / f"{name}.csv")
        frame.to_csv(bare[name], index=False)
    side = {"labels_file": str(tmp_path / "{stem}_y.npy")}
    weighted = {**side, "weights_file": str(tmp_path / "{stem}_w.npy")}
    results = []
    for where, files, extra in (
        ("column", split_files, {}),
        ("side", bare, side),
        ("weighted", bare, weighted),
    ):
        (tmp_path / where).mkdir()
        result = runner.invoke(app, ["train", str(_config(tmp_path / where, files, **extra))])
        assert result.exit_code == 0, result.output
        results.append(_metrics(tmp_path / where)[0])
    column, side_labels, weighted_run = results
    assert side_labels["auc"] == column["auc"] and side_labels["n_test"] == 300
    assert weighted_run["auc"] != column["auc"]


def test_streamed_labels_file_of_the_wrong_length(
    tmp_path: Path, split_files: dict[str, str]
) -> None:
    import numpy as np

    for name in split_files:
        np.save(tmp_path / f"{name}_y.npy", np.zeros(10, dtype=np.int64))
    config = _config(tmp_path, split_files, labels_file=str(tmp_path / "{stem}_y.npy"))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert (
        f"error: {tmp_path / 'train_y.npy'} holds 10 labels but {split_files['train']} has 900 "
        f"rows; expected one label per row of the feature file, in the same order"
    ) in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_a_streamed_validation_file_below_the_floor_is_refused_before_training(
    tmp_path: Path, split_files: dict[str, str]
) -> None:
    small = write_feature_file(tmp_path / "small_val.parquet", n=12, seed=9)
    config = _config(tmp_path, {**split_files, "val": small})
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 2
    assert (
        f"error: {small}: the validation split has 12 rows; expected at least "
        "data.split.min_rows = 20, or its metrics are noise: give more rows in "
        "data.streaming.val_files / test_files, or lower data.split.min_rows"
    ) in " ".join(result.output.split())
    assert not list((tmp_path / "runs").glob("*/checkpoints/*.ckpt"))
