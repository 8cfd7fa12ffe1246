"""Soft-drop grooming (Larkoski, Marzani, Soyez, Thaler, JHEP 05 (2014) 146).

The jet's constituents are reclustered with Cambridge/Aachen and declustered from the
top: at each step the softer branch is dropped unless

    min(pT_1, pT_2) / (pT_1 + pT_2) > z_cut · (ΔR_12 / R0)^β,

and declustering follows the harder branch. The groomed jet is what remains when the
condition first holds. With β = 0 (modified mass-drop) soft wide-angle radiation, the
underlying event and pile-up are removed, so a W, Z, H or top jet's groomed mass peaks
at the particle's mass.
"""

from __future__ import annotations

from typing import Any

import awkward as ak
import numpy as np


def softdrop_mass(
    constituents: Any, *, z_cut: float = 0.1, beta: float = 0.0, r0: float = 0.8
) -> np.ndarray:
    """(N,) groomed mass of each jet; ``constituents`` as in :mod:`hepdl.physics.substructure`
    (lists of records ``px, py, pz, energy``). Empty jets give 0."""
    import fastjet

    if not 0 <= z_cut < 1:
        raise ValueError(f"soft drop 'z_cut' must be in [0, 1), got {z_cut!r}")
    if r0 <= 0:
        raise ValueError(f"soft drop 'r0' must be > 0, got {r0!r}")
    particles = ak.zip(
        {
            "px": ak.values_astype(constituents["px"], np.float64),
            "py": ak.values_astype(constituents["py"], np.float64),
            "pz": ak.values_astype(constituents["pz"], np.float64),
            "E": ak.values_astype(constituents["energy"], np.float64),
        }
    )
    counts = ak.to_numpy(ak.num(particles))
    mass = np.zeros(len(counts))
    filled = counts > 0
    if not filled.any():
        return mass
    # Each jet is one "event" of a C/A clustering with a radius that holds all of it.
    definition = fastjet.JetDefinition(fastjet.cambridge_algorithm, 10.0)
    sequence = fastjet.ClusterSequence(particles[filled], definition)
    groomed = sequence.exclusive_jets_softdrop_grooming(
        njets=1, beta=beta, symmetry_cut=z_cut, R0=r0
    )
    mass[filled] = np.asarray(ak.to_numpy(groomed["msoftdrop"]), np.float64)
    return mass
