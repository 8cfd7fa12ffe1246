"""Regression metrics against NumPy, scikit-learn and naive loops."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from hepdl.errors import DataError
from hepdl.metrics import (
    bias,
    binned_response,
    gaussian_core_fit,
    mae,
    pull_summary,
    pulls,
    quantile_coverage,
    ratio,
    regression_summary,
    relative_resolution,
    resolution_iqr,
    response,
    rmse,
)

Z84 = 0.994457883209753  # 84 % quantile of a unit Gaussian


def _jets(n: int = 4000, *, seed: int = 0, scale: float = 0.95, width: float = 0.1):
    """True jet energies (falling spectrum) and a prediction with a Gaussian ratio."""
    rng = np.random.default_rng(seed)
    true = 20.0 + rng.exponential(80.0, n)  # (N,)
    pred = true * rng.normal(scale, width, n)  # (N,)
    return pred, true


# --- response and resolution ---------------------------------------------------------


def test_response_and_resolution_match_numpy() -> None:
    pred, true = _jets()
    r = pred / true
    np.testing.assert_array_equal(ratio(pred, true), r)
    assert response(pred, true) == pytest.approx(np.median(r), rel=1e-14)
    half = (np.percentile(r, 84) - np.percentile(r, 16)) / 2
    assert resolution_iqr(pred, true) == pytest.approx(half, rel=1e-14)
    assert relative_resolution(pred, true) == pytest.approx(half / np.median(r), rel=1e-14)


def test_resolution_is_raw_half_width_and_relative_divides_by_response() -> None:
    pred, true = _jets(100_000, seed=1, scale=0.8, width=0.08)
    assert response(pred, true) == pytest.approx(0.8, abs=0.002)
    assert resolution_iqr(pred, true) == pytest.approx(Z84 * 0.08, rel=0.02)
    assert relative_resolution(pred, true) == pytest.approx(Z84 * 0.1, rel=0.02)


def test_accepts_lists_and_integers() -> None:
    assert response([2, 4, 9], [1, 2, 3]) == 2.0
    assert resolution_iqr([1.0, 1.0, 1.0], [1, 1, 1]) == 0.0


# --- Gaussian core --------------------------------------------------------------------


def test_gaussian_core_recovers_pure_gaussian() -> None:
    rng = np.random.default_rng(2)
    r = rng.normal(1.02, 0.12, 20_000)
    fit = gaussian_core_fit(r, np.ones_like(r))
    assert set(fit) == {"mean", "sigma", "mean_error", "sigma_error", "n_used"}
    assert isinstance(fit["n_used"], int)
    assert abs(fit["mean"] - 1.02) < 3 * fit["mean_error"]
    assert abs(fit["sigma"] - 0.12) < 3 * fit["sigma_error"]
    # The window holds the fraction 2 Phi(1.5) - 1 = 0.866 of a Gaussian.
    assert fit["n_used"] / 20_000 == pytest.approx(0.8664, abs=0.01)
    # Asymptotic errors: 1.446 and 1.839 sigma / sqrt(N) for k = 1.5.
    assert fit["mean_error"] == pytest.approx(1.446 * 0.12 / math.sqrt(20_000), rel=0.02)
    assert fit["sigma_error"] == pytest.approx(1.839 * 0.12 / math.sqrt(20_000), rel=0.02)


def test_gaussian_core_ignores_tails_that_bias_mean_and_std() -> None:
    rng = np.random.default_rng(3)
    core = rng.normal(1.0, 0.1, 18_000)
    low_tail = 1.0 - rng.exponential(0.5, 1500)  # lost neutrinos, out-of-cone radiation
    wide = rng.normal(1.0, 0.6, 500)
    r = rng.permutation(np.r_[core, low_tail, wide])
    true = rng.uniform(10, 100, len(r))
    fit = gaussian_core_fit(r * true, true)
    assert abs(fit["mean"] - 1.0) < 3 * fit["mean_error"]
    assert abs(fit["sigma"] - 0.1) < 3 * fit["sigma_error"]
    # The naive moments are far off: the fit is doing its job.
    assert abs(r.mean() - 1.0) > 10 * fit["mean_error"]
    assert r.std() > 2 * 0.1


def test_gaussian_core_errors_match_spread_over_samples() -> None:
    rng = np.random.default_rng(4)
    fits = [gaussian_core_fit(rng.normal(0.0, 1.0, 1000) + 5.0, np.ones(1000)) for _ in range(300)]
    means = np.array([f["mean"] for f in fits])
    sigmas = np.array([f["sigma"] for f in fits])
    assert means.std() == pytest.approx(np.mean([f["mean_error"] for f in fits]), rel=0.15)
    assert sigmas.std() == pytest.approx(np.mean([f["sigma_error"] for f in fits]), rel=0.15)
    assert abs(sigmas.mean() - 1.0) < 4 * sigmas.std() / math.sqrt(len(sigmas))


def test_gaussian_core_wider_window_and_degenerate_sample() -> None:
    rng = np.random.default_rng(5)
    r = rng.normal(1.0, 0.1, 5000)
    fit = gaussian_core_fit(r, np.ones_like(r), n_sigma=3.0, max_iterations=50)
    assert fit["sigma"] == pytest.approx(r.std(), rel=0.01)  # nearly the whole sample
    flat = gaussian_core_fit(np.full(20, 2.0), np.ones(20))
    assert flat == {"mean": 2.0, "sigma": 0.0, "mean_error": 0.0, "sigma_error": 0.0, "n_used": 20}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_sigma": 0.5}, r"n_sigma: expected a number in \[1, 10\], got 0\.5"),
        ({"n_sigma": "wide"}, r"n_sigma: expected a number in \[1, 10\], got 'wide'"),
        ({"max_iterations": 0}, r"max_iterations: expected an integer >= 1, got 0"),
        ({"max_iterations": 2.5}, r"max_iterations: expected an integer >= 1, got 2\.5"),
    ],
)
def test_gaussian_core_bad_options(kwargs, match: str) -> None:
    with pytest.raises(DataError, match=match):
        gaussian_core_fit(np.ones(50), np.ones(50), **kwargs)


def test_gaussian_core_needs_entries() -> None:
    with pytest.raises(
        DataError, match=r"pred: a Gaussian core fit needs at least 10 entries, got 9"
    ):
        gaussian_core_fit(np.ones(9), np.ones(9))


# --- absolute errors ------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_bias_rmse_mae_match_sklearn(weighted: bool) -> None:
    pred, true = _jets(seed=6)
    w = np.random.default_rng(7).uniform(0.1, 2.0, len(pred)) if weighted else None
    mse = skm.mean_squared_error(true, pred, sample_weight=w)
    assert rmse(pred, true, sample_weight=w) == pytest.approx(math.sqrt(mse), rel=1e-12)
    assert mae(pred, true, sample_weight=w) == pytest.approx(
        skm.mean_absolute_error(true, pred, sample_weight=w), rel=1e-12
    )
    assert bias(pred, true, sample_weight=w) == pytest.approx(
        np.average(pred - true, weights=w), rel=1e-12
    )


def test_bias_sign_and_zero_weights() -> None:
    assert bias([3.0, 5.0], [1.0, 1.0]) == 3.0  # predictions too high: positive
    assert bias([3.0, 5.0], [1.0, 1.0], sample_weight=[1.0, 0.0]) == 2.0
    with pytest.raises(DataError, match=r"sample_weight: expected a positive total weight"):
        rmse([1.0, 2.0], [1.0, 1.0], sample_weight=[0.0, 0.0])
    with pytest.raises(DataError, match=r"sample_weight: expected non-negative weights"):
        mae([1.0, 2.0], [1.0, 1.0], sample_weight=[1.0, -1.0])


# --- pulls and coverage ---------------------------------------------------------------


def test_pulls_and_summary() -> None:
    rng = np.random.default_rng(8)
    true = rng.uniform(50, 150, 20_000)
    sigma = 0.1 * true
    pred = true + rng.normal(0.0, 1.0, len(true)) * sigma * 1.2  # uncertainties 20 % too small
    p = pulls(pred, true, sigma)
    assert p.shape == (20_000,)
    np.testing.assert_allclose(p, (pred - true) / sigma)
    summary = pull_summary(pred, true, sigma)
    assert set(summary) == {"mean", "width", "width_iqr"}
    assert summary["mean"] == pytest.approx(np.mean(p))
    assert summary["width"] == pytest.approx(np.std(p))
    half = (np.percentile(p, 84) - np.percentile(p, 16)) / 2
    assert summary["width_iqr"] == pytest.approx(half / Z84)
    assert summary["width"] == pytest.approx(1.2, abs=0.02)
    assert summary["width_iqr"] == pytest.approx(1.2, abs=0.03)


@pytest.mark.parametrize(
    ("sigma", "match"),
    [
        (
            [1.0, 0.0, -2.0],
            r"sigma: expected positive uncertainties, found 2 <= 0 \(first at index 1",
        ),
        ([1.0, np.nan, 1.0], r"sigma: expected finite values, found 1 NaN"),
        ([1.0, 1.0], r"sigma: expected 3 entries \(one per event\), got 2"),
    ],
)
def test_pulls_bad_sigma(sigma, match: str) -> None:
    with pytest.raises(DataError, match=match):
        pulls([1.0, 2.0, 3.0], [1.0, 2.0, 2.0], sigma)


def test_quantile_coverage_on_known_quantiles() -> None:
    rng = np.random.default_rng(9)
    n = 40_000
    mu = rng.uniform(0, 10, n)
    true = mu + rng.normal(0.0, 1.0, n)  # the true quantiles of true given mu are known
    levels = [0.16, 0.5, 0.84]
    z = np.array([-Z84, 0.0, Z84])
    calibrated = mu[:, None] + z[None, :]  # (N, 3)
    coverage = quantile_coverage(true, calibrated, levels)
    assert list(coverage) == levels
    for level, observed in coverage.items():
        assert abs(observed - level) < 4 * math.sqrt(level * (1 - level) / n)
    # A naive loop, and over-confident (too narrow) quantiles.
    narrow = mu[:, None] + 0.5 * z[None, :]
    loop = [sum(true[i] < narrow[i, j] for i in range(2000)) / 2000 for j in range(3)]
    assert list(quantile_coverage(true[:2000], narrow[:2000], levels).values()) == loop
    wrong = quantile_coverage(true, narrow, levels)
    assert wrong[0.16] > 0.25 and wrong[0.84] < 0.75


@pytest.mark.parametrize(
    ("qp", "levels", "match"),
    [
        (np.zeros((5, 2)), [0.1, 0.5, 0.9], r"quantile_predictions: expected shape \(N, 3\)"),
        (np.zeros(5), [0.5], r"quantile_predictions: expected shape \(N, 1\).*got shape \(5,\)"),
        (np.zeros((4, 1)), [0.5], r"lengths differ: true has 5, quantile_predictions has 4"),
        (np.zeros((5, 1)), [1.0], r"quantiles: expected levels in \(0, 1\), got \[1\.0\]"),
        (np.full((5, 1), np.inf), [0.5], r"quantile_predictions: expected finite values"),
    ],
)
def test_quantile_coverage_bad_input(qp, levels, match: str) -> None:
    with pytest.raises(DataError, match=match):
        quantile_coverage(np.zeros(5), qp, levels)


# --- binned response ------------------------------------------------------------------


def _naive_bins(pred, true, by, edges, min_entries=10):
    rows = []
    for i, (low, high) in enumerate(itertools.pairwise(edges)):
        last = i == len(edges) - 2
        sel = [j for j in range(len(by)) if low <= by[j] < high or (last and by[j] == high)]
        r = np.array([pred[j] / true[j] for j in sel])
        row = {"low": low, "high": high, "n": len(sel)}
        if len(sel) >= min_entries:
            med = float(np.median(r))
            half = float(np.percentile(r, 84) - np.percentile(r, 16)) / 2
            row |= {"response": med, "resolution": half, "relative_resolution": half / med}
        rows.append(row)
    return rows


def test_binned_response_matches_hand_loop() -> None:
    pred, true = _jets(3000, seed=10)
    edges = [20.0, 40.0, 80.0, 160.0, 400.0, 401.0]
    rows = binned_response(pred, true, edges)
    naive = _naive_bins(pred, true, true, edges)
    assert [r["n"] for r in rows] == [r["n"] for r in naive]
    assert sum(r["n"] for r in rows) == int(np.sum(true <= 401.0))
    for row, ref in zip(rows, naive, strict=True):
        assert (row["low"], row["high"]) == (ref["low"], ref["high"])
        if "response" in ref:
            for key in ("response", "resolution", "relative_resolution"):
                assert row[key] == pytest.approx(ref[key], rel=1e-12)
    assert list(rows[0]) == [
        "low",
        "high",
        "n",
        "response",
        "resolution",
        "relative_resolution",
        "response_error",
        "resolution_error",
        "relative_resolution_error",
    ]
    sparse = rows[-1]  # 400 to 401: hardly any jets
    assert sparse["n"] < 10
    assert all(sparse[k] is None for k in ("response", "resolution", "response_error"))


def test_binned_response_asymptotic_errors() -> None:
    pred, true = _jets(2000, seed=11, width=0.1)
    (row,) = binned_response(pred, true, [0.0, 1e6])
    sigma = row["resolution"] / Z84
    assert row["response_error"] == pytest.approx(1.2533 * sigma / math.sqrt(2000), rel=1e-3)
    assert row["resolution_error"] == pytest.approx(0.9586 * sigma / math.sqrt(2000), rel=1e-3)
    rel = row["relative_resolution"]
    expected = rel * math.hypot(
        row["resolution_error"] / row["resolution"], row["response_error"] / row["response"]
    )
    assert row["relative_resolution_error"] == pytest.approx(expected)


def test_binned_response_errors_match_spread_over_samples() -> None:
    rng = np.random.default_rng(12)
    rows = [
        binned_response(rng.normal(1.0, 0.1, 400), np.ones(400), [0.5, 1.5])[0] for _ in range(400)
    ]
    for key in ("response", "resolution"):
        spread = np.std([r[key] for r in rows])
        assert spread == pytest.approx(np.mean([r[f"{key}_error"] for r in rows]), rel=0.12)


def test_binned_response_equal_population_and_by() -> None:
    pred, true = _jets(1000, seed=13)
    rows = binned_response(pred, true, 4)
    assert [r["n"] for r in rows] == [250, 250, 250, 250]
    assert rows[0]["low"] == true.min() and rows[-1]["high"] == true.max()
    eta = np.random.default_rng(14).uniform(-2.5, 2.5, 1000)
    by_eta = binned_response(pred, true, [-2.5, 0.0, 2.5], by=eta)
    naive = _naive_bins(pred, true, eta, [-2.5, 0.0, 2.5])
    assert [r["n"] for r in by_eta] == [r["n"] for r in naive]
    assert by_eta[1]["response"] == pytest.approx(naive[1]["response"])


@pytest.mark.parametrize(
    ("bins", "match"),
    [
        (0, r"bins: expected a positive number of bins, got 0"),
        ([1.0], r"bins: expected at least two bin edges"),
        ([1.0, 3.0, 2.0], r"bins: expected finite, strictly increasing edges, got \[1\.0, 3\.0"),
        (True, r"bins: expected a number of bins or a list of edges, got True"),
    ],
)
def test_binned_response_bad_bins(bins, match: str) -> None:
    with pytest.raises(DataError, match=match):
        binned_response(np.ones(20), np.ones(20), bins)


# --- shared input checks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("pred", "true", "match"),
    [
        (
            [1.0, 2.0],
            [1.0, 0.0],
            r"true: expected non-zero true values .* found 1 zero \(first at index 1\)",
        ),
        ([1.0, 2.0, 3.0], [1.0, 2.0], r"lengths differ: pred has 3, true has 2 entries"),
        ([], [], r"pred: expected a non-empty array, got 0 entries"),
        ([1.0, np.inf], [1.0, 1.0], r"pred: expected finite values, found 0 NaN and 1 inf"),
        (
            np.ones((3, 1)),
            np.ones(3),
            r"pred: expected a 1-D array \(got shape \(3, 1\); pass pred\.ravel",
        ),
        (["a", "b"], [1.0, 1.0], r"pred: expected real numbers, got dtype <U1"),
    ],
)
def test_ratio_metrics_bad_input(pred, true, match: str) -> None:
    for fn in (response, resolution_iqr, relative_resolution):
        with pytest.raises(DataError, match=match):
            fn(pred, true)
    with pytest.raises(DataError, match=match):
        regression_summary(pred, true)


def test_difference_metrics_allow_zero_true() -> None:
    assert rmse([1.0, 0.0], [0.0, 0.0]) == pytest.approx(math.sqrt(0.5))
    with pytest.raises(DataError, match=r"by: expected finite values"):
        binned_response([1.0, 2.0], [1.0, 2.0], 1, by=[np.nan, 1.0])
    with pytest.raises(DataError, match=r"lengths differ: pred has 2, true has 2, by has 3"):
        binned_response([1.0, 2.0], [1.0, 2.0], 1, by=[1.0, 2.0, 3.0])


# --- summary --------------------------------------------------------------------------


def test_regression_summary_full_and_json() -> None:
    pred, true = _jets(3000, seed=15)
    sigma = 0.1 * true
    levels = [0.16, 0.5, 0.84]
    qp = pred[:, None] + np.array([-1.0, 0.0, 1.0])[None, :] * sigma[:, None]  # (N, 3)
    summary = regression_summary(
        pred, true, sigma=sigma, quantiles=levels, quantile_predictions=qp, bins=[20, 60, 1e4]
    )
    assert list(summary) == [
        "n",
        "response",
        "response_error",
        "resolution",
        "resolution_error",
        "relative_resolution",
        "relative_resolution_error",
        "core_mean",
        "core_sigma",
        "core_mean_error",
        "core_sigma_error",
        "core_n_used",
        "bias",
        "rmse",
        "mae",
        "pull_mean",
        "pull_width",
        "pull_width_iqr",
        "coverage",
        "coverage_error",
        "binned",
    ]
    assert summary["n"] == 3000
    assert summary["response"] == response(pred, true)
    assert summary["resolution"] == resolution_iqr(pred, true)
    assert summary["relative_resolution"] == relative_resolution(pred, true)
    core = gaussian_core_fit(pred, true)
    assert (summary["core_mean"], summary["core_sigma"]) == (core["mean"], core["sigma"])
    assert summary["rmse"] == rmse(pred, true) and summary["mae"] == mae(pred, true)
    assert summary["bias"] == bias(pred, true)
    assert summary["pull_width"] == pull_summary(pred, true, sigma)["width"]
    assert summary["coverage"] == {
        str(k): v for k, v in quantile_coverage(true, qp, levels).items()
    }
    assert list(summary["coverage"]) == ["0.16", "0.5", "0.84"]
    assert summary["coverage_error"]["0.5"] == pytest.approx(0.5 / math.sqrt(3000))
    assert summary["binned"] == binned_response(pred, true, [20, 60, 1e4])
    text = json.dumps(summary, allow_nan=False)
    assert json.loads(text) == summary


def test_regression_summary_minimal_and_small() -> None:
    pred, true = _jets(500, seed=16)
    summary = regression_summary(pred, true)
    assert "pull_mean" not in summary and "coverage" not in summary and "binned" not in summary
    small = regression_summary([1.0, 2.0, 3.1], [1.0, 2.0, 3.0])
    assert small["core_sigma"] is None and small["core_n_used"] is None
    assert small["n"] == 3
    json.dumps(small, allow_nan=False)
    zero = regression_summary(np.r_[np.zeros(20), 1.0], np.ones(21))  # response 0
    assert zero["response"] == 0.0 and zero["relative_resolution"] is None
    json.dumps(zero, allow_nan=False)


def test_regression_summary_half_given_options() -> None:
    pred, true = _jets(100, seed=17)
    with pytest.raises(
        DataError, match=r"quantile_predictions: expected together with quantiles, got only"
    ):
        regression_summary(pred, true, quantiles=[0.5])
    with pytest.raises(DataError, match=r"quantiles: expected together with quantile_predictions"):
        regression_summary(pred, true, quantile_predictions=pred[:, None])
    with pytest.raises(DataError, match=r"by: expected together with bins"):
        regression_summary(pred, true, by=true)
