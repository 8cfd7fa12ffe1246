from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hepdl.data import create_representation
from hepdl.data.cache import RepresentationCache, default_cache_root
from hepdl.data.streaming import StreamingDataset
from hepdl.errors import DataError


class Counting:
    """The ``columns`` representation, counting the rows it computes."""

    def __init__(self, columns):
        self.inner = create_representation("columns", columns=columns)
        self.name = self.inner.name
        self.rows_computed = 0

    @property
    def feature_names(self):
        return self.inner.feature_names

    def config(self):
        return self.inner.config()

    def __call__(self, table, *, source):
        self.rows_computed += len(table)
        return self.inner(table, source=source)


def write(path, *, n=120, scale=1.0):
    pq.write_table(
        pa.table({"row": np.arange(n) * scale, "label": np.arange(n) % 2}),
        path,
        row_group_size=40,
    )
    return str(path)


def features(dataset):
    return np.concatenate([b["features"].numpy() for b in dataset])


def test_second_epoch_and_second_run_load_instead_of_computing(tmp_path):
    path = write(tmp_path / "jets.parquet")
    rep = Counting(["row"])
    cache = RepresentationCache(tmp_path / "cache")
    dataset = StreamingDataset(path, rep, batch_size=25, chunk_rows=40, cache=cache)
    first = features(dataset)
    assert rep.rows_computed == 120
    assert (cache.hits, cache.misses) == (0, 3)
    again = features(dataset)  # same epoch: same order, from the cache
    assert rep.rows_computed == 120
    assert cache.hits == 3
    np.testing.assert_array_equal(first, again)
    # A second run: a new dataset and cache object on the same directory.
    rep2 = Counting(["row"])
    rerun = StreamingDataset(
        path, rep2, batch_size=25, chunk_rows=40, cache=RepresentationCache(tmp_path / "cache")
    )
    np.testing.assert_array_equal(features(rerun), first)
    assert rep2.rows_computed == 0
    assert not list((tmp_path / "cache").rglob("*.tmp"))  # nothing half-written left


def test_changed_config_or_file_or_chunks_is_a_miss(tmp_path):
    path = write(tmp_path / "jets.parquet")
    cache = RepresentationCache(tmp_path / "cache")

    def run(rep, chunk_rows=40):
        dataset = StreamingDataset(
            path, rep, batch_size=200, chunk_rows=chunk_rows, cache=cache, shuffle=False
        )
        return features(dataset)

    run(Counting(["row"]))
    other = Counting(["row", "label"])
    assert run(other).shape == (120, 2)
    assert other.rows_computed == 120
    rechunked = Counting(["row"])
    run(rechunked, chunk_rows=60)
    assert rechunked.rows_computed == 120
    write(path, scale=2.0)  # same name, new content (size or mtime changes)
    os.utime(path, ns=(1, 1))
    changed = Counting(["row"])
    np.testing.assert_array_equal(run(changed)[:, 0], np.arange(120) * 2.0)
    assert changed.rows_computed == 120


def test_corrupt_entry_is_recomputed(tmp_path):
    cache = RepresentationCache(tmp_path)
    description = {"file": "x", "rows": [0, 3]}
    cache.store(cache.key(description), {"a": np.arange(3)})
    npy = cache.path(cache.key(description)) / "0.npy"
    npy.write_bytes(npy.read_bytes()[:-8])  # truncated, as by a full disk
    calls = []

    def compute():
        calls.append(1)
        return {"a": np.arange(3) + 1}

    np.testing.assert_array_equal(cache.get_or_compute(description, compute)["a"], [1, 2, 3])
    np.testing.assert_array_equal(cache.get_or_compute(description, compute)["a"], [1, 2, 3])
    assert len(calls) == 1


def test_keys_and_refusals(tmp_path, monkeypatch):
    cache = RepresentationCache(tmp_path)
    assert cache.key({"a": 1, "b": [1, 2]}) == cache.key({"b": [1, 2], "a": 1})
    assert cache.key({"a": 1}) != cache.key({"a": 2})
    with pytest.raises(DataError, match=r"representation cache: the entry description is not"):
        cache.key({"a": object()})
    with pytest.raises(DataError, match=r"array 'names' has dtype object"):
        cache.store("ab" * 32, {"names": np.array(["x", None], dtype=object)})
    monkeypatch.setenv("HEPDL_CACHE_DIR", str(tmp_path / "here"))
    assert default_cache_root() == tmp_path / "here" / "representations"
    assert RepresentationCache().root == tmp_path / "here" / "representations"
