"""The ``graph`` representation: kNN and edge features against loops over particle pairs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from tests.data.test_data_repr_particles import naive_jet, naive_pair
from tests.data.test_data_representations_tables import make_table, random_table

from hepdl.data import create_representation, representation_from_config
from hepdl.errors import ConfigError


def naive_neighbours(points: list[list[float]], k: int) -> list[list[int]]:
    """For each point, the indices of the k nearest others (fewer if there are fewer)."""
    out = []
    for i, a in enumerate(points):
        others = [
            (sum((x - y) ** 2 for x, y in zip(a, b, strict=True)), j)
            for j, b in enumerate(points)
            if j != i
        ]
        out.append([j for _, j in sorted(others)[:k]])
    return out


def test_neighbours_and_edge_features_match_pair_loops() -> None:
    table = random_table(np.random.default_rng(11), n_jets=5, min_particles=1, max_particles=14)
    rep = create_representation("graph", k=4, max_particles=16)
    assert rep.edge_feature_names == [
        "delta_eta",
        "delta_phi",
        "ln_delta",
        "ln_kt",
        "ln_z",
        "ln_m2",
    ]
    out = rep(table, source="m")
    assert out["neighbours"].shape == (5, 16, 4) and out["neighbours"].dtype == np.int64
    assert out["edge_features"].shape == (5, 16, 4, 6)
    assert out["edge_features"].dtype == np.float32 and out["edge_mask"].dtype == bool
    for row in range(5):
        n = int(out["mask"][row].sum())
        points = out["points"][row, :n].astype(np.float64).tolist()
        expected = naive_neighbours(points, 4)
        particles = sorted(naive_jet(table, row), key=lambda p: -math.hypot(p[0], p[1]))
        for i in range(16):
            got = out["neighbours"][row, i]
            if i >= n:
                assert (got == -1).all() and not out["edge_mask"][row, i].any()
                continue
            m = len(expected[i])
            assert got[:m].tolist() == expected[i]
            assert (got[m:] == -1).all()
            assert out["edge_mask"][row, i].tolist() == [True] * m + [False] * (4 - m)
            for slot, j in enumerate(expected[i]):
                d_eta = points[j][0] - points[i][0]
                d_phi = (points[j][1] - points[i][1] + math.pi) % (2 * math.pi) - math.pi
                pair = naive_pair(particles[i], particles[j])
                edge = out["edge_features"][row, i, slot]
                assert np.allclose(edge, [d_eta, d_phi, *pair], rtol=1e-4, atol=1e-5)
            assert not out["edge_features"][row, i, m:].any()


def test_jets_with_fewer_than_k_plus_one_constituents() -> None:
    table = make_table(
        [[30.0, 20.0, 10.0], [], [5.0]], [[0.0, 0.1, 0.3], [], [0.0]], [[0.0, 0.0, 0.0], [], [0.0]]
    )
    rep = create_representation("graph", k=4, max_particles=3, features=["log_pt"])
    out = rep(table, source="m")
    assert out["neighbours"][0].tolist() == [
        [1, 2, -1, -1],
        [0, 2, -1, -1],
        [1, 0, -1, -1],
    ]
    assert out["edge_mask"][0].sum(axis=1).tolist() == [2, 2, 2]
    # the empty jet and the single-particle jet have no edges at all
    assert (out["neighbours"][1:] == -1).all() and not out["edge_mask"][1:].any()
    assert not out["edge_features"][1:].any() and np.isfinite(out["edge_features"]).all()


def test_neighbours_in_feature_space() -> None:
    # log pT of 100, 90, 10, 9: in feature space 100 ~ 90 and 10 ~ 9, whatever the angles.
    table = make_table([[100.0, 10.0, 90.0, 9.0]], [[0.0, 0.01, 0.4, 0.41]], [[0.0] * 4])
    graph = create_representation("graph", k=1, space="features", features=["log_pt"])
    out = graph(table, source="m")
    assert out["neighbours"][0, :4, 0].tolist() == [1, 0, 3, 2]  # slots by decreasing pT
    nearby = create_representation("graph", k=1, features=["log_pt"])(table, source="m")
    assert nearby["neighbours"][0, :4, 0].tolist() == [2, 3, 0, 1]  # (Delta eta, Delta phi)


def test_graph_edge_feature_subset_and_config_round_trip() -> None:
    rep = create_representation(
        "graph", k=2, space="features", max_particles=8, edge_features=["ln_kt", "delta_phi"]
    )
    config = json.loads(json.dumps(rep.config()))
    assert config["k"] == 2 and config["space"] == "features"
    assert config["edge_features"] == ["ln_kt", "delta_phi"]
    again = representation_from_config(config)
    assert again.config() == rep.config()
    table = random_table(np.random.default_rng(12), n_jets=2, min_particles=3)
    full = create_representation("graph", k=2, space="features", max_particles=8)
    subset = again(table, source="m")["edge_features"]
    assert np.array_equal(subset, full(table, source="m")["edge_features"][..., [3, 1]])


def test_graph_bad_options() -> None:
    with pytest.raises(ConfigError, match=r"representation 'graph': option k=0; expected an"):
        create_representation("graph", k=0)
    with pytest.raises(
        ConfigError,
        match=r"option space='feature' \(did you mean 'features'\?\); expected one of "
        r"coordinates, features",
    ):
        create_representation("graph", space="feature")
    with pytest.raises(
        ConfigError, match=r"option edge_features has unknown name 'ln_pt' \(did you mean"
    ):
        create_representation("graph", edge_features=["ln_pt"])
