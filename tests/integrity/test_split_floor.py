"""A validation or test split too small to measure anything, or missing a class, is
refused when the rows are split, naming the split, its rows and its rows per class."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.data.splits import check_evaluation_splits, given_split
from hepdl.errors import DataError


def test_a_split_below_the_floor_is_refused_with_its_counts():
    labels = np.array([0] * 50 + [1] * 50)
    val = np.array([0, 1, 2, 50, 51])  # 3 of class 0, 2 of class 1
    with pytest.raises(DataError) as err:
        check_evaluation_splits(
            {"validation": val, "test": np.arange(100)},
            labels,
            min_rows=20,
            class_names=["qcd", "top"],
            source="jets.parquet",
        )
    assert str(err.value) == (
        "jets.parquet: the validation split has 5 rows (qcd: 3, top: 2); expected at least "
        "data.split.min_rows = 20, or its metrics are noise"
    )


def test_a_split_without_a_class_is_refused():
    labels = np.array([0] * 30 + [1] * 30)
    _, _, test = given_split((20, 10, 30))  # rows 30..59: all of class 1
    with pytest.raises(DataError) as err:
        check_evaluation_splits(
            {"test": test}, labels, min_rows=20, class_names=["qcd", "top"], source="s"
        )
    assert str(err.value) == (
        "s: the test split has 30 rows (qcd: 0, top: 30) and none of class 'qcd'; expected "
        "every class in it, or its ROC and AUC mean nothing"
    )


def test_without_classes_only_the_floor_applies():
    rows = np.arange(20)
    check_evaluation_splits({"test": rows}, np.zeros(20, np.int64), min_rows=20, source="s")
    with pytest.raises(DataError, match="the test split has 19 rows; expected at least"):
        check_evaluation_splits({"test": rows[:19]}, np.zeros(20), min_rows=20, source="s")


def test_training_on_a_small_sample_is_refused_before_any_fit(tmp_path):
    import yaml
    from tests.conftest import write_feature_file
    from typer.testing import CliRunner

    from hepdl.cli import app

    data = write_feature_file(tmp_path / "small.parquet", n=60)  # 12 validation rows
    config = {
        "name": "small",
        "data": {"files": [data], "representation": {"name": "columns",
                                                     "columns": ["f1", "f2"]}},
        "model": {"name": "mlp", "hidden": [4]},
        "trainer": {"max_epochs": 1, "progress_bar": False, "output_dir": str(tmp_path)},
    }  # fmt: skip
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(config))
    result = CliRunner().invoke(app, ["train", str(path)])
    assert result.exit_code == 2, result.output
    assert f"error: {data}: the validation split has 12 rows (qcd: " in result.output
    assert "data.split.min_rows = 20" in result.output and "Traceback" not in result.output
    config["data"]["split"] = {"min_rows": 5}
    path.write_text(yaml.safe_dump(config))
    assert CliRunner().invoke(app, ["train", str(path)]).exit_code == 0
