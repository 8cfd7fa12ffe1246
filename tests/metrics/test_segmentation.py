"""Segmentation metrics against sklearn's jaccard_score and naive pixel loops."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, jaccard_score

from hepdl.errors import DataError
from hepdl.metrics.segmentation import (
    best_threshold,
    bootstrap_ratio,
    class_iou,
    iou_counts,
    mean_with_error,
    pixel_accuracy,
    recovered_energy,
    segmentation_summary,
    threshold_choice,
    threshold_counts,
)

RNG = np.random.default_rng(11)


def masks(n=12, shape=(1, 9, 7)):
    truth = RNG.random((n, *shape)) < 0.3
    predicted = np.where(RNG.random(truth.shape) < 0.8, truth, ~truth)  # 20 % flipped
    energy = RNG.exponential(1.0, truth.shape)
    return truth, predicted, energy


def naive_iou(truth, predicted, weights, cls):
    inter = union = 0.0
    for t, p, w in zip(truth.ravel(), predicted.ravel(), weights.ravel(), strict=True):
        t, p = (t, p) if cls == 1 else (not t, not p)
        inter += w * (t and p)
        union += w * (t or p)
    return inter / union


@pytest.mark.parametrize("cls", [0, 1])
def test_iou_is_sklearns_jaccard_score(cls):
    truth, predicted, _ = masks()
    expected = jaccard_score(truth.ravel(), predicted.ravel(), pos_label=cls)
    assert class_iou(truth, predicted, cls=cls) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("cls", [0, 1])
def test_energy_weighted_iou_is_the_naive_loop_and_sklearns_weighted(cls):
    truth, predicted, energy = masks()
    ours = class_iou(truth, predicted, cls=cls, weights=energy)
    assert ours == pytest.approx(naive_iou(truth, predicted, energy, cls), rel=1e-12)
    weighted = jaccard_score(
        truth.ravel(), predicted.ravel(), pos_label=cls, sample_weight=energy.ravel()
    )
    assert ours == pytest.approx(weighted, rel=1e-12)


def test_pixel_accuracy_plain_and_weighted():
    truth, predicted, energy = masks()
    assert pixel_accuracy(truth, predicted) == pytest.approx(
        accuracy_score(truth.ravel(), predicted.ravel())
    )
    assert pixel_accuracy(truth, predicted, weights=energy) == pytest.approx(
        accuracy_score(truth.ravel(), predicted.ravel(), sample_weight=energy.ravel())
    )


def test_per_image_counts_sum_to_the_whole():
    truth, predicted, energy = masks(n=5)
    inter, union = iou_counts(truth, predicted, weights=energy)
    assert inter.shape == union.shape == (5,)
    for k in range(5):
        assert inter[k] == pytest.approx((energy[k] * (truth[k] & predicted[k])).sum())
        assert union[k] == pytest.approx((energy[k] * (truth[k] | predicted[k])).sum())


def test_a_class_in_neither_mask_has_no_iou():
    none = np.zeros((3, 4, 4), dtype=bool)
    assert class_iou(none, none, cls=1) is None
    assert class_iou(none, none, cls=0) == 1.0


def test_perfect_and_disjoint_predictions():
    truth, _, energy = masks()
    assert class_iou(truth, truth) == 1.0
    assert class_iou(truth, ~truth) == 0.0
    assert pixel_accuracy(truth, ~truth, weights=energy) == 0.0


def test_bootstrap_error_is_the_spread_of_resampled_ratios():
    truth, predicted, _ = masks(n=300)
    inter, union = iou_counts(truth, predicted)
    result = bootstrap_ratio(inter, union, resamples=400, seed=3)
    assert result["value"] == pytest.approx(inter.sum() / union.sum())
    # Naively: resample the images with replacement, recompute, take the spread.
    rng = np.random.default_rng(5)
    draws = []
    for _ in range(400):
        pick = rng.integers(0, len(inter), len(inter))
        draws.append(inter[pick].sum() / union[pick].sum())
    assert result["error"] == pytest.approx(np.std(draws, ddof=1), rel=0.2)
    assert result["low"] < result["value"] < result["high"]


def test_summary_holds_every_metric_with_an_error():
    truth, predicted, energy = masks(n=40)
    summary = segmentation_summary(truth, predicted, energy=energy, resamples=50)
    assert summary["iou_signal"]["value"] == pytest.approx(class_iou(truth, predicted))
    assert summary["energy_weighted_iou_pileup"]["value"] == pytest.approx(
        class_iou(truth, predicted, cls=0, weights=energy)
    )
    assert summary["energy_weighted_pixel_accuracy"]["value"] == pytest.approx(
        pixel_accuracy(truth, predicted, weights=energy)
    )
    assert summary["mean_iou"] == pytest.approx(
        (class_iou(truth, predicted) + class_iou(truth, predicted, cls=0)) / 2
    )
    assert all(summary[k]["error"] > 0 for k in ("iou_signal", "pixel_accuracy"))


def test_recovered_energy_per_image():
    energy = np.array([[[1.0, 2.0], [3.0, -0.5]], [[4.0, 0.0], [1.0, 1.0]]])
    keep = np.array([[[True, False], [True, True]], [[True, True], [False, False]]])
    signal = np.array([[[1.0, 0.0], [2.0, 0.0]], [[4.0, 0.0], [0.0, 0.0]]])
    np.testing.assert_allclose(recovered_energy(energy, keep, signal), [3.5 / 3.0, 1.0])
    with pytest.raises(DataError, match=r"1 image\(s\) hold no signal energy \(first: image 1\)"):
        recovered_energy(energy, keep, signal * np.array([1.0, 0.0])[:, None, None])


def test_mean_with_error():
    values = RNG.normal(1.0, 0.2, 400)
    stats = mean_with_error(values)
    assert stats["mean"] == pytest.approx(values.mean())
    assert stats["mean_error"] == pytest.approx(values.std(ddof=1) / 20)


def test_best_threshold_is_the_naive_scan():
    truth, _, energy = masks(n=30)
    energy = energy + 1.5 * truth  # signal cells are more energetic
    cuts = np.linspace(0, 3, 61)
    naive = []
    for c in cuts:
        kept = energy > c
        naive.append((truth & kept).sum() / (truth | kept).sum())
    threshold, iou = best_threshold(energy, truth, cuts)
    assert threshold == cuts[int(np.argmax(naive))]
    assert iou == pytest.approx(max(naive))


def test_threshold_counts_add_over_batches():
    truth, _, energy = masks(n=20)
    cuts = np.linspace(0, 2, 21)
    whole = threshold_counts(energy, truth, cuts)
    parts = [threshold_counts(energy[s], truth[s], cuts) for s in (slice(0, 7), slice(7, 20))]
    np.testing.assert_array_equal(whole[0], parts[0][0] + parts[1][0])
    np.testing.assert_array_equal(whole[1], parts[0][1] + parts[1][1])
    assert whole[2] == parts[0][2] + parts[1][2]
    assert threshold_choice(cuts, *whole) == best_threshold(energy, truth, cuts)


def test_shapes_that_differ_are_one_error_naming_both():
    with pytest.raises(DataError) as err:
        class_iou(np.zeros((2, 1, 4, 4)), np.zeros((2, 1, 4, 5)))
    assert str(err.value) == (
        "segmentation: truth of shape (2, 1, 4, 4) and prediction of shape (2, 1, 4, 5) "
        "must have the same shape"
    )
    with pytest.raises(DataError, match="must be a mask of 0/1"):
        class_iou(np.full((2, 3), 0.5), np.zeros((2, 3)))
    with pytest.raises(DataError, match="weights must be finite and >= 0"):
        class_iou(np.zeros((2, 3)), np.zeros((2, 3)), weights=-np.ones((2, 3)))
