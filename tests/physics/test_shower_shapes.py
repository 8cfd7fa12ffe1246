"""Shower shapes against a naive per-shower loop, and hand-made windows with known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hepdl.physics import shower_shapes as ss
from hepdl.physics.shower_shapes import SHOWER_SHAPES, shower_shapes

THRESHOLD = 0.1


def naive(
    ecal: np.ndarray, hcal: np.ndarray, threshold: float = THRESHOLD, min_energy: float = 1.0
) -> dict[str, float]:
    """Every variable of one shower (H, W) / (h, w), written out with Python loops."""
    height, width = ecal.shape
    r = height // hcal.shape[0]
    ci, cj = height // 2, width // 2
    si, sj, best = -1, -1, -math.inf
    for i in range(ci - 1, ci + 2):
        for j in range(cj - 1, cj + 2):
            if ecal[i, j] > best:
                si, sj, best = i, j, float(ecal[i, j])

    def box(i0: int, i1: int, j0: int, j1: int) -> float:  # offsets from the seed, inclusive
        return sum(
            float(ecal[si + a, sj + b]) for a in range(i0, i1 + 1) for b in range(j0, j1 + 1)
        )

    e5 = box(-2, 2, -2, 2)

    def ratio(x: float) -> float:
        return x / max(e5, min_energy)

    e2x2 = max(box(a, a + 1, b, b + 1) for a in (-1, 0) for b in (-1, 0))
    e2x5 = max(box(-1, 0, -2, 2), box(0, 1, -2, 2))
    weights = []
    for a in range(-2, 3):
        for b in range(-2, 3):
            value = float(ecal[si + a, sj + b])
            w = max(0.0, 4.7 + math.log(value / e5)) if value > 0 and e5 > 0 else 0.0
            weights.append((a, b, w))
    sum_w = sum(w for _, _, w in weights)
    if sum_w > 0:
        me = sum(a * w for a, _, w in weights) / sum_w
        mp = sum(b * w for _, b, w in weights) / sum_w
        see = math.sqrt(sum(w * (a - me) ** 2 for a, _, w in weights) / sum_w)
        spp = math.sqrt(sum(w * (b - mp) ** 2 for _, b, w in weights) / sum_w)
        sep = sum(w * (a - me) * (b - mp) for a, b, w in weights) / sum_w
    else:
        see = spp = sep = 0.0
    n_crystals = sum(
        1 for a in range(-2, 3) for b in range(-2, 3) if ecal[si + a, sj + b] > threshold
    )
    strip = 0
    if ecal[si, sj] > threshold:
        strip = 1
        j = sj + 1
        while j < width and ecal[si, j] > threshold:
            strip, j = strip + 1, j + 1
        j = sj - 1
        while j >= 0 and ecal[si, j] > threshold:
            strip, j = strip + 1, j - 1
    cone = 0.3 / 0.0174
    iso = 0.0
    for i in range(height):
        for j in range(width):
            inside5 = abs(i - si) <= 2 and abs(j - sj) <= 2
            near = math.hypot(i - si, j - sj) < cone
            if near and not inside5 and ecal[i, j] > threshold:
                iso += float(ecal[i, j])
    behind = hcal_iso = 0.0
    for a in range(hcal.shape[0]):
        for b in range(hcal.shape[1]):
            # the tower covers crystals r a .. r a + r - 1: does it overlap the 5x5?
            overlaps = r * a <= si + 2 and r * a + r - 1 >= si - 2
            overlaps = overlaps and r * b <= sj + 2 and r * b + r - 1 >= sj - 2
            centre_i, centre_j = r * a + (r - 1) / 2, r * b + (r - 1) / 2
            if overlaps:
                behind += float(hcal[a, b])
            elif math.hypot(centre_i - si, centre_j - sj) < cone:
                hcal_iso += float(hcal[a, b])
    return {
        "e5x5": e5,
        "seed_over_e5x5": ratio(float(ecal[si, sj])),
        "e2x2_over_e5x5": ratio(e2x2),
        "e2x5_over_e5x5": ratio(e2x5),
        "e3x5_over_e5x5": ratio(box(-1, 1, -2, 2)),
        "e3x3_over_e5x5": ratio(box(-1, 1, -1, 1)),
        "sigma_ietaieta": see,
        "sigma_iphiiphi": spp,
        "sigma_ietaiphi": sep,
        "h_over_e": ratio(behind),
        "n_crystals": float(n_crystals),
        "strip_phi_length": float(strip),
        "ecal_iso": ratio(iso),
        "hcal_iso": ratio(hcal_iso),
    }


def random_showers(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Noisy EM-like blobs at random offsets near the centre, some noise-only windows."""
    rng = np.random.default_rng(seed)
    ecal = rng.normal(0.0, 0.04, (n, 35, 35))
    i, j = np.mgrid[0:35, 0:35]
    for k in range(n):
        ci, cj = 17 + rng.integers(-1, 2), 17 + rng.integers(-1, 2)
        width = rng.uniform(0.3, 3.0)
        energy = rng.choice([0.0, rng.uniform(1, 50)])  # some windows hold noise only
        blob = np.exp(-((i - ci) ** 2 + (j - cj) ** 2) / (2 * width**2))
        ecal[k] += energy * blob / blob.sum()
        ecal[k] += rng.exponential(0.05, (35, 35)) * (rng.random((35, 35)) < 0.1)  # pile-up
    hcal = rng.exponential(0.3, (n, 7, 7))
    return ecal.astype(np.float32), hcal.astype(np.float32)


