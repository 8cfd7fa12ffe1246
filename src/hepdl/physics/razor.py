"""Razor and super-razor variables of two visible objects plus missing transverse momentum.

Conventions: a four-momentum array has shape ``(E, 4)`` with columns ``(px, py, pz, E)``
in GeV, one row per event; the missing transverse momentum ``met`` has shape ``(E, 2)``,
columns ``(px, py)``. Everything is vectorised over events.

References:

- Razor: C. Rogan, "Kinematical variables towards new dynamics at the LHC",
  arXiv:1006.2727; CMS Collaboration, Phys. Rev. D 85 (2012) 012004, arXiv:1107.1279.
- Super-razor: M. R. Buckley, J. D. Lykken, C. Rogan, M. Spiropulu, "Super-Razor and
  searches for sleptons and charginos at the LHC", Phys. Rev. D 89 (2014) 055020,
  arXiv:1310.4827; the steps follow the authors' reference implementation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from hepdl.physics._event_arrays import as_event_array
from hepdl.physics.kinematics import delta_phi


class Razor(NamedTuple):
    """``m_r``, ``m_tr`` (the razor transverse mass M_T^R) and ``r = m_tr / m_r``, each (E,)."""

    m_r: np.ndarray
    m_tr: np.ndarray
    r: np.ndarray


class SuperRazor(NamedTuple):
    """The super-razor variables, each (E,).

    ``s_r`` = sqrt(ŝ_R) (GeV), ``m_delta_r`` = M_Δ^R (GeV), ``dphi_r_b`` = Δφ_R^β in
    [0, π] and ``cos_theta_r1`` = cos θ_{R+1} in [-1, 1].
    """

    s_r: np.ndarray
    m_delta_r: np.ndarray
    dphi_r_b: np.ndarray
    cos_theta_r1: np.ndarray


def razor(p1: np.ndarray, p2: np.ndarray, met: np.ndarray) -> Razor:
    """The razor variables of the CMS 2011 analysis.

    M_R   = sqrt((E1 + E2)² - (pz1 + pz2)²)
    M_T^R = sqrt((|MET| (pT1 + pT2) - MET⃗ · (pT⃗1 + pT⃗2)) / 2)
    R     = M_T^R / M_R

    For pair-produced heavy states each decaying to one visible and one invisible particle,
    M_R peaks at M_Δ = (M² - m_inv²) / M, while M_T^R has its endpoint there; R is
    small for back-to-back, balanced (background-like) events.
    """
    p1, p2, met = _inputs(p1, p2, met)
    m_r2 = (p1[:, 3] + p2[:, 3]) ** 2 - (p1[:, 2] + p2[:, 2]) ** 2
    m_r = np.sqrt(np.maximum(m_r2, 0.0))
    pt_sum = np.hypot(p1[:, 0], p1[:, 1]) + np.hypot(p2[:, 0], p2[:, 1])
    met_dot = met[:, 0] * (p1[:, 0] + p2[:, 0]) + met[:, 1] * (p1[:, 1] + p2[:, 1])
    m_tr = np.sqrt(np.maximum(np.hypot(met[:, 0], met[:, 1]) * pt_sum - met_dot, 0.0) / 2.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(m_r > 0, m_tr / np.where(m_r > 0, m_r, 1.0), 0.0)
    return Razor(m_r, m_tr, r)


def _inputs(p1: object, p2: object, met: object) -> tuple[np.ndarray, ...]:
    p1 = as_event_array("p1", p1, tail=(4,))
    return (
        p1,
        as_event_array("p2", p2, tail=(4,), n_events=len(p1)),
        as_event_array("met", met, tail=(2,), n_events=len(p1)),
    )


def boost(p: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Four-momenta ``p (E, 4)`` seen from a frame moving with velocity ``beta (E, 3)``.

    With b = |β⃗|, γ = 1 / sqrt(1 - b²):
    E' = γ (E - β⃗·p⃗),   p⃗' = p⃗ + ((γ - 1) (β⃗·p⃗) / b² - γ E) β⃗.
    (ROOT's ``TLorentzVector::Boost(-beta)``.)
    """
    b2 = np.sum(beta * beta, axis=1)  # (E,)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p[:, :3], axis=1)  # (E,)
    with np.errstate(divide="ignore", invalid="ignore"):
        gamma2 = np.where(b2 > 0, (gamma - 1.0) / np.where(b2 > 0, b2, 1.0), 0.0)
    space = p[:, :3] + ((gamma2 * bp) - gamma * p[:, 3])[:, None] * beta  # (E, 3)
    energy = gamma * (p[:, 3] - bp)
    return np.concatenate([space, energy[:, None]], axis=1)


