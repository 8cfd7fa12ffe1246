r"""Physics validation of the calorimeter shower simulation against textbook numbers.

``validate_showers(None, out_dir)`` simulates showers at fixed energies
(:func:`hepdl.generate.shower_model.simulate` with its truth profiles) and runs every check;
``validate_showers(path, out_dir)`` reads a file written by ``hepdl showers`` instead, which
has cells but no truth profiles, so only the checks that need cells run. The checks (PDG
review "Passage of particles through matter", Wigmans "Calorimetry"):

- shower maximum: :math:`t_{\max} = \ln(E/E_c) + C` radiation lengths from the shower
  start, :math:`C = -0.5` for electrons and :math:`+0.5` for photons: slope 1 per unit
  :math:`\ln E` (accepted within :data:`SLOPE_WINDOW`) and offset :math:`C` (within
  :data:`OFFSET_TOLERANCE` X0). :math:`t_{\max}` is the maximum :math:`(\alpha - 1)/\beta` of
  a gamma distribution fitted to the mean longitudinal profile (the PDG's definition: a fit
  of :math:`dE/dt \propto t^{\alpha - 1} e^{-\beta t}` to the average shower), counted from
  the shower start, i.e. including the upstream material;
- lateral containment: on average 90 % of the electromagnetic energy lies within one
  Moliere radius (accepted in :data:`MOLIERE_WINDOW`);
- energy resolution of electrons, fitted as :math:`a/\sqrt{E} \oplus b/E \oplus c`, against
  the geometry's textbook terms (:data:`RESOLUTION_TEXTBOOK`; CMS ECAL test beam: 2.8 %,
  0.125 GeV, 0.3 % in a 3 x 3 crystal matrix);
- e/pi: the response to electrons over that to charged pions, 1.1-1.4 for a
  non-compensating calorimeter at 10-100 GeV (:data:`E_OVER_PI_WINDOW`); only for a
  geometry deep enough to contain hadron showers (:data:`MIN_LAMBDA_FOR_E_OVER_PI`).

The measured energy of an electron is that of a test-beam analysis: in a geometry with
electronic noise (crystals) the 3 x 3 cells around the hit cell of the first layer (and the
5 x 5, reported too), the noise of those cells giving the :math:`b` term; without noise
(CaloGAN) the sum of every cell. As in the CMS test beam, which kept electrons hitting the
central 4 x 4 mm\ :sup:`2` of a crystal, the simulated impact points are spread over the
central :data:`TEST_BEAM_SPREAD` of a cell only, the condition the textbook numbers were
measured in. The e/pi responses are the sums of every cell (all layers). A file with
pile-up adds the pile-up in the cluster to the :math:`b` term.

Results: the list of :class:`hepdl.generate.validation.CheckResult` (also in
``validation.json`` with every number behind them) and the figures ``shower_maximum.png``,
``longitudinal_profile.png``, ``radial_containment.png``, ``resolution.png`` (and
``resolution_5x5.png``) and ``e_over_pi.png`` in ``out_dir``, for what was measured.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError, GenerationError, HepdlError
from hepdl.generate.calo_geometry import CaloGeometry, get_geometry
from hepdl.generate.shower_measurements import (
    MIN_LAMBDA_FOR_E_OVER_PI,
    Progress,
    ShowerSummary,
    check_energies,
    cluster_names,
    cluster_noise,
    containment,
    file_geometry,
    fraction_within,
    radius_of,
    read_file,
    shower_maximum,
    simulated,
)
from hepdl.generate.validation import CheckResult
from hepdl.metrics.resolution_fit import (
    BinnedResolution,
    ResolutionFit,
    binned_resolution,
    fit_binned_resolution,
)

__all__ = [
    "EM_ENERGIES",
    "E_OVER_PI_WINDOW",
    "MOLIERE_WINDOW",
    "PION_ENERGIES",
    "RESOLUTION_TEXTBOOK",
    "ShowerSummary",
    "containment",
    "shower_maximum",
    "validate_showers",
]

EM_ENERGIES = (5.0, 10.0, 20.0, 50.0, 100.0, 200.0)
"""GeV: electrons and photons (shower maximum, containment, resolution)."""
PION_ENERGIES = (10.0, 20.0, 50.0, 100.0)
"""GeV: the e/pi ratio, in the 10-100 GeV range of the textbook statement."""

T_MAX_OFFSET = {"e-": -0.5, "gamma": 0.5}  # PDG: t_max = ln(E/Ec) + C
SLOPE_WINDOW = (0.9, 1.1)  # d t_max / d ln E, textbook 1
OFFSET_TOLERANCE = 0.3  # X0 around C
MOLIERE_WINDOW = (0.87, 0.93)  # fraction within 1 R_M, textbook "about 90 %"
E_OVER_PI_WINDOW = (1.1, 1.4)
TEST_BEAM_SPREAD = 0.2  # cells: impact uniform in +-0.1 cell (4.5 mm of a 22 mm crystal)


@dataclass(frozen=True)
class TermWindow:
    """A textbook resolution term: the quoted range and the window a fit must land in."""

    low: float
    high: float
    accept: tuple[float, float]


# Quoted ranges and acceptance windows (fractions; b in GeV). CMS ECAL: test beam 2006,
# 3 x 3 crystals, central impact: 2.8 %, 0.125 GeV (40 MeV noise in 9 crystals), 0.3 %;
# up to 3 %, 0.2 GeV (5 x 5) and 0.5 % in other analyses. CaloGAN (ATLAS LAr, no noise):
# 10 %/sqrt(E) (+) 0.2-0.7 %.
RESOLUTION_TEXTBOOK: dict[str, dict[str, TermWindow]] = {
    "cms_ecal": {
        "a": TermWindow(0.028, 0.030, (0.025, 0.035)),
        "b": TermWindow(0.12, 0.20, (0.10, 0.25)),
        "c": TermWindow(0.003, 0.005, (0.002, 0.007)),
    },
    "calogan": {
        "a": TermWindow(0.09, 0.11, (0.08, 0.12)),
        "c": TermWindow(0.002, 0.007, (0.001, 0.010)),
    },
}

PIONS = ("pi+", "pi-")
_TERM_NAMES = {"a": "stochastic", "b": "noise", "c": "constant"}


# --- the checks -------------------------------------------------------------------------


def _in(value: float, window: tuple[float, float]) -> bool:
    return bool(window[0] <= value <= window[1])


def _shower_maximum_checks(
    summaries: dict[str, list[ShowerSummary]], geometry: CaloGeometry, record: dict[str, Any]
) -> list[CheckResult]:
    from hepdl.generate._shower_cells import PROFILE_X0_BIN

    critical = geometry.sections[0].critical_gev
    results, record["shower_maximum"] = [], {}
    for particle, offset in T_MAX_OFFSET.items():
        runs = summaries.get(particle, [])
        if len(runs) < 2:
            continue
        ln_y = np.log([s.energy / critical for s in runs])
        t_max = np.array(
            [
                shower_maximum(s.profile_x0, bin_x0=PROFILE_X0_BIN, start_x0=geometry.upstream_x0)
                for s in runs
            ]
        )
        slope, intercept = np.polyfit(ln_y, t_max, 1)
        measured_offset = float(np.mean(t_max - ln_y))
        record["shower_maximum"][particle] = {
            "energy": [s.energy for s in runs],
            "ln_e_over_ec": ln_y.tolist(),
            "t_max_x0": t_max.tolist(),
            "slope": float(slope),
            "intercept": float(intercept),
            "mean_offset": measured_offset,
            "textbook_offset": offset,
        }
        low, high = offset - OFFSET_TOLERANCE, offset + OFFSET_TOLERANCE
        results += [
            CheckResult(
                f"shower maximum slope d t_max / d ln E ({particle})",
                float(slope),
                f"1 (in [{SLOPE_WINDOW[0]}, {SLOPE_WINDOW[1]}])",
                _in(float(slope), SLOPE_WINDOW),
            ),
            CheckResult(
                f"shower maximum t_max - ln(E/Ec) [X0] ({particle})",
                measured_offset,
                f"{offset:+.1f} (in [{low:+.1f}, {high:+.1f}])",
                _in(measured_offset, (low, high)),
            ),
        ]
    return results


def _containment_checks(
    summaries: dict[str, list[ShowerSummary]], record: dict[str, Any]
) -> list[CheckResult]:
    from hepdl.generate._shower_cells import RADIAL_BIN

    results, record["containment"] = [], {}
    for particle in T_MAX_OFFSET:
        runs = summaries.get(particle, [])
        if not runs:
            continue
        curves = [containment(s.profile_moliere) for s in runs]
        within = [fraction_within(c, 1.0, RADIAL_BIN) for c in curves]
        record["containment"][particle] = {
            "energy": [s.energy for s in runs],
            "within_1_moliere": within,
            "within_2_moliere": [fraction_within(c, 2.0, RADIAL_BIN) for c in curves],
            "within_3.5_moliere": [fraction_within(c, 3.5, RADIAL_BIN) for c in curves],
            "radius_of_90_percent": [radius_of(c, 0.9, RADIAL_BIN) for c in curves],
        }
        measured = float(np.mean(within))
        results.append(
            CheckResult(
                f"EM energy within 1 Moliere radius ({particle}, mean over energies)",
                measured,
                f"0.90 (in [{MOLIERE_WINDOW[0]}, {MOLIERE_WINDOW[1]}])",
                _in(measured, MOLIERE_WINDOW),
            )
        )
    return results


def _resolution_checks(
    electrons: tuple[np.ndarray, dict[str, np.ndarray]] | None,
    edges: np.ndarray,
    geometry: CaloGeometry,
    record: dict[str, Any],
    skipped: dict[str, str],
) -> tuple[list[CheckResult], dict[str, tuple[BinnedResolution, ResolutionFit]]]:
    """Fit every cluster's resolution; the checks use the first (the test-beam cluster)."""
    if electrons is None:
        skipped["resolution"] = "no electrons (e-, e+ or gamma rows) to measure it on"
        return [], {}
    true, clusters = electrons
    noisy = any(la.noise_gev > 0 for la in geometry.layers)
    terms = ("a", "b", "c") if noisy else ("a", "c")
    fits: dict[str, tuple[BinnedResolution, ResolutionFit]] = {}
    record["resolution"] = {}
    for name, measured in clusters.items():
        binned = binned_resolution(true, measured, edges)
        try:
            fit = fit_binned_resolution(binned, terms=terms)
        except HepdlError as err:  # e.g. a file at one energy: report the rest
            skipped[f"resolution ({name})"] = str(err)
            continue
        record["resolution"][name] = {
            "bins": binned.as_records(),
            "method": binned.method,
            "fit": fit.as_dict(),
            "cluster_noise_gev": cluster_noise(geometry, name),
        }
        fits[name] = (binned, fit)
    textbook = RESOLUTION_TEXTBOOK.get(geometry.name)
    main = cluster_names(geometry)[0]
    if main not in fits:
        return [], fits
    if textbook is None:
        skipped["resolution terms"] = f"no textbook terms for geometry {geometry.name!r}"
        return [], fits
    fit = fits[main][1]
    results = []
    for term, window in textbook.items():
        value, error = getattr(fit, term), getattr(fit, f"{term}_error")
        scale, unit = (1.0, "GeV") if term == "b" else (100.0, "%")  # shown as quoted
        low, high = (scale * x for x in window.accept)
        results.append(
            CheckResult(
                f"resolution {_TERM_NAMES[term]} term {term} [{unit}] ({main}, "
                f"+- {scale * error:.2g})",
                scale * value,
                f"{scale * window.low:g}-{scale * window.high:g} (in [{low:g}, {high:g}])",
                _in(value, window.accept),
            )
        )
    return results, fits


