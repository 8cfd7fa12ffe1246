"""The ``graph`` representation: a kNN graph per jet with node and edge features."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data.representations._constituents import PaddedJets
from hepdl.data.representations._knn import knn
from hepdl.data.representations._options import choice, name_list, positive_float, positive_int
from hepdl.data.representations._particles import (
    POINT_CLOUD_FEATURES,
    ParticleOptions,
    relative_coordinates,
)
from hepdl.data.representations._registry import register_representation
from hepdl.data.validation import check_finite
from hepdl.physics import kinematics
from hepdl.physics.particle_features import DEFAULT_EPS, PAIRWISE_FEATURES, pairwise_features

EDGE_FEATURES: tuple[str, ...] = ("delta_eta", "delta_phi", *PAIRWISE_FEATURES)
SPACES: tuple[str, ...] = ("coordinates", "features")


@register_representation("graph")
class GraphRepresentation:
    """Nodes = constituents, edges = each node's k nearest neighbours in the same jet.

    Returns ``points (N, P, 2)`` (Delta eta, Delta phi), ``features (N, P, F)`` and
    ``mask (N, P)`` as ``point_cloud`` does, plus

    - ``neighbours (N, P, k)`` int64: slots of node i's neighbours j, nearest first;
    - ``edge_mask (N, P, k)`` bool;
    - ``edge_features (N, P, k, E)`` float32 of each edge (i -> j): Delta eta = eta_j -
      eta_i, Delta phi = phi_j - phi_i (wrapped), and ParT's ln Delta, ln kT, ln z, ln m^2
      of the pair (``hepdl.physics.particle_features.pairwise_features``).

    ``space="coordinates"`` (default) finds neighbours in (Delta eta, Delta phi), as
    ParticleNet's first EdgeConv; ``space="features"`` in the node ``features`` (Euclidean,
    so choose features on comparable scales, e.g. the log-scaled defaults). A jet with
    n <= k constituents has n - 1 neighbours per node: the other entries of
    ``neighbours`` are -1 with ``edge_mask = False`` and zero edge features; an empty jet
    is all-masked.

    Options: ``k`` (default 16), ``space``, ``max_particles`` (default 128), ``features``
    (default ``POINT_CLOUD_FEATURES``), ``edge_features`` (default all of
    ``EDGE_FEATURES``), ``eps`` (log floor, default 1e-8).
    """

    name = "graph"
    provides = (
        "points",
        "features",
        "mask",
        "neighbours",
        "edge_mask",
        "edge_features",
    )  # the arrays __call__ returns

    def __init__(
        self,
        *,
        k: int = 16,
        space: str = "coordinates",
        max_particles: int = 128,
        features: Sequence[str] | None = None,
        edge_features: Sequence[str] | None = None,
        eps: float = DEFAULT_EPS,
    ) -> None:
        self._options = ParticleOptions(
            representation=self.name,
            max_particles=max_particles,
            features=features,
            default_features=POINT_CLOUD_FEATURES,
        )
        self._k = positive_int(k, option="k", representation=self.name)
        self._space = choice(space, option="space", representation=self.name, choices=SPACES)
        self._edge_features = name_list(
            list(EDGE_FEATURES) if edge_features is None else edge_features,
            option="edge_features",
            representation=self.name,
            known=EDGE_FEATURES,
        )
        self._eps = positive_float(eps, option="eps", representation=self.name)

    @property
    def feature_names(self) -> list[str]:
        return list(self._options.features)

    @property
    def edge_feature_names(self) -> list[str]:
        return list(self._edge_features)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "k": self._k,
            "space": self._space,
            **self._options.config(),
            "edge_features": list(self._edge_features),
            "eps": self._eps,
        }

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        jets = self._options.read(table, source=source)
        points = relative_coordinates(jets, source=source)  # (N, P, 2)
        features = self._options.feature_array(jets, source=source)  # (N, P, F)
        space = points if self._space == "coordinates" else features
        neighbours, edge_mask = knn(space, jets.mask, k=self._k)  # (N, P, k) each
        edges = edge_feature_array(
            jets, neighbours, edge_mask, names=self._edge_features, eps=self._eps
        )  # (N, P, k, E)
        check_finite(edges, feature_names=self._edge_features, source=source)
        return {
            "points": points.astype(np.float32),
            "features": features,
            "mask": jets.mask,
            "neighbours": neighbours,
            "edge_mask": edge_mask,
            "edge_features": edges,
        }


def edge_feature_array(
    jets: PaddedJets,
    neighbours: np.ndarray,
    edge_mask: np.ndarray,
    *,
    names: Sequence[str],
    eps: float = DEFAULT_EPS,
) -> np.ndarray:
    """Features ``names`` of every edge (i -> neighbours[i]), (N, P, k, E) float32, 0 if masked."""
    safe = np.where(edge_mask, neighbours, 0)  # (N, P, k): any slot for a masked edge
    n_jets, width, k = safe.shape  # explicit sizes in reshapes, not -1: N may be 0
    index = safe.reshape(n_jets, width * k, 1)  # (N, P*k, 1)

    def gather(values: np.ndarray) -> np.ndarray:  # (N, P, ...) -> (N, P, k, ...)
        depth = int(np.prod(values.shape[2:], dtype=np.int64))
        flat = values.reshape(n_jets, width, depth)  # (N, P, D)
        picked = np.take_along_axis(flat, index, axis=1)  # (N, P*k, D)
        return picked.reshape(*safe.shape, *values.shape[2:])

    momenta = jets.four_momentum  # (N, P, 4)
    computed: dict[str, Callable[[], np.ndarray]] = {
        "delta_eta": lambda: gather(jets.delta_eta) - jets.delta_eta[..., None],
        "delta_phi": lambda: kinematics.delta_phi(gather(jets.phi), jets.phi[..., None]),
    }
    columns = []
    pair_values = None
    for name in names:
        if name in computed:
            columns.append(computed[name]())
            continue
        if pair_values is None:
            pair_values = pairwise_features(momenta[:, :, None, :], gather(momenta), eps=eps)
        columns.append(pair_values[..., PAIRWISE_FEATURES.index(name)])
    values = np.stack(columns, axis=-1)  # (N, P, k, E)
    return np.where(edge_mask[..., None], values, 0.0).astype(np.float32)
