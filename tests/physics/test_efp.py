"""Energy flow polynomials against naive loops over particles, graph counts and bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from hepdl.errors import ConfigError, DataError
from hepdl.physics import efp

# ---------------------------------------------------------------- naive references


def random_jets(rng: np.random.Generator, n_jets: int, n_particles: int) -> tuple:
    """(N, P, 3) (eta, phi, pT) with the last slot of every other jet masked (garbage)."""
    parts = np.stack(
        [
            rng.normal(0.0, 0.3, (n_jets, n_particles)),
            rng.normal(0.0, 0.3, (n_jets, n_particles)),
            rng.exponential(1.0, (n_jets, n_particles)),
        ],
        axis=-1,
    )
    mask = np.ones((n_jets, n_particles), dtype=bool)
    mask[::2, -1] = False
    parts[::2, -1] = [np.nan, 99.0, -5.0]  # must be ignored
    return parts, mask


def naive_measure(jet: np.ndarray, keep: np.ndarray, *, beta: float, normed: bool) -> tuple:
    """Plain-Python z_i and theta_ij of one jet's real particles."""
    real = [tuple(p) for p, k in zip(jet, keep, strict=True) if k]
    total = sum(p[2] for p in real)
    z = [p[2] / total if normed else p[2] for p in real]
    theta = [
        [
            math.hypot(a[0] - b[0], (a[1] - b[1] + math.pi) % (2 * math.pi) - math.pi) ** beta
            for b in real
        ]
        for a in real
    ]
    return z, theta


def naive_d4(jet: np.ndarray, keep: np.ndarray, *, beta: float = 1.0, normed: bool = True):
    """The 5 n = 4, d = 4 EFPs written out by hand as quadruple loops."""
    z, t = naive_measure(jet, keep, beta=beta, normed=normed)
    out = [0.0] * 5
    r = range(len(z))
    for i in r:
        for j in r:
            for k in r:
                for m in r:
                    w = z[i] * z[j] * z[k] * z[m]
                    out[0] += w * t[i][j] * t[j][k] * t[k][m] * t[m][i]  # ring
                    out[1] += w * t[i][j] * t[j][k] * t[k][i] * t[k][m]  # triangle + tail
                    out[2] += w * t[i][j] ** 2 * t[i][k] * t[i][m]  # star, doubled spoke
                    out[3] += w * t[i][j] ** 2 * t[j][k] * t[k][m]  # chain, doubled end
                    out[4] += w * t[i][j] * t[j][k] ** 2 * t[k][m]  # chain, doubled middle
    return out


def naive_graph(jet: np.ndarray, keep: np.ndarray, graph, *, beta: float = 1.0) -> float:
    """Any graph: a loop over every assignment of particles to its vertices."""
    z, t = naive_measure(jet, keep, beta=beta, normed=True)
    n = len({v for e in graph for v in e})
    total = 0.0
    for assign in itertools.product(range(len(z)), repeat=n):
        term = math.prod(z[i] for i in assign)
        for a, b in graph:
            term *= t[assign[a]][assign[b]]
        total += term
    return total


# ---------------------------------------------------------------- values


@pytest.mark.parametrize(("beta", "normed"), [(1.0, True), (0.5, True), (1.0, False)])
def test_efps_d4_match_quadruple_loops(beta, normed):
    parts, mask = random_jets(np.random.default_rng(1), 6, 5)
    got = efp.efps_d4(parts, mask, beta=beta, normed=normed)
    assert got.shape == (6, 5)
    want = [naive_d4(j, k, beta=beta, normed=normed) for j, k in zip(parts, mask, strict=True)]
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_every_d_le_4_graph_matches_a_naive_loop():
    parts, mask = random_jets(np.random.default_rng(2), 3, 4)
    graphs = efp.efp_graphs(4)
    got = efp.efps_upto_d4(parts, mask)
    assert got.shape == (3, 35)
    for column, graph in enumerate(graphs):
        if len({v for e in graph for v in e}) > 6:  # 4^8 assignments: check via products below
            continue
        want = [naive_graph(j, k, graph) for j, k in zip(parts, mask, strict=True)]
        np.testing.assert_allclose(got[:, column], want, rtol=1e-11, err_msg=str(graph))


def test_composite_graph_is_the_product_of_its_parts():
    parts, mask = random_jets(np.random.default_rng(3), 4, 6)
    single = efp.efp(parts, mask, [(0, 1)])
    four_singles = efp.efp(parts, mask, [(0, 1), (2, 3), (4, 5), (6, 7)])
    np.testing.assert_allclose(four_singles, single**4, rtol=1e-12)
    # d = 2 chain times a doubled edge, written with interleaved vertex labels
    product = efp.efp(parts, mask, [(0, 2), (2, 3), (1, 4), (1, 4)])
    want = efp.efp(parts, mask, [(0, 1), (1, 2)]) * efp.efp(parts, mask, [(0, 1), (0, 1)])
    np.testing.assert_allclose(product, want, rtol=1e-12)


