"""The fast detector response against naive loop implementations written here."""

from __future__ import annotations

import json
import math
from dataclasses import asdict

import numpy as np
import pytest

from hepdl.errors import GenerationError
from hepdl.generate._calorimeter import ECAL, HCAL, TowerGrid, Towers, neutral_excess
from hepdl.generate._jets import Particles
from hepdl.generate.detector import (
    DetectorSettings,
    FlaggedParticles,
    detector_response,
    reconstruct,
)

CHARGE = {211: 1.0, -211: -1.0, 321: 1.0, 2212: 1.0, 11: -1.0, 13: -1.0, -13: 1.0}
MASS = {211: 0.1396, -211: 0.1396, 321: 0.4937, 2212: 0.9383, 2112: 0.9396, 130: 0.4976}

# No smearing, every charged particle tracked, every excess kept: a perfect detector.
PERFECT = {
    "track_pt_min": 0.0,
    "track_efficiency_turn_on": 1.0,
    "track_efficiency": 1.0,
    "track_resolution_constant": 0.0,
    "track_resolution_slope": 0.0,
    "ecal_stochastic": 0.0,
    "ecal_constant": 0.0,
    "hcal_stochastic": 0.0,
    "hcal_constant": 0.0,
    "ecal_energy_min": 1e-9,
    "hcal_energy_min": 1e-9,
    "pf_significance": 0.0,
}


def make_particles(event, pid, pt, eta, phi, *, n_events=None, is_pileup=None) -> Particles:
    """Particles from per-particle lists; charges and masses from the tables above."""
    event, pid = np.asarray(event, np.int64), np.asarray(pid, np.int32)
    pt, eta, phi = (np.asarray(x, np.float64) for x in (pt, eta, phi))
    mass = np.array([MASS.get(int(p), 0.0) for p in pid])
    px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
    fields = {
        "n_events": int(event.max()) + 1 if n_events is None else n_events,
        "event": event,
        "px": px,
        "py": py,
        "pz": pz,
        "e": np.sqrt(px**2 + py**2 + pz**2 + mass**2),
        "pid": pid,
        "charge": np.array([CHARGE.get(int(p), 0.0) for p in pid]),
    }
    if is_pileup is None:
        return Particles(**fields)
    return FlaggedParticles(**fields, is_pileup=np.asarray(is_pileup))


def random_particles(seed: int, n: int, n_events: int, *, eta_max: float = 4.0) -> Particles:
    rng = np.random.default_rng(seed)
    pids = [211, -211, 321, 2212, 22, 2112, 130, 11, 13, 12]
    return make_particles(
        np.sort(rng.integers(0, n_events, n)),
        rng.choice(pids, n),
        rng.exponential(8.0, n) + 0.05,
        rng.uniform(-eta_max, eta_max, n),
        rng.uniform(-np.pi, np.pi, n),
        n_events=n_events,
    )


def naive_route(pid: int, eta: float, settings: DetectorSettings) -> int | None:
    """The calorimeter a particle stops in, one particle at a time."""
    if abs(pid) in (12, 14, 16, 1000022, 13, *settings.invisible_pids):
        return None
    if abs(pid) in (11, 22) and abs(eta) < settings.ecal_eta_max:
        return ECAL
    return HCAL if abs(eta) < settings.hcal_eta_max else None


def naive_cell(eta: float, phi: float, grid: TowerGrid) -> int:
    """The cell whose edges contain (η, φ), found by walking along the edges."""
    eta_edges = [-grid.eta_max + i * 2 * grid.eta_max / grid.n_eta for i in range(grid.n_eta + 1)]
    phi_edges = [-math.pi + j * 2 * math.pi / grid.n_phi for j in range(grid.n_phi + 1)]
    i = next(i for i in range(grid.n_eta) if eta < eta_edges[i + 1] or i == grid.n_eta - 1)
    j = next(j for j in range(grid.n_phi) if phi < phi_edges[j + 1]) if phi < math.pi else 0
    return i * grid.n_phi + j


def eta_phi(p: Particles) -> tuple[np.ndarray, np.ndarray]:
    pt = np.hypot(p.px, p.py)
    return np.arcsinh(p.pz / pt), np.arctan2(p.py, p.px)


