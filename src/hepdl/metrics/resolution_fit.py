r"""The calorimeter energy resolution versus energy, and its fit by the textbook formula.

A calorimeter's relative energy resolution follows

.. math::

    \frac{\sigma_E}{E} = \frac{a}{\sqrt{E}} \oplus \frac{b}{E} \oplus c
    = \sqrt{\frac{a^2}{E} + \frac{b^2}{E^2} + c^2},

with :math:`E` in GeV: the *stochastic* term :math:`a` (shower and sampling fluctuations,
in :math:`\sqrt{\mathrm{GeV}}`, e.g. 0.028 for the CMS ECAL), the *noise* term :math:`b`
(electronic noise and pile-up summed over the cluster, in GeV) and the *constant* term
:math:`c` (non-uniformity, leakage, inter-calibration; a fraction). Every number here is a
fraction, not a percentage: 2.8 % is 0.028.

:func:`binned_resolution` measures the response and relative resolution in bins of the true
energy; :func:`fit_resolution` fits the formula to such points by least squares.
:func:`fit_binned_resolution` chains the two. Only NumPy and :mod:`scipy.optimize` (a
dependency of scikit-learn, imported on first use) are needed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.metrics.checks import check_same_length, check_scores
from hepdl.metrics.regression import (
    _HALF_IQR_ERROR,
    _MEDIAN_ERROR,
    _Z84,
    MIN_ENTRIES,
    _bin_edges,
    _bin_index,
    _half_iqr,
    gaussian_core_fit,
)

__all__ = [
    "METHODS",
    "TERMS",
    "BinnedResolution",
    "ResolutionFit",
    "binned_resolution",
    "fit_binned_resolution",
    "fit_resolution",
]

TERMS = ("a", "b", "c")
"""The terms of the formula: stochastic, noise, constant."""

METHODS = ("iqr", "core")
"""How :func:`binned_resolution` measures the width in a bin."""


# --- the fit -------------------------------------------------------------------------------


def _design(energy: np.ndarray) -> np.ndarray:
    """``(n, 3)`` columns ``1/E, 1/E^2, 1``: :math:`(\\sigma/E)^2` is linear in them."""
    return np.stack([1.0 / energy, 1.0 / energy**2, np.ones_like(energy)], axis=1)


@dataclass(frozen=True)
class ResolutionFit:
    r"""The result of :func:`fit_resolution`.

    ``a`` (:math:`\sqrt{\mathrm{GeV}}`), ``b`` (GeV) and ``c`` (fraction) are the fitted
    terms, each >= 0; a term not in ``terms`` was fixed to 0 and has error 0. ``a_error``
    and friends are symmetric 1-sigma errors and ``intervals`` the 68 % intervals
    ``{"a": (low, high), ...}`` (see :func:`fit_resolution` for how they are made).
    ``chi2`` is :math:`\sum_i ((y_i - f(E_i)) / \delta y_i)^2` at the minimum and ``ndf``
    the number of points minus the number of free terms.
    """

    a: float
    b: float
    c: float
    a_error: float
    b_error: float
    c_error: float
    chi2: float
    ndf: int
    terms: tuple[str, ...]
    intervals: dict[str, tuple[float, float]]
    n_points: int

    def evaluate(self, energy: Any) -> np.ndarray:
        r""":math:`\sigma/E` at ``energy`` (GeV, array-like, any shape), as floats."""
        e = np.asarray(energy, dtype=np.float64)
        return np.sqrt(self.a**2 / e + self.b**2 / e**2 + self.c**2)

    @property
    def chi2_per_ndf(self) -> float | None:
        """``chi2 / ndf``, ``None`` when ``ndf`` is 0."""
        return self.chi2 / self.ndf if self.ndf > 0 else None

    def as_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (plain floats, ints, lists) for metrics.json or validation.json."""
        return {
            "a": self.a,
            "a_error": self.a_error,
            "b": self.b,
            "b_error": self.b_error,
            "c": self.c,
            "c_error": self.c_error,
            "chi2": self.chi2,
            "ndf": self.ndf,
            "chi2_per_ndf": self.chi2_per_ndf,
            "terms": list(self.terms),
            "intervals": {k: [lo, hi] for k, (lo, hi) in self.intervals.items()},
            "n_points": self.n_points,
            "units": {"a": "sqrt(GeV)", "b": "GeV", "c": "fraction"},
        }

    def __str__(self) -> str:
        parts = []
        for term, unit in (("a", "%*sqrt(GeV)"), ("b", " GeV"), ("c", "%")):
            value, error = getattr(self, term), getattr(self, f"{term}_error")
            if term not in self.terms:
                parts.append(f"{term} = 0 (fixed)")
            elif term == "b":
                parts.append(f"b = {value:.3g} +- {error:.2g}{unit}")
            else:
                parts.append(f"{term} = {100 * value:.3g} +- {100 * error:.2g}{unit}")
        return ", ".join(parts) + f"; chi2/ndf = {self.chi2:.3g}/{self.ndf}"


