"""Clustering trees: the batched clustering against FastJet, and the tree layout."""

from __future__ import annotations

import json
import math
import warnings

import awkward as ak
import numpy as np
import pytest
from tests.data.test_data_representations_tables import make_table, random_table

from hepdl.data import create_representation, representation_from_config
from hepdl.data.representations import select_jets
from hepdl.data.representations._constituents import read_constituents
from hepdl.errors import ConfigError
from hepdl.physics.clustering_tree import cluster_history

fastjet = pytest.importorskip("fastjet")

ALGORITHMS = {
    "kt": fastjet.kt_algorithm,
    "cambridge_aachen": fastjet.cambridge_algorithm,
    "antikt": fastjet.antikt_algorithm,
}
R = fastjet.JetDefinition.max_allowable_R


def fastjet_sequence(table: ak.Array, algorithm: str):
    records = ak.zip(
        {
            "px": table.part_px,
            "py": table.part_py,
            "pz": table.part_pz,
            "E": table.part_energy,
        }
    )
    return fastjet.ClusterSequence(records, fastjet.JetDefinition(ALGORITHMS[algorithm], R))


def sample(seed: int = 21) -> ak.Array:
    return random_table(np.random.default_rng(seed), n_jets=12, min_particles=2, max_particles=16)


@pytest.mark.parametrize("algorithm", list(ALGORITHMS))
def test_merging_scales_and_exclusive_jets_match_fastjet(algorithm: str) -> None:
    table = sample()
    jets = read_constituents(table, source="m", representation="tree", max_particles=None)
    history = cluster_history(jets.four_momentum, jets.mask, algorithm=algorithm)
    counts, width = jets.counts, jets.mask.shape[1]
    sequence = fastjet_sequence(table, algorithm)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fastjet warns about exclusive jets of C/A, anti-kT
        for n in range(1, int(counts.max())):
            # FastJet's exclusive_dmerge(n) is the d_ij of the step from n + 1 jets to n.
            expected = ak.to_numpy(sequence.exclusive_dmerge(n))
            step = counts - 1 - n
            rows = np.flatnonzero(step >= 0)
            mine = history.distance[rows, step[rows]] / R**2
            assert np.allclose(mine, expected[rows], rtol=1e-9), n
        for n in (2, 3):
            reference = sequence.exclusive_jets_up_to(n)
            for row in range(len(counts)):
                alive = {slot: jets.four_momentum[row, slot] for slot in range(counts[row])}
                for s in range(max(counts[row] - n, 0)):
                    for child in history.children[row, s]:
                        del alive[child]
                    alive[width + s] = history.momenta[row, s]
                got = sorted(alive.values(), key=lambda p: -math.hypot(p[0], p[1]))
                want = sorted(
                    ([j["px"], j["py"], j["pz"], j["E"]] for j in ak.to_list(reference[row])),
                    key=lambda p: -math.hypot(p[0], p[1]),
                )
                assert np.allclose(got, want, rtol=1e-9), (n, row)


@pytest.mark.parametrize("algorithm", ["kt", "antikt"])
def test_tree_layout_is_consistent(algorithm: str) -> None:
    table = sample()
    tree = create_representation("tree", algorithm=algorithm)(table, source="m")
    counts = np.asarray(ak.num(table.part_px))
    assert np.diff(tree["offsets"]).tolist() == (2 * counts - 1).tolist()
    assert tree["roots"].tolist() == (tree["offsets"][1:] - 1).tolist()
    children, level, jet = tree["children"], tree["level"], tree["jet"]
    for row in range(len(counts)):
        start, stop = tree["offsets"][row], tree["offsets"][row + 1]
        assert (jet[start:stop] == row).all()
        nodes = np.arange(start, stop)
        leaves = nodes[children[nodes, 0] < 0]
        merges = nodes[children[nodes, 0] >= 0]
        assert len(leaves) == counts[row] and (level[leaves] == 0).all()
        assert sorted(tree["constituent"][leaves]) == list(range(counts[row]))
        assert (tree["constituent"][merges] == -1).all()
        # every node but the root is merged exactly once, into a node of the same jet
        merged = np.sort(children[merges].ravel())
        assert merged.tolist() == sorted(set(nodes) - {tree["roots"][row]})
        for node in merges:
            a, b = children[node]
            assert level[node] == 1 + max(level[a], level[b])
            pt = np.hypot(tree["momenta"][[a, b], 0], tree["momenta"][[a, b], 1])
            assert pt[0] >= pt[1]  # the harder child first
        assert (np.diff(level[start:stop]) >= 0).all()  # level order within the jet
    # root = the whole jet
    jet_sum = np.stack(
        [ak.to_numpy(ak.sum(table[c], axis=1)) for c in ("part_px", "part_py", "part_pz")], axis=1
    )
    assert np.allclose(tree["momenta"][tree["roots"], :3], jet_sum, rtol=1e-5)


