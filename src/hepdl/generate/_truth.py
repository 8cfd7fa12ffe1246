"""Truth matching of jets to Pythia's event record.

- :func:`hadronic_decays`: each resonance of a kind (top, W, Z, H) whose decay ends in
  quarks only, with those quarks (t -> W b -> q q' b; W -> q q'; Z -> q qbar; H -> b bbar).
- :func:`resonance_matched`: a jet counts as a top (W, Z, H) jet only when the resonance
  and all its decay quarks lie within ΔR of the jet axis.
- :func:`matched_parton`: the hard-process parton or resonance nearest each jet, stored
  with every jet (``jet_parton_*``) so a user can study or relabel by truth.

All work on the flat arrays of :class:`~hepdl.generate._pythia.FlatEvents` with global
indices; no Python loop per particle.
"""

from __future__ import annotations

import numpy as np

from hepdl.generate._jets import Jets, delta_r, pt_eta_phi_mass
from hepdl.generate._pythia import FlatEvents

# A last-copy chain (recoil copies and FSR emissions of one quark) is far shorter.
_MAX_CHAIN_STEPS = 500
# Resonances whose decay is followed to quarks: Z, W, H (t -> W b reaches one level more).
_BOSONS = (23, 24, 25)
# Hard-process objects a jet can be matched to: quarks, gluon, Z, W, H.
_HARD_OBJECTS = (1, 2, 3, 4, 5, 6, 21, 23, 24, 25)


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


