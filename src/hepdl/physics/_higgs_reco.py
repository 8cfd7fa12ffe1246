"""The HIGGS benchmark: neutrino reconstruction, jet roles and the seven masses.

Signal (Baldi, Sadowski, Whiteson 2014): g g → H⁰ → W∓ H±, H± → W± h⁰, h⁰ → b b̄, one W
decaying to ℓν and one to two quarks; background: t t̄ → W⁺ b W⁻ b̄ with the same decays.
Both give one lepton, MET and (at least) four jets, two of them from b quarks. The masses
of the intermediate states separate them: m_jj and m_ℓν at m_W in both, m_jjj and m_jℓν
at m_t for t t̄, m_bb at m_h, m_Wbb at m_H± and m_WWbb at m_H⁰ for the signal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hepdl.physics import kinematics
from hepdl.physics._event_arrays import as_event_array, pt_eta_phi

#: Pythia 8.3's default W and top masses (24:m0, 6:m0), GeV.
W_MASS = 80.385
TOP_MASS = 173.0

_JET_FEATURES = tuple(
    f"jet_{k}_{name}" for k in range(1, 5) for name in ("pt", "eta", "phi", "b_tag")
)

#: The 28 features of the UCI HIGGS data set, in its column order (names in snake_case).
HIGGS_FEATURES: tuple[str, ...] = (
    "lepton_pt",
    "lepton_eta",
    "lepton_phi",
    "missing_energy_magnitude",
    "missing_energy_phi",
    *_JET_FEATURES,
    "m_jj",
    "m_jjj",
    "m_lv",
    "m_jlv",
    "m_bb",
    "m_wbb",
    "m_wwbb",
)


def invariant_mass(*momenta: np.ndarray) -> np.ndarray:
    """m = sqrt(max((Σ E)² - |Σ p⃗|², 0)) of the summed four-momenta ``(..., 4)``."""
    total = np.sum(momenta, axis=0)
    return kinematics.mass(total[..., 0], total[..., 1], total[..., 2], total[..., 3])


def neutrino_momentum(lepton: Any, met: Any, *, w_mass: float = W_MASS) -> np.ndarray:
    """The neutrino four-momentum ``(E, 4)`` of W → ℓν from the lepton and the MET.

    p⃗_T^ν = MET⃗; p_z^ν solves (p_ℓ + p_ν)² = m_W² for a massless neutrino:

        μ = (m_W² - m_ℓ²) / 2 + p⃗_T^ℓ · p⃗_T^ν,   a = E_ℓ² - p_z^ℓ² = m_ℓ² + p_T^ℓ²,
        p_z^ν = (μ p_z^ℓ ± E_ℓ sqrt(μ² - a p_T^ν²)) / a,

    taking the root of smaller |p_z^ν|. The root is complex exactly when the transverse mass
    m_T(ℓ, ν) exceeds m_W (mismeasured or off-shell); then its real part μ p_z^ℓ / a is
    used, so m_ℓν = m_W where a solution exists and m_ℓν > m_W elsewhere.
    """
    lepton = as_event_array("lepton", lepton, tail=(4,))
    met = as_event_array("met", met, tail=(2,), n_events=len(lepton))
    lepton_mass2 = np.maximum(lepton[:, 3] ** 2 - np.sum(lepton[:, :3] ** 2, axis=1), 0.0)
    mu = (w_mass**2 - lepton_mass2) / 2.0 + np.sum(lepton[:, :2] * met, axis=1)
    a = lepton[:, 3] ** 2 - lepton[:, 2] ** 2
    root = np.sqrt(np.maximum(mu**2 - a * np.sum(met * met, axis=1), 0.0))
    centre = mu * lepton[:, 2] / a
    spread = lepton[:, 3] * root / a
    pz = np.where(centre >= 0, centre - spread, centre + spread)  # the root nearer 0
    energy = np.sqrt(np.sum(met * met, axis=1) + pz * pz)
    return np.stack([met[:, 0], met[:, 1], pz, energy], axis=1)


def _jet_roles(b_tag: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(E, 2) indices of the b-jet candidates and (E, 2) of the W-jet candidates.

    The two jets of highest b-tag (of higher pT among equal tags) are the b candidates
    and the other two the W → q q̄' jets. ``b_tag (E, 4)`` is in decreasing jet pT.
    """
    order = np.argsort(-b_tag, axis=1, kind="stable")  # (E, 4): stable keeps pT order in ties
    return order[:, :2], order[:, 2:]


