"""The ``sequence`` and ``point_cloud`` representations against per-particle loops."""

from __future__ import annotations

import json
import math

import awkward as ak
import numpy as np
import pytest
from tests.data.test_data_representations_tables import make_table, random_table, table_lists

from hepdl.data import create_representation, representation_from_config
from hepdl.errors import ConfigError, DataError


def naive_jet(table: ak.Array, row: int) -> list[tuple[float, float, float, float]]:
    columns = ("part_px", "part_py", "part_pz", "part_energy")
    return list(zip(*(table_lists(table, c)[row] for c in columns), strict=True))


def naive_particle_features(table: ak.Array, row: int) -> list[list[float]]:
    """The 13 point-cloud features of each constituent of jet ``row``, in decreasing pT."""
    particles = naive_jet(table, row)
    charges = table_lists(table, "part_charge")[row]
    pids = table_lists(table, "part_pid")[row]
    jx, jy, jz, je = (sum(p[i] for p in particles) for i in range(4))
    jet_pt = math.hypot(jx, jy)
    jet_eta, jet_phi = math.asinh(jz / jet_pt), math.atan2(jy, jx)
    rows = []
    for (px, py, pz, e), q, pid in zip(particles, charges, pids, strict=True):
        pt = math.hypot(px, py)
        deta = math.asinh(pz / pt) - jet_eta
        dphi = math.atan2(py, px) - jet_phi
        while dphi >= math.pi:
            dphi -= 2 * math.pi
        while dphi < -math.pi:
            dphi += 2 * math.pi
        if abs(pid) == 11:
            kind = 3
        elif abs(pid) == 13:
            kind = 4
        elif pid == 22:
            kind = 2
        elif q != 0:
            kind = 0
        else:
            kind = 1
        onehot = [1.0 if k == kind else 0.0 for k in range(5)]
        rows.append(
            [
                deta,
                dphi,
                math.log(pt),
                math.log(e),
                math.log(pt / jet_pt),
                math.log(e / je),
                math.hypot(deta, dphi),
                q,
                *onehot,
            ]
        )
    return sorted(rows, key=lambda r: -r[2])


def naive_pair(a: tuple, b: tuple, eps: float = 1e-8) -> list[float]:
    def rap_phi_pt(p: tuple) -> tuple[float, float, float]:
        return (
            0.5 * math.log((p[3] + p[2]) / (p[3] - p[2])),
            math.atan2(p[1], p[0]),
            math.hypot(p[0], p[1]),
        )

    ya, fa, pta = rap_phi_pt(a)
    yb, fb, ptb = rap_phi_pt(b)
    dphi = abs(fa - fb)
    dphi = min(dphi, 2 * math.pi - dphi)
    delta = math.hypot(ya - yb, dphi)
    s = [a[i] + b[i] for i in range(4)]
    m2 = s[3] ** 2 - s[0] ** 2 - s[1] ** 2 - s[2] ** 2
    lo = min(pta, ptb)
    return [math.log(max(v, eps)) for v in (delta, lo * delta, lo / (pta + ptb), m2)]


# ---------------------------------------------------------------- sequence


def test_sequence_is_the_pt_ordered_four_momentum_padded() -> None:
    table = make_table(
        [[5.0, 20.0, 10.0], [], [7.0]], [[0.1, -0.2, 0.3], [], [1.0]], [[0.0, 0.5, 1.0], [], [2.0]]
    )
    rep = create_representation("sequence", max_particles=2, features=["px", "py", "pz", "energy"])
    out = rep(table, source="m")
    assert set(out) == {"features", "mask"}
    assert out["features"].shape == (3, 2, 4) and out["features"].dtype == np.float32
    assert out["mask"].dtype == bool
    assert out["mask"].tolist() == [[True, True], [False, False], [True, False]]
    particles = naive_jet(table, 0)
    expected = sorted(particles, key=lambda p: -math.hypot(p[0], p[1]))[:2]
    assert np.allclose(out["features"][0], expected, rtol=1e-6)
    assert np.allclose(out["features"][2, 0], naive_jet(table, 2)[0], rtol=1e-6)
    assert not out["features"][1].any() and not out["features"][2, 1].any()
    assert rep.feature_names == ["px", "py", "pz", "energy"]


