"""The ``sequence`` representation: each jet's constituents in decreasing pT, padded."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data.representations._particles import ParticleOptions
from hepdl.data.representations._registry import register_representation

# Jet-relative kinematics: the angles to the jet axis, log(pT / pT_jet), log(E / E_jet) and
# Delta R = sqrt(Delta eta^2 + Delta phi^2). Lab-frame (px, py, pz, E) in GeV hide the
# substructure behind the jet direction and energy scale: an LSTM on them reaches AUC ~0.70
# on top vs QCD (3600 jets, 3 epochs), 0.92 on these.
SEQUENCE_FEATURES: tuple[str, ...] = (
    "delta_eta",
    "delta_phi",
    "log_pt_rel",
    "log_energy_rel",
    "delta_r",
)


@register_representation("sequence")
class SequenceRepresentation:
    """``{"features": (N, P, F) float32, "mask": (N, P) bool}`` for RNNs and transformers.

    Constituents are ordered by decreasing pT; jets with more than ``max_particles`` (P,
    default 128) keep the P hardest, shorter jets are padded with 0 and ``mask = False``.
    An empty jet is an all-masked row. ``features`` are names from
    ``hepdl.data.representations.PARTICLE_FEATURES`` (default ``SEQUENCE_FEATURES``:
    delta_eta, delta_phi to the E-scheme jet axis, log_pt_rel = log(pT / pT_jet),
    log_energy_rel = log(E / E_jet), delta_r); a constituent with pT = 0 is a DataError
    (infinite log and pseudorapidity). ``["px", "py", "pz", "energy"]`` gives the raw
    four-momentum in GeV. ``charge`` needs the ``part_charge`` column, the particle-type
    flags ``part_charge`` and ``part_pid``.
    """

    name = "sequence"
    provides = ("features", "mask")  # the arrays __call__ returns

    def __init__(self, *, max_particles: int = 128, features: Sequence[str] | None = None) -> None:
        self._options = ParticleOptions(
            representation=self.name,
            max_particles=max_particles,
            features=features,
            default_features=SEQUENCE_FEATURES,
        )

    @property
    def feature_names(self) -> list[str]:
        return list(self._options.features)

    def config(self) -> dict[str, Any]:
        return {"name": self.name, **self._options.config()}

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        jets = self._options.read(table, source=source)
        return {
            "features": self._options.feature_array(jets, source=source),  # (N, P, F)
            "mask": jets.mask,  # (N, P)
        }
