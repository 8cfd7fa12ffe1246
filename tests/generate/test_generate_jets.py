"""Unit tests of the jet helpers on hand-made event records (no Pythia run)."""

from __future__ import annotations

import numpy as np
from tests.generate.records import flat_events, momentum, top_event

from hepdl.generate._jets import (
    Jets,
    Particles,
    cluster,
    delta_r,
    in_window,
    jet_columns,
    leading,
    pt_eta_phi_mass,
    visible_final_state,
)


def test_kinematics_of_known_vectors() -> None:
    px, py, pz, e = (np.array([v]) for v in momentum(500.0, 1.2, -2.5, 173.0))
    pt, eta, phi, mass = pt_eta_phi_mass(px, py, pz, e)
    np.testing.assert_allclose([pt[0], eta[0], phi[0], mass[0]], [500.0, 1.2, -2.5, 173.0])


def test_delta_r_wraps_phi() -> None:
    value = delta_r(np.array([0.0]), np.array([3.1]), np.array([0.0]), np.array([-3.1]))
    np.testing.assert_allclose(value, [2 * np.pi - 6.2])


def test_visible_excludes_neutrinos_and_intermediate_particles() -> None:
    events = flat_events([top_event()])
    assert np.flatnonzero(visible_final_state(events)).tolist() == [13]


def _naive_antikt(p4: np.ndarray, radius: float) -> list[np.ndarray]:
    """Inclusive anti-kT jets (E-scheme) by the textbook O(n³) loop; returns jet four-vectors."""
    objects = [row.copy() for row in p4]
    jets = []
    while objects:
        pt, _, phi, _ = (np.array(v) for v in pt_eta_phi_mass(*np.array(objects).T))
        y = np.array([0.5 * np.log((o[3] + o[2]) / (o[3] - o[2])) for o in objects])
        best, pair = np.inf, None
        for i in range(len(objects)):
            if pt[i] ** -2 < best:
                best, pair = pt[i] ** -2, (i, None)
            for j in range(i + 1, len(objects)):
                dphi = np.mod(phi[i] - phi[j] + np.pi, 2 * np.pi) - np.pi
                d = min(pt[i] ** -2, pt[j] ** -2) * ((y[i] - y[j]) ** 2 + dphi**2) / radius**2
                if d < best:
                    best, pair = d, (i, j)
        i, j = pair
        if j is None:
            jets.append(objects.pop(i))
        else:
            merged = objects[i] + objects[j]
            objects = [o for k, o in enumerate(objects) if k not in (i, j)] + [merged]
    return jets


def _random_particles(n_events: int, seed: int) -> Particles:
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 25, n_events)
    n = int(counts.sum())
    pt = rng.exponential(40.0, n) + 1.0
    eta = rng.normal(0.0, 1.0, n)
    phi = rng.uniform(-np.pi, np.pi, n)
    px, py, pz, e = momentum(pt, eta, phi, 0.0)
    return Particles(
        n_events=n_events,
        event=np.repeat(np.arange(n_events), counts),
        px=px,
        py=py,
        pz=pz,
        e=e,
        pid=np.full(n, 211, np.int32),
        charge=np.ones(n),
    )


def test_cluster_matches_a_naive_antikt_per_event() -> None:
    particles = _random_particles(6, seed=4)
    jets = cluster(particles, radius=0.6, pt_min=20.0)
    p4 = np.stack([particles.px, particles.py, particles.pz, particles.e], axis=1)
    for k in range(particles.n_events):
        naive = [j for j in _naive_antikt(p4[particles.event == k], 0.6) if np.hypot(*j[:2]) >= 20]
        naive.sort(key=lambda j: -np.hypot(j[0], j[1]))
        mine = np.stack([jets.px, jets.py, jets.pz, jets.e], axis=1)[jets.event == k]
        np.testing.assert_allclose(mine, np.array(naive).reshape(-1, 4), rtol=1e-9)


def test_cluster_constituents_sum_to_the_jet_and_are_ordered_by_pt() -> None:
    particles = _random_particles(5, seed=8)
    jets = cluster(particles, radius=0.8, pt_min=10.0)
    columns = jet_columns(jets, particles)
    bounds = np.concatenate([[0], np.cumsum(columns["jet_nparticles"])])
    for j in range(len(jets)):
        part = slice(bounds[j], bounds[j + 1])
        assert np.all(particles.event[jets.particle[part]] == jets.event[j])
        np.testing.assert_allclose(columns["part_px"][part].sum(), jets.px[j], rtol=1e-5)
        pt = np.hypot(columns["part_px"][part], columns["part_py"][part])
        assert np.all(np.diff(pt) <= 1e-4)
    assert columns["part_pid"].dtype == np.int32 and columns["part_px"].dtype == np.float32


def _jets_at(event: list[int], pt: list[float], eta: list[float], mass: float = 0.0) -> Jets:
    p4 = np.array([momentum(p, e, 0.3, mass) for p, e in zip(pt, eta, strict=True)])
    n = len(event)
    return Jets(np.array(event, np.int64), *p4.T, np.zeros(n, np.int64), np.zeros(0, np.int64))


def test_window_in_pseudorapidity_or_rapidity() -> None:
    jets = _jets_at([0, 0, 1, 1], [600.0, 540.0, 560.0, 700.0], [1.8, 0.0, 1.9, 0.0], mass=300.0)
    assert in_window(jets, pt_min=550, pt_max=650, eta_max=2.0).tolist() == [1, 0, 1, 0]
    # A heavy jet's rapidity is smaller than its pseudorapidity: |y| of jet 0 is below 1.7.
    y = 0.5 * np.log((jets.e + jets.pz) / (jets.e - jets.pz))
    expected = (
        (np.abs(y) < 1.7)
        & (np.array([600, 540, 560, 700]) >= 550)
        & (np.array([600, 540, 560, 700]) <= 650)
    )
    assert in_window(jets, pt_min=550, pt_max=650, rapidity_max=1.7).tolist() == expected.tolist()
    assert abs(y[0]) < 1.7 < 1.8


def test_leading_marks_the_first_jet_of_each_event() -> None:
    jets = _jets_at([0, 0, 2, 3, 3, 3], [5.0, 4.0, 3.0, 9.0, 8.0, 1.0], [0.0] * 6)
    assert leading(jets).tolist() == [1, 0, 1, 1, 0, 0]