def higgs_features(
    lepton: Any,
    met: Any,
    jets: Any,
    b_tag: Any,
    *,
    w_mass: float = W_MASS,
    top_mass: float = TOP_MASS,
) -> dict[str, np.ndarray]:
    """The 28 HIGGS features (:data:`HIGGS_FEATURES`), each (E,) float64.

    ``lepton (E, 4)``, ``met (E, 2)``, ``jets (E, 4, 4)`` (any order: jet 1 is the one of
    highest pT) and ``b_tag (E, 4)`` (1/0 or a tagger output: higher is more b-like).

    The neutrino comes from :func:`neutrino_momentum` (W mass constraint). The two jets of
    highest b-tag are the b candidates, the other two the hadronic W (see ``_jet_roles``).
    The b candidates go to the hadronic and leptonic sides in the way that minimises
    (m_jjj - m_t)² + (m_jℓν - m_t)². Then

        m_jj = m(j j),  m_jjj = m(j j b_had),  m_lv = m(ℓ ν),  m_jlv = m(ℓ ν b_lep),
        m_bb = m(b b),  m_wbb = m(j j b b),  m_wwbb = m(ℓ ν j j b b),

    where for m_wbb the hadronic W is paired with the b b̄ (which W comes from the H± is not
    known; the paper does not say which one its m_Wbb uses).
    """
    lepton = as_event_array("lepton", lepton, tail=(4,))
    n_events = len(lepton)
    met = as_event_array("met", met, tail=(2,), n_events=n_events)
    jets = as_event_array("jets", jets, tail=(4, 4), n_events=n_events)
    b_tag = as_event_array("b_tag", b_tag, tail=(4,), n_events=n_events)
    jet_pt = kinematics.pt(jets[:, :, 0], jets[:, :, 1])  # (E, 4)
    by_pt = np.argsort(-jet_pt, axis=1, kind="stable")
    jets = np.take_along_axis(jets, by_pt[:, :, None], axis=1)
    b_tag = np.take_along_axis(b_tag, by_pt, axis=1)

    neutrino = neutrino_momentum(lepton, met, w_mass=w_mass)
    b_index, w_index = _jet_roles(b_tag)
    b1, b2 = (np.take_along_axis(jets, b_index[:, k, None, None], axis=1)[:, 0] for k in (0, 1))
    w1, w2 = (np.take_along_axis(jets, w_index[:, k, None, None], axis=1)[:, 0] for k in (0, 1))
    w_hadronic = w1 + w2
    w_leptonic = lepton + neutrino
    # The two ways to give the b candidates to the two tops; the closer to m_t wins.
    m_jjj_a, m_jlv_a = invariant_mass(w_hadronic, b1), invariant_mass(w_leptonic, b2)
    m_jjj_b, m_jlv_b = invariant_mass(w_hadronic, b2), invariant_mass(w_leptonic, b1)
    first = (m_jjj_a - top_mass) ** 2 + (m_jlv_a - top_mass) ** 2 <= (
        (m_jjj_b - top_mass) ** 2 + (m_jlv_b - top_mass) ** 2
    )
    lepton_pt, lepton_eta, lepton_phi = pt_eta_phi(lepton)
    features = {
        "lepton_pt": lepton_pt,
        "lepton_eta": lepton_eta,
        "lepton_phi": lepton_phi,
        "missing_energy_magnitude": np.hypot(met[:, 0], met[:, 1]),
        "missing_energy_phi": np.arctan2(met[:, 1], met[:, 0]),
    }
    jet_pt, jet_eta, jet_phi = pt_eta_phi(jets)  # (E, 4) each
    for k in range(4):
        features[f"jet_{k + 1}_pt"] = jet_pt[:, k]
        features[f"jet_{k + 1}_eta"] = jet_eta[:, k]
        features[f"jet_{k + 1}_phi"] = jet_phi[:, k]
        features[f"jet_{k + 1}_b_tag"] = b_tag[:, k]
    features.update(
        {
            "m_jj": invariant_mass(w1, w2),
            "m_jjj": np.where(first, m_jjj_a, m_jjj_b),
            "m_lv": invariant_mass(lepton, neutrino),
            "m_jlv": np.where(first, m_jlv_a, m_jlv_b),
            "m_bb": invariant_mass(b1, b2),
            "m_wbb": invariant_mass(w_hadronic, b1, b2),
            "m_wwbb": invariant_mass(w_leptonic, w_hadronic, b1, b2),
        }
    )
    return features
