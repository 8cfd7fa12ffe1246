"""Jet substructure against hand computations, naive loops and FastJet contrib itself."""

from __future__ import annotations

import math
import warnings
from itertools import combinations

import awkward as ak
import numpy as np
import pytest

from hepdl.errors import DataError
from hepdl.physics import substructure as sub

FourVector = tuple[float, float, float, float]  # (px, py, pz, E)


# ---------------------------------------------------------------- building jets


def massive(pt: float, y: float, phi: float, m: float = 0.0) -> FourVector:
    """A four-vector from (pt, rapidity, phi, mass): pz = mT sinh y, E = mT cosh y."""
    mt = math.hypot(pt, m)
    return (pt * math.cos(phi), pt * math.sin(phi), mt * math.sinh(y), mt * math.cosh(y))


def make_jets(jets: list[list[FourVector]]) -> ak.Array:
    """Jagged constituents as the Parquet reader gives them: px, py, pz, energy records."""
    flat = np.array([p for jet in jets for p in jet], dtype=np.float64).reshape(-1, 4)
    records = ak.zip({"px": flat[:, 0], "py": flat[:, 1], "pz": flat[:, 2], "energy": flat[:, 3]})
    return ak.unflatten(records, np.array([len(jet) for jet in jets], dtype=np.int64))


def random_jet(rng: np.random.Generator, n: int) -> list[FourVector]:
    """A jet centred near phi = pi (to cross the seam) with massive and massless constituents."""
    return [
        massive(
            rng.exponential(20.0) + 1.0,
            rng.normal(0.3, 0.4),
            rng.normal(math.pi, 0.4),
            rng.choice([0.0, 0.14, 0.94]),
        )
        for _ in range(n)
    ]


def random_jets(seed: int, sizes: list[int]) -> list[list[FourVector]]:
    rng = np.random.default_rng(seed)
    return [random_jet(rng, n) for n in sizes]


# ---------------------------------------------------------------- naive references


def naive_pt(p: FourVector) -> float:
    return math.hypot(p[0], p[1])


def naive_rap(p: FourVector) -> float:
    return 0.5 * math.log((p[3] + p[2]) / (p[3] - p[2]))


def naive_phi(p: FourVector) -> float:
    return math.atan2(p[1], p[0])


def naive_dr2(a: FourVector, b: FourVector) -> float:
    dphi = abs(naive_phi(a) - naive_phi(b))
    dphi = min(dphi, 2 * math.pi - dphi)
    return (naive_rap(a) - naive_rap(b)) ** 2 + dphi**2


def naive_exclusive_kt(particles: list[FourVector], n: int) -> list[FourVector]:
    """O(n^3) exclusive kT: merge the pair with smallest min(pt_i^2, pt_j^2) dR_ij^2."""
    jets = list(particles)
    while len(jets) > n:
        _, i, j = min(
            (min(naive_pt(a) ** 2, naive_pt(b) ** 2) * naive_dr2(a, b), i, j)
            for (i, a), (j, b) in combinations(enumerate(jets), 2)
        )
        merged = tuple(x + y for x, y in zip(jets[i], jets[j], strict=True))
        jets = [p for k, p in enumerate(jets) if k not in (i, j)] + [merged]
    return sorted(jets, key=naive_pt, reverse=True)


def naive_tau(particles: list[FourVector], n: int, *, beta: float, r0: float) -> float:
    axes = naive_exclusive_kt(particles, n)
    numerator = sum(
        naive_pt(p) * min(naive_dr2(p, axis) for axis in axes) ** (beta / 2) for p in particles
    )
    return numerator / (sum(naive_pt(p) for p in particles) * r0**beta)


def naive_jet(particles: list[FourVector]) -> FourVector:
    return tuple(sum(p[k] for p in particles) for k in range(4))


# ---------------------------------------------------------------- four-momentum and mass


