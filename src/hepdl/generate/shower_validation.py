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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError, GenerationError, HepdlError
from hepdl.generate.calo_geometry import CaloGeometry, get_geometry
from hepdl.generate.shower_model import SPOTS_PER_BATCH, expected_spots, get_particle, simulate
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
MIN_LAMBDA_FOR_E_OVER_PI = 5.0  # interaction lengths: shallower, pions leak out the back
TEST_BEAM_SPREAD = 0.2  # cells: impact uniform in +-0.1 cell (4.5 mm of a 22 mm crystal)
CLUSTER = 3  # cells on a side of the test-beam matrix (3 x 3); 5 x 5 is reported too


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
Progress = Callable[[str], None]


# --- the physics measurements -----------------------------------------------------------


def shower_maximum(profile: Any, *, bin_x0: float, start_x0: float = 0.0) -> float:
    r"""The maximum :math:`(\alpha - 1)/\beta` of the gamma distribution
    :math:`E\,\beta^\alpha t^{\alpha - 1} e^{-\beta t}/\Gamma(\alpha)` fitted by least squares
    to a longitudinal ``profile`` (B,) of energies in bins of ``bin_x0`` radiation lengths,
    the first bin starting ``start_x0`` after the shower start; each bin's prediction is the
    integral over the bin (no bin-centre approximation). In X0 from the shower start."""
    from scipy.optimize import least_squares
    from scipy.special import gammainc

    y = np.asarray(profile, dtype=np.float64)
    if y.ndim != 1 or len(y) < 4 or not np.all(np.isfinite(y)) or y.sum() <= 0:
        raise DataError(
            f"profile: expected a 1-D profile of at least 4 finite bins with energy in it, "
            f"got shape {y.shape} and sum {float(np.nansum(y)):g}"
        )
    edges = start_x0 + np.arange(len(y) + 1) * bin_x0  # (B + 1,)
    centres = 0.5 * (edges[1:] + edges[:-1])
    mean = float(np.sum(centres * y) / y.sum())
    var = float(np.sum((centres - mean) ** 2 * y) / y.sum())
    start = np.array([y.sum(), max(mean**2 / var, 1.1), max(mean / var, 1e-3)])
    scale = max(float(y.max()), 1e-300)

    def residuals(p: np.ndarray) -> np.ndarray:
        total, alpha, beta = p
        cdf = gammainc(alpha, beta * edges)
        return (total * np.diff(cdf) - y) / scale

    fit = least_squares(residuals, start, bounds=([0.0, 1.0, 1e-6], [np.inf, 1e3, 1e2]))
    _total, alpha, beta = fit.x
    return float((alpha - 1.0) / beta)


def containment(radial: Any) -> np.ndarray:
    """The cumulative fraction (B,) of a radial energy profile (B,): the energy within the
    upper edge of each bin over the total."""
    y = np.asarray(radial, dtype=np.float64)
    total = float(y.sum())
    if y.ndim != 1 or total <= 0 or not np.all(np.isfinite(y)):
        raise DataError(f"radial: expected a 1-D profile with energy in it, got shape {y.shape}")
    return np.cumsum(y) / total


def _within(cumulative: np.ndarray, radius: float, bin_width: float) -> float:
    """The contained fraction at ``radius``, linear between bin edges."""
    edges = np.arange(len(cumulative) + 1) * bin_width
    return float(np.interp(radius, edges, np.concatenate([[0.0], cumulative])))


def _radius_of(cumulative: np.ndarray, fraction: float, bin_width: float) -> float:
    """The radius holding ``fraction`` of the energy, linear between bin edges."""
    edges = np.arange(len(cumulative) + 1) * bin_width
    return float(np.interp(fraction, np.concatenate([[0.0], cumulative]), edges))


@dataclass
class ShowerSummary:
    """What the checks need of the showers of one particle at one energy: per shower
    (N,) the cluster energies (``{"3x3": ..., "5x5": ...}`` or ``{"all cells": ...}``) and
    the sum of every cell; summed over the showers, the truth profiles (``None`` from a
    file): ``profile_x0`` (80,) and ``profile_moliere`` (100,). Read from a file, one
    summary holds rows of many energies: ``energy`` is NaN and ``true`` (N,) has them."""

    particle: str
    energy: float
    cluster: dict[str, np.ndarray]
    total: np.ndarray
    profile_x0: np.ndarray | None = None
    profile_moliere: np.ndarray | None = None
    true: np.ndarray | None = None  # (N,) per-row true energies, from a file

    @property
    def n(self) -> int:
        return len(self.total)


def cluster_names(geometry: CaloGeometry) -> tuple[str, ...]:
    first = geometry.layers[0]
    if first.noise_gev > 0:
        return tuple(f"{k}x{k}" for k in (CLUSTER, 5))
    return ("all cells",)


def cluster_noise(geometry: CaloGeometry, name: str) -> float:
    """The noise (GeV) of a cluster: the per-cell noise times sqrt(cells)."""
    if name == "all cells":
        return math.sqrt(sum(la.noise_gev**2 * la.shape[0] * la.shape[1] for la in geometry.layers))
    side = int(name.split("x")[0])
    return geometry.layers[0].noise_gev * side


