"""Standardizer against scikit-learn's StandardScaler, constant features, persistence."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from hepdl.data import Standardizer
from hepdl.errors import DataError

NAMES = ["jet_pt", "jet_mass", "tau21"]


def sample() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.normal([500.0, 80.0, 0.5], [100.0, 20.0, 0.1], size=(200, 3))  # (N, F)


def test_matches_sklearn_population_std() -> None:
    x = sample()
    ours = Standardizer().fit(x, feature_names=NAMES)
    ref = StandardScaler().fit(x)
    assert np.allclose(ours.mean, ref.mean_)
    assert np.allclose(ours.std, ref.scale_)
    assert np.allclose(ours.transform(x), ref.transform(x))
    assert np.allclose(ours.inverse_transform(ours.transform(x)), x)


def test_float32_stays_float32() -> None:
    x = sample().astype(np.float32)
    scaler = Standardizer().fit(x, feature_names=NAMES)
    assert scaler.transform(x).dtype == np.float32
    assert scaler.inverse_transform(scaler.transform(x)).dtype == np.float32


def test_constant_feature_keeps_std_one() -> None:
    x = sample()
    x[:, 1] = 91.2
    scaler = Standardizer().fit(x, feature_names=NAMES)
    assert scaler.std[1] == 1.0
    assert np.allclose(scaler.transform(x)[:, 1], 0.0)
    assert np.allclose(scaler.transform(x), StandardScaler().fit(x).transform(x))


def test_to_dict_is_json_safe_and_round_trips() -> None:
    x = sample()
    scaler = Standardizer().fit(x, feature_names=NAMES)
    data = json.loads(json.dumps(scaler.to_dict()))
    assert data["feature_names"] == NAMES
    again = Standardizer.from_dict(data)
    assert np.array_equal(again.transform(x), scaler.transform(x))


def test_mistakes() -> None:
    x = sample()
    with pytest.raises(RuntimeError, match="not fitted"):
        Standardizer().transform(x)
    scaler = Standardizer().fit(x, feature_names=NAMES)
    with pytest.raises(DataError, match=r"shape \(200, 2\); expected \(N, 3\)"):
        scaler.transform(x[:, :2])
    with pytest.raises(DataError, match=r"differ from those the Standardizer was fitted on"):
        scaler.transform(x, feature_names=["jet_pt", "tau21", "jet_mass"])
    with pytest.raises(DataError, match=r"3 feature names but mean has shape \(2,\)"):
        Standardizer.from_dict({"feature_names": NAMES, "mean": [0, 0], "std": [1, 1, 1]})
    bad = x.copy()
    bad[7, 2] = np.nan
    with pytest.raises(DataError, match=r"train\.parquet: NaN or inf .* 'tau21' \(1 row, first"):
        Standardizer().fit(bad, feature_names=NAMES, source="train.parquet")
