"""check_finite names file, columns, row counts and the first bad row."""

from __future__ import annotations

import numpy as np
import pytest

from hepdl.data import check_finite
from hepdl.errors import DataError


def test_finite_input_passes() -> None:
    check_finite(np.ones((4, 2)), feature_names=["a", "b"], source="f.parquet")
    check_finite(np.ones((4, 2), dtype=int), feature_names=["a", "b"], source="f.parquet")


def test_names_columns_rows_and_first_row() -> None:
    x = np.zeros((10, 3), dtype=np.float32)
    x[4, 1] = np.nan
    x[7, 1] = np.inf
    x[2, 2] = -np.inf
    with pytest.raises(DataError) as info:
        check_finite(x, feature_names=["jet_pt", "tau21", "girth"], source="jets.parquet")
    message = str(info.value)
    assert message.startswith("jets.parquet: NaN or inf in feature column(s)")
    assert "'tau21' (2 rows, first at row 4)" in message
    assert "'girth' (1 row, first at row 2)" in message
    assert "'jet_pt'" not in message
    assert "3 of 10 rows affected, the first at row 2" in message


def test_higher_rank_arrays_use_last_axis_as_features() -> None:
    x = np.zeros((5, 4, 2))  # (N, P, F)
    x[3, 2, 0] = np.nan
    with pytest.raises(DataError, match=r"'eta' \(1 row, first at row 3\)"):
        check_finite(x, feature_names=["eta", "phi"], source="cloud.h5")


def test_wrong_number_of_names() -> None:
    with pytest.raises(DataError, match=r"3 feature columns .* 2 feature names"):
        check_finite(np.zeros((2, 3)), feature_names=["a", "b"], source="f")
