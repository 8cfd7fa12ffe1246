"""data.train_size (a stratified subset of the training split), the percentage batch size,
and hepdl learning-curve: a scan over data.train_size x seed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import optuna
import pytest
from tests.conftest import write_feature_file
from tests.train.test_scan import write_config

from hepdl.config import DataConfig, ExperimentConfig, load_config
from hepdl.data.splits import split_indices, training_subset
from hepdl.errors import ConfigError, DataError
from hepdl.train.learning_curve import parse_sizes, run_learning_curve


@pytest.fixture(scope="module")
def toy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("curve")
    return write_config(folder, write_feature_file(folder / "jets.parquet", n=400))


# --- data.train_size -------------------------------------------------------------------


def test_training_subset_is_a_stratified_seeded_subset_of_the_training_split() -> None:
    labels = np.array([0] * 700 + [1] * 300)
    rng = np.random.default_rng(3)
    labels = labels[rng.permutation(len(labels))]
    train, val, test = split_indices(len(labels), seed=0, stratify=labels)  # 600 train rows
    subset = training_subset(train, labels, size=100, seed=5)
    assert len(subset) == 100 and len(set(subset.tolist())) == 100
    assert set(subset.tolist()) <= set(train.tolist())  # never a validation or test row
    assert not set(subset.tolist()) & (set(val.tolist()) | set(test.tolist()))
    assert list(subset) == sorted(subset)
    counts = {c: 0 for c in (0, 1)}
    for row in subset:
        counts[int(labels[row])] += 1
    assert counts == {0: 70, 1: 30}  # the training split's 70/30, row by row
    assert np.array_equal(subset, training_subset(train, labels, size=100, seed=5))
    assert not np.array_equal(subset, training_subset(train, labels, size=100, seed=6))
    assert np.array_equal(training_subset(train, labels, size=600, seed=5), train)


def test_training_subset_rounds_to_exactly_the_size() -> None:
    labels = np.array([0, 0, 0, 1, 1, 2, 2, 2, 2, 2, 2])  # 3 / 2 / 6 rows
    train = np.arange(len(labels))
    for size in range(3, 12):
        subset = training_subset(train, labels, size=size, seed=0)
        assert len(subset) == size
        assert set(labels[subset].tolist()) == {0, 1, 2}  # every class keeps a row


def test_train_size_errors_name_both_numbers() -> None:
    labels = np.array([0, 1] * 10)
    with pytest.raises(DataError) as err:
        training_subset(np.arange(12), labels, size=13, seed=0)
    assert str(err.value) == (
        "data.train_size 13 is larger than the training split, which has 12 rows; "
        "expected at most 12"
    )
    with pytest.raises(DataError) as err:
        training_subset(np.arange(12), labels, size=1, seed=0)
    assert str(err.value) == (
        "data.train_size 1 cannot hold one row of each of the 2 classes; expected at least 2"
    )


def test_train_size_through_training_keeps_validation_and_test(toy: Path) -> None:
    from hepdl.train.run import train_experiment

    config = load_config(toy, overrides=["data.train_size=60", "data.batch_size=10%"])
    result = train_experiment(config, run_dir=toy.parent / "sized")
    full = json.loads((toy.parent / "sized" / "metrics.json").read_text())
    assert (result.metrics["n_train"], full["n_val"], full["n_test"]) == (60, 80, 80)
    too_many = load_config(toy, overrides=["data.train_size=241"])
    expected = "data.train_size 241 is larger than the training split, which has 240 rows"
    with pytest.raises(DataError, match=f"^{expected}; expected at most 240$"):
        train_experiment(too_many, run_dir=toy.parent / "too-many")


# --- data.batch_size as a percentage ---------------------------------------------------


@pytest.mark.parametrize(
    ("batch", "rows", "expected"),
    [("1%", 12000, 120), ("1%", 150, 2), ("1%", 49, 1), ("0.5%", 1000, 5), ("100%", 7, 7)],
)
def test_percentage_batch_size_in_rows(batch: str, rows: int, expected: int) -> None:
    data = DataConfig(files=["x.parquet"], batch_size=batch)
    naive = max(1, int(float(batch[:-1]) / 100 * rows + 0.5))  # round half up, at least 1
    assert data.batch_rows(rows) == naive == expected
    assert DataConfig(files=["x.parquet"], batch_size=32).batch_rows(rows) == 32


def test_percentage_batch_size_sets_the_steps_per_epoch(toy: Path) -> None:
    import torch

    from hepdl.train.run import train_experiment

    config = load_config(toy, overrides=["data.train_size=150", "data.batch_size=4%"])
    train_experiment(config, run_dir=toy.parent / "percent")
    state = torch.load(
        toy.parent / "percent" / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True
    )
    rows = 150 * 4 // 100  # 4% of the 150 training rows used (not of the file's 400): 6
    assert state["global_step"] == -(-150 // rows)  # one epoch of ceil(150 / 6) = 25 batches


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0%", "a percentage batch size must be in (0%, 100%]"),
        ("150%", "a percentage batch size must be in (0%, 100%]"),
        ("1 percent", "expected a number of rows >= 1 or a percentage of the training rows"),
        ("0", "expected a number of rows >= 1 or a percentage of the training rows"),
    ],
)
def test_bad_batch_size_is_a_config_error(toy: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(toy, overrides=[f"data.batch_size={value}"])
    assert f"config key 'data.batch_size': {message}" in str(err.value)


def test_streaming_refuses_train_size() -> None:
    raw = {
        "data": {
            "files": ["a.parquet"],
            "streaming": {"val_files": ["b.parquet"], "test_files": ["c.parquet"]},
            "train_size": 100,
        }
    }
    with pytest.raises(ValueError, match=r"data\.streaming never holds the training rows"):
        ExperimentConfig.model_validate(raw)


# --- hepdl learning-curve --------------------------------------------------------------


def test_learning_curve_is_a_scan_over_train_size(toy: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    result = run_learning_curve(toy, sizes=[40, 160], seeds=2, out=toy.parent / "lc")
    assert (result.n_complete, result.n_failed) == (2, 0)
    by_size = {row.values["data.train_size"]: row for row in result.rows}
    assert sorted(by_size) == [40, 160]
    for size, row in by_size.items():
        runs = [json.loads((Path(d) / "metrics.json").read_text()) for d in row.run_dirs]
        assert [m["n_train"] for m in runs] == [size, size]
        assert [(m["n_val"], m["n_test"]) for m in runs] == [(80, 80), (80, 80)]
        aucs = [m["auc"] for m in runs]
        assert row.mean("auc") == pytest.approx((aucs[0] + aucs[1]) / 2)
        assert row.std("auc") == pytest.approx(abs(aucs[0] - aucs[1]) / np.sqrt(2))
    png = (result.out / "learning_curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert "| 40 | 2 | 0 |" in (result.out / "results.md").read_text()


def test_parse_sizes() -> None:
    assert parse_sizes("3000,1000,10000") == [1000, 3000, 10000]
    with pytest.raises(ConfigError) as err:
        parse_sizes("1000,lots")
    assert str(err.value) == (
        "--sizes '1000,lots': expected training-set sizes as integers, e.g. 1000,3000,10000"
    )
    with pytest.raises(ConfigError, match=r"^--sizes '10,10': expected distinct positive"):
        parse_sizes("10,10")