def test_default_settings_are_the_documented_card_and_json_serialisable() -> None:
    settings = DetectorSettings()
    assert settings.tracking_eta_max == 2.5
    assert (settings.track_efficiency_turn_on, settings.track_efficiency) == (0.70, 0.95)
    assert (settings.ecal_stochastic, settings.ecal_constant) == (0.11, 0.008)
    assert (settings.hcal_stochastic, settings.hcal_constant) == (1.5, 0.05)
    record = json.loads(json.dumps(asdict(settings)))
    assert DetectorSettings(**record) == settings
    assert [(g.n_eta, g.n_phi) for g in settings.grids] == [(345, 361), (115, 72)]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"track_efficiency": 1.5}, "'track_efficiency' must be a probability in [0, 1], got 1.5"),
        ({"ecal_stochastic": -0.1}, "'ecal_stochastic' must be >= 0, got -0.1"),
        ({"hcal_constant": float("nan")}, "'hcal_constant' must be a finite number, got nan"),
        ({"pf_significance": "2"}, "'pf_significance' must be a finite number, got '2'"),
        ({"tracking_eta_max": 0}, "'tracking_eta_max' must be > 0, got 0.0"),
        ({"ecal_cell_size": 4.0}, "'ecal_cell_size' must be in (0, pi] (the cell size in eta"),
        ({"track_pt_plateau": 0.05}, "'track_pt_plateau' must be >= track_pt_min = 0.1 GeV"),
        ({"hcal_eta_max": 2.0}, "'hcal_eta_max' must be >= ecal_eta_max = 3.0 (the HCAL"),
        ({"invisible_pids": "1000022"}, "'invisible_pids' must be a sequence of integer PDG"),
        ({"invisible_pids": (1.5,)}, "'invisible_pids' must be a sequence of integer PDG ids"),
    ],
)
def test_bad_settings_name_the_option(options: dict, message: str) -> None:
    with pytest.raises(GenerationError) as error:
        DetectorSettings(**options)
    assert str(error.value).startswith("detector setting " + message)


def test_settings_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        DetectorSettings(2.5)  # type: ignore[misc]


def test_tower_cells_match_a_walk_along_the_edges() -> None:
    rng = np.random.default_rng(3)
    grid = TowerGrid(3.0, 0.0174)
    eta = np.concatenate([rng.uniform(-3.0, 3.0, 300), [-3.0, 2.9999999999, 0.0]])
    phi = np.concatenate([rng.uniform(-np.pi, np.pi, 300), [-np.pi, np.pi, 0.0]])
    cell = grid.cell(eta, phi)
    assert cell.tolist() == [naive_cell(a, b, grid) for a, b in zip(eta, phi, strict=True)]
    centre_eta, centre_phi = grid.centre(cell)
    assert np.all(np.abs(centre_eta - eta) <= grid.deta / 2 + 1e-12)
    wrapped = np.mod(centre_phi - phi + np.pi, 2 * np.pi) - np.pi
    assert np.all(np.abs(wrapped) <= grid.dphi / 2 + 1e-12)


def test_tower_sums_and_track_predictions_match_a_loop() -> None:
    settings = DetectorSettings()
    particles = random_particles(1, 3000, 4)
    result = reconstruct(particles, settings, np.random.default_rng(0))
    eta, phi = eta_phi(particles)
    tracked = dict(zip(result.track.tolist(), result.track_scale.tolist(), strict=True))
    true_sum: dict[tuple[int, int, int], float] = {}
    track_sum: dict[tuple[int, int, int], float] = {}
    for i in range(len(particles)):
        where = naive_route(int(particles.pid[i]), eta[i], settings)
        if where is None:
            continue
        key = (int(particles.event[i]), where, naive_cell(eta[i], phi[i], settings.grids[where]))
        true_sum[key] = true_sum.get(key, 0.0) + particles.e[i]
        predicted = 0.0
        if i in tracked:
            p = math.sqrt(particles.px[i] ** 2 + particles.py[i] ** 2 + particles.pz[i] ** 2)
            mass2 = max(particles.e[i] ** 2 - p**2, 0.0)
            predicted = math.sqrt((tracked[i] * p) ** 2 + mass2)
        track_sum[key] = track_sum.get(key, 0.0) + predicted
    towers = result.towers
    columns = (towers.event.tolist(), towers.calorimeter.tolist(), towers.cell.tolist())
    keys = list(zip(*columns, strict=True))
    assert keys == sorted(true_sum)
    np.testing.assert_allclose(towers.true_energy, [true_sum[k] for k in keys], rtol=1e-12)
    np.testing.assert_allclose(towers.track_energy, [track_sum[k] for k in keys], rtol=1e-12)


