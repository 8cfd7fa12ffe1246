"""Readers: round trips of every format, the real ROOT files, and every bad input."""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

import awkward as ak
import h5py
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import uproot

from hepdl.data import read_metadata, read_table
from hepdl.errors import DataError

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"  # ../shared/data
HZZ = DATA / "uproot-HZZ.root"
ZMUMU = DATA / "uproot-Zmumu.root"
NANOAOD = DATA / "nanoAOD_2015_CMS_Open_Data_ttbar.root"
needs_real_files = pytest.mark.skipif(
    not (HZZ.is_file() and ZMUMU.is_file() and NANOAOD.is_file()),
    reason=f"real ROOT files not found in {DATA}",
)


def jets() -> ak.Array:
    return ak.Array(
        {
            "jet_pt": np.array([510.0, 620.5, 733.25, 845.0]),
            "jet_nparticles": np.array([2, 1, 3, 0], dtype=np.int64),
            "part_px": [[1.0, 2.0], [3.5], [4.0, 5.0, 6.0], []],
            "label": np.array([0, 1, 1, 0], dtype=np.int64),
        }
    )


def flat_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "jet_pt": [510.0, 620.5, 733.25],
            "jet_eta": [-0.5, 0.25, 1.5],
            "n": [3, 4, 5],
            "kind": ["q", "t", "q"],
        }
    )


# ---------------------------------------------------------------- round trips


def test_parquet_round_trip_keeps_values_and_types(tmp_path: Path) -> None:
    path = tmp_path / "jets.parquet"
    ak.to_parquet(jets(), path)
    table = read_table(path)
    assert table.fields == ["jet_pt", "jet_nparticles", "part_px", "label"]
    assert table.tolist() == jets().tolist()
    assert str(table.type) == "4 * {jet_pt: float64, jet_nparticles: int64, " + (
        "part_px: var * float64, label: int64}"
    )


def test_parquet_column_selection_follows_requested_order(tmp_path: Path) -> None:
    path = tmp_path / "jets.pq"
    ak.to_parquet(jets(), path)
    table = read_table(path, columns=["part_px", "jet_pt"])
    assert table.fields == ["part_px", "jet_pt"]
    assert table.part_px.tolist() == jets().part_px.tolist()


def test_parquet_from_pyarrow_has_no_spurious_option_types(tmp_path: Path) -> None:
    path = tmp_path / "arrow.parquet"
    arrow = pa.table({"jet_pt": [1.0, 2.0], "part_px": [[1.0], [2.0, 3.0]], "s": ["a", "b"]})
    pq.write_table(arrow, path)
    table = read_table(path)
    assert str(table.type) == "2 * {jet_pt: float64, part_px: var * float64, s: string}"
    assert table.part_px.tolist() == [[1.0], [2.0, 3.0]]


def test_parquet_keeps_real_missing_values_as_options(tmp_path: Path) -> None:
    path = tmp_path / "missing.parquet"
    pq.write_table(pa.table({"x": [1.0, None, 3.0], "y": [1, 2, 3]}), path)
    table = read_table(path)
    assert str(table.type) == "3 * {x: ?float64, y: int64}"
    assert table.x.tolist() == [1.0, None, 3.0]


def test_read_metadata_decodes_hepdl_json(tmp_path: Path) -> None:
    path = tmp_path / "meta.parquet"
    meta = {"class_names": ["QCD", "Tbqq"], "generator": "pythia8", "seed": 7}
    arrow = pa.table({"jet_pt": [1.0]}).replace_schema_metadata({"hepdl": json.dumps(meta)})
    pq.write_table(arrow, path)
    assert read_metadata(path)["hepdl"] == meta
    assert "ARROW:schema" not in read_metadata(path)


@needs_real_files
def test_read_metadata_of_other_formats_is_empty_or_hepdl(tmp_path: Path) -> None:
    csv = tmp_path / "a.csv"
    flat_frame().to_csv(csv, index=False)
    assert read_metadata(csv) == {}
    h5 = tmp_path / "a.h5"
    with h5py.File(h5, "w") as f:
        f["x"] = np.arange(3.0)
        f.attrs["hepdl"] = json.dumps({"class_names": ["b", "s"]})
    assert read_metadata(h5) == {"hepdl": {"class_names": ["b", "s"]}}
    assert read_metadata(HZZ) == {}


def test_read_metadata_bad_json_names_file_and_key(tmp_path: Path) -> None:
    path = tmp_path / "badmeta.parquet"
    pq.write_table(pa.table({"x": [1.0]}).replace_schema_metadata({"hepdl": "{not json"}), path)
    with pytest.raises(DataError, match=r"badmeta\.parquet: metadata key 'hepdl' is not valid"):
        read_metadata(path)


