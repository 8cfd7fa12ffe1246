"""benchmarks/bench_weaver_particlenet.py feeds weaver-core the inputs hepdl's ParticleNet sees.

Checks the weaver data config against hepdl's point-cloud feature list, the columns the
benchmark writes for weaver against a naive per-jet loop, and (where weaver-core is
installed) weaver's own padded inputs against hepdl's ``point_cloud`` arrays.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import yaml

from hepdl.data import create_representation
from hepdl.data.representations._particles import POINT_CLOUD_FEATURES

HELPERS = Path(__file__).resolve().parents[1] / "benchmarks" / "weaver"


def _load_helpers(name: str):
    """One of the benchmark's helper modules (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, HELPERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bench = _load_helpers("_bench_files")
epochs = _load_helpers("_bench_epochs")

PIDS = [211, -211, 22, 130, 11, -13, 2112, 321]
CHARGES = {211: 1, -211: -1, 22: 0, 130: 0, 11: -1, -13: 1, 2112: 0, 321: 1}


def _jets(counts: list[int], *, seed: int = 0) -> ak.Array:
    """Jets of massless-ish constituents around random axes, constituents in random pT
    order, one jet straddling phi = +-pi (the Delta phi wrap)."""
    rng = np.random.default_rng(seed)
    rows = {f"part_{c}": [] for c in ("px", "py", "pz", "energy", "pid", "charge")}
    for index, n in enumerate(counts):
        axis_phi = math.pi - 0.01 if index == 0 else rng.uniform(-3, 3)
        axis_eta = rng.uniform(-1.5, 1.5)
        pt = rng.exponential(20.0, n) + 0.5
        eta = axis_eta + rng.normal(0, 0.2, n)
        phi = axis_phi + rng.normal(0, 0.2, n)
        pid = rng.choice(PIDS, n)
        rows["part_px"].append(pt * np.cos(phi))
        rows["part_py"].append(pt * np.sin(phi))
        rows["part_pz"].append(pt * np.sinh(eta))
        rows["part_energy"].append(pt * np.cosh(eta) + 0.01)
        rows["part_pid"].append(pid)
        rows["part_charge"].append(np.array([CHARGES[p] for p in pid], dtype=np.float64))
    columns = {
        name: ak.values_astype(ak.Array(values), np.int32 if name == "part_pid" else np.float32)
        for name, values in rows.items()
    }
    columns["label"] = np.arange(len(counts)) % 2
    return ak.Array(columns)


def test_data_config_inputs_are_hepdl_point_cloud_features() -> None:
    config = yaml.safe_load(bench.WEAVER_DATA_CONFIG.read_text())
    inputs = config["inputs"]
    assert [v[0] for v in inputs["pf_features"]["vars"]] == [
        bench.WEAVER_NAMES[name] for name in POINT_CLOUD_FEATURES
    ]
    assert [v[0] for v in inputs["pf_points"]["vars"]] == ["part_deta", "part_dphi"]
    for block in inputs.values():
        assert block["pad_mode"] == "constant"  # hepdl pads with 0
        assert all(v[1] is None for v in block["vars"])  # raw: hepdl standardises nothing