def test_particle_flow_subtraction_matches_a_loop() -> None:
    settings = DetectorSettings()
    particles = random_particles(2, 2000, 3, eta_max=2.4)
    result = reconstruct(particles, settings, np.random.default_rng(5))
    towers = result.towers
    expected_neutral = []
    for t in range(len(towers)):
        a, b = settings.resolutions[int(towers.calorimeter[t])]
        energy = towers.energy[t]
        sigma_tower = energy * math.sqrt(a**2 / energy + b**2) if energy > 0 else 0.0
        excess = energy - towers.track_energy[t]
        sigma = math.sqrt(sigma_tower**2 + towers.track_variance[t])
        e_min = (settings.ecal_energy_min, settings.hcal_energy_min)[int(towers.calorimeter[t])]
        if excess > e_min and excess > settings.pf_significance * sigma:
            pid = 22 if towers.calorimeter[t] == ECAL else 130
            expected_neutral.append((int(towers.event[t]), pid, excess, towers.eta[t]))
    assert result.neutral.sum() == len(expected_neutral) > 0
    out = result.candidates
    neutral = out.charge == 0
    got = list(zip(out.event[neutral].tolist(), out.pid[neutral].tolist(), strict=True))
    assert got == [(e, p) for e, p, _, _ in expected_neutral]
    np.testing.assert_allclose(out.e[neutral], [x for _, _, x, _ in expected_neutral])
    np.testing.assert_allclose(eta_phi(out)[0][neutral], [x for *_, x in expected_neutral])
    mass2 = out.e[neutral] ** 2 - out.px[neutral] ** 2 - out.py[neutral] ** 2 - out.pz[neutral] ** 2
    np.testing.assert_allclose(mass2, 0.0, atol=1e-9 * out.e[neutral].max() ** 2)


# HCAL with σ(E) = 0.3·sqrt(E): 3 GeV at 100 GeV. Tracks predicting 70 GeV leave an excess
# of 30 GeV, significant at 1.5 σ while sqrt(3² + σ_track²) < 20, i.e. σ_track < 19.77 GeV.
@pytest.mark.parametrize(
    ("track_energy", "track_variance", "energy_min", "neutral"),
    [
        (70.0, 0.0, 1.0, True),
        (70.0, 19.0**2, 1.0, True),
        (70.0, 21.0**2, 1.0, False),
        (70.0, 0.0, 30.5, False),  # below the calorimeter's energy threshold
        (101.0, 0.0, 0.0, False),  # tracks predict more than the tower holds
    ],
)
def test_neutral_excess_weighs_tower_and_track_uncertainties(
    track_energy: float, track_variance: float, energy_min: float, neutral: bool
) -> None:
    one = np.ones(1)
    towers = Towers(
        event=np.zeros(1, np.int64),
        calorimeter=np.full(1, HCAL),
        cell=np.zeros(1, np.int64),
        eta=0 * one,
        phi=0 * one,
        true_energy=100 * one,
        energy=100 * one,
        track_energy=track_energy * one,
        track_variance=track_variance * one,
        pileup_energy=0 * one,
    )
    found, excess = neutral_excess(
        towers,
        resolutions=((0.0, 0.0), (0.3, 0.0)),
        energy_min=(0.0, energy_min),
        significance=1.5,
    )
    assert found.tolist() == [neutral]
    assert excess[0] == pytest.approx(100.0 - track_energy)


def test_track_variance_is_the_propagated_pt_resolution() -> None:
    settings = DetectorSettings(track_efficiency=1.0, pf_significance=0.0)
    particles = make_particles([0], [211], [50.0], [0.5], [1.0])
    result = reconstruct(particles, settings, np.random.default_rng(0))
    scale = result.track_scale[0]
    p = scale * 50.0 * math.cosh(0.5)
    energy = math.hypot(p, MASS[211])
    sigma_rel = math.hypot(0.01, 1.5e-4 * 50.0)
    assert result.towers.track_variance[0] == pytest.approx((p / energy * p * sigma_rel) ** 2)


