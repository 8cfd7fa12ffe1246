"""Integer labels of any values, the class cap (data.max_classes) and the signal class."""

from __future__ import annotations

import logging

import awkward as ak
import numpy as np
import pytest

from hepdl.config import config_from_dict
from hepdl.data import labels_from_column
from hepdl.data.labels import signal_class_index
from hepdl.errors import ConfigError, DataError
from hepdl.tasks.classify import classification_summary_rows


def test_event_ids_are_refused_naming_the_column_and_its_distinct_values() -> None:
    ids = np.int64(10**17) + np.arange(500, dtype=np.int64)  # never 1e17 class names
    table = ak.Array({"event_id": ids})
    with pytest.raises(DataError) as info:
        labels_from_column(table, "event_id", source="events.csv")
    message = str(info.value)
    assert message.startswith(
        "events.csv: label column 'event_id' has 500 distinct values (e.g. 100000000000000000, "
    )
    assert "looks like an identifier" in message
    assert "at most data.max_classes = 100 classes" in message


def test_distinct_values_are_mapped_to_classes() -> None:
    values = np.array([22, -11, 11, 22, 10**17])
    labels, names = labels_from_column(ak.Array({"pid": values}), "pid", source="p.csv")
    assert names == ["-11", "11", "22", str(10**17)]
    # each row's class is the index of its value among the sorted distinct values
    assert labels.tolist() == [names.index(str(v)) for v in values.tolist()]


def test_small_indices_keep_their_meaning_and_the_cap_is_configurable() -> None:
    table = ak.Array({"label": np.array([0, 5, 5])})
    assert labels_from_column(table, "label", source="t")[1] == [str(i) for i in range(6)]
    labels, names = labels_from_column(table, "label", source="t", max_classes=5)
    assert (labels.tolist(), names) == ([0, 1, 1], ["0", "5"])
    with pytest.raises(DataError, match=r"has 2 distinct values .* data\.max_classes = 1 classes"):
        labels_from_column(table, "label", source="t", max_classes=1)


def test_string_labels_over_the_cap_are_refused() -> None:
    table = ak.Array({"name": [f"jet{i}" for i in range(12)]})
    with pytest.raises(DataError, match=r"label column 'name' has 12 distinct values"):
        labels_from_column(table, "name", source="t.csv", max_classes=10)


def test_integer_class_names_match_by_value_across_files() -> None:
    """A second file is labelled with the first file's mapped classes."""
    first, names = labels_from_column(ak.Array({"y": np.array([-1, 1])}), "y", source="a")
    second, same = labels_from_column(
        ak.Array({"y": np.array([1, 1, -1])}), "y", source="b", classes=names
    )
    assert (names, same) == (["-1", "1"], ["-1", "1"])
    assert (first.tolist(), second.tolist()) == ([0, 1], [1, 1, 0])
    with pytest.raises(DataError, match=r"b: label column 'y' has values outside .*: 3 \(1 row\)"):
        labels_from_column(ak.Array({"y": np.array([3, 1])}), "y", source="b", classes=names)


def test_max_classes_in_the_config() -> None:
    data = {"files": ["x.csv"], "max_classes": 500, "label_column": 2100}
    config = config_from_dict({"data": data})
    assert (config.data.max_classes, config.data.label_column) == (500, "2100")
    with pytest.raises(ConfigError, match=r"data\.max_classes"):
        config_from_dict({"data": {"files": ["x.csv"], "max_classes": 1}})


def test_yaml_number_where_a_name_is_expected_gets_a_hint_to_quote_it() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict({"data": {"files": ["x.csv"], "column_names": ["a", 7]}})
    assert str(info.value) == (
        "config: config key 'data.column_names.1': Input should be a valid string (got 7); "
        "YAML reads 7 as a number: quote it, '7', to give the name"
    )


def test_default_signal_class_is_announced(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="hepdl.data.labels"):
        assert signal_class_index(["g", "h"], None) == 1
    assert caplog.messages == [
        "data.signal_class not given: 'h' (the last of the classes 'g', 'h') is the signal "
        "class; set data.signal_class to choose another"
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="hepdl.data.labels"):
        assert signal_class_index(["g", "h"], "g") == 0
    assert caplog.messages == []
    with pytest.raises(DataError, match=r"data\.signal_class 'G' is not one of the classes 'g'"):
        signal_class_index(["g", "h"], "G")


def test_summary_table_names_the_signal_class() -> None:
    metrics = {"signal_class": "g", "n_signal": 75, "n_background": 45, "auc": 0.8}
    metrics.update(accuracy=0.7, max_sic=1.5)
    title, _ = classification_summary_rows(metrics)
    assert title == "test set (75 signal 'g', 45 background jets)"
