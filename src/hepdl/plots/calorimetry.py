r"""Figures of calorimeter showers against the textbook: shower maximum versus
:math:`\ln E`, the mean longitudinal profile, the radial containment in Moliere radii, the
energy resolution with its :math:`a/\sqrt{E} \oplus b/E \oplus c` fit, and the e/pi response
ratio.

Every function draws in the HEP style of :mod:`hepdl.plots._style`, writes the figure
atomically, leaves no figure open and returns the path written. The numbers drawn come
from :mod:`hepdl.generate.shower_validation` (or any caller with the same arrays).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError
from hepdl.metrics.checks import check_same_length, check_scores
from hepdl.metrics.resolution_fit import TERMS, ResolutionFit
from hepdl.plots._style import check_path, hep_style, new_figure, save_figure

__all__ = [
    "plot_e_over_pi",
    "plot_longitudinal_profiles",
    "plot_radial_containment",
    "plot_resolution_fit",
    "plot_shower_maximum",
]


def _curves(curves: Any, *, name: str) -> dict[str, Any]:
    if not isinstance(curves, Mapping) or not curves:
        raise DataError(f"{name}: expected a non-empty dict {{label: values}}, got {curves!r}")
    return {str(k): v for k, v in curves.items()}


def plot_shower_maximum(
    points: Mapping[str, tuple[Any, Any]],
    offsets: Mapping[str, float],
    *,
    path: str | os.PathLike[str],
) -> Path:
    r"""Shower maximum :math:`t_{\max}` (X0 from the shower start) against
    :math:`\ln(E/E_c)`, markers per particle, with the textbook line
    :math:`t_{\max} = \ln(E/E_c) + C` dashed in the same colour for each particle in
    ``offsets`` (:math:`C = -0.5` for electrons, :math:`+0.5` for photons).

    ``points`` is ``{particle: (ln_y (K,), t_max (K,))}``.
    """
    series = _curves(points, name="points")
    out = check_path(path)
    with hep_style():
        fig, (axes,) = new_figure(figsize=(8, 6))
        for label, (ln_y, t_max) in series.items():
            x = check_scores(ln_y, name=f"points[{label!r}] ln_y")
            y = check_scores(t_max, name=f"points[{label!r}] t_max")
            check_same_length(ln_y=x, t_max=y)
            (marker,) = axes.plot(x, y, "o", ms=7, label=f"{label} (simulation)")
            if label in offsets:
                grid = np.linspace(x.min() - 0.3, x.max() + 0.3, 2)
                c = float(offsets[label])
                axes.plot(grid, grid + c, "--", color=marker.get_color(),
                          label=f"ln(E/Ec) {c:+.1f}")  # fmt: skip
        axes.set_xlabel(r"$\ln(E/E_c)$")
        axes.set_ylabel(r"$t_{\max}$ [$X_0$ from the shower start]")
        axes.legend(loc="upper left", fontsize="small")
        return save_figure(fig, out)


def plot_longitudinal_profiles(
    profiles: Mapping[str, Any],
    *,
    bin_x0: float,
    path: str | os.PathLike[str],
    start_x0: float = 0.0,
) -> Path:
    r"""Mean longitudinal profiles :math:`\frac{1}{E}\frac{dE}{dt}` (per X0) against depth,
    one line per label (e.g. ``"e- 10 GeV"``); ``profiles[label]`` is ``(B,)``, the mean
    fraction of the energy per bin of ``bin_x0`` radiation lengths, the first bin starting
    ``start_x0`` after the shower start."""
    series = _curves(profiles, name="profiles")
    out = check_path(path)
    with hep_style():
        fig, (axes,) = new_figure(figsize=(8, 6))
        for label, values in series.items():
            y = check_scores(values, name=f"profiles[{label!r}]")
            centres = start_x0 + (np.arange(len(y)) + 0.5) * bin_x0
            axes.step(centres, y / bin_x0, where="mid", lw=2, label=label)
        axes.set_xlabel(r"depth $t$ [$X_0$ from the shower start]")
        axes.set_ylabel(r"$\frac{1}{E}\,dE/dt$ [$1/X_0$]")
        axes.set_ylim(bottom=0.0)
        axes.legend(loc="upper right", fontsize="small")
        return save_figure(fig, out)


def plot_radial_containment(
    curves: Mapping[str, Any],
    *,
    bin_moliere: float,
    path: str | os.PathLike[str],
    target: tuple[float, float] = (1.0, 0.90),
) -> Path:
    r"""Fraction of the electromagnetic energy within a radius (Moliere radii), one line
    per label; ``curves[label]`` is ``(B,)`` the cumulative fraction at the upper edge of
    each bin of ``bin_moliere``. Dotted lines mark ``target`` (radius, fraction): the
    textbook 90 % within one Moliere radius."""
    series = _curves(curves, name="curves")
    out = check_path(path)
    with hep_style():
        fig, (axes,) = new_figure(figsize=(8, 6))
        for label, values in series.items():
            y = check_scores(values, name=f"curves[{label!r}]")
            edges = np.arange(len(y) + 1) * bin_moliere
            axes.plot(edges, np.concatenate([[0.0], y]), lw=2, label=label)
        radius, fraction = target
        axes.axvline(radius, ls=":", color="0.4")
        axes.axhline(fraction, ls=":", color="0.4", label=f"{fraction:.0%} within {radius:g} R_M")
        axes.set_xlabel(r"radius [$R_M$]")
        axes.set_ylabel("contained fraction")
        axes.set_ylim(0.0, 1.02)
        axes.legend(loc="lower right", fontsize="small")
        return save_figure(fig, out)


def _terms_label(terms: Mapping[str, float], errors: Mapping[str, float] | None = None) -> str:
    """``a = 2.80 +- 0.07 %`` and so on, one line per term given (a legend entry)."""
    parts = []
    for term, value in terms.items():
        scale, unit = (1.0, " GeV") if term == "b" else (100.0, " %")
        error = f" +- {scale * errors[term]:.2g}" if errors else ""
        parts.append(f"{term} = {scale * value:.3g}{error}{unit}")
    return "\n".join(parts)


def plot_resolution_fit(
    energy: Any,
    relative_resolution: Any,
    errors: Any,
    fit: ResolutionFit,
    *,
    path: str | os.PathLike[str],
    reference: Mapping[str, float] | None = None,
    reference_label: str = "textbook",
    label: str = "simulation",
) -> Path:
    r"""Measured :math:`\sigma/E` against :math:`E` (log axis) with error bars, the fitted
    :math:`a/\sqrt{E} \oplus b/E \oplus c` (its terms in the legend) and, dashed, the
    ``reference`` terms (e.g. the textbook ``{"a": 0.028, "b": 0.125, "c": 0.003}``; a term
    left out is 0)."""
    e = check_scores(energy, name="energy")
    y = check_scores(relative_resolution, name="relative_resolution")
    s = check_scores(errors, name="errors")
    check_same_length(energy=e, relative_resolution=y, errors=s)
    if np.any(e <= 0):
        raise DataError("energy: expected positive energies in GeV for a log axis")
    unknown = sorted(set(reference or {}) - set(TERMS))
    if unknown:
        raise DataError(f"reference: expected terms among {list(TERMS)}, got {unknown}")
    out = check_path(path)
    grid = np.geomspace(e.min() * 0.8, e.max() * 1.25, 200)
    fitted = {t: getattr(fit, t) for t in fit.terms}
    with hep_style():
        fig, (axes,) = new_figure(figsize=(8, 6))
        axes.errorbar(e, 100 * y, yerr=100 * s, fmt="o", ms=7, color="k", label=label)
        errs = {t: getattr(fit, f"{t}_error") for t in fit.terms}
        axes.plot(grid, 100 * fit.evaluate(grid), lw=2, label=f"fit:\n{_terms_label(fitted, errs)}")
        if reference is not None:
            ref = {t: float(reference.get(t, 0.0)) for t in TERMS}
            curve = np.sqrt(ref["a"] ** 2 / grid + ref["b"] ** 2 / grid**2 + ref["c"] ** 2)
            axes.plot(grid, 100 * curve, "--", lw=2, color="0.4",
                      label=f"{reference_label}:\n{_terms_label(reference)}")  # fmt: skip
        axes.set_xscale("log")
        axes.set_xlabel("E [GeV]")
        axes.set_ylabel(r"$\sigma_E / E$ [%]")
        axes.set_ylim(0.0, 1.6 * float(np.max(100 * (y + s))))  # room for the legend
        axes.legend(loc="upper right", fontsize="small")
        return save_figure(fig, out)


def plot_e_over_pi(
    energy: Any,
    ratio: Any,
    errors: Any,
    *,
    path: str | os.PathLike[str],
    band: tuple[float, float] | None = (1.1, 1.4),
) -> Path:
    """The e/pi response ratio against the energy (log axis), with the textbook ``band``
    of a non-compensating calorimeter shaded."""
    e = check_scores(energy, name="energy")
    r = check_scores(ratio, name="ratio")
    s = check_scores(errors, name="errors")
    check_same_length(energy=e, ratio=r, errors=s)
    if np.any(e <= 0):
        raise DataError("energy: expected positive energies in GeV for a log axis")
    out = check_path(path)
    with hep_style():
        fig, (axes,) = new_figure(figsize=(8, 6))
        if band is not None:
            axes.axhspan(*band, color="0.85", label=f"textbook {band[0]:g}-{band[1]:g}")
        axes.errorbar(e, r, yerr=s, fmt="o-", ms=7, lw=2, label="simulation")
        axes.axhline(1.0, ls=":", color="0.4")
        axes.set_xscale("log")
        axes.set_xlabel("E [GeV]")
        axes.set_ylabel(r"$e/\pi$ response ratio")
        axes.legend(loc="upper right", fontsize="small")
        return save_figure(fig, out)
