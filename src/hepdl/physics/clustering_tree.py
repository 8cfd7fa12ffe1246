"""Full clustering histories of jet constituents (kT, Cambridge/Aachen, anti-kT), batched.

The python ``fastjet`` package's awkward interface returns jets, subjets and merging
scales but not the history's parent/child links (and its SWIG ``history()`` returns an
opaque, non-iterable object), so the clustering is redone here in
NumPy: one merging step at a time for all jets at once (padded to P slots), with the
nearest-neighbour bookkeeping FastJet uses, so a step costs O(N P) instead of O(N P^2).
It is tested against FastJet's merging scales and exclusive jets.

Distances (generalised kT, exponent p = 1 kT, 0 C/A, -1 anti-kT):

    d_ij = min(pT_i^(2p), pT_j^(2p)) DeltaR_ij^2,   DeltaR^2 = (y_i - y_j)^2 + (phi_i - phi_j)^2

with y the rapidity. Each step merges the pair with the smallest d_ij by adding
four-momenta (E-scheme) until one pseudojet is left: there is no beam distance, i.e.
R is infinite (FastJet's ``max_allowable_R``; FastJet's own d_ij are these divided by R^2).
The pair of smallest d_ij has j = the geometric nearest neighbour of i (the one of the two
with the smaller pT^(2p)), so only each slot's nearest neighbour is tracked: after a merge,
only slots whose neighbour was one of the merged pair search all slots again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hepdl.errors import ConfigError

ALGORITHMS: dict[str, float] = {"kt": 1.0, "cambridge_aachen": 0.0, "antikt": -1.0}

# FastJet's rapidity for a particle along the beam (PseudoJet::MaxRap).
_MAX_RAPIDITY = 1e5
# Jets x slots clustered together: each merging step makes ~20 temporaries of this size
# (2 MB of float64 each); larger chunks save little Python overhead per step, smaller
# ones follow the multiplicity more closely.
_SLOTS_PER_CHUNK = 1 << 18
# Jets per block of the first nearest-neighbour search, O(jets x width^2) memory.
_JETS_PER_SEARCH = 64


@dataclass(frozen=True)
class ClusterHistory:
    """The merging steps of N jets whose constituents occupy P slots (padded).

    Node ids within a jet: ``0 .. P-1`` are the constituents (their slot), ``P + s`` the
    pseudojet made at step s. A jet with n constituents merges at steps 0 .. n - 2; later
    steps hold -1 (children), 0 (distance, momentum) and -1 (height).
    """

    children: np.ndarray  # (N, P-1, 2) int64, node ids merged at each step, harder first
    distance: np.ndarray  # (N, P-1) float64, d_ij of the step (R = 1)
    momenta: np.ndarray  # (N, P-1, 4) float64, (px, py, pz, E) of the merged pseudojet
    height: np.ndarray  # (N, P-1) int64, 1 + max(height of children); constituents have 0

    @property
    def n_merges(self) -> np.ndarray:  # (N,) int64
        return (self.height >= 0).sum(axis=1)


def cluster_history(momenta: np.ndarray, mask: np.ndarray, *, algorithm: str) -> ClusterHistory:
    """Cluster every jet's constituents into one pseudojet and record each merge.

    ``momenta`` (N, P, 4) as (px, py, pz, E), ``mask`` (N, P) of real constituents;
    ``algorithm`` is a key of ``ALGORITHMS``. Ties between equal distances are broken by
    slot order (FastJet may break them differently).
    """
    if algorithm not in ALGORITHMS:
        raise ConfigError(f"algorithm={algorithm!r}: expected one of {', '.join(ALGORITHMS)}")
    momenta = np.asarray(momenta, dtype=np.float64)
    n_jets, width = mask.shape
    steps = max(width - 1, 0)
    history = ClusterHistory(
        children=np.full((n_jets, steps, 2), -1, dtype=np.int64),
        distance=np.zeros((n_jets, steps)),
        momenta=np.zeros((n_jets, steps, 4)),
        height=np.full((n_jets, steps), -1, dtype=np.int64),
    )
    # Jets are clustered in order of multiplicity: at step s the jets still merging (n > s+1)
    # are then a suffix of the chunk, a view rather than a gathered copy. Each chunk is only
    # as wide as its widest jet, so small jets cost neither the width nor the steps of large
    # ones.
    if not mask.any():
        return history  # no constituents at all (also when P = 0): nothing merges
    counts = mask.sum(axis=1)  # (N,)
    used_width = np.where(counts > 0, width - np.argmax(mask[:, ::-1], axis=1), 0)  # (N,)
    by_count = np.argsort(counts, kind="stable")
    # widest jet up to each position: an upper bound of the widest in any chunk ending there
    running_width = np.maximum.accumulate(used_width[by_count])
    start = 0
    while start < n_jets:
        # the longest run of jets whose (jets x widest) fits the bound, at least one
        size = np.arange(1, n_jets - start + 1) * (running_width[start:] + 1)
        stop = start + max(1, int(np.searchsorted(size, _SLOTS_PER_CHUNK, side="right")))
        rows = by_count[start:stop]
        chunk_width = max(int(used_width[rows].max()), 1)
        _cluster_block(
            momenta[rows, :chunk_width].copy(),
            mask[rows, :chunk_width],
            ALGORITHMS[algorithm],
            history,
            rows=rows,
            base=width,
        )
        start = stop
    return history


def _rapidity_phi(momenta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """FastJet's rapidity and phi of four-momenta (..., 4), each (...)."""
    px, py, pz, energy = np.moveaxis(momenta, -1, 0)
    pt2 = px * px + py * py
    m2 = np.maximum(energy * energy - pt2 - pz * pz, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        # 1/2 ln((pT^2 + m^2) / (E + |pz|)^2) = -|y|: no cancellation for large |y|.
        minus_abs = 0.5 * np.log((pt2 + m2) / (energy + np.abs(pz)) ** 2)
    along_beam = (pt2 == 0) & (energy == np.abs(pz))
    minus_abs = np.where(along_beam, -(_MAX_RAPIDITY + np.abs(pz)), minus_abs)
    rapidity = np.where(pz > 0, -minus_abs, minus_abs)
    return rapidity, np.arctan2(py, px)


def _delta_r2(y1: np.ndarray, phi1: np.ndarray, y2: np.ndarray, phi2: np.ndarray) -> np.ndarray:
    d_phi = np.abs(phi1 - phi2)  # in [0, 2 pi]: the wrapped difference is the smaller one
    d_phi = np.minimum(d_phi, 2.0 * np.pi - d_phi)
    return (y1 - y2) ** 2 + d_phi**2


def _kt_power(momenta: np.ndarray, exponent: float) -> np.ndarray:
    """``pT^(2p)``, (...,); for anti-kT a zero-pT particle gets +inf."""
    pt2 = momenta[..., 0] ** 2 + momenta[..., 1] ** 2
    with np.errstate(divide="ignore"):
        return pt2**exponent


def _cluster_block(
    momenta: np.ndarray,
    mask: np.ndarray,
    exponent: float,
    out: ClusterHistory,
    *,
    rows: np.ndarray,
    base: int,
) -> None:
    """Cluster jets ``rows`` of ``out`` (momenta (B, W, 4), modified here; mask (B, W)).

    The jets come in order of increasing multiplicity. Slots beyond W hold no
    constituent; merged pseudojets get node ids ``base + step``.
    """
    n_jets, width = mask.shape
    active = mask.copy()  # (B, W)
    node = np.where(mask, np.arange(width), -1)  # (B, W) node id held by each slot
    height = np.zeros((n_jets, width), dtype=np.int64)
    rapidity, phi = _rapidity_phi(momenta)  # (B, W)
    kt = _kt_power(momenta, exponent)  # (B, W)
    nearest, nearest_dr2 = _initial_neighbours(rapidity, phi, active)  # (B, W) each
    counts = mask.sum(axis=1)  # (B,) ascending
    for step in range(max(width - 1, 0)):
        first = int(np.searchsorted(counts, step + 2))  # jets from here on still merge
        if first == n_jets:
            break
        live = slice(first, None)
        state = _Live(
            momenta[live], active[live], node[live], height[live], rapidity[live], phi[live]
        )
        nn, nn_dr2, kt_live = nearest[live], nearest_dr2[live], kt[live]  # (L, W) views
        lane = np.arange(n_jets - first)
        with np.errstate(invalid="ignore"):
            d_ij = np.minimum(kt_live, kt_live[lane[:, None], nn]) * nn_dr2
        d_ij[~np.isfinite(nn_dr2)] = np.inf  # (L, W)
        i = np.argmin(d_ij, axis=1)  # (L,)
        j = nn[lane, i]
        a, b = np.minimum(i, j), np.maximum(i, j)  # the merged pseudojet goes to slot a

        merged, new_height, children = state.merge(lane, a, b, node_id=base + step)
        target = rows[live]
        out.children[target, step] = children
        out.distance[target, step] = d_ij[lane, i]
        out.momenta[target, step] = merged
        out.height[target, step] = new_height
        kt_live[lane, a] = _kt_power(merged, exponent)
        _update_neighbours(state, lane, a, b, nn, nn_dr2)


@dataclass(frozen=True)
class _Live:
    """Views (L, W) of the jets still merging; merging writes through to the block."""

    momenta: np.ndarray  # (L, W, 4)
    active: np.ndarray
    node: np.ndarray
    height: np.ndarray
    rapidity: np.ndarray
    phi: np.ndarray

    def merge(
        self, lane: np.ndarray, a: np.ndarray, b: np.ndarray, *, node_id: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Slot a takes the sum of slots a and b, b empties: (momentum, height, children)."""
        p_a, p_b = self.momenta[lane, a], self.momenta[lane, b]  # (L, 4)
        a_harder = (p_a[:, 0] ** 2 + p_a[:, 1] ** 2 >= p_b[:, 0] ** 2 + p_b[:, 1] ** 2)[:, None]
        pair = np.stack([self.node[lane, a], self.node[lane, b]], axis=1)  # (L, 2)
        children = np.where(a_harder, pair, pair[:, ::-1])
        merged = p_a + p_b
        new_height = 1 + np.maximum(self.height[lane, a], self.height[lane, b])
        self.momenta[lane, a], self.momenta[lane, b] = merged, 0.0
        self.node[lane, a], self.node[lane, b] = node_id, -1
        self.height[lane, a], self.height[lane, b] = new_height, 0
        self.active[lane, b] = False
        self.rapidity[lane, a], self.phi[lane, a] = _rapidity_phi(merged)
        return merged, new_height, children

    def distances_from(self, lanes: np.ndarray, slots: np.ndarray) -> np.ndarray:
        """DeltaR^2 (K, W) from slot ``slots[k]`` of jet ``lanes[k]`` to its other active slots."""
        y, f = self.rapidity[lanes], self.phi[lanes]  # (K, W)
        dr2 = _delta_r2(
            y[np.arange(len(lanes)), slots][:, None], f[np.arange(len(lanes)), slots][:, None], y, f
        )
        dr2[~self.active[lanes]] = np.inf
        dr2[np.arange(len(lanes)), slots] = np.inf
        return dr2


def _initial_neighbours(
    rapidity: np.ndarray, phi: np.ndarray, active: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Geometric nearest neighbour of every slot and its DeltaR^2, (B, W) each (inf: none).

    Blocks of jets are trimmed to their widest jet: the O(W^2) search is the costly part.
    """
    n_jets, width = active.shape
    nearest = np.zeros((n_jets, width), dtype=np.int64)
    nearest_dr2 = np.full((n_jets, width), np.inf)
    used = np.where(active.any(axis=1), width - np.argmax(active[:, ::-1], axis=1), 0)  # (B,)
    for start in range(0, n_jets, _JETS_PER_SEARCH):
        block = slice(start, start + _JETS_PER_SEARCH)
        w = int(used[block].max(initial=0))
        if w == 0:
            continue  # only empty jets in this block
        y, f, on = rapidity[block, :w], phi[block, :w], active[block, :w]  # (b, w)
        dr2 = _delta_r2(y[:, :, None], f[:, :, None], y[:, None], f[:, None])  # (b, w, w)
        dr2[~(on[:, :, None] & on[:, None, :])] = np.inf
        dr2[:, np.arange(w), np.arange(w)] = np.inf
        nearest[block, :w] = np.argmin(dr2, axis=2)
        nearest_dr2[block, :w] = dr2.min(axis=2, initial=np.inf)
    return nearest, nearest_dr2


def _update_neighbours(
    state: _Live, lane: np.ndarray, a: np.ndarray, b: np.ndarray, nn: np.ndarray, nn_dr2: np.ndarray
) -> None:
    """After slot a took the merged pseudojet and slot b emptied: fix ``nn``, ``nn_dr2`` (views)."""
    to_a = state.distances_from(lane, a)  # (L, W) to the new pseudojet
    # Slots whose neighbour moved (a) or vanished (b) search again; so does a itself.
    stale = state.active & ((nn == a[:, None]) | (nn == b[:, None]))
    stale[lane, a] = True
    closer = state.active & ~stale & (to_a < nn_dr2)
    nn[closer] = np.broadcast_to(a[:, None], nn.shape)[closer]
    nn_dr2[closer] = to_a[closer]
    nn_dr2[lane, b] = np.inf
    lanes, slots = np.nonzero(stale)
    distances = state.distances_from(lanes, slots)  # (K, W)
    nn[lanes, slots] = np.argmin(distances, axis=1)
    nn_dr2[lanes, slots] = distances.min(axis=1, initial=np.inf)
