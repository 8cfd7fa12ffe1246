"""Collider kinematics and jet substructure in pure NumPy/awkward (no torch).

``hepdl.physics.kinematics``: pT, rapidity, pseudorapidity, phi, mass, DeltaPhi, DeltaR on
NumPy or awkward arrays. ``hepdl.physics.substructure``: jet mass, N-subjettiness with
exclusive-kT axes (via FastJet), pT_D, girth, and ``substructure_features`` for all of them.
"""

from __future__ import annotations

from hepdl.physics.kinematics import delta_phi, delta_r, mass, phi, pseudorapidity, pt, rapidity
from hepdl.physics.substructure import (
    SUBSTRUCTURE_FEATURES,
    exclusive_kt_axes,
    girth,
    jet_four_momentum,
    jet_mass,
    jet_pt,
    multiplicity,
    nsubjettiness,
    pt_d,
    substructure_features,
    tau_ratio,
)

__all__ = [
    "SUBSTRUCTURE_FEATURES",
    "delta_phi",
    "delta_r",
    "exclusive_kt_axes",
    "girth",
    "jet_four_momentum",
    "jet_mass",
    "jet_pt",
    "mass",
    "multiplicity",
    "nsubjettiness",
    "phi",
    "pseudorapidity",
    "pt",
    "pt_d",
    "rapidity",
    "substructure_features",
    "tau_ratio",
]
