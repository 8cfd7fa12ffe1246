"""The ``tree`` representation: each jet's clustering history as a binary tree, batched
level by level for recursive networks (G. Louppe, K. Cho, C. Becot, K. Cranmer, JHEP 01
(2019) 057)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import awkward as ak
import numpy as np

from hepdl.data.representations._constituents import PaddedJets, read_constituents
from hepdl.data.representations._options import choice, name_list, optional_positive_int
from hepdl.data.representations._registry import register_representation
from hepdl.data.validation import check_finite
from hepdl.physics import kinematics
from hepdl.physics.clustering_tree import ALGORITHMS, ClusterHistory, cluster_history

_Node = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def _eta(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return kinematics.pseudorapidity(p[:, 0], p[:, 1], p[:, 2])


# Functions of (momenta (T, 4), jet eta (T,), jet phi (T,)) -> (T,), per node.
NODE_FEATURES: dict[str, _Node] = {
    "px": lambda p, eta, phi: p[:, 0],
    "py": lambda p, eta, phi: p[:, 1],
    "pz": lambda p, eta, phi: p[:, 2],
    "energy": lambda p, eta, phi: p[:, 3],
    "p": lambda p, eta, phi: np.linalg.norm(p[:, :3], axis=1),
    "pt": lambda p, eta, phi: kinematics.pt(p[:, 0], p[:, 1]),
    "eta": lambda p, eta, phi: _eta(p),
    "theta": lambda p, eta, phi: np.arctan2(kinematics.pt(p[:, 0], p[:, 1]), p[:, 2]),
    "phi": lambda p, eta, phi: kinematics.phi(p[:, 0], p[:, 1]),
    "mass": lambda p, eta, phi: kinematics.mass(p[:, 0], p[:, 1], p[:, 2], p[:, 3]),
    "delta_eta": lambda p, eta, phi: _eta(p) - eta,
    "delta_phi": lambda p, eta, phi: kinematics.delta_phi(kinematics.phi(p[:, 0], p[:, 1]), phi),
}

# Louppe et al.'s node inputs: (p, eta, theta, phi, E, pT).
LOUPPE_FEATURES: tuple[str, ...] = ("p", "eta", "theta", "phi", "energy", "pt")
# The default: angles to the jet axis instead of absolute ones (the substructure is a
# ~0.1 spread on top of |eta| ~ 1 after standardisation) and the node mass
# m = sqrt(E^2 - |p|^2), which standardised (p, E) ~ 100 +- 200 GeV hide (m^2 is their small
# difference). Top vs QCD, 3600 jets, 2 epochs: test AUC 0.66 with LOUPPE_FEATURES, 0.95.
TREE_FEATURES: tuple[str, ...] = ("delta_eta", "delta_phi", "p", "pt", "energy", "mass")


@register_representation("tree")
class TreeRepresentation:
    """Clustering trees of all jets, concatenated, nodes in level order.

    A jet with n constituents is clustered (``algorithm`` ``"kt"`` (default),
    ``"cambridge_aachen"`` or ``"antikt"``, E-scheme, no beam distance; see
    ``hepdl.physics.clustering_tree``) into a binary tree of 2n - 1 nodes: n leaves (the
    constituents) and n - 1 merges, the last being the whole jet. An empty jet has zero
    nodes. The arrays, T = all nodes of all jets:

    - ``offsets (N + 1,)`` int64: jet i owns nodes ``offsets[i] : offsets[i + 1]``;
    - ``roots (N,)`` int64: the root node of each jet (its last node), -1 if empty;
    - ``children (T, 2)`` int64: global indices of the two nodes merged into this one,
      the harder (larger pT) first; -1 for leaves;
    - ``level (T,)`` int64: the height, 0 for leaves and 1 + max(level of children) for a
      merge, so all children of a level-l node have levels < l;
    - ``jet (T,)`` int64: the jet of each node;
    - ``constituent (T,)`` int64: for leaves the constituent's position in the table's
      ``part_*`` lists, -1 for merges;
    - ``momenta (T, 4)`` float32 (px, py, pz, E) of each node (the sum of its leaves);
    - ``distance (T,)`` float32: d_ij of the merge (0 for leaves);
    - ``features (T, F)`` float32: ``features`` of each node from ``NODE_FEATURES``
      (default ``TREE_FEATURES`` = delta_eta, delta_phi, p, pT, E, mass; delta_eta and
      delta_phi are to the E-scheme jet axis of the kept constituents; ``LOUPPE_FEATURES``
      = p, eta, theta, phi, E, pT are the paper's).

    Within a jet the nodes are ordered by level: leaves first (constituents in decreasing
    pT), then merges by level, then by merge step. A recursive network embeds the leaves,
    then for l = 1, 2, ... computes ``h[level == l]`` from ``h[children[level == l]]``, a
    whole batch of jets at a time; ``h[roots]`` are the jet embeddings. Use
    ``select_jets`` to take a subset of jets (it renumbers ``children`` and ``roots``).

    ``max_particles`` (default null: all) keeps only each jet's hardest constituents.
    """

    name = "tree"
    # Its node arrays reach a model as one input, ``tree`` (hepdl.models.inputs).
    provides = ("tree",)
    flat_features = True  # data.standardize scales its node features (T, F)

    def __init__(
        self,
        *,
        algorithm: str = "kt",
        max_particles: int | None = None,
        features: Sequence[str] | None = None,
    ) -> None:
        self._algorithm = choice(
            algorithm, option="algorithm", representation=self.name, choices=list(ALGORITHMS)
        )
        self._max_particles = optional_positive_int(
            max_particles, option="max_particles", representation=self.name
        )
        self._features = name_list(
            list(TREE_FEATURES) if features is None else features,
            option="features",
            representation=self.name,
            known=list(NODE_FEATURES),
        )

    @property
    def feature_names(self) -> list[str]:
        return list(self._features)

    def config(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "algorithm": self._algorithm,
            "max_particles": self._max_particles,
            "features": list(self._features),
        }

    def __call__(self, table: ak.Array, *, source: str) -> dict[str, np.ndarray]:
        jets = read_constituents(
            table, source=source, representation=self.name, max_particles=self._max_particles
        )
        history = cluster_history(jets.four_momentum, jets.mask, algorithm=self._algorithm)
        tree = _assemble(jets, history)
        momenta = tree.pop("momenta64")  # (T, 4) float64
        node_jet = tree["jet"]
        columns = [
            NODE_FEATURES[name](momenta, jets.jet_eta[node_jet], jets.jet_phi[node_jet])
            for name in self._features
        ]
        features = np.stack(columns, axis=1) if columns else np.zeros((len(momenta), 0))
        check_finite(features, feature_names=self._features, source=source, table_rows=node_jet)
        tree["features"] = features.astype(np.float32)  # (T, F)
        tree["momenta"] = momenta.astype(np.float32)
        return tree


def _assemble(jets: PaddedJets, history: ClusterHistory) -> dict[str, np.ndarray]:
    """Leaves and merges of every jet -> the concatenated level-ordered node arrays."""
    n_jets, width = jets.mask.shape
    leaf_jet, leaf_slot = np.nonzero(jets.mask)  # (L,) each, by jet then slot
    merged = history.height >= 0  # (N, P-1)
    merge_jet, merge_step = np.nonzero(merged)  # (M,)
    node_jet = np.concatenate([leaf_jet, merge_jet])  # (T,)
    local_id = np.concatenate([leaf_slot, width + merge_step])  # history's node ids
    level = np.concatenate([np.zeros(len(leaf_jet), np.int64), history.height[merged]])
    order = np.lexsort((local_id, level, node_jet))  # by jet, level, then slot or step

    lookup = np.full((n_jets, 2 * width), -1, dtype=np.int64)  # history id -> global index
    lookup[node_jet[order], local_id[order]] = np.arange(len(order))
    merge_children = lookup[merge_jet[:, None], history.children[merge_jet, merge_step]]
    children = np.concatenate([np.full((len(leaf_jet), 2), -1, np.int64), merge_children])
    momenta = np.concatenate([jets.four_momentum[jets.mask], history.momenta[merged]])
    constituent = np.concatenate([jets.index[jets.mask], np.full(len(merge_jet), -1, np.int64)])
    distance = np.concatenate([np.zeros(len(leaf_jet)), history.distance[merged]])

    counts = jets.mask.sum(axis=1)
    offsets = np.concatenate(([0], np.cumsum(np.where(counts > 0, 2 * counts - 1, 0))))
    return {
        "offsets": offsets.astype(np.int64),
        "roots": np.where(counts > 0, offsets[1:] - 1, -1).astype(np.int64),
        "children": children[order],
        "level": level[order],
        "jet": node_jet[order].astype(np.int64),
        "constituent": constituent[order],
        "distance": distance[order].astype(np.float32),
        "momenta64": momenta[order],
    }


def select_jets(
    tree: Mapping[str, np.ndarray], rows: Sequence[int] | np.ndarray
) -> dict[str, np.ndarray]:
    """The trees of jets ``rows`` (in that order) as a self-contained batch.

    Node arrays are gathered, ``offsets``, ``roots``, ``jet`` and ``children`` renumbered
    so the result has the layout ``TreeRepresentation`` returns for those jets alone.
    """
    rows = np.asarray(rows, dtype=np.int64)
    offsets = tree["offsets"]
    counts = (offsets[1:] - offsets[:-1])[rows]  # (B,)
    new_offsets = np.concatenate(([0], np.cumsum(counts))).astype(np.int64)
    shift = np.repeat(offsets[rows] - new_offsets[:-1], counts)  # (T',) old - new index
    nodes = np.arange(int(new_offsets[-1])) + shift  # (T',) old index of each new node
    out = {
        key: np.asarray(value)[nodes]
        for key, value in tree.items()
        if key not in ("offsets", "roots", "jet", "children")
    }
    children = tree["children"][nodes]
    out["children"] = np.where(children >= 0, children - shift[:, None], -1)
    out["jet"] = np.repeat(np.arange(len(rows), dtype=np.int64), counts)
    out["offsets"] = new_offsets
    out["roots"] = np.where(counts > 0, new_offsets[1:] - 1, -1)
    return out
