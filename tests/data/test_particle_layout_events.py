"""Flat padded particle columns (LHC Olympics style) and rows that are whole events."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pandas as pd
import pytest

from hepdl.config import DataConfig, JetClusteringConfig, ParticleLayoutConfig
from hepdl.data.particle_layout import apply_particle_layout
from hepdl.data.read_time_clustering import cluster_events, event_spread
from hepdl.errors import DataError
from hepdl.train.inputs import load_sample

P = 6  # particle slots


def _particles(n, seed):
    """(n, P, 3) pT, eta, phi with trailing zero-padded slots."""
    rng = np.random.default_rng(seed)
    values = np.stack(
        [rng.exponential(50, (n, P)), rng.normal(0, 1, (n, P)), rng.uniform(-3, 3, (n, P))], -1
    )
    filled = np.arange(P) < rng.integers(1, P + 1, n)[:, None]  # (n, P)
    return values * filled[..., None]


def _naive_px(values):
    """px of each real particle, per row, by a loop."""
    return [[pt * np.cos(phi) for pt, _, phi in row if pt > 0] for row in values]


@pytest.mark.parametrize("order", ["particle-major", "field-major"])
def test_flat_columns_become_jagged_constituents_without_padding(tmp_path, order):
    values = _particles(20, 0)
    flat = values.reshape(20, -1) if order == "particle-major" else values.transpose(0, 2, 1)
    frame = pd.DataFrame(flat.reshape(20, -1), columns=[str(i) for i in range(3 * P)])
    frame["label"] = np.arange(20) % 2
    frame.to_parquet(tmp_path / "events.parquet")
    table = ak.from_parquet(tmp_path / "events.parquet")
    layout = ParticleLayoutConfig(fields=["pt", "eta", "phi"], max_particles=P, order=order)
    out = apply_particle_layout(table, layout, exclude=["label"], source="events.parquet")
    assert set(out.fields) == {"label", "part_px", "part_py", "part_pz", "part_energy"}
    for got, want in zip(out["part_px"].to_list(), _naive_px(values), strict=True):
        np.testing.assert_allclose(got, want)
    pz = values[..., 0] * np.sinh(values[..., 1])
    energy = np.sqrt(values[..., 0] ** 2 + pz**2)  # massless
    mask = values[..., 0] > 0
    np.testing.assert_allclose(ak.flatten(out["part_energy"]), energy[mask])


def test_named_columns_and_a_layout_that_does_not_divide(tmp_path):
    values = _particles(10, 1)
    names = [f"{f}_{i}" for i in range(P) for f in ("pt", "eta", "phi")]
    frame = pd.DataFrame(values.reshape(10, -1), columns=names).assign(label=np.arange(10) % 2)
    frame.to_csv(tmp_path / "named.csv.gz", index=False)
    data = DataConfig(
        files=[str(tmp_path / "named.csv.gz")],
        particle_layout={"fields": ["pt", "eta", "phi"], "max_particles": P},
        representation={"name": "substructure", "features": ["n_constituents"]},
        event_check=False,  # the random particles spread like an event's
    )
    sample = load_sample(data)
    np.testing.assert_array_equal(sample.features[:, 0], (values[..., 0] > 0).sum(1))
    bad = data.model_copy(update={"particle_layout": ParticleLayoutConfig(
        fields=["pt", "eta", "phi"], max_particles=P + 1, columns=None
    )})  # fmt: skip
    with pytest.raises(DataError) as err:
        load_sample(bad)
    assert str(err.value) == (
        f"{tmp_path / 'named.csv.gz'}: data.particle_layout declares max_particles {P + 1} x 3 "
        f"fields (pt, eta, phi) = {3 * P + 3} columns, but the file has {3 * P} particle columns "
        f"({P} particles of 3 fields); expected max_particles to divide the columns"
    )


def _event_table(n, seed):
    """Two narrow back-to-back jets per event, as jagged four-momenta."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        phi0, parts = rng.uniform(-np.pi, np.pi), []
        for eta, phi in ((rng.uniform(-1, 1), phi0), (rng.uniform(-1, 1), phi0 + np.pi)):
            pt = rng.exponential(40, 8)
            parts += [(p, eta + rng.normal(0, 0.05), phi + rng.normal(0, 0.05)) for p in pt]
        pt, eta, phi = np.array(parts).T
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        rows.append({"px": px, "py": py, "pz": pz, "e": np.sqrt(px**2 + py**2 + pz**2)})
    return ak.zip(
        {
            "part_px": [r["px"] for r in rows],
            "part_py": [r["py"] for r in rows],
            "part_pz": [r["pz"] for r in rows],
            "part_energy": [r["e"] for r in rows],
            "label": np.arange(n) % 2,
        },
        depth_limit=1,
    )


