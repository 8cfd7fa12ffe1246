"""Kinematics against hand computations."""

from __future__ import annotations

import math

import awkward as ak
import numpy as np
import pytest

from hepdl.physics import kinematics

# A heavy particle with pt = 50 GeV, eta = 1.2, phi = 2.5, m = 10 GeV: heavy enough that its
# rapidity and pseudorapidity differ visibly.
PT, ETA, PHI, M = 50.0, 1.2, 2.5, 10.0
PX, PY, PZ = PT * math.cos(PHI), PT * math.sin(PHI), PT * math.sinh(ETA)
E = math.sqrt(PX**2 + PY**2 + PZ**2 + M**2)


def test_known_particle() -> None:
    assert kinematics.pt(PX, PY) == pytest.approx(PT, rel=1e-14)
    assert kinematics.pseudorapidity(PX, PY, PZ) == pytest.approx(ETA, rel=1e-14)
    assert kinematics.phi(PX, PY) == pytest.approx(PHI, rel=1e-14)
    assert kinematics.mass(PX, PY, PZ, E) == pytest.approx(M, rel=1e-12)
    # pz = mT sinh(y) with the transverse mass mT = sqrt(pt^2 + m^2)
    expected_y = math.asinh(PZ / math.sqrt(PT**2 + M**2))
    assert kinematics.rapidity(E, PZ) == pytest.approx(expected_y, rel=1e-13)
    assert expected_y < ETA - 0.01  # a massive particle: |y| < |eta|


def test_massless_rapidity_equals_pseudorapidity() -> None:
    p = math.sqrt(PX**2 + PY**2 + PZ**2)
    assert kinematics.rapidity(p, PZ) == pytest.approx(ETA, rel=1e-12)


def test_phi_quadrants() -> None:
    np.testing.assert_allclose(
        kinematics.phi(np.array([1.0, -1.0, -1.0, 1.0]), np.array([1.0, 1.0, -1.0, -1.0])),
        [math.pi / 4, 3 * math.pi / 4, -3 * math.pi / 4, -math.pi / 4],
        rtol=1e-15,
    )


def test_mass_clips_negative_m2_from_rounding() -> None:
    # A massless particle whose energy rounded a hair below |p|: m^2 < 0, mass is 0, not NaN.
    p = np.array([3.0, 4.0, 12.0])
    energy = 13.0 * (1 - 1e-15)
    assert kinematics.mass(*p, energy) == 0.0


def test_delta_phi_wraps_across_pi() -> None:
    phi1 = np.array([3.0, -3.0, 0.5, math.pi, 0.0])
    phi2 = np.array([-3.0, 3.0, 0.2, 0.0, math.pi])
    expected = [6.0 - 2 * math.pi, 2 * math.pi - 6.0, 0.3, -math.pi, -math.pi]
    np.testing.assert_allclose(kinematics.delta_phi(phi1, phi2), expected, rtol=1e-12)


def test_delta_phi_interval_is_half_open() -> None:
    # Just below -pi the plain modulo formula rounds to +pi; the result must stay in [-pi, pi).
    just_below = np.nextafter(-math.pi, -math.inf)
    assert kinematics.delta_phi(just_below, 0.0) == -math.pi

    rng = np.random.default_rng(0)
    phi1, phi2 = rng.uniform(-10, 10, size=(2, 10_000))
    d = kinematics.delta_phi(phi1, phi2)
    assert np.all((d >= -math.pi) & (d < math.pi))
    # Same angle as the raw difference, just wrapped.
    np.testing.assert_allclose(np.cos(d), np.cos(phi1 - phi2), atol=1e-12)
    np.testing.assert_allclose(np.sin(d), np.sin(phi1 - phi2), atol=1e-12)


def test_delta_r() -> None:
    assert kinematics.delta_r(0.0, 0.0, 0.3, 0.4) == pytest.approx(0.5, rel=1e-15)
    # Across the phi = +-pi seam the two are 2 pi - 6.2 apart, not 6.2.
    assert kinematics.delta_r(1.0, 3.1, 1.0, -3.1) == pytest.approx(2 * math.pi - 6.2, rel=1e-12)


def test_jagged_awkward_input_keeps_structure() -> None:
    px = ak.Array([[3.0, 0.0], [], [-1.0]])
    py = ak.Array([[4.0, 2.0], [], [0.0]])
    assert kinematics.pt(px, py).tolist() == [[5.0, 2.0], [], [1.0]]
    phis = kinematics.phi(px, py)
    assert ak.num(phis).tolist() == [2, 0, 1]
    assert ak.flatten(phis).tolist() == pytest.approx([math.atan2(4, 3), math.pi / 2, math.pi])
    wrapped = kinematics.delta_phi(
        ak.Array([[3.0], [], [-3.0, 0.1]]), ak.Array([[-3.0], [], [3.0, 0.0]])
    )
    assert ak.num(wrapped).tolist() == [1, 0, 2]
    expected = [6.0 - 2 * math.pi, 2 * math.pi - 6.0, 0.1]
    assert ak.flatten(wrapped).tolist() == pytest.approx(expected, rel=1e-12)