def _e_over_pi_checks(
    pairs: list[tuple[float, np.ndarray, np.ndarray]],
    record: dict[str, Any],
) -> tuple[list[CheckResult], dict[str, np.ndarray]]:
    """``pairs``: (energy, electron totals (n,) / E, pion totals (m,) / E) per energy."""
    energy, ratio, error, r_e, r_pi = [], [], [], [], []
    for e, electrons, pions in pairs:
        re, rp = float(electrons.mean()), float(pions.mean())
        dre = float(electrons.std(ddof=1) / math.sqrt(len(electrons)))
        drp = float(pions.std(ddof=1) / math.sqrt(len(pions)))
        energy.append(e)
        r_e.append(re)
        r_pi.append(rp)
        ratio.append(re / rp)
        error.append(re / rp * math.hypot(dre / re, drp / rp))
    record["e_over_pi"] = {"energy": energy, "ratio": ratio, "ratio_error": error,
                           "response_e": r_e, "response_pi": r_pi}  # fmt: skip
    results = [
        CheckResult(
            f"e/pi response ratio at {e:.3g} GeV (+- {d:.2g})",
            r,
            f"1.1-1.4 (in [{E_OVER_PI_WINDOW[0]}, {E_OVER_PI_WINDOW[1]}])",
            _in(r, E_OVER_PI_WINDOW),
        )
        for e, r, d in zip(energy, ratio, error, strict=True)
    ]
    arrays = {k: np.asarray(v) for k, v in (("energy", energy), ("ratio", ratio), ("error", error))}
    return results, arrays


