"""Single particles shot at a calorimeter: the in-memory core of the shower simulation.

>>> import numpy as np
>>> from hepdl.generate.shower_model import simulate
>>> cells = simulate("cms_ecal", "e-", np.full(100, 50.0), np.random.default_rng(1))
>>> cells["ecal"].shape, round(float(cells["ecal"].sum(axis=(1, 2)).mean() / 50), 2)
((100, 35, 35), 0.96)

The physics of the spots (GFlash electromagnetic showers, hadronic showers with a
fluctuating electromagnetic fraction) is in ``_shower_spots``, their response and
read-out in ``_shower_cells``, pile-up in ``_shower_pileup``; docs/tutorials/
calorimeter-showers.md lists the model's parameters and its limits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hepdl.errors import GenerationError
from hepdl.generate._shower_cells import Placement, bin_cells, measured_energy, truth_profiles
from hepdl.generate._shower_pileup import MinBiasOverlay, particle_spots
from hepdl.generate._shower_spots import Spots, em_spot_counts
from hepdl.generate.calo_geometry import CaloGeometry, get_geometry
from hepdl.text import did_you_mean

PI0_MASS = 0.1349768  # GeV
# Spots to simulate in one call at most: bounds the memory of a batch of showers (~10
# arrays of 8 bytes per spot, ~160 MB); callers split their showers by expected_spots.
SPOTS_PER_BATCH = 2_000_000


@dataclass(frozen=True)
class Particle:
    name: str
    pid: int
    mass: float  # GeV (the incident energy is the total energy)


PARTICLES: dict[str, Particle] = {
    p.name: p
    for p in (
        Particle("e-", 11, 0.000511),
        Particle("e+", -11, 0.000511),
        Particle("gamma", 22, 0.0),
        Particle("pi+", 211, 0.13957),
        Particle("pi-", -211, 0.13957),
        Particle("pi0", 111, PI0_MASS),
        Particle("proton", 2212, 0.93827),
        Particle("neutron", 2112, 0.93957),
        Particle("kaon0L", 130, 0.49761),
    )
}


def get_particle(name: str) -> Particle:
    if not isinstance(name, str) or name not in PARTICLES:
        raise GenerationError(
            f"unknown particle {name!r}{did_you_mean(str(name), PARTICLES)}; "
            f"registered: {', '.join(PARTICLES)}"
        )
    return PARTICLES[name]


def check_energies(energy: np.ndarray) -> np.ndarray:
    energy = np.asarray(energy, dtype=np.float64)
    if energy.ndim != 1:
        raise GenerationError(f"energies must be a 1-D array, got shape {energy.shape}")
    bad = ~(np.isfinite(energy) & (energy > 0))
    if bad.any():
        raise GenerationError(
            f"energies must be finite and > 0 GeV; entry {int(np.argmax(bad))} is "
            f"{float(energy[np.argmax(bad)])!r}"
        )
    return energy


def _pi0_photons(
    energy: np.ndarray, distance_cm: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """pi0 -> gamma gamma: ((2K,) photon energies, (2K, 2) front-face offsets, (2K,) parent).

    In the lab the photons share the energy as z and 1 - z with z uniform (an isotropic
    decay of a relativistic spin-0 particle) and open by theta with
    cos(theta) = 1 - m^2 / (2 E1 E2); the pair's energy-weighted centre is the impact point.
    """
    k = len(energy)
    z = rng.uniform(0.0, 1.0, k)
    e1, e2 = z * energy, (1 - z) * energy
    cos_theta = 1.0 - PI0_MASS**2 / np.maximum(2.0 * e1 * e2, 1e-30)
    theta = np.arccos(np.clip(cos_theta, -1.0, 1.0))
    separation = np.minimum(np.tan(np.minimum(theta, 1.5)) * distance_cm, 1e4)
    direction = rng.uniform(0.0, 2 * np.pi, k)
    unit = np.stack([np.cos(direction), np.sin(direction)], axis=1)  # (K, 2)
    offsets = np.concatenate([unit * (separation * e2 / energy)[:, None],
                              -unit * (separation * e1 / energy)[:, None]])  # fmt: skip
    return np.concatenate([e1, e2]), offsets, np.concatenate([np.arange(k)] * 2)


def signal_spots(
    geometry: CaloGeometry, particle: Particle, energy: np.ndarray, rng: np.random.Generator
) -> Spots:
    """The spots of N showers of ``particle`` at ``energy`` (N,) entering at the impact."""
    n = len(energy)
    if particle.pid == 111:
        distance = geometry.radius_cm if math.isfinite(geometry.radius_cm) else 150.0
        e, offsets, parent = _pi0_photons(energy, distance, rng)
        return particle_spots(geometry, np.full(2 * n, 22), e, offsets, parent, rng)
    return particle_spots(
        geometry, np.full(n, particle.pid), energy, np.zeros((n, 2)), np.arange(n), rng
    )


def expected_spots(particle: Particle, energy: np.ndarray, geometry: CaloGeometry) -> np.ndarray:
    """Roughly how many spots each shower makes (for sizing batches), (N,)."""
    em = em_spot_counts(energy, geometry.sections[0].z_eff)
    return em * (1 if abs(particle.pid) in (11, 22, 111) else 2)


def simulate(
    geometry: str | CaloGeometry,
    particle: str | Particle,
    energy: np.ndarray,
    rng: np.random.Generator,
    *,
    angle_deg: float = 0.0,
    pileup: MinBiasOverlay | None = None,
    profiles: bool = False,
) -> dict[str, np.ndarray]:
    """Showers of ``particle`` with incident ``energy`` (N,) GeV in ``geometry``.

    Returns per layer its cells (N, H, W) float32 GeV (noise and pile-up included);
    ``<layer>_signal`` (the signal particle's part, no noise) when the geometry has noise
    or pile-up; ``impact_x``, ``impact_y`` (N,) in first-layer cells from the window
    centre; ``pileup_collisions`` and ``pileup_energy`` (N,) with ``pileup``; with
    ``profiles``, the truth ``profile_x0`` (N, 80: energy per 0.5 X0 of depth) and
    ``profile_moliere`` (N, 100: electromagnetic energy per 0.05 Moliere radii).
    ``angle_deg`` tilts the axis in x (the columns) from the normal (projective) line.
    """
    geometry = get_geometry(geometry) if isinstance(geometry, str) else geometry
    particle = get_particle(particle) if isinstance(particle, str) else particle
    energy = check_energies(energy)
    if pileup is not None and not geometry.pileup_capable:
        raise GenerationError(
            f"geometry {geometry.name!r} has no eta-phi cells: pile-up can be overlaid on "
            f"{', '.join(g for g in ('cms_ecal',))} only"
        )
    if not (isinstance(angle_deg, int | float) and math.isfinite(angle_deg)
            and abs(angle_deg) < 60):  # fmt: skip
        raise GenerationError(f"angle must be in (-60, 60) degrees, got {angle_deg!r}")
    n = len(energy)
    first = geometry.layers[0]
    spread = geometry.impact_spread_cells
    impact_cells = rng.uniform(-spread / 2, spread / 2, (n, 2)) if spread else np.zeros((n, 2))
    placement = Placement(
        impact_cm=impact_cells * np.array([first.cell_cm[1], first.cell_cm[0]]),
        slope=np.column_stack([np.full(n, math.tan(math.radians(angle_deg))), np.zeros(n)]),
        scale=np.maximum(1.0 + geometry.constant_term * rng.standard_normal(n), 0.0),
    )
    spots = signal_spots(geometry, particle, energy, rng)
    measured = measured_energy(geometry, spots, rng)
    signal = bin_cells(geometry, spots, measured, placement, n)
    columns: dict[str, np.ndarray] = {}
    total = {name: cells.copy() for name, cells in signal.items()}
    if pileup is not None:
        pu_spots, collisions = pileup.spots(geometry, n, rng)
        pu_measured = measured_energy(geometry, pu_spots, rng)
        centre = Placement(np.zeros((n, 2)), np.zeros((n, 2)), placement.scale)
        pu_cells = bin_cells(geometry, pu_spots, pu_measured, centre, n)
        for name in total:
            total[name] += pu_cells[name]
        columns["pileup_mu"] = np.full(n, pileup.mu)
        columns["pileup_collisions"] = collisions.astype(np.int32)
        columns["pileup_energy"] = sum(c.sum(axis=(1, 2)) for c in pu_cells.values())
    noisy = any(layer.noise_gev > 0 for layer in geometry.layers)
    for layer in geometry.layers:
        cells = total[layer.name]
        if layer.noise_gev > 0:
            cells = cells + layer.noise_gev * rng.standard_normal(cells.shape)
        columns[layer.name] = cells.astype(np.float32)
        if noisy or pileup is not None:
            columns[f"{layer.name}_signal"] = signal[layer.name].astype(np.float32)
    columns["impact_x"], columns["impact_y"] = impact_cells[:, 0], impact_cells[:, 1]
    if profiles:
        columns["profile_x0"], columns["profile_moliere"] = truth_profiles(spots, measured, n)
    return columns
