"""FastJet clustering of a batch of events and the jet selection.

Clustering works on :class:`Particles`, the flat final-state particles of a batch (the
visible particles of Pythia's record, or a detector's particle-flow candidates);
FastJet's awkward interface clusters all events of a batch in one call.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from hepdl.generate._pythia import FlatEvents, capture_native_stdout

# Particles that leave no trace in a detector: neutrinos and the lightest neutralino.
INVISIBLE = (12, 14, 16, 1000022)


def pt_eta_phi_mass(
    px: np.ndarray, py: np.ndarray, pz: np.ndarray, e: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Transverse momentum, pseudorapidity, azimuth and mass of four-momenta.

    pT = sqrt(px² + py²), η = asinh(pz / pT), φ = atan2(py, px) in (-π, π],
    m = sqrt(max(E² - |p|², 0)).  η is ±inf for pT = 0.
    """
    pt = np.hypot(px, py)
    with np.errstate(divide="ignore", invalid="ignore"):
        eta = np.where(pt > 0, np.arcsinh(pz / np.where(pt > 0, pt, 1.0)), np.sign(pz) * np.inf)
    phi = np.arctan2(py, px)
    mass = np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))
    return pt, eta, phi, mass


def delta_r(eta1: np.ndarray, phi1: np.ndarray, eta2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    """ΔR = sqrt(Δη² + Δφ²) with Δφ wrapped into [-π, π]."""
    dphi = np.mod(phi1 - phi2 + np.pi, 2 * np.pi) - np.pi
    return np.hypot(eta1 - eta2, dphi)


def visible_final_state(events: FlatEvents) -> np.ndarray:
    """(N,) bool: final-state particles (status > 0) that are not neutrinos."""
    return (events.status > 0) & ~np.isin(np.abs(events.pid), INVISIBLE)


@dataclass(frozen=True)
class Particles:
    """Final-state particles of a batch of ``n_events`` events, flat and ordered by event.

    ``M`` particles in total.
    """

    n_events: int
    event: np.ndarray  # (M,) int64, ascending
    px: np.ndarray  # (M,) float64
    py: np.ndarray  # (M,) float64
    pz: np.ndarray  # (M,) float64
    e: np.ndarray  # (M,) float64
    pid: np.ndarray  # (M,) int32
    charge: np.ndarray  # (M,) float64, units of e

    def __len__(self) -> int:
        return len(self.event)

    @property
    def counts(self) -> np.ndarray:
        """(n_events,) particles per event."""
        return np.bincount(self.event, minlength=self.n_events)

    def take(self, keep: np.ndarray) -> Particles:
        """The particles where ``keep`` (M,) is true (every per-particle field, subclasses'
        included), in the same events."""
        per_particle = {
            f.name: getattr(self, f.name)[keep] for f in fields(self) if f.name != "n_events"
        }
        return replace(self, **per_particle)

    def rapidity(self) -> np.ndarray:
        """(M,) y = ½ ln((E + pz) / (E − pz))."""
        return _rapidity(self.e, self.pz)


def visible_particles(events: FlatEvents, charge: Any) -> Particles:
    """The visible final-state particles of Pythia's record; ``charge`` maps PDG ids."""
    index = np.flatnonzero(visible_final_state(events))  # (M,) global record indices
    return Particles(
        n_events=events.n_events,
        event=events.event_of[index],
        px=events.px[index],
        py=events.py[index],
        pz=events.pz[index],
        e=events.e[index],
        pid=events.pid[index],
        charge=np.asarray(charge(events.pid[index]), np.float64),
    )


@dataclass(frozen=True)
class Jets:
    """Jets of one batch. ``J`` jets, ``C`` constituents in total.

    Jets are ordered by event, then by decreasing pT; the constituents of each jet
    follow each other in jet order, by decreasing pT.
    """

    event: np.ndarray  # (J,) int64, event index in the batch
    px: np.ndarray  # (J,) float64
    py: np.ndarray  # (J,) float64
    pz: np.ndarray  # (J,) float64
    e: np.ndarray  # (J,) float64
    n_constituents: np.ndarray  # (J,) int64
    particle: np.ndarray  # (C,) int64, index into the clustered Particles

    def __len__(self) -> int:
        return len(self.event)

    def kinematics(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        return pt_eta_phi_mass(self.px, self.py, self.pz, self.e)

    def take(self, keep: np.ndarray) -> Jets:
        """The jets where ``keep`` (J,) is true, with their constituents."""
        keep_constituents = np.repeat(keep, self.n_constituents)
        return Jets(
            self.event[keep],
            self.px[keep],
            self.py[keep],
            self.pz[keep],
            self.e[keep],
            self.n_constituents[keep],
            self.particle[keep_constituents],
        )


_banner_shown = False


def _silence_fastjet_banner() -> None:
    """FastJet prints its banner on the first clustering of a process: catch it once."""
    global _banner_shown
    if _banner_shown:
        return
    import awkward as ak
    import fastjet

    one = ak.Array([[{"px": 1.0, "py": 0.0, "pz": 0.0, "E": 1.0}]])
    with capture_native_stdout():
        fastjet.ClusterSequence(one, fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4))
        _banner_shown = True


def cluster(particles: Particles, *, radius: float, pt_min: float) -> Jets:
    """Anti-kT jets (E-scheme) of radius ``radius`` with pT >= ``pt_min``, per event."""
    import awkward as ak
    import fastjet

    counts = particles.counts  # (n,)
    first = np.concatenate([[0], np.cumsum(counts)[:-1]])  # (n,) index of each event's first
    inputs = ak.unflatten(
        ak.zip({"px": particles.px, "py": particles.py, "pz": particles.pz, "E": particles.e}),
        counts,
    )
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    _silence_fastjet_banner()
    sequence = fastjet.ClusterSequence(inputs, definition)
    found = sequence.inclusive_jets(min_pt=pt_min)
    index = sequence.constituent_index(min_pt=pt_min)

    n_jets = ak.to_numpy(ak.num(found)).astype(np.int64)  # (n,)
    event = np.repeat(np.arange(particles.n_events), n_jets)  # (J,)
    px = np.asarray(ak.to_numpy(ak.flatten(found["px"])), np.float64)
    py = np.asarray(ak.to_numpy(ak.flatten(found["py"])), np.float64)
    pz = np.asarray(ak.to_numpy(ak.flatten(found["pz"])), np.float64)
    e = np.asarray(ak.to_numpy(ak.flatten(found["E"])), np.float64)
    n_constituents = ak.to_numpy(ak.flatten(ak.num(index, axis=2))).astype(np.int64)  # (J,)
    local = np.asarray(ak.to_numpy(ak.flatten(index, axis=None)), np.int64)  # (C,)
    jet_of = np.repeat(np.arange(len(event)), n_constituents)  # (C,)
    particle = first[event[jet_of]] + local  # (C,)

    # FastJet gives jets in clustering order: sort by event, then decreasing pT, and the
    # constituents by their jet's new position, then decreasing pT.
    jet_order = np.lexsort((-np.hypot(px, py), event))
    rank = np.empty_like(jet_order)
    rank[jet_order] = np.arange(len(jet_order))
    constituent_pt = np.hypot(particles.px[particle], particles.py[particle])
    constituent_order = np.lexsort((-constituent_pt, rank[jet_of]))
    return Jets(
        event[jet_order],
        px[jet_order],
        py[jet_order],
        pz[jet_order],
        e[jet_order],
        n_constituents[jet_order],
        particle[constituent_order],
    )


def _rapidity(e: np.ndarray, pz: np.ndarray) -> np.ndarray:
    """y = ½ ln((E + pz) / (E − pz)), finite for E = |pz| (±inf clipped)."""
    with np.errstate(divide="ignore"):
        return 0.5 * np.log(np.maximum(e + pz, 1e-300) / np.maximum(e - pz, 1e-300))


def rapidity(jets: Jets) -> np.ndarray:
    """(J,) jet rapidity y = ½ ln((E + pz) / (E − pz))."""
    return _rapidity(jets.e, jets.pz)


def in_window(
    jets: Jets,
    *,
    pt_min: float,
    pt_max: float,
    eta_max: float | None = None,
    rapidity_max: float | None = None,
) -> np.ndarray:
    """(J,) bool: pt_min <= pT <= pt_max, |η| < eta_max and |y| < rapidity_max (if given)."""
    pt, eta, _, _ = jets.kinematics()
    keep = (pt >= pt_min) & (pt <= pt_max)
    if eta_max is not None:
        keep &= np.abs(eta) < eta_max
    if rapidity_max is not None:
        keep &= np.abs(rapidity(jets)) < rapidity_max
    return keep


def leading(jets: Jets) -> np.ndarray:
    """(J,) bool: the hardest jet of its event (jets are ordered by event, then pT)."""
    first = np.ones(len(jets), dtype=bool)
    first[1:] = jets.event[1:] != jets.event[:-1]
    return first


def jet_columns(jets: Jets, particles: Particles) -> dict[str, np.ndarray]:
    """The per-jet and flat per-constituent output arrays of ``jets``.

    Constituent arrays are flat (C,), split into jets by ``jet_nparticles``; samples with
    pile-up also get ``part_is_pileup``.
    """
    pt, eta, phi, mass = jets.kinematics()
    index = jets.particle
    columns = {
        "jet_pt": pt,
        "jet_eta": eta,
        "jet_phi": phi,
        "jet_energy": jets.e.copy(),
        "jet_mass": mass,
        "jet_nparticles": jets.n_constituents.copy(),
        "part_px": particles.px[index].astype(np.float32),
        "part_py": particles.py[index].astype(np.float32),
        "part_pz": particles.pz[index].astype(np.float32),
        "part_energy": particles.e[index].astype(np.float32),
        "part_pid": particles.pid[index].astype(np.int32),
        "part_charge": particles.charge[index].astype(np.float32),
    }
    flags = getattr(particles, "is_pileup", None)  # with pile-up overlaid (FlaggedParticles)
    if flags is not None:
        # 1 for a constituent from a pile-up collision (a neutral candidate of the detector
        # response: when pile-up brought more than half of its tower's energy), else 0
        columns["part_is_pileup"] = flags[index].astype(np.float32)
    return columns
