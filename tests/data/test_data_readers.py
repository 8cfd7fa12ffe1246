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
from tests.real_files import HZZ, NANOAOD, ZMUMU

from hepdl.data import labels_from_column, read_metadata, read_table
from hepdl.data._column_names import JETCLASS_NAMES, JetClass
from hepdl.data.readers import column_names
from hepdl.errors import DataError


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


def test_root_hzz_flat_and_jagged_branches() -> None:
    table = read_table(HZZ, columns=["NMuon", "Muon_Px", "MET_px"])
    assert len(table) == 2421
    assert str(table.type) == "2421 * {NMuon: int32, Muon_Px: var * float32, MET_px: float32}"
    assert np.array_equal(ak.to_numpy(ak.num(table.Muon_Px)), ak.to_numpy(table.NMuon))
    direct = uproot.open(HZZ)["events"]["Muon_Px"].array(library="ak")
    assert ak.all(table.Muon_Px == direct)


def test_root_zmumu_reads_every_branch_including_strings() -> None:
    table = read_table(ZMUMU)
    assert len(table) == 2304
    assert table.fields[:3] == ["Type", "Run", "Event"]
    assert set(table.Type.tolist()) <= {"GG", "GT", "TT", "TG"}
    assert np.allclose(ak.to_numpy(table.M[:3]), [82.4626915551, 83.6262040052, 83.3084646667])


def test_root_nanoaod_named_tree_and_jagged_jets() -> None:
    table = read_table(NANOAOD, tree="Events", columns=["nJet", "Jet_pt", "Jet_eta", "MET_pt"])
    assert len(table) == 200
    assert np.array_equal(ak.to_numpy(ak.num(table.Jet_pt)), ak.to_numpy(table.nJet))
    assert str(table.Jet_pt.type.content) == "var * float32"


def test_root_missing_branch_suggests_closest() -> None:
    with pytest.raises(DataError) as info:
        read_table(NANOAOD, columns=["Jet_ptt", "MET_pt"])
    message = str(info.value)
    assert "nanoAOD_2015_CMS_Open_Data_ttbar.root (tree 'Events')" in message
    assert "branch 'Jet_ptt' (did you mean 'Jet_pt'?) is not in the file" in message
    assert "(947 in all)" in message


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
    # the message names the config key a user sets, data.format, not the argument fmt=
    with pytest.raises(
        DataError, match=r"jets\.txt: unknown file extension '\.txt'.*set data\.format to one of"
    ):
        read_table(path)
    with pytest.raises(DataError, match=r"jets\.txt: unknown data\.format 'parket'.*'parquet'"):
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


# ---------------------------------------------------------------- column names: mapping


