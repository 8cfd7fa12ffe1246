r"""Statistical uncertainties of a binary classifier's metrics, as pure NumPy functions.

Two complementary intervals, both central and at ``cl`` = 68.27% (one Gaussian sigma) unless
told otherwise:

* **Bootstrap over the test set** (:func:`bootstrap_metrics`): the test events are resampled
  with replacement, within each class (so every resample keeps :math:`N_S` signal and
  :math:`N_B` background events, the numbers the Hanley-McNeil error of the AUC assumes),
  and the AUC and :math:`\varepsilon_B` at each working point are recomputed per resample.
  The AUC's error is the standard deviation over resamples, its interval the percentiles;
  the rejection's interval is :math:`1/\varepsilon_B` at the percentiles of
  :math:`\varepsilon_B`. All resamples are computed at once on one sort of the scores
  (per resample only a weighted histogram over the distinct scores), so 200 resamples of
  :math:`10^5` events take well under a second.
* **Binomial (Clopper-Pearson)** (:func:`clopper_pearson`, :func:`rejection_with_errors`):
  a rejection :math:`1/\varepsilon_B` rests on the :math:`k` background events that pass the
  cut, out of :math:`N_B`. The exact interval of a binomial fraction,

  .. math::

      \varepsilon_\mathrm{low} = B^{-1}\!\left(\tfrac{\alpha}{2}; k, N_B - k + 1\right),
      \qquad
      \varepsilon_\mathrm{high} = B^{-1}\!\left(1 - \tfrac{\alpha}{2}; k + 1, N_B - k\right),

  (:math:`B^{-1}` the inverse regularised incomplete beta function, :math:`\alpha = 1 -`
  ``cl``) is honest for :math:`k` = 0, 1, 2 where :math:`\sqrt{k}` errors are not. At
  :math:`k = 0` only a lower bound on the rejection exists.

:math:`k` at a working point between two ROC points is the number of background events the
interpolation of :func:`hepdl.metrics.background_rejection` stands for, rounded down; a
rejection with :math:`k = 0` rests on less than one event and is not a measurement, which is
why :func:`rejection_curve` cuts the curve there instead of drawing values above
:math:`N_B`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.metrics.checks import check_efficiency
from hepdl.metrics.classification import _prepare, _roc_points

__all__ = [
    "CONFIDENCE",
    "bootstrap_metrics",
    "classification_uncertainties",
    "clopper_pearson",
    "rejection_band",
    "rejection_curve",
    "rejection_with_errors",
]

CONFIDENCE = 0.6827  # central interval of one Gaussian sigma
# Resampled event indices held at once (int64): about 32 MB whatever the test set's size.
_CHUNK_ENTRIES = 4_000_000


def _check_cl(cl: float) -> float:
    value = float(cl)
    if not 0.0 < value < 1.0:
        raise DataError(f"cl: expected a confidence level in (0, 1), got {cl!r}")
    return value


def clopper_pearson(k: Any, n: Any, *, cl: float = CONFIDENCE) -> tuple[np.ndarray, np.ndarray]:
    """Central Clopper-Pearson interval ``(low, high)`` of the fraction ``k / n`` (arrays
    broadcast): the same numbers as ``scipy.stats.binomtest(k, n).proportion_ci(cl)``."""
    from scipy.stats import beta

    alpha = 1.0 - _check_cl(cl)
    k_arr, n_arr = np.broadcast_arrays(np.asarray(k, dtype=np.float64), np.asarray(n, dtype=float))
    if np.any(n_arr < 1) or np.any(k_arr < 0) or np.any(k_arr > n_arr):
        raise DataError("clopper_pearson: expected 0 <= k <= n and n >= 1")
    with np.errstate(invalid="ignore"):  # the beta ppf at k = 0 or k = n is fixed below
        low = np.where(k_arr > 0, beta.ppf(alpha / 2, k_arr, n_arr - k_arr + 1), 0.0)
        high = np.where(k_arr < n_arr, beta.ppf(1 - alpha / 2, k_arr + 1, n_arr - k_arr), 1.0)
    return low, high


def _between(s0, s1, v0, v1, t):
    """Linear in eps_s between two ROC points; the right one where it sits at ``t``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(s1 == t, v1, v0 + (t - s0) * (v1 - v0) / (s1 - s0))


