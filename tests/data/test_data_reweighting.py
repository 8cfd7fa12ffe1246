from __future__ import annotations

import numpy as np
import pytest

from hepdl.data.reweighting import (
    HistogramWeights,
    class_weights,
    fit_flatten,
    flatten_weights,
)
from hepdl.errors import ConfigError, DataError


@pytest.fixture
def sample():
    """Two classes with different pT spectra: QCD falling, top peaked."""
    rng = np.random.default_rng(0)
    qcd = 300 + rng.exponential(150, 3000)
    top = rng.normal(600, 80, 1000)
    pt = np.concatenate([qcd, top])
    labels = np.concatenate([np.zeros(3000, int), np.ones(1000, int)])
    return pt, labels


def test_class_weights_against_loop():
    labels = np.array([0, 0, 0, 1, 2, 2])
    expected = []
    for k in range(3):
        n_k = sum(1 for y in labels if y == k)
        expected.append(len(labels) / (3 * n_k))
    np.testing.assert_allclose(class_weights(labels), expected)
    per_row = class_weights(labels)[labels]
    for k in range(3):
        assert per_row[labels == k].sum() == pytest.approx(len(labels) / 3)


def test_flat_histogram_per_class(sample):
    pt, labels = sample
    edges = np.linspace(300, 900, 13)
    w = flatten_weights(pt, labels, edges)
    for k in (0, 1):
        heights, _ = np.histogram(pt[labels == k], bins=edges, weights=w[labels == k])
        filled = np.histogram(pt[labels == k], bins=edges)[0] > 0
        np.testing.assert_allclose(heights[filled], heights[filled][0], rtol=1e-12)
        # normalize="count": a class's weights sum to its number of rows
        assert w[labels == k].sum() == pytest.approx((labels == k).sum())
    outside = (pt < 300) | (pt > 900)
    assert outside.any() and np.all(w[outside] == 0)


def test_weights_against_loop(sample):
    pt, labels = sample
    edges = np.linspace(250, 1000, 6)
    w = flatten_weights(pt, labels, edges, normalize="balanced")
    naive = np.zeros(len(pt))
    for k in (0, 1):
        counts = [0] * 5
        for x, y in zip(pt, labels, strict=True):
            for b in range(5):
                last = b == 4
                if y == k and edges[b] <= x and (x < edges[b + 1] or (last and x == edges[5])):
                    counts[b] += 1
        populated = sum(1 for c in counts if c > 0)
        for i, (x, y) in enumerate(zip(pt, labels, strict=True)):
            for b in range(5):
                last = b == 4
                if y == k and edges[b] <= x and (x < edges[b + 1] or (last and x == edges[5])):
                    naive[i] = (len(pt) / 2) / populated / counts[b]
    np.testing.assert_allclose(w, naive, rtol=1e-12)


def test_match_to_gives_equal_weighted_mean_pt(sample):
    pt, labels = sample
    edges = np.linspace(300, 900, 31)
    w = flatten_weights(pt, labels, edges, match_to=1)
    inside = (pt >= 300) & (pt <= 900)
    raw_means = [pt[inside & (labels == k)].mean() for k in (0, 1)]
    assert abs(raw_means[0] - raw_means[1]) > 100  # the spectra differ before weighting
    means = [np.average(pt[labels == k], weights=w[labels == k]) for k in (0, 1)]
    assert means[0] == pytest.approx(means[1], abs=5.0)  # within the bin width of 20 GeV
    top_hist = np.histogram(pt[labels == 1], bins=edges)[0]
    qcd_hist = np.histogram(pt[labels == 0], bins=edges, weights=w[labels == 0])[0]
    both = (top_hist > 0) & (np.histogram(pt[labels == 0], bins=edges)[0] > 0)
    ratio = qcd_hist[both] / top_hist[both]
    np.testing.assert_allclose(ratio, ratio[0], rtol=1e-12)  # same shape as top's


def test_fitted_weights_apply_to_chunks(sample):
    pt, labels = sample
    fitted = fit_flatten(pt, labels, 8, column="jet_pt")
    chunk = {"jet_pt": pt[:100], "label": labels[:100]}
    np.testing.assert_array_equal(fitted(chunk), fitted.weights(pt, labels)[:100])
    assert fitted.edges[0] == pt.min() and fitted.edges[-1] == pt.max()
    assert np.all(fitted.weights(pt, labels) > 0)  # bins from the data cover every row


def test_errors(sample):
    pt, labels = sample
    with pytest.raises(DataError, match=r"labels: class\(es\) 1 have no rows"):
        class_weights(np.array([0, 0, 2]))
    with pytest.raises(DataError, match=r"variable: 1 NaN or inf values, the first at row 2"):
        flatten_weights(np.array([1.0, 2.0, np.nan]), np.array([0, 1, 0]), 2)
    with pytest.raises(ConfigError, match=r"option normalize='flat'; expected one of count"):
        flatten_weights(pt, labels, 4, normalize="flat")
    with pytest.raises(ConfigError, match=r"option match_to=2; expected a class index 0 to 1"):
        flatten_weights(pt, labels, 4, match_to=2)
    with pytest.raises(ConfigError, match=r"at least two strictly increasing edges"):
        flatten_weights(pt, labels, [3.0, 2.0])
    with pytest.raises(DataError, match=r"variable: 3 values but 2 labels"):
        flatten_weights(np.ones(3), np.array([0, 1]), 2)
    fitted = HistogramWeights(edges=np.array([0.0, 1.0]), factors=np.ones((2, 1)))
    with pytest.raises(ConfigError, match=r"HistogramWeights: column=None; set column="):
        fitted({"label": np.zeros(1, int)})