def test_sequence_default_features_are_jet_relative() -> None:
    """Default: delta_eta, delta_phi, log(pT / pT_jet), log(E / E_jet), delta_r (the
    point-cloud columns 0, 1, 4, 5, 6 of the loop), not GeV four-momenta that saturate RNNs."""
    table = random_table(np.random.default_rng(5), n_jets=5, min_particles=1)
    rep = create_representation("sequence", max_particles=9)
    out = rep(table, source="m")
    names = ["delta_eta", "delta_phi", "log_pt_rel", "log_energy_rel", "delta_r"]
    assert rep.feature_names == names and rep.config()["features"] == names
    assert out["features"].shape == (5, 9, 5)
    for row in range(5):
        expected = np.array(naive_particle_features(table, row))[:9, [0, 1, 4, 5, 6]]
        n = len(expected)
        assert out["mask"][row].tolist() == [True] * n + [False] * (9 - n)
        assert np.allclose(out["features"][row, :n], expected, rtol=1e-5, atol=1e-5)
        assert not out["features"][row, n:].any()


def test_sequence_chosen_features_and_config_round_trip() -> None:
    rep = create_representation("sequence", max_particles=3, features=["pt", "eta", "charge"])
    config = json.loads(json.dumps(rep.config()))
    assert config == {"name": "sequence", "max_particles": 3, "features": ["pt", "eta", "charge"]}
    table = make_table([[3.0, 4.0]], [[0.5, -1.0]], [[0.0, 1.0]], charge=[[1, -1]])
    features = representation_from_config(config)(table, source="m")["features"]
    assert np.allclose(features[0, :2], [[4.0, -1.0, -1.0], [3.0, 0.5, 1.0]], rtol=1e-6)


# ---------------------------------------------------------------- point cloud


def test_point_cloud_features_match_a_particle_loop() -> None:
    table = random_table(np.random.default_rng(3), n_jets=6, min_particles=1)
    out = create_representation("point_cloud", max_particles=12)(table, source="m")
    assert out["points"].shape == (6, 12, 2) and out["features"].shape == (6, 12, 13)
    for row in range(6):
        expected = np.array(naive_particle_features(table, row))  # (n, 13)
        n = len(expected)
        assert out["mask"][row].tolist() == [True] * n + [False] * (12 - n)
        assert np.allclose(out["features"][row, :n], expected, rtol=1e-5, atol=1e-5)
        assert np.allclose(out["points"][row, :n], expected[:, :2], rtol=1e-5, atol=1e-5)
        assert not out["features"][row, n:].any() and not out["points"][row, n:].any()
        # exactly one particle-type flag per particle
        assert np.array_equal(out["features"][row, :n, 8:].sum(axis=1), np.ones(n))


def test_particle_type_flags_from_pid_and_charge() -> None:
    pids = [[211, -211, 130, 22, 11, -13, 2112, 321]]
    charges = [[1, -1, 0, 0, -1, 1, 0, 1]]
    pts = [[80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0, 10.0]]
    table = make_table(pts, [[0.0] * 8], [[0.0] * 8], charge=charges, pid=pids)
    names = ["is_charged_hadron", "is_neutral_hadron", "is_photon", "is_electron", "is_muon"]
    flags = create_representation("sequence", max_particles=8, features=names)(table, source="m")
    assert flags["features"][0].argmax(axis=1).tolist() == [0, 0, 1, 2, 3, 4, 1, 0]


def test_pairwise_features_match_a_pair_loop() -> None:
    table = random_table(np.random.default_rng(4), n_jets=3, min_particles=2, max_particles=6)
    rep = create_representation("point_cloud", max_particles=7, pairwise=True)
    assert rep.pairwise_feature_names == ["ln_delta", "ln_kt", "ln_z", "ln_m2"]
    out = rep(table, source="m")
    pairwise = out["pairwise"]
    assert pairwise.shape == (3, 7, 7, 4) and pairwise.dtype == np.float32
    for row in range(3):
        particles = sorted(naive_jet(table, row), key=lambda p: -math.hypot(p[0], p[1]))
        n = len(particles)
        for i in range(7):
            for j in range(7):
                if i < n and j < n:
                    expected = naive_pair(particles[i], particles[j])
                    assert np.allclose(pairwise[row, i, j], expected, rtol=1e-4, atol=1e-4)
                else:
                    assert not pairwise[row, i, j].any()
    # self-pairs: Delta = 0 -> ln eps; z = 1/2
    assert np.allclose(pairwise[0, 0, 0, :3], [math.log(1e-8), math.log(1e-8), math.log(0.5)])
    assert "pairwise" not in create_representation("point_cloud")(table, source="m")