def test_events_are_detected_and_refused_with_the_option_named(tmp_path):
    events = _event_table(30, 0)
    assert event_spread(events) == 1.0
    clustered = cluster_events(events, JetClusteringConfig(radius=0.4), source="x")
    jets = clustered[["part_px", "part_py", "part_pz", "part_energy"]]
    assert event_spread(jets) == 0.0  # each row is now one narrow jet
    ak.to_parquet(events, tmp_path / "events.parquet")
    data = DataConfig(files=[str(tmp_path / "events.parquet")])
    with pytest.raises(DataError, match=r"rows look like whole events.*data\.jet_clustering"):
        load_sample(data)


def test_clustering_keeps_the_leading_jets_as_fastjet_finds_them():
    import fastjet

    events = _event_table(12, 1)
    options = JetClusteringConfig(algorithm="antikt", radius=0.4, jets=2)
    out = cluster_events(events, options, source="x")
    records = ak.zip({"px": events.part_px, "py": events.part_py, "pz": events.part_pz,
                      "E": events.part_energy})  # fmt: skip
    found = fastjet.ClusterSequence(records, fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4))
    for i, jets in enumerate(found.inclusive_jets().to_list()):
        four = sorted(([j["px"], j["py"], j["pz"], j["E"]] for j in jets),
                      key=lambda v: -np.hypot(v[0], v[1]))  # fmt: skip
        np.testing.assert_allclose(out["jet1_pt"][i], np.hypot(*four[0][:2]), rtol=1e-9)
        np.testing.assert_allclose(out["jet2_pt"][i], np.hypot(*four[1][:2]), rtol=1e-9)
        total = np.add(four[0], four[1])
        mjj = np.sqrt(max(total[3] ** 2 - total[0] ** 2 - total[1] ** 2 - total[2] ** 2, 0))
        np.testing.assert_allclose(out["mjj"][i], mjj, rtol=1e-6)
        np.testing.assert_allclose(ak.sum(out["part_px"][i]), four[0][0], rtol=1e-9)
    assert {"jet1_tau21", "jet2_mass", "jet_pt", "label"} <= set(out.fields)


def test_streamed_chunks_unpack_the_layout_as_the_whole_file_does(tmp_path):
    # The stream applies the same TableShape chunk by chunk: the constituents of every row
    # equal those of the whole table unpacked at once.
    from hepdl.data import create_representation
    from hepdl.data.streaming import StreamingDataset
    from hepdl.data.table_options import TableShape

    values = _particles(50, 2)
    frame = pd.DataFrame(values.reshape(50, -1), columns=[str(i) for i in range(3 * P)])
    frame["label"] = np.arange(50) % 2
    frame.to_csv(tmp_path / "events.csv", index=False)
    layout = ParticleLayoutConfig(fields=["pt", "eta", "phi"], max_particles=P)
    # The toy particles spread over the whole detector: no event check.
    shape = TableShape("point_cloud", "label", particle_layout=layout, event_check=False)
    kinematic = ["delta_eta", "delta_phi", "log_pt", "log_energy", "log_pt_rel"]
    rep = create_representation("point_cloud", max_particles=P, features=kinematic)
    stream = StreamingDataset(
        str(tmp_path / "events.csv"), rep, shape=shape, chunk_rows=7, batch_size=50, shuffle=False
    )
    (batch,) = list(stream)
    whole = shape(ak.Array({c: frame[c].to_numpy() for c in frame.columns}), source="whole")
    expected = rep(whole, source="whole")
    for name in ("points", "features", "mask"):
        np.testing.assert_allclose(batch[name].numpy(), expected[name], rtol=1e-6)
    assert batch["mask"].sum(1).tolist() == (values[..., 0] > 0).sum(1).tolist()
