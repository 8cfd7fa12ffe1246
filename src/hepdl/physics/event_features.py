"""Event-level features of the SUSY and HIGGS benchmarks, vectorised over events.

The two benchmarks of P. Baldi, P. Sadowski, D. Whiteson, "Searching for exotic particles in
high-energy physics with deep learning", Nature Commun. 5 (2014) 4308, arXiv:1402.4735
(the UCI "SUSY" and "HIGGS" data sets):

- SUSY: two charged leptons and missing transverse momentum; 8 low-level features (the
  lepton and MET kinematics) and 10 high-level ones (:data:`SUSY_FEATURES`).
- HIGGS: one lepton, MET and four jets with b-tags; 21 low-level features and 7
  reconstructed masses (:data:`HIGGS_FEATURES`, built in :mod:`hepdl.physics._higgs_reco`).

Conventions: four-momenta are arrays ``(E, 4)`` (or ``(E, K, 4)`` for K objects) with
columns ``(px, py, pz, E)`` in GeV; the missing transverse momentum ``met`` is ``(E, 2)``,
columns ``(px, py)``. Angles are in radians, η is the pseudorapidity.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.errors import DataError, HepdlError
from hepdl.physics import kinematics
from hepdl.physics._event_arrays import as_event_array, pt_eta_phi
from hepdl.physics._higgs_reco import (
    HIGGS_FEATURES,
    TOP_MASS,
    W_MASS,
    higgs_features,
    neutrino_momentum,
)
from hepdl.physics.razor import razor, super_razor

#: The 18 features of the UCI SUSY data set, in its column order (names in snake_case).
SUSY_FEATURES: tuple[str, ...] = (
    "lepton_1_pt",
    "lepton_1_eta",
    "lepton_1_phi",
    "lepton_2_pt",
    "lepton_2_eta",
    "lepton_2_phi",
    "missing_energy_magnitude",
    "missing_energy_phi",
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

__all__ = [
    "HIGGS_FEATURES",
    "SUSY_FEATURES",
    "TOP_MASS",
    "W_MASS",
    "axial_met",
    "higgs_features",
    "met_rel",
    "mt2",
    "neutrino_momentum",
    "susy_features",
]


def met_rel(met: Any, object_phi: Any, *, mask: Any = None) -> np.ndarray:
    """The "relative" missing transverse energy of ATLAS, (E,).

    E_T^miss,rel = E_T^miss             if Δφ >= π/2,
                   E_T^miss · sin(Δφ)   if Δφ <  π/2,

    with Δφ the smallest |Δφ(MET⃗, object)| over the objects of the event (leptons and
    jets): MET pointing along an object, likely mismeasured, counts only with its
    component transverse to it. ``object_phi (E, K)``: the objects' azimuths; ``mask
    (E, K)``: which of them exist (all by default). An event without objects keeps E_T^miss.
    """
    met = as_event_array("met", met, tail=(2,))
    phi = np.asarray(object_phi, dtype=np.float64)
    if phi.ndim != 2 or len(phi) != len(met):
        raise DataError(f"object_phi must have shape ({len(met)}, K), got {phi.shape}")
    present = np.ones(phi.shape, bool) if mask is None else np.asarray(mask, dtype=bool)
    if present.shape != phi.shape:
        raise DataError(f"mask must have the shape of object_phi {phi.shape}, got {present.shape}")
    met_phi = np.arctan2(met[:, 1], met[:, 0])
    distance = np.abs(kinematics.delta_phi(met_phi[:, None], np.where(present, phi, 0.0)))
    closest = np.min(np.where(present, distance, np.inf), axis=1, initial=np.inf)  # (E,)
    magnitude = np.hypot(met[:, 0], met[:, 1])
    return np.where(closest >= np.pi / 2, magnitude, magnitude * np.sin(closest))


def axial_met(met: Any, visible: Any) -> np.ndarray:
    """Missing transverse energy along the axis opposite the visible system, (E,).

    axial E_T^miss = -E_T^miss · cos Δφ(MET⃗, p⃗_T^vis) = -MET⃗ · p̂_T^vis,

    with ``visible (E, 4)`` the dilepton system: positive when the MET recoils against
    the leptons (as for W W → ℓν ℓν with a boosted pair), 0 for a visible system at rest.
    """
    met = as_event_array("met", met, tail=(2,))
    visible = as_event_array("visible", visible, tail=(4,), n_events=len(met))
    pt = np.hypot(visible[:, 0], visible[:, 1])
    dot = met[:, 0] * visible[:, 0] + met[:, 1] * visible[:, 1]
    return np.where(pt > 0, -dot / np.where(pt > 0, pt, 1.0), 0.0)


def mt2(p1: Any, p2: Any, met: Any, *, invisible_mass: float = 0.0) -> np.ndarray:
    """The stransverse mass M_T2 of two visible systems and the MET, (E,).

    M_T2 = min over q⃗1 + q⃗2 = MET⃗ of max(m_T(p1, q1), m_T(p2, q2)),
    m_T² = m_vis² + m_inv² + 2 (E_T^vis E_T^inv - p⃗_T^vis · q⃗),  E_T = sqrt(m² + pT²),

    the largest parent mass compatible with the event when each parent decays to one of the
    visible systems and an invisible particle of mass ``invisible_mass`` (C. G. Lester,
    D. J. Summers, Phys. Lett. B 463 (1999) 99). Computed with the ``mt2`` package, the
    vectorised bisection of C. G. Lester and B. Nachman (arXiv:1411.4312) by Lester and
    Tombs; the visible masses come from the four-momenta. (For exactly parallel, exactly
    massless visible momenta the bisection degenerates; leptons with their masses do not.)
    """
    try:
        from mt2 import mt2 as lester_mt2
    except ImportError:
        raise HepdlError(
            "the MT2 feature needs the 'mt2' package (Lester-Nachman bisection): pip install mt2"
        ) from None
    p1 = as_event_array("p1", p1, tail=(4,))
    p2 = as_event_array("p2", p2, tail=(4,), n_events=len(p1))
    met = as_event_array("met", met, tail=(2,), n_events=len(p1))
    if not np.isfinite(invisible_mass) or invisible_mass < 0:
        raise DataError(f"invisible_mass must be a finite mass >= 0 GeV, got {invisible_mass}")
    mass1 = kinematics.mass(p1[:, 0], p1[:, 1], p1[:, 2], p1[:, 3])
    mass2 = kinematics.mass(p2[:, 0], p2[:, 1], p2[:, 2], p2[:, 3])
    value = lester_mt2(
        mass1,
        p1[:, 0],
        p1[:, 1],
        mass2,
        p2[:, 0],
        p2[:, 1],
        met[:, 0],
        met[:, 1],
        invisible_mass,
        invisible_mass,
    )
    return np.asarray(value, dtype=np.float64).reshape(len(p1))


def susy_features(
    leptons: Any, met: Any, *, jet_phi: Any = None, jet_mask: Any = None
) -> dict[str, np.ndarray]:
    """The 18 SUSY features (:data:`SUSY_FEATURES`) of dilepton events, each (E,) float64.

    ``leptons (E, 2, 4)``: the two leptons, in any order (lepton 1 is the one of higher
    pT); ``met (E, 2)``; ``jet_phi (E, K)`` and ``jet_mask (E, K)``: azimuths of the jets
    that enter MET_rel besides the leptons (none by default).

    MET_rel: :func:`met_rel`; axial MET: :func:`axial_met` of the dilepton system;
    M_R, M_TR_2 (the razor transverse mass M_T^R) and R: :func:`~hepdl.physics.razor.razor`;
    MT2 with massless invisible particles: :func:`mt2`; S_R = sqrt(ŝ_R), M_Delta_R,
    dPhi_r_b and cos_theta_r1: :func:`~hepdl.physics.razor.super_razor`.
    """
    leptons = as_event_array("leptons", leptons, tail=(2, 4))
    met = as_event_array("met", met, tail=(2,), n_events=len(leptons))
    pt = kinematics.pt(leptons[:, :, 0], leptons[:, :, 1])  # (E, 2)
    swap = pt[:, 1] > pt[:, 0]
    leptons = np.where(swap[:, None, None], leptons[:, ::-1], leptons)
    l1, l2 = leptons[:, 0], leptons[:, 1]  # (E, 4) each
    pt, eta, phi = pt_eta_phi(leptons)  # (E, 2) each
    objects = phi
    present = np.ones(phi.shape, bool)
    if jet_phi is not None:
        jets = np.asarray(jet_phi, dtype=np.float64)
        if jets.ndim != 2 or len(jets) != len(leptons):
            raise DataError(f"jet_phi must have shape ({len(leptons)}, K), got {jets.shape}")
        jet_present = np.ones(jets.shape, bool) if jet_mask is None else np.asarray(jet_mask)
        if jet_present.shape != jets.shape:
            raise DataError(
                f"jet_mask must have the shape of jet_phi {jets.shape}, got {jet_present.shape}"
            )
        objects = np.concatenate([phi, jets], axis=1)
        present = np.concatenate([present, jet_present.astype(bool)], axis=1)
    razor_values = razor(l1, l2, met)
    super_values = super_razor(l1, l2, met)
    return {
        "lepton_1_pt": pt[:, 0],
        "lepton_1_eta": eta[:, 0],
        "lepton_1_phi": phi[:, 0],
        "lepton_2_pt": pt[:, 1],
        "lepton_2_eta": eta[:, 1],
        "lepton_2_phi": phi[:, 1],
        "missing_energy_magnitude": np.hypot(met[:, 0], met[:, 1]),
        "missing_energy_phi": np.arctan2(met[:, 1], met[:, 0]),
        "met_rel": met_rel(met, objects, mask=present),
        "axial_met": axial_met(met, l1 + l2),
        "m_r": razor_values.m_r,
        "m_tr_2": razor_values.m_tr,
        "r": razor_values.r,
        "mt2": mt2(l1, l2, met),
        "s_r": super_values.s_r,
        "m_delta_r": super_values.m_delta_r,
        "dphi_r_b": super_values.dphi_r_b,
        "cos_theta_r1": super_values.cos_theta_r1,
    }
