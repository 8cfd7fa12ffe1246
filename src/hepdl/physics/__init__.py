"""Collider kinematics and jet substructure in pure NumPy/awkward (no torch).

``hepdl.physics.kinematics``: pT, rapidity, pseudorapidity, phi, mass, DeltaPhi, DeltaR on
NumPy or awkward arrays. ``hepdl.physics.substructure``: jet mass, N-subjettiness with
exclusive-kT axes (via FastJet), pT_D, girth, and ``substructure_features`` for all of them.
``hepdl.physics.efp``: energy flow polynomials (the d <= 4 set of the JetNet metrics).
``hepdl.physics.shower_features``: the CaloChallenge high-level features of layered showers.
"""

from __future__ import annotations

from hepdl.lazy_exports import lazy_exports

# Each name is imported on first use: importing hepdl.physics loads no awkward or FastJet.
__getattr__, __dir__, __all__ = lazy_exports(
    __name__,
    {
        "hepdl.physics.kinematics": [
            "delta_phi",
            "delta_r",
            "mass",
            "phi",
            "pseudorapidity",
            "pt",
            "rapidity",
        ],
        "hepdl.physics.efp": ["efp_graphs", "efp_set", "efps_d4", "efps_upto_d4"],
        "hepdl.physics.shower_features": ["feature_labels", "high_level_features"],
        "hepdl.physics.substructure": [
            "SUBSTRUCTURE_FEATURES",
            "exclusive_kt_axes",
            "girth",
            "jet_four_momentum",
            "jet_mass",
            "jet_pt",
            "multiplicity",
            "nsubjettiness",
            "pt_d",
            "substructure_features",
            "tau_ratio",
        ],
    },
)
