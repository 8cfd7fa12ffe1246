r"""Regression metrics of the field (energy, mass and momentum regression), as pure NumPy.

Conventions used throughout:

* ``pred`` holds the regressed values :math:`\hat y_i` and ``true`` the true values
  :math:`y_i`, each of shape ``(N,)`` and in the same physical units.
* The *ratio* :math:`r_i = \hat y_i / y_i` is what jet-energy calibrations study; it needs
  :math:`y_i \ne 0`.
* ``sample_weight`` (optional, non-negative, shape ``(N,)``) weights the events of
  :func:`bias`, :func:`rmse` and :func:`mae`; the quantile-based metrics are unweighted.

The *response* is the median of the ratio and the *resolution* half the 16–84 %
interquantile range of the ratio (half the width of its central 68 %),

.. math::

    R = \operatorname{median}_i r_i,
    \qquad
    \sigma_{\mathrm{IQR}} = \tfrac{1}{2}\left(q_{0.84}(r) - q_{0.16}(r)\right),
    \qquad
    \frac{\sigma_{\mathrm{IQR}}}{R},

the last being the *relative resolution* quoted in jet-energy papers (the resolution after
a calibration that brings the response to 1). For a Gaussian ratio of width :math:`\sigma`,
:math:`\sigma_{\mathrm{IQR}} = z_{0.84}\,\sigma = 0.9945\,\sigma`. Quantiles are those of
:func:`numpy.percentile` (linear interpolation between order statistics).

Unlike the mean and the standard deviation, these ignore the far tails (jets with a lost
neutrino, a mis-measured track) that a squared error is dominated by. The Gaussian *core*
(:func:`gaussian_core_fit`) is the other common summary: a Gaussian fitted to the ratio
within :math:`\mu \pm k\sigma` only.

The absolute errors are

.. math::

    \mathrm{bias} = \frac{\sum_i w_i (\hat y_i - y_i)}{\sum_i w_i},
    \qquad
    \mathrm{RMSE} = \sqrt{\frac{\sum_i w_i (\hat y_i - y_i)^2}{\sum_i w_i}},
    \qquad
    \mathrm{MAE} = \frac{\sum_i w_i |\hat y_i - y_i|}{\sum_i w_i},

and for a network that predicts an uncertainty :math:`\hat\sigma_i` the *pulls*
:math:`p_i = (\hat y_i - y_i)/\hat\sigma_i` follow a unit Gaussian when the uncertainty is
right: a pull width above 1 means the uncertainties are too small. For predicted quantiles
:math:`\hat q_\tau(x_i)` the *coverage* :math:`\frac{1}{N}\sum_i [y_i < \hat q_\tau(x_i)]`
should equal :math:`\tau`.

Statistical uncertainties are asymptotic (large-sample) formulas, not a bootstrap, so every
result is deterministic; the formulas are given where they are used.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.metrics.checks import check_same_length, check_scores, check_weights

__all__ = [
    "MIN_ENTRIES",
    "bias",
    "binned_response",
    "gaussian_core_fit",
    "mae",
    "pull_summary",
    "pulls",
    "quantile_coverage",
    "ratio",
    "regression_summary",
    "relative_resolution",
    "resolution_iqr",
    "response",
    "rmse",
]

MIN_ENTRIES = 10
"""Fewest entries for which a bin of :func:`binned_response` or a Gaussian core fit is given."""

_P_LOW, _P_HIGH = 0.16, 0.84  # the quantiles of the resolution
_Z84 = NormalDist().inv_cdf(_P_HIGH)  # 0.9945: sigma_iqr of a unit Gaussian
_PHI_Z84 = NormalDist().pdf(_Z84)
# Asymptotic standard errors, in units of sigma / sqrt(n), for a Gaussian sample:
# median: sqrt(pi / 2); half of q(1-p) - q(p): sqrt(p (1 - 2p) / 2) / phi(z_{1-p}).
_MEDIAN_ERROR = math.sqrt(math.pi / 2.0)  # 1.2533
_HALF_IQR_ERROR = math.sqrt(_P_LOW * (1.0 - 2.0 * _P_LOW) / 2.0) / _PHI_Z84  # 0.9586


# --- input checks ----------------------------------------------------------------------


def _pair(pred: Any, true: Any) -> tuple[np.ndarray, np.ndarray]:
    """Checked finite ``(pred, true)`` float arrays, each ``(N,)``."""
    p = check_scores(pred, name="pred")
    t = check_scores(true, name="true")
    check_same_length(pred=p, true=t)
    return p, t


def _nonzero_true(true: np.ndarray) -> None:
    zero = true == 0
    if zero.any():
        raise DataError(
            f"true: expected non-zero true values for the ratio pred/true, found "
            f"{int(zero.sum())} zero (first at index {int(np.flatnonzero(zero)[0])}); "
            "drop them or judge the difference pred - true (bias, rmse, mae) instead"
        )


def _positive_sigma(sigma: Any, *, n: int) -> np.ndarray:
    s = check_scores(sigma, name="sigma")
    if len(s) != n:
        raise DataError(f"sigma: expected {n} entries (one per event), got {len(s)}")
    bad = s <= 0
    if bad.any():
        raise DataError(
            f"sigma: expected positive uncertainties, found {int(bad.sum())} <= 0 "
            f"(first at index {int(np.flatnonzero(bad)[0])})"
        )
    return s


def _total_weight(w: np.ndarray) -> float:
    total = float(w.sum())
    if total <= 0:
        raise DataError("sample_weight: expected a positive total weight, got 0")
    return total


# --- response and resolution -----------------------------------------------------------


def ratio(pred: Any, true: Any) -> np.ndarray:
    """The ratio ``pred / true`` as a float array ``(N,)``; every ``true`` must be non-zero."""
    p, t = _pair(pred, true)
    _nonzero_true(t)
    return p / t


def _half_iqr(values: np.ndarray) -> float:
    low, high = np.percentile(values, [100.0 * _P_LOW, 100.0 * _P_HIGH])
    return float(high - low) / 2.0


def _relative(resolution: float, resp: float) -> float:
    """``resolution / resp``; ``inf`` (or ``nan`` for 0/0) when the response is 0."""
    if resp == 0.0:
        return math.nan if resolution == 0.0 else math.inf
    return resolution / resp


def response(pred: Any, true: Any) -> float:
    r"""The response :math:`R = \operatorname{median}(\hat y / y)`; 1 for a calibrated
    estimate. Raises :class:`~hepdl.errors.DataError` for a zero ``true`` value."""
    return float(np.median(ratio(pred, true)))


def resolution_iqr(pred: Any, true: Any) -> float:
    r"""Half the 16–84 % interquantile range of :math:`\hat y / y`,
    :math:`\frac{1}{2}(q_{0.84} - q_{0.16})`, the raw half-width (not divided by the
    response; see :func:`relative_resolution`). Equals :math:`0.9945\,\sigma` for a
    Gaussian ratio of width :math:`\sigma`."""
    return _half_iqr(ratio(pred, true))


def relative_resolution(pred: Any, true: Any) -> float:
    r"""The relative resolution :math:`\sigma_{\mathrm{IQR}} / R`
    (:func:`resolution_iqr` over :func:`response`): the resolution after rescaling
    ``pred`` so that the response is 1, the number jet-energy papers quote. Returns
    ``inf`` when the response is 0."""
    r = ratio(pred, true)
    return _relative(_half_iqr(r), float(np.median(r)))


def _check_n_sigma(n_sigma: Any) -> float:
    try:
        k = float(n_sigma)
    except (TypeError, ValueError):
        raise DataError(f"n_sigma: expected a number in [1, 10], got {n_sigma!r}") from None
    if not 1.0 <= k <= 10.0:  # also rejects NaN
        raise DataError(f"n_sigma: expected a number in [1, 10], got {n_sigma!r}")
    return k


def _check_iterations(max_iterations: Any) -> int:
    if (
        isinstance(max_iterations, bool)
        or not isinstance(max_iterations, (int, np.integer))
        or max_iterations < 1
    ):
        raise DataError(f"max_iterations: expected an integer >= 1, got {max_iterations!r}")
    return int(max_iterations)


def _truncated_constants(k: float) -> tuple[float, float, float, float]:
    r"""``(P, m2, m4, c)`` of a unit Gaussian truncated to :math:`|z| < k`: the probability
    inside, :math:`\int_{-k}^{k} z^2\varphi`, :math:`\int_{-k}^{k} z^4\varphi`, and the
    variance factor :math:`c = m_2 / P` of the truncated distribution."""
    unit = NormalDist()
    phi = unit.pdf(k)
    p_in = 2.0 * unit.cdf(k) - 1.0
    m2 = p_in - 2.0 * k * phi
    m4 = 3.0 * m2 - 2.0 * k**3 * phi
    return p_in, m2, m4, m2 / p_in


def gaussian_core_fit(
    pred: Any, true: Any, *, n_sigma: float = 1.5, max_iterations: int = 10
) -> dict[str, float | int]:
    r"""Mean and width of the Gaussian core of :math:`r = \hat y / y`, fitted iteratively
    within :math:`\mu \pm k\sigma` (:math:`k` = ``n_sigma``).

    Method: an iterative truncated-Gaussian moment estimate, unbinned (no histogram, no
    :func:`scipy.optimize.curve_fit`, so no binning choice and no failed fits). It starts
    from the median and :math:`\sigma_{\mathrm{IQR}}/0.9945`; each iteration keeps the
    ratios with :math:`|r - \mu| \le k\sigma` and sets

    .. math::

        \mu \leftarrow \bar r_{\mathrm{win}},
        \qquad
        \sigma \leftarrow \sqrt{s^2_{\mathrm{win}} / c(k)},
        \qquad
        c(k) = 1 - \frac{2k\,\varphi(k)}{2\Phi(k) - 1},

    where :math:`\bar r_{\mathrm{win}}` and :math:`s^2_{\mathrm{win}}` are the mean and the
    variance (``ddof=0``) of the ratios in the window and :math:`c(k)` is the variance of a
    unit Gaussian truncated to :math:`|z| \le k` (0.5515 for :math:`k = 1.5`). For a fixed
    window this is the maximum-likelihood fit of a Gaussian truncated to the window. It
    stops after ``max_iterations`` or when :math:`\mu` and :math:`\sigma` change by less
    than :math:`10^{-6}\sigma`. Tails outside the window do not move the result; a
    Gaussian sample gives back its mean and width, without bias.

    The errors are the asymptotic (sandwich) errors of this fixed-point estimator for a
    Gaussian, which account for the window moving with the estimate; with
    :math:`n = n_{\mathrm{used}}/P(k)` the Gaussian-equivalent sample size,

    .. math::

        \delta\mu = \sigma\sqrt{\frac{1}{m_2\,n}},
        \qquad
        \delta\sigma = \sigma\sqrt{\frac{m_4 - c\,m_2}{4\,\left(m_2 - k(k^2 - c)\,\varphi(k)
        \right)^2 n}},

    with :math:`P = 2\Phi(k) - 1`, :math:`m_2 = \int_{-k}^{k} z^2\varphi\,dz` and
    :math:`m_4 = \int_{-k}^{k} z^4\varphi\,dz`; for :math:`k = 1.5`, :math:`\delta\mu =
    1.45\,\sigma/\sqrt{n}` and :math:`\delta\sigma = 1.84\,\sigma/\sqrt{n}` (the price of
    ignoring the tails; the full-sample values are 1 and 0.71).

    Returns ``{"mean", "sigma", "mean_error", "sigma_error", "n_used"}`` (floats, and the
    number of ratios in the final window as an int). ``n_sigma`` must lie in [1, 10]; at
    least :data:`MIN_ENTRIES` ratios are needed. A sample whose central 68 % is one value
    gives ``sigma`` = 0 and zero errors.
    """
    k = _check_n_sigma(n_sigma)
    iterations = _check_iterations(max_iterations)
    r = ratio(pred, true)
    if len(r) < MIN_ENTRIES:
        raise DataError(
            f"pred: a Gaussian core fit needs at least {MIN_ENTRIES} entries, got {len(r)}"
        )
    p_in, m2, m4, c = _truncated_constants(k)
    mean = float(np.median(r))
    sigma = _half_iqr(r) / _Z84
    inside = np.abs(r - mean) <= k * sigma
    for _ in range(iterations):
        if sigma == 0.0:
            break
        window = r[inside]
        if len(window) < 3:  # a degenerate window: keep the previous estimate
            break
        new_mean = float(window.mean())
        new_sigma = math.sqrt(float(window.var()) / c)
        converged = abs(new_mean - mean) < 1e-6 * sigma and abs(new_sigma - sigma) < 1e-6 * sigma
        mean, sigma = new_mean, new_sigma
        inside = np.abs(r - mean) <= k * sigma
        if converged:
            break
    n_used = int(inside.sum())
    n_equiv = max(n_used, 1) / p_in
    stability = m2 - k * (k * k - c) * NormalDist().pdf(k)
    return {
        "mean": mean,
        "sigma": sigma,
        "mean_error": sigma * math.sqrt(1.0 / (m2 * n_equiv)),
        "sigma_error": sigma * math.sqrt((m4 - c * m2) / (4.0 * stability**2 * n_equiv)),
        "n_used": n_used,
    }


# --- absolute errors -------------------------------------------------------------------


def _weighted_mean(values: np.ndarray, sample_weight: Any) -> float:
    w = check_weights(sample_weight, n=len(values))
    return float(np.sum(w * values) / _total_weight(w))


def bias(pred: Any, true: Any, *, sample_weight: Any = None) -> float:
    r"""The mean difference :math:`\sum_i w_i(\hat y_i - y_i) / \sum_i w_i`, in the units of
    ``true``; positive when the prediction is too high."""
    p, t = _pair(pred, true)
    return _weighted_mean(p - t, sample_weight)


def rmse(pred: Any, true: Any, *, sample_weight: Any = None) -> float:
    r"""Root mean squared error :math:`\sqrt{\sum_i w_i(\hat y_i - y_i)^2 / \sum_i w_i}`,
    as :func:`sklearn.metrics.root_mean_squared_error`."""
    p, t = _pair(pred, true)
    return math.sqrt(_weighted_mean((p - t) ** 2, sample_weight))


def mae(pred: Any, true: Any, *, sample_weight: Any = None) -> float:
    r"""Mean absolute error :math:`\sum_i w_i|\hat y_i - y_i| / \sum_i w_i`, as
    :func:`sklearn.metrics.mean_absolute_error`."""
    p, t = _pair(pred, true)
    return _weighted_mean(np.abs(p - t), sample_weight)


# --- predicted uncertainties -----------------------------------------------------------


def pulls(pred: Any, true: Any, sigma: Any) -> np.ndarray:
    r"""The pulls :math:`(\hat y_i - y_i) / \hat\sigma_i`, shape ``(N,)``; ``sigma`` holds the
    predicted uncertainties, each finite and > 0."""
    p, t = _pair(pred, true)
    s = _positive_sigma(sigma, n=len(p))
    return (p - t) / s


def pull_summary(pred: Any, true: Any, sigma: Any) -> dict[str, float]:
    """Mean and width of the pulls (:func:`pulls`): 0 and 1 for right uncertainties.

    Returns ``{"mean", "width", "width_iqr"}``: the mean, the standard deviation
    (``ddof=0``) and half the 16–84 % interquantile range divided by 0.9945, so that both
    widths are 1 for a unit Gaussian; ``width_iqr`` ignores a few far-off pulls that
    dominate ``width``.
    """
    values = pulls(pred, true, sigma)
    return {
        "mean": float(values.mean()),
        "width": float(values.std()),
        "width_iqr": _half_iqr(values) / _Z84,
    }


def _check_quantiles(quantiles: Any) -> np.ndarray:
    q = check_scores(quantiles, name="quantiles")
    if np.any(q <= 0.0) or np.any(q >= 1.0):
        raise DataError(f"quantiles: expected levels in (0, 1), got {q.tolist()}")
    return q


def quantile_coverage(true: Any, quantile_predictions: Any, quantiles: Any) -> dict[float, float]:
    r"""Observed coverage of predicted quantiles: for each level :math:`\tau` the fraction
    of events with ``true`` strictly below the predicted :math:`\tau` quantile,
    :math:`\frac{1}{N}\sum_i [y_i < \hat q_\tau(x_i)]`, which is :math:`\tau` for a
    calibrated prediction (binomial error :math:`\sqrt{\tau(1-\tau)/N}`).

    ``true`` is ``(N,)``, ``quantile_predictions`` is ``(N, Q)`` with column ``j`` the
    prediction of level ``quantiles[j]``, each level in (0, 1). Returns
    ``{float(tau): fraction}`` in the order of ``quantiles``.
    """
    t = check_scores(true, name="true")
    q = _check_quantiles(quantiles)
    qp = np.asarray(quantile_predictions)
    if qp.ndim != 2 or qp.shape[1] != len(q):
        raise DataError(
            f"quantile_predictions: expected shape (N, {len(q)}), one column per level in "
            f"quantiles, got shape {qp.shape}"
        )
    if not (np.issubdtype(qp.dtype, np.integer) or np.issubdtype(qp.dtype, np.floating)):
        raise DataError(f"quantile_predictions: expected real numbers, got dtype {qp.dtype}")
    if not np.all(np.isfinite(qp)):
        raise DataError("quantile_predictions: expected finite values, found NaN or inf")
    if len(qp) != len(t):
        raise DataError(
            f"lengths differ: true has {len(t)}, quantile_predictions has {len(qp)} rows; "
            "expected one row per event"
        )
    below = t[:, None] < qp  # (N, Q)
    return {float(level): float(frac) for level, frac in zip(q, below.mean(axis=0), strict=True)}


# --- binned response -------------------------------------------------------------------


def _bin_edges(bins: Any, by: np.ndarray) -> np.ndarray:
    """Increasing edges ``(B + 1,)``: ``bins`` equal-population bins of ``by``, or given."""
    if isinstance(bins, bool):
        raise DataError(f"bins: expected a number of bins or a list of edges, got {bins!r}")
    if isinstance(bins, (int, np.integer)):
        if bins < 1:
            raise DataError(f"bins: expected a positive number of bins, got {bins!r}")
        edges = np.unique(np.quantile(by, np.linspace(0.0, 1.0, int(bins) + 1)))
        return edges if len(edges) > 1 else np.array([edges[0], edges[0]])
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError(
            f"bins: expected a number of bins or a list of edges, got {bins!r}"
        ) from None
    if edges.ndim != 1 or len(edges) < 2:
        raise DataError(
            f"bins: expected at least two bin edges (or a number of bins), got {bins!r}"
        )
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise DataError(f"bins: expected finite, strictly increasing edges, got {edges.tolist()}")
    return edges


def _bin_index(by: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each entry, ``-1`` outside; bins are ``[low, high)``, the last ``[low, high]``."""
    idx = np.searchsorted(edges, by, side="right") - 1  # (N,)
    idx[by == edges[-1]] = len(edges) - 2
    idx[(by < edges[0]) | (by > edges[-1])] = -1
    return idx


