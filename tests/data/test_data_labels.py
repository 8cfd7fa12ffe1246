"""Labels from a column or from one file per class, and the two-class requirement."""

from __future__ import annotations

import json
from pathlib import Path

import awkward as ak
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from tests.real_files import HZZ, ZMUMU

from hepdl.data import (
    labels_from_column,
    labels_from_files,
    read_table,
    require_classes,
)
from hepdl.errors import DataError


def write(path: Path, columns: dict, *, class_names: list[str] | None = None) -> Path:
    table = pa.table(columns)
    if class_names is not None:
        table = table.replace_schema_metadata({"hepdl": json.dumps({"class_names": class_names})})
    pq.write_table(table, path)
    return path


def test_integer_labels_index_declared_classes() -> None:
    table = ak.Array({"label": np.array([0, 1, 1, 0, 2])})
    labels, names = labels_from_column(table, "label", classes=["q", "g", "t"], source="t.pq")
    assert labels.dtype == np.int64
    assert labels.tolist() == [0, 1, 1, 0, 2]
    assert names == ["q", "g", "t"]


def test_integer_labels_take_class_names_from_file_metadata(tmp_path: Path) -> None:
    path = write(tmp_path / "jets.parquet", {"label": [1, 0, 1]}, class_names=["QCD", "Tbqq"])
    table = read_table(path)
    labels, names = labels_from_column(table, "label", source=str(path))
    assert labels.tolist() == [1, 0, 1]
    assert names == ["QCD", "Tbqq"]
    # explicit metadata wins over the file's, explicit classes over both
    assert labels_from_column(table, "label", source="x", metadata={"class_names": ["a", "b"]})[
        1
    ] == ["a", "b"]
    assert labels_from_column(table, "label", source=str(path), classes=["b", "s"])[1] == [
        "b",
        "s",
    ]


def test_integer_labels_without_declared_classes_keep_their_meaning() -> None:
    table = ak.Array({"label": np.array([2, 1, 2])})
    labels, names = labels_from_column(table, "label", source="mem")
    assert labels.tolist() == [2, 1, 2]
    assert names == ["0", "1", "2"]


def test_integral_floats_and_booleans_are_integer_labels() -> None:
    table = ak.Array({"f": np.array([0.0, 1.0]), "b": np.array([True, False])})
    assert labels_from_column(table, "f", source="m", classes=["b", "s"])[0].tolist() == [0, 1]
    assert labels_from_column(table, "b", source="m")[0].tolist() == [1, 0]


def test_non_integral_float_labels(tmp_path: Path) -> None:
    table = ak.Array({"label": np.array([0.0, 0.5])})
    with pytest.raises(DataError, match=r"f\.csv: label column 'label' holds non-integer.*row 1"):
        labels_from_column(table, "label", source="f.csv")


def test_string_labels_map_via_classes() -> None:
    table = ak.Array({"kind": ["top", "qcd", "top"]})
    labels, names = labels_from_column(table, "kind", classes=["qcd", "top"], source="s.csv")
    assert labels.tolist() == [1, 0, 1]
    assert names == ["qcd", "top"]
    labels, names = labels_from_column(table, "kind", source="s.csv")  # sorted distinct
    assert (labels.tolist(), names) == ([1, 0, 1], ["qcd", "top"])


def test_labels_outside_declared_classes_name_everything(tmp_path: Path) -> None:
    table = ak.Array({"label": np.array([0, 1, 3, 5, 3])})
    with pytest.raises(DataError) as info:
        labels_from_column(table, "label", classes=["q", "g", "t"], source="jets.parquet")
    message = str(info.value)
    assert message.startswith("jets.parquet: label column 'label' has values outside")
    assert "3, 5 (3 rows)" in message
    assert "declared classes 'q', 'g', 't'" in message
    strings = ak.Array({"kind": ["top", "W", "qcd"]})
    with pytest.raises(DataError, match=r"s\.h5: label column 'kind' .* 'W' \(1 row\).*'qcd'"):
        labels_from_column(strings, "kind", classes=["qcd", "top"], source="s.h5")


def test_label_column_missing_or_jagged() -> None:
    table = ak.Array({"labels": [1, 0], "part_px": [[1.0], []]})
    with pytest.raises(DataError, match=r"f\.pq: column 'label' \(did you mean 'labels'\?\)"):
        labels_from_column(table, "label", source="f.pq")
    with pytest.raises(DataError, match=r"f\.pq: label column 'part_px' has type var \* float64"):
        labels_from_column(table, "part_px", source="f.pq")