def test_perfect_detector_conserves_energy_per_event() -> None:
    settings = DetectorSettings(**PERFECT)
    particles = random_particles(4, 4000, 5, eta_max=2.45)  # everything tracked or absorbed
    result = reconstruct(particles, settings, np.random.default_rng(1))
    visible = particles.pid != 12
    deposited = visible & (np.abs(particles.pid) != 13)
    np.testing.assert_array_equal(result.towers.energy, result.towers.true_energy)
    assert result.towers.energy.sum() == pytest.approx(particles.e[deposited].sum(), rel=1e-12)
    per_event_in = np.bincount(particles.event[visible], particles.e[visible], minlength=5)
    out = result.candidates
    per_event_out = np.bincount(out.event, out.e, minlength=5)
    np.testing.assert_allclose(per_event_out, per_event_in, rtol=1e-10)
    charged = particles.charge != 0
    assert (out.charge != 0).sum() == charged.sum()
    np.testing.assert_allclose(out.px[out.charge != 0], particles.px[charged])


def test_invisible_particles_leave_nothing() -> None:
    settings = DetectorSettings(**PERFECT, invisible_pids=(1000039,))
    particles = make_particles(
        [0, 0, 0, 1, 2],
        [12, -14, 1000022, 1000039, 22],
        [30.0, 20.0, 100.0, 50.0, 10.0],
        [0.1, -1.0, 0.5, 0.0, 0.2],
        [0.0, 1.0, 2.0, 3.0, -1.0],
    )
    out = detector_response(particles, settings, np.random.default_rng(0))
    assert out.counts.tolist() == [0, 0, 1]
    assert out.pid.tolist() == [22]
    assert out.e[0] == pytest.approx(10.0 * math.cosh(0.2))


def test_untracked_particles_become_neutral_and_muons_vanish() -> None:
    settings = DetectorSettings(**{**PERFECT, "track_efficiency": 0.0})
    particles = make_particles(
        [0, 0, 0, 0],
        [211, 11, 13, 22],
        [20.0, 15.0, 40.0, 25.0],
        [0.0, 1.0, -1.0, 4.0],  # the photon is in the forward calorimeter
        [0.0, 1.5, 2.5, -2.0],
    )
    out = detector_response(particles, settings, np.random.default_rng(0))
    assert out.pid.tolist() == [22, 130, 130]  # ECAL, then HCAL cells in grid order
    assert np.all(out.charge == 0)
    np.testing.assert_allclose(sorted(out.e), sorted(particles.e[[0, 1, 3]]))


@pytest.mark.parametrize(("pt", "expected"), [(0.05, 0.0), (0.5, 0.70), (5.0, 0.95)])
def test_tracking_efficiency_within_binomial_error(pt: float, expected: float) -> None:
    n = 40_000
    rng = np.random.default_rng(11)
    particles = make_particles(
        np.zeros(n),
        np.full(n, 211),
        np.full(n, pt),
        rng.uniform(-2.4, 2.4, n),
        rng.uniform(-3, 3, n),
    )
    result = reconstruct(particles, DetectorSettings(), np.random.default_rng(2))
    measured = len(result.track) / n
    assert abs(measured - expected) <= 4 * math.sqrt(expected * (1 - expected) / n) + 1e-12
    assert ((result.candidates.charge != 0).sum()) == len(result.track)


def test_no_tracks_outside_the_tracker() -> None:
    particles = make_particles(
        np.zeros(1000),
        np.full(1000, 211),
        np.full(1000, 10.0),
        np.full(1000, 2.6),
        np.linspace(-3, 3, 1000),
    )
    result = reconstruct(particles, DetectorSettings(), np.random.default_rng(0))
    assert len(result.track) == 0


@pytest.mark.parametrize("pt", [2.0, 100.0, 1000.0])
def test_track_pt_resolution_is_a_plus_b_pt(pt: float) -> None:
    n = 100_000
    settings = DetectorSettings(track_efficiency=1.0)
    rng = np.random.default_rng(21)
    particles = make_particles(
        np.zeros(n), np.full(n, -211), np.full(n, pt), rng.uniform(-2, 2, n), rng.uniform(-3, 3, n)
    )
    result = reconstruct(particles, settings, np.random.default_rng(4))
    charged = result.candidates
    ratio = np.hypot(charged.px, charged.py)[:n] / pt
    expected = math.hypot(0.01, 1.5e-4 * pt)
    assert len(result.track) == n
    assert ratio.std() == pytest.approx(expected, rel=0.03)
    assert ratio.mean() == pytest.approx(1.0, abs=4 * expected / math.sqrt(n))
    eta_in, phi_in = eta_phi(particles)
    eta_out, phi_out = eta_phi(charged)
    np.testing.assert_allclose(eta_out[:n], eta_in, atol=1e-9)
    np.testing.assert_allclose(phi_out[:n], phi_in, atol=1e-9)


