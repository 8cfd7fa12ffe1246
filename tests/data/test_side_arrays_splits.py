"""Labels and weights from .npy/.npz files beside the features, and given splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hepdl.config import DataConfig
from hepdl.data import splits
from hepdl.errors import DataError
from hepdl.train import inputs
from hepdl.train.inputs import load_sample, split_rows


def _csv(path, n, seed):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n)})
    frame.to_csv(path, index=False)
    return rng.integers(0, 2, n)


def _data(**keys):
    return DataConfig(representation={"name": "columns", "columns": ["x1", "x2"]}, **keys)


def test_labels_and_weights_from_npy_beside_each_split_file(tmp_path):
    sizes = {"train": 40, "val": 10, "test": 7}
    labels = {}
    for seed, (name, n) in enumerate(sizes.items()):
        labels[name] = _csv(tmp_path / f"{name}.csv", n, seed)
        np.save(tmp_path / f"{name}_y.npy", labels[name])
        np.savez(tmp_path / f"{name}_w.npz", weights=np.full(n, seed + 1.0))
    data = _data(
        files=[str(tmp_path / "train.csv")],
        val_files=[str(tmp_path / "val.csv")],
        test_files=[str(tmp_path / "test.csv")],
        labels_file=str(tmp_path / "{stem}_y.npy"),
        weights_file=str(tmp_path / "{stem}_w.npz"),
        split={"min_rows": 7},  # the test split's 7 rows: below the default floor of 20
    )
    sample = load_sample(data)
    expected = np.concatenate([labels[n] for n in sizes])
    np.testing.assert_array_equal(sample.labels, expected)
    np.testing.assert_array_equal(
        sample.row_weights, np.repeat([1.0, 2.0, 3.0], list(sizes.values()))
    )
    assert sample.given_sizes == (40, 10, 7)
    train, val, test = split_rows(data, sample.labels, seed=0, given=sample.given_sizes)
    assert (len(train), len(val), len(test)) == (40, 10, 7)
    features = pd.read_csv(tmp_path / "test.csv").to_numpy(np.float32)
    np.testing.assert_allclose(sample.features[test], features, rtol=1e-6)
    # The record names the test file and its rows 0..6, as a streamed run of it would.
    assert inputs.tested_rows(sample, test) == splits.tested_rows_record(
        [str(tmp_path / "test.csv")], np.arange(7)
    )


def test_a_labels_array_of_another_length_is_one_error_naming_both_files(tmp_path):
    _csv(tmp_path / "x.csv", 30, 0)
    np.save(tmp_path / "y.npy", np.zeros(29, dtype=np.int64))
    data = _data(files=[str(tmp_path / "x.csv")], labels_file=str(tmp_path / "y.npy"))
    with pytest.raises(DataError) as err:
        load_sample(data)
    assert str(err.value) == (
        f"{tmp_path / 'y.npy'} holds 29 labels but {tmp_path / 'x.csv'} has 30 rows; expected "
        "one label per row of the feature file, in the same order"
    )


def test_a_file_in_two_splits_is_refused(tmp_path):
    _csv(tmp_path / "a.csv", 20, 0)
    _csv(tmp_path / "b.csv", 20, 1)
    a, b = str(tmp_path / "a.csv"), str(tmp_path / "b.csv")
    np.save(tmp_path / "a_y.npy", np.arange(20) % 2)
    np.save(tmp_path / "b_y.npy", np.arange(20) % 2)
    side = str(tmp_path / "{stem}_y.npy")
    data = _data(files=[a], val_files=[b], test_files=[a], labels_file=side)
    with pytest.raises(DataError, match="the same file in two splits"):
        load_sample(data)


def _given_split(tmp_path, rows: dict[str, int]):
    """The data section of train/val/test.csv in ``tmp_path``, each with ``rows[name]``
    alternating labels in {name}_y.npy beside it."""
    for name, n in rows.items():
        np.save(tmp_path / f"{name}_y.npy", np.arange(n) % 2)
    return _data(
        files=[str(tmp_path / "train.csv")],
        val_files=[str(tmp_path / "val.csv")],
        test_files=[str(tmp_path / "test.csv")],
        labels_file=str(tmp_path / "{stem}_y.npy"),
    )


def test_identical_rows_in_two_split_files_are_refused(tmp_path):
    _csv(tmp_path / "train.csv", 20, 0)
    _csv(tmp_path / "val.csv", 10, 1)
    frame = pd.read_csv(tmp_path / "train.csv").iloc[[3, 8]]  # two training rows, copied
    frame.to_csv(tmp_path / "test.csv", index=False)
    data = _given_split(tmp_path, {"train": 20, "val": 10, "test": 2})
    with pytest.raises(DataError) as err:
        load_sample(data)
    assert "training" in str(err.value) and "share 2 identical row(s)" in str(err.value)
    assert "(first: row 3 and row 0)" in str(err.value)


def test_given_split_ranges_and_test_record():
    train, val, test = splits.given_split((3, 2, 4))
    assert train.tolist() == [0, 1, 2] and val.tolist() == [3, 4] and test.tolist() == [5, 6, 7, 8]
    record = splits.tested_rows_record(["x.csv"], np.array([4, 1]))
    assert record["n_rows"] == 2
    assert record == splits.tested_rows_record(["x.csv"], np.array([1, 4]))  # order-free
    assert record != splits.tested_rows_record(["x.csv"], np.array([1, 5]))


def _discrete_csv(path, rows):
    pd.DataFrame(rows, columns=["x1", "x2"]).to_csv(path, index=False)


def test_discrete_inputs_that_repeat_by_chance_are_not_a_copied_split(tmp_path):
    # Two small integer features: 9 possible rows, so rows repeat inside each split and a
    # few match across splits by chance; a test file copied from training is still refused.
    rng = np.random.default_rng(0)
    _discrete_csv(tmp_path / "train.csv", rng.integers(0, 3, (60, 2)))
    _discrete_csv(tmp_path / "val.csv", np.array([[0, 0], [0, 1], [5, 5], [6, 6], [7, 7]] * 2))
    _discrete_csv(tmp_path / "test.csv", np.array([[1, 1], [8, 8], [9, 9], [4, 4], [3, 3]] * 2))
    data = _given_split(tmp_path, {"train": 60, "val": 10, "test": 10})
    sample = load_sample(data)  # 2 of 5 distinct validation rows, 1 of 5 test rows shared
    assert len(sample.labels) == 80
    pd.read_csv(tmp_path / "train.csv").iloc[:10].to_csv(tmp_path / "test.csv", index=False)
    with pytest.raises(DataError, match=r"training \(.*\) and test \(.*\) share \d+ identical"):
        load_sample(data)