# --- the command --------------------------------------------------------------------------


def _midpoint_edges(energies: Sequence[float]) -> np.ndarray:
    """Bin edges (K + 1,) around K fixed energies: geometric midpoints, and 10 % beyond."""
    e = np.asarray(sorted(energies), dtype=np.float64)
    inner = np.sqrt(e[1:] * e[:-1])
    return np.concatenate([[e[0] / 1.1], inner, [e[-1] * 1.1]])


def _file_edges(true: np.ndarray) -> np.ndarray:
    """Fixed energies (at most 12 distinct): bins around each; a spectrum: 8 log bins."""
    distinct = np.unique(true)
    if len(distinct) <= 12:
        return _midpoint_edges(distinct.tolist())
    return np.geomspace(true.min(), true.max(), 9)


def validate_showers(
    path: str | Path | None,
    out_dir: str | Path,
    *,
    geometry: str | None = None,
    showers: int = 500,
    energies: Sequence[float] = EM_ENERGIES,
    pion_energies: Sequence[float] = PION_ENERGIES,
    seed: int = 1,
    progress: Progress | None = None,
) -> list[CheckResult]:
    """Check showers against the textbook; write ``validation.json`` and the figures into
    ``out_dir``; return the check results.

    ``path`` None: simulate ``showers`` showers per particle and energy (e- and gamma at
    ``energies``, pi+ at ``pion_energies``, e- also at those) in ``geometry`` (default
    ``cms_ecal``) from ``seed`` (same seed, same numbers), reporting each (particle,
    energy) to ``progress``. ``path`` a file written by ``hepdl showers`` (Parquet or
    HDF5): its own geometry (``geometry``, if given, must be it), its electrons (or, with
    none, photons) for the resolution in bins of true energy and its e+-/pi+- for e/pi; the
    shower-maximum and containment checks need the truth profiles and are skipped (listed
    under ``skipped`` in the JSON). Bad input raises one
    :class:`~hepdl.errors.HepdlError` before any file is written.
    """
    from hepdl.atomic import write_json
    from hepdl.paths import output_folder

    out = output_folder(Path(out_dir))  # first: a bad folder fails before the simulation
    skipped: dict[str, str] = {}
    record: dict[str, Any] = {}
    if path is None:
        if isinstance(showers, bool) or not isinstance(showers, int) or showers < 10:
            raise GenerationError(f"--showers: expected an integer >= 10, got {showers!r}")
        em = check_energies(energies, option="--energies")
        pi_e = check_energies(pion_energies, option="--pion-energies")
        base = get_geometry(geometry or "cms_ecal")
        calo = replace(base, impact_spread_cells=min(base.impact_spread_cells, TEST_BEAM_SPREAD))
        summaries = simulated(calo, showers=showers, energies=em, pion_energies=pi_e,
                               seed=seed, progress=progress)  # fmt: skip
        source = {"simulation": True, "geometry": calo.name, "showers": showers,
                  "energies": list(em), "pion_energies": list(pi_e), "seed": seed,
                  "impact_spread_cells": calo.impact_spread_cells}  # fmt: skip
        results = _shower_maximum_checks(summaries, calo, record)
        results += _containment_checks(summaries, record)
        electrons_runs = summaries["e-"]
        electrons = (
            np.concatenate([np.full(s.n, s.energy) for s in electrons_runs]),
            {n: np.concatenate([s.cluster[n] for s in electrons_runs])
             for n in cluster_names(calo)},
        )  # fmt: skip
        edges = _midpoint_edges(em)
        by_energy = {s.energy: s for s in electrons_runs}
        pairs = [(s.energy, by_energy[s.energy].total / s.energy, s.total / s.energy)
                 for s in summaries.get("pi+", []) if s.energy in by_energy]  # fmt: skip
        if "pi+" not in summaries:
            skipped["e/pi"] = (
                f"geometry {calo.name!r} is {calo.total_lambda:.1f} interaction lengths deep "
                f"(< {MIN_LAMBDA_FOR_E_OVER_PI}): pion showers leak out of the back"
            )
    else:
        path = Path(path)
        calo, _meta = file_geometry(path)
        if geometry is not None and geometry != calo.name:
            raise DataError(
                f"{path}: holds showers of geometry {calo.name!r}, not {geometry!r}; leave "
                "the geometry out to validate the file as it is"
            )
        rows = read_file(path, calo)
        source = {"file": str(path), "geometry": calo.name,
                  "rows": {p: s.n for p, s in rows.items()}}  # fmt: skip
        reason = "needs the truth profiles: validate the simulation itself (no file)"
        skipped["shower maximum"] = skipped["containment"] = reason
        results = []
        # The textbook terms are for electrons; photons (upstream conversions) only without.
        em_rows = [rows[p] for p in ("e-", "e+") if p in rows] or (
            [rows["gamma"]] if "gamma" in rows else []
        )
        electrons = None
        edges = np.array([1.0, 2.0])
        if em_rows:
            true = np.concatenate([s.true for s in em_rows])
            edges = _file_edges(true)
            electrons = (
                true,
                {n: np.concatenate([s.cluster[n] for s in em_rows]) for n in cluster_names(calo)},
            )
        pairs = _file_pairs(rows, calo, skipped)
    resolution_results, fits = _resolution_checks(electrons, edges, calo, record, skipped)
    results += resolution_results
    e_over_pi = None
    if pairs:
        more, e_over_pi = _e_over_pi_checks(pairs, record)
        results += more
    figures = _figures(record, summaries if path is None else {}, fits, e_over_pi, calo, out)
    summary = {"source": source, "checks": [asdict(r) for r in results], **record,
               "skipped": skipped, "figures": figures}  # fmt: skip
    write_json(out / "validation.json", summary)
    return results


