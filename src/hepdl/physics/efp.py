"""Energy flow polynomials (EFPs) of point-cloud jets, up to degree d = 4, in pure NumPy.

An EFP is a multigraph G with vertices V and edges E (Komiske, Metodiev, Thaler, "Energy
flow polynomials: a complete linear basis for jet substructure", JHEP 04 (2018) 013,
arXiv:1712.07124):

    EFP_G = sum_{i_1..i_n} z_{i_1} ... z_{i_n}  prod_{(k,l) in E} theta_{i_k i_l}

with the hadronic measure (energyflow ``measure="hadr"``, kappa = 1):

    z_i = pT_i / sum_j pT_j   (``normed=True``; ``normed=False``: z_i = pT_i),
    theta_ij = (Delta eta_ij^2 + Delta phi_ij^2)^(beta / 2),  beta = 1 by default,

Delta phi wrapped to [-pi, pi) and eta taken as the rapidity (massless particles,
energyflow ``coords="ptyphim"``). The degree d is the number of edges; a disconnected
graph is the product of its connected parts (its "prime" factors).

Jets are ``(N, P, 3)`` arrays of (eta, phi, pT), absolute or relative to the jet axis
(EFPs only use differences and pT ratios), with a mask ``(N, P)`` (True = real particle).

Two sets are used by the JetNet metrics (Kansal et al., "Evaluating generative models in
high energy physics", Phys. Rev. D 107 (2023) 076017, arXiv:2211.10295; the ``jetnet``
package, ``jetnet.utils.efps``):

- :func:`efps_d4`: the 5 prime EFPs with n = 4 vertices and d = 4 edges (energyflow
  ``EFPSet(("n==", 4), ("d==", 4), ("p==", 1))``), the inputs of W1-EFP. With vertices
  i, j, k, l (every index summed over particles):

  0. ring (4-cycle):       z_i z_j z_k z_l  theta_ij theta_jk theta_kl theta_li
  1. triangle + tail:      z_i z_j z_k z_l  theta_ij theta_jk theta_ki theta_kl
  2. star, doubled spoke:  z_i z_j z_k z_l  theta_ij^2 theta_ik theta_il
  3. chain, doubled end:   z_i z_j z_k z_l  theta_ij^2 theta_jk theta_kl
  4. chain, doubled middle: z_i z_j z_k z_l theta_ij theta_jk^2 theta_kl

- :func:`efps_upto_d4`: every EFP with 1 <= d <= 4, prime and composite (35 graphs;
  energyflow ``EFPSet("d<=4")`` also holds the d = 0 graph, sum_i z_i, which is 36 and
  identically 1 for normed energies, so it is left out), the FPD / KPD features.

JetNet itself calls ``EFPSet(..., measure="hadr", beta=1, normed=None)`` on (pT_rel, eta_rel,
phi_rel), i.e. z_i = pT_rel,i unnormalised; with the 30 leading particles sum pT_rel is close
to 1, and ``normed=False`` reproduces that choice exactly.

Every EFP is one ``np.einsum`` over the jets in chunks (``optimize=True`` contracts a tree
graph in O(N P^2), the ring in O(N P^3)).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from hepdl.errors import ConfigError, DataError
from hepdl.physics import kinematics

# A multigraph as its edge list, vertices 0..n-1, a repeated pair is a multiple edge.
Graph = tuple[tuple[int, int], ...]

# The 5 prime n = 4, d = 4 multigraphs, in the order of the module docstring.
EFP_D4_GRAPHS: tuple[Graph, ...] = (
    ((0, 1), (1, 2), (2, 3), (0, 3)),  # ring
    ((0, 1), (1, 2), (0, 2), (2, 3)),  # triangle + tail
    ((0, 1), (0, 1), (0, 2), (0, 3)),  # star with a doubled spoke
    ((0, 1), (0, 1), (1, 2), (2, 3)),  # chain, doubled end edge
    ((0, 1), (1, 2), (1, 2), (2, 3)),  # chain, doubled middle edge
)
EFP_D4_NAMES: tuple[str, ...] = (
    "ring",
    "triangle_tail",
    "star_double_spoke",
    "chain_double_end",
    "chain_double_middle",
)

# Jets per einsum call: bounds the (chunk, P, P, P) intermediates of the ring graph.
_JETS_PER_CHUNK = 512
_VERTEX_LETTERS = "abcdefghij"


def check_point_cloud(
    particles: Any, mask: Any, *, name: str = "particles"
) -> tuple[np.ndarray, np.ndarray]:
    """``particles`` as float64 ``(N, P, 3)`` (eta, phi, pT) with masked slots zeroed, and
    ``mask`` as bool ``(N, P)``; ``DataError`` for a bad shape, NaN/inf or negative pT.

    ``mask=None`` takes the particles with pT != 0 as real (the zero-padding convention of
    JetNet). Values in masked slots are ignored, whatever they are.
    """
    parts = np.asarray(particles)
    if parts.ndim != 3 or parts.shape[-1] != 3 or parts.shape[0] == 0:
        raise DataError(
            f"{name} has shape {parts.shape}; expected (N, P, 3) with N >= 1 jets of P "
            f"particles as (eta, phi, pT)"
        )
    if parts.dtype.kind not in "biuf":
        raise DataError(f"{name} has dtype {parts.dtype}; expected real numbers")
    parts = parts.astype(np.float64)
    if mask is None:
        with np.errstate(invalid="ignore"):
            keep = parts[..., 2] != 0  # NaN pT stays True: reported as non-finite below
    else:
        keep = np.asarray(mask)
        if keep.shape == (*parts.shape[:2], 1):
            keep = keep[..., 0]  # JetNet also accepts (N, P, 1)
        if keep.shape != parts.shape[:2]:
            raise DataError(
                f"mask of {name} has shape {keep.shape}; expected {parts.shape[:2]} "
                f"(one flag per particle of {name})"
            )
        keep = keep.astype(bool)
    real = parts[keep]  # (M, 3)
    if not np.isfinite(real).all():
        raise DataError(f"{name} has NaN or inf values in unmasked particles; expected finite")
    if (real[:, 2] < 0).any():
        raise DataError(
            f"{name} has negative pT (feature 2) in {int((real[:, 2] < 0).sum())} unmasked "
            f"particles; expected pT >= 0 (clip generated pT or mask those particles)"
        )
    return np.where(keep[..., None], parts, 0.0), keep


def energies_and_angles(
    particles: np.ndarray, mask: np.ndarray, *, beta: float = 1.0, normed: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The hadronic measure: ``z (N, P)`` (0 for masked slots) and ``theta (N, P, P)``.

    Expects checked input (:func:`check_point_cloud`). An empty or zero-pT jet has z = 0.
    """
    pt = np.where(mask, particles[..., 2], 0.0)  # (N, P)
    if normed:
        total = pt.sum(axis=1, keepdims=True)  # (N, 1)
        z = np.divide(pt, total, out=np.zeros_like(pt), where=total > 0)
    else:
        z = pt
    eta, phi = particles[..., 0], particles[..., 1]
    theta = kinematics.delta_r(eta[:, :, None], phi[:, :, None], eta[:, None, :], phi[:, None, :])
    return z, theta**beta  # (N, P), (N, P, P)