def test_csv_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "jets.csv"
    flat_frame().to_csv(path, index=False)
    table = read_table(path)
    assert table.fields == ["jet_pt", "jet_eta", "n", "kind"]
    assert table.jet_pt.tolist() == [510.0, 620.5, 733.25]
    assert table.n.tolist() == [3, 4, 5]
    assert table.kind.tolist() == ["q", "t", "q"]
    assert read_table(path, columns=["n", "jet_eta"]).fields == ["n", "jet_eta"]


def test_fmt_overrides_extension(tmp_path: Path) -> None:
    path = tmp_path / "jets.dat"
    ak.to_parquet(jets(), path)
    assert read_table(path, fmt="parquet").jet_pt.tolist() == jets().jet_pt.tolist()


def test_hdf5_group_of_1d_datasets(tmp_path: Path) -> None:
    path = tmp_path / "cols.h5"
    with h5py.File(path, "w") as f:
        f["jet_pt"] = np.array([1.0, 2.0, 3.0])
        f["n"] = np.array([4, 5, 6], dtype=np.int32)
        f["name"] = np.array([b"a", b"bb", b"c"])
        f.create_dataset(
            "part_px",
            data=np.array([np.array([1.0, 2.0]), np.array([3.0]), np.array([])], dtype=object),
            dtype=h5py.vlen_dtype(np.float64),
        )
    table = read_table(path)
    assert table.fields == ["jet_pt", "n", "name", "part_px"]  # sorted by dataset name
    assert table.jet_pt.tolist() == [1.0, 2.0, 3.0]
    assert table.n.tolist() == [4, 5, 6]
    assert table.name.tolist() == ["a", "bb", "c"]
    assert table.part_px.tolist() == [[1.0, 2.0], [3.0], []]


def test_hdf5_2d_dataset_with_column_names(tmp_path: Path) -> None:
    path = tmp_path / "matrix.hdf5"
    x = np.arange(12, dtype=np.float32).reshape(4, 3)
    with h5py.File(path, "w") as f:
        dataset = f.create_dataset("jets/features", data=x)
        dataset.attrs["columns"] = ["jet_pt", "jet_eta", "jet_phi"]
    table = read_table(path)
    assert table.fields == ["jet_pt", "jet_eta", "jet_phi"]
    assert np.array_equal(ak.to_numpy(table.jet_eta), x[:, 1])
    same = read_table(path, key="jets/features", columns=["jet_phi"])
    assert np.array_equal(ak.to_numpy(same.jet_phi), x[:, 2])


def test_hdf5_compound_dataset_and_key_choice(tmp_path: Path) -> None:
    path = tmp_path / "compound.hdf"
    records = np.array([(1.0, 2), (3.0, 4)], dtype=[("jet_pt", "f8"), ("n", "i4")])
    with h5py.File(path, "w") as f:
        f["a/jets"] = records
        f["b/other"] = np.arange(5.0)
    with pytest.raises(DataError, match=r"compound\.hdf: HDF5 file has several groups.*a, b"):
        read_table(path)
    table = read_table(path, key="a")
    assert table.tolist() == [{"jet_pt": 1.0, "n": 2}, {"jet_pt": 3.0, "n": 4}]
    with pytest.raises(DataError, match=r"HDF5 key 'c' not found.*a, b"):
        read_table(path, key="c")


def test_hdf5_columns_of_different_length(tmp_path: Path) -> None:
    path = tmp_path / "ragged.h5"
    with h5py.File(path, "w") as f:
        f["jet_pt"] = np.arange(3.0)
        f["jet_eta"] = np.arange(4.0)
    with pytest.raises(DataError, match=r"ragged\.h5: datasets .* different lengths.*'/jet_eta'"):
        read_table(path)


@pytest.mark.parametrize("layout", ["table", "fixed"])
def test_pandas_hdf5_round_trip(tmp_path: Path, layout: str) -> None:
    path = tmp_path / f"{layout}.h5"
    frame = flat_frame().assign(flag=[True, False, True])
    frame.to_hdf(path, key="jets", format=layout)
    table = read_table(path)
    assert table.fields == ["jet_pt", "jet_eta", "n", "kind", "flag"]
    for column in frame.columns:
        assert table[column].tolist() == frame[column].tolist()
    assert str(table.flag.type.content) == "bool"


def test_pandas_hdf5_data_columns_and_key(tmp_path: Path) -> None:
    path = tmp_path / "store.h5"
    flat_frame().to_hdf(path, key="signal", format="table", data_columns=True)
    (flat_frame() * 1).to_hdf(path, key="background", format="fixed")
    with pytest.raises(DataError, match=r"store\.h5: holds 2 pandas tables.*pass key="):
        read_table(path)
    table = read_table(path, key="signal", columns=["kind", "jet_pt"])
    assert table.tolist() == [
        {"kind": "q", "jet_pt": 510.0},
        {"kind": "t", "jet_pt": 620.5},
        {"kind": "q", "jet_pt": 733.25},
    ]
    assert read_table(path, key="/background").n.tolist() == [3, 4, 5]


