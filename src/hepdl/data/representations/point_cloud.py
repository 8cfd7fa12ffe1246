"""The ``point_cloud`` representation: ParticleNet / Particle Transformer inputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import awkward as ak
import numpy as np

from hepdl.data.representations._constituents import PaddedJets
from hepdl.data.representations._options import boolean, positive_float
from hepdl.data.representations._particles import (
    POINT_CLOUD_FEATURES,
    ParticleOptions,
    relative_coordinates,
)
from hepdl.data.representations._registry import register_representation
from hepdl.data.validation import check_finite
from hepdl.physics.particle_features import (
    DEFAULT_EPS,
    PAIRWISE_FEATURES,
    pairwise_feature_list,
)

# Pairs computed at once: bounds the float64 temporaries (about 10 arrays of this size).
_PAIRS_PER_CHUNK = 1 << 20


@register_representation("point_cloud")
class PointCloudRepresentation:
    """Points, per-particle features and mask, optionally ParT's pairwise features.

    Returns ``points (N, P, 2)`` = (Delta eta, Delta phi) to the jet axis (the coordinates
    of ParticleNet's first kNN), ``features (N, P, F)``, ``mask (N, P)`` bool and, with
    ``pairwise=True``, ``pairwise (N, P, P, 4)`` = (ln Delta, ln kT, ln z, ln m^2) of every
    pair (``hepdl.physics.particle_features.pairwise_features``, logs floored at ``eps``).
    All float32, padding 0 and ``mask = False``; a pair involving padding is 0 (its mask
    is ``mask[:, :, None] & mask[:, None, :]``); the diagonal holds each particle paired
    with itself, as in ParT. An empty jet is an all-masked row.

    Memory: ``pairwise`` takes N * P * P * 4 * 4 bytes, 262 MB for 1000 jets at P = 128;
    for large P compute it per batch instead (``pairwise_matrix``).

    Options: ``max_particles`` P (default 128; the P hardest constituents are kept),
    ``features`` (default ``POINT_CLOUD_FEATURES``: Delta eta, Delta phi, log pT, log E,
    log pT/pT_jet, log E/E_jet, Delta R, charge and the five particle-type flags, which
    need the ``part_charge`` and ``part_pid`` columns), ``pairwise`` (default False),
    ``eps`` (default 1e-8).
    """

    name = "point_cloud"
    provides = ("points", "features", "mask")  # and ``pairwise`` with that option
    optional_provides: ClassVar[dict[str, str]] = {"pairwise": "pairwise"}  # option -> array

    def __init__(
        self,
        *,
        max_particles: int = 128,
        features: Sequence[str] | None = None,
        pairwise: bool = False,
        eps: float = DEFAULT_EPS,
    ) -> None:
        self._options = ParticleOptions(
            representation=self.name,
            max_particles=max_particles,
            features=features,
            default_features=POINT_CLOUD_FEATURES,
        )
        self._pairwise = boolean(pairwise, option="pairwise", representation=self.name)
        self._eps = positive_float(eps, option="eps", representation=self.name)

    @property
    def feature_names(self) -> list[str]:
        return list(self._options.features)

    @property
    def pairwise_feature_names(self) -> list[str]:
        return list(PAIRWISE_FEATURES)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            **self._options.config(),
            "pairwise": self._pairwise,
            "eps": self._eps,
        }

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        jets = self._options.read(table, source=source)
        points = relative_coordinates(jets, source=source)  # (N, P, 2)
        out = {
            "points": points.astype(np.float32),
            "features": self._options.feature_array(jets, source=source),  # (N, P, F)
            "mask": jets.mask,  # (N, P)
        }
        if self._pairwise:
            pairwise = pairwise_matrix(jets, eps=self._eps)  # (N, P, P, 4)
            check_finite(pairwise, feature_names=list(PAIRWISE_FEATURES), source=source)
            out["pairwise"] = pairwise
        return out


def pairwise_matrix(jets: PaddedJets, *, eps: float = DEFAULT_EPS) -> np.ndarray:
    """``(N, P, P, 4)`` float32 pairwise features of all pairs, 0 where either is padding."""
    n_jets, width = jets.mask.shape
    out = np.zeros((n_jets, width, width, len(PAIRWISE_FEATURES)), dtype=np.float32)
    momenta = jets.four_momentum  # (N, P, 4)
    step = max(1, _PAIRS_PER_CHUNK // max(1, width * width))
    for start in range(0, n_jets, step):
        block = slice(start, start + step)
        p = momenta[block]  # (B, P, 4)
        values = pairwise_feature_list(p[:, :, None, :], p[:, None, :, :], eps=eps)
        pair_mask = jets.mask[block, :, None] & jets.mask[block, None, :]  # (B, P, P)
        for k, feature in enumerate(values):  # each (B, P, P)
            out[block, ..., k] = np.where(pair_mask, feature, 0.0)
    return out
