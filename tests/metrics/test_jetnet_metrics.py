"""JetNet metrics against plain loops, closed forms, SciPy, and their statistical behaviour."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.stats import wasserstein_distance

from hepdl.errors import ConfigError, DataError
from hepdl.metrics import jetnet
from hepdl.physics import efp


def point_clouds(rng: np.random.Generator, n_jets: int, n_particles: int = 8, *, pt_shift=0.0):
    """(N, P, 3) relative (eta, phi, pT) jets, a varying number of particles each."""
    eta = rng.normal(0.0, 0.1, (n_jets, n_particles))
    phi = rng.normal(0.0, 0.1, (n_jets, n_particles))
    pt = rng.exponential(0.1, (n_jets, n_particles)) + pt_shift
    mask = np.arange(n_particles)[None, :] < rng.integers(2, n_particles + 1, n_jets)[:, None]
    parts = np.stack([eta, phi, pt], axis=-1)
    parts[~mask] = [7.0, -7.0, 3.0]  # garbage in padding: must be ignored
    return parts, mask


def naive_mass(jet, keep) -> float:
    e = px = py = pz = 0.0
    for (eta, phi, pt), k in zip(jet, keep, strict=True):
        if k:
            e += pt * math.cosh(eta)
            px += pt * math.cos(phi)
            py += pt * math.sin(phi)
            pz += pt * math.sinh(eta)
    return math.sqrt(max(e * e - px * px - py * py - pz * pz, 0.0))


def w1_equal_sizes(a, b) -> float:
    """W1 of two equal-size 1-D samples: the mean gap between their order statistics."""
    return sum(abs(x - y) for x, y in zip(sorted(a), sorted(b), strict=True)) / len(a)


# ---------------------------------------------------------------- jet mass and W1s


def test_jet_mass_matches_a_loop_and_the_two_particle_formula():
    parts, mask = point_clouds(np.random.default_rng(0), 20)
    want = [naive_mass(j, k) for j, k in zip(parts, mask, strict=True)]
    np.testing.assert_allclose(jetnet.jet_mass(parts, mask), want, rtol=1e-10)
    # Two massless particles: m^2 = 2 pT1 pT2 (cosh Delta eta - cos Delta phi).
    pair = np.array([[[0.1, -0.2, 0.6], [-0.3, 0.1, 0.4]]])
    m2 = 2 * 0.6 * 0.4 * (math.cosh(0.4) - math.cos(0.3))
    np.testing.assert_allclose(jetnet.jet_mass(pair, None), [math.sqrt(m2)])


def test_w1m_batches_reproduce_a_plain_loop():
    rng = np.random.default_rng(1)
    p1, k1 = point_clouds(rng, 60)
    p2, k2 = point_clouds(rng, 40, pt_shift=0.02)
    got = jetnet.w1m(p1, k1, p2, k2, num_eval_samples=50, num_batches=4, seed=3)
    m1, m2 = jetnet.jet_mass(p1, k1), jetnet.jet_mass(p2, k2)
    draws = np.random.default_rng(3)
    w1s = []
    for _ in range(4):
        i1, i2 = draws.choice(60, size=50), draws.choice(40, size=50)
        w1s.append(w1_equal_sizes(m1[i1], m2[i2]))
    assert got == pytest.approx((np.mean(w1s), np.std(w1s)), rel=1e-10)


def test_w1p_uses_only_real_particles_and_averages_features():
    rng = np.random.default_rng(2)
    p1, k1 = point_clouds(rng, 30)
    p2, k2 = point_clouds(rng, 25, pt_shift=0.05)
    means, stds = jetnet.w1p(p1, k1, p2, k2, average=False, num_eval_samples=20, num_batches=3)
    draws = np.random.default_rng(0)
    w1s = []
    for _ in range(3):
        i1, i2 = draws.choice(30, size=20), draws.choice(25, size=20)
        a = [p for j in i1 for p, k in zip(p1[j], k1[j], strict=True) if k]
        b = [p for j in i2 for p, k in zip(p2[j], k2[j], strict=True) if k]
        w1s.append([wasserstein_distance([p[f] for p in a], [p[f] for p in b]) for f in range(3)])
    np.testing.assert_allclose(means, np.mean(w1s, axis=0), rtol=1e-10)
    np.testing.assert_allclose(stds, np.std(w1s, axis=0), rtol=1e-10, atol=1e-15)
    value, error = jetnet.w1p(p1, k1, p2, k2, num_eval_samples=20, num_batches=3)
    assert value == pytest.approx(means.mean())
    assert error == pytest.approx(math.sqrt(sum(s * s for s in stds)) / 3)
    assert means[2] > 0.04  # the pT shift of 0.05 shows in pT_rel, not in the angles


def test_w1p_exclude_zeros_drops_zero_padding_without_a_mask():
    rng = np.random.default_rng(3)
    p1, k1 = point_clouds(rng, 20)
    p1[~k1] = 0.0
    with_mask = jetnet.w1p(p1, k1, p1, k1, num_eval_samples=20, num_batches=2)
    zero_padded = jetnet.w1p(p1, np.ones_like(k1), p1, np.ones_like(k1), num_eval_samples=20,
                             num_batches=2)  # fmt: skip
    assert zero_padded == pytest.approx(with_mask)


def test_w1_is_zero_for_identical_jets():
    parts, mask = point_clouds(np.random.default_rng(4), 1)
    same = np.repeat(parts, 50, axis=0), np.repeat(mask, 50, axis=0)
    for metric in (jetnet.w1m, jetnet.w1p, jetnet.w1efp):
        value, error = metric(*same, *same, num_eval_samples=30, num_batches=3)
        assert value == 0.0
        assert error == 0.0


def test_w1efp_is_w1_of_the_five_d4_efps():
    rng = np.random.default_rng(5)
    p1, k1 = point_clouds(rng, 40)
    p2, k2 = point_clouds(rng, 40, pt_shift=0.1)
    means, _ = jetnet.w1efp(p1, k1, p2, k2, average=False, num_eval_samples=40, num_batches=1)
    e1, e2 = efp.efps_d4(p1, k1), efp.efps_d4(p2, k2)
    draws = np.random.default_rng(0)
    i1, i2 = draws.choice(40, size=40), draws.choice(40, size=40)
    want = [w1_equal_sizes(e1[i1, f], e2[i2, f]) for f in range(5)]
    np.testing.assert_allclose(means, want, rtol=1e-10)


# ---------------------------------------------------------------- FPD


def test_frechet_distance_closed_form_for_diagonal_covariances():
    mu1, mu2 = np.array([0.0, 1.0]), np.array([0.5, -1.0])
    s1, s2 = np.diag([1.0, 4.0]), np.diag([9.0, 0.25])
    # |dmu|^2 + sum (sigma1 - sigma2)^2 for commuting (diagonal) covariances
    want = 0.25 + 4.0 + (1.0 - 3.0) ** 2 + (2.0 - 0.5) ** 2
    assert jetnet.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(want)


def test_fpd_is_near_zero_for_one_gaussian_and_grows_with_a_shift():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(6000, 3))
    kwargs = {"min_samples": 400, "max_samples": 1000, "num_batches": 5, "num_points": 5}
    same, same_err = jetnet.fpd(real, rng.normal(size=(6000, 3)), **kwargs)
    small, _ = jetnet.fpd(real, rng.normal(size=(6000, 3)) + np.array([0.3, 0, 0]), **kwargs)
    large, _ = jetnet.fpd(real, rng.normal(size=(6000, 3)) + np.array([0.6, 0, 0]), **kwargs)
    # The finite-N FD of one Gaussian is about 2 D / N = 0.015 at N = 400 (normalised by
    # max |x| ~ 4): the extrapolation removes that bias.
    assert same < 2e-3
    assert same_err < 2e-3
    scale = np.abs(real).max(axis=0)[0]
    assert small == pytest.approx((0.3 / scale) ** 2, rel=0.3)
    assert large == pytest.approx((0.6 / scale) ** 2, rel=0.3)
    assert large > 3 * small


# ---------------------------------------------------------------- KPD


def test_mmd_matches_a_double_loop():
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=(5, 3)) + 0.5

    def k(a, b):
        return (sum(u * v for u, v in zip(a, b, strict=True)) / 3 + 1) ** 4

    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / 30
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / 20
    xy = sum(k(x[i], y[j]) for i in range(6) for j in range(5)) / 30
    assert jetnet.mmd_poly_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def biased_mmd(x, y) -> float:
    """The V-statistic (i = j terms kept), positive on average even for one distribution."""

    def mean_kernel(a, b):
        return ((a @ b.T / a.shape[1] + 1) ** 4).mean()

    return mean_kernel(x, x) + mean_kernel(y, y) - 2 * mean_kernel(x, y)


def test_mmd_is_unbiased_for_one_distribution():
    rng = np.random.default_rng(8)
    pairs = [(rng.normal(size=(20, 2)), rng.normal(size=(20, 2))) for _ in range(400)]
    for estimate, unbiased in ((jetnet.mmd_poly_unbiased, True), (biased_mmd, False)):
        values = [estimate(x, y) for x, y in pairs]
        mean, sem = np.mean(values), np.std(values) / math.sqrt(len(values))
        # The unbiased estimate averages to 0; the biased one, on the same pairs, does not:
        # the test can tell them apart.
        assert bool(abs(mean) < 3 * sem) is unbiased, (mean, sem)


def test_kpd_median_and_error():
    rng = np.random.default_rng(9)
    real = rng.normal(size=(3000, 4))
    same = jetnet.kpd(real, rng.normal(size=(3000, 4)), num_batches=8, batch_size=500)
    shifted = jetnet.kpd(real, rng.normal(size=(3000, 4)) + 0.5, num_batches=8, batch_size=500)
    assert abs(same[0]) < 3 * same[1] + 1e-4
    assert shifted[0] > 10 * shifted[1] > 0
    # value and error from the batch MMDs, as JetNet: median and half the 16-84 % range
    x, y = jetnet._normalise(real, real[::-1] + 0.5)
    batches = []
    for i in range(5):
        draws = np.random.default_rng(42 + 1000 * i)
        a, b = x[draws.choice(3000, size=200)], y[draws.choice(3000, size=200)]
        batches.append(jetnet.mmd_poly_unbiased(a, b))
    low, high = np.percentile(batches, [16.275, 83.725])
    got = jetnet.kpd(real, real[::-1] + 0.5, num_batches=5, batch_size=200)
    assert got == pytest.approx((np.median(batches), (high - low) / 2))


# ---------------------------------------------------------------- all together


def test_jetnet_metrics_dict_with_floor():
    rng = np.random.default_rng(10)
    real, floor, gen = (
        point_clouds(rng, 300),
        point_clouds(rng, 300),
        point_clouds(rng, 300, pt_shift=0.05),
    )
    out = jetnet.jetnet_metrics(*real, *gen, floor=floor, num_batches=3)
    json.dumps(out)  # JSON-ready: plain floats, ints and dicts only
    assert (out["n_real"], out["n_gen"], out["n_floor"]) == (300, 300, 300)
    for name in ("w1m", "w1p", "w1efp", "fpd", "kpd"):
        for part in ("metrics", "floor"):
            assert math.isfinite(out[part][name]["value"])
            assert out[part][name]["error"] >= 0
        assert out["metrics"][name]["value"] > out["floor"][name]["value"], name
    assert out["metrics"]["fpd"]["max_samples"] == 300  # capped at the sample size
    assert set(out["metrics"]["w1p"]["per_feature"]) == {"eta_rel", "phi_rel", "pt_rel"}
    assert "floor" not in jetnet.jetnet_metrics(*real, *gen, num_batches=2)


# ---------------------------------------------------------------- bad input


def test_bad_inputs_raise_one_clear_error():
    parts, mask = point_clouds(np.random.default_rng(11), 10)
    with pytest.raises(DataError, match=r"particles2 has shape \(10, 8\); expected \(N, P, 3\)"):
        jetnet.w1p(parts, mask, parts[..., 0], mask)
    with pytest.raises(DataError, match=r"mask of particles has shape \(10, 7\)"):
        jetnet.w1m(parts, mask[:, :7], parts, mask)
    with pytest.raises(DataError, match="real_features has 3 features and gen_features 2"):
        jetnet.fpd(np.ones((5, 3)), np.ones((5, 2)))
    with pytest.raises(DataError, match=r"gen_features has shape \(5,\); expected \(N, D\)"):
        jetnet.kpd(np.ones((5, 3)), np.ones(5))
    with pytest.raises(DataError, match="real_features has non-numeric, NaN or inf"):
        jetnet.kpd(np.full((5, 3), np.nan), np.ones((5, 3)))
    with pytest.raises(ConfigError, match="num_batches is 0; expected an integer >= 1"):
        jetnet.w1m(parts, mask, parts, mask, num_batches=0)
    with pytest.raises(ConfigError, match="max_samples is 10; expected an integer >= 20"):
        jetnet.fpd(np.ones((5, 3)), np.ones((5, 3)), min_samples=20, max_samples=10)
    with pytest.raises(ConfigError, match=r"floor is not a \(particles, mask\) pair"):
        jetnet.jetnet_metrics(parts, mask, parts, mask, floor=parts)
    with pytest.raises(DataError, match="gen has 1 jet; expected at least 2"):
        jetnet.jetnet_metrics(parts, mask, parts[:1], mask[:1])
    with pytest.raises(DataError, match="gen has negative pT"):
        jetnet.jetnet_metrics(parts, mask, -np.abs(parts), mask)