def efp(
    particles: Any,
    mask: Any,
    graph: Sequence[tuple[int, int]],
    *,
    beta: float = 1.0,
    normed: bool = True,
) -> np.ndarray:
    """The EFP of one multigraph ``graph`` (edge list over vertices 0..n-1), ``(N,)``."""
    return efp_set(particles, mask, [tuple(graph)], beta=beta, normed=normed)[:, 0]


def efp_set(
    particles: Any,
    mask: Any,
    graphs: Sequence[Sequence[tuple[int, int]]],
    *,
    beta: float = 1.0,
    normed: bool = True,
) -> np.ndarray:
    """EFPs of several multigraphs, ``(N, len(graphs))``.

    Each graph is an edge list; a disconnected graph is computed as the product of its
    connected components, so composite EFPs cost no more than their prime factors.
    """
    parts, keep = check_point_cloud(particles, mask)
    beta = _check_beta(beta)
    canon = [_check_graph(g, index=i) for i, g in enumerate(graphs)]
    components = {c: None for g in canon for c in _components(g)}  # ordered, unique
    out = np.ones((parts.shape[0], len(canon)))
    for start in range(0, parts.shape[0], _JETS_PER_CHUNK):
        stop = start + _JETS_PER_CHUNK
        z, theta = energies_and_angles(
            parts[start:stop], keep[start:stop], beta=beta, normed=normed
        )
        powers: dict[int, np.ndarray] = {}
        values = {c: _connected_efp(c, z, theta, powers) for c in components}
        for column, g in enumerate(canon):
            for c in _components(g):
                out[start:stop, column] *= values[c]
    return out


def efps_d4(particles: Any, mask: Any, *, beta: float = 1.0, normed: bool = True) -> np.ndarray:
    """The 5 prime n = 4, d = 4 EFPs of JetNet's W1-EFP, ``(N, 5)`` in ``EFP_D4_NAMES`` order."""
    return efp_set(particles, mask, EFP_D4_GRAPHS, beta=beta, normed=normed)


def efps_upto_d4(
    particles: Any, mask: Any, *, beta: float = 1.0, normed: bool = True
) -> np.ndarray:
    """All 35 EFPs with 1 <= d <= 4 (``efp_graphs(4)``), ``(N, 35)``: JetNet's FPD/KPD
    features without the constant d = 0 graph."""
    return efp_set(particles, mask, efp_graphs(4), beta=beta, normed=normed)


@cache
def connected_graphs(degree: int) -> tuple[Graph, ...]:
    """Every connected loop-free multigraph with ``degree`` edges, one per isomorphism class.

    Brute force, fine for degree <= 5: all multisets of ``degree`` edges on up to
    ``degree + 1`` vertices, kept when connected and using every vertex, reduced to the
    lexicographically smallest relabelling. Counts 1, 2, 5, 12 for d = 1..4.
    """
    found: set[Graph] = set()
    for n in range(2, degree + 2):
        pairs = list(itertools.combinations(range(n), 2))
        for edges in itertools.combinations_with_replacement(pairs, degree):
            if len({v for e in edges for v in e}) == n and len(_components(edges)) == 1:
                found.add(_canonical(edges))
    return tuple(sorted(found, key=lambda g: (_n_vertices(g), g)))