def _ratio_stats(r: np.ndarray) -> dict[str, float | None]:
    """Response, resolution and their asymptotic errors for the ratios ``r`` (n,)."""
    n = len(r)
    resp = float(np.median(r))
    resolution = _half_iqr(r)
    sigma = resolution / _Z84  # Gaussian-equivalent width
    resp_error = _MEDIAN_ERROR * sigma / math.sqrt(n)
    res_error = _HALF_IQR_ERROR * sigma / math.sqrt(n)
    rel = _relative(resolution, resp)
    if resp != 0.0 and math.isfinite(rel):
        # Median and interquantile range are asymptotically uncorrelated (symmetric core).
        rel_error = abs(rel) * math.hypot(
            res_error / resolution if resolution else 0.0, resp_error / resp
        )
    else:
        rel_error = math.nan
    return {
        "response": resp,
        "resolution": resolution,
        "relative_resolution": _json_number(rel),
        "response_error": resp_error,
        "resolution_error": res_error,
        "relative_resolution_error": _json_number(rel_error),
    }


_STAT_KEYS = (
    "response",
    "resolution",
    "relative_resolution",
    "response_error",
    "resolution_error",
    "relative_resolution_error",
)


def binned_response(
    pred: Any, true: Any, bins: Any, *, by: Any = None, min_entries: int = MIN_ENTRIES
) -> list[dict[str, float | int | None]]:
    r"""Response and resolution in bins of ``by`` (default: ``true``), e.g. in bins of the
    true jet :math:`p_T`.

    ``bins`` is a number of equal-population bins (edges at quantiles of ``by``) or the
    increasing bin edges (equal-population bins merge where ties make two edges equal, so
    fewer bins may come back). Bins are ``[low, high)`` except the last, ``[low, high]``, as in
    :func:`numpy.histogram`; entries outside every bin are left out.

    Returns one dict per bin, in order, with keys ``low``, ``high``, ``n`` (entries),
    ``response`` (median ratio), ``resolution`` (half 16–84 % range of the ratio),
    ``relative_resolution`` (their quotient), ``response_error``, ``resolution_error`` and
    ``relative_resolution_error``. The errors are asymptotic and assume a Gaussian core of
    width :math:`\sigma = \sigma_{\mathrm{IQR}}/0.9945`:
    :math:`\delta R = 1.2533\,\sigma/\sqrt{n}` for the median, and
    :math:`\delta\sigma_{\mathrm{IQR}} = \sqrt{p(1-2p)/2}\,\sigma/(\varphi(z_{1-p})\sqrt n)
    = 0.9586\,\sigma/\sqrt{n}` (:math:`p = 0.16`) for the half range; the relative error
    of the quotient adds the two relative errors in quadrature (median and range are
    uncorrelated for a symmetric core). A bin with fewer than ``min_entries`` entries has
    ``None`` for every value but ``low``, ``high`` and ``n``; so has
    ``relative_resolution`` where the response is 0.
    """
    p, t = _pair(pred, true)
    _nonzero_true(t)
    b = t if by is None else check_scores(by, name="by")
    check_same_length(pred=p, true=t, by=b)
    if isinstance(min_entries, bool) or not isinstance(min_entries, (int, np.integer)):
        raise DataError(f"min_entries: expected an integer >= 1, got {min_entries!r}")
    if min_entries < 1:
        raise DataError(f"min_entries: expected an integer >= 1, got {min_entries!r}")
    edges = _bin_edges(bins, b)
    r = p / t
    idx = _bin_index(b, edges)
    out: list[dict[str, float | int | None]] = []
    for i in range(len(edges) - 1):
        in_bin = r[idx == i]
        entry: dict[str, float | int | None] = {
            "low": float(edges[i]),
            "high": float(edges[i + 1]),
            "n": len(in_bin),
        }
        if len(in_bin) >= min_entries:
            entry.update(_ratio_stats(in_bin))
        else:
            entry.update(dict.fromkeys(_STAT_KEYS))
        out.append(entry)
    return out


