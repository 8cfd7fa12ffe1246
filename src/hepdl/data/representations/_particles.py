"""The per-particle feature catalogue shared by ``sequence``, ``point_cloud`` and ``graph``.

Each feature is a function of the padded jets (``PaddedJets``) giving an (N, P) array;
relative features use the jet axis of the E-scheme sum of all constituents. Which table
columns a feature list needs follows from the list: ``charge`` needs ``part_charge``, the
particle-type flags need ``part_charge`` and ``part_pid``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from hepdl.data.representations._constituents import PaddedJets, read_constituents
from hepdl.data.representations._options import name_list, positive_int
from hepdl.data.validation import check_finite
from hepdl.physics.particle_features import PARTICLE_TYPES, particle_type_onehot

_Feature = Callable[[PaddedJets], np.ndarray]


def _log(values: np.ndarray) -> np.ndarray:
    # log(0) of a real zero-pT constituent stays -inf so check_finite names the feature.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.log(values)


def _ratio(numerator: np.ndarray, jet: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return numerator / jet[:, None]


def _onehot(jets: PaddedJets, kind: str) -> np.ndarray:
    flags = particle_type_onehot(jets.extras["part_pid"], jets.extras["part_charge"])
    return flags[..., PARTICLE_TYPES.index(kind)]


PARTICLE_FEATURES: dict[str, _Feature] = {
    "px": lambda j: j.px,
    "py": lambda j: j.py,
    "pz": lambda j: j.pz,
    "energy": lambda j: j.energy,
    "pt": lambda j: j.pt,
    "eta": lambda j: j.eta,
    "phi": lambda j: j.phi,
    "delta_eta": lambda j: j.delta_eta,
    "delta_phi": lambda j: j.delta_phi,
    "delta_r": lambda j: np.hypot(j.delta_eta, j.delta_phi),
    "log_pt": lambda j: _log(j.pt),
    "log_energy": lambda j: _log(j.energy),
    "log_pt_rel": lambda j: _log(_ratio(j.pt, j.jet_pt)),
    "log_energy_rel": lambda j: _log(_ratio(j.energy, j.jet_momentum[:, 3])),
    "charge": lambda j: j.extras["part_charge"],
    **{kind: (lambda j, kind=kind: _onehot(j, kind)) for kind in PARTICLE_TYPES},
}

# The ParticleNet / ParT kinematic inputs and particle-type flags (no track parameters).
POINT_CLOUD_FEATURES: tuple[str, ...] = (
    "delta_eta",
    "delta_phi",
    "log_pt",
    "log_energy",
    "log_pt_rel",
    "log_energy_rel",
    "delta_r",
    "charge",
    *PARTICLE_TYPES,
)


def extra_columns(names: Sequence[str]) -> list[str]:
    """The table columns beyond the four-momentum that features ``names`` need."""
    columns = []
    if any(n == "charge" or n in PARTICLE_TYPES for n in names):
        columns.append("part_charge")
    if any(n in PARTICLE_TYPES for n in names):
        columns.append("part_pid")
    return columns


class ParticleOptions:
    """The options every particle representation has: ``max_particles`` and ``features``."""

    def __init__(
        self,
        *,
        representation: str,
        max_particles: Any,
        features: Any,
        default_features: Sequence[str],
    ) -> None:
        self.representation = representation
        self.max_particles = positive_int(
            max_particles, option="max_particles", representation=representation
        )
        self.features = name_list(
            list(default_features) if features is None else features,
            option="features",
            representation=representation,
            known=list(PARTICLE_FEATURES),
        )

    def config(self) -> dict[str, Any]:
        return {"max_particles": self.max_particles, "features": list(self.features)}

    def read(self, table: Any, *, source: str) -> PaddedJets:
        """Padded jets with the columns the features need."""
        return read_constituents(
            table,
            source=source,
            representation=self.representation,
            max_particles=self.max_particles,
            extra_columns=extra_columns(self.features),
        )

    def feature_array(self, jets: PaddedJets, *, source: str) -> np.ndarray:
        """``(N, P, F)`` float32 features, 0 in padded slots; DataError naming NaN/inf ones."""
        return particle_features(jets, self.features, source=source)


def particle_features(jets: PaddedJets, names: Sequence[str], *, source: str) -> np.ndarray:
    """Features ``names`` of every constituent, ``(N, P, F)`` float32, 0 where masked."""
    columns = [jets.masked(PARTICLE_FEATURES[name](jets)) for name in names]
    features = np.stack(columns, axis=-1) if columns else np.zeros((*jets.mask.shape, 0))
    check_finite(features, feature_names=list(names), source=source)
    return features.astype(np.float32)  # (N, P, F)


def relative_coordinates(jets: PaddedJets, *, source: str) -> np.ndarray:
    """``(N, P, 2)`` float64 (Delta eta, Delta phi) to the jet axis, 0 where masked.

    DataError when a constituent has pT = 0 (infinite pseudorapidity).
    """
    points = np.stack([jets.delta_eta, jets.delta_phi], axis=-1)  # (N, P, 2)
    check_finite(points, feature_names=["delta_eta", "delta_phi"], source=source)
    return points