def _file_pairs(
    rows: dict[str, ShowerSummary], geometry: CaloGeometry, skipped: dict[str, str]
) -> list[tuple[float, np.ndarray, np.ndarray]]:
    """Per energy bin where both have 10+ rows: electron and pion totals over E."""
    if geometry.total_lambda < MIN_LAMBDA_FOR_E_OVER_PI:
        skipped["e/pi"] = f"geometry {geometry.name!r} too shallow for pion showers"
        return []
    electrons = [rows[p] for p in ("e-", "e+") if p in rows]
    pions = [rows[p] for p in PIONS if p in rows]
    if not electrons or not pions:
        skipped["e/pi"] = "needs both electron (e-, e+) and charged-pion (pi+, pi-) rows"
        return []

    def joined(group: list[ShowerSummary]) -> tuple[np.ndarray, np.ndarray]:
        true = np.concatenate([s.true for s in group])
        return true, np.concatenate([s.total for s in group]) / true

    e_true, e_resp = joined(electrons)
    p_true, p_resp = joined(pions)
    edges = _file_edges(np.concatenate([e_true, p_true]))
    pairs = []
    for low, high in itertools.pairwise(edges):
        e_in = (e_true >= low) & (e_true <= high)
        p_in = (p_true >= low) & (p_true <= high)
        if e_in.sum() >= 10 and p_in.sum() >= 10:
            centre = float(np.mean(np.concatenate([e_true[e_in], p_true[p_in]])))
            pairs.append((centre, e_resp[e_in], p_resp[p_in]))
    if not pairs:
        skipped["e/pi"] = "no energy bin with 10+ electrons and 10+ charged pions"
    return pairs


