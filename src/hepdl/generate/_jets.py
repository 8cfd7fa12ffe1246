"""FastJet clustering of a batch of events, the jet selection and top-parton matching.

Everything works on the flat arrays of :class:`~hepdl.generate._pythia.FlatEvents`;
FastJet's awkward interface clusters all events of a batch in one call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hepdl.generate._pythia import FlatEvents, capture_native_stdout

NEUTRINOS = (12, 14, 16)

# A last-copy chain (recoil copies and FSR emissions of one quark) is far shorter.
_MAX_CHAIN_STEPS = 500


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
    return (events.status > 0) & ~np.isin(np.abs(events.pid), NEUTRINOS)


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
    particle: np.ndarray  # (C,) int64, global index into the FlatEvents arrays

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


def cluster(events: FlatEvents, *, radius: float, pt_min: float) -> Jets:
    """Anti-kT jets (E-scheme) of radius ``radius`` with pT >= ``pt_min``, per event.

    The inputs are the visible final-state particles of each event.
    """
    import awkward as ak
    import fastjet

    visible = np.flatnonzero(visible_final_state(events))  # (V,) global indices
    n_visible = np.bincount(events.event_of[visible], minlength=events.n_events)  # (n,)
    visible_start = np.concatenate([[0], np.cumsum(n_visible)[:-1]])
    inputs = ak.unflatten(
        ak.zip(
            {
                "px": events.px[visible],
                "py": events.py[visible],
                "pz": events.pz[visible],
                "E": events.e[visible],
            }
        ),
        n_visible,
    )
    definition = fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    _silence_fastjet_banner()
    sequence = fastjet.ClusterSequence(inputs, definition)
    found = sequence.inclusive_jets(min_pt=pt_min)
    index = sequence.constituent_index(min_pt=pt_min)

    n_jets = ak.to_numpy(ak.num(found)).astype(np.int64)  # (n,)
    event = np.repeat(np.arange(events.n_events), n_jets)  # (J,)
    px = np.asarray(ak.to_numpy(ak.flatten(found["px"])), np.float64)
    py = np.asarray(ak.to_numpy(ak.flatten(found["py"])), np.float64)
    pz = np.asarray(ak.to_numpy(ak.flatten(found["pz"])), np.float64)
    e = np.asarray(ak.to_numpy(ak.flatten(found["E"])), np.float64)
    n_constituents = ak.to_numpy(ak.flatten(ak.num(index, axis=2))).astype(np.int64)  # (J,)
    local = np.asarray(ak.to_numpy(ak.flatten(index, axis=None)), np.int64)  # (C,)
    jet_of = np.repeat(np.arange(len(event)), n_constituents)  # (C,)
    particle = visible[visible_start[event[jet_of]] + local]  # (C,)

    # FastJet gives jets in clustering order: sort by event, then decreasing pT, and the
    # constituents by their jet's new position, then decreasing pT.
    jet_order = np.lexsort((-np.hypot(px, py), event))
    rank = np.empty_like(jet_order)
    rank[jet_order] = np.arange(len(jet_order))
    constituent_pt = np.hypot(events.px[particle], events.py[particle])
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


def in_window(jets: Jets, *, pt_min: float, pt_max: float, eta_max: float) -> np.ndarray:
    """(J,) bool: pt_min <= pT <= pt_max and |η| < eta_max."""
    pt, eta, _, _ = jets.kinematics()
    return (pt >= pt_min) & (pt <= pt_max) & (np.abs(eta) < eta_max)


def last_copy(events: FlatEvents, index: np.ndarray) -> np.ndarray:
    """Follow each particle in ``index`` down to its last copy of the same PDG id.

    A step goes to the one daughter with the same id (a recoil copy, or the quark after
    a shower emission q -> q g); it stops where no daughter, or where both daughters,
    carry the id (like Pythia's ``Particle::iBotCopyId``). For a quark the last copy is
    the one that enters hadronization; for a top or W, the one that decays.
    """
    current = np.asarray(index, np.int64).copy()
    pid = events.pid
    for _ in range(_MAX_CHAIN_STEPS):
        d1 = events.daughter1[current]
        d2 = events.daughter2[current]
        same1 = (d1 >= 0) & (pid[np.maximum(d1, 0)] == pid[current])
        same2 = (d2 >= 0) & (d2 != d1) & (pid[np.maximum(d2, 0)] == pid[current])
        following = np.where(same1 & ~same2, d1, np.where(same2 & ~same1, d2, current))
        if np.array_equal(following, current):
            return current
        current = following
    return current


def top_decays(events: FlatEvents) -> tuple[np.ndarray, np.ndarray]:
    """The hadronically decaying tops of each event and their three decay quarks.

    Returns ``event (T,)`` and ``partons (T, 4)``: global indices of the top's last copy
    (the one decaying to W q), then of the last copies of the down-type quark q (a b in
    ~99.8% of decays) and of the two quarks of the W's decay. Tops whose W does not
    decay to two quarks are left out.
    """
    pid = events.pid
    d1, d2 = events.daughter1, events.daughter2
    top = np.flatnonzero(np.abs(pid) == 6)
    has_two = (d1[top] >= 0) & (d2[top] > d1[top])
    top = top[has_two]
    first, second = d1[top], d2[top]
    w_first = np.abs(pid[first]) == 24
    w_second = np.abs(pid[second]) == 24
    decaying = (w_first ^ w_second) & (second == first + 1)  # t -> W q, the last top copy
    top, first, second, w_first = (
        top[decaying],
        first[decaying],
        second[decaying],
        w_first[decaying],
    )
    w = last_copy(events, np.where(w_first, first, second))
    quark = last_copy(events, np.where(w_first, second, first))
    w1, w2 = d1[w], d2[w]
    hadronic = (
        (w1 >= 0)
        & (w2 == w1 + 1)
        & (np.abs(pid[np.maximum(w1, 0)]) <= 5)
        & (np.abs(pid[np.maximum(w2, 0)]) <= 5)
    )
    partons = np.stack(
        [
            top[hadronic],
            quark[hadronic],
            last_copy(events, w1[hadronic]),
            last_copy(events, w2[hadronic]),
        ],
        axis=1,
    )
    return events.event_of[top[hadronic]], partons


def top_matched(jets: Jets, events: FlatEvents, *, radius: float) -> np.ndarray:
    """(J,) bool: a hadronic top and all three of its decay quarks lie within ΔR < radius."""
    top_event, partons = top_decays(events)  # (T,), (T, 4)
    matched = np.zeros(len(jets), dtype=bool)
    if len(jets) == 0 or len(top_event) == 0:
        return matched
    _, jet_eta, jet_phi, _ = jets.kinematics()
    _, eta, phi, _ = pt_eta_phi_mass(
        events.px[partons], events.py[partons], events.pz[partons], events.e[partons]
    )  # (T, 4) each
    # Every (jet, top) pair of the same event.
    n_tops = np.bincount(top_event, minlength=events.n_events)
    top_start = np.concatenate([[0], np.cumsum(n_tops)[:-1]])
    per_jet = n_tops[jets.event]  # (J,)
    pair_jet = np.repeat(np.arange(len(jets)), per_jet)  # (P,)
    pair_start = np.concatenate([[0], np.cumsum(per_jet)[:-1]])
    pair_top = top_start[jets.event[pair_jet]] + np.arange(len(pair_jet)) - pair_start[pair_jet]
    distance = delta_r(
        jet_eta[pair_jet, None], jet_phi[pair_jet, None], eta[pair_top], phi[pair_top]
    )  # (P, 4)
    contained = np.all(distance < radius, axis=1)
    np.logical_or.at(matched, pair_jet[contained], True)
    return matched


def jet_columns(jets: Jets, events: FlatEvents, charge: Any) -> dict[str, np.ndarray]:
    """The per-jet and flat per-constituent output arrays of ``jets``.

    ``charge`` maps an array of PDG ids to charges. Constituent arrays are flat (C,),
    split into jets by ``jet_nparticles``.
    """
    pt, eta, phi, mass = jets.kinematics()
    particle = jets.particle
    return {
        "jet_pt": pt,
        "jet_eta": eta,
        "jet_phi": phi,
        "jet_energy": jets.e.copy(),
        "jet_mass": mass,
        "jet_nparticles": jets.n_constituents.copy(),
        "part_px": events.px[particle].astype(np.float32),
        "part_py": events.py[particle].astype(np.float32),
        "part_pz": events.pz[particle].astype(np.float32),
        "part_energy": events.e[particle].astype(np.float32),
        "part_pid": events.pid[particle].astype(np.int32),
        "part_charge": charge(events.pid[particle]).astype(np.float32),
    }