def test_every_variable_matches_a_naive_loop() -> None:
    ecal, hcal = random_showers(40)
    ecal[3] = -0.01  # E5x5 < 0: no widths, ratios over min_energy
    ecal[4] *= 0.02  # E5x5 below min_energy for most
    got = shower_shapes(ecal, hcal, threshold=THRESHOLD)  # (N, F)
    assert got.shape == (40, len(SHOWER_SHAPES))
    for k in range(len(ecal)):
        expected = naive(ecal[k].astype(np.float64), hcal[k].astype(np.float64))
        assert list(expected) == list(SHOWER_SHAPES)
        np.testing.assert_allclose(got[k], list(expected.values()), rtol=1e-9, atol=1e-9)
    assert np.all(got[3, 6:9] == 0.0) and np.all(np.isfinite(got))
    assert got[3, SHOWER_SHAPES.index("e3x3_over_e5x5")] == pytest.approx(-0.09, rel=1e-6)
    loose = shower_shapes(ecal[:8], hcal[:8], min_energy=0.01)
    for k in range(8):
        expected = naive(ecal[k].astype(np.float64), hcal[k].astype(np.float64), min_energy=0.01)
        np.testing.assert_allclose(loose[k], list(expected.values()), rtol=1e-9, atol=1e-9)


def test_blocks_give_the_same_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    ecal, hcal = random_showers(25, seed=8)
    whole = shower_shapes(ecal, hcal)
    monkeypatch.setattr(ss, "CHUNK_ROWS", 4)
    np.testing.assert_array_equal(shower_shapes(ecal, hcal), whole)


def single(energy: float = 20.0, at: tuple[int, int] = (17, 17)) -> np.ndarray:
    ecal = np.zeros((1, 35, 35))
    ecal[0, at[0], at[1]] = energy
    return ecal


def values(ecal: np.ndarray, hcal: np.ndarray | None = None, **options) -> dict[str, float]:
    hcal = np.zeros((len(ecal), 7, 7)) if hcal is None else hcal
    return dict(zip(SHOWER_SHAPES, shower_shapes(ecal, hcal, **options)[0], strict=True))


def test_single_crystal_shower() -> None:
    v = values(single())
    assert v["e5x5"] == 20.0
    for name in ("seed_over_e5x5", "e2x2_over_e5x5", "e2x5_over_e5x5", "e3x3_over_e5x5"):
        assert v[name] == 1.0
    assert v["sigma_ietaieta"] == v["sigma_iphiiphi"] == v["sigma_ietaiphi"] == 0.0
    assert v["n_crystals"] == 1.0 and v["strip_phi_length"] == 1.0
    assert v["ecal_iso"] == v["hcal_iso"] == v["h_over_e"] == 0.0