def test_level_by_level_recursion_rebuilds_every_node() -> None:
    """What a recursive network does: embed leaves, then combine children level by level."""
    tree = create_representation("tree", algorithm="cambridge_aachen")(sample(), source="m")
    momenta = tree["momenta"].astype(np.float64)
    state = np.where((tree["level"] == 0)[:, None], momenta, np.nan)  # (T, 4)
    for level in range(1, int(tree["level"].max()) + 1):
        nodes = np.flatnonzero(tree["level"] == level)
        children = tree["children"][nodes]  # (n, 2)
        assert np.isfinite(state[children]).all()  # children are ready
        state[nodes] = state[children[:, 0]] + state[children[:, 1]]
    assert np.allclose(state, momenta, rtol=1e-5, atol=1e-4)


def test_default_node_features_are_jet_relative_with_the_mass() -> None:
    """Default: Delta eta, Delta phi to the jet (root) axis, p, pT, E, m = sqrt(E^2 - p^2)."""
    rep = create_representation("tree")
    tree = rep(sample(), source="m")
    assert rep.feature_names == ["delta_eta", "delta_phi", "p", "pt", "energy", "mass"]
    for node in range(0, len(tree["jet"]), 5):
        px, py, pz, e = map(float, tree["momenta"][node])
        jx, jy, jz, _ = map(float, tree["momenta"][tree["roots"][tree["jet"][node]]])
        pt, p = math.hypot(px, py), math.sqrt(px * px + py * py + pz * pz)
        dphi = math.atan2(py, px) - math.atan2(jy, jx)
        dphi = (dphi + math.pi) % (2 * math.pi) - math.pi
        expected = [
            math.asinh(pz / pt) - math.asinh(jz / math.hypot(jx, jy)),
            dphi,
            p,
            pt,
            e,
            math.sqrt(max(e * e - p * p, 0.0)),
        ]
        assert np.allclose(tree["features"][node], expected, rtol=1e-4, atol=2e-3), node


def test_node_features_match_their_formulas() -> None:
    rep = create_representation("tree", features=["p", "eta", "theta", "phi", "energy", "pt"])
    tree = rep(sample(), source="m")
    for node in range(0, len(tree["jet"]), 7):
        px, py, pz, e = map(float, tree["momenta"][node])
        pt = math.hypot(px, py)
        expected = [
            math.sqrt(px * px + py * py + pz * pz),
            math.asinh(pz / pt),
            math.atan2(pt, pz),
            math.atan2(py, px),
            e,
            pt,
        ]
        assert np.allclose(tree["features"][node], expected, rtol=1e-5, atol=1e-5), node
    # m^2 = 2 pT1 pT2 (cosh(Delta eta) - cos(Delta phi)) for two massless particles
    pair = make_table([[10.0, 20.0]], [[0.0, 0.3]], [[0.0, 0.2]])
    mass = create_representation("tree", features=["mass", "delta_eta", "delta_phi"])
    root = mass(pair, source="m")["features"][2]
    expected_mass = math.sqrt(2 * 10 * 20 * (math.cosh(0.3) - math.cos(0.2)))
    assert root.tolist() == pytest.approx([expected_mass, 0.0, 0.0], abs=1e-6)


