r"""Metrics of a per-pixel (per-cell) binary segmentation, as pure NumPy functions.

Class 1 is "dominated by the signal shower", class 0 "dominated by pile-up or noise".
For truth masks T and predicted masks P over all pixels of all images,

.. math::

    \mathrm{IoU}_1 = \frac{\sum w\,[T \wedge P]}{\sum w\,[T \vee P]}, \qquad
    \mathrm{IoU}_0 = \frac{\sum w\,[\lnot T \wedge \lnot P]}{\sum w\,[\lnot T \vee \lnot P]},

with w = 1 (the IoU of cell counts, sklearn's ``jaccard_score``) or w = the cell energy
(the *energy-weighted* IoU: a misclassified 5 GeV crystal counts 100 times a 50 MeV one,
which is what an energy-flow algorithm pays for). Pixel accuracy is the (weighted)
fraction of pixels whose class is right. A class absent from both masks has no IoU
(None).

The uncertainties resample whole images (showers), not pixels: the cells of one shower
are correlated. Because the IoU is a ratio of sums over images, a bootstrap needs only
the per-image numerators and denominators (:func:`bootstrap_ratio`). The recovered
signal energy per shower (:func:`recovered_energy`) is the energy of the kept cells over
the signal energy in the cells.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hepdl.errors import DataError

__all__ = [
    "CONFIDENCE",
    "best_threshold",
    "bootstrap_ratio",
    "class_iou",
    "iou_counts",
    "mean_with_error",
    "pixel_accuracy",
    "recovered_energy",
    "segmentation_summary",
    "threshold_choice",
    "threshold_counts",
]

CONFIDENCE = 0.6827  # central interval of one Gaussian sigma


def _masks(truth: Any, predicted: Any) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(truth), np.asarray(predicted)
    if t.shape != p.shape:
        raise DataError(
            f"segmentation: truth of shape {t.shape} and prediction of shape {p.shape} "
            "must have the same shape"
        )
    if t.ndim == 0 or t.shape[0] == 0:
        raise DataError(f"segmentation: expected images (N, ...) with N >= 1, got {t.shape}")
    for name, values in (("truth", t), ("prediction", p)):
        if values.dtype != bool and not np.isin(values, (0, 1)).all():
            raise DataError(f"segmentation: {name} must be a mask of 0/1 (or bool) values")
    return t.astype(bool), p.astype(bool)


def _weights(weights: Any, shape: tuple[int, ...]) -> np.ndarray:
    if weights is None:
        return np.ones(shape)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != shape:
        raise DataError(f"segmentation: weights of shape {w.shape}, expected {shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise DataError("segmentation: weights must be finite and >= 0 (clip the energies)")
    return w


def iou_counts(
    truth: Any, predicted: Any, *, cls: int = 1, weights: Any = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per image (the first axis): the (weighted) intersection and union of class ``cls``,
    each (N,)."""
    t, p = _masks(truth, predicted)
    w = _weights(weights, t.shape)
    if cls == 0:
        t, p = ~t, ~p
    elif cls != 1:
        raise DataError(f"segmentation: cls must be 0 or 1, got {cls}")
    axes = tuple(range(1, t.ndim))
    return (w * (t & p)).sum(axis=axes), (w * (t | p)).sum(axis=axes)  # (N,), (N,)


def class_iou(truth: Any, predicted: Any, *, cls: int = 1, weights: Any = None) -> float | None:
    """IoU of class ``cls`` over all pixels of all images; None when the class is in
    neither mask (its union is empty)."""
    inter, union = iou_counts(truth, predicted, cls=cls, weights=weights)
    total = union.sum()
    return float(inter.sum() / total) if total > 0 else None


def pixel_accuracy(truth: Any, predicted: Any, *, weights: Any = None) -> float:
    """The (weighted) fraction of pixels whose predicted class is the true one."""
    t, p = _masks(truth, predicted)
    w = _weights(weights, t.shape)
    total = w.sum()
    if not total > 0:
        raise DataError("segmentation: the weights sum to 0; no pixel to judge")
    return float((w * (t == p)).sum() / total)


def bootstrap_ratio(
    numerators: Any,
    denominators: Any,
    *,
    resamples: int = 200,
    seed: int = 0,
    cl: float = CONFIDENCE,
) -> dict[str, float | None]:
    """sum(numerators) / sum(denominators) over images (each (N,)), with its bootstrap
    error (standard deviation over ``resamples`` resamples of the images) and central
    ``cl`` interval; None entries where the denominators sum to 0."""
    num = np.asarray(numerators, dtype=np.float64)
    den = np.asarray(denominators, dtype=np.float64)
    if num.shape != den.shape or num.ndim != 1:
        raise DataError(f"bootstrap_ratio: expected two (N,) arrays, got {num.shape}, {den.shape}")
    if resamples < 2:
        raise DataError(f"bootstrap_ratio: expected >= 2 resamples, got {resamples}")
    if not den.sum() > 0:
        return {"value": None, "error": None, "low": None, "high": None}
    rng = np.random.default_rng(seed)
    # Multinomial counts of each image per resample: (R, N), one vectorised pass.
    counts = rng.multinomial(len(num), np.full(len(num), 1.0 / len(num)), size=resamples)
    den_r = counts @ den
    values = (counts @ num)[den_r > 0] / den_r[den_r > 0]  # (R',)
    low, high = np.percentile(values, [50 * (1 - cl), 50 * (1 + cl)])
    return {
        "value": float(num.sum() / den.sum()),
        "error": float(values.std(ddof=1)),
        "low": float(low),
        "high": float(high),
    }


