"""Optional fast detector response: tracking, calorimeter towers and a simple particle flow.

Off by default: generated samples are at particle level unless a recipe asks for
:func:`detector_response` (after an optional :func:`hepdl.generate.pileup.overlay_pileup`)
and clusters its particle-flow candidates instead of the particles. The model follows
the Delphes CMS card (delphes/cards/delphes_card_CMS.tcl, barrel values), simplified:

* Tracker, |η| < 2.5: a charged particle (muons included) leaves a track with
  efficiency 0 below pT = 0.1 GeV, 70% up to 1 GeV and 95% above; the track pT is
  smeared with σ(pT)/pT = 1% ⊕ 1.5e-4·pT/GeV, its direction and mass kept.
* ECAL, |η| < 3, cells 0.0174 x 0.0174: absorbs electrons and photons,
  σ(E)/E = 11%/sqrt(E/GeV) ⊕ 0.8%.
* HCAL, |η| < 5, cells 0.087 x 0.087: absorbs all other visible particles, and electrons
  and photons with 3 <= |η| < 5 (the forward calorimeter), σ(E)/E = 150%/sqrt(E/GeV) ⊕ 5%.
* Muons leave only their track (their minimum-ionising deposit is neglected).
  Neutrinos, the lightest neutralino (1000022) and any ``invisible_pids`` leave nothing.
* Particles fly straight from the origin (no magnetic bending, no shower spread) and
  each deposits its whole energy in one tower of one calorimeter.

Particle flow: every track is a charged candidate (its pid kept, so e, μ and charged
hadrons stay distinguishable). In each tower the energy the tracks predict is subtracted
from the measured energy; an excess above 0.5 GeV (ECAL) or 1 GeV (HCAL) and above one
standard deviation of tower and tracks (Delphes CMS asks for two; see
:func:`hepdl.generate._calorimeter.neutral_excess`) becomes a massless neutral candidate at
the tower centre, a photon (22) in the ECAL, a neutral hadron (130) in the HCAL. Charged
particles without a track deposit like the others and end up in neutral candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from hepdl.errors import GenerationError
from hepdl.generate import _calorimeter as calo
from hepdl.generate._jets import INVISIBLE, Particles, pt_eta_phi_mass
from hepdl.generate._tracking import reconstruct_tracks

_ELECTROMAGNETIC = (11, 22)  # |pid| showering in the ECAL
_MUON = 13
PHOTON = 22
NEUTRAL_HADRON = 130  # K0_L: the pid of neutral candidates from HCAL towers


@dataclass(frozen=True)
class FlaggedParticles(Particles):
    """:class:`~hepdl.generate._jets.Particles` with a pile-up flag per particle.

    ``is_pileup (M,) bool`` marks particles of overlaid minimum-bias events (and neutral
    candidates whose tower energy is mostly theirs); truth-level matching to the hard
    process's partons should ignore them. Clustering and the jet columns use it as any
    Particles.
    """

    is_pileup: np.ndarray  # (M,) bool

    def __post_init__(self) -> None:
        flags = np.asarray(self.is_pileup)
        if flags.shape != self.event.shape:
            raise GenerationError(
                f"FlaggedParticles 'is_pileup' has shape {flags.shape}, expected "
                f"{self.event.shape}: one flag per particle"
            )
        object.__setattr__(self, "is_pileup", flags.astype(bool))


def pileup_flags(particles: Particles) -> np.ndarray:
    """(M,) bool: the ``is_pileup`` flags of ``particles``, all false for plain Particles."""
    flags = getattr(particles, "is_pileup", None)
    return np.zeros(len(particles), bool) if flags is None else flags


@dataclass(frozen=True, kw_only=True)
class DetectorSettings:
    """The detector model; the defaults are the Delphes CMS card's barrel (module docstring).

    Tracker: ``tracking_eta_max``; efficiency 0 for pT < ``track_pt_min``,
    ``track_efficiency_turn_on`` up to ``track_pt_plateau``, ``track_efficiency`` above;
    σ(pT)/pT = ``track_resolution_constant`` ⊕ ``track_resolution_slope`` · pT (per GeV).
    ECAL / HCAL: acceptance |η| < ``*_eta_max``, square cells of ``*_cell_size`` in η and φ,
    σ(E)/E = ``*_stochastic``/sqrt(E) ⊕ ``*_constant``, and the smallest neutral energy
    (GeV) particle flow keeps, ``*_energy_min``. ``pf_significance``: a tower's excess over
    its tracks is neutral when above this many standard deviations (Delphes CMS uses 2).
    ``invisible_pids``: |PDG id|s that leave nothing, besides neutrinos and the lightest
    neutralino (:data:`hepdl.generate._jets.INVISIBLE`).
    """

    tracking_eta_max: float = 2.5
    track_pt_min: float = 0.1
    track_pt_plateau: float = 1.0
    track_efficiency_turn_on: float = 0.70
    track_efficiency: float = 0.95
    track_resolution_constant: float = 0.01
    track_resolution_slope: float = 1.5e-4
    ecal_eta_max: float = 3.0
    ecal_cell_size: float = 0.0174
    ecal_stochastic: float = 0.11
    ecal_constant: float = 0.008
    ecal_energy_min: float = 0.5
    hcal_eta_max: float = 5.0
    hcal_cell_size: float = 0.087
    hcal_stochastic: float = 1.50
    hcal_constant: float = 0.05
    hcal_energy_min: float = 1.0
    pf_significance: float = 1.0
    invisible_pids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        def bad(option: str, expected: str) -> GenerationError:
            return GenerationError(
                f"detector setting {option!r} must be {expected}, got {getattr(self, option)!r}"
            )

        for f in fields(self):
            if f.name == "invisible_pids":
                continue
            value = getattr(self, f.name)
            if isinstance(value, np.generic):
                value = value.item()
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise bad(f.name, "a finite number")
            if not math.isfinite(value):
                raise bad(f.name, "a finite number")
            if value < 0:
                raise bad(f.name, ">= 0")
            object.__setattr__(self, f.name, float(value))
        for option in ("tracking_eta_max", "ecal_eta_max", "hcal_eta_max"):
            if getattr(self, option) == 0:
                raise bad(option, "> 0")
        for option in ("ecal_cell_size", "hcal_cell_size"):
            if not 0 < getattr(self, option) <= math.pi:
                raise bad(option, "in (0, pi] (the cell size in eta and in phi)")
        for option in ("track_efficiency_turn_on", "track_efficiency"):
            if getattr(self, option) > 1:
                raise bad(option, "a probability in [0, 1]")
        if self.track_pt_plateau < self.track_pt_min:
            raise bad("track_pt_plateau", f">= track_pt_min = {self.track_pt_min} GeV")
        if self.hcal_eta_max < self.ecal_eta_max:
            raise bad(
                "hcal_eta_max",
                f">= ecal_eta_max = {self.ecal_eta_max} (the HCAL covers the ECAL acceptance too)",
            )
        pids = self.invisible_pids
        if isinstance(pids, (str, bytes)) or not isinstance(pids, Sequence | np.ndarray):
            raise bad("invisible_pids", "a sequence of integer PDG ids")
        if not all(isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in pids):
            raise bad("invisible_pids", "a sequence of integer PDG ids")
        object.__setattr__(self, "invisible_pids", tuple(sorted({abs(int(p)) for p in pids})))

    @property
    def grids(self) -> tuple[calo.TowerGrid, calo.TowerGrid]:
        """The (ECAL, HCAL) tower grids."""
        return (
            calo.TowerGrid(self.ecal_eta_max, self.ecal_cell_size),
            calo.TowerGrid(self.hcal_eta_max, self.hcal_cell_size),
        )

    @property
    def resolutions(self) -> tuple[tuple[float, float], tuple[float, float]]:
        """(stochastic, constant) of the (ECAL, HCAL)."""
        return (
            (self.ecal_stochastic, self.ecal_constant),
            (self.hcal_stochastic, self.hcal_constant),
        )


@dataclass(frozen=True)
class Reconstruction:
    """Everything :func:`reconstruct` found, for checks and studies.

    ``track (K,)``: indices of the tracked input particles; ``track_scale (K,)``: their
    measured/true pT; ``towers``: the hit towers; ``neutral (T,)``: towers that gave a
    neutral candidate; ``candidates``: the particle-flow candidates.
    """

    track: np.ndarray  # (K,) int64
    track_scale: np.ndarray  # (K,) float64
    towers: calo.Towers  # T towers
    neutral: np.ndarray  # (T,) bool
    candidates: FlaggedParticles


def detector_response(
    particles: Particles, settings: DetectorSettings, rng: np.random.Generator
) -> FlaggedParticles:
    """The particle-flow candidates of each event of ``particles`` (module docstring).

    Output, per event: the charged candidates (in input order), then the ECAL photons and
    the HCAL neutral hadrons (by cell). A neutral candidate is flagged ``is_pileup`` when
    pile-up particles brought more than half of its tower's true energy. The result
    depends only on the inputs and the state of ``rng``.
    """
    return reconstruct(particles, settings, rng).candidates


def reconstruct(
    particles: Particles, settings: DetectorSettings, rng: np.random.Generator
) -> Reconstruction:
    """:func:`detector_response` with the tracks and towers it made."""
    check_particles(particles)
    if not isinstance(settings, DetectorSettings):
        raise GenerationError(f"settings must be a DetectorSettings, got {type(settings).__name__}")
    if not isinstance(rng, np.random.Generator):
        raise GenerationError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    pt, eta, phi, mass = pt_eta_phi_mass(particles.px, particles.py, particles.pz, particles.e)
    abs_eta = np.abs(eta)  # nan or inf along the beam: outside every acceptance
    abs_pid = np.abs(particles.pid)
    visible = ~np.isin(abs_pid, INVISIBLE + settings.invisible_pids)  # (M,)
    flags = pileup_flags(particles)

    track, scale, sigma = reconstruct_tracks(
        pt,
        abs_eta,
        visible & (particles.charge != 0),
        rng,
        eta_max=settings.tracking_eta_max,
        pt_min=settings.track_pt_min,
        pt_plateau=settings.track_pt_plateau,
        turn_on=settings.track_efficiency_turn_on,
        plateau=settings.track_efficiency,
        resolution_constant=settings.track_resolution_constant,
        resolution_slope=settings.track_resolution_slope,
    )  # (K,) each
    p2 = scale**2 * (particles.px[track] ** 2 + particles.py[track] ** 2 + particles.pz[track] ** 2)
    track_e = np.sqrt(p2 + mass[track] ** 2)  # (K,) measured momentum, true mass
    # What the tracks predict each particle deposits (zero without a track), and its
    # variance: σ(E) = (dE/dp)·σ(p) = (p/E)·p·σ(pT)/pT, the direction being exact.
    predicted = np.zeros(len(particles))  # (M,)
    variance = np.zeros(len(particles))  # (M,)
    predicted[track] = track_e
    sigma_e = np.divide(p2 * sigma, track_e, out=np.zeros(len(track)), where=track_e > 0)
    variance[track] = sigma_e**2

    # Muons pass the calorimeters; everything else visible stops in one of them.
    deposit = np.flatnonzero(visible & (abs_pid != _MUON) & (abs_eta < settings.hcal_eta_max))
    in_ecal = np.isin(abs_pid[deposit], _ELECTROMAGNETIC) & (
        abs_eta[deposit] < settings.ecal_eta_max
    )
    calorimeter = np.where(in_ecal, calo.ECAL, calo.HCAL)  # (D,)
    cell = np.empty(len(deposit), np.int64)  # (D,)
    for index, grid in enumerate(settings.grids):  # two calorimeters, not a loop over particles
        here = calorimeter == index
        cell[here] = grid.cell(eta[deposit[here]], phi[deposit[here]])
    towers = calo.fill_towers(
        event=particles.event[deposit],
        calorimeter=calorimeter,
        cell=cell,
        energy=particles.e[deposit],
        track_energy=predicted[deposit],
        track_variance=variance[deposit],
        is_pileup=flags[deposit],
        grids=settings.grids,
        resolutions=settings.resolutions,
        rng=rng,
    )
    neutral, excess = calo.neutral_excess(
        towers,
        resolutions=settings.resolutions,
        energy_min=(settings.ecal_energy_min, settings.hcal_energy_min),
        significance=settings.pf_significance,
    )
    n_eta, n_phi, energy = towers.eta[neutral], towers.phi[neutral], excess[neutral]
    n_pt = energy / np.cosh(n_eta)  # massless: E = pT cosh η
    ecal = towers.calorimeter[neutral] == calo.ECAL
    candidates = _assemble(
        particles.n_events,
        event=(particles.event[track], towers.event[neutral]),
        px=(particles.px[track] * scale, n_pt * np.cos(n_phi)),
        py=(particles.py[track] * scale, n_pt * np.sin(n_phi)),
        pz=(particles.pz[track] * scale, n_pt * np.sinh(n_eta)),
        e=(track_e, energy),
        pid=(particles.pid[track], np.where(ecal, PHOTON, NEUTRAL_HADRON)),
        charge=(particles.charge[track], np.zeros(len(energy))),
        is_pileup=(
            flags[track],
            towers.pileup_energy[neutral] > 0.5 * towers.true_energy[neutral],
        ),
    )
    return Reconstruction(track, scale, towers, neutral, candidates)


def check_particles(particles: Particles) -> None:
    """Raise GenerationError unless ``particles`` is a consistent Particles batch."""
    if not isinstance(particles, Particles):
        raise GenerationError(f"particles must be a Particles, got {type(particles).__name__}")
    m = len(particles.event)
    for name in ("px", "py", "pz", "e", "pid", "charge"):
        if np.shape(getattr(particles, name)) != (m,):
            raise GenerationError(
                f"Particles field {name!r} has shape {np.shape(getattr(particles, name))}, "
                f"expected ({m},) like 'event'"
            )
    event = np.asarray(particles.event)
    if m and (
        event.dtype.kind not in "iu"
        or event[0] < 0
        or event[-1] >= particles.n_events
        or np.any(np.diff(event) < 0)
    ):
        raise GenerationError(
            f"Particles 'event' must be ascending integers in [0, n_events = "
            f"{particles.n_events}), got {event!r}"
        )


def _assemble(n_events: int, **pieces: tuple[np.ndarray, np.ndarray]) -> FlaggedParticles:
    """Particles from (charged, neutral) pieces of each field, sorted by event; within an
    event the charged ones come first, in their input order (a stable sort)."""
    event = np.concatenate(pieces.pop("event"))
    order = np.argsort(event, kind="stable")
    columns = {name: np.concatenate(pair)[order] for name, pair in pieces.items()}
    columns["pid"] = columns["pid"].astype(np.int32)
    return FlaggedParticles(n_events=n_events, event=event[order].astype(np.int64), **columns)