def test_weaver_columns_match_a_naive_loop() -> None:
    table = _jets([3, 6, 1, 5])
    out = bench.with_weaver_columns(table)
    for row in range(len(table)):
        p = {c: np.asarray(table[f"part_{c}"][row], np.float64) for c in ("px", "py", "pz")}
        e = np.asarray(table["part_energy"][row], np.float64)
        jx, jy, jz = p["px"].sum(), p["py"].sum(), p["pz"].sum()
        jet_pt = math.hypot(jx, jy)
        jet_eta, jet_phi = math.asinh(jz / jet_pt), math.atan2(jy, jx)
        assert out["jet_pt"][row] == pytest.approx(jet_pt, rel=1e-9)
        assert out["jet_energy"][row] == pytest.approx(e.sum(), rel=1e-9)
        order = sorted(range(len(e)), key=lambda i: -math.hypot(p["px"][i], p["py"][i]))
        for slot, i in enumerate(order):
            pt = math.hypot(p["px"][i], p["py"][i])
            deta = math.asinh(p["pz"][i] / pt) - jet_eta
            dphi = (math.atan2(p["py"][i], p["px"][i]) - jet_phi + math.pi) % (2 * math.pi)
            assert out["part_px"][row][slot] == table["part_px"][row][i]
            assert out["part_deta"][row][slot] == pytest.approx(deta, abs=1e-5)
            assert out["part_dphi"][row][slot] == pytest.approx(dphi - math.pi, abs=1e-5)
            pid, charge = abs(int(table["part_pid"][row][i])), table["part_charge"][row][i]
            expected = {
                "part_isElectron": pid == 11,
                "part_isMuon": pid == 13,
                "part_isPhoton": pid == 22,
                "part_isChargedHadron": charge != 0 and pid not in (11, 13),
                "part_isNeutralHadron": charge == 0 and pid != 22,
            }
            for name, flag in expected.items():
                assert out[name][row][slot] == float(flag), (row, slot, name)
    assert max(abs(d) for d in ak.flatten(out["part_dphi"])) < 1.0  # wrapped at +-pi


def test_weaver_inputs_equal_hepdl_point_cloud(tmp_path: Path) -> None:
    pytest.importorskip("weaver", reason="weaver-core is not installed")
    from weaver.utils.dataset import SimpleIterDataset

    width = 4  # shorter than some jets (truncation), longer than others (padding)
    table = bench.with_weaver_columns(_jets([3, 6, 1, 5, 8], seed=1))
    path = tmp_path / "jets.parquet"
    ak.to_parquet(table, path)
    config = bench.weaver_data_config(tmp_path, max_particles=width)
    dataset = SimpleIterDataset(
        {"_": [str(path)]}, str(config), for_training=False, fetch_step=1.0, name="test"
    )
    inputs = [x for x, _, _ in dataset]  # one jet each, in file order
    weaver_features = np.stack([x["pf_features"] for x in inputs]).transpose(0, 2, 1)
    weaver_points = np.stack([x["pf_points"] for x in inputs]).transpose(0, 2, 1)
    weaver_mask = np.stack([x["pf_mask"] for x in inputs])[:, 0, :] > 0
    ours = create_representation("point_cloud", max_particles=width)(table, source=str(path))
    np.testing.assert_array_equal(weaver_mask, ours["mask"])
    np.testing.assert_allclose(weaver_points, ours["points"], atol=1e-5)
    np.testing.assert_allclose(weaver_features, ours["features"], atol=1e-5, rtol=1e-5)


def test_best_epoch_rules_pick_like_each_tool() -> None:
    """hepdl: lowest val loss; weaver: highest val accuracy, the first of ties (its '>')."""
    record = {"val_loss": [0.5, 0.3, 0.4, 0.3], "val_accuracy": [0.8, 0.9, 0.7, 0.9]}
    assert epochs.best_epochs(record) == {"val_loss": 1, "val_accuracy": 1, "last": 3}
    record = {"val_accuracy": [0.8, 0.85, 0.9], "val_loss": []}
    assert epochs.best_epochs(record) == {"val_accuracy": 2, "last": 2}


def test_epoch_test_aucs_score_each_epochs_weights() -> None:
    import torch
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3))
    labels = rng.integers(0, 2, size=200).astype(bool)
    model = torch.nn.Linear(3, 1)
    states = [
        {"weight": torch.tensor([w], dtype=torch.float32), "bias": torch.zeros(1)}
        for w in ([1.0, 0.0, 0.0], [0.0, -1.0, 2.0])
    ]

    def score(net: torch.nn.Module) -> np.ndarray:
        with torch.no_grad():
            return net(torch.as_tensor(x, dtype=torch.float32))[:, 0].numpy()

    aucs, cpu = epochs.epoch_test_aucs(model, states, score, labels)
    expected = [roc_auc_score(labels, x[:, 0]), roc_auc_score(labels, 2 * x[:, 2] - x[:, 1])]
    assert aucs == pytest.approx(expected, abs=1e-6)
    assert cpu >= 0