def test_simple_efps_have_closed_forms():
    # Two particles: EFP of one edge = 2 z1 z2 theta12 (both orderings of the pair).
    parts = np.array([[[0.0, 0.0, 3.0], [0.3, 0.4, 1.0]]])
    mask = np.ones((1, 2), dtype=bool)
    np.testing.assert_allclose(efp.efp(parts, mask, [(0, 1)]), [2 * 0.75 * 0.25 * 0.5])
    # A single particle has every angle 0.
    np.testing.assert_allclose(efp.efps_d4(parts[:, :1], mask[:, :1]), np.zeros((1, 5)))


def test_phi_difference_is_wrapped():
    parts = np.array([[[0.0, math.pi - 0.1, 1.0], [0.0, -math.pi + 0.1, 1.0]]])
    got = efp.efp(parts, np.ones((1, 2), dtype=bool), [(0, 1)])
    np.testing.assert_allclose(got, [2 * 0.25 * 0.2])


def test_invariances_and_chunking(monkeypatch):
    rng = np.random.default_rng(4)
    parts, mask = random_jets(rng, 9, 7)
    base = efp.efps_upto_d4(parts, mask)
    order = rng.permutation(7)
    shifted = parts.copy()
    shifted[..., 0] += 1.3  # a boost along the beam
    shifted[..., 2] *= 40.0  # overall pT scale: z is normed
    np.testing.assert_allclose(efp.efps_upto_d4(parts[:, order], mask[:, order]), base)
    np.testing.assert_allclose(efp.efps_upto_d4(shifted, mask), base, rtol=1e-10)
    monkeypatch.setattr(efp, "_JETS_PER_CHUNK", 2)  # several einsum chunks, same answer
    np.testing.assert_allclose(efp.efps_upto_d4(parts, mask), base, rtol=1e-12)


def test_mask_none_uses_nonzero_pt_and_empty_jets_are_zero():
    parts, mask = random_jets(np.random.default_rng(5), 2, 4)
    parts[~mask] = 0.0
    np.testing.assert_allclose(efp.efps_d4(parts, None), efp.efps_d4(parts, mask))
    empty = np.zeros((1, 3, 3))
    np.testing.assert_array_equal(efp.efps_upto_d4(empty, np.zeros((1, 3), bool)), 0.0)


# ---------------------------------------------------------------- graph sets


def test_graph_counts_match_energyflow():
    # Connected multigraphs with d edges: 1, 2, 5, 12 (energyflow's prime EFP counts);
    # all d <= 4 graphs: 35, plus energyflow's d = 0 graph = its 36.
    assert [len(efp.connected_graphs(d)) for d in range(1, 5)] == [1, 2, 5, 12]
    graphs = efp.efp_graphs(4)
    assert len(graphs) == 35
    assert [sum(1 for g in graphs if len(g) == d) for d in range(1, 5)] == [1, 3, 8, 23]
    assert len({efp._canonical(g) for g in graphs}) == 35  # no two isomorphic
    n4d4 = [g for g in efp.connected_graphs(4) if len({v for e in g for v in e}) == 4]
    assert sorted(n4d4) == sorted(efp._canonical(g) for g in efp.EFP_D4_GRAPHS)
    columns = efp.efp_d4_columns()
    assert [efp._canonical(graphs[c]) for c in columns] == [
        efp._canonical(g) for g in efp.EFP_D4_GRAPHS
    ]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("particles", "mask", "message"),
    [
        (np.zeros((2, 3)), None, r"particles has shape \(2, 3\); expected \(N, P, 3\)"),
        (np.zeros((2, 3, 4)), None, r"particles has shape \(2, 3, 4\)"),
        (np.zeros((0, 3, 3)), None, r"expected \(N, P, 3\) with N >= 1"),
        (np.zeros((2, 3, 3)), np.ones((2, 4)), r"mask of particles has shape \(2, 4\)"),
        (np.full((1, 2, 3), np.nan), np.ones((1, 2)), "NaN or inf"),
        (np.array([[[0.0, 0.0, -1.0]]]), np.ones((1, 1)), "negative pT"),
        (np.array([[["a", "b", "c"]]]), None, "dtype"),
    ],
)
def test_bad_particles_raise(particles, mask, message):
    with pytest.raises(DataError, match=message):
        efp.efps_d4(particles, mask)


@pytest.mark.parametrize(
    ("graph", "message"),
    [
        ([], "non-empty list of edges"),
        ([(0, 0)], "distinct"),
        ([(0, 2)], "numbered 0..n-1"),
        (["ab"], "expected a list of"),
        ([(0,)], "expected a list of"),
    ],
)
def test_bad_graph_raises(graph, message):
    parts, mask = random_jets(np.random.default_rng(6), 1, 3)
    with pytest.raises(ConfigError, match=message):
        efp.efp(parts, mask, graph)


@pytest.mark.parametrize("beta", [0, -1.0, True, "1"])
def test_bad_beta_raises(beta):
    parts, mask = random_jets(np.random.default_rng(7), 1, 3)
    with pytest.raises(ConfigError, match=r"beta is .*; expected a positive number"):
        efp.efps_d4(parts, mask, beta=beta)
