"""HDF5 files from pandas and PyTables as they come: blosc/zlib/bzip2 compression read
(through PyTables where h5py lacks the filter, safely), the compression named when no
reader has it, and integer column names kept."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from hepdl.data import read_table
from hepdl.data.readers import column_names
from hepdl.errors import DataError


def frame(n: int = 50) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    data = pd.DataFrame(rng.normal(size=(n, 2)), columns=["jet_pt", "jet_eta"])
    data["n"] = rng.integers(0, 30, size=n)
    data["kind"] = np.where(np.arange(n) % 2 == 0, "g", "h")
    return data


@pytest.mark.parametrize("layout", ["table", "fixed"])
@pytest.mark.parametrize("complib", ["blosc", "zlib", "bzip2"])
def test_compressed_pandas_tables_read_like_the_frame(
    tmp_path: Path, layout: str, complib: str
) -> None:
    expected = frame()
    path = tmp_path / f"{layout}-{complib}.h5"
    expected.to_hdf(path, key="jets", format=layout, complib=complib, complevel=5)
    table = read_table(path)
    assert table.fields == list(expected.columns)
    for name in ("jet_pt", "jet_eta", "n"):
        np.testing.assert_array_equal(np.asarray(table[name]), expected[name].to_numpy())
    assert table["kind"].to_list() == expected["kind"].tolist()


def test_filter_neither_reader_has_is_named(tmp_path: Path, monkeypatch) -> None:
    """A PyTables built without blosc (as h5py is): the error names the compression."""
    import tables

    path = tmp_path / "blosc.h5"
    frame().to_hdf(path, key="jets", format="table", complib="blosc", complevel=5)
    real = tables.which_lib_version
    monkeypatch.setattr(tables, "which_lib_version", lambda n: None if n == "blosc" else real(n))
    with pytest.raises(DataError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(
        f"{path}: HDF5 dataset '/jets/table' is compressed with blosc (HDF5 filter 32001), "
        "which neither h5py nor PyTables here can decompress"
    )
    assert "complib='zlib'" in message


class _Payload:
    def __reduce__(self):  # what a crafted file would hold: code run on unpickling
        return (os.system, ("touch hepdl-was-exploited",))


def test_pytables_path_never_runs_pickled_code(tmp_path: Path, monkeypatch) -> None:
    """PyTables unpickles a node's attributes when it opens it; hepdl checks them first."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "crafted.h5"
    frame().to_hdf(path, key="jets", format="table", complib="blosc", complevel=5)
    with h5py.File(path, "a") as h5file:  # a blosc table: only PyTables can read its rows
        h5file["jets"].attrs["non_index_axes"] = np.bytes_(pickle.dumps(_Payload(), protocol=0))
    with pytest.raises(DataError, match=r"crafted\.h5: HDF5 attribute '/jets/non_index_axes'"):
        read_table(path)
    assert not (tmp_path / "hepdl-was-exploited").exists()


@pytest.mark.parametrize("layout", ["table", "fixed"])
def test_integer_column_names_are_kept(tmp_path: Path, layout: str) -> None:
    expected = pd.DataFrame({2098: [0.5, 1.5, 2.5], 2099: [1.0, 2.0, 3.0], 2100: [0, 1, 1]})
    path = tmp_path / f"ints-{layout}.h5"
    expected.to_hdf(path, key="df", format=layout)
    assert column_names(path) == ["2098", "2099", "2100"]
    table = read_table(path)
    assert table.fields == ["2098", "2099", "2100"]
    assert np.asarray(table["2100"]).tolist() == [0, 1, 1]


REAL_LZO = Path(__file__).parent / "hdf5" / "pytables_lzo2.h5"  # PyTables' own test file


def test_a_real_lzo_table_reads_or_names_the_filter_and_the_way_to_get_it() -> None:
    tables = pytest.importorskip("tables")
    if tables.which_lib_version("lzo") is not None:  # a PyTables built with LZO reads it
        table = read_table(REAL_LZO, key="tuple0")
        assert len(table) == 100
        return
    with pytest.raises(DataError) as err:
        read_table(REAL_LZO, key="tuple0")
    assert str(err.value) == (
        f"{REAL_LZO}: HDF5 dataset '/tuple0' is compressed with lzo (HDF5 filter 305), which "
        f"neither h5py nor PyTables here can decompress; LZO needs a PyTables built with it "
        f"(conda install pytables, or pip install --no-binary tables tables with liblzo2 "
        f"installed), or re-save the file with a common compression, e.g. "
        f"df.to_hdf(..., complib='zlib')"
    )
