"""What the shower validation measures: shower maxima, lateral containment, test-beam
cluster energies and e/pi responses, from simulated showers (with their truth profiles) or
from the cells of a file written by ``hepdl showers``, reduced batch by batch to a
:class:`ShowerSummary` so that memory stays bounded. The checks against the textbook and
the command are in :mod:`hepdl.generate.shower_validation`."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hepdl.errors import DataError, GenerationError
from hepdl.generate.calo_geometry import CaloGeometry, get_geometry
from hepdl.generate.shower_model import SPOTS_PER_BATCH, expected_spots, get_particle, simulate

CLUSTER = 3  # cells on a side of the test-beam matrix (3 x 3); 5 x 5 is reported too
MIN_LAMBDA_FOR_E_OVER_PI = 5.0  # interaction lengths: shallower, pions leak out the back
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


def fraction_within(cumulative: np.ndarray, radius: float, bin_width: float) -> float:
    """The contained fraction at ``radius``, linear between bin edges."""
    edges = np.arange(len(cumulative) + 1) * bin_width
    return float(np.interp(radius, edges, np.concatenate([[0.0], cumulative])))


def radius_of(cumulative: np.ndarray, fraction: float, bin_width: float) -> float:
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


def check_energies(energies: Any, *, option: str) -> tuple[float, ...]:
    try:
        values = tuple(float(e) for e in energies)
    except (TypeError, ValueError):
        raise GenerationError(f"{option}: expected energies in GeV, got {energies!r}") from None
    if not values or not all(math.isfinite(e) and e > 0 for e in values):
        raise GenerationError(f"{option}: expected positive energies in GeV, got {list(values)}")
    return tuple(sorted(set(values)))


def simulated(
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


def file_geometry(path: Path) -> tuple[CaloGeometry, dict[str, Any]]:
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


def read_file(path: Path, geometry: CaloGeometry) -> dict[str, ShowerSummary]:
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