def test_seed_off_centre_and_two_crystals_in_eta() -> None:
    ecal = single(10.0, at=(16, 18))
    ecal[0, 17, 18] = 10.0  # equal neighbour below in eta: the first in row-major order seeds
    v = values(ecal)
    # two equal crystals one apart in eta: weights equal, mean half-way, sigma = 0.5
    assert v["sigma_ietaieta"] == pytest.approx(0.5)
    assert v["sigma_iphiiphi"] == 0.0 and v["sigma_ietaiphi"] == 0.0
    assert v["seed_over_e5x5"] == 0.5 and v["e2x5_over_e5x5"] == 1.0
    assert v["strip_phi_length"] == 1.0  # the seed's eta row holds one crystal


def test_diagonal_pair_has_a_positive_covariance() -> None:
    ecal = single(10.0)
    ecal[0, 18, 18] = 10.0  # +1 in eta and +1 in phi
    v = values(ecal)
    assert v["sigma_ietaiphi"] == pytest.approx(0.25)  # (1/2)(1/4) + (1/2)(1/4)
    assert v["e2x2_over_e5x5"] == 1.0 and v["e2x5_over_e5x5"] == 1.0
    assert v["e3x3_over_e5x5"] == 1.0 and v["seed_over_e5x5"] == 0.5


def test_log_weights_ignore_crystals_below_0p9_percent() -> None:
    ecal = single(100.0)
    ecal[0, 19, 17] = 0.5  # 0.5% of E5x5: ln(0.005) + 4.7 < 0, weight 0
    assert values(ecal)["sigma_ietaieta"] == 0.0
    ecal[0, 19, 17] = 2.0  # 2%: weight 4.7 + ln(2 / 102) > 0
    assert values(ecal)["sigma_ietaieta"] > 0.0


def test_strip_isolation_and_hcal_by_hand() -> None:
    ecal = single(10.0)
    ecal[0, 17, 12:16] = 1.0  # 4 crystals left of the seed ...
    ecal[0, 17, 16] = 0.05  # ... cut off from it at column 16 (below threshold)
    ecal[0, 17, 18:21] = 1.0  # 3 to the right: run = 1 + 3
    ecal[0, 17, 30] = 5.0  # 13 crystals away (dR = 0.23 < 0.3): in the ECAL isolation
    ecal[0, 0, 0] = 7.0  # dR = 0.0174 * 17 * sqrt(2) = 0.42: outside the cone
    hcal = np.zeros((1, 7, 7))
    hcal[0, 3, 3] = 2.0  # behind crystal 17 +- 2
    hcal[0, 3, 5] = 3.0  # centre (17, 27), 10 crystals from the seed: in the cone
    hcal[0, 0, 0] = 4.0  # centre (2, 2), 21 crystals away: outside
    v = values(ecal, hcal)
    e5 = 10.0 + 0.05 + 3 * 1.0  # columns 15 to 19 of the seed's row
    assert v["e5x5"] == pytest.approx(e5)
    assert v["strip_phi_length"] == 4.0
    # outside the 5x5: columns 12-14 (3 GeV), 20 (1 GeV) and 30 (5 GeV)
    assert v["ecal_iso"] == pytest.approx(9.0 / e5)
    assert v["h_over_e"] == pytest.approx(2.0 / e5)
    assert v["hcal_iso"] == pytest.approx(3.0 / e5)
    assert v["n_crystals"] == 4.0  # columns 15, 17, 18, 19 (16 is below threshold)
    assert values(ecal, hcal, threshold=2.0)["strip_phi_length"] == 1.0


def test_seed_straddling_towers_counts_both_behind() -> None:
    ecal = single(10.0, at=(16, 17))  # 5x5 rows 14..18: towers 2 and 3
    hcal = np.zeros((1, 7, 7))
    hcal[0, 2, 3], hcal[0, 3, 3], hcal[0, 4, 3] = 1.0, 2.0, 4.0
    v = values(ecal, hcal)
    assert v["h_over_e"] == pytest.approx(0.3)
    assert v["hcal_iso"] == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("ecal_shape", "hcal_shape", "message"),
    [
        ((2, 35, 35), (2, 6, 7), "expected hcal towers of r x r crystals"),
        ((2, 35, 35), (3, 7, 7), "with the same N"),
        ((2, 35), (2, 7, 7), "expected ecal (N, H, W)"),
        ((2, 6, 6), (2, 3, 3), "expected an ecal window of at least 7 x 7 crystals"),
    ],
)
def test_shapes_are_checked(ecal_shape, hcal_shape, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        shower_shapes(np.zeros(ecal_shape), np.zeros(hcal_shape))