def _figures(
    record: dict[str, Any],
    summaries: dict[str, list[ShowerSummary]],
    fits: dict[str, tuple[BinnedResolution, ResolutionFit]],
    e_over_pi: dict[str, np.ndarray] | None,
    geometry: CaloGeometry,
    out: Path,
) -> list[str]:
    """Draw what was measured; returns the file names written."""
    from hepdl.generate._shower_cells import PROFILE_X0_BIN, RADIAL_BIN
    from hepdl.plots.calorimetry import (
        plot_e_over_pi,
        plot_longitudinal_profiles,
        plot_radial_containment,
        plot_resolution_fit,
        plot_shower_maximum,
    )

    written = []
    if record.get("shower_maximum"):
        points = {
            p: (v["ln_e_over_ec"], v["t_max_x0"]) for p, v in record["shower_maximum"].items()
        }
        written.append(plot_shower_maximum(points, T_MAX_OFFSET, path=out / "shower_maximum.png"))
        profiles = {f"{s.particle} {s.energy:g} GeV": s.profile_x0 / (s.n * s.energy)
                    for s in summaries["e-"]}  # fmt: skip
        written.append(
            plot_longitudinal_profiles(
                profiles,
                bin_x0=PROFILE_X0_BIN,
                start_x0=geometry.upstream_x0,
                path=out / "longitudinal_profile.png",
            )
        )
    if record.get("containment"):
        curves = {f"{s.particle} {s.energy:g} GeV": containment(s.profile_moliere)
                  for p in T_MAX_OFFSET for s in summaries.get(p, [])[:: 2]}  # fmt: skip
        written.append(
            plot_radial_containment(
                curves, bin_moliere=RADIAL_BIN, path=out / "radial_containment.png"
            )
        )
    textbook = RESOLUTION_TEXTBOOK.get(geometry.name)
    for i, (name, (binned, fit)) in enumerate(fits.items()):
        ok = binned.valid
        reference = None
        if textbook is not None and i == 0:  # the textbook is for the test-beam cluster
            reference = {t: 0.5 * (w.low + w.high) for t, w in textbook.items()}
        file = "resolution.png" if i == 0 else f"resolution_{name.replace(' ', '_')}.png"
        written.append(
            plot_resolution_fit(
                binned.energy[ok],
                binned.relative_resolution[ok],
                binned.relative_resolution_error[ok],
                fit,
                reference=reference,
                label=f"simulation, {name}",
                path=out / file,
            )
        )
    if e_over_pi is not None:
        written.append(
            plot_e_over_pi(
                e_over_pi["energy"],
                e_over_pi["ratio"],
                e_over_pi["error"],
                band=E_OVER_PI_WINDOW,
                path=out / "e_over_pi.png",
            )
        )
    return [Path(p).name for p in written]