def test_mass_of_two_and_three_particle_jets() -> None:
    jets = make_jets(
        [
            [(10.0, 0.0, 0.0, 10.0), (0.0, 10.0, 0.0, 10.0)],
            [(10.0, 0.0, 0.0, 10.0), (0.0, 10.0, 0.0, 10.0), (0.0, 0.0, 10.0, 10.0)],
        ]
    )
    # m^2 = (sum E)^2 - |sum p|^2 = 20^2 - (10^2 + 10^2) = 200 and 30^2 - 3 * 10^2 = 600.
    np.testing.assert_allclose(sub.jet_mass(jets), [math.sqrt(200), math.sqrt(600)], rtol=1e-14)
    np.testing.assert_allclose(sub.jet_pt(jets), [math.sqrt(200), math.sqrt(200)], rtol=1e-14)
    px, py, pz, energy = sub.jet_four_momentum(jets)
    np.testing.assert_allclose(
        np.stack([px, py, pz, energy]), [[10, 10], [10, 10], [0, 10], [20, 30]]
    )


def boost(p: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Lorentz boost of four-vectors (..., 4) = (px, py, pz, E) by velocity beta (3,)."""
    b2 = beta @ beta
    gamma = 1.0 / math.sqrt(1.0 - b2)
    bp = p[..., :3] @ beta
    energy = gamma * (p[..., 3] + bp)
    momentum = p[..., :3] + ((gamma - 1.0) * bp / b2 + gamma * p[..., 3])[..., None] * beta
    return np.concatenate([momentum, energy[..., None]], axis=-1)


def two_body(mother: float, m1: float, m2: float, direction: np.ndarray) -> np.ndarray:
    """Daughters (2, 4) of a decay at rest, back to back along ``direction``."""
    p = math.sqrt((mother**2 - (m1 + m2) ** 2) * (mother**2 - (m1 - m2) ** 2)) / (2 * mother)
    d = direction / np.linalg.norm(direction)
    return np.array([[*(p * d), math.hypot(p, m1)], [*(-p * d), math.hypot(p, m2)]])


def top_decay_products() -> np.ndarray:
    """t -> b W, W -> q q' for a 173 GeV top boosted to pt ~ 800 GeV: (3, 4)."""
    m_top, m_w, m_b = 173.0, 80.4, 4.8
    b, w = two_body(m_top, m_b, m_w, np.array([0.3, -0.5, 0.8]))
    quarks = two_body(m_w, 0.0, 0.0, np.array([-0.7, 0.2, 0.4]))
    quarks = boost(quarks, w[:3] / w[3])  # W rest frame -> top rest frame
    top_rest = np.stack([b, *quarks])
    lab = np.array(massive(800.0, 0.5, 1.0, m_top))
    return boost(top_rest, lab[:3] / lab[3])


def test_top_like_three_prong_jet_has_top_mass() -> None:
    products = top_decay_products()
    jets = make_jets([[tuple(p) for p in products]])
    np.testing.assert_allclose(sub.jet_mass(jets), [173.0], rtol=1e-10)
    np.testing.assert_allclose(sub.jet_pt(jets), [800.0], rtol=1e-10)
    # Three constituents: each is its own axis, tau3 = 0; tau2 is not.
    assert sub.nsubjettiness(jets, n=3)[0] == 0.0
    assert sub.nsubjettiness(jets, n=2)[0] > 0.05


# ---------------------------------------------------------------- exclusive kT axes


@pytest.mark.parametrize("n", [1, 2, 3])
def test_exclusive_kt_axes_match_naive_clustering(n: int) -> None:
    jets = random_jets(seed=n, sizes=[4, 7, 12, 20, 25, 9])
    axes = sub.exclusive_kt_axes(make_jets(jets), n)
    assert ak.fields(axes) == ["px", "py", "pz", "energy"]
    assert ak.num(axes).tolist() == [n] * len(jets)
    for jet, got in zip(jets, axes.tolist(), strict=True):
        got = [(a["px"], a["py"], a["pz"], a["energy"]) for a in got]
        np.testing.assert_allclose(got, naive_exclusive_kt(jet, n), rtol=1e-10, atol=1e-10)


def test_exclusive_kt_axes_conserve_the_jet_four_momentum() -> None:
    jets = make_jets(random_jets(seed=7, sizes=[30, 50]))
    axes = sub.exclusive_kt_axes(jets, 3)
    summed = [ak.to_numpy(ak.sum(axes[name], axis=1)) for name in ["px", "py", "pz", "energy"]]
    np.testing.assert_allclose(summed, sub.jet_four_momentum(jets), rtol=1e-12)


def test_exclusive_kt_axes_with_too_few_constituents() -> None:
    # fastjet's exclusive_jets(n) raises for these; each constituent must be its own axis.
    one, two = random_jets(seed=3, sizes=[1, 2])
    axes = sub.exclusive_kt_axes(make_jets([one, [], two]), 3)
    assert ak.num(axes).tolist() == [1, 0, 2]
    got = [(a["px"], a["py"], a["pz"], a["energy"]) for a in axes[2].tolist()]
    np.testing.assert_allclose(got, sorted(two, key=naive_pt, reverse=True), rtol=1e-15)


def test_exclusive_kt_axes_rejects_bad_n() -> None:
    jets = make_jets(random_jets(seed=0, sizes=[3]))
    for bad in (0, -1, 1.5):
        with pytest.raises(ValueError, match="integer >= 1"):
            sub.exclusive_kt_axes(jets, bad)


# ---------------------------------------------------------------- N-subjettiness


@pytest.mark.parametrize(("beta", "r0"), [(1.0, 0.8), (2.0, 1.0), (0.5, 0.4)])
def test_nsubjettiness_matches_naive_double_loop(beta: float, r0: float) -> None:
    jets = random_jets(seed=11, sizes=[2, 3, 5, 8, 15, 24])
    constituents = make_jets(jets)
    for n in (1, 2, 3):
        expected = [0.0 if len(j) <= n else naive_tau(j, n, beta=beta, r0=r0) for j in jets]
        got = sub.nsubjettiness(constituents, n=n, beta=beta, r0=r0)
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-14)


