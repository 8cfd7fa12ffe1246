"""Values the fuzz suite (tests/fuzz) found accepted or escaping as tracebacks: the
baselines' options typed, infinite numbers, an empty pT window, an over-long name, an
output width a generated sample's classes contradict, a NUL byte, file metadata of the
wrong shape and a truncated ROOT file. One exact message each."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from hepdl.config import config_from_dict
from hepdl.config_yaml import load_yaml
from hepdl.data.readers import read_metadata, read_table
from hepdl.errors import ConfigError, DataError


def _message(raw: dict) -> str:
    with pytest.raises(ConfigError) as err:
        config_from_dict(raw, source="x.yaml")
    return str(err.value)


FILES = {"files": ["jets.parquet"]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"data": FILES, "model": {"name": "bdt", "max_iter": "abc"}},
            "x.yaml: model.max_iter: classical model 'bdt' takes an integer in [1, 65536] "
            "(hepdl.limits.MAX_WIDTH), got 'abc'",
        ),
        (
            {"data": FILES, "model": {"name": "bdt", "max_iter": -1}},
            "x.yaml: model.max_iter: classical model 'bdt' takes an integer in [1, 65536] "
            "(hepdl.limits.MAX_WIDTH), got -1",
        ),
        (
            {"data": FILES, "model": {"name": "svm", "C": 0}},
            "x.yaml: model.C: classical model 'svm' takes a finite number > 0, got 0",
        ),
        (
            {
                "data": FILES,
                "model": {"name": "binned_calibration", "columns": "jet_pt"},
                "task": {"kind": "regress", "targets": ["t"]},
            },
            "x.yaml: model.columns: classical model 'binned_calibration' takes a list, each a "
            "string, got 'jet_pt'",
        ),
        (
            {"data": FILES, "task": {"lr": float("inf")}},
            "x.yaml: config key 'task.lr': Input should be a finite number (got inf)",
        ),
        (
            {"data": {"generate": {"pt_min": 700.0, "pt_max": 650.0}}},
            "x.yaml: data.generate.pt_min (700) must be below data.generate.pt_max (650): no jet "
            "falls in an empty pT window",
        ),
        (
            {
                "data": {
                    "generate": {},
                    "representation": {"name": "point_cloud"},
                    "standardize": False,
                },
                "model": {"name": "pfn", "out_features": 5},
            },
            "x.yaml: model.out_features is 5, but model.output 'sigmoid' on the data's 2 "
            "classes needs 1; remove model.out_features (the task sets it)",
        ),
    ],
)
def test_refused_at_load(raw: dict, message: str) -> None:
    assert _message(raw) == message


def test_a_run_name_longer_than_a_folder_name_can_be() -> None:
    message = _message({"data": FILES, "name": "x" * 201})
    assert message.startswith(
        "x.yaml: config key 'name': expected a run name of at most 200 characters (the run "
        "folder <name>-<time> must fit a file name), got 201 characters (got 'xxx"
    )
    assert len(message) < 400  # the value itself is cut short


def test_out_features_of_a_file_with_unknown_classes_waits_for_the_data() -> None:
    # The classes of a file are known only when it is read: the check runs then.
    data = {**FILES, "representation": {"name": "point_cloud"}, "standardize": False}
    config_from_dict({"data": data, "model": {"name": "pfn", "out_features": 2}})


def test_a_nul_byte_in_a_config_is_named() -> None:
    with pytest.raises(ConfigError) as err:
        load_yaml("name: a\x00b\n", source="x.yaml")
    assert str(err.value) == (
        "x.yaml: not valid YAML: unacceptable character #x0000: special characters are not "
        "allowed position 7"
    )


@pytest.mark.parametrize(
    ("hepdl", "message"),
    [
        ([1], "metadata key 'hepdl' holds a JSON list; expected the object hepdl writes"),
        ({"class_names": 5}, "metadata 'hepdl.class_names' is 5; expected a list of distinct"),
        ({"class_names": ["a", "a"]}, "metadata 'hepdl.class_names' is ['a', 'a']; expected"),
    ],
)
def test_file_metadata_of_the_wrong_shape_is_refused(tmp_path: Path, hepdl, message) -> None:
    path = tmp_path / "m.parquet"
    table = pa.table({"x": [1.0], "label": [0]})
    pq.write_table(table.replace_schema_metadata({b"hepdl": json.dumps(hepdl).encode()}), path)
    with pytest.raises(DataError) as err:
        read_metadata(path)
    assert str(err.value).startswith(f"{path}: {message}")


def test_a_truncated_root_file_is_one_error(tmp_path: Path) -> None:
    uproot = pytest.importorskip("uproot")
    whole = tmp_path / "whole.root"
    with uproot.recreate(whole) as rootfile:
        rootfile["events"] = {"x": np.arange(200.0), "label": np.arange(200) % 2}
    cut = tmp_path / "cut.root"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DataError) as err:
        read_table(cut)
    assert str(err.value).startswith(f"{cut}: cannot read as ROOT (OSError: ")
    assert str(err.value).endswith("; the file may be truncated or corrupt")
    assert len(read_table(whole)) == 200
