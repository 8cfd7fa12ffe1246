"""Particle-level jets matched to reconstructed jets: the matching on hand-made jets, and
a small seeded detector sample whose response jet_pt / gen_jet_pt must be physical."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.generate.records import momentum

from hepdl.generate import SampleSettings, generate, read_metadata
from hepdl.generate._jets import Jets, Particles, cluster, delta_r
from hepdl.generate.detector import DetectorSettings
from hepdl.generate.gen_jets import GenJets, cluster_gen_jets, gen_jet_columns, match_gen_jets

RADIUS = 0.4


def _jets(event: list[int], pt: list[float], eta: list[float], phi: list[float]) -> Jets:
    px, py, pz, e = momentum(np.array(pt), np.array(eta), np.array(phi), 5.0)
    n = len(event)
    return Jets(
        np.array(event, np.int64), px, py, pz, e, np.zeros(n, np.int64), np.zeros(0, np.int64)
    )


def _gen(event: list[int], pt: list[float], eta: list[float], phi: list[float]) -> GenJets:
    jets = _jets(event, pt, eta, phi)
    return GenJets(jets.event, jets.px, jets.py, jets.pz, jets.e)


def test_each_jet_takes_the_closest_gen_jet_of_its_event_within_half_r() -> None:
    reco = _jets([0, 0, 1, 2], [100, 80, 60, 50], [0.0, 1.0, 0.0, -1.0], [0.0, 2.0, 3.1, 0.0])
    gen = _gen(
        [0, 0, 0, 1, 1, 2],
        # event 0: a far one, a close one, one at 0.15 for jet 0; jet 1 has none within
        # R/2 = 0.2; event 1 wraps in phi; event 2's only gen jet lies at dR = 0.25.
        [90, 70, 30, 55, 20, 45],
        [0.05, 2.0, 0.15, 0.1, 0.0, -1.25],
        [0.0, 2.0, 0.0, -3.1, 1.0, 0.0],
    )
    index, dr = match_gen_jets(reco, gen, max_dr=RADIUS / 2)
    assert index.tolist() == [0, -1, 3, -1]
    np.testing.assert_allclose(dr[[0, 2]], [0.05, np.hypot(0.1, 2 * np.pi - 6.2)])
    assert np.isnan(dr[[1, 3]]).all()
    columns = gen_jet_columns(gen, index[[0, 2]], dr[[0, 2]])
    np.testing.assert_allclose(columns["gen_jet_pt"], [90, 55])
    np.testing.assert_allclose(columns["gen_jet_eta"], [0.05, 0.1])
    np.testing.assert_allclose(columns["gen_jet_mass"], [5.0, 5.0])
    assert list(columns) == [
        "gen_jet_pt",
        "gen_jet_eta",
        "gen_jet_phi",
        "gen_jet_mass",
        "gen_jet_dr",
    ]


def test_no_jets_or_no_gen_jets_match_nothing() -> None:
    empty = _gen([], [], [], [])
    index, dr = match_gen_jets(_jets([0], [100], [0], [0]), empty, max_dr=0.2)
    assert index.tolist() == [-1] and np.isnan(dr).all()
    index, _ = match_gen_jets(_jets([], [], [], []), _gen([0], [1], [0], [0]), max_dr=0.2)
    assert index.shape == (0,)


def test_gen_jets_are_the_antikt_jets_of_the_particles() -> None:
    rng = np.random.default_rng(2)
    counts = [30, 0, 45]
    pt = np.concatenate([rng.exponential(20.0, c) for c in counts])
    eta, phi = rng.uniform(-2, 2, len(pt)), rng.uniform(-np.pi, np.pi, len(pt))
    px, py, pz, e = momentum(pt, eta, phi, 0.14)
    particles = Particles(
        n_events=3,
        event=np.repeat(np.arange(3), counts),
        px=px,
        py=py,
        pz=pz,
        e=e,
        pid=np.full(len(pt), 211, np.int32),
        charge=np.ones(len(pt)),
    )
    gen = cluster_gen_jets(particles, radius=RADIUS, pt_min=10.0)
    full = cluster(particles, radius=RADIUS, pt_min=10.0)
    np.testing.assert_array_equal(gen.event, full.event)
    np.testing.assert_allclose(np.stack([gen.px, gen.py, gen.pz, gen.e]), np.stack(
        [full.px, full.py, full.pz, full.e]))  # fmt: skip
    assert np.hypot(gen.px, gen.py).min() >= 10.0


pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


@pytest.fixture(scope="module")
def detector_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pythia8mc")
    settings = SampleSettings(
        12,
        seed=4,
        chunk_rows=6,
        pt_min=100.0,
        pt_max=1000.0,
        jet_radius=RADIUS,
        eta_max=2.5,
        detector=DetectorSettings(),
    )
    out = tmp_path_factory.mktemp("genjets") / "jets.parquet"
    return generate("qcd,gluon", settings, out).path


def test_detector_rows_carry_their_particle_level_jet(detector_sample: Path) -> None:
    table = pq.read_table(detector_sample)
    for name in ("gen_jet_pt", "gen_jet_eta", "gen_jet_phi", "gen_jet_mass", "gen_jet_dr"):
        assert table.schema.field(name).type == pa.float64()
    assert "pileup_mu" not in table.column_names  # no pile-up: no pile-up columns
    column = {name: table.column(name).to_numpy() for name in table.column_names[:5]}
    gen = {name: table.column(f"gen_{name}").to_numpy() for name in ("jet_pt", "jet_eta")}
    gen_phi, dr = table.column("gen_jet_phi").to_numpy(), table.column("gen_jet_dr").to_numpy()
    assert table.num_rows == 24 and np.isfinite(gen["jet_pt"]).all()
    assert (dr < RADIUS / 2).all()
    np.testing.assert_allclose(
        dr, delta_r(column["jet_eta"], column["jet_phi"], gen["jet_eta"], gen_phi)
    )
    assert np.corrcoef(column["jet_pt"], gen["jet_pt"])[0, 1] > 0.8
    # The detector model has no calorimeter non-linearity: a response near 1.
    assert 0.8 < np.median(column["jet_pt"] / gen["jet_pt"]) < 1.1
    jets = read_metadata(detector_sample)["jets"]
    assert "dR < R/2" in jets["particle_level"] and "dropped" in jets["particle_level"]
