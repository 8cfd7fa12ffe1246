r"""Binary classification metrics of the field, as pure NumPy functions.

Conventions used throughout:

* ``y`` holds truth labels, 1 = signal and 0 = background, shape ``(N,)``.
* ``score`` is any real discriminant, higher = more signal-like, shape ``(N,)``.
  An event is *selected* at threshold :math:`t` when ``score >= t``.
* ``sample_weight`` (optional, non-negative, shape ``(N,)``) weights every event; efficiencies
  are ratios of summed weights.

For a threshold :math:`t` the signal and background efficiencies are

.. math::

    \varepsilon_S(t) = \frac{\sum_{i:\,y_i=1,\,s_i \ge t} w_i}{\sum_{i:\,y_i=1} w_i},
    \qquad
    \varepsilon_B(t) = \frac{\sum_{i:\,y_i=0,\,s_i \ge t} w_i}{\sum_{i:\,y_i=0} w_i},

i.e. the true positive rate and the false positive rate. The background rejection is
:math:`1/\varepsilon_B` and the significance improvement characteristic (SIC) is
:math:`\varepsilon_S/\sqrt{\varepsilon_B}`: the factor by which a cut on the score improves
the naive significance :math:`S/\sqrt{B}`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.metrics.checks import (
    as_1d,
    check_both_classes,
    check_efficiency,
    check_labels,
    check_same_length,
    check_scores,
    check_weights,
)

__all__ = [
    "accuracy",
    "background_rejection",
    "binary_accuracy",
    "classification_summary",
    "false_positive_rate",
    "max_significance_improvement",
    "one_vs_rest_scores",
    "roc_auc",
    "roc_curve",
]


def _prepare(y: Any, score: Any, sample_weight: Any, *, score_name: str = "score"):
    """Checked ``(y, score, w)`` arrays, each ``(N,)``, with both classes present."""
    y_arr = check_labels(y)
    s_arr = check_scores(score, name=score_name)
    check_same_length(y=y_arr, **{score_name: s_arr})
    w_arr = check_weights(sample_weight, n=len(y_arr))
    check_both_classes(y_arr, w_arr)
    return y_arr, s_arr, w_arr


def _roc_points(
    y: np.ndarray, score: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(eps_b, eps_s, thresholds, n_bkg_selected)``, one entry per distinct score plus (0, 0).

    ``n_bkg_selected`` is the raw (unweighted) number of background events selected at each
    threshold; it sets the statistical precision of ``eps_b`` whatever the weights.
    """
    order = np.argsort(-score, kind="mergesort")  # (N,) descending score, stable
    s_sorted = score[order]
    is_sig = y[order] == 1
    w_sorted = w[order]
    # The last index of each group of tied scores: a cut cannot split ties.
    last = np.r_[np.flatnonzero(np.diff(s_sorted)), len(s_sorted) - 1]
    w_sig = np.cumsum(np.where(is_sig, w_sorted, 0.0))[last]
    w_bkg = np.cumsum(np.where(is_sig, 0.0, w_sorted))[last]
    n_bkg = np.cumsum(~is_sig)[last]
    eps_s = np.r_[0.0, w_sig / w_sig[-1]]
    eps_b = np.r_[0.0, w_bkg / w_bkg[-1]]
    thresholds = np.r_[np.inf, s_sorted[last]]
    return eps_b, eps_s, thresholds, np.r_[0, n_bkg]