@cache
def efp_graphs(max_degree: int) -> tuple[Graph, ...]:
    """Every multigraph with 1 <= d <= ``max_degree`` edges, prime and composite.

    Ordered by degree, then the prime graphs (by vertex count) before the products; a
    composite graph's components sit on disjoint vertex labels. 35 graphs for d <= 4.
    """
    graphs: list[Graph] = []
    for degree in range(1, max_degree + 1):
        for split in _partitions(degree):
            pools = [connected_graphs(part) for part in split]
            seen: set[tuple[Graph, ...]] = set()
            for combo in itertools.product(*pools):
                key = tuple(sorted(combo))
                if key in seen:
                    continue
                seen.add(key)
                graphs.append(_disjoint_union(combo))
    return tuple(graphs)


@cache
def efp_d4_columns() -> tuple[int, ...]:
    """Where the 5 ``EFP_D4_GRAPHS`` sit among ``efp_graphs(4)`` (one computation for both)."""
    graphs = efp_graphs(4)
    return tuple(graphs.index(_canonical(g)) for g in EFP_D4_GRAPHS)


def _connected_efp(
    graph: Graph, z: np.ndarray, theta: np.ndarray, powers: dict[int, np.ndarray]
) -> np.ndarray:
    """One connected EFP by einsum, ``(chunk,)``; ``powers`` caches theta**w per chunk."""
    n = _n_vertices(graph)
    multiplicity: dict[tuple[int, int], int] = {}
    for edge in graph:
        multiplicity[edge] = multiplicity.get(edge, 0) + 1
    letters = _VERTEX_LETTERS
    subscripts = [f"z{letters[v]}" for v in range(n)]
    operands = [z] * n
    for (a, b), w in multiplicity.items():
        if w not in powers:
            powers[w] = theta**w  # (chunk, P, P)
        subscripts.append(f"z{letters[a]}{letters[b]}")
        operands.append(powers[w])
    return np.einsum(",".join(subscripts) + "->z", *operands, optimize=True)


def _check_beta(beta: Any) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not beta > 0:
        raise ConfigError(f"beta is {beta!r}; expected a positive number (the angular exponent)")
    return float(beta)


def _check_graph(graph: Any, *, index: int) -> Graph:
    try:
        edges = tuple((int(a), int(b)) for a, b in graph)
    except (TypeError, ValueError):
        raise ConfigError(
            f"graph {index} is {graph!r}; expected a list of (vertex, vertex) edges"
        ) from None
    vertices = {v for e in edges for v in e}
    if not edges or any(a == b for a, b in edges) or vertices != set(range(len(vertices))):
        raise ConfigError(
            f"graph {index} is {graph!r}; expected a non-empty list of edges between distinct "
            f"vertices numbered 0..n-1 with none left out"
        )
    if len(vertices) > len(_VERTEX_LETTERS):
        raise ConfigError(f"graph {index} has {len(vertices)} vertices; at most 10 supported")
    return tuple(tuple(sorted(e)) for e in edges)


def _n_vertices(graph: Graph) -> int:
    return len({v for e in graph for v in e})


def _components(graph: Sequence[tuple[int, int]]) -> list[Graph]:
    """The connected components, each relabelled canonically."""
    parent: dict[int, int] = {}

    def root(v: int) -> int:
        while parent.setdefault(v, v) != v:
            v = parent[v]
        return v

    for a, b in graph:
        parent[root(a)] = root(b)
    groups: dict[int, list[tuple[int, int]]] = {}
    for edge in graph:
        groups.setdefault(root(edge[0]), []).append(edge)
    return sorted(_canonical(edges) for edges in groups.values())


def _canonical(edges: Sequence[tuple[int, int]]) -> Graph:
    """The lexicographically smallest relabelling of ``edges`` onto 0..n-1."""
    vertices = sorted({v for e in edges for v in e})
    return min(
        tuple(sorted(tuple(sorted((relabel[a], relabel[b]))) for a, b in edges))
        for relabel in (
            dict(zip(vertices, perm, strict=True))
            for perm in itertools.permutations(range(len(vertices)))
        )
    )


def _disjoint_union(parts: Sequence[Graph]) -> Graph:
    edges: list[tuple[int, int]] = []
    offset = 0
    for g in parts:
        edges.extend((a + offset, b + offset) for a, b in g)
        offset += _n_vertices(g)
    return tuple(edges)


def _partitions(n: int, largest: int | None = None) -> list[tuple[int, ...]]:
    """Integer partitions of ``n`` in non-increasing parts, e.g. 4, 3+1, 2+2, 2+1+1, ..."""
    largest = n if largest is None else largest
    if n == 0:
        return [()]
    return [
        (first, *rest)
        for first in range(min(n, largest), 0, -1)
        for rest in _partitions(n - first, first)
    ]
