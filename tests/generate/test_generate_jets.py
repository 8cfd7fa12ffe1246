"""Unit tests of the jet helpers on hand-made event records (no Pythia run)."""

from __future__ import annotations

import numpy as np

from hepdl.generate._jets import (
    Jets,
    delta_r,
    last_copy,
    pt_eta_phi_mass,
    top_decays,
    top_matched,
    visible_final_state,
)
from hepdl.generate._pythia import FlatEvents


def _momentum(pt: float, eta: float, phi: float, mass: float = 0.0) -> tuple[float, ...]:
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    return px, py, pz, float(np.sqrt(px**2 + py**2 + pz**2 + mass**2))


def _events(records: list[list[tuple]]) -> FlatEvents:
    """Events from rows (pid, status, daughter1, daughter2, pt, eta, phi, mass), local indices."""
    counts = np.array([len(r) for r in records], np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    rows = [(start, row) for start, rec in zip(starts, records, strict=True) for row in rec]
    pid = np.array([r[0] for _, r in rows], np.int32)
    status = np.array([r[1] for _, r in rows], np.int32)
    d1 = np.array([r[2] + s if r[2] > 0 else -1 for s, r in rows], np.int64)
    d2 = np.array([r[3] + s if r[3] > 0 else -1 for s, r in rows], np.int64)
    p4 = np.array([_momentum(*r[4:8]) for _, r in rows])
    return FlatEvents(counts, starts, pid, status, d1, d2, p4[:, 0], p4[:, 1], p4[:, 2], p4[:, 3])


def _top_event(quark_eta: float = 0.3) -> list[tuple]:
    """t -> (copy) -> W b; b -> b g; W -> (copy) -> u dbar. Top at (eta, phi) = (0, 1)."""
    return [
        (90, -11, 0, 0, 0.0, 0.0, 0.0, 0.0),  # 0 system
        (6, -22, 2, 2, 600.0, 0.0, 1.0, 173.0),  # 1 top
        (6, -62, 3, 4, 600.0, 0.0, 1.0, 173.0),  # 2 top, last copy
        (24, -22, 5, 5, 350.0, 0.1, 1.1, 80.0),  # 3 W
        (5, -23, 6, 7, 250.0, -0.2, 0.9, 4.8),  # 4 b
        (24, -52, 8, 9, 350.0, 0.1, 1.1, 80.0),  # 5 W, last copy
        (5, -51, 0, 0, 240.0, -0.2, 0.85, 4.8),  # 6 b after emitting a gluon: last copy
        (21, -51, 0, 0, 10.0, -0.5, 0.5, 0.0),  # 7 gluon
        (2, -23, 0, 0, 200.0, quark_eta, 1.3, 0.0),  # 8 u
        (-1, -23, 0, 0, 150.0, -0.1, 1.0, 0.0),  # 9 dbar
        (12, 1, 0, 0, 30.0, 0.0, 1.0, 0.0),  # 10 a neutrino
        (211, 1, 0, 0, 30.0, 0.0, 1.0, 0.1396),  # 11 a pion
    ]


def _jets(event: list[int], axes: list[tuple[float, float]]) -> Jets:
    p4 = np.array([_momentum(600.0, eta, phi, 170.0) for eta, phi in axes])
    return Jets(
        np.array(event, np.int64),
        p4[:, 0],
        p4[:, 1],
        p4[:, 2],
        p4[:, 3],
        np.zeros(len(event), np.int64),
        np.zeros(0, np.int64),
    )


def test_kinematics_of_known_vectors() -> None:
    px, py, pz, e = (np.array([v]) for v in _momentum(500.0, 1.2, -2.5, 173.0))
    pt, eta, phi, mass = pt_eta_phi_mass(px, py, pz, e)
    np.testing.assert_allclose([pt[0], eta[0], phi[0], mass[0]], [500.0, 1.2, -2.5, 173.0])


def test_delta_r_wraps_phi() -> None:
    value = delta_r(np.array([0.0]), np.array([3.1]), np.array([0.0]), np.array([-3.1]))
    np.testing.assert_allclose(value, [2 * np.pi - 6.2])


def test_visible_excludes_neutrinos_and_intermediate_particles() -> None:
    events = _events([_top_event()])
    assert np.flatnonzero(visible_final_state(events)).tolist() == [11]


def test_last_copy_follows_recoil_copies_and_emissions() -> None:
    events = _events([_top_event(), _top_event()])
    start = int(events.starts[1])
    assert last_copy(events, np.array([1, 3, 4, 8])).tolist() == [2, 5, 6, 8]
    assert last_copy(events, np.array([start + 1])).tolist() == [start + 2]


def test_top_decays_finds_top_and_three_quarks() -> None:
    events = _events([_top_event(), _top_event()])
    event, partons = top_decays(events)
    assert event.tolist() == [0, 1]
    assert partons[0].tolist() == [2, 6, 8, 9]
    assert events.pid[partons[1]].tolist() == [6, 5, 2, -1]


def test_matching_needs_all_partons_inside_the_jet() -> None:
    events = _events([_top_event(), _top_event(quark_eta=1.5)])
    # event 0: a jet on the top and one far away; event 1: the u quark is out of the cone.
    jets = _jets([0, 0, 1], [(0.0, 1.0), (0.0, -2.0), (0.0, 1.0)])
    assert top_matched(jets, events, radius=0.8).tolist() == [True, False, False]
    assert top_matched(jets, events, radius=1.6).tolist() == [True, False, True]


def test_no_tops_means_no_match() -> None:
    events = _events([[(90, -11, 0, 0, 0.0, 0.0, 0.0, 0.0), (211, 1, 0, 0, 600.0, 0.0, 1.0, 0.1)]])
    assert top_matched(_jets([0], [(0.0, 1.0)]), events, radius=0.8).tolist() == [False]