def test_empty_and_single_particle_jets_and_truncation() -> None:
    table = make_table(
        [[], [10.0], [40.0, 30.0, 20.0, 10.0]],
        [[], [0.0], [0.0, 0.1, 0.2, 0.3]],
        [[], [0.0], [0.0, 0.0, 0.0, 0.0]],
    )
    tree = create_representation("tree")(table, source="m")
    assert tree["offsets"].tolist() == [0, 0, 1, 8]
    assert tree["roots"].tolist() == [-1, 0, 7]
    assert tree["children"][0].tolist() == [-1, -1] and tree["constituent"][0] == 0
    hardest = create_representation("tree", max_particles=2)(table, source="m")
    assert hardest["offsets"].tolist() == [0, 0, 1, 4]
    assert sorted(hardest["constituent"][1:3].tolist()) == [0, 1]
    only_empty = create_representation("tree")(table[:1], source="m")
    assert only_empty["offsets"].tolist() == [0, 0] and only_empty["children"].shape == (0, 2)
    # many empty jets (whole blocks of the neighbour search) before the others
    mostly_empty = create_representation("tree")(table[[0] * 70 + [2, 1]], source="m")
    assert mostly_empty["offsets"][-3:].tolist() == [0, 7, 8]
    assert mostly_empty["roots"][-3:].tolist() == [-1, 6, 7]


def test_select_jets_equals_clustering_those_jets_alone() -> None:
    table = sample()
    rep = create_representation("tree")
    tree = rep(table, source="m")
    rows = [5, 0, 9]
    picked = select_jets(tree, rows)
    alone = rep(table[rows], source="m")
    assert set(picked) == set(alone)
    for key in alone:
        assert np.array_equal(picked[key], alone[key]), key


def test_tree_bad_options_and_config_round_trip() -> None:
    with pytest.raises(
        ConfigError,
        match=r"representation 'tree': option algorithm='anti-kt' \(did you mean 'antikt'\?\); "
        r"expected one of kt, cambridge_aachen, antikt",
    ):
        create_representation("tree", algorithm="anti-kt")
    with pytest.raises(
        ConfigError, match=r"option max_particles=0; expected an integer >= 1 or null"
    ):
        create_representation("tree", max_particles=0)
    with pytest.raises(ConfigError, match=r"option features has unknown name 'rapidity'"):
        create_representation("tree", features=["rapidity"])
    with pytest.raises(ConfigError, match=r"algorithm='kt4': expected one of kt, cambridge_aachen"):
        cluster_history(np.zeros((1, 2, 4)), np.ones((1, 2), dtype=bool), algorithm="kt4")
    rep = create_representation("tree", algorithm="antikt", max_particles=30)
    config = json.loads(json.dumps(rep.config()))
    assert config == {
        "name": "tree",
        "algorithm": "antikt",
        "max_particles": 30,
        "features": ["delta_eta", "delta_phi", "p", "pt", "energy", "mass"],
    }
    assert representation_from_config(config).config() == config


def test_chunking_does_not_change_the_history(monkeypatch: pytest.MonkeyPatch) -> None:
    import hepdl.physics.clustering_tree as clustering

    table = sample(seed=22)
    jets = read_constituents(table, source="m", representation="tree", max_particles=None)
    whole = cluster_history(jets.four_momentum, jets.mask, algorithm="kt")
    monkeypatch.setattr(clustering, "_SLOTS_PER_CHUNK", 40)  # 2 or 3 jets per chunk
    monkeypatch.setattr(clustering, "_JETS_PER_SEARCH", 3)
    pieces = cluster_history(jets.four_momentum, jets.mask, algorithm="kt")
    for field in ("children", "distance", "momenta", "height"):
        assert np.array_equal(getattr(pieces, field), getattr(whole, field)), field
    assert whole.n_merges.tolist() == (jets.counts - 1).tolist()
