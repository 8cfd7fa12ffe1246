"""The resolution fit a/sqrt(E) (+) b/E (+) c and the binned resolution against naive numbers."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from scipy.optimize import curve_fit

from hepdl.errors import DataError
from hepdl.metrics import gaussian_core_fit
from hepdl.metrics.resolution_fit import (
    binned_resolution,
    fit_binned_resolution,
    fit_resolution,
)

A, B, C = 0.028, 0.15, 0.004  # CMS-ECAL-like: 2.8 %/sqrt(E), 150 MeV noise, 0.4 %
Z84 = 0.994457883209753
ENERGIES = np.array([5.0, 10.0, 20.0, 35.0, 50.0, 80.0, 120.0, 200.0])


def _formula(e, a, b, c):
    return np.sqrt(a**2 / e + b**2 / e**2 + c**2)


def _smeared(n: int, *, seed: int, a=A, b=B, c=C):
    """True energies flat in 5-200 GeV and a Gaussian measurement of relative width f(E)."""
    rng = np.random.default_rng(seed)
    true = rng.uniform(5.0, 200.0, n)  # (N,)
    measured = true * rng.normal(1.0, _formula(true, a, b, c))  # (N,)
    return true, measured


# --- fit_resolution -------------------------------------------------------------------------


def test_exact_points_give_back_the_terms() -> None:
    y = _formula(ENERGIES, A, B, C)
    fit = fit_resolution(ENERGIES, y, 0.01 * y)
    assert (fit.a, fit.b, fit.c) == pytest.approx((A, B, C), rel=1e-6)
    assert fit.chi2 == pytest.approx(0.0, abs=1e-8)
    assert fit.ndf == len(ENERGIES) - 3
    np.testing.assert_allclose(fit.evaluate(ENERGIES), y, rtol=1e-6)


def test_chi2_is_the_naive_sum_and_errors_match_curve_fit() -> None:
    rng = np.random.default_rng(3)
    y0 = _formula(ENERGIES, A, B, C)
    err = 0.03 * y0
    y = y0 + rng.normal(0.0, err)
    fit = fit_resolution(ENERGIES, y, err)
    points = zip(ENERGIES, y, err, strict=True)
    naive = sum(((yi - fit.evaluate(ei)) / si) ** 2 for ei, yi, si in points)
    assert fit.chi2 == pytest.approx(float(naive), rel=1e-10)
    # Away from 0 the errors are the usual parabolic (HESSE-like) ones of curve_fit.
    popt, pcov = curve_fit(_formula, ENERGIES, y, p0=(A, B, C), sigma=err, absolute_sigma=True)
    assert (fit.a, fit.b, fit.c) == pytest.approx(tuple(popt), rel=1e-5)
    assert (fit.a_error, fit.b_error, fit.c_error) == pytest.approx(
        tuple(np.sqrt(np.diag(pcov))), rel=0.05
    )


def test_errors_cover_the_truth_in_toys() -> None:
    # 300 toy measurements: the pulls (fit - truth) / error have mean 0 and width 1.
    rng = np.random.default_rng(7)
    y0 = _formula(ENERGIES, A, B, C)
    err = 0.02 * y0
    pulls = {"a": [], "b": [], "c": []}
    for _ in range(300):
        fit = fit_resolution(ENERGIES, y0 + rng.normal(0.0, err), err)
        for term, truth in zip("abc", (A, B, C), strict=True):
            pulls[term].append((getattr(fit, term) - truth) / getattr(fit, f"{term}_error"))
    for term, values in pulls.items():
        assert abs(np.mean(values)) < 0.2, term
        assert 0.85 < np.std(values) < 1.15, term


def test_fixed_term_is_zero_with_zero_error_and_counts_in_ndf() -> None:
    y = _formula(ENERGIES, A, 0.0, C)
    fit = fit_resolution(ENERGIES, y, 0.01 * y, terms=("a", "c"))
    assert fit.terms == ("a", "c")
    assert (fit.b, fit.b_error, fit.intervals["b"]) == (0.0, 0.0, (0.0, 0.0))
    assert (fit.a, fit.c) == pytest.approx((A, C), rel=1e-6)
    assert fit.ndf == len(ENERGIES) - 2
    assert "b = 0 (fixed)" in str(fit)


def test_a_term_at_zero_stays_non_negative_with_a_one_sided_interval() -> None:
    # Data with no noise term, pulled below the a (+) c curve at low energy: b wants < 0.
    y = _formula(ENERGIES, A, 0.0, C) * np.where(ENERGIES < 15, 0.97, 1.0)
    fit = fit_resolution(ENERGIES, y, 0.01 * y)
    assert fit.b == 0.0
    low, high = fit.intervals["b"]
    assert low == 0.0 and high > 0.0
    assert fit.b_error == pytest.approx(high / 2)
    assert fit.a >= 0 and fit.c >= 0


def test_as_dict_is_strict_json() -> None:
    y = _formula(ENERGIES[:3], A, B, C)
    fit = fit_resolution(ENERGIES[:3], y, 0.01 * y)
    record = json.loads(json.dumps(fit.as_dict(), allow_nan=False))
    assert record["ndf"] == 0 and record["chi2_per_ndf"] is None
    assert record["a"] == pytest.approx(A, rel=1e-6)


# --- binned_resolution ------------------------------------------------------------------------


def test_binned_resolution_matches_numpy_per_bin() -> None:
    true, measured = _smeared(20_000, seed=1)
    edges = [5.0, 10.0, 50.0, 200.0]
    binned = binned_resolution(true, measured, edges)
    for i in range(3):
        sel = (true >= edges[i]) & ((true < edges[i + 1]) if i < 2 else (true <= edges[i + 1]))
        r = measured[sel] / true[sel]
        median = np.median(r)
        sigma = (np.percentile(r, 84) - np.percentile(r, 16)) / 2 / Z84
        assert binned.n[i] == sel.sum()
        assert binned.energy[i] == pytest.approx(true[sel].mean(), rel=1e-12)
        assert binned.response[i] == pytest.approx(median, rel=1e-12)
        assert binned.relative_resolution[i] == pytest.approx(sigma / median, rel=1e-12)
        rel_err = (sigma / median) * math.hypot(
            0.9586 / Z84 / math.sqrt(sel.sum()), 1.2533 * sigma / median / math.sqrt(sel.sum())
        )
        assert binned.relative_resolution_error[i] == pytest.approx(rel_err, rel=1e-3)


def test_binned_core_method_is_the_gaussian_core_fit_per_bin() -> None:
    true, measured = _smeared(5000, seed=2)
    binned = binned_resolution(true, measured, [5.0, 50.0, 200.0], method="core")
    sel = true < 50.0
    core = gaussian_core_fit(measured[sel] / true[sel], np.ones(sel.sum()))
    assert binned.response[0] == pytest.approx(core["mean"], rel=1e-12)
    assert binned.relative_resolution[0] == pytest.approx(core["sigma"] / core["mean"], rel=1e-12)


def test_sparse_bins_are_nan_and_left_out_of_the_fit() -> None:
    true, measured = _smeared(3000, seed=4)
    true = np.concatenate([true, [300.0] * 5])
    measured = np.concatenate([measured, [300.0] * 5])
    binned = binned_resolution(true, measured, [5, 10, 20, 50, 100, 200, 250, 400])
    assert binned.n[-2:].tolist() == [0, 5]
    assert np.isnan(binned.relative_resolution[-2:]).all()
    assert binned.valid.tolist() == [True] * 5 + [False, False]
    assert binned.as_records()[-1]["relative_resolution"] is None
    assert binned.fit().n_points == 5


@pytest.mark.parametrize("method", ["iqr", "core"])
def test_smeared_sample_gives_back_a_b_c_within_errors(method: str) -> None:
    true, measured = _smeared(200_000, seed=11)
    binned = binned_resolution(true, measured, np.geomspace(5.0, 200.0, 13), method=method)
    fit = fit_binned_resolution(binned)
    for term, truth in zip("abc", (A, B, C), strict=True):
        value, error = getattr(fit, term), getattr(fit, f"{term}_error")
        assert abs(value - truth) < 3 * error, (term, value, error)
        assert error < 0.15 * truth, term  # and the errors are not vacuous
    np.testing.assert_allclose(binned.response, 1.0, atol=0.003)


def test_without_noise_term_a_b_c_fit_would_be_biased() -> None:
    # A fit without b of data with b = 0.15 GeV misses a by far: the test can tell terms apart.
    true, measured = _smeared(200_000, seed=12)
    fit = binned_resolution(true, measured, np.geomspace(5.0, 200.0, 13)).fit(terms="ac")
    assert abs(fit.a - A) > 5 * fit.a_error
    assert fit.chi2 / fit.ndf > 5


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (([], [], []), {}, "energy: expected a non-empty array, got 0 entries"),
        (
            ([10.0, -5.0], [0.01, 0.02], [1e-3, 1e-3]),
            {},
            "energy: expected positive energies in GeV, found 1 <= 0 (first at index 1: -5)",
        ),
        (
            ([10.0, 20.0], [0.01, 0.02], [1e-3, 0.0]),
            {},
            "errors: expected positive uncertainties, found 1 <= 0 (first at index 1: 0)",
        ),
        (
            ([10.0, 20.0], [0.01, -0.02], [1e-3, 1e-3]),
            {},
            "relative_resolution: expected sigma/E >= 0 (a fraction, e.g. 0.03), found 1 "
            "negative (first at index 1)",
        ),
        (
            ([10.0, 20.0], [0.01], [1e-3, 1e-3]),
            {},
            "lengths differ: energy has 2, relative_resolution has 1, errors has 2 entries",
        ),
        (
            ([10.0, 10.0, 20.0], [0.01, 0.01, 0.02], [1e-3] * 3),
            {},
            "energy: fitting 3 terms (a, b, c) needs at least 3 distinct energies, got 2",
        ),
        (
            ([10.0, 20.0], [0.01, 0.02], [1e-3, 1e-3]),
            {"terms": ("a", "d")},
            "terms: expected a non-empty subset of ['a', 'b', 'c'] without repeats "
            "(a = stochastic, b = noise, c = constant), got ['a', 'd']",
        ),
        (
            ([10.0, 20.0], [0.01, 0.02], [1e-3, 1e-3]),
            {"terms": ()},
            "terms: expected a non-empty subset",
        ),
    ],
)
def test_fit_resolution_bad_input(args, kwargs, message: str) -> None:
    with pytest.raises(DataError, match=re.escape(message)):
        fit_resolution(*args, **kwargs)


def test_binned_resolution_bad_input() -> None:
    with pytest.raises(DataError, match=re.escape("true_energy: expected a non-empty array")):
        binned_resolution([], [], 3)
    with pytest.raises(
        DataError,
        match=re.escape("true_energy: expected positive energies in GeV, found 1 <= 0 "),
    ):
        binned_resolution([10.0, -1.0], [10.0, 1.0], 2)
    with pytest.raises(DataError, match=re.escape("method: expected one of ['iqr', 'core']")):
        binned_resolution([10.0], [10.0], 1, method="rms")
    with pytest.raises(DataError, match=re.escape("measured_energy: expected finite values")):
        binned_resolution([10.0, 20.0], [10.0, np.nan], 1)
    few = binned_resolution([10.0, 20.0], [10.0, 20.0], 1)
    with pytest.raises(DataError, match=re.escape("bins: fitting 3 terms needs at least 3 bins")):
        fit_binned_resolution(few)