def _check_terms(terms: Iterable[str]) -> tuple[str, ...]:
    if isinstance(terms, str):
        terms = tuple(terms)  # "ac" -> ("a", "c")
    try:
        given = tuple(terms)
    except TypeError:
        raise DataError(f"terms: expected a subset of {list(TERMS)}, got {terms!r}") from None
    unknown = [t for t in given if t not in TERMS]
    if unknown or not given or len(set(given)) != len(given):
        raise DataError(
            f"terms: expected a non-empty subset of {list(TERMS)} without repeats "
            f"(a = stochastic, b = noise, c = constant), got {list(given)}"
        )
    return tuple(t for t in TERMS if t in given)


def _check_points(
    energy: Any, relative_resolution: Any, errors: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = check_scores(energy, name="energy")
    y = check_scores(relative_resolution, name="relative_resolution")
    s = check_scores(errors, name="errors")
    check_same_length(energy=e, relative_resolution=y, errors=s)
    for name, values, what in (
        ("energy", e, "positive energies in GeV"),
        ("errors", s, "positive uncertainties"),
    ):
        bad = values <= 0
        if bad.any():
            raise DataError(
                f"{name}: expected {what}, found {int(bad.sum())} <= 0 "
                f"(first at index {int(np.flatnonzero(bad)[0])}: {values[bad][0]:g})"
            )
    bad = y < 0
    if bad.any():
        raise DataError(
            f"relative_resolution: expected sigma/E >= 0 (a fraction, e.g. 0.03), found "
            f"{int(bad.sum())} negative (first at index {int(np.flatnonzero(bad)[0])})"
        )
    return e, y, s


def fit_resolution(
    energy: Any,
    relative_resolution: Any,
    errors: Any,
    *,
    terms: Sequence[str] = TERMS,
) -> ResolutionFit:
    r"""Fit :math:`\sigma/E = a/\sqrt{E} \oplus b/E \oplus c` to measured points.

    ``energy`` ``(n,)`` in GeV (> 0), ``relative_resolution`` ``(n,)`` the measured
    :math:`\sigma/E` as fractions (>= 0) and ``errors`` ``(n,)`` their 1-sigma errors (> 0).
    ``terms`` names the free terms; the others are fixed to 0 (``terms=("a", "c")`` for a
    calorimeter without noise, such as the noiseless CaloGAN layout).

    Method: least squares, :math:`\chi^2 = \sum_i ((y_i - f(E_i))/\delta y_i)^2`, minimised
    over the squares :math:`q = (a^2, b^2, c^2) \ge 0` (the same minimum as over
    :math:`a, b, c \ge 0`), in which :math:`f^2` is linear, so the start (a non-negative
    linear fit of :math:`y^2`) is close and the :math:`\chi^2` is nearly parabolic even
    where a term is 0. :func:`scipy.optimize.least_squares` (trust region with bounds)
    polishes it. The errors are absolute: the covariance of :math:`q` is
    :math:`(J^T J)^{-1}` of the residuals' Jacobian, not scaled by :math:`\chi^2/\mathrm{ndf}`
    (as MINUIT's HESSE with ``errordef = 1``). Each term's 68 % interval is the
    :math:`\Delta\chi^2 = 1` interval of :math:`q_k` mapped to the term,
    :math:`[\sqrt{\max(q_k - \delta q_k, 0)}, \sqrt{q_k + \delta q_k}]`, and its error half
    the interval's width: for a well-measured term that is :math:`\delta q_k/(2\sqrt{q_k})`,
    the usual parabolic error, and for a term at 0, whose parabolic error in :math:`a`
    is undefined, the interval is the one-sided upper limit :math:`[0, \sqrt{\delta q_k}]`.

    Needs at least as many distinct energies as free terms; raises
    :class:`~hepdl.errors.DataError` for empty, negative or non-finite input.
    """
    free = _check_terms(terms)
    e, y, s = _check_points(energy, relative_resolution, errors)
    n_distinct = len(np.unique(e))
    if n_distinct < len(free):
        raise DataError(
            f"energy: fitting {len(free)} terms ({', '.join(free)}) needs at least "
            f"{len(free)} distinct energies, got {n_distinct}"
        )
    cols = [TERMS.index(t) for t in free]
    x = _design(e)[:, cols]  # (n, k)
    q = _fit_squares(x, y, s)
    f = np.sqrt(np.maximum(x @ q, 1e-300))  # (n,)
    chi2 = float(np.sum(((y - f) / s) ** 2))
    jac = x / (2.0 * f[:, None] * s[:, None])  # (n, k): d residual / d q
    try:
        cov = np.linalg.inv(jac.T @ jac)
    except np.linalg.LinAlgError:
        raise DataError(
            f"energy: the terms {list(free)} cannot be told apart at these energies "
            f"({np.unique(e).tolist()} GeV); fix a term to 0 or add energies"
        ) from None
    values = dict.fromkeys(TERMS, 0.0)
    errs = dict.fromkeys(TERMS, 0.0)
    intervals = {t: (0.0, 0.0) for t in TERMS}
    for j, term in enumerate(free):
        qj, dq = float(q[j]), math.sqrt(max(float(cov[j, j]), 0.0))
        low, high = math.sqrt(max(qj - dq, 0.0)), math.sqrt(qj + dq)
        values[term] = math.sqrt(qj)
        errs[term] = (high - low) / 2.0
        intervals[term] = (low, high)
    return ResolutionFit(
        a=values["a"],
        b=values["b"],
        c=values["c"],
        a_error=errs["a"],
        b_error=errs["b"],
        c_error=errs["c"],
        chi2=chi2,
        ndf=len(e) - len(free),
        terms=free,
        intervals=intervals,
        n_points=len(e),
    )


def _fit_squares(x: np.ndarray, y: np.ndarray, s: np.ndarray) -> np.ndarray:
    """The squares ``q`` (k,) >= 0 minimising ``sum(((y - sqrt(x q)) / s)^2)``."""
    from scipy.optimize import least_squares, nnls

    # Start: y^2 = x q with the error of y^2, 2 y s (floored so y = 0 keeps a weight).
    w = 1.0 / (2.0 * np.maximum(y, s) * s)  # (n,)
    start, _ = nnls(x * w[:, None], y**2 * w)
    scale = np.maximum(start, 1e-12 * max(float(np.max(y**2)), 1e-300))

    def residuals(q: np.ndarray) -> np.ndarray:
        return (y - np.sqrt(np.maximum(x @ q, 1e-300))) / s

    def jacobian(q: np.ndarray) -> np.ndarray:
        f = np.sqrt(np.maximum(x @ q, 1e-300))
        return -x / (2.0 * f[:, None] * s[:, None])

    result = least_squares(
        residuals,
        np.maximum(start, scale * 1e-3),  # strictly inside the bounds
        jac=jacobian,
        bounds=(0.0, np.inf),
        x_scale=scale,
        method="trf",
        xtol=1e-12,
        ftol=1e-12,
        gtol=1e-12,
    )
    best = np.where(result.active_mask == -1, 0.0, result.x)  # on the bound: exactly 0
    if np.sum(residuals(start) ** 2) < np.sum(residuals(best) ** 2):
        best = start  # the start is already the minimum (e.g. an exact y)
    return np.maximum(best, 0.0)


# --- binned measurement --------------------------------------------------------------------


@dataclass(frozen=True)
class BinnedResolution:
    r"""Per-bin response and relative resolution from :func:`binned_resolution`.

    Arrays ``(B,)``: ``low``, ``high`` (bin edges in true energy, GeV), ``energy`` (mean true
    energy of the bin: where to plot and fit the point), ``n`` (entries), ``response``
    (median or core mean of measured/true), ``response_error``, ``relative_resolution``
    (Gaussian-equivalent :math:`\sigma/E` after dividing by the response) and
    ``relative_resolution_error``. Bins with fewer than ``min_entries`` entries hold NaN
    (and ``n``); ``valid`` marks the others.
    """

    low: np.ndarray
    high: np.ndarray
    energy: np.ndarray
    n: np.ndarray
    response: np.ndarray
    response_error: np.ndarray
    relative_resolution: np.ndarray
    relative_resolution_error: np.ndarray
    method: str

    @property
    def valid(self) -> np.ndarray:
        """``(B,)`` bool: bins with a measured, positive-error resolution."""
        return np.isfinite(self.relative_resolution) & (self.relative_resolution_error > 0)

    def fit(self, *, terms: Sequence[str] = TERMS) -> ResolutionFit:
        """:func:`fit_resolution` on the valid bins."""
        return fit_binned_resolution(self, terms=terms)

    def as_records(self) -> list[dict[str, Any]]:
        """One JSON-safe dict per bin (``None`` where a value is NaN)."""
        keys = (
            "low",
            "high",
            "energy",
            "response",
            "response_error",
            "relative_resolution",
            "relative_resolution_error",
        )
        out = []
        for i in range(len(self.low)):
            row: dict[str, Any] = {"n": int(self.n[i])}
            for key in keys:
                value = float(getattr(self, key)[i])
                row[key] = value if math.isfinite(value) else None
            out.append(row)
        return out


def _iqr_stats(r: np.ndarray) -> tuple[float, float, float, float]:
    """Median response and Gaussian-equivalent relative width (with errors) of ratios ``r``."""
    n = len(r)
    resp = float(np.median(r))
    sigma = _half_iqr(r) / _Z84  # (q84 - q16) / 2 / 0.9945: sigma for a Gaussian
    resp_err = _MEDIAN_ERROR * sigma / math.sqrt(n)
    sigma_err = _HALF_IQR_ERROR / _Z84 * sigma / math.sqrt(n)
    return resp, resp_err, sigma, sigma_err


def _core_stats(r: np.ndarray) -> tuple[float, float, float, float]:
    core = gaussian_core_fit(r, np.ones_like(r))
    return core["mean"], core["mean_error"], core["sigma"], core["sigma_error"]


def binned_resolution(
    true_energy: Any,
    measured_energy: Any,
    bins: Any,
    *,
    method: str = "iqr",
    min_entries: int = MIN_ENTRIES,
) -> BinnedResolution:
    r"""Response and relative resolution of ``measured_energy / true_energy`` in bins of
    ``true_energy`` (both ``(N,)`` in GeV; true energies > 0).

    ``bins``: a number of equal-population bins or increasing edges, as in
    :func:`hepdl.metrics.binned_response` (``[low, high)``, the last ``[low, high]``).

    ``method="iqr"`` (default): response = median of the ratio :math:`r`, width
    :math:`\sigma = \frac{1}{2}(q_{0.84} - q_{0.16}) / 0.9945` (the Gaussian-equivalent
    width, so that a Gaussian's :math:`\sigma` comes back unbiased and the fitted
    :math:`a, b, c` compare with test-beam numbers); errors asymptotic,
    :math:`1.2533\,\sigma/\sqrt n` and :math:`0.9640\,\sigma/\sqrt n`. Chosen as default
    because it is deterministic (no bootstrap seed, no fit that can fail), ignores the
    low-side tail of rear leakage and upstream losses beyond the central 68 %, and its
    errors are known in closed form. ``method="core"``: the iterative Gaussian core fit
    :func:`hepdl.metrics.gaussian_core_fit` (within :math:`\pm 1.5\sigma`): the mean and
    width of the peak as a test-beam Gaussian fit gives, less sensitive still to tails,
    at the price of larger errors (:math:`1.84\,\sigma/\sqrt n` on the width).

    The relative resolution is :math:`\sigma/R` (the resolution after a calibration that
    brings the response to 1), its error the two relative errors in quadrature.
    """
    if method not in METHODS:
        raise DataError(f"method: expected one of {list(METHODS)}, got {method!r}")
    if isinstance(min_entries, bool) or not isinstance(min_entries, (int, np.integer)):
        raise DataError(f"min_entries: expected an integer >= {MIN_ENTRIES}, got {min_entries!r}")
    if min_entries < MIN_ENTRIES:
        raise DataError(f"min_entries: expected an integer >= {MIN_ENTRIES}, got {min_entries!r}")
    t = check_scores(true_energy, name="true_energy")
    m = check_scores(measured_energy, name="measured_energy")
    check_same_length(true_energy=t, measured_energy=m)
    bad = t <= 0
    if bad.any():
        raise DataError(
            f"true_energy: expected positive energies in GeV, found {int(bad.sum())} <= 0 "
            f"(first at index {int(np.flatnonzero(bad)[0])}: {t[bad][0]:g})"
        )
    edges = _bin_edges(bins, t)  # (B + 1,)
    idx = _bin_index(t, edges)  # (N,)
    stats = _iqr_stats if method == "iqr" else _core_stats
    n_bins = len(edges) - 1
    out = {k: np.full(n_bins, np.nan) for k in ("energy", "resp", "resp_err", "rel", "rel_err")}
    counts = np.bincount(idx[idx >= 0], minlength=n_bins)[:n_bins]
    r = m / t  # (N,)
    for i in range(n_bins):
        in_bin = idx == i
        if counts[i] == 0:
            continue
        out["energy"][i] = float(t[in_bin].mean())
        if counts[i] < min_entries:
            continue
        resp, resp_err, sigma, sigma_err = stats(r[in_bin])
        out["resp"][i], out["resp_err"][i] = resp, resp_err
        if resp > 0:
            rel = sigma / resp
            out["rel"][i] = rel
            out["rel_err"][i] = rel * math.hypot(
                sigma_err / sigma if sigma > 0 else 0.0, resp_err / resp
            )
    return BinnedResolution(
        low=edges[:-1].astype(np.float64),
        high=edges[1:].astype(np.float64),
        energy=out["energy"],
        n=counts.astype(np.int64),
        response=out["resp"],
        response_error=out["resp_err"],
        relative_resolution=out["rel"],
        relative_resolution_error=out["rel_err"],
        method=method,
    )


def fit_binned_resolution(
    binned: BinnedResolution, *, terms: Sequence[str] = TERMS
) -> ResolutionFit:
    """:func:`fit_resolution` on the valid bins of :func:`binned_resolution`; raises
    :class:`~hepdl.errors.DataError` when too few bins have a measured resolution."""
    ok = binned.valid
    free = _check_terms(terms)
    if int(ok.sum()) < len(free):
        raise DataError(
            f"bins: fitting {len(free)} terms needs at least {len(free)} bins with "
            f"{MIN_ENTRIES}+ entries and a non-zero width, got {int(ok.sum())} of {len(ok)}; "
            "use fewer bins or more events"
        )
    return fit_resolution(
        binned.energy[ok],
        binned.relative_resolution[ok],
        binned.relative_resolution_error[ok],
        terms=free,
    )