def _interpolate(eps_s: np.ndarray, values: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """``values`` (P,) of a ROC at each signal efficiency of ``targets`` (G,), linear in
    eps_s between points; of points sharing eps_s == target the first (the lowest eps_b),
    as hepdl.metrics.background_rejection."""
    i = np.minimum(np.searchsorted(eps_s, targets, side="left"), len(eps_s) - 1)  # (G,)
    j = np.maximum(i - 1, 0)
    return _between(eps_s[j], eps_s[i], values[j], values[i], targets)


def _interpolate_rows(eps_s: np.ndarray, values: np.ndarray, target: float) -> np.ndarray:
    """:func:`_interpolate` at one ``target`` for each row of (R, P) ROCs -> (R,)."""
    i = np.minimum((eps_s < target).sum(axis=1), eps_s.shape[1] - 1)[:, None]
    j = np.maximum(i - 1, 0)
    s0, s1 = (np.take_along_axis(eps_s, k, axis=1)[:, 0] for k in (j, i))
    v0, v1 = (np.take_along_axis(values, k, axis=1)[:, 0] for k in (j, i))
    return _between(s0, s1, v0, v1, target)


def _roc_with_counts(y: Any, score: Any, sample_weight: Any):
    """``(eps_b, eps_s, n_bkg_selected, n_background)`` of checked inputs, each ROC array
    (P,); the counts are raw events whatever the weights."""
    eps_b, eps_s, _, n_sel = _roc_points(*_prepare(y, score, sample_weight))
    return eps_b, eps_s, n_sel.astype(np.float64), int(n_sel[-1])


def _rejection_bounds(
    eps_b: np.ndarray, n_events: np.ndarray, n_bkg: int, cl: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(k, low, high)`` of rejections 1/eps_b resting on ``n_events`` (fractional) of
    ``n_bkg`` background events: k the whole events, low/high the binomial interval scaled
    to the measured eps_b (inf high where k = 0: only a lower bound)."""
    k = np.floor(n_events + 1e-9)  # (G,)
    eps_low, eps_high = clopper_pearson(k, n_bkg, cl=cl)
    fraction = k / n_bkg  # the raw fraction the interval is for
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(k > 0, eps_b / np.where(k > 0, fraction, 1.0), 1.0)
        low = 1.0 / (eps_high * scale)  # a higher eps_b: a lower rejection
        high = np.where(eps_low > 0, 1.0 / (eps_low * scale), np.inf)
    return k.astype(np.int64), low, high


def rejection_curve(
    y: Any, score: Any, eps_s_grid: Any, *, sample_weight: Any = None, cl: float = CONFIDENCE
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    r"""Rejection :math:`1/\varepsilon_B` on a grid of signal efficiencies, with its
    binomial interval and the background events it rests on.

    Returns ``(rejection, low, high, k)``, each ``(G,)`` for ``eps_s_grid`` ``(G,)``;
    :math:`\varepsilon_B` linear in :math:`\varepsilon_S` between ROC points as in
    :func:`hepdl.metrics.background_rejection`. Where fewer than one background event is
    selected (:math:`k = 0`) the rejection is ``inf``: the curve is cut, never drawn above
    :math:`N_B`.
    """
    grid = np.asarray(eps_s_grid, dtype=np.float64)
    if grid.ndim != 1 or not len(grid):
        raise DataError("eps_s_grid: expected a non-empty 1-D grid of signal efficiencies")
    for value in grid:
        check_efficiency(value, name="eps_s_grid")
    eps_b, eps_s, n_sel, n_bkg = _roc_with_counts(y, score, sample_weight)
    eb = _interpolate(eps_s, eps_b, grid)  # (G,)
    events = _interpolate(eps_s, n_sel, grid)  # (G,) background events, fractional
    k, low, high = _rejection_bounds(eb, events, n_bkg, cl)
    with np.errstate(divide="ignore"):
        rejection = np.where(k > 0, 1.0 / np.where(k > 0, eb, 1.0), np.inf)
    low = np.where(k > 0, low, 1.0 / clopper_pearson(0, n_bkg, cl=cl)[1])
    return rejection, low, high, k


def rejection_with_errors(
    y: Any,
    score: Any,
    *,
    signal_efficiency: float,
    sample_weight: Any = None,
    cl: float = CONFIDENCE,
) -> dict[str, float | int | None]:
    """The binomial view of one working point: ``n_bkg_selected`` (k, whole events),
    ``n_background`` (N_B) and the Clopper-Pearson interval ``binomial_low`` /
    ``binomial_high`` of the rejection (``binomial_high`` None for k = 0: only the lower
    bound exists)."""
    target = check_efficiency(signal_efficiency, name="signal_efficiency")
    _, low, high, k = rejection_curve(y, score, [target], sample_weight=sample_weight, cl=cl)
    n_bkg = _roc_with_counts(y, score, sample_weight)[3]
    return {
        "n_bkg_selected": int(k[0]),
        "n_background": int(n_bkg),
        "binomial_low": float(low[0]),
        "binomial_high": float(high[0]) if np.isfinite(high[0]) else None,
    }


def _stratified_resample_weights(
    group: np.ndarray, w: np.ndarray, members: np.ndarray, n_groups: int, rows: int, rng: Any
) -> np.ndarray:
    """(rows, n_groups): per resample, the summed weight per tie group of ``len(members)``
    events drawn with replacement from ``members`` (positions in score order)."""
    picks = members[rng.integers(0, len(members), size=(rows, len(members)))]  # (R, M)
    weights = w[picks].ravel()
    flat = group[picks]  # (R, M) tie groups, shifted in place to a bin per (resample, group)
    del picks  # each (R, M) array is _CHUNK_ENTRIES entries: hold as few as possible
    flat += np.arange(rows)[:, None] * n_groups
    summed = np.bincount(flat.ravel(), weights=weights, minlength=rows * n_groups)
    return summed.reshape(rows, n_groups)


def bootstrap_metrics(
    y: Any,
    score: Any,
    *,
    signal_efficiencies: Sequence[float] = (0.3, 0.5),
    sample_weight: Any = None,
    n_resamples: int = 200,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """AUC ``(B,)`` and background efficiency ``(B, E)`` at each of the E
    ``signal_efficiencies`` in each of ``n_resamples`` stratified bootstrap resamples of the
    test events (seeded by ``seed``: the same inputs give the same resamples)."""
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, int) or n_resamples < 2:
        raise DataError(f"n_resamples: expected a whole number >= 2, got {n_resamples!r}")
    targets = [check_efficiency(e, name="signal_efficiencies") for e in signal_efficiencies]
    y_arr, s_arr, w_arr = _prepare(y, score, sample_weight)
    order = np.argsort(-s_arr, kind="mergesort")  # (N,) descending, as the ROC
    s_sorted, w_sorted = s_arr[order], w_arr[order]
    group = np.r_[0, np.cumsum(np.diff(s_sorted) != 0)]  # (N,) tie group of each position
    n_groups = int(group[-1]) + 1
    is_sig = y_arr[order] == 1
    sig, bkg = np.flatnonzero(is_sig), np.flatnonzero(~is_sig)
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ENTRIES // len(s_arr))
    aucs, effs = [], []
    for start in range(0, n_resamples, chunk):
        rows = min(chunk, n_resamples - start)
        # Cumulated and normalised in place, into (R, G + 1) arrays whose first column is
        # the ROC's origin: two (R, G) arrays alive instead of six.
        eps_s, eps_b = np.zeros((rows, n_groups + 1)), np.zeros((rows, n_groups + 1))
        for eps, members in ((eps_s, sig), (eps_b, bkg)):
            summed = _stratified_resample_weights(group, w_sorted, members, n_groups, rows, rng)
            np.cumsum(summed, axis=1, out=eps[:, 1:])
            del summed
            with np.errstate(invalid="ignore", divide="ignore"):  # all-zero weights: NaN
                eps[:, 1:] /= eps[:, -1:].copy()
        aucs.append(np.sum(np.diff(eps_b, axis=1) * (eps_s[:, 1:] + eps_s[:, :-1]) / 2, axis=1))
        effs.append(np.stack([_interpolate_rows(eps_s, eps_b, t) for t in targets], axis=1))
    return np.concatenate(aucs), np.concatenate(effs).reshape(n_resamples, len(targets))


def _percentiles(values: np.ndarray, cl: float) -> tuple[float, float]:
    low, high = np.nanpercentile(values, [50 * (1 - cl), 50 * (1 + cl)])
    return float(low), float(high)


def classification_uncertainties(
    y: Any,
    prob: Any,
    *,
    signal_efficiencies: Sequence[float] = (0.3, 0.5),
    sample_weight: Any = None,
    n_resamples: int = 200,
    seed: int = 0,
    cl: float = CONFIDENCE,
) -> dict[str, Any]:
    """metrics.json's ``uncertainties``: for each working point (keyed like the rejections
    of :func:`~hepdl.metrics.classification_summary`) the background events it rests on
    and the binomial interval of the rejection; with ``n_resamples`` > 0 also the AUC's
    bootstrap std and interval and the rejection's bootstrap interval. JSON-safe: an
    unbounded upper end is ``None``."""
    cl = _check_cl(cl)
    effs = [check_efficiency(e, name="signal_efficiencies") for e in signal_efficiencies]
    out: dict[str, Any] = {"confidence_level": cl}
    for eff in effs:
        out[f"rejection_at_eps_s_{eff}"] = rejection_with_errors(
            y, prob, signal_efficiency=eff, sample_weight=sample_weight, cl=cl
        )
    if not n_resamples:
        return out
    aucs, eps_b = bootstrap_metrics(
        y, prob, signal_efficiencies=effs, sample_weight=sample_weight,
        n_resamples=n_resamples, seed=seed,
    )  # fmt: skip
    auc_low, auc_high = _percentiles(aucs, cl)
    out["bootstrap"] = {"resamples": n_resamples, "seed": seed, "stratified": True}
    out["auc"] = {"std": float(np.nanstd(aucs, ddof=1)), "low": auc_low, "high": auc_high}
    for j, eff in enumerate(effs):
        eb_low, eb_high = _percentiles(eps_b[:, j], cl)
        entry = out[f"rejection_at_eps_s_{eff}"]
        entry["bootstrap_low"] = 1.0 / eb_high if eb_high > 0 else None
        entry["bootstrap_high"] = 1.0 / eb_low if eb_low > 0 else None
    return out


def rejection_band(
    predictions: Sequence[tuple[np.ndarray, np.ndarray]], eps_s_grid: Any, *, cl: float = CONFIDENCE
) -> np.ndarray:
    """(5, G) for runs' test ``(labels, scores)``: the median, minimum and maximum over runs
    of :func:`rejection_curve` on ``eps_s_grid`` (G,), then the lowest binomial lower and
    highest binomial upper end over runs. ``inf`` where a run rests on < 1 background event."""
    if not predictions:
        raise DataError("predictions: expected at least one run's (labels, scores)")
    curves = [rejection_curve(y, s, eps_s_grid, cl=cl) for y, s in predictions]
    values = np.stack([c[0] for c in curves])  # (R, G)
    lows = np.stack([c[1] for c in curves])
    highs = np.stack([c[2] for c in curves])
    return np.stack(
        [np.median(values, axis=0), values.min(0), values.max(0), lows.min(0), highs.max(0)]
    )