def cluster_energies(geometry: CaloGeometry, cells: Mapping[str, np.ndarray]) -> dict[str, Any]:
    """{cluster name: (N,)} the electron energy estimators (see the module docstring)."""
    first = geometry.layers[0]
    out = {}
    for name in cluster_names(geometry):
        if name == "all cells":
            out[name] = total_energy(geometry, cells)
            continue
        side = int(name.split("x")[0])
        h, w = first.shape
        top, left = h // 2 - side // 2, w // 2 - side // 2  # the hit cell is (h // 2, w // 2)
        window = cells[first.name][:, top : top + side, left : left + side]  # (N, k, k)
        out[name] = window.sum(axis=(1, 2), dtype=np.float64)
    return out


def total_energy(geometry: CaloGeometry, cells: Mapping[str, np.ndarray]) -> np.ndarray:
    """(N,) the sum of every cell of every layer."""
    return sum(cells[la.name].sum(axis=(1, 2), dtype=np.float64) for la in geometry.layers)


# --- the showers: simulated or read ------------------------------------------------------


def simulate_summary(
    geometry: CaloGeometry, particle: str, energy: float, showers: int, rng: np.random.Generator
) -> ShowerSummary:
    """``showers`` showers of ``particle`` at ``energy`` GeV, simulated in batches of a
    bounded number of spots and reduced to a :class:`ShowerSummary` batch by batch."""
    per_shower = int(expected_spots(get_particle(particle), np.array([energy]), geometry)[0])
    batch = max(1, SPOTS_PER_BATCH // max(per_shower, 1))
    clusters: dict[str, list[np.ndarray]] = {name: [] for name in cluster_names(geometry)}
    totals = []
    profile_x0 = profile_moliere = None
    for start in range(0, showers, batch):
        k = min(batch, showers - start)
        cells = simulate(geometry, particle, np.full(k, energy), rng, profiles=True)
        for name, values in cluster_energies(geometry, cells).items():
            clusters[name].append(values)
        totals.append(total_energy(geometry, cells))
        px0, prm = cells["profile_x0"].sum(axis=0), cells["profile_moliere"].sum(axis=0)
        profile_x0 = px0 if profile_x0 is None else profile_x0 + px0
        profile_moliere = prm if profile_moliere is None else profile_moliere + prm
    return ShowerSummary(
        particle,
        float(energy),
        {name: np.concatenate(v) for name, v in clusters.items()},
        np.concatenate(totals),
        profile_x0,
        profile_moliere,
    )


def _check_energies(energies: Any, *, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(e) for e in energies)
    except (TypeError, ValueError):
        raise GenerationError(f"{option}: expected energies in GeV, got {energies!r}") from None
    if not values or not all(math.isfinite(e) and e > 0 for e in values):
        raise GenerationError(f"{option}: expected positive energies in GeV, got {list(values)}")
    return tuple(sorted(set(values)))


def _simulated(
    geometry: CaloGeometry,
    *,
    showers: int,
    energies: Sequence[float],
    pion_energies: Sequence[float],
    seed: int,
    progress: Progress | None,
) -> dict[str, list[ShowerSummary]]:
    """{particle: summaries, one per energy}; every (particle, energy) its own seed, so a
    run at more energies repeats the showers of a run at fewer."""
    plan = [("e-", energies), ("gamma", energies)]
    if geometry.total_lambda >= MIN_LAMBDA_FOR_E_OVER_PI:  # e/pi: electrons at those too
        plan = [("e-", tuple(sorted({*energies, *pion_energies}))), plan[1], ("pi+", pion_energies)]
    out: dict[str, list[ShowerSummary]] = {}
    for index, (particle, values) in enumerate(plan):
        out[particle] = []
        for energy in values:
            if progress is not None:
                progress(f"{showers} {particle} at {energy:g} GeV")
            rng = np.random.default_rng([seed, index, round(energy * 1000)])
            out[particle].append(simulate_summary(geometry, particle, energy, showers, rng))
    return out


def _file_geometry(path: Path) -> tuple[CaloGeometry, dict[str, Any]]:
    import json

    from hepdl.generate._parquet import METADATA_KEY, read_metadata

    if not path.is_file():
        raise DataError(f"{path}: no such file; expected a file written by hepdl showers")
    if path.suffix.lower() in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as h5:
            raw = h5.attrs.get(METADATA_KEY)
        if raw is None:
            raise DataError(f"{path}: has no {METADATA_KEY!r} attribute; not a hepdl showers file")
        meta = json.loads(raw)
    else:
        meta = read_metadata(path)
    name = (meta.get("geometry") or {}).get("name") if meta.get("kind") == "shower" else None
    if name is None:
        raise DataError(
            f"{path}: its hepdl metadata has no shower geometry; expected a file written by "
            "hepdl showers"
        )
    return get_geometry(name), meta


_ROWS_PER_BATCH = 2000  # rows read at once from a file: bounds the memory


def _file_batches(path: Path, columns: list[str]) -> Iterator[dict[str, np.ndarray]]:
    """The ``columns`` of a shower file, ``_ROWS_PER_BATCH`` rows at a time."""
    if path.suffix.lower() in (".h5", ".hdf5"):
        import h5py

        with h5py.File(path, "r") as h5:
            missing = [c for c in columns if c not in h5]
            if missing:
                raise DataError(f"{path}: has no column(s) {', '.join(missing)}")
            rows = len(h5[columns[0]])
            for start in range(0, rows, _ROWS_PER_BATCH):
                batch = {c: h5[c][start : start + _ROWS_PER_BATCH] for c in columns}
                if batch["particle"].dtype.kind == "S":
                    batch["particle"] = np.char.decode(batch["particle"], "ascii")
                yield batch
        return
    import pyarrow.parquet as pq

    handle = pq.ParquetFile(path)
    missing = [c for c in columns if c not in handle.schema_arrow.names]
    if missing:
        raise DataError(
            f"{path}: has no column(s) {', '.join(missing)}; expected a file written by "
            "hepdl showers"
        )
    for record in handle.iter_batches(batch_size=_ROWS_PER_BATCH, columns=columns):
        batch = {}
        for name in columns:
            column = record.column(name)
            if name in ("particle", "energy"):
                batch[name] = (
                    np.asarray(column.to_pylist()) if name == "particle" else column.to_numpy()
                )
                continue
            flat = column.flatten().flatten().to_numpy()  # (n * H * W,)
            batch[name] = flat.reshape(len(record), *_layer_shape(column.type))
        yield batch


def _layer_shape(arrow_type: Any) -> tuple[int, int]:
    return arrow_type.list_size, arrow_type.value_type.list_size


def _check_batch(path: Path, geometry: CaloGeometry, batch: dict[str, np.ndarray]) -> None:
    """Cells of the geometry's shapes, finite; true energies positive."""
    for layer in geometry.layers:
        cells = batch[layer.name]  # (n, H, W)
        if cells.shape[1:] != layer.shape:
            raise DataError(
                f"{path}: column {layer.name}: expected cells of shape {layer.shape} (geometry "
                f"{geometry.name}), got {cells.shape[1:]}"
            )
        if not np.isfinite(cells).all():
            raise DataError(f"{path}: column {layer.name}: expected finite cell energies")
    energy = np.asarray(batch["energy"], np.float64)
    if not (np.isfinite(energy) & (energy > 0)).all():
        raise DataError(f"{path}: column energy: expected finite true energies > 0 GeV")


def _read_file(path: Path, geometry: CaloGeometry) -> dict[str, ShowerSummary]:
    """{particle: one summary of all its rows}; the file is read in bounded batches."""
    layers = [la.name for la in geometry.layers]
    parts: dict[str, dict[str, list[np.ndarray]]] = {}
    for batch in _file_batches(path, ["particle", "energy", *layers]):
        _check_batch(path, geometry, batch)
        clusters = cluster_energies(geometry, batch)
        total = total_energy(geometry, batch)
        for particle in np.unique(batch["particle"]):
            rows = batch["particle"] == particle
            store = parts.setdefault(str(particle), {"energy": [], "total": []})
            store["energy"].append(np.asarray(batch["energy"], np.float64)[rows])
            store["total"].append(total[rows])
            for name, values in clusters.items():
                store.setdefault(name, []).append(values[rows])
    out = {}
    for particle, store in parts.items():
        out[particle] = ShowerSummary(
            particle,
            math.nan,
            {n: np.concatenate(store[n]) for n in cluster_names(geometry)},
            np.concatenate(store["total"]),
            true=np.concatenate(store["energy"]),
        )
    return out


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
        within = [_within(c, 1.0, RADIAL_BIN) for c in curves]
        record["containment"][particle] = {
            "energy": [s.energy for s in runs],
            "within_1_moliere": within,
            "within_2_moliere": [_within(c, 2.0, RADIAL_BIN) for c in curves],
            "within_3.5_moliere": [_within(c, 3.5, RADIAL_BIN) for c in curves],
            "radius_of_90_percent": [_radius_of(c, 0.9, RADIAL_BIN) for c in curves],
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
        em = _check_energies(energies, option="--energies")
        pi_e = _check_energies(pion_energies, option="--pion-energies")
        base = get_geometry(geometry or "cms_ecal")
        calo = replace(base, impact_spread_cells=min(base.impact_spread_cells, TEST_BEAM_SPREAD))
        summaries = _simulated(calo, showers=showers, energies=em, pion_energies=pi_e,
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
        calo, _meta = _file_geometry(path)
        if geometry is not None and geometry != calo.name:
            raise DataError(
                f"{path}: holds showers of geometry {calo.name!r}, not {geometry!r}; leave "
                "the geometry out to validate the file as it is"
            )
        rows = _read_file(path, calo)
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
