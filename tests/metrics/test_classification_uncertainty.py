"""Uncertainties of AUC and rejection: the bootstrap against the Hanley-McNeil formula and a
plain loop, Clopper-Pearson against scipy, and the cut below one background event."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import binomtest

from hepdl.errors import DataError
from hepdl.metrics import background_rejection, roc_auc
from hepdl.metrics.uncertainty import (
    CONFIDENCE,
    bootstrap_metrics,
    classification_uncertainties,
    clopper_pearson,
    rejection_band,
    rejection_curve,
    rejection_with_errors,
)


def _gaussians(n_sig: int, n_bkg: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n_sig, dtype=int), np.zeros(n_bkg, dtype=int)]
    return y, rng.normal(size=n_sig + n_bkg) + shift * y


@pytest.mark.parametrize(("k", "n"), [(0, 181), (1, 181), (2, 181), (37, 100), (100, 100)])
def test_clopper_pearson_matches_scipy_binomtest(k, n):
    low, high = clopper_pearson(k, n)
    reference = binomtest(k, n).proportion_ci(confidence_level=CONFIDENCE, method="exact")
    assert (float(low), float(high)) == pytest.approx((reference.low, reference.high), abs=1e-12)


def test_bootstrap_auc_std_matches_hanley_mcneil_on_a_large_sample():
    y, s = _gaussians(10_000, 10_000, 1.0, seed=1)
    aucs, _ = bootstrap_metrics(y, s, n_resamples=200, seed=0)
    a = roc_auc(y, s)
    # Hanley & McNeil (1982): the variance of the Mann-Whitney AUC.
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    n_s = n_b = 10_000
    hanley = math.sqrt(
        (a * (1 - a) + (n_s - 1) * (q1 - a * a) + (n_b - 1) * (q2 - a * a)) / (n_s * n_b)
    )
    # 200 resamples estimate a std to about 5%.
    assert np.std(aucs, ddof=1) == pytest.approx(hanley, rel=0.15)
    assert np.mean(aucs) == pytest.approx(a, abs=hanley)


def test_bootstrap_resample_equals_a_plain_loop_over_indices():
    """Resample 0 by hand: the same seeded draws (signal then background), computed with
    the plain metric functions on the resampled events."""
    y, s = _gaussians(60, 40, 1.5, seed=2)
    s = np.round(s, 1)  # ties
    aucs, eps_b = bootstrap_metrics(y, s, signal_efficiencies=(0.3, 0.5), n_resamples=2, seed=5)
    order = np.argsort(-s, kind="mergesort")
    sig, bkg = order[y[order] == 1], order[y[order] == 0]
    rng = np.random.default_rng(5)
    picks = np.r_[sig[rng.integers(0, 60, (2, 60))[0]], bkg[rng.integers(0, 40, (2, 40))[0]]]
    assert aucs[0] == pytest.approx(roc_auc(y[picks], s[picks]), rel=1e-12)
    for j, eff in enumerate((0.3, 0.5)):
        reference = background_rejection(y[picks], s[picks], signal_efficiency=eff)
        assert eps_b[0, j] == pytest.approx(1.0 / reference, rel=1e-12)  # inf: 0


def test_bootstrap_is_seeded():
    y, s = _gaussians(200, 200, 1.0, seed=3)
    first = bootstrap_metrics(y, s, n_resamples=20, seed=4)
    again = bootstrap_metrics(y, s, n_resamples=20, seed=4)
    other = bootstrap_metrics(y, s, n_resamples=20, seed=5)
    np.testing.assert_array_equal(first[0], again[0])
    assert not np.array_equal(first[0], other[0])


def test_rejection_with_errors_counts_events_and_brackets_the_value():
    y, s = _gaussians(1000, 500, 2.0, seed=6)
    info = rejection_with_errors(y, s, signal_efficiency=0.5)
    rejection = background_rejection(y, s, signal_efficiency=0.5)
    cut = np.sort(s[y == 1])[::-1][499]  # the 500th signal score: eps_S = 0.5 exactly
    k = int(np.sum(s[y == 0] >= cut))
    assert info["n_bkg_selected"] == k and info["n_background"] == 500
    reference = binomtest(k, 500).proportion_ci(confidence_level=CONFIDENCE)
    assert rejection == pytest.approx(500 / k)
    assert info["binomial_low"] == pytest.approx(1 / reference.high)
    assert info["binomial_high"] == pytest.approx(1 / reference.low)


def test_rejection_curve_is_cut_below_one_background_event():
    """181 background events, the first passing only after 60% of the signal: a linear
    eps_B between (0, 0) and (0.6, 1/181) would draw 1/eps_B = 2172 at eps_S = 0.05."""
    y = np.r_[np.ones(1000, dtype=int), np.zeros(181, dtype=int)]
    s = np.r_[np.linspace(1.0, 0.0, 1000), np.linspace(0.4 - 1e-6, -1.0, 181)]
    grid = np.linspace(0.05, 1.0, 96)
    rejection, low, high, k = rejection_curve(y, s, grid)
    finite = np.isfinite(rejection)
    assert rejection[finite].max() <= 181
    assert np.all(k[~finite] == 0) and np.all(k[finite] >= 1)
    assert not finite[grid < 0.6].any()  # nothing drawn before the first background event
    # Where no event passes only the lower bound exists: 1 / CP upper end of 0 of 181.
    assert low[0] == pytest.approx(1 / binomtest(0, 181).proportion_ci(CONFIDENCE).high)
    assert np.isinf(high[0])
    assert np.all(low[finite] <= rejection[finite]) and np.all(rejection[finite] <= high[finite])


def test_rejection_band_over_runs():
    runs = [_gaussians(300, 300, shift, seed=7 + i) for i, shift in enumerate((1.0, 2.0))]
    grid = np.array([0.3, 0.5])
    median, low, high, stat_low, stat_high = rejection_band(runs, grid)
    at = [rejection_curve(y, s, grid) for y, s in runs]
    np.testing.assert_allclose(low, np.minimum(at[0][0], at[1][0]))
    np.testing.assert_allclose(high, np.maximum(at[0][0], at[1][0]))
    np.testing.assert_allclose(median, (at[0][0] + at[1][0]) / 2)
    assert np.all(stat_low <= low) and np.all(stat_high >= high)


def test_classification_uncertainties_is_json_safe_and_keyed_like_the_summary():
    y, s = _gaussians(400, 181, 3.0, seed=9)
    out = classification_uncertainties(y, s, signal_efficiencies=(0.3, 0.9), n_resamples=50)
    json.dumps(out, allow_nan=False)
    assert set(out) == {
        "confidence_level", "bootstrap", "auc", "rejection_at_eps_s_0.3", "rejection_at_eps_s_0.9"
    }  # fmt: skip
    assert out["bootstrap"] == {"resamples": 50, "seed": 0, "stratified": True}
    assert out["auc"]["low"] <= roc_auc(y, s) <= out["auc"]["high"]
    tight = out["rejection_at_eps_s_0.3"]
    assert tight["n_bkg_selected"] == 0 and tight["binomial_high"] is None
    without = classification_uncertainties(y, s, n_resamples=0)
    assert "auc" not in without and "bootstrap_low" not in without["rejection_at_eps_s_0.3"]


def test_bad_arguments_name_themselves():
    y, s = _gaussians(10, 10, 1.0, seed=0)
    with pytest.raises(DataError, match=r"^n_resamples: expected a whole number >= 2, got 1$"):
        bootstrap_metrics(y, s, n_resamples=1)
    with pytest.raises(DataError, match=r"^cl: expected a confidence level in \(0, 1\), got 1\.5$"):
        classification_uncertainties(y, s, cl=1.5)
    with pytest.raises(DataError, match=r"^clopper_pearson: expected 0 <= k <= n and n >= 1$"):
        clopper_pearson(3, 2)