def write_frame(frame: pd.DataFrame, path: Path) -> None:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".h5":
        frame.to_hdf(path, key="jets", format="table")
    else:  # plain h5py layout: one dataset per numeric column
        with h5py.File(path, "w") as f:
            for column in frame.select_dtypes("number"):
                f[column] = frame[column].to_numpy()


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".h5", ".hdf5"])
def test_mapping_renames_in_mapping_order(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"jets{suffix}"
    frame = flat_frame()
    write_frame(frame, path)
    table = read_table(path, columns={"label": "n", "jet_pt": "jet_pt", "jet_eta2": "jet_eta"})
    assert table.fields == ["label", "jet_pt", "jet_eta2"]
    assert table.label.tolist() == frame["n"].tolist()
    assert table.jet_pt.tolist() == frame["jet_pt"].tolist()
    assert table.jet_eta2.tolist() == frame["jet_eta"].tolist()


def test_mapping_one_source_to_two_names(tmp_path: Path) -> None:
    path = tmp_path / "jets.parquet"
    flat_frame().to_parquet(path)
    table = read_table(path, columns={"a": "jet_pt", "b": "jet_pt"})
    assert table.a.tolist() == table.b.tolist() == flat_frame()["jet_pt"].tolist()


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".h5", ".hdf5", ".root"])
def test_mapping_unknown_source_names_file_column_and_closest(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"jets{suffix}"
    if suffix == ".root":
        with uproot.recreate(path) as f:
            f.mktree("events", {"jet_pt": np.float64, "jet_eta": np.float64}).extend(
                {"jet_pt": np.arange(3.0), "jet_eta": np.zeros(3)}
            )
    else:
        write_frame(flat_frame(), path)
    with pytest.raises(DataError) as info:
        read_table(path, columns={"jet_pt": "jet_pt", "jet_eta": "jet_etta"})
    message = str(info.value)
    assert message.startswith(
        f"{path}: columns maps 'jet_eta' to 'jet_etta', which is not a column of the file "
        f"(did you mean 'jet_eta'?); available columns: "
    )
    assert {"jet_pt", "jet_eta"} <= set(message.rsplit(": ", 1)[1].split(", "))


def test_mapping_bad_entries_and_conflicts(tmp_path: Path) -> None:
    path = tmp_path / "jets.parquet"
    flat_frame().to_parquet(path)
    with pytest.raises(DataError, match=r"jets\.parquet: columns=\{\} maps no columns"):
        read_table(path, columns={})
    with pytest.raises(DataError, match=r"columns maps 'jet_pt' to 3; expected new name ->"):
        read_table(path, columns={"jet_pt": 3})
    with pytest.raises(DataError, match=r"columns=\{\.\.\.\} \(a mapping\) and preset='jetclass'"):
        read_table(path, columns={"jet_pt": "jet_pt"}, preset="jetclass")
    with pytest.raises(DataError, match=r"unknown preset='jetclas' \(did you mean 'jetclass'\?\)"):
        read_table(path, preset="jetclas")


def test_mapping_on_nanoaod_fat_jets_keeps_the_source_values() -> None:
    mapping = {"jet_pt": "FatJet_pt", "jet_eta": "FatJet_eta", "jet_mass": "FatJet_mass"}
    table = read_table(NANOAOD, columns=mapping)
    assert table.fields == list(mapping)
    events = uproot.open(NANOAOD)["Events"]
    for new, old in mapping.items():
        direct = events[old].array(library="ak")
        assert ak.all(ak.num(table[new]) == ak.num(direct))
        assert ak.all(ak.flatten(table[new]) == ak.flatten(direct))
    assert len(table) == 200 and ak.sum(ak.num(table.jet_pt)) > 0


def test_mapping_on_hzz_jets_and_zmumu_muons() -> None:
    table = read_table(HZZ, columns={"part_px": "Jet_Px", "part_energy": "Jet_E", "n": "NJet"})
    events = uproot.open(HZZ)["events"]
    assert ak.all(table.part_px == events["Jet_Px"].array(library="ak"))
    assert ak.all(table.part_energy == events["Jet_E"].array(library="ak"))
    assert np.array_equal(ak.to_numpy(ak.num(table.part_px)), ak.to_numpy(table.n))
    muons = read_table(ZMUMU, columns={"jet_mass": "M", "jet_pt": "pt1"})
    direct = uproot.open(ZMUMU)["events"].arrays(["M", "pt1"], library="np")
    assert np.array_equal(ak.to_numpy(muons.jet_mass), direct["M"])
    assert np.array_equal(ak.to_numpy(muons.jet_pt), direct["pt1"])


def test_real_files_match_no_preset_and_list_their_columns() -> None:
    assert column_names(HZZ)[:3] == ["NJet", "Jet_Px", "Jet_Py"]
    assert len(column_names(NANOAOD)) == 947
    assert read_table(ZMUMU).fields == column_names(ZMUMU)  # auto: no layout matched


# ---------------------------------------------------------------- column names: presets


def top_landscape_frame(n: int = 9, slots: int = 4, seed: int = 0) -> pd.DataFrame:
    """The reference dataset's layout: E_i, PX_i, PY_i, PZ_i per slot, zero-padded."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(0, slots + 1, n)
    counts[0] = slots  # one full jet, and (likely) an empty one
    columns: dict[str, np.ndarray] = {}
    for i in range(slots):
        for prefix in ("E", "PX", "PY", "PZ"):
            values = rng.uniform(1.0, 50.0, n) * (1 if prefix == "E" else rng.choice([-1, 1], n))
            columns[f"{prefix}_{i}"] = np.where(i < counts, values, 0.0).astype(np.float32)
    for name in ("truthE", "truthPX", "truthPY", "truthPZ"):
        columns[name] = rng.normal(size=n)
    columns["ttv"] = np.zeros(n, dtype=np.int64)
    columns["is_signal_new"] = rng.integers(0, 2, n)
    return pd.DataFrame(columns)


@pytest.mark.parametrize("layout", ["fixed", "table"])
def test_top_landscape_is_detected_and_equals_the_padded_source(
    tmp_path: Path, layout: str
) -> None:
    frame = top_landscape_frame()
    path = tmp_path / "train.h5"
    frame.to_hdf(path, key="table", format=layout)
    table = read_table(path)
    mapped = ["part_px", "part_py", "part_pz", "part_energy", "jet_nparticles", "label"]
    assert table.fields[:6] == mapped and set(mapped) <= set(JETCLASS_NAMES)
    assert set(table.fields[6:]) == {"truthE", "truthPX", "truthPY", "truthPZ", "ttv"}
    for row in range(len(frame)):  # naive: walk the slots, keep those with E > 0
        kept = [i for i in range(4) if frame[f"E_{i}"][row] > 0]
        for prefix, name in [("E", "energy"), ("PX", "px"), ("PY", "py"), ("PZ", "pz")]:
            expected = [float(frame[f"{prefix}_{i}"][row]) for i in kept]
            assert table[f"part_{name}"][row].tolist() == expected
        assert table.jet_nparticles[row] == len(kept)
        assert table.label[row] == frame["is_signal_new"][row]
    assert table.truthE.tolist() == frame["truthE"].tolist()
    meta = read_metadata(path)["hepdl"]
    assert meta == {"class_names": ["QCD", "top"], "preset": "top-landscape"}
    labels, names = labels_from_column(table, "label", source=str(path))
    assert names == ["QCD", "top"] and labels.tolist() == frame["is_signal_new"].tolist()


def test_top_landscape_selection_and_own_columns(tmp_path: Path) -> None:
    path = tmp_path / "val.h5"
    top_landscape_frame().to_hdf(path, key="table", format="fixed")
    assert read_table(path, columns=["label", "part_px"]).fields == ["label", "part_px"]
    own = read_table(path, preset=None)
    assert own.fields == column_names(path) and own.fields[:2] == ["E_0", "PX_0"]
    with pytest.raises(DataError) as info:
        read_table(path, columns=["E_0"])
    assert str(info.value).startswith(
        f"{path}: column 'E_0' is not in the table of preset 'top-landscape'; available "
        f"columns: part_px, part_py"
    )
    assert str(info.value).endswith("Pass preset=None to select from the file's own columns")


def test_top_landscape_partial_match_is_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "extra.h5"
    top_landscape_frame().assign(weight=1.5).to_hdf(path, key="table", format="table")
    assert "E_0" in read_table(path).fields  # an unknown column: not the layout exactly
    assert read_metadata(path) == {}
    chosen = read_table(path, preset="top-landscape")  # chosen by name: extras pass through
    assert "part_px" in chosen.fields and chosen.weight.tolist() == [1.5] * 9
    missing = tmp_path / "nolabel.h5"
    top_landscape_frame().drop(columns="is_signal_new").to_hdf(missing, key="table")
    with pytest.raises(DataError) as info:
        read_table(missing, preset="top-landscape")
    message = str(info.value)
    assert message.startswith(f"{missing}: column 'is_signal_new' is not in the file")
    assert "preset='top-landscape' needs E_i, PX_i, PY_i, PZ_i" in message


def write_jetclass(path: Path, hot: list[list[int]]) -> None:
    """A JetClass-layout ROOT file (every branch of the release) with one-hot rows ``hot``."""
    n = len(hot)
    rng = np.random.default_rng(1)
    counts = rng.integers(1, 4, n)
    branches: dict[str, object] = {}
    for name in (*JetClass.PARTICLES, "aux_genpart_eta", "aux_genpart_pt"):
        branches[name] = ak.unflatten(rng.normal(size=int(counts.sum())), counts)
    for name in (*JetClass.JETS, "aux_truth_match"):
        branches[name] = rng.normal(size=n)
    for j, name in enumerate(JetClass.LABELS):
        branches[name] = np.array([float(row[j]) for row in hot])
    with uproot.recreate(path) as f:
        f["tree"] = branches


def test_jetclass_is_detected_and_label_is_the_hot_index(tmp_path: Path) -> None:
    path = tmp_path / "HToBB_120.root"
    rows = [[0, 1, 0, 0, 0, 0, 0, 0, 0, 0], [1] + [0] * 9, [0] * 9 + [1]]
    write_jetclass(path, rows)
    table = read_table(path)
    assert table.label.tolist() == [1, 0, 9]
    raw = read_table(path, preset=None)
    for name in raw.fields:  # the JetClass names pass through unchanged
        assert table[name].tolist() == raw[name].tolist()
    assert set(table.fields) == {*raw.fields, "label"}
    meta = read_metadata(path)["hepdl"]
    assert meta["preset"] == "jetclass"
    names = "QCD Hbb Hcc Hgg H4q Hqql Zqq Wqq Tbqq Tbl".split()
    assert meta["class_names"] == names


def test_jetclass_rejects_a_row_without_exactly_one_label(tmp_path: Path) -> None:
    path = tmp_path / "bad.root"
    write_jetclass(path, [[1] + [0] * 9, [1, 1] + [0] * 8])
    with pytest.raises(DataError, match=r"bad\.root: row 1 has 2 of the one-hot columns label_QCD"):
        read_table(path)


def test_column_names_of_every_format(tmp_path: Path) -> None:
    for suffix in (".parquet", ".csv", ".h5"):
        path = tmp_path / f"jets{suffix}"
        write_frame(flat_frame(), path)
        assert column_names(path) == ["jet_pt", "jet_eta", "n", "kind"]
    plain = tmp_path / "plain.hdf5"
    write_frame(flat_frame(), plain)
    assert column_names(plain) == ["jet_eta", "jet_pt", "n"]  # datasets sorted by name
