"""The BDT's own ONNX converter (``hepdl.deploy.hgb_onnx``) against scikit-learn.

Fitted HistGradientBoosting classifiers (binary, 3 classes) and regressors on rows with
missing values, compared with ``predict_proba`` / ``predict`` on random rows, rows with
NaNs and rows on, just below and just above every split threshold (one float64 ulp),
where a float32 threshold would send a row the other way.
"""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.multioutput import MultiOutputRegressor

from hepdl.deploy.hgb_onnx import hgb_to_onnx, is_hist_gradient_boosting
from hepdl.deploy.onnx_export import onnx_session
from hepdl.errors import ExportError

TOLERANCE = 1e-5


def _rows(n: int, *, seed: int, missing: float = 0.1) -> np.ndarray:
    """(n, 3) float64 rows, a ``missing`` fraction of the values NaN."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    x[rng.random(x.shape) < missing] = np.nan
    return x


def _labels(x: np.ndarray, classes: int, *, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    score = np.nan_to_num(x[:, 0], nan=1.5) - np.nan_to_num(x[:, 1], nan=-1.0)
    edges = np.quantile(score, np.linspace(0, 1, classes + 1)[1:-1])
    return np.digitize(score + 0.3 * rng.normal(size=len(x)), edges)


def _near_thresholds(estimator: object, base: np.ndarray) -> np.ndarray:
    """For each split of every tree, copies of rows ``base`` with the split's feature on,
    one ulp below and one ulp above the float64 threshold: (3 * splits * len(base), F)."""
    out = []
    members = getattr(estimator, "estimators_", [estimator])  # one per target, or itself
    for stage in (stage for member in members for stage in member._predictors):
        for tree in stage:
            for node in tree.nodes[~tree.nodes["is_leaf"].astype(bool)]:
                t = float(node["num_threshold"])
                for value in (t, np.nextafter(t, -np.inf), np.nextafter(t, np.inf)):
                    rows = base.copy()
                    rows[:, int(node["feature_idx"])] = value
                    out.append(rows)
    return np.concatenate(out)


def _onnx(estimator: object, x: np.ndarray) -> np.ndarray:
    model = hgb_to_onnx(estimator, "bdt", width=x.shape[1], opset=17)
    return np.asarray(onnx_session(model.SerializeToString()).run(None, {"X": x})[0])


def _check(estimator: object, reference: object) -> dict[str, float]:
    base = _rows(4, seed=9, missing=0.3)
    inputs = {
        "random": _rows(500, seed=7, missing=0.0),
        "missing": _rows(500, seed=8, missing=0.4),
        "thresholds": _near_thresholds(estimator, base),
    }
    differences = {}
    for name, x in inputs.items():
        got, expected = _onnx(estimator, x), reference(x)
        assert got.dtype == np.float64 and got.shape == expected.shape, name
        differences[name] = float(np.max(np.abs(got - expected)))
    print(differences)
    assert max(differences.values()) <= TOLERANCE, differences
    return differences


@pytest.mark.parametrize("classes", [2, 3])
def test_a_classifier_matches_predict_proba(classes: int) -> None:
    x = _rows(600, seed=1)
    bdt = HistGradientBoostingClassifier(max_iter=15, max_leaf_nodes=8, random_state=0)
    bdt.fit(x, _labels(x, classes, seed=2))
    assert any(t.nodes["missing_go_to_left"].any() for s in bdt._predictors for t in s)
    assert any(not t.nodes["missing_go_to_left"].all() for s in bdt._predictors for t in s)
    _check(bdt, bdt.predict_proba)


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error"])
def test_a_regressor_matches_predict(loss: str) -> None:
    x = _rows(600, seed=3)
    y = np.nan_to_num(x[:, 0], nan=2.0) * 3.0 + np.random.default_rng(4).normal(size=600)
    bdt = HistGradientBoostingRegressor(loss=loss, max_iter=15, random_state=0).fit(x, y)
    _check(bdt, lambda rows: bdt.predict(rows)[:, None])


def test_one_regressor_per_target_gives_one_column_each() -> None:
    x = _rows(400, seed=5)
    y = np.stack([np.nan_to_num(x[:, 0]), np.nan_to_num(x[:, 2]) ** 2], axis=1)  # (N, 2)
    bdt = MultiOutputRegressor(HistGradientBoostingRegressor(max_iter=10)).fit(x, y)
    assert is_hist_gradient_boosting(bdt)
    _check(bdt, bdt.predict)


def test_a_single_leaf_tree_is_its_leaf_value_plus_the_baseline() -> None:
    """Rows too few to split (min_samples_leaf): every tree is one leaf."""
    x = _rows(30, seed=6, missing=0.0)
    bdt = HistGradientBoostingClassifier(max_iter=3, min_samples_leaf=20).fit(x, np.arange(30) % 2)
    assert all(len(t.nodes) == 1 for s in bdt._predictors for t in s)
    raw = bdt._baseline_prediction[0, 0] + sum(s[0].nodes["value"][0] for s in bdt._predictors)
    got = _onnx(bdt, x[:5])
    np.testing.assert_allclose(got[:, 1], 1 / (1 + np.exp(-raw)), rtol=0, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, rtol=0, atol=1e-12)


def test_categorical_splits_are_refused() -> None:
    rng = np.random.default_rng(0)
    x = np.stack([rng.normal(size=300), rng.integers(0, 4, 300)], axis=1)
    bdt = HistGradientBoostingClassifier(max_iter=3, categorical_features=[1])
    bdt.fit(x, (x[:, 1] > 1).astype(int))
    with pytest.raises(ExportError) as caught:
        hgb_to_onnx(bdt, "bdt", width=2, opset=17)
    assert str(caught.value) == (
        "model 'bdt': HistGradientBoostingClassifier has categorical splits "
        "(categorical_features), which ONNX's TreeEnsembleRegressor cannot express (it "
        "compares numbers with thresholds only); fit the BDT on numeric features to export it"
    )


def test_a_regressor_with_a_non_identity_link_is_refused() -> None:
    x = _rows(200, seed=1, missing=0.0)
    bdt = HistGradientBoostingRegressor(loss="poisson", max_iter=3).fit(x, np.exp(x[:, 0]))
    with pytest.raises(ExportError) as caught:
        hgb_to_onnx(bdt, "bdt", width=3, opset=17)
    assert str(caught.value) == (
        "model 'bdt': HistGradientBoostingRegressor with loss 'poisson' predicts through "
        "the LogLink, which this export does not apply; export a squared_error or "
        "absolute_error BDT"
    )