def roc_curve(
    y: Any, score: Any, *, sample_weight: Any = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Receiver operating characteristic: background and signal efficiency per threshold.

    Returns ``(eps_b, eps_s, thresholds)``, each of shape ``(K + 1,)`` where ``K`` is the
    number of distinct scores, in the order of :func:`sklearn.metrics.roc_curve`
    (false positive rate, true positive rate, thresholds) with ``drop_intermediate=False``.
    ``thresholds`` decrease; the first is ``inf`` and selects nothing, so the curve starts
    at :math:`(\varepsilon_B, \varepsilon_S) = (0, 0)` and ends at :math:`(1, 1)`. Events with
    tied scores enter together. See the module docstring for the efficiency formulas.

    Note the order: :func:`hepdl.plots.plot_roc` takes ``(eps_s, eps_b)``.

    Raises :class:`~hepdl.errors.DataError` for lengths that differ, empty input, labels
    other than 0/1, a class missing, non-finite scores or negative weights.
    """
    y_arr, s_arr, w_arr = _prepare(y, score, sample_weight)
    eps_b, eps_s, thresholds, _ = _roc_points(y_arr, s_arr, w_arr)
    return eps_b, eps_s, thresholds


def _trapezoid(y: np.ndarray, x: np.ndarray) -> float:
    """:math:`\\int y\\,dx` by the trapezoidal rule."""
    return float(np.sum(np.diff(x) * (y[1:] + y[:-1]) / 2.0))


def roc_auc(y: Any, score: Any, *, sample_weight: Any = None) -> float:
    r"""Area under the ROC curve, :math:`\int_0^1 \varepsilon_S \, d\varepsilon_B`.

    Equals the probability that a random signal event scores higher than a random
    background event (ties count one half); 0.5 for a random classifier, 1 for perfect
    separation. Computed with the trapezoidal rule on :func:`roc_curve`, which matches
    :func:`sklearn.metrics.roc_auc_score` including ties and weights.
    """
    eps_b, eps_s, _ = roc_curve(y, score, sample_weight=sample_weight)
    return _trapezoid(eps_s, eps_b)


def accuracy(y: Any, predicted_label: Any, *, sample_weight: Any = None) -> float:
    r"""Fraction of events whose predicted label equals the truth, :math:`\sum_i w_i
    [\hat y_i = y_i] / \sum_i w_i`.

    Labels are integers (any number of classes); ``y`` and ``predicted_label`` are ``(N,)``.
    """
    y_arr = _check_integer_labels(y, name="y")
    p_arr = _check_integer_labels(predicted_label, name="predicted_label")
    check_same_length(y=y_arr, predicted_label=p_arr)
    w = check_weights(sample_weight, n=len(y_arr))
    total = w.sum()
    if total <= 0:
        raise DataError("sample_weight: expected a positive total weight, got 0")
    return float(np.sum(w * (y_arr == p_arr)) / total)


def _check_integer_labels(values: Any, *, name: str) -> np.ndarray:
    arr = as_1d(values, name=name)
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        return arr.astype(np.int64)
    if np.issubdtype(arr.dtype, np.floating) and np.all(np.isfinite(arr)):
        if np.all(arr == np.round(arr)):
            return arr.astype(np.int64)
    raise DataError(
        f"{name}: expected integer class labels; for probabilities use "
        "binary_accuracy(y, prob, threshold=...)"
    )


def binary_accuracy(
    y: Any, prob: Any, *, threshold: float = 0.5, sample_weight: Any = None
) -> float:
    """Accuracy of the prediction ``prob > threshold`` (signal) for binary labels ``y``.

    ``prob`` holds signal probabilities in [0, 1], shape ``(N,)``; a value outside usually
    means logits were passed, which is refused (apply a sigmoid first, or use
    ``accuracy(y, score > cut)`` for an arbitrary score).
    """
    y_arr = check_labels(y)
    p_arr = check_scores(prob, name="prob")
    check_same_length(y=y_arr, prob=p_arr)
    if p_arr.min() < 0.0 or p_arr.max() > 1.0:
        raise DataError(
            f"prob: expected probabilities in [0, 1], got values in "
            f"[{p_arr.min():g}, {p_arr.max():g}]; apply a sigmoid to logits first"
        )
    thr = float(threshold)
    if not (0.0 <= thr <= 1.0):
        raise DataError(f"threshold: expected a number in [0, 1], got {threshold!r}")
    return accuracy(y_arr, (p_arr > thr).astype(np.int64), sample_weight=sample_weight)


def _eps_b_at(eps_s: np.ndarray, eps_b: np.ndarray, target: float) -> float:
    """Background efficiency at signal efficiency ``target``, linear between ROC points."""
    i = int(np.searchsorted(eps_s, target, side="left"))  # first point with eps_s >= target
    if eps_s[i] == target:
        return float(eps_b[i])  # the lowest eps_b reaching target
    s0, s1, b0, b1 = eps_s[i - 1], eps_s[i], eps_b[i - 1], eps_b[i]
    return float(b0 + (target - s0) * (b1 - b0) / (s1 - s0))


def background_rejection(
    y: Any, score: Any, *, signal_efficiency: float, sample_weight: Any = None
) -> float:
    r"""Background rejection :math:`1/\varepsilon_B` at the working point
    :math:`\varepsilon_S` = ``signal_efficiency``.

    Between two ROC points :math:`\varepsilon_B` is interpolated linearly in
    :math:`\varepsilon_S`:

    .. math::

        \varepsilon_B = \varepsilon_{B,0} + (\varepsilon_S - \varepsilon_{S,0})
        \frac{\varepsilon_{B,1} - \varepsilon_{B,0}}{\varepsilon_{S,1} - \varepsilon_{S,0}},

    which is the working point reached by applying the two neighbouring cuts to random
    fractions of the events, so it is achievable, and it does not jump with the binning of
    the scores. Where several ROC points have exactly this :math:`\varepsilon_S` (tied signal
    scores), the lowest :math:`\varepsilon_B` is used.

    Returns ``inf`` when no background survives at the working point
    (:math:`\varepsilon_B = 0`), e.g. for perfect separation. This is a choice: the measured
    rejection is then only bounded, larger than the number of background events
    :math:`N_B` (about :math:`N_B/3` at 95% CL by the rule of three). A finite number such
    as :math:`N_B` would read like a measurement and would change with the size of the test
    set, so ``inf`` is returned and it is up to the caller to quote :math:`> N_B`;
    ``inf`` still orders correctly when classifiers are compared.

    ``signal_efficiency`` must lie in (0, 1].
    """
    target = check_efficiency(signal_efficiency, name="signal_efficiency")
    eps_b, eps_s, _ = roc_curve(y, score, sample_weight=sample_weight)
    eb = _eps_b_at(eps_s, eps_b, target)
    return math.inf if eb <= 0.0 else 1.0 / eb


def false_positive_rate(
    y: Any, score: Any, *, signal_efficiency: float, sample_weight: Any = None
) -> float:
    r"""False-positive rate (background efficiency) :math:`\varepsilon_B` at the working point
    :math:`\varepsilon_S` = ``signal_efficiency``: the fraction of background that a cut
    keeping this fraction of the signal lets through, e.g. the EG-vs-pile-up figure
    "FPR at 97% signal efficiency".

    The same working point as :func:`background_rejection` (linear interpolation between
    ROC points, the lowest :math:`\varepsilon_B` among tied signal scores), reported as
    :math:`\varepsilon_B` itself: at high signal efficiency the rejection is close to 1
    and the FPR reads better (0.05, not 20). Returns 0.0 when no background survives;
    with :math:`N_B` background events that means an FPR below about :math:`3/N_B`.
    ``signal_efficiency`` must lie in (0, 1].
    """
    target = check_efficiency(signal_efficiency, name="signal_efficiency")
    eps_b, eps_s, _ = roc_curve(y, score, sample_weight=sample_weight)
    return _eps_b_at(eps_s, eps_b, target)


def max_significance_improvement(
    y: Any, score: Any, *, sample_weight: Any = None, min_background: float = 10
) -> tuple[float, float]:
    r"""Maximum of the significance improvement characteristic over the ROC curve.

    .. math::

        \mathrm{SIC} = \max_t \frac{\varepsilon_S(t)}{\sqrt{\varepsilon_B(t)}}

    Returns ``(max_sic, eps_s_at_max)``. Only thresholds that select at least
    ``min_background`` background events (raw count, whatever the weights) take part:
    as :math:`\varepsilon_B \to 0` the SIC is dominated by the fluctuation of the last few
    background events (:math:`1/\sqrt{0}` is meaningless), and the maximum would always sit
    at the tightest cut. The default of 10 events keeps the relative statistical uncertainty
    of :math:`\sqrt{\varepsilon_B}` near 16%; ``min_background=1`` is the loosest sensible
    choice. Along a straight segment between ROC points the SIC rises monotonically, so
    the maximum over the interpolated curve sits on a ROC point.

    Raises :class:`~hepdl.errors.DataError` if fewer than ``min_background`` background
    events exist in total.
    """
    try:
        min_bkg = float(min_background)
    except (TypeError, ValueError):
        raise DataError(f"min_background: expected a number >= 1, got {min_background!r}") from None
    if not min_bkg >= 1.0:  # also rejects NaN
        raise DataError(f"min_background: expected a number >= 1, got {min_background!r}")
    y_arr, s_arr, w_arr = _prepare(y, score, sample_weight)
    eps_b, eps_s, _, n_bkg = _roc_points(y_arr, s_arr, w_arr)
    usable = (n_bkg >= min_bkg) & (eps_b > 0)
    if not usable.any():
        raise DataError(
            f"min_background: no threshold selects {min_bkg:g} background events; the "
            f"sample has only {int(n_bkg[-1])}. Use more background or a lower min_background"
        )
    sic = np.where(usable, eps_s / np.sqrt(np.where(usable, eps_b, 1.0)), -np.inf)
    best = int(np.argmax(sic))
    return float(sic[best]), float(eps_s[best])


def _json_number(value: float) -> float | None:
    """``value`` as a float, or ``None`` (JSON null) when it is not finite."""
    return float(value) if math.isfinite(value) else None


def classification_summary(
    y: Any,
    prob: Any,
    *,
    signal_efficiencies: Sequence[float] = (0.3, 0.5),
    threshold: float = 0.5,
    sample_weight: Any = None,
    min_background: float = 10,
) -> dict[str, float | int | None]:
    """The usual numbers for a binary classifier, as a JSON-safe dict.

    Keys: ``accuracy`` (of ``prob > threshold``), ``auc``, ``rejection_at_eps_s_{eps}`` for
    each ``eps`` in ``signal_efficiencies`` (formatted as ``str(float(eps))``, e.g.
    ``rejection_at_eps_s_0.3``), then ``fpr_at_eps_s_{eps}`` (the false-positive rate
    1 / rejection, :func:`false_positive_rate`), ``max_sic`` and ``max_sic_eps_s`` (see
    :func:`max_significance_improvement`), ``n_signal`` and ``n_background`` (raw counts).

    Every value is a Python ``float`` or ``int`` or ``None``, so ``json.dumps(...,
    allow_nan=False)`` works. ``None`` stands for a value that is not a finite number: a
    rejection is ``None`` when no background survives (:func:`background_rejection` returns
    ``inf``; the rejection is then larger than ``n_background``), and ``max_sic`` and
    ``max_sic_eps_s`` are ``None`` when fewer than ``min_background`` background events
    exist.
    """
    y_arr, p_arr, _ = _prepare(y, prob, sample_weight, score_name="prob")
    effs = [check_efficiency(e, name="signal_efficiencies") for e in signal_efficiencies]
    summary: dict[str, float | int | None] = {
        "accuracy": binary_accuracy(y_arr, p_arr, threshold=threshold, sample_weight=sample_weight),
        "auc": roc_auc(y_arr, p_arr, sample_weight=sample_weight),
    }
    for eff in effs:
        rej = background_rejection(y_arr, p_arr, signal_efficiency=eff, sample_weight=sample_weight)
        summary[f"rejection_at_eps_s_{eff}"] = _json_number(rej)
    for eff in effs:
        fpr = false_positive_rate(y_arr, p_arr, signal_efficiency=eff, sample_weight=sample_weight)
        summary[f"fpr_at_eps_s_{eff}"] = _json_number(fpr)
    n_bkg = int((y_arr == 0).sum())
    if n_bkg >= float(min_background):
        sic, sic_eps = max_significance_improvement(
            y_arr, p_arr, sample_weight=sample_weight, min_background=min_background
        )
        summary["max_sic"], summary["max_sic_eps_s"] = sic, sic_eps
    else:
        summary["max_sic"] = summary["max_sic_eps_s"] = None
    summary["n_signal"] = int((y_arr == 1).sum())
    summary["n_background"] = n_bkg
    return summary


def one_vs_rest_scores(
    prob: Any, signal_class: int, *, background_classes: int | Sequence[int] | None = None
) -> np.ndarray:
    r"""Binary discriminant from multiclass probabilities ``prob`` of shape ``(N, C)``.

    .. math::

        D = \frac{p_\mathrm{sig}}{p_\mathrm{sig} + \sum_{b} p_b}

    with :math:`p_\mathrm{sig}` = ``prob[:, signal_class]`` and the sum over
    ``background_classes`` (default: every other class, so for softmax outputs :math:`D`
    equals :math:`p_\mathrm{sig}` up to rounding). Naming one background class gives the
    pairwise discriminant used by multiclass taggers (e.g. :math:`H\to b\bar b` vs QCD):
    it ranks events as a classifier trained on that pair alone would, ignoring the other
    classes. Evaluate it on events of the pair only, e.g.
    ``mask = np.isin(labels, [sig, bkg]); roc_auc(labels[mask] == sig, D[mask])``.

    Rows need not sum to one (independent sigmoids work too). Where the denominator is 0
    (both probabilities underflowed) :math:`D` is set to 0.5, no preference. Returns
    ``(N,)`` floats in [0, 1].
    """
    p = np.asarray(prob)
    if p.ndim != 2 or p.shape[1] < 2:
        raise DataError(f"prob: expected shape (N, C) with C >= 2 classes, got {p.shape}")
    if p.shape[0] == 0:
        raise DataError("prob: expected a non-empty array, got 0 rows")
    p = p.astype(np.float64, copy=False)
    if not np.all(np.isfinite(p)) or p.min() < 0:
        raise DataError("prob: expected finite non-negative probabilities")
    n_classes = p.shape[1]
    sig = _class_index(signal_class, n_classes, name="signal_class")
    if background_classes is None:
        bkg = [c for c in range(n_classes) if c != sig]
    else:
        listed = (
            [background_classes]
            if isinstance(background_classes, (int, np.integer))
            else list(background_classes)
        )
        if not listed:
            raise DataError("background_classes: expected at least one class index")
        bkg = [_class_index(c, n_classes, name="background_classes") for c in listed]
        if sig in bkg:
            raise DataError(
                f"background_classes: must not contain the signal_class {sig}, got {listed}"
            )
    p_sig = p[:, sig]  # (N,)
    denom = p_sig + p[:, bkg].sum(axis=1)  # (N,)
    out = np.full(len(p), 0.5)
    np.divide(p_sig, denom, out=out, where=denom > 0)
    return out


def _class_index(value: Any, n_classes: int, *, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise DataError(f"{name}: expected an integer class index, got {value!r}")
    if not 0 <= int(value) < n_classes:
        raise DataError(f"{name}: expected a class index in [0, {n_classes - 1}], got {int(value)}")
    return int(value)
