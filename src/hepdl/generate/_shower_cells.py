"""From energy spots to cell energies: response, sampling fluctuations, read-out grid.

Each spot's energy is first turned into what the calorimeter sees: times the section's
h/e for the non-electromagnetic part of a hadronic shower (non-compensation), then
fluctuated with the section's stochastic term a: a spot of visible energy e reads
Gamma(shape = e / a^2, scale = a^2), mean e and variance a^2 e, so a shower's sum has
sigma^2 = a^2 E (the a / sqrt(E) term) and a cell's reading stays positive. A shower-wide
factor N(1, c) adds the constant term (intercalibration, non-uniformity). Spots in a gap
or beyond the back are lost (dead material, rear leakage). Electronic noise is added to
the cells by the caller, not here: the signal part of a cell has none.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepdl.generate._shower_spots import Spots
from hepdl.generate.calo_geometry import CaloGeometry

PROFILE_X0_BIN = 0.5  # longitudinal truth profile: bins of 0.5 X0 ...
PROFILE_X0_BINS = 80  # ... up to 40 X0
RADIAL_BIN = 0.05  # radial truth profile: bins of 0.05 Moliere radii ...
RADIAL_BINS = 100  # ... up to 5 R_M


@dataclass(frozen=True)
class Placement:
    """Where each of N showers enters: front-face position and direction."""

    impact_cm: np.ndarray  # (N, 2) x, y on the front face, relative to the window centre
    slope: np.ndarray  # (N, 2) dx/dz, dy/dz of the axis (0: along the projective line)
    scale: np.ndarray  # (N,) the constant-term factor of each shower


def measured_energy(geometry: CaloGeometry, spots: Spots, rng: np.random.Generator) -> np.ndarray:
    """(M,) what each spot reads: h/e response, Gamma sampling fluctuation; 0 if lost."""
    finite = np.isfinite(spots.z_cm) & np.isfinite(spots.x_cm) & np.isfinite(spots.y_cm)
    section = geometry.section_index(np.where(finite, spots.z_cm, 0.0))
    live = finite & ~np.array([s.is_gap for s in geometry.sections])[section]
    h_over_e = geometry.section_table("h_over_e")[section]
    visible = np.where(live, spots.energy * np.where(spots.hadronic, h_over_e, 1.0), 0.0)
    a = np.where(
        spots.hadronic,
        geometry.section_table("sampling_hadronic")[section],
        geometry.section_table("sampling_em")[section],
    )
    fluctuate = (a > 0) & (visible > 0)
    a2 = np.where(fluctuate, a * a, 1.0)
    shape = np.where(fluctuate, visible / a2, 1.0)
    return np.where(fluctuate, rng.gamma(shape, a2), visible)


def bin_cells(
    geometry: CaloGeometry,
    spots: Spots,
    measured: np.ndarray,
    placement: Placement,
    n_showers: int,
) -> dict[str, np.ndarray]:
    """{layer name: (N, H, W) float64} cell sums of the spots' ``measured`` energies."""
    read = measured > 0  # lost spots (upstream, gaps, leaked) read nothing
    z, owner = spots.z_cm[read], spots.shower[read]
    shrink = geometry.to_front_face(z)
    u = placement.impact_cm[owner, 0] + (spots.x_cm[read] + placement.slope[owner, 0] * z) * shrink
    v = placement.impact_cm[owner, 1] + (spots.y_cm[read] + placement.slope[owner, 1] * z) * shrink
    energy = measured[read] * placement.scale[owner]
    cells: dict[str, np.ndarray] = {}
    for layer in geometry.layers:
        height, width = layer.shape
        inside = (z >= layer.start_cm) & (z < layer.stop_cm)
        col = np.floor(u / layer.cell_cm[1] + width / 2).astype(np.int64, copy=False)
        row = np.floor(v / layer.cell_cm[0] + height / 2).astype(np.int64, copy=False)
        inside &= (col >= 0) & (col < width) & (row >= 0) & (row < height)
        flat = (owner[inside] * height + row[inside]) * width + col[inside]
        sums = np.bincount(flat, weights=energy[inside], minlength=n_showers * height * width)
        cells[layer.name] = sums.reshape(n_showers, height, width)
    return cells


def truth_profiles(
    spots: Spots, measured: np.ndarray, n_showers: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per shower, the measured energy in depth bins of 0.5 X0 (N, 80) and, for the
    electromagnetic spots, in lateral bins of 0.05 Moliere radii (N, 100), before the
    read-out grid: what a Geant4 user scores step by step to check a shower model."""
    t_bin = np.floor(np.nan_to_num(spots.t_x0, nan=-1.0) / PROFILE_X0_BIN).astype(np.int64)
    ok = (measured > 0) & (t_bin >= 0) & (t_bin < PROFILE_X0_BINS)
    longitudinal = np.bincount(
        spots.shower[ok] * PROFILE_X0_BINS + t_bin[ok],
        weights=measured[ok],
        minlength=n_showers * PROFILE_X0_BINS,
    ).reshape(n_showers, PROFILE_X0_BINS)
    r_bin = np.floor(np.nan_to_num(spots.r_moliere, nan=-1.0) / RADIAL_BIN).astype(np.int64)
    ok = (measured > 0) & ~spots.hadronic & (r_bin >= 0)
    r_bin = np.minimum(r_bin, RADIAL_BINS - 1)  # the last bin holds everything beyond
    radial = np.bincount(
        spots.shower[ok] * RADIAL_BINS + r_bin[ok],
        weights=measured[ok],
        minlength=n_showers * RADIAL_BINS,
    ).reshape(n_showers, RADIAL_BINS)
    return longitudinal, radial
