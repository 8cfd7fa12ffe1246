"""SUSY and HIGGS event features against per-event loops and hand-built events."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

from hepdl.errors import DataError
from hepdl.physics import event_features as ef
from hepdl.physics.razor import boost, razor, super_razor

MUON_MASS = 0.1056583755


def _p4(pt: float, eta: float, phi: float, mass: float = 0.0) -> list[float]:
    px, py, pz = pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)
    return [px, py, pz, math.sqrt(px * px + py * py + pz * pz + mass * mass)]


def _random_events(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """n events: two muons and a MET vector, in the ranges of dilepton events."""
    rng = np.random.default_rng(seed)
    leptons = np.array(
        [
            [
                _p4(
                    rng.uniform(20, 150),
                    rng.uniform(-2.5, 2.5),
                    rng.uniform(-np.pi, np.pi),
                    MUON_MASS,
                )
                for _ in range(2)
            ]
            for _ in range(n)
        ]
    )
    met = rng.normal(scale=60.0, size=(n, 2))
    return leptons[:, 0], leptons[:, 1], met


# --- naive references, one event at a time, written from the formulas -------------------


def _lorentz_matrix(beta: np.ndarray) -> np.ndarray:
    """The 4x4 matrix (x, y, z, t) taking four-vectors into a frame moving with ``beta``."""
    b2 = float(beta @ beta)
    gamma = 1.0 / math.sqrt(1.0 - b2)
    matrix = np.eye(4)
    matrix[3, 3] = gamma
    matrix[3, :3] = matrix[:3, 3] = -gamma * beta
    if b2 > 0:
        matrix[:3, :3] += (gamma - 1.0) * np.outer(beta, beta) / b2
    return matrix


def _naive_super_razor(p1: np.ndarray, p2: np.ndarray, met: np.ndarray) -> list[float]:
    l1, l2 = p1.copy(), p2.copy()
    to_longitudinal = _lorentz_matrix(np.array([0.0, 0.0, (l1[2] + l2[2]) / (l1[3] + l2[3])]))
    l1, l2 = to_longitudinal @ l1, to_longitudinal @ l2
    ll = l1 + l2
    pt_cm = ll[:2] + met
    dot = ll[0] * pt_cm[0] + ll[1] * pt_cm[1]
    s_hat = 2 * (ll[3] ** 2 - dot + ll[3] * math.sqrt(ll[3] ** 2 + pt_cm @ pt_cm - 2 * dot))
    beta_t = np.array([*pt_cm, 0.0]) / math.sqrt(pt_cm @ pt_cm + s_hat)
    to_r = _lorentz_matrix(beta_t)
    l1, l2, ll = to_r @ l1, to_r @ l2, to_r @ ll
    dphi = math.atan2(ll[1], ll[0]) - math.atan2(beta_t[1], beta_t[0])
    dphi = abs(math.remainder(dphi, 2 * math.pi))
    beta_r1 = (l1[:3] - l2[:3]) / (l1[3] + l2[3])
    l1 = _lorentz_matrix(beta_r1) @ l1
    cos_theta = (l1[:3] @ beta_r1) / (np.linalg.norm(l1[:3]) * np.linalg.norm(beta_r1))
    return [math.sqrt(s_hat), 2 * l1[3], dphi, cos_theta]


def _transverse_mass(p: np.ndarray, q: np.ndarray, m_vis: float, m_inv: float) -> float:
    et_vis = math.sqrt(m_vis**2 + p @ p)
    et_inv = math.sqrt(m_inv**2 + q @ q)
    return math.sqrt(max(m_vis**2 + m_inv**2 + 2 * (et_vis * et_inv - p @ q), 0.0))


def _naive_mt2(p1: np.ndarray, p2: np.ndarray, met: np.ndarray, m_inv: float) -> float:
    """min over q1 of max(mT1, mT2), by Nelder-Mead from many starting points."""
    m1 = math.sqrt(max(p1[3] ** 2 - p1[:3] @ p1[:3], 0))
    m2 = math.sqrt(max(p2[3] ** 2 - p2[:3] @ p2[:3], 0))

    def worst(q: np.ndarray) -> float:
        return max(
            _transverse_mass(p1[:2], q, m1, m_inv), _transverse_mass(p2[:2], met - q, m2, m_inv)
        )

    starts = [met / 2, -p1[:2], met + p2[:2], *np.random.default_rng(0).normal(0, 150, (12, 2))]
    options = {"xatol": 1e-9, "fatol": 1e-11, "maxiter": 20_000, "maxfev": 40_000}
    return min(minimize(worst, s, method="Nelder-Mead", options=options).fun for s in starts)


# --- names --------------------------------------------------------------------------------


def test_feature_names_are_the_uci_columns_in_order() -> None:
    assert ef.SUSY_FEATURES[:8] == (
        "lepton_1_pt",
        "lepton_1_eta",
        "lepton_1_phi",
        "lepton_2_pt",
        "lepton_2_eta",
        "lepton_2_phi",
        "missing_energy_magnitude",
        "missing_energy_phi",
    )
    assert ef.SUSY_FEATURES[8:] == (
        "met_rel",
        "axial_met",
        "m_r",
        "m_tr_2",
        "r",
        "mt2",
        "s_r",
        "m_delta_r",
        "dphi_r_b",
        "cos_theta_r1",
    )
    assert len(ef.HIGGS_FEATURES) == 28
    assert ef.HIGGS_FEATURES[5:9] == ("jet_1_pt", "jet_1_eta", "jet_1_phi", "jet_1_b_tag")
    assert ef.HIGGS_FEATURES[17:21] == ("jet_4_pt", "jet_4_eta", "jet_4_phi", "jet_4_b_tag")
    assert ef.HIGGS_FEATURES[21:] == ("m_jj", "m_jjj", "m_lv", "m_jlv", "m_bb", "m_wbb", "m_wwbb")


# --- razor --------------------------------------------------------------------------------


def test_razor_matches_loop() -> None:
    p1, p2, met = _random_events(50, seed=1)
    values = razor(p1, p2, met)
    for k in range(50):
        a, b, m = p1[k], p2[k], met[k]
        m_r = math.sqrt((a[3] + b[3]) ** 2 - (a[2] + b[2]) ** 2)
        pt_sum = math.hypot(a[0], a[1]) + math.hypot(b[0], b[1])
        m_tr = math.sqrt((math.hypot(*m) * pt_sum - m @ (a[:2] + b[:2])) / 2)
        assert values.m_r[k] == pytest.approx(m_r, rel=1e-12)
        assert values.m_tr[k] == pytest.approx(m_tr, rel=1e-9)
        assert values.r[k] == pytest.approx(m_tr / m_r, rel=1e-9)


def test_razor_of_back_to_back_equal_leptons() -> None:
    # Two massless leptons of pT 40 GeV back to back at eta = 0: M_R = 2 pT. MET of 30 GeV
    # along +y, perpendicular to them: M_T^R = sqrt(30 * 80 / 2).
    p1, p2 = np.array([_p4(40, 0, 0)]), np.array([_p4(40, 0, np.pi)])
    values = razor(p1, p2, np.array([[0.0, 30.0]]))
    assert values.m_r[0] == pytest.approx(80.0, rel=1e-12)
    assert values.m_tr[0] == pytest.approx(math.sqrt(30 * 80 / 2), rel=1e-12)
    assert values.r[0] == pytest.approx(math.sqrt(1200) / 80, rel=1e-12)


def test_boost_matches_lorentz_matrix() -> None:
    rng = np.random.default_rng(2)
    p1, _, _ = _random_events(20, seed=2)
    beta = rng.uniform(-0.5, 0.5, (20, 3))
    expected = np.array([_lorentz_matrix(b) @ p for b, p in zip(beta, p1, strict=True)])
    np.testing.assert_allclose(boost(p1, beta), expected, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(boost(p1, np.zeros((20, 3))), p1)


def test_super_razor_matches_loop() -> None:
    p1, p2, met = _random_events(50, seed=3)
    values = np.stack(super_razor(p1, p2, met), axis=1)  # (E, 4)
    expected = np.array([_naive_super_razor(*event) for event in zip(p1, p2, met, strict=True)])
    np.testing.assert_allclose(values, expected, rtol=1e-9, atol=1e-9)


def test_super_razor_of_symmetric_leptons_at_rest() -> None:
    # Two massless leptons of energy E at eta = 0, phi = +-theta/2, and MET = -p_ll: no
    # longitudinal or transverse boost. Then sqrt(s_R) = 2 E_ll = 4 E, and the R+1 frame
    # makes lepton 1's energy E cos(theta/2), perpendicular to beta_R+1.
    energy, theta = 50.0, 1.2
    p1 = np.array([_p4(energy, 0, theta / 2)])
    p2 = np.array([_p4(energy, 0, -theta / 2)])
    met = -(p1 + p2)[:, :2]
    values = super_razor(p1, p2, met)
    assert values.s_r[0] == pytest.approx(4 * energy, rel=1e-12)
    assert values.m_delta_r[0] == pytest.approx(2 * energy * math.cos(theta / 2), rel=1e-12)
    assert values.cos_theta_r1[0] == pytest.approx(0.0, abs=1e-12)


# --- MT2, MET_rel, axial MET ---------------------------------------------------------------


@pytest.mark.parametrize("invisible_mass", [0.0, 100.0])
def test_mt2_matches_minimisation(invisible_mass: float) -> None:
    p1, p2, met = _random_events(8, seed=4)
    values = ef.mt2(p1, p2, met, invisible_mass=invisible_mass)
    expected = [_naive_mt2(*event, invisible_mass) for event in zip(p1, p2, met, strict=True)]
    np.testing.assert_allclose(values, expected, rtol=1e-6, atol=1e-6)


def test_mt2_of_parallel_muons_is_their_transverse_mass() -> None:
    # Two parallel muons of pT p and MET = -(sum): the best split gives each side
    # q = -p, so MT2 = m_T(p, -p) = sqrt(m^2 + 2 p (E_T + p)); 80.4 GeV for p = 40.2.
    p = 40.2
    muon = np.array([_p4(p, 0.3, 0.7, MUON_MASS)])
    other = np.array([_p4(p, -1.1, 0.7, MUON_MASS)])
    met = -(muon + other)[:, :2]
    e_t = math.sqrt(p * p + MUON_MASS**2)
    expected = math.sqrt(MUON_MASS**2 + 2 * p * (e_t + p))
    assert ef.mt2(muon, other, met)[0] == pytest.approx(expected, rel=1e-9)
    assert expected == pytest.approx(80.4, abs=1e-3)


def _w_decays(rng: np.random.Generator, n: int, w_mass: float) -> tuple[np.ndarray, np.ndarray]:
    """n W -> l nu decays: isotropic in the W frame, the W with random momentum."""
    cos_t, phi = rng.uniform(-1, 1, n), rng.uniform(-np.pi, np.pi, n)
    sin_t = np.sqrt(1 - cos_t**2)
    half = w_mass / 2
    direction = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)
    lepton = np.concatenate([half * direction, np.full((n, 1), half)], axis=1)
    neutrino = np.concatenate([-half * direction, np.full((n, 1), half)], axis=1)
    momentum = rng.normal(scale=60.0, size=(n, 3))
    w_energy = np.sqrt(w_mass**2 + np.sum(momentum**2, axis=1))
    beta = -momentum / w_energy[:, None]  # boost from the W frame to the lab
    return boost(lepton, beta), boost(neutrino, beta)


def test_mt2_endpoint_of_w_pairs_is_the_w_mass() -> None:
    rng = np.random.default_rng(5)
    w_mass = 80.4
    l1, n1 = _w_decays(rng, 4000, w_mass)
    l2, n2 = _w_decays(rng, 4000, w_mass)
    values = ef.mt2(l1, l2, (n1 + n2)[:, :2])
    assert values.max() <= w_mass * (1 + 1e-9)
    assert values.max() > 0.97 * w_mass  # the endpoint is reached


def test_met_rel_matches_loop() -> None:
    rng = np.random.default_rng(6)
    met = rng.normal(scale=50, size=(40, 2))
    phi = rng.uniform(-np.pi, np.pi, (40, 5))
    mask = rng.random((40, 5)) < 0.7
    values = ef.met_rel(met, phi, mask=mask)
    for k in range(40):
        met_phi = math.atan2(met[k, 1], met[k, 0])
        closest = min(
            (abs(math.remainder(met_phi - phi[k, j], 2 * math.pi)) for j in range(5) if mask[k, j]),
            default=math.inf,
        )
        magnitude = math.hypot(*met[k])
        expected = magnitude if closest >= math.pi / 2 else magnitude * math.sin(closest)
        assert values[k] == pytest.approx(expected, rel=1e-12)


def test_met_rel_and_axial_met_by_hand() -> None:
    met = np.array([[30.0, 0.0]] * 3)  # MET of 30 GeV along +x
    # The nearest object at 0, 90 and 30 degrees: MET sin(0), MET, MET sin(30 deg).
    phi = np.array([[0.0, 2.0], [np.pi / 2, -np.pi / 2], [np.pi / 6, np.pi]])
    np.testing.assert_allclose(ef.met_rel(met, phi), [0.0, 30.0, 15.0], atol=1e-12)
    # Dilepton along -x (recoiling), +y (perpendicular) and +x: +MET, 0, -MET.
    visible = np.array([_p4(50, 0.2, np.pi), _p4(50, 0.2, np.pi / 2), _p4(50, 0.2, 0.0)])
    np.testing.assert_allclose(ef.axial_met(met, visible), [30.0, 0.0, -30.0], atol=1e-12)


def test_susy_features_orders_leptons_by_pt() -> None:
    p1, p2, met = _random_events(30, seed=7)
    leptons = np.stack([p1, p2], axis=1)
    features = ef.susy_features(leptons, met)
    swapped = ef.susy_features(leptons[:, ::-1], met)
    assert tuple(features) == ef.SUSY_FEATURES
    for name in ef.SUSY_FEATURES:
        assert features[name].shape == (30,)
        assert features[name].dtype == np.float64
        np.testing.assert_array_equal(features[name], swapped[name])
    assert np.all(features["lepton_1_pt"] >= features["lepton_2_pt"])
    lead = np.where((np.hypot(p1[:, 0], p1[:, 1]) >= np.hypot(p2[:, 0], p2[:, 1]))[:, None], p1, p2)
    np.testing.assert_allclose(
        features["lepton_1_eta"], np.arcsinh(lead[:, 2] / np.hypot(lead[:, 0], lead[:, 1]))
    )
    # No jets: MET_rel measures the angle to the two leptons only.
    phis = np.stack([features["lepton_1_phi"], features["lepton_2_phi"]], axis=1)
    np.testing.assert_array_equal(features["met_rel"], ef.met_rel(met, phis))


# --- HIGGS --------------------------------------------------------------------------------


def test_neutrino_solves_the_w_mass_constraint() -> None:
    rng = np.random.default_rng(8)
    lepton, neutrino = _w_decays(rng, 200, ef.W_MASS)
    reco = ef.neutrino_momentum(lepton, neutrino[:, :2])
    for k in range(200):
        # The quadratic a pz^2 - 2 mu pz_l pz + (E_l^2 pT^2 - mu^2) = 0, solved by numpy.
        e_l, pz_l = lepton[k, 3], lepton[k, 2]
        mu = ef.W_MASS**2 / 2 + lepton[k, :2] @ neutrino[k, :2]
        roots = np.roots(
            [e_l**2 - pz_l**2, -2 * mu * pz_l, e_l**2 * (neutrino[k, :2] @ neutrino[k, :2]) - mu**2]
        )
        smaller = roots[np.argmin(np.abs(roots))].real
        assert reco[k, 2] == pytest.approx(smaller, rel=1e-6, abs=1e-6)
        assert min(abs(roots - neutrino[k, 2])) < 1e-6 * (1 + abs(neutrino[k, 2]))  # the true pz
    mass = np.sqrt(
        np.maximum((lepton + reco)[:, 3] ** 2 - np.sum((lepton + reco)[:, :3] ** 2, axis=1), 0)
    )
    np.testing.assert_allclose(mass, ef.W_MASS, rtol=1e-9)


def test_neutrino_without_real_solution_takes_the_real_part() -> None:
    # Lepton and MET back to back with m_T = 2 sqrt(60 * 60) = 120 GeV > m_W: no real root.
    lepton = np.array([_p4(60.0, 0.8, 0.0)])
    met = np.array([[-60.0, 0.0]])
    reco = ef.neutrino_momentum(lepton, met)
    mu = ef.W_MASS**2 / 2 - 3600.0
    assert reco[0, 2] == pytest.approx(mu * lepton[0, 2] / (lepton[0, 3] ** 2 - lepton[0, 2] ** 2))
    mass = math.sqrt((lepton + reco)[0, 3] ** 2 - np.sum((lepton + reco)[0, :3] ** 2))
    assert mass > ef.W_MASS


def _naive_higgs_masses(lepton, met, jets, b_tag) -> list[float]:
    def m(*parts: np.ndarray) -> float:
        total = np.sum(parts, axis=0)
        return math.sqrt(max(total[3] ** 2 - total[:3] @ total[:3], 0.0))

    e_l, pz_l = lepton[3], lepton[2]
    a = e_l**2 - pz_l**2
    mu = (ef.W_MASS**2 - (e_l**2 - lepton[:3] @ lepton[:3])) / 2 + lepton[:2] @ met
    disc = mu**2 - a * (met @ met)
    if disc >= 0:
        roots = [(mu * pz_l + s * e_l * math.sqrt(disc)) / a for s in (1, -1)]
        pz = min(roots, key=abs)
    else:
        pz = mu * pz_l / a
    neutrino = np.array([met[0], met[1], pz, math.sqrt(met @ met + pz * pz)])
    order = sorted(range(4), key=lambda j: -math.hypot(jets[j, 0], jets[j, 1]))
    jets, b_tag = jets[order], b_tag[order]
    roles = sorted(range(4), key=lambda j: (-b_tag[j], j))  # b-tag, then pT
    b1, b2, w1, w2 = (jets[j] for j in roles)
    w_lep = lepton + neutrino
    best = min(
        [(b1, b2), (b2, b1)],
        key=lambda pair: (
            (m(w1, w2, pair[0]) - ef.TOP_MASS) ** 2 + (m(w_lep, pair[1]) - ef.TOP_MASS) ** 2
        ),
    )
    return [
        m(w1, w2),
        m(w1, w2, best[0]),
        m(w_lep),
        m(w_lep, best[1]),
        m(b1, b2),
        m(w1, w2, b1, b2),
        m(w_lep, w1, w2, b1, b2),
    ]


def test_higgs_features_match_loop() -> None:
    rng = np.random.default_rng(9)
    n = 60
    lepton = np.array(
        [_p4(rng.uniform(25, 120), rng.uniform(-2.4, 2.4), rng.uniform(-3, 3)) for _ in range(n)]
    )
    met = rng.normal(scale=50, size=(n, 2))
    jets = np.array(
        [
            [
                _p4(
                    rng.uniform(20, 200),
                    rng.uniform(-2.4, 2.4),
                    rng.uniform(-3, 3),
                    rng.uniform(2, 15),
                )
                for _ in range(4)
            ]
            for _ in range(n)
        ]
    )
    b_tag = (rng.random((n, 4)) < 0.5).astype(float)
    features = ef.higgs_features(lepton, met, jets, b_tag)
    assert tuple(features) == ef.HIGGS_FEATURES
    masses = np.stack([features[name] for name in ef.HIGGS_FEATURES[21:]], axis=1)
    expected = [_naive_higgs_masses(*event) for event in zip(lepton, met, jets, b_tag, strict=True)]
    np.testing.assert_allclose(masses, expected, rtol=1e-9)
    jet_pt = np.stack([features[f"jet_{k}_pt"] for k in range(1, 5)], axis=1)
    np.testing.assert_allclose(jet_pt, -np.sort(-np.hypot(jets[:, :, 0], jets[:, :, 1]), axis=1))


def test_higgs_features_of_a_hand_built_ttbar_event() -> None:
    top, w = ef.TOP_MASS, ef.W_MASS
    # Hadronic top at rest: b and W back to back along x, the W's quarks along +-y in its
    # frame.
    p_star = (top**2 - w**2) / (2 * top)  # b momentum in the top frame (massless b)
    b_had = np.array([p_star, 0.0, 0.0, p_star])
    quarks = np.array([[0.0, w / 2, 0.0, w / 2], [0.0, -w / 2, 0.0, w / 2]])
    quarks = boost(quarks, np.tile([[p_star / math.sqrt(p_star**2 + w**2), 0, 0]], (2, 1)))
    # Leptonic side: lepton and neutrino back to back in the transverse plane (a W at rest,
    # m_T = m_W, so pz = 0 is the only root) and a b of energy (m_t² - m_W²) / (2 m_W).
    lepton = np.array([_p4(w / 2, 0.0, 2.5)])
    met = -lepton[:, :2]
    b_energy = (top**2 - w**2) / (2 * w)
    b_lep = np.array(_p4(b_energy / math.cosh(1.5), 1.5, -2.0))
    jets = np.array([[quarks[0], b_lep, quarks[1], b_had]])
    tags = np.array([[0.0, 1.0, 0.0, 1.0]])
    features = ef.higgs_features(lepton, met, jets, tags)
    assert features["m_jjj"][0] == pytest.approx(top, rel=1e-9)  # the right b on each side
    assert features["m_jlv"][0] == pytest.approx(top, rel=1e-9)
    assert features["m_jj"][0] == pytest.approx(w, rel=1e-9)
    assert features["m_lv"][0] == pytest.approx(w, rel=1e-9)
    mass = np.sum(jets[0], axis=0)
    assert features["m_wbb"][0] == pytest.approx(math.sqrt(mass[3] ** 2 - mass[:3] @ mass[:3]))
    # Jets come out by decreasing pT, each with its own b-tag.
    pt = np.hypot(jets[0, :, 0], jets[0, :, 1])
    order = np.argsort(-pt)
    for k in range(4):
        assert features[f"jet_{k + 1}_pt"][0] == pytest.approx(pt[order[k]])
        assert features[f"jet_{k + 1}_b_tag"][0] == tags[0, order[k]]


# --- bad input ----------------------------------------------------------------------------


def test_bad_shapes_and_values_are_named() -> None:
    p1, p2, met = _random_events(3, seed=10)
    with pytest.raises(DataError, match=r"leptons must have shape \(E, 2, 4\), got \(3, 3, 4\)"):
        ef.susy_features(np.zeros((3, 3, 4)), met)
    with pytest.raises(DataError, match="met has 2 events, expected 3 like the others"):
        ef.susy_features(np.stack([p1, p2], axis=1), met[:2])
    bad = met.copy()
    bad[1, 0] = np.nan
    with pytest.raises(DataError, match="met has a NaN or infinite value in event 1"):
        ef.mt2(p1, p2, bad)
    with pytest.raises(DataError, match=r"jets must have shape \(E, 4, 4\), got \(3, 3, 4\)"):
        ef.higgs_features(p1, met, np.zeros((3, 3, 4)), np.zeros((3, 4)))
    with pytest.raises(DataError, match="invisible_mass must be a finite mass >= 0 GeV, got -1"):
        ef.mt2(p1, p2, met, invisible_mass=-1.0)
