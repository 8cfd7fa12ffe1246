"""split_indices: deterministic, disjoint, covering, stratified; bad fractions and sizes."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.data import split_indices
from hepdl.errors import ConfigError, DataError


def test_same_seed_same_split_other_seed_other_split() -> None:
    first = split_indices(1000, seed=3)
    again = split_indices(1000, seed=3)
    other = split_indices(1000, seed=4)
    for a, b in zip(first, again, strict=True):
        assert np.array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


def test_disjoint_covering_sorted_with_requested_sizes() -> None:
    train, val, test = split_indices(1001, fractions=(0.7, 0.2, 0.1), seed=0)
    assert (len(train), len(val), len(test)) == (701, 200, 100)  # val, test rounded; train the rest
    everything = np.concatenate([train, val, test])
    assert np.array_equal(np.sort(everything), np.arange(1001))
    for part in (train, val, test):
        assert part.dtype == np.int64
        assert np.all(np.diff(part) > 0)


def test_zero_val_and_test_fractions_give_empty_splits() -> None:
    train, val, test = split_indices(10, fractions=(1.0, 0.0, 0.0), seed=0)
    assert np.array_equal(train, np.arange(10))
    assert len(val) == len(test) == 0


def test_stratified_keeps_class_fractions() -> None:
    rng = np.random.default_rng(1)
    labels = (rng.random(2000) < 0.1).astype(int)  # 10 % signal
    train, val, test = split_indices(2000, seed=5, stratify=labels)
    overall = labels.mean()
    for part, size in ((train, 0.6), (val, 0.2), (test, 0.2)):
        assert abs(labels[part].mean() - overall) < 0.002
        assert abs(len(part) / 2000 - size) < 0.002
    assert np.array_equal(np.sort(np.concatenate([train, val, test])), np.arange(2000))
    again = split_indices(2000, seed=5, stratify=labels)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again, strict=True))


def test_stratified_rare_class_still_in_every_split() -> None:
    labels = np.array([0] * 50 + [1] * 3)
    train, val, test = split_indices(53, seed=0, stratify=labels)
    assert [int(labels[p].sum()) for p in (train, val, test)] == [1, 1, 1]


@pytest.mark.parametrize(
    ("fractions", "pattern"),
    [
        ((0.5, 0.2, 0.2), r"sum to 0\.9; expected them to sum to 1"),
        ((0.0, 0.5, 0.5), r"expected train > 0"),
        ((0.8, 0.3, -0.1), r"expected train > 0 and val, test >= 0"),
        ((0.8, 0.2), r"expected three numbers"),
    ],
)
def test_bad_fractions(fractions: tuple[float, ...], pattern: str) -> None:
    with pytest.raises(ConfigError, match=pattern):
        split_indices(100, fractions=fractions, seed=0)


def test_too_few_rows() -> None:
    with pytest.raises(DataError, match=r"too few rows to split: 2 rows .* at least 3 rows"):
        split_indices(2, seed=0)
    with pytest.raises(DataError, match=r"positive number of rows"):
        split_indices(0, seed=0)
    labels = np.array([0] * 20 + [1] * 2)
    with pytest.raises(DataError, match=r"class 1 with 2 rows cannot fill .* at least 3 rows"):
        split_indices(22, seed=0, stratify=labels)
    with pytest.raises(DataError, match=r"stratify labels have shape \(21,\); expected \(22,\)"):
        split_indices(22, seed=0, stratify=labels[:21])