def test_pandas_hdf5_categorical_and_missing_strings(tmp_path: Path) -> None:
    path = tmp_path / "categorical.h5"
    frame = pd.DataFrame(
        {"x": [1.0, 2.0, 3.0], "c": pd.Categorical(["top", "qcd", "top"]), "s": ["u", None, "w"]}
    )
    frame.to_hdf(path, key="jets", format="table")
    table = read_table(path)  # the categories under jets/meta are not a second table
    assert table.c.tolist() == ["top", "qcd", "top"]
    assert table.s.tolist() == ["u", None, "w"]


def test_pandas_hdf5_never_runs_pickled_code(tmp_path: Path) -> None:
    """pd.read_hdf would run this payload; hepdl refuses it with a DataError."""
    path = tmp_path / "evil.h5"
    flat_frame().to_hdf(path, key="jets", format="table")
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):  # type: ignore[no-untyped-def]
            return (os.mkdir, (str(marker),))

    with h5py.File(path, "r+") as f:
        table = f["jets/table"]
        table.attrs["values_block_0_kind"] = np.bytes_(pickle.dumps(Payload(), protocol=0))
    with pytest.raises(
        DataError, match=r"evil\.h5: .*pickle naming Python code.*(posix|nt)\.mkdir"
    ):
        read_table(path)
    assert not marker.exists()


# ---------------------------------------------------------------- real ROOT files


@needs_real_files
def test_root_hzz_flat_and_jagged_branches() -> None:
    table = read_table(HZZ, columns=["NMuon", "Muon_Px", "MET_px"])
    assert len(table) == 2421
    assert str(table.type) == "2421 * {NMuon: int32, Muon_Px: var * float32, MET_px: float32}"
    assert np.array_equal(ak.to_numpy(ak.num(table.Muon_Px)), ak.to_numpy(table.NMuon))
    direct = uproot.open(HZZ)["events"]["Muon_Px"].array(library="ak")
    assert ak.all(table.Muon_Px == direct)


@needs_real_files
def test_root_zmumu_reads_every_branch_including_strings() -> None:
    table = read_table(ZMUMU)
    assert len(table) == 2304
    assert table.fields[:3] == ["Type", "Run", "Event"]
    assert set(table.Type.tolist()) <= {"GG", "GT", "TT", "TG"}
    assert np.allclose(ak.to_numpy(table.M[:3]), [82.4626915551, 83.6262040052, 83.3084646667])


@needs_real_files
def test_root_nanoaod_named_tree_and_jagged_jets() -> None:
    table = read_table(NANOAOD, tree="Events", columns=["nJet", "Jet_pt", "Jet_eta", "MET_pt"])
    assert len(table) == 200
    assert np.array_equal(ak.to_numpy(ak.num(table.Jet_pt)), ak.to_numpy(table.nJet))
    assert str(table.Jet_pt.type.content) == "var * float32"


@needs_real_files
def test_root_missing_branch_suggests_closest() -> None:
    with pytest.raises(DataError) as info:
        read_table(NANOAOD, columns=["Jet_ptt", "MET_pt"])
    message = str(info.value)
    assert "nanoAOD_2015_CMS_Open_Data_ttbar.root (tree 'Events')" in message
    assert "branch 'Jet_ptt' (did you mean 'Jet_pt'?) is not in the file" in message
    assert "(947 in all)" in message


@needs_real_files
def test_root_unknown_tree_lists_trees() -> None:
    with pytest.raises(DataError, match=r"uproot-HZZ\.root: no TTree named 'Events'.*events"):
        read_table(HZZ, tree="Events")


def test_root_several_trees_need_a_name(tmp_path: Path) -> None:
    path = tmp_path / "two.root"
    with uproot.recreate(path) as f:
        f.mktree("signal", {"x": np.float64}).extend({"x": np.arange(3.0)})
        f.mktree("background", {"x": np.float64}).extend({"x": np.arange(4.0)})
    with pytest.raises(DataError, match=r"two\.root: holds 2 TTrees \(background, signal\)"):
        read_table(path)
    assert read_table(path, tree="background").x.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_root_tree_with_zero_entries(tmp_path: Path) -> None:
    path = tmp_path / "empty_tree.root"
    with uproot.recreate(path) as f:
        f.mktree("events", {"x": np.float64})
    with pytest.raises(DataError, match=r"empty_tree\.root \(tree 'events'\): .*0 entries"):
        read_table(path)