def test_missing_label_values() -> None:
    table = ak.Array({"label": [1, None, 0]})
    with pytest.raises(DataError, match=r"m\.pq: label column 'label' has 1 missing .* row 1"):
        labels_from_column(table, "label", source="m.pq")


def test_string_labels_of_real_zmumu_file() -> None:
    table = read_table(ZMUMU, columns=["Type", "M"])
    labels, names = labels_from_column(table, "Type", source=str(ZMUMU))
    assert names == sorted(set(table.Type.tolist()))
    assert [names[i] for i in labels[:3]] == table.Type[:3].tolist()


def test_labels_from_files_in_mapping_order(tmp_path: Path) -> None:
    qcd = write(tmp_path / "qcd.parquet", {"jet_pt": [1.0, 2.0, 3.0], "extra": [0, 0, 0]})
    top_a = write(tmp_path / "top_a.parquet", {"jet_pt": [10.0]})
    top_b = write(tmp_path / "top_b.parquet", {"jet_pt": [20.0, 30.0]})
    table, labels, names = labels_from_files(
        {"top": [top_a, top_b], "qcd": qcd}, columns=["jet_pt"]
    )
    assert names == ["top", "qcd"]
    assert labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert table.jet_pt.tolist() == [10.0, 20.0, 30.0, 1.0, 2.0, 3.0]
    # without columns: the first file's columns, extra columns of later files dropped
    table, labels, _ = labels_from_files({"top": top_a, "qcd": qcd})
    assert table.fields == ["jet_pt"]
    assert len(table) == 4


def test_labels_from_files_real_root_against_parquet(tmp_path: Path) -> None:
    """HZZ events (ROOT) as signal, a Parquet file with the same columns as background."""
    hzz = read_table(HZZ, columns=["NMuon", "MET_px"])
    background = write(
        tmp_path / "background.parquet",
        {"NMuon": np.array([0, 1], dtype=np.int32), "MET_px": np.array([5.0, 6.0], np.float32)},
    )
    table, labels, names = labels_from_files(
        {"HZZ": HZZ, "other": background}, columns=["NMuon", "MET_px"]
    )
    assert names == ["HZZ", "other"]
    assert len(table) == len(hzz) + 2 == 2423
    assert np.bincount(labels).tolist() == [2421, 2]
    assert table.NMuon[-2:].tolist() == [0, 1]


def test_labels_from_files_hzz_vs_zmumu_lack_common_columns() -> None:
    with pytest.raises(DataError) as info:
        labels_from_files({"HZZ": HZZ, "Zmumu": ZMUMU})
    message = str(info.value)
    assert message.startswith(f"{ZMUMU} (tree 'events'): branches 'NJet'")
    assert "available branches: Type, Run, Event" in message


def test_labels_from_files_different_types(tmp_path: Path) -> None:
    a = write(tmp_path / "a.parquet", {"x": [1.0, 2.0]})
    b = write(tmp_path / "b.parquet", {"x": ["u", "v"]})
    with pytest.raises(DataError, match=r"column 'x' has different types.*a\.parquet: float64"):
        labels_from_files({"s": a, "b": b})


def test_one_class_only_names_files_and_class(tmp_path: Path) -> None:
    a = write(tmp_path / "sig.parquet", {"x": [1.0, 2.0]})
    with pytest.raises(DataError) as info:
        labels_from_files({"signal": [a]})
    message = str(info.value)
    assert message.startswith(f"{a}: only one class is present: 'signal' (2 rows)")
    assert "expected at least 2 classes" in message
    _, labels, _ = labels_from_files({"signal": [a]}, minimum_classes=1)
    assert labels.tolist() == [0, 0]


def test_require_classes() -> None:
    require_classes(np.array([0, 1, 0]), ["b", "s"], source="f.parquet")
    with pytest.raises(DataError, match=r"f\.parquet: only one class is present: 's' \(3 rows\)"):
        require_classes(np.array([1, 1, 1]), ["b", "s"], source="f.parquet")
    with pytest.raises(DataError, match=r"a\.pq, b\.pq: only 2 classes are present.*at least 3"):
        require_classes(np.array([0, 2]), ["x", "y", "z"], source=["a.pq", "b.pq"], minimum=3)
