"""Binary classification metrics against scikit-learn and naive loops."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from sklearn import metrics as skm

from hepdl.errors import DataError
from hepdl.metrics import (
    accuracy,
    background_rejection,
    binary_accuracy,
    classification_summary,
    max_significance_improvement,
    one_vs_rest_scores,
    roc_auc,
    roc_curve,
)


def _sample(n: int = 2000, *, seed: int = 0, separation: float = 1.0, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)  # (N,)
    score = rng.normal(size=n) + separation * y  # (N,)
    if ties:
        score = np.round(score, 1)  # many tied scores
    weight = rng.uniform(0.1, 2.0, n)  # (N,)
    return y, score, weight


def _naive_eps_b(y: np.ndarray, score: np.ndarray, eps_s: float) -> float:
    """Cut at the k-th highest signal score (k = eps_s * N_S) and count background above."""
    sig = np.sort(score[y == 1])[::-1]
    k = round(eps_s * len(sig))
    cut = sig[k - 1]
    return float(np.mean(score[y == 0] >= cut))


# --- roc_curve and roc_auc against sklearn ---------------------------------------------


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_roc_curve_matches_sklearn(ties: bool, weighted: bool) -> None:
    y, score, weight = _sample(ties=ties)
    w = weight if weighted else None
    eps_b, eps_s, thr = roc_curve(y, score, sample_weight=w)
    fpr, tpr, sk_thr = skm.roc_curve(y, score, sample_weight=w, drop_intermediate=False)
    np.testing.assert_allclose(eps_b, fpr, atol=1e-12)
    np.testing.assert_allclose(eps_s, tpr, atol=1e-12)
    np.testing.assert_array_equal(thr[1:], sk_thr[1:])
    assert thr[0] == np.inf
    assert (eps_b[0], eps_s[0], eps_b[-1], eps_s[-1]) == (0.0, 0.0, 1.0, 1.0)
    assert np.all(np.diff(thr) < 0)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_roc_auc_matches_sklearn(ties: bool, weighted: bool) -> None:
    y, score, weight = _sample(ties=ties, seed=1)
    w = weight if weighted else None
    assert roc_auc(y, score, sample_weight=w) == pytest.approx(
        skm.roc_auc_score(y, score, sample_weight=w), abs=1e-12
    )


def test_roc_auc_all_scores_tied_is_one_half() -> None:
    assert roc_auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.5)


def test_roc_accepts_bool_labels_and_integer_scores() -> None:
    y = np.array([False, True, False, True])
    assert roc_auc(y, [1, 4, 2, 3]) == pytest.approx(1.0)


def test_zero_weight_events_do_not_count() -> None:
    y, score, _ = _sample(500, seed=2)
    w = np.ones(len(y))
    w[:100] = 0.0
    assert roc_auc(y, score, sample_weight=w) == pytest.approx(roc_auc(y[100:], score[100:]))


# --- accuracy ------------------------------------------------------------------------


@pytest.mark.parametrize("weighted", [False, True])
def test_accuracy_matches_sklearn(weighted: bool) -> None:
    rng = np.random.default_rng(3)
    y = rng.integers(0, 3, 500)  # multiclass is fine for accuracy
    pred = np.where(rng.uniform(size=500) < 0.7, y, rng.integers(0, 3, 500))
    w = rng.uniform(0, 1, 500) if weighted else None
    assert accuracy(y, pred, sample_weight=w) == pytest.approx(
        skm.accuracy_score(y, pred, sample_weight=w)
    )


def test_binary_accuracy_thresholds_strictly_above() -> None:
    y = [0, 1, 1, 0]
    prob = [0.2, 0.9, 0.5, 0.7]  # 0.5 is not > 0.5 -> background
    assert binary_accuracy(y, prob) == pytest.approx(0.5)
    assert binary_accuracy(y, prob, threshold=0.4) == pytest.approx(0.75)
    assert binary_accuracy(y, prob, threshold=0.8) == pytest.approx(0.75)
    y_arr, score, _ = _sample(seed=4)
    prob = 1 / (1 + np.exp(-score))
    assert binary_accuracy(y_arr, prob) == pytest.approx(
        skm.accuracy_score(y_arr, (prob > 0.5).astype(int))
    )


# --- background rejection ------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("eps_s", [0.1, 0.3, 0.5, 0.8, 1.0])
def test_background_rejection_matches_naive_count(seed: int, eps_s: float) -> None:
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(1000, int), np.zeros(3000, int)]  # k = eps_s * 1000 is an integer
    score = rng.normal(size=4000) + 1.5 * y
    perm = rng.permutation(4000)
    y, score = y[perm], score[perm]
    expected = 1.0 / _naive_eps_b(y, score, eps_s)
    assert background_rejection(y, score, signal_efficiency=eps_s) == pytest.approx(expected)


def test_background_rejection_on_flat_steps_and_tied_points() -> None:
    # Scores S=4, B=3, S=2, B=1 give ROC points (eps_s, eps_b):
    # (0, 0) (.5, 0) (.5, .5) (1, .5) (1, 1)
    y = [1, 0, 1, 0]
    score = [4.0, 3.0, 2.0, 1.0]
    # Two points have eps_s = 0.5; the lower eps_b (0) is the working point.
    assert background_rejection(y, score, signal_efficiency=0.5) == math.inf
    # eps_s = 0.75 lies on the flat step from (.5, .5) to (1, .5).
    assert background_rejection(y, score, signal_efficiency=0.75) == pytest.approx(2.0)
    assert background_rejection(y, score, signal_efficiency=1.0) == pytest.approx(2.0)


def test_background_rejection_interpolates_linearly_along_a_sloped_segment() -> None:
    # A signal and a background event tie at score 4, so one cut moves both efficiencies:
    # ROC points (0, 0) (.25, 0) (.5, 1) (.75, 1) (1, 1).
    y = [1, 1, 0, 1, 1]
    score = [5.0, 4.0, 4.0, 2.0, 1.0]
    # eps_s = 0.375 is halfway from (.25, 0) to (.5, 1): eps_b = 0.5.
    assert background_rejection(y, score, signal_efficiency=0.375) == pytest.approx(2.0)
    # eps_s = 0.3 is a fifth of the way: eps_b = 0.2.
    assert background_rejection(y, score, signal_efficiency=0.3) == pytest.approx(5.0)


def test_perfect_separation_gives_auc_one_and_infinite_rejection() -> None:
    rng = np.random.default_rng(5)
    y = np.r_[np.ones(500, int), np.zeros(500, int)]
    score = np.r_[rng.uniform(0.6, 1.0, 500), rng.uniform(0.0, 0.4, 500)]
    assert roc_auc(y, score) == 1.0
    for eps_s in (0.3, 0.5, 1.0):
        assert background_rejection(y, score, signal_efficiency=eps_s) == math.inf
    sic, sic_eps = max_significance_improvement(y, score)
    # First usable point selects all signal and exactly 10 background events.
    assert sic == pytest.approx(1.0 / math.sqrt(10 / 500))
    assert sic_eps == 1.0


def test_random_scores_give_auc_one_half_and_rejection_one_over_eps_s() -> None:
    rng = np.random.default_rng(6)
    y = rng.integers(0, 2, 200_000)
    score = rng.uniform(size=200_000)
    assert roc_auc(y, score) == pytest.approx(0.5, abs=0.01)
    assert background_rejection(y, score, signal_efficiency=0.3) == pytest.approx(1 / 0.3, rel=0.03)
    sic, _ = max_significance_improvement(y, score)
    assert sic == pytest.approx(1.0, abs=0.05)  # eps_s / sqrt(eps_s) peaks at eps_s = 1


def test_weights_change_rejection_as_duplicated_events_would() -> None:
    y, score, _ = _sample(300, seed=7)
    w = np.random.default_rng(8).integers(1, 4, len(y)).astype(float)
    reps = w.astype(int)
    ref = background_rejection(np.repeat(y, reps), np.repeat(score, reps), signal_efficiency=0.4)
    assert background_rejection(y, score, signal_efficiency=0.4, sample_weight=w) == (
        pytest.approx(ref)
    )


# --- SIC -----------------------------------------------------------------------------


def test_max_sic_matches_naive_loop() -> None:
    y, score, _ = _sample(3000, seed=9, separation=2.0)
    n_b = int((y == 0).sum())
    best, best_eps = -1.0, None
    for cut in np.unique(score):
        sel = score >= cut
        n_bkg = int(np.sum(sel & (y == 0)))
        if n_bkg < 5:
            continue
        eps_s = np.mean(sel[y == 1])
        value = eps_s / math.sqrt(n_bkg / n_b)
        if value > best:
            best, best_eps = value, eps_s
    sic, sic_eps = max_significance_improvement(y, score, min_background=5)
    assert sic == pytest.approx(best)
    assert sic_eps == pytest.approx(best_eps)


def test_max_sic_min_background_counts_raw_events_not_weights() -> None:
    # All signal scores above all background; the 5 highest background events carry weight 100.
    y = np.r_[np.ones(100, int), np.zeros(100, int)]
    score = np.r_[np.full(100, 1000.0), np.arange(100.0)]
    w_bkg = np.r_[np.ones(95), np.full(5, 100.0)]  # ascending score: heavy ones score highest
    w = np.r_[np.ones(100), w_bkg]
    sic, eps = max_significance_improvement(y, score, sample_weight=w, min_background=20)
    # The tightest usable cut selects all signal and exactly 20 raw background events.
    assert eps == 1.0
    assert sic == pytest.approx(1.0 / math.sqrt((5 * 100 + 15) / w_bkg.sum()))


# --- summary and multiclass helper ---------------------------------------------------


def test_classification_summary_keys_values_and_json() -> None:
    y, score, _ = _sample(seed=10)
    prob = 1 / (1 + np.exp(-score))
    summary = classification_summary(y, prob)
    assert list(summary) == [
        "accuracy",
        "auc",
        "rejection_at_eps_s_0.3",
        "rejection_at_eps_s_0.5",
        "fpr_at_eps_s_0.3",
        "fpr_at_eps_s_0.5",
        "max_sic",
        "max_sic_eps_s",
        "n_signal",
        "n_background",
    ]
    assert summary["auc"] == pytest.approx(skm.roc_auc_score(y, prob))
    assert summary["accuracy"] == pytest.approx(binary_accuracy(y, prob))
    assert summary["rejection_at_eps_s_0.3"] == pytest.approx(
        background_rejection(y, prob, signal_efficiency=0.3)
    )
    assert summary["fpr_at_eps_s_0.5"] == pytest.approx(
        1 / background_rejection(y, prob, signal_efficiency=0.5)
    )
    assert (summary["n_signal"], summary["n_background"]) == (int(y.sum()), int((y == 0).sum()))
    assert all(type(v) in (float, int) for v in summary.values())
    json.dumps(summary, allow_nan=False)


def test_classification_summary_infinite_rejection_is_null() -> None:
    y = np.r_[np.ones(50, int), np.zeros(50, int)]
    prob = np.r_[np.full(50, 0.9), np.full(50, 0.1)]
    summary = classification_summary(y, prob, signal_efficiencies=(0.25,))
    assert summary["rejection_at_eps_s_0.25"] is None
    assert summary["auc"] == 1.0
    assert json.loads(json.dumps(summary, allow_nan=False))["rejection_at_eps_s_0.25"] is None
    small = classification_summary([1, 0, 1], [0.9, 0.2, 0.6])  # one background event
    assert small["max_sic"] is None and small["max_sic_eps_s"] is None


def test_one_vs_rest_scores_pairwise_and_all() -> None:
    prob = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.0, 0.0, 1.0]])  # (N, C)
    np.testing.assert_allclose(one_vs_rest_scores(prob, 0), [0.7, 0.1, 0.0])
    pair = one_vs_rest_scores(prob, 0, background_classes=1)
    np.testing.assert_allclose(pair, [0.7 / 0.9, 0.5, 0.5])  # 0/0 -> 0.5
    np.testing.assert_allclose(
        one_vs_rest_scores(prob, 2, background_classes=[0, 1]), [0.1, 0.8, 1.0]
    )


# --- bad input -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: roc_curve([0, 1, 1], [0.1, 0.2]), r"lengths differ: y has 3, score has 2"),
        (lambda: roc_curve([], []), r"y: expected a non-empty array"),
        (lambda: roc_curve([1, 1, 1], [0.1, 0.2, 0.3]), r"y: expected both classes"),
        (lambda: roc_auc([0, 0], [0.1, 0.2]), r"y: expected both classes"),
        (lambda: roc_auc([0, 1, 1], [0.1, np.nan, 0.3]), r"score: expected finite .* 1 NaN"),
        (lambda: roc_auc([0, 1, 2], [0.1, 0.2, 0.3]), r"y: expected labels 0 \(background\)"),
        (
            lambda: roc_auc([0, 1], [[0.1, 0.9], [0.8, 0.2]]),
            r"score: .*shape \(2, 2\).*score\[:, 1\]",
        ),
        (lambda: roc_auc([0, 1], [[0.1], [0.8]]), r"score: .*ravel"),
        (
            lambda: roc_auc([0, 1], [0.1, 0.2], sample_weight=[1.0]),
            r"sample_weight: expected 2 entries",
        ),
        (
            lambda: roc_auc([0, 1], [0.1, 0.2], sample_weight=[1.0, -1.0]),
            r"sample_weight: expected non-negative",
        ),
        (
            lambda: background_rejection([0, 1], [0.1, 0.2], signal_efficiency=0.0),
            r"signal_efficiency: expected a number in \(0, 1\], got 0.0",
        ),
        (
            lambda: background_rejection([0, 1], [0.1, 0.2], signal_efficiency=1.2),
            r"signal_efficiency: expected a number in \(0, 1\], got 1.2",
        ),
        (
            lambda: background_rejection([0, 1], [0.1, 0.2], signal_efficiency=float("nan")),
            r"signal_efficiency: expected a number in \(0, 1\]",
        ),
        (
            lambda: background_rejection([0, 1, 0], [0.1, 0.2], signal_efficiency=0.5),
            r"lengths differ",
        ),
        (
            lambda: max_significance_improvement([0, 1, 1], [0.1, 0.2, 0.3]),
            r"min_background: no threshold selects 10 background events; .* only 1",
        ),
        (
            lambda: max_significance_improvement([0, 1], [0.1, 0.2], min_background=0),
            r"min_background: expected a number >= 1",
        ),
        (lambda: accuracy([0, 1], [0, 1, 1]), r"lengths differ: y has 2, predicted_label has 3"),
        (lambda: accuracy([0, 1], [0.2, 0.7]), r"predicted_label: expected integer class labels"),
        (lambda: binary_accuracy([0, 1], [-1.5, 2.0]), r"prob: expected probabilities in \[0, 1\]"),
        (lambda: binary_accuracy([0, 1], [0.2]), r"lengths differ: y has 2, prob has 1"),
        (
            lambda: classification_summary([0, 1], [0.2, 0.7], signal_efficiencies=(1.5,)),
            r"signal_efficiencies: expected a number in \(0, 1\]",
        ),
        (lambda: classification_summary([1, 1], [0.2, 0.7]), r"y: expected both classes"),
        (lambda: one_vs_rest_scores(np.ones(3), 0), r"prob: expected shape \(N, C\)"),
        (lambda: one_vs_rest_scores(np.ones((3, 2)), 2), r"signal_class: expected .* \[0, 1\]"),
        (
            lambda: one_vs_rest_scores(np.ones((3, 3)), 0, background_classes=[0, 1]),
            r"background_classes: must not contain the signal_class 0",
        ),
        (
            lambda: one_vs_rest_scores(np.full((2, 2), np.nan), 0),
            r"prob: expected finite non-negative",
        ),
    ],
)
def test_bad_input_raises_data_error_naming_the_argument(call, match: str) -> None:
    with pytest.raises(DataError, match=match):
        call()


def test_data_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        roc_auc([0, 1], [0.1])


def test_metrics_import_neither_torch_nor_matplotlib() -> None:
    import subprocess
    import sys

    code = (
        "import sys, hepdl.metrics; "
        "print(sorted(m for m in ('torch', 'matplotlib') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