def _two_body(events: FlatEvents, index: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Last copies of the two decay products of each particle in ``index``, and a mask of
    those that decay to exactly two (adjacent) daughters."""
    d1, d2 = events.daughter1[index], events.daughter2[index]
    ok = (d1 >= 0) & (d2 == d1 + 1)
    first = last_copy(events, np.where(ok, d1, index))
    second = last_copy(events, np.where(ok, d2, index))
    return first, second, ok


def hadronic_decays(events: FlatEvents, resonance_pid: int) -> tuple[np.ndarray, np.ndarray]:
    """Resonances ``|pid| == resonance_pid`` decaying to quarks only, with their quarks.

    Returns ``event (T,)`` and ``partons (T, 5)``: global indices of the resonance's last
    copy (column 0, the one that decays), then of the last copies of its final decay
    quarks, padded with -1 (a top has three, a boson two). A decay product that is itself
    a Z, W or H (the W of t -> W b) is followed one level further. Decays with a lepton,
    neutrino or photon among the final products are left out.
    """
    pid = np.abs(events.pid)
    resonance = np.unique(last_copy(events, np.flatnonzero(pid == resonance_pid)))
    first, second, hadronic = _two_body(events, resonance)
    finals = []
    for product in (first, second):
        boson = np.isin(pid[product], _BOSONS)
        a, b, decays = _two_body(events, product)
        hadronic &= ~boson | decays
        # A boson product contributes its two daughters; a quark contributes itself.
        finals += [np.where(boson, a, product), np.where(boson, b, -1)]
    stacked = np.stack(finals, axis=1)  # (T, 4)
    # Padding to the end of each row, the rest in decay order.
    order = np.argsort(stacked < 0, axis=1, kind="stable")
    stacked = np.take_along_axis(stacked, order, axis=1)
    hadronic &= ((stacked < 0) | (pid[np.maximum(stacked, 0)] <= 5)).all(axis=1)
    partons = np.concatenate([resonance[:, None], stacked], axis=1)  # (T, 5)
    return events.event_of[resonance[hadronic]], partons[hadronic]


def _same_event_pairs(
    jet_event: np.ndarray, object_event: np.ndarray, n_events: int
) -> tuple[np.ndarray, np.ndarray]:
    """Every (jet, object) pair of the same event: ``(pair_jet (P,), pair_object (P,))``.

    ``object_event`` must be ascending (objects grouped by event)."""
    n_objects = np.bincount(object_event, minlength=n_events)
    object_start = np.concatenate([[0], np.cumsum(n_objects)[:-1]])
    per_jet = n_objects[jet_event]  # (J,)
    pair_jet = np.repeat(np.arange(len(jet_event)), per_jet)  # (P,)
    pair_start = np.concatenate([[0], np.cumsum(per_jet)[:-1]])
    pair_object = (
        object_start[jet_event[pair_jet]] + np.arange(len(pair_jet)) - pair_start[pair_jet]
    )
    return pair_jet, pair_object


def _eta_phi(events: FlatEvents, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    safe = np.maximum(index, 0)
    _, eta, phi, _ = pt_eta_phi_mass(
        events.px[safe], events.py[safe], events.pz[safe], events.e[safe]
    )
    return eta, phi


def resonance_matched(
    jets: Jets, events: FlatEvents, *, resonance_pid: int, radius: float
) -> np.ndarray:
    """(J,) bool: a hadronic resonance and all its decay quarks lie within ΔR < radius."""
    resonance_event, partons = hadronic_decays(events, resonance_pid)  # (T,), (T, 4)
    matched = np.zeros(len(jets), dtype=bool)
    if len(jets) == 0 or len(resonance_event) == 0:
        return matched
    order = np.argsort(resonance_event, kind="stable")
    resonance_event, partons = resonance_event[order], partons[order]
    _, jet_eta, jet_phi, _ = jets.kinematics()
    eta, phi = _eta_phi(events, partons)  # (T, 4) each
    pair_jet, pair_res = _same_event_pairs(jets.event, resonance_event, events.n_events)
    distance = delta_r(
        jet_eta[pair_jet, None], jet_phi[pair_jet, None], eta[pair_res], phi[pair_res]
    )
    inside = (distance < radius) | (partons[pair_res] < 0)  # padding never vetoes
    np.logical_or.at(matched, pair_jet[inside.all(axis=1)], True)
    return matched


def hard_objects(events: FlatEvents) -> np.ndarray:
    """Global indices (ascending) of the outgoing objects of the hardest 2 -> n process.

    Pythia gives them status ±22 (resonances) or ±23, with the incoming partons (±21)
    as mothers; decay products of a resonance have the resonance as mother and are left
    out, so a top jet is matched to the top, not to its W or b.
    """
    status = np.abs(events.status)
    mother = events.mother1
    from_incoming = (mother >= 0) & (np.abs(events.status[np.maximum(mother, 0)]) == 21)
    chosen = np.isin(status, (22, 23)) & from_incoming & np.isin(np.abs(events.pid), _HARD_OBJECTS)
    return np.flatnonzero(chosen)


def matched_parton(jets: Jets, events: FlatEvents, *, radius: float) -> dict[str, np.ndarray]:
    """The hard-process object nearest each jet within ΔR < radius (its last copy).

    Returns ``jet_parton_pid`` (J,) int32 (0: none within radius) and
    ``jet_parton_pt, jet_parton_eta, jet_parton_phi`` (J,) float64 (NaN: none).
    """
    n = len(jets)
    columns = {
        "jet_parton_pid": np.zeros(n, np.int32),
        "jet_parton_pt": np.full(n, np.nan),
        "jet_parton_eta": np.full(n, np.nan),
        "jet_parton_phi": np.full(n, np.nan),
    }
    objects = hard_objects(events)
    if n == 0 or len(objects) == 0:
        return columns
    objects = last_copy(events, objects)
    object_event = events.event_of[objects]
    order = np.argsort(object_event, kind="stable")
    objects, object_event = objects[order], object_event[order]
    pt, eta, phi, _ = pt_eta_phi_mass(
        events.px[objects], events.py[objects], events.pz[objects], events.e[objects]
    )
    _, jet_eta, jet_phi, _ = jets.kinematics()
    pair_jet, pair_object = _same_event_pairs(jets.event, object_event, events.n_events)
    distance = delta_r(jet_eta[pair_jet], jet_phi[pair_jet], eta[pair_object], phi[pair_object])
    close = distance < radius
    pair_jet, pair_object, distance = pair_jet[close], pair_object[close], distance[close]
    # Nearest per jet: sort pairs by (jet, distance) and keep each jet's first.
    order = np.lexsort((distance, pair_jet))
    pair_jet, pair_object = pair_jet[order], pair_object[order]
    first = np.ones(len(pair_jet), dtype=bool)
    first[1:] = pair_jet[1:] != pair_jet[:-1]
    jet, best = pair_jet[first], pair_object[first]
    columns["jet_parton_pid"][jet] = events.pid[objects[best]]
    columns["jet_parton_pt"][jet] = pt[best]
    columns["jet_parton_eta"][jet] = eta[best]
    columns["jet_parton_phi"][jet] = phi[best]
    return columns