def test_empty_jets_are_all_masked_rows() -> None:
    table = make_table([[], [10.0, 5.0]], [[], [0.0, 0.1]], [[], [0.0, 0.1]])
    features = ["delta_eta", "delta_phi", "log_pt", "log_pt_rel", "delta_r"]
    rep = create_representation("point_cloud", max_particles=3, features=features, pairwise=True)
    out = rep(table, source="m")
    assert out["mask"].tolist() == [[False] * 3, [True, True, False]]
    for name in ("points", "features", "pairwise"):
        assert np.isfinite(out[name]).all(), name
        assert not out[name][0].any(), name
    only_empty = rep(table[:1], source="m")
    assert only_empty["features"].shape == (1, 3, 5) and not only_empty["mask"].any()


def test_point_cloud_needs_charge_and_pid_only_for_their_features() -> None:
    table = make_table([[10.0]], [[0.0]], [[0.0]], charge=[[1]])
    with pytest.raises(DataError) as info:
        create_representation("point_cloud")(table, source="jets.parquet")
    assert str(info.value).startswith(
        "jets.parquet: column 'part_pid' (did you mean 'part_pz'?) is"
    )
    assert "The 'point_cloud' representation needs part_px, part_py, part_pz, part_energy, " in (
        str(info.value)
    )
    kinematic = create_representation("point_cloud", features=["log_pt", "charge"])
    assert kinematic(table, source="m")["features"][0, 0].tolist() == pytest.approx(
        [math.log(10.0), 1.0]
    )


def test_zero_pt_constituent_log_is_refused_naming_the_feature() -> None:
    table = ak.Array(
        {
            "part_px": [[0.0, 1.0]],
            "part_py": [[0.0, 0.0]],
            "part_pz": [[2.0, 0.0]],
            "part_energy": [[2.0, 1.0]],
        }
    )
    with pytest.raises(DataError, match=r"jets\.pq: NaN or inf in feature column\(s\) 'log_pt'"):
        create_representation("sequence", features=["log_pt"])(table, source="jets.pq")
    # the constituent along the beam has no pseudorapidity: its coordinates are refused too
    for name, options in [
        ("point_cloud", {"features": ["pt"]}),
        ("graph", {"features": ["pt"]}),
        ("image", {}),
    ]:
        rep = create_representation(name, **options)
        with pytest.raises(
            DataError, match=r"jets\.pq: NaN or inf in feature column\(s\) 'delta_eta'"
        ):
            rep(table, source="jets.pq")


def test_particle_representation_bad_options() -> None:
    with pytest.raises(
        ConfigError,
        match=r"representation 'point_cloud': option features has unknown name 'log_e' "
        r"\(did you mean 'log_pt'\?\); valid names: px, py",
    ):
        create_representation("point_cloud", features=["log_e"])
    with pytest.raises(
        ConfigError,
        match=r"representation 'sequence': option max_particles=0; expected an integer >= 1",
    ):
        create_representation("sequence", max_particles=0)
    with pytest.raises(ConfigError, match=r"option pairwise='yes'; expected true or false"):
        create_representation("point_cloud", pairwise="yes")
    with pytest.raises(ConfigError, match=r"option eps=-1; expected a positive number"):
        create_representation("point_cloud", eps=-1)
    with pytest.raises(ConfigError, match=r"option features repeats pt"):
        create_representation("sequence", features=["pt", "pt"])
    with pytest.raises(ConfigError, match=r"option features is empty"):
        create_representation("sequence", features=[])


def test_point_cloud_config_round_trip() -> None:
    rep = create_representation("point_cloud", max_particles=16, pairwise=True, eps=1e-6)
    config = json.loads(json.dumps(rep.config()))
    assert config["name"] == "point_cloud" and config["pairwise"] is True
    assert config["features"][:2] == ["delta_eta", "delta_phi"] and len(config["features"]) == 13
    assert representation_from_config(config).config() == rep.config()