def test_root_rntuple_written_by_uproot(tmp_path: Path) -> None:
    path = tmp_path / "rntuple.root"
    with uproot.recreate(path) as f:  # uproot >= 5.7 writes an RNTuple here
        f["jets"] = {"jet_pt": np.array([1.0, 2.0]), "part_px": ak.Array([[1.0], [2.0, 3.0]])}
    table = read_table(path, columns=["part_px", "jet_pt"])
    assert table.tolist() == [
        {"part_px": [1.0], "jet_pt": 1.0},
        {"part_px": [2.0, 3.0], "jet_pt": 2.0},
    ]


# ---------------------------------------------------------------- bad input


def test_missing_file_names_it_and_suggests_a_sibling(tmp_path: Path) -> None:
    ak.to_parquet(jets(), tmp_path / "jets.parquet")
    with pytest.raises(DataError, match=r"jest\.parquet: file not found; did you mean .*jets"):
        read_table(tmp_path / "jest.parquet")


def test_truncated_parquet(tmp_path: Path) -> None:
    whole = tmp_path / "whole.parquet"
    ak.to_parquet(jets(), whole)
    cut = tmp_path / "cut.parquet"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as info:
        read_table(cut)
    message = str(info.value)
    assert message.startswith(f"{cut}: cannot read as Parquet")
    assert "truncated" in message
    assert isinstance(info.value.__cause__, pa.ArrowException)


def test_non_parquet_file_with_parquet_extension(tmp_path: Path) -> None:
    path = tmp_path / "notes.parquet"
    path.write_text("jet_pt,jet_eta\n1,2\n")
    with pytest.raises(DataError, match=r"notes\.parquet: cannot read as Parquet.*not Parquet"):
        read_table(path)


@pytest.mark.parametrize("name", ["empty.parquet", "empty.csv", "empty.h5", "empty.root"])
def test_empty_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.touch()
    with pytest.raises(DataError, match=rf"{name}: file is empty \(0 bytes\)"):
        read_table(path)


def test_zero_row_parquet(tmp_path: Path) -> None:
    path = tmp_path / "norows.parquet"
    pq.write_table(pa.table({"jet_pt": pa.array([], pa.float64())}), path)
    with pytest.raises(DataError, match=r"norows\.parquet: the table has 0 rows"):
        read_table(path)


def test_zero_row_csv_and_hdf5(tmp_path: Path) -> None:
    csv = tmp_path / "header_only.csv"
    csv.write_text("jet_pt,jet_eta\n")
    with pytest.raises(DataError, match=r"header_only\.csv: the table has 0 rows"):
        read_table(csv)
    h5 = tmp_path / "norows.h5"
    with h5py.File(h5, "w") as f:
        f["jet_pt"] = np.zeros(0)
    with pytest.raises(DataError, match=r"norows\.h5: the table has 0 rows"):
        read_table(h5)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".h5"])
def test_missing_column_names_file_column_and_closest(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"jets{suffix}"
    frame = flat_frame()
    if suffix == ".parquet":
        frame.to_parquet(path)
    elif suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_hdf(path, key="jets", format="table")
    with pytest.raises(DataError) as info:
        read_table(path, columns=["jet_pt", "jet_etta"])
    message = str(info.value)
    assert message.startswith(f"{path}: column 'jet_etta' (did you mean 'jet_eta'?)")
    assert "available columns: jet_pt, jet_eta, n, kind" in message


def test_unknown_extension_and_format(tmp_path: Path) -> None:
    path = tmp_path / "jets.txt"
    path.write_text("1,2\n")
    with pytest.raises(DataError, match=r"jets\.txt: unknown file extension '\.txt'.*fmt="):
        read_table(path)
    with pytest.raises(DataError, match=r"jets\.txt: unknown format fmt='parket'.*'parquet'"):
        read_table(path, fmt="parket")


def test_corrupt_root_and_hdf5(tmp_path: Path) -> None:
    root = tmp_path / "fake.root"
    root.write_bytes(b"this is not a ROOT file" * 10)
    with pytest.raises(DataError, match=r"fake\.root: cannot open as ROOT"):
        read_table(root)
    h5 = tmp_path / "fake.h5"
    h5.write_bytes(b"this is not HDF5" * 10)
    with pytest.raises(DataError, match=r"fake\.h5: cannot open as HDF5"):
        read_table(h5)


def test_options_for_the_wrong_format(tmp_path: Path) -> None:
    path = tmp_path / "jets.parquet"
    ak.to_parquet(jets(), path)
    with pytest.raises(DataError, match=r"jets\.parquet: tree='events' applies to ROOT files"):
        read_table(path, tree="events")
    with pytest.raises(DataError, match=r"jets\.parquet: key='x' applies to HDF5 files"):
        read_table(path, key="x")