def super_razor(p1: np.ndarray, p2: np.ndarray, met: np.ndarray) -> SuperRazor:
    """The super-razor variables of two leptons ``p1`` (the leading one) and ``p2``.

    1. Longitudinal boost to the frame where the leptons have no total pz:
       β_z = (pz1 + pz2) / (E1 + E2).
    2. There, with the dilepton system (E_ll, p⃗_ll) and p⃗_T^CM = p⃗_T^ll + MET⃗,
       ŝ_R = 2 (E_ll² - p⃗_ll·p⃗_T^CM + E_ll sqrt(E_ll² + |p⃗_T^CM|² - 2 p⃗_ll·p⃗_T^CM)),
       the invariant mass² of the event when the invisible system is given the dilepton
       mass; S_R = sqrt(ŝ_R).
    3. Transverse boost to the approximate centre-of-mass ("R") frame:
       β⃗_T = p⃗_T^CM / sqrt(|p⃗_T^CM|² + ŝ_R). Δφ_R^β = |Δφ(p⃗_ll^R, β⃗_T)|
       (an azimuth of 0 is used for β⃗_T = 0, like ROOT).
    4. Boost lepton 1 by β⃗_{R+1} = (p⃗1^R - p⃗2^R) / (E1^R + E2^R) into its "R+1" frame:
       M_Δ^R = 2 E1^{R+1}, cos θ_{R+1} = p̂1^{R+1} · β̂_{R+1}.

    M_Δ^R has its endpoint at M_Δ = (M² - m_inv²) / M of the parent; for two exactly
    back-to-back massless leptons of equal energy β_{R+1} = 1 and M_Δ^R is undefined (NaN).
    """
    p1, p2, met = _inputs(p1, p2, met)
    e_sum = p1[:, 3] + p2[:, 3]
    beta_z = np.zeros((len(p1), 3))
    beta_z[:, 2] = (p1[:, 2] + p2[:, 2]) / e_sum
    l1, l2 = boost(p1, beta_z), boost(p2, beta_z)
    ll = l1 + l2  # (E, 4), pz = 0
    pt_cm = ll[:, :2] + met  # (E, 2)
    dot = np.sum(ll[:, :2] * pt_cm, axis=1)
    e_ll = ll[:, 3]
    pt_cm2 = np.sum(pt_cm * pt_cm, axis=1)
    # The inner root is sqrt(m_ll² + |MET|²) >= 0: clip rounding only.
    e_invisible = np.sqrt(np.maximum(e_ll**2 + pt_cm2 - 2.0 * dot, 0.0))
    s_hat = np.maximum(2.0 * (e_ll**2 - dot + e_ll * e_invisible), 0.0)
    beta_t = np.zeros((len(p1), 3))
    beta_t[:, :2] = pt_cm / np.sqrt(pt_cm2 + s_hat)[:, None]
    l1, l2, ll = boost(l1, beta_t), boost(l2, beta_t), boost(ll, beta_t)
    dphi_r_b = np.abs(
        delta_phi(np.arctan2(ll[:, 1], ll[:, 0]), np.arctan2(beta_t[:, 1], beta_t[:, 0]))
    )
    beta_r1 = (l1[:, :3] - l2[:, :3]) / (l1[:, 3] + l2[:, 3])[:, None]  # (E, 3)
    l1 = boost(l1, beta_r1)
    with np.errstate(divide="ignore", invalid="ignore"):
        cos_theta = np.sum(l1[:, :3] * beta_r1, axis=1) / (
            np.linalg.norm(l1[:, :3], axis=1) * np.linalg.norm(beta_r1, axis=1)
        )
    return SuperRazor(np.sqrt(s_hat), 2.0 * l1[:, 3], dphi_r_b, cos_theta)