# --- summary ---------------------------------------------------------------------------


def _json_number(value: float) -> float | None:
    """``value`` as a float, or ``None`` (JSON null) when it is not finite."""
    return float(value) if math.isfinite(value) else None


def regression_summary(
    pred: Any,
    true: Any,
    *,
    sigma: Any = None,
    quantiles: Sequence[float] | None = None,
    quantile_predictions: Any = None,
    bins: Any = None,
    by: Any = None,
) -> dict[str, Any]:
    r"""The usual numbers for a regression, as a JSON-safe dict of plain floats, ints and lists.

    Keys, always: ``n``; ``response``, ``response_error``, ``resolution``,
    ``resolution_error``, ``relative_resolution``, ``relative_resolution_error`` (of the
    whole sample, as in :func:`binned_response`); ``core_mean``, ``core_sigma``,
    ``core_mean_error``, ``core_sigma_error``, ``core_n_used`` (:func:`gaussian_core_fit`
    with its defaults; ``None`` below :data:`MIN_ENTRIES` entries); ``bias``, ``rmse``,
    ``mae``. With ``sigma`` (predicted uncertainties ``(N,)``): ``pull_mean``,
    ``pull_width``, ``pull_width_iqr`` (:func:`pull_summary`). With ``quantiles`` and
    ``quantile_predictions`` ``(N, Q)``: ``coverage``, ``{str(float(tau)): fraction}``
    (e.g. ``"0.16"``), and ``coverage_error``, the binomial errors
    :math:`\sqrt{\tau(1-\tau)/N}` under the same keys (:func:`quantile_coverage`). With
    ``bins``: ``binned``, the list of :func:`binned_response` in bins of ``by`` (default
    ``true``).

    ``None`` stands for a value that is not a finite number, so ``json.dumps(...,
    allow_nan=False)`` works.
    """
    p, t = _pair(pred, true)
    _nonzero_true(t)
    r = p / t
    n = len(r)
    summary: dict[str, Any] = {"n": n}
    stats = _ratio_stats(r)
    for key in ("response", "response_error", "resolution", "resolution_error"):
        summary[key] = _json_number(stats[key])  # type: ignore[arg-type]
    summary["relative_resolution"] = stats["relative_resolution"]
    summary["relative_resolution_error"] = stats["relative_resolution_error"]
    if n >= MIN_ENTRIES:
        core = gaussian_core_fit(p, t)
        for key in ("mean", "sigma", "mean_error", "sigma_error"):
            summary[f"core_{key}"] = _json_number(core[key])
        summary["core_n_used"] = core["n_used"]
    else:
        for key in ("mean", "sigma", "mean_error", "sigma_error", "n_used"):
            summary[f"core_{key}"] = None
    summary["bias"] = bias(p, t)
    summary["rmse"] = rmse(p, t)
    summary["mae"] = mae(p, t)
    if sigma is not None:
        pull = pull_summary(p, t, sigma)
        summary["pull_mean"] = pull["mean"]
        summary["pull_width"] = pull["width"]
        summary["pull_width_iqr"] = pull["width_iqr"]
    if (quantiles is None) != (quantile_predictions is None):
        given, missing = (
            ("quantiles", "quantile_predictions")
            if quantile_predictions is None
            else ("quantile_predictions", "quantiles")
        )
        raise DataError(f"{missing}: expected together with {given}, got only {given}")
    if quantiles is not None:
        coverage = quantile_coverage(t, quantile_predictions, quantiles)
        summary["coverage"] = {str(level): frac for level, frac in coverage.items()}
        summary["coverage_error"] = {
            str(level): math.sqrt(level * (1.0 - level) / n) for level in coverage
        }
    if bins is not None:
        summary["binned"] = binned_response(p, t, bins, by=by)
    elif by is not None:
        raise DataError("by: expected together with bins, got only by")
    return summary