@pytest.mark.parametrize(("pid", "energy"), [(22, 5.0), (22, 200.0), (2112, 20.0), (130, 500.0)])
def test_calorimeter_resolution_is_a_over_sqrt_e_plus_b(pid: int, energy: float) -> None:
    n = 100_000  # one particle per event, so one tower each
    settings = DetectorSettings()
    mass = MASS.get(pid, 0.0)
    pt = math.sqrt(energy**2 - mass**2)  # at η = 0
    particles = make_particles(
        np.arange(n),
        np.full(n, pid),
        np.full(n, pt),
        np.zeros(n),
        np.random.default_rng(8).uniform(-3, 3, n),
    )
    result = reconstruct(particles, settings, np.random.default_rng(6))
    ratio = result.towers.energy / result.towers.true_energy
    a, b = settings.resolutions[ECAL if pid == 22 else HCAL]
    expected = math.sqrt(a**2 / energy + b**2)
    assert len(ratio) == n
    assert ratio.std() == pytest.approx(expected, rel=0.03)
    assert ratio.mean() == pytest.approx(1.0, abs=4 * expected / math.sqrt(n))
    assert ratio.min() > 0


def test_same_seed_same_output_other_seed_other_output() -> None:
    particles = random_particles(7, 1500, 3)
    settings = DetectorSettings()
    first = detector_response(particles, settings, np.random.default_rng(42))
    again = detector_response(particles, settings, np.random.default_rng(42))
    other = detector_response(particles, settings, np.random.default_rng(43))
    for name in ("event", "px", "py", "pz", "e", "pid", "charge", "is_pileup"):
        np.testing.assert_array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.e[: len(other)], other.e[: len(first)])


def test_candidates_are_ordered_by_event_with_charged_first() -> None:
    particles = random_particles(9, 1000, 6)
    out = detector_response(particles, DetectorSettings(), np.random.default_rng(0))
    assert out.n_events == 6
    assert np.all(np.diff(out.event) >= 0)
    for k in range(6):
        charge = out.charge[out.event == k]
        assert np.all(charge[: (charge != 0).sum()] != 0)  # charged, then neutral


def test_pileup_flags_follow_tracks_and_tower_majority() -> None:
    settings = DetectorSettings(**PERFECT)
    # Event 0: a pile-up pion (tracked), a hard 30 GeV and a pile-up 10 GeV photon in one
    # ECAL cell, a pile-up 40 GeV and a hard 5 GeV neutron in one HCAL cell.
    particles = make_particles(
        [0, 0, 0, 0, 0],
        [211, 22, 22, 2112, 2112],
        [8.0, 30.0, 10.0, 40.0, 5.0],
        [0.3, 1.0, 1.0, -1.0, -1.0],
        [0.2, 2.0, 2.0, -2.0, -2.0],
        is_pileup=[True, False, True, True, False],
    )
    out = detector_response(particles, settings, np.random.default_rng(0))
    assert out.pid.tolist() == [211, 22, 130]
    assert out.is_pileup.tolist() == [True, False, True]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"pid": np.zeros(2, np.int32)}, "Particles field 'pid' has shape (2,), expected (3,)"),
        ({"event": np.array([1, 0, 0])}, "Particles 'event' must be ascending integers in [0"),
        ({"n_events": 1}, "Particles 'event' must be ascending integers in [0, n_events = 1)"),
    ],
)
def test_inconsistent_particles_are_refused(change: dict, message: str) -> None:
    good = make_particles([0, 1, 1], [211, 22, 130], [1.0, 2.0, 3.0], [0.0] * 3, [0.0] * 3)
    fields = {name: getattr(good, name) for name in good.__dataclass_fields__} | change
    with pytest.raises(GenerationError) as error:
        detector_response(Particles(**fields), DetectorSettings(), np.random.default_rng(0))
    assert str(error.value).startswith(message)


def test_wrong_argument_types_are_refused() -> None:
    particles = make_particles([0], [22], [1.0], [0.0], [0.0])
    with pytest.raises(GenerationError, match=r"^rng must be a numpy\.random\.Generator, got int$"):
        detector_response(particles, DetectorSettings(), 3)  # type: ignore[arg-type]
    with pytest.raises(GenerationError, match=r"^settings must be a DetectorSettings, got dict$"):
        detector_response(particles, {}, np.random.default_rng(0))  # type: ignore[arg-type]
