"""The CaloChallenge metrics (hepdl.metrics.generative): the separation power against a
loop, W1 against hand computations, the classifier test against the analytic AUC of two
Gaussians, and the truth-vs-truth floor."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from hepdl.errors import DataError
from hepdl.metrics.generative import (
    classifier_test,
    feature_distances,
    low_level_inputs,
    separation_power,
    shower_metrics,
    wasserstein_1,
)


def naive_separation(reference, generated, edges) -> float:
    def counts(values):  # under- and overflow beside the bins
        inside = np.histogram(values, edges)[0]
        return np.r_[(values < edges[0]).sum(), inside, (values > edges[-1]).sum()]

    h1 = counts(reference) / len(reference)
    h2 = counts(generated) / len(generated)
    total = 0.0
    for a, b in zip(h1, h2, strict=True):
        if a + b > 0:
            total += (a - b) ** 2 / (a + b)
    return total / 2


def test_separation_power_is_zero_for_the_same_one_for_disjoint_and_matches_a_loop() -> None:
    rng = np.random.default_rng(0)
    ref = rng.normal(0, 1, 4000)
    assert separation_power(ref, ref) == 0
    assert separation_power(ref, ref + 100) == pytest.approx(1.0)
    gen = rng.normal(0.3, 1.2, 3000)
    edges = np.unique(np.quantile(ref, np.linspace(0, 1, 51)))
    assert separation_power(ref, gen) == pytest.approx(naive_separation(ref, gen, edges), 1e-12)
    # constant reference: all generated at its value -> 0, none -> 1
    assert separation_power(np.ones(10), np.ones(5)) == 0
    assert separation_power(np.ones(10), np.zeros(5)) == pytest.approx(1.0)


def test_wasserstein_1_by_hand() -> None:
    assert wasserstein_1([0.0, 1.0], [0.0, 1.0]) == 0
    assert wasserstein_1([0.0, 0.0], [2.0, 2.0]) == pytest.approx(2.0)
    # |F1 - F2| integrated: samples {0, 1} and {0.5, 1.5}: 0.5 everywhere on [0, 1.5]... 0.5
    assert wasserstein_1([0.0, 1.0], [0.5, 1.5]) == pytest.approx(0.5)
    with pytest.raises(DataError, match="generated: expected at least two finite values"):
        wasserstein_1([0.0, 1.0], [np.nan, 1.0])


def test_feature_distances_report_the_floor_beside_the_generated() -> None:
    rng = np.random.default_rng(2)
    ref = {"a": rng.normal(size=2000), "b": rng.exponential(size=2000)}
    floor = {"a": rng.normal(size=2000), "b": rng.exponential(size=2000)}
    gen = {"a": rng.normal(0.5, 1, 2000), "b": rng.exponential(size=2000)}
    result = feature_distances(ref, gen, floor_reference=floor)
    a = result["features"]["a"]
    assert a["separation_power"] > 5 * a["floor_separation_power"]
    assert a["wasserstein_1"] == pytest.approx(0.5, abs=0.08)
    mean = np.mean([f["separation_power"] for f in result["features"].values()])
    assert result["mean_separation_power"] == pytest.approx(mean)
    assert result["floor_mean_separation_power"] < result["mean_separation_power"]
    with pytest.raises(DataError, match=r"the features \['b'\] are missing"):
        feature_distances(ref, {"a": gen["a"]})


def test_classifier_test_finds_the_analytic_auc_of_two_gaussians() -> None:
    """N(0, 1) against N(d, 1) in one of 4 dimensions: the best AUC is Phi(d / sqrt 2)."""
    rng = np.random.default_rng(3)
    d = 1.0
    ref = rng.normal(size=(2500, 4))
    gen = rng.normal(size=(2500, 4))
    gen[:, 0] += d
    result = classifier_test(ref, gen, seed=0)
    expected = norm.cdf(d / math.sqrt(2))  # 0.760
    assert abs(result["auc"] - expected) < 3 * result["auc_error"] + 0.01
    assert result["n_train"] == 1500 and result["n_test"] == 500
    same = classifier_test(ref, rng.normal(size=(2500, 4)), seed=0)
    assert abs(same["auc"] - 0.5) < 3 * same["auc_error"]


def test_classifier_test_refuses_bad_shapes() -> None:
    with pytest.raises(DataError, match="of the same width"):
        classifier_test(np.ones((20, 3)), np.ones((20, 4)))
    with pytest.raises(DataError, match="at least 10 rows"):
        classifier_test(np.ones((5, 3)), np.ones((5, 3)))


def test_shower_metrics_of_two_samples_of_one_distribution_sit_at_the_floor() -> None:
    rng = np.random.default_rng(4)

    def showers(n: int):
        energy = rng.uniform(10, 50, n)
        cells = rng.exponential(1.0, (n, 4, 4)) * energy[:, None, None] / 16
        return {"layer": cells}, energy

    (ref, e_ref), (gen, e_gen), (flo, e_flo) = showers(400), showers(400), showers(400)
    wide = {"layer": gen["layer"] * 1.3}
    good = shower_metrics(ref, e_ref, gen, e_gen, floor=(flo, e_flo))
    bad = shower_metrics(ref, e_ref, wide, e_gen)
    for test in ("classifier_low_level", "classifier_high_level"):
        assert abs(good[test]["auc"] - 0.5) < 3 * good[test]["auc_error"] + 0.02
        assert abs(good["floor"][test]["auc"] - 0.5) < 3 * good["floor"][test]["auc_error"] + 0.02
    assert bad["classifier_high_level"]["auc"] > 0.7  # a 30 % energy scale is seen
    assert bad["w1_e_total_over_incident"] > 5 * good["w1_e_total_over_incident"]
    assert bad["mean_separation_power"] > good["mean_separation_power"]
    total = "e_total_over_incident"
    assert (
        bad["features"][total]["separation_power"] > 3 * good["features"][total]["separation_power"]
    )
    np.testing.assert_allclose(low_level_inputs(ref, e_ref)[:, :16],
                               ref["layer"].reshape(400, 16) / e_ref[:, None])  # fmt: skip
