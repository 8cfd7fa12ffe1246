"""Recursive neural network on jet clustering trees (G. Louppe, K. Cho, C. Becot,
K. Cranmer, "QCD-aware recursive neural networks for jet physics", JHEP 01 (2019) 057).

Every node k of a jet's binary clustering tree, with features x_k, gets

    u_k = ReLU(W_u x_k + b_u)
    h_k = u_k                                        if k is a leaf (a constituent),
    h_k = ReLU(W_h [h_kL ; h_kR ; u_k] + b_h)       if k merges children kL and kR,

and the root's h is the jet embedding, classified by the ``mlp`` head. The gated variant
(``gated=True``, the paper's eqs. 5-8) mixes the candidate with the children and u_k:

    r = sigmoid(W_r [h_kL ; h_kR ; u_k] + b_r)                  reset gates (3H)
    c = ReLU(W_h (r * [h_kL ; h_kR ; u_k]) + b_h)               candidate (H)
    z = softmax over the 4 options of W_z [c ; h_kL ; h_kR ; u_k] + b_z    (4, H)
    h_k = z_c * c + z_L * h_kL + z_R * h_kR + z_u * u_k

The nodes are evaluated level by level: all nodes of height l, of every jet in the batch,
in one batched merge, so a batch costs one call per tree height, not one per node.

Backbone and head (``hepdl.models``): ``forward_features`` is the root embedding
(``embed``) and the hidden layers of the ``mlp`` (the submodule named ``head``, a name kept
for the state_dict): (B, num_features), num_features = the last entry of ``hidden``
(hidden_size without hidden layers). ``forward_head`` is only the output layer,
``head.layers[-1]``; ``reset_head`` replaces it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from hepdl.errors import ConfigError, DataError
from hepdl.models._head import MLPHeaded
from hepdl.models._registry import register_model
from hepdl.models.mlp import MLP

TREE_KEYS = ("features", "children", "level", "roots")


@register_model("recursive")
class RecursiveTagger(MLPHeaded, nn.Module):
    """The simple recursive embedding of Louppe et al. and an ``mlp`` head.

    Args:
        in_features: node feature count F (set from the data by the trainer).
        hidden_size: embedding width H of u_k and h_k (the paper: 40).
        gated: use the gated merge instead of the simple one.
        hidden: widths of the head's hidden layers (the paper: 64, 64).
        out_features, output, dropout: as for ``mlp``.

    ``forward(tree)`` takes the ``tree`` representation's arrays as tensors, a mapping with
    (T = all nodes of the B jets, in level order within each jet):

    - ``features (T, F)`` float: node features x_k;
    - ``children (T, 2)`` int64: global indices of the two children, -1 for leaves;
    - ``level (T,)`` int64: 0 for leaves, above both children's levels for merges;
    - ``roots (B,)`` int64: each jet's root node, -1 for a jet without constituents
      (whose embedding is then zero).

    Other keys (``offsets``, ``jet``, ``momenta``, ...) are ignored. Returns logits
    (B, out_features).
    """

    consumes = ("tree",)

    def __init__(
        self,
        *,
        in_features: int,
        hidden_size: int = 40,
        gated: bool = False,
        hidden: Sequence[int] = (64, 64),
        out_features: int = 1,
        output: str = "sigmoid",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if in_features < 1:
            raise ConfigError(f"model.in_features: expected a positive width, got {in_features}")
        if hidden_size < 1:
            raise ConfigError(f"model.hidden_size: expected a positive width, got {hidden_size}")
        self.in_features = in_features
        self.hidden_size = hidden_size
        self.leaf = nn.Linear(in_features, hidden_size)  # W_u, b_u
        self.inner = nn.Linear(3 * hidden_size, hidden_size)  # W_h, b_h
        self.gated = gated
        if gated:
            self.reset = nn.Linear(3 * hidden_size, 3 * hidden_size)  # W_r, b_r
            self.update = nn.Linear(4 * hidden_size, 4 * hidden_size)  # W_z, b_z
        self.head = MLP(
            in_features=hidden_size,
            hidden=hidden,
            out_features=out_features,
            output=output,
            dropout=dropout,
        )

    def embed(self, tree: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Jet embeddings h_root (B, H) of a batch of trees."""
        features, children, level, roots = _checked(tree, in_features=self.in_features)
        u = torch.relu(self.leaf(features))  # (T, H)
        h = u.clone()  # leaves keep h = u; merges are overwritten level by level below
        if len(level):
            order = torch.argsort(level, stable=True)  # (T,) nodes grouped by level
            per_level = torch.bincount(level).tolist()  # one host sync, not one per level
            for nodes in torch.split(order, per_level)[1:]:  # (n_l,) nodes of level l
                if not len(nodes):
                    continue
                left, right = children[nodes, 0], children[nodes, 1]  # (n_l,) each
                # In place is safe for autograd: the gathers save indices, not h.
                h.index_copy_(0, nodes, self._merge(h[left], h[right], u[nodes]))
        # A zero row at the end: roots == -1 (empty jets) index it.
        padded = torch.cat([h, h.new_zeros(1, self.hidden_size)])  # (T + 1, H)
        return padded[roots]  # (B, H)

    def _merge(self, left: torch.Tensor, right: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """h_k of merge nodes from their children's h and their own u, all (n, H)."""
        stacked = torch.cat([left, right, u], dim=1)  # (n, 3H)
        if not self.gated:
            return torch.relu(self.inner(stacked))
        candidate = torch.relu(self.inner(torch.sigmoid(self.reset(stacked)) * stacked))
        options = torch.stack([candidate, left, right, u], dim=1)  # (n, 4, H)
        gates = self.update(options.flatten(1)).view_as(options).softmax(dim=1)  # (n, 4, H)
        return (gates * options).sum(dim=1)  # (n, H)

    def forward(self, tree: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.forward_head(self.forward_features(tree))  # (B, out_features)

    def forward_features(self, tree: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Root embedding and the hidden FC layers -> (B, num_features)."""
        return self.head.forward_features(self.embed(tree))  # (B, num_features)


def _checked(
    tree: Mapping[str, torch.Tensor], *, in_features: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The four arrays of ``tree``, after checking shapes and the level order."""
    missing = [key for key in TREE_KEYS if key not in tree]
    if missing:
        raise DataError(
            f"RecursiveTagger: tree input lacks {', '.join(missing)}; "
            f"expected the tree representation's {', '.join(TREE_KEYS)}"
        )
    features = tree["features"]
    children, level, roots = (tree[key].long() for key in ("children", "level", "roots"))
    n_nodes = len(features)
    if features.ndim != 2 or features.shape[1] != in_features:
        raise DataError(
            f"RecursiveTagger: expected tree features of shape (nodes, {in_features}), "
            f"got {tuple(features.shape)}"
        )
    if children.shape != (n_nodes, 2) or level.shape != (n_nodes,) or roots.ndim != 1:
        raise DataError(
            f"RecursiveTagger: expected children ({n_nodes}, 2), level ({n_nodes},) and "
            f"roots (jets,), got {tuple(children.shape)}, {tuple(level.shape)}, "
            f"{tuple(roots.shape)}"
        )
    bad_children = ((children < -1) | (children >= n_nodes)).any()
    if bool(bad_children | ((roots < -1) | (roots >= n_nodes)).any()):
        raise DataError(
            f"RecursiveTagger: tree children and roots must be node indices in [0, {n_nodes}) "
            "or -1 (leaf / empty jet)"
        )
    merge = children[:, 0] >= 0  # (T,)
    # A merge must sit above both children, and only leaves (both children -1) at level 0.
    bad_level = (merge != (level > 0)).any() | (children[~merge] != -1).any()
    bad_level = bad_level | (children[merge] < 0).any()
    if not bool(bad_level):
        bad_level = (level[children[merge]] >= level[merge, None]).any()
    if bool(bad_level):
        raise DataError(
            "RecursiveTagger: tree level and children are inconsistent; expected leaves "
            "(children -1) at level 0 and every merge above both of its children, as the "
            "tree representation writes them"
        )
    return features, children, level, roots