def segmentation_summary(
    truth: Any,
    predicted: Any,
    *,
    energy: Any,
    resamples: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """IoU of each class (cell counts), the energy-weighted IoU of each class, the mean
    IoU over the two classes and the pixel accuracy (plain and energy-weighted), each
    with its bootstrap error over images; ``energy`` (same shape, >= 0) weighs the cells."""
    t, p = _masks(truth, predicted)
    w = _weights(energy, t.shape)
    axes = tuple(range(1, t.ndim))
    summary: dict[str, Any] = {"n_images": int(t.shape[0]), "n_pixels": int(t.size)}
    for name, weights in (("", None), ("energy_weighted_", w)):
        for cls, label in ((1, "signal"), (0, "pileup")):
            inter, union = iou_counts(t, p, cls=cls, weights=weights)
            summary[f"{name}iou_{label}"] = bootstrap_ratio(
                inter, union, resamples=resamples, seed=seed
            )
        per_pixel = np.ones(t.shape) if weights is None else weights
        right = (per_pixel * (t == p)).sum(axis=axes)
        summary[f"{name}pixel_accuracy"] = bootstrap_ratio(
            right, per_pixel.sum(axis=axes), resamples=resamples, seed=seed
        )
    values = [summary[f"iou_{c}"]["value"] for c in ("signal", "pileup")]
    summary["mean_iou"] = float(np.mean(values)) if None not in values else None
    return summary


def recovered_energy(energy: Any, keep: Any, signal: Any) -> np.ndarray:
    """Per image (N,): sum of the kept cells' ``energy`` over the image's ``signal`` energy
    (both arrays (N, ...) in GeV, ``keep`` a mask of the same shape). An image without
    signal energy is a DataError (nothing to recover)."""
    e = np.asarray(energy, dtype=np.float64)
    s = np.asarray(signal, dtype=np.float64)
    k = np.asarray(keep).astype(bool)
    if not e.shape == s.shape == k.shape:
        raise DataError(
            f"recovered_energy: energy {e.shape}, keep {k.shape} and signal {s.shape} must "
            "have the same shape"
        )
    axes = tuple(range(1, e.ndim))
    total_signal = s.sum(axis=axes)  # (N,)
    empty = np.flatnonzero(~(total_signal > 0))
    if len(empty):
        raise DataError(
            f"recovered_energy: {len(empty)} image(s) hold no signal energy (first: image "
            f"{empty[0]}); the recovered fraction needs signal energy > 0"
        )
    return (e * k).sum(axis=axes) / total_signal


def mean_with_error(values: Any) -> dict[str, float]:
    """Mean, its standard error, the standard deviation, the median and half the 16-84 %
    range of ``values`` (N,), N >= 2."""
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 1 or len(v) < 2:
        raise DataError(f"mean_with_error: expected (N,) values with N >= 2, got {v.shape}")
    q16, q50, q84 = np.percentile(v, [16, 50, 84])
    std = float(v.std(ddof=1))
    return {
        "mean": float(v.mean()),
        "mean_error": std / float(np.sqrt(len(v))),
        "std": std,
        "median": float(q50),
        "half_width_16_84": float(0.5 * (q84 - q16)),
    }


def threshold_counts(
    energy: Any, truth: Any, thresholds: Sequence[float] | np.ndarray
) -> tuple[np.ndarray, np.ndarray, int]:
    """For the masks ``energy > c`` of each threshold c (K,): the cells above it (K,), the
    true signal cells among them (K,), and the true signal cells (an int). Additive over
    batches of images, so a threshold can be chosen on a whole validation set batch by
    batch (:func:`threshold_choice`)."""
    e = np.asarray(energy, dtype=np.float64)
    cuts = np.asarray(thresholds, dtype=np.float64)
    if cuts.ndim != 1 or len(cuts) == 0 or not np.isfinite(cuts).all():
        raise DataError("threshold_counts: expected a non-empty list of finite thresholds")
    t, _ = _masks(truth, np.zeros(np.shape(truth), dtype=bool))
    if e.shape != t.shape:
        raise DataError(f"threshold_counts: energy {e.shape} and truth {t.shape} differ in shape")
    # One sort per array gives every threshold's counts.
    every, signal = np.sort(e.ravel()), np.sort(e[t])
    above = len(every) - np.searchsorted(every, cuts, side="right")  # |P| (K,)
    inter = len(signal) - np.searchsorted(signal, cuts, side="right")  # |T & P| (K,)
    return above, inter, int(t.sum())


def threshold_choice(
    thresholds: Sequence[float] | np.ndarray, above: Any, inter: Any, n_true: int
) -> tuple[float, float]:
    """The threshold of the highest signal-class IoU, inter / (above + n_true - inter),
    from the summed :func:`threshold_counts` (the lowest such on ties), and that IoU."""
    cuts = np.asarray(thresholds, dtype=np.float64)
    above, inter = np.asarray(above, dtype=np.float64), np.asarray(inter, dtype=np.float64)
    union = above + n_true - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    best = int(np.argmax(iou))
    return float(cuts[best]), float(iou[best])


def best_threshold(
    energy: Any, truth: Any, thresholds: Sequence[float] | np.ndarray
) -> tuple[float, float]:
    """The cell-energy threshold among ``thresholds`` (ascending) whose mask
    ``energy > threshold`` has the highest signal-class IoU against ``truth``, and that
    IoU. Call it on validation images only: the threshold is then a fixed baseline."""
    return threshold_choice(thresholds, *threshold_counts(energy, truth, thresholds))
