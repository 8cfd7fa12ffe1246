"""A file that names one column twice is refused, whatever its format: a reader would
keep one of the two silently (pandas renames the second 'a.1', a dict keeps the last)."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hepdl.data import read_table
from hepdl.data._chunks import open_source, read_chunk, split_rows
from hepdl.errors import DataError

N = 30


def _expected(path) -> str:
    return (
        f"{path}: repeated column name 'a' (2 times); expected each column once (a reader "
        "would keep one of them silently): rename or drop the copies"
    )


def _parquet(path):
    columns = [pa.array(np.arange(N, dtype=float)), pa.array(-np.arange(N, dtype=float))]
    pq.write_table(pa.Table.from_arrays([*columns, pa.array(np.arange(N) % 2)],
                                        names=["a", "a", "label"]), path)  # fmt: skip


def _csv(path):
    path.write_text("a,a,label\n" + "".join(f"{i},{-i},{i % 2}\n" for i in range(N)))


def _hdf5_names(path):
    with h5py.File(path, "w") as f:
        f.create_dataset("jets", data=np.zeros((N, 3))).attrs["columns"] = ["a", "a", "label"]


def _hdf5_two_datasets(path):
    # a compound dataset's field named like another dataset of the same group
    fields = np.zeros(N, dtype=[("a", "f8"), ("label", "i8")])
    with h5py.File(path, "w") as f:
        f.create_dataset("jets/table", data=fields)
        f.create_dataset("jets/a", data=np.ones(N))


def _pandas_table(path):
    frame = pd.DataFrame(np.zeros((N, 3)), columns=["a", "a", "label"])
    frame.to_hdf(path, key="df", format="table")


WRITERS = {
    "dup.parquet": _parquet,
    "dup.csv": _csv,
    "names.h5": _hdf5_names,
    "two.h5": _hdf5_two_datasets,
    "pandas.h5": _pandas_table,
}


@pytest.mark.parametrize("name", list(WRITERS))
@pytest.mark.parametrize("columns", [None, ["a", "label"]])
def test_a_repeated_column_is_refused_on_read(tmp_path, name, columns):
    path = tmp_path / name
    WRITERS[name](path)
    with pytest.raises(DataError) as err:
        read_table(path, columns=columns)
    assert str(err.value) == _expected(path)


@pytest.mark.parametrize("name", ["dup.parquet", "dup.csv", "names.h5", "two.h5"])
def test_a_repeated_column_is_refused_when_streamed(tmp_path, name):
    path = tmp_path / name
    WRITERS[name](path)
    with pytest.raises(DataError) as err:
        source = open_source(str(path), fmt="auto", tree=None, key=None)
        read_chunk(split_rows(source, N, chunk_rows=10)[0], columns=["a"])
    assert str(err.value) == _expected(path)


def test_a_csv_header_with_an_unnamed_index_column_still_reads(tmp_path):
    # df.to_csv writes the index under an empty name: not a repeat
    path = tmp_path / "indexed.csv"
    pd.DataFrame({"a": np.arange(N), "label": np.arange(N) % 2}).to_csv(path)
    assert read_table(path).fields == ["Unnamed: 0", "a", "label"]