def test_nsubjettiness_matches_fastjet_contrib() -> None:
    # The reference implementation: contrib Nsubjettiness, KT_Axes, NormalizedMeasure(1, 0.8).
    fastjet = pytest.importorskip("fastjet")
    constituents = make_jets(random_jets(seed=5, sizes=[1, 2, 3, 6, 40, 80, 60]))
    c = constituents
    records = ak.zip({"px": c.px, "py": c.py, "pz": c.pz, "E": c.energy})
    jet_definition = fastjet.JetDefinition(
        fastjet.kt_algorithm, fastjet.JetDefinition.max_allowable_R
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sequence = fastjet.ClusterSequence(records, jet_definition)
        reference = ak.to_numpy(
            sequence.njettiness(axes_definition="KT_Axes", njets=[1, 2, 3], beta=1.0, R0=0.8)
        )
    features = sub.substructure_features(constituents, names=["tau1", "tau2", "tau3"])
    got = np.stack([features["tau1"], features["tau2"], features["tau3"]], axis=1)
    np.testing.assert_allclose(got, reference, rtol=1e-10, atol=1e-14)


def test_tau1_of_two_particles_by_hand() -> None:
    # Both at y = 0, so the axis (their sum) is at y = 0 and DeltaR is a difference in phi.
    jets = make_jets([[massive(100.0, 0.0, 0.0), massive(50.0, 0.0, 0.3)]])
    phi_axis = math.atan2(50 * math.sin(0.3), 100 + 50 * math.cos(0.3))
    expected = (100 * phi_axis + 50 * (0.3 - phi_axis)) / (150 * 0.8)
    np.testing.assert_allclose(sub.nsubjettiness(jets, n=1), [expected], rtol=1e-13)


def test_tau2_of_three_particles_by_hand() -> None:
    # d_ij = min(pt^2) dR^2: (a, c) 50^2 0.1^2 = 25 < (b, c) 400 < (a, b) 2500, so a and c merge;
    # b is its own axis and contributes nothing.
    a, b, c = massive(100.0, 0.0, 0.0), massive(100.0, 0.0, 0.5), massive(50.0, 0.0, 0.1)
    jets = make_jets([[a, b, c]])
    phi_ac = math.atan2(50 * math.sin(0.1), 100 + 50 * math.cos(0.1))
    expected_tau2 = (100 * phi_ac + 50 * (0.1 - phi_ac)) / (250 * 0.8)
    tau2 = sub.nsubjettiness(jets, n=2)
    np.testing.assert_allclose(tau2, [expected_tau2], rtol=1e-13)
    assert sub.nsubjettiness(jets, n=3).tolist() == [0.0]
    features = sub.substructure_features(jets, names=["tau32"])
    assert features["tau32"].tolist() == [0.0]


def test_tau_is_zero_with_n_or_fewer_constituents() -> None:
    jets = make_jets(random_jets(seed=2, sizes=[1, 2, 3]))
    tau1 = sub.nsubjettiness(jets, n=1)
    assert tau1[0] == 0.0  # a one-particle jet
    assert np.all(tau1[1:] > 0.0)
    np.testing.assert_array_equal(sub.nsubjettiness(jets, n=2)[:2], [0.0, 0.0])
    np.testing.assert_array_equal(sub.nsubjettiness(jets, n=3), [0.0, 0.0, 0.0])


def prong(rng: np.random.Generator, pt: float, y: float, phi: float, spread: float) -> list:
    return [
        massive(
            pt / 6 * rng.uniform(0.5, 1.5), y + rng.normal(0, spread), phi + rng.normal(0, spread)
        )
        for _ in range(6)
    ]


def test_three_prong_jet_has_small_tau32_and_one_prong_blob_does_not() -> None:
    rng = np.random.default_rng(4)
    three_prong = (
        prong(rng, 300, 0.0, 0.0, 0.005)
        + prong(rng, 200, 0.4, 0.2, 0.005)
        + prong(rng, 150, -0.2, 0.4, 0.005)
    )
    blob = prong(rng, 400, 0.0, 0.0, 0.15) + prong(rng, 400, 0.0, 0.0, 0.15)
    jets = make_jets([three_prong, blob])
    features = sub.substructure_features(jets, names=["tau2", "tau3", "tau32", "tau21"])
    expected_tau32 = [
        naive_tau(j, 3, beta=1, r0=0.8) / naive_tau(j, 2, beta=1, r0=0.8)
        for j in (three_prong, blob)
    ]
    np.testing.assert_allclose(features["tau32"], expected_tau32, rtol=1e-10)
    # tau3 ~ prong width (0.005 * sqrt(pi/2) ~ 0.006); tau2 ~ the softest prong's pT share
    # times its distance to the other two (~0.23 * 0.4 ~ 0.1): tau32 ~ 0.06. A blob has
    # no third prong to find, so tau3 is not much smaller than tau2.
    assert features["tau32"][0] == pytest.approx(0.06, abs=0.02)
    assert features["tau32"][1] > 0.6


def test_tau_ratio_is_zero_where_denominator_is_zero() -> None:
    ratio = sub.tau_ratio(np.array([0.2, 0.0, 0.3]), np.array([0.4, 0.0, 0.0]))
    assert ratio.dtype == np.float64
    assert ratio.tolist() == [0.5, 0.0, 0.0]


# ---------------------------------------------------------------- other observables


def test_pt_d_girth_and_multiplicity_match_naive_loops() -> None:
    jets = random_jets(seed=9, sizes=[1, 2, 5, 17, 40])
    constituents = make_jets(jets)
    expected_pt_d, expected_girth = [], []
    for jet in jets:
        pts = [naive_pt(p) for p in jet]
        expected_pt_d.append(math.sqrt(sum(x**2 for x in pts)) / sum(pts))
        axis = naive_jet(jet)
        expected_girth.append(
            sum(naive_pt(p) * math.sqrt(naive_dr2(p, axis)) for p in jet) / naive_pt(axis)
        )
    np.testing.assert_allclose(sub.pt_d(constituents), expected_pt_d, rtol=1e-12)
    np.testing.assert_allclose(sub.girth(constituents), expected_girth, rtol=1e-10)
    multiplicity = sub.multiplicity(constituents)
    assert multiplicity.dtype == np.int64
    assert multiplicity.tolist() == [1, 2, 5, 17, 40]
    assert sub.pt_d(constituents)[0] == pytest.approx(1.0)
    assert sub.girth(constituents)[0] == pytest.approx(0.0, abs=1e-15)


# ---------------------------------------------------------------- substructure_features


def test_features_of_all_names_in_order_and_consistent() -> None:
    jets = random_jets(seed=12, sizes=[10, 30, 4])
    constituents = make_jets(jets)
    features = sub.substructure_features(constituents, jet_radius=1.0)
    assert tuple(features) == sub.SUBSTRUCTURE_FEATURES
    assert all(v.shape == (3,) for v in features.values())
    np.testing.assert_allclose(features["jet_mass"], sub.jet_mass(constituents), rtol=1e-15)
    np.testing.assert_allclose(
        features["tau2"], sub.nsubjettiness(constituents, n=2, r0=1.0), rtol=1e-15
    )
    np.testing.assert_allclose(features["tau21"], features["tau2"] / features["tau1"], rtol=1e-15)
    assert features["n_constituents"].tolist() == [10, 30, 4]
    expected_tau3 = [naive_tau(j, 3, beta=1.0, r0=1.0) for j in jets]
    np.testing.assert_allclose(features["tau3"], expected_tau3, rtol=1e-10)


def test_empty_jets_give_zeros_and_leave_others_unchanged() -> None:
    jets = random_jets(seed=13, sizes=[8, 20])
    with_empty = sub.substructure_features(make_jets([[], jets[0], [], jets[1], []]))
    without = sub.substructure_features(make_jets(jets))
    for name in sub.SUBSTRUCTURE_FEATURES:
        np.testing.assert_array_equal(with_empty[name][[0, 2, 4]], [0, 0, 0], err_msg=name)
        np.testing.assert_allclose(
            with_empty[name][[1, 3]], without[name], rtol=1e-14, err_msg=name
        )


def test_only_empty_jets_and_no_jets() -> None:
    only_empty = sub.substructure_features(make_jets([[], []]))
    assert tuple(only_empty) == sub.SUBSTRUCTURE_FEATURES
    assert all(v.tolist() == [0, 0] for v in only_empty.values())
    none = sub.substructure_features(make_jets([]))
    assert all(v.shape == (0,) for v in none.values())
    assert ak.num(sub.exclusive_kt_axes(make_jets([[], []]), 2)).tolist() == [0, 0]


def test_unknown_feature_name_is_named_with_the_valid_ones() -> None:
    jets = make_jets(random_jets(seed=0, sizes=[3]))
    with pytest.raises(ValueError, match="tau4") as error:
        sub.substructure_features(jets, names=["jet_pt", "tau4"])
    assert "'tau21'" in str(error.value) and "'girth'" in str(error.value)
    # A single name given as a string is one name, not its letters.
    assert list(sub.substructure_features(jets, names="girth")) == ["girth"]


def test_bad_constituents_raise_data_error() -> None:
    jets = make_jets(random_jets(seed=0, sizes=[3]))
    no_energy = ak.zip({"px": jets.px, "py": jets.py, "pz": jets.pz, "E": jets.energy})
    with pytest.raises(DataError, match=r"lack field\(s\) \['energy'\]"):
        sub.jet_mass(no_energy)
    with_nan = ak.with_field(jets, jets.px * np.nan, "px")
    with pytest.raises(DataError, match="'px' contains NaN"):
        sub.substructure_features(with_nan)
