"""Calorimeter towers on an η-φ grid, their energy resolution and the particle-flow excess.

A deposit is one particle's energy in one tower of one calorimeter (ECAL = 0, HCAL = 1).
The towers of a whole batch of events are found at once: every deposit gets the integer
key (event, calorimeter, cell) and ``np.unique`` / ``np.bincount`` sum over equal keys, so
memory grows with the number of hit towers, not with events x cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hepdl.generate._tracking import lognormal_factor

ECAL = 0
HCAL = 1


@dataclass(frozen=True)
class TowerGrid:
    """Square cells of about ``cell_size`` x ``cell_size`` in η-φ covering |η| < eta_max.

    The cells are stretched slightly so that a whole number of them spans each axis:
    n_η = round(2·eta_max / cell_size), n_φ = round(2π / cell_size).
    """

    eta_max: float
    cell_size: float

    @property
    def n_eta(self) -> int:
        return max(1, round(2 * self.eta_max / self.cell_size))

    @property
    def n_phi(self) -> int:
        return max(1, round(2 * math.pi / self.cell_size))

    @property
    def n_cells(self) -> int:
        return self.n_eta * self.n_phi

    @property
    def deta(self) -> float:
        return 2 * self.eta_max / self.n_eta

    @property
    def dphi(self) -> float:
        return 2 * math.pi / self.n_phi

    def cell(self, eta: np.ndarray, phi: np.ndarray) -> np.ndarray:
        """(N,) cell index i_η·n_φ + i_φ of directions with |η| < eta_max, φ in [-π, π]."""
        i_eta = np.clip(np.floor((eta + self.eta_max) / self.deta), 0, self.n_eta - 1)
        # φ = π (the same direction as -π) wraps into the first column.
        turn = np.mod(phi + math.pi, 2 * math.pi)
        i_phi = np.clip(np.floor(turn / self.dphi), 0, self.n_phi - 1)
        return i_eta.astype(np.int64) * self.n_phi + i_phi.astype(np.int64)

    def centre(self, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(η, φ) of the centres of ``cell`` (N,)."""
        i_eta, i_phi = np.divmod(np.asarray(cell, np.int64), self.n_phi)
        return (
            -self.eta_max + (i_eta + 0.5) * self.deta,
            -math.pi + (i_phi + 0.5) * self.dphi,
        )


def energy_resolution(energy: np.ndarray, *, stochastic: float, constant: float) -> np.ndarray:
    """(N,) absolute resolution σ(E) in GeV of σ(E)/E = a/sqrt(E) ⊕ b.

    σ(E) = sqrt(a²·E + b²·E²): a (``stochastic``, GeV^1/2) from shower sampling
    fluctuations, b (``constant``) from calibration and non-uniformity.
    """
    energy = np.maximum(energy, 0.0)
    return np.sqrt(stochastic * stochastic * energy + constant * constant * energy * energy)


@dataclass(frozen=True)
class Towers:
    """The hit towers of a batch, ``T`` of them, sorted by event, calorimeter, cell.

    ``energy`` is the measured energy; ``true_energy`` the sum of the deposited particle
    energies; ``track_energy`` the energy the tracks pointing to the tower predict, with
    ``track_variance`` the sum of their squared uncertainties; ``pileup_energy`` the part
    of ``true_energy`` from pile-up particles.
    """

    event: np.ndarray  # (T,) int64
    calorimeter: np.ndarray  # (T,) int64, ECAL or HCAL
    cell: np.ndarray  # (T,) int64
    eta: np.ndarray  # (T,) float64, tower centre
    phi: np.ndarray  # (T,) float64, tower centre
    true_energy: np.ndarray  # (T,) float64
    energy: np.ndarray  # (T,) float64
    track_energy: np.ndarray  # (T,) float64
    track_variance: np.ndarray  # (T,) float64
    pileup_energy: np.ndarray  # (T,) float64

    def __len__(self) -> int:
        return len(self.event)


def fill_towers(
    *,
    event: np.ndarray,
    calorimeter: np.ndarray,
    cell: np.ndarray,
    energy: np.ndarray,
    track_energy: np.ndarray,
    track_variance: np.ndarray,
    is_pileup: np.ndarray,
    grids: tuple[TowerGrid, TowerGrid],
    resolutions: tuple[tuple[float, float], tuple[float, float]],
    rng: np.random.Generator,
) -> Towers:
    """Sum ``D`` deposits (all arguments (D,)) into towers and smear each tower's energy.

    ``grids`` and ``resolutions`` ((stochastic, constant)) are indexed by ECAL / HCAL. The
    measured energy is E_true times a log-normal factor of mean 1 and width σ(E_true)/E_true,
    one draw per tower.
    """
    stride = max(grid.n_cells for grid in grids)
    key = (event.astype(np.int64) * 2 + calorimeter) * stride + cell  # (D,)
    unique, inverse = np.unique(key, return_inverse=True)  # (T,), (D,)
    n_towers = len(unique)

    def tower_sum(values: np.ndarray) -> np.ndarray:
        return np.bincount(inverse, weights=values, minlength=n_towers)

    event_and_calorimeter, tower_cell = np.divmod(unique, stride)
    tower_event, tower_calorimeter = np.divmod(event_and_calorimeter, 2)
    true_energy = tower_sum(energy)
    stochastic = np.array([r[0] for r in resolutions])[tower_calorimeter]  # (T,)
    constant = np.array([r[1] for r in resolutions])[tower_calorimeter]  # (T,)
    sigma = energy_resolution(true_energy, stochastic=stochastic, constant=constant)
    relative = np.divide(sigma, true_energy, out=np.zeros(n_towers), where=true_energy > 0)
    eta = np.empty(n_towers)
    phi = np.empty(n_towers)
    for index, grid in enumerate(grids):  # two calorimeters, not a loop over particles
        here = tower_calorimeter == index
        eta[here], phi[here] = grid.centre(tower_cell[here])
    return Towers(
        event=tower_event,
        calorimeter=tower_calorimeter,
        cell=tower_cell,
        eta=eta,
        phi=phi,
        true_energy=true_energy,
        energy=true_energy * lognormal_factor(rng, relative),
        track_energy=tower_sum(track_energy),
        track_variance=tower_sum(track_variance),
        pileup_energy=tower_sum(np.where(is_pileup, energy, 0.0)),
    )


def neutral_excess(
    towers: Towers,
    *,
    resolutions: tuple[tuple[float, float], tuple[float, float]],
    energy_min: tuple[float, float],
    significance: float,
) -> tuple[np.ndarray, np.ndarray]:
    """The simple particle flow: which towers hold neutral energy beyond the tracks, and how much.

    ΔE = E_tower - Σ E_track over the tracked particles that deposit in the tower. The
    excess is a neutral particle when ΔE > energy_min (of that calorimeter) and
    ΔE > significance · sqrt(σ(E_tower)² + Σ σ(E_track)²), σ(E_tower) evaluated at the
    measured energy as a reconstruction would. Returns ``neutral (T,) bool`` and
    ``excess (T,)`` (ΔE, also where not neutral).
    """
    cal = towers.calorimeter
    stochastic = np.array([r[0] for r in resolutions])[cal]
    constant = np.array([r[1] for r in resolutions])[cal]
    sigma_tower = energy_resolution(towers.energy, stochastic=stochastic, constant=constant)
    sigma = np.sqrt(sigma_tower * sigma_tower + towers.track_variance)
    excess = towers.energy - towers.track_energy
    neutral = (excess > np.asarray(energy_min)[cal]) & (excess > significance * sigma)
    return neutral, excess
