"""Event-level samples: object selection on hand-built records, Pythia runs end to end."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from hepdl.errors import GenerationError
from hepdl.generate import _event_level as ev
from hepdl.generate import _jets
from hepdl.generate._pythia import FlatEvents, make_pythia, next_batch
from hepdl.physics import event_features as ef

PION, MUON, ELECTRON, NU_MU, B0 = 211, 13, 11, 14, 511


def _p4(pt: float, eta: float, phi: float, mass: float = 0.0) -> list[float]:
    px, py, pz = pt * math.cos(phi), pt * math.sin(phi), pt * math.sinh(eta)
    return [px, py, pz, math.sqrt(px * px + py * py + pz * pz + mass * mass)]


def _events(records: list[list[tuple]]) -> FlatEvents:
    """Events from rows (pid, status, pt, eta, phi); each event gets entry 0 (the system)
    and, last, a neutrino that balances its visible pT (so MET is that neutrino's pT)."""
    rows: list[tuple[int, int, list[float]]] = []
    counts = []
    for record in records:
        momenta = [(pid, status, _p4(pt, eta, phi)) for pid, status, pt, eta, phi in record]
        visible = [p for pid, status, p in momenta if status > 0]
        balance = -np.sum([p[:2] for p in visible], axis=0)
        neutrino = [balance[0], balance[1], 5.0, math.sqrt(balance @ balance + 25.0)]
        event = [(90, -11, [0.0, 0.0, 0.0, 0.0]), *momenta, (NU_MU, 1, neutrino)]
        rows += event
        counts.append(len(event))
    counts = np.array(counts, np.int64)
    p4 = np.array([row[2] for row in rows])
    columns = {
        "counts": counts,
        "starts": np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64),
        "pid": np.array([row[0] for row in rows], np.int32),
        "status": np.array([row[1] for row in rows], np.int32),
        "px": p4[:, 0],
        "py": p4[:, 1],
        "pz": p4[:, 2],
        "e": p4[:, 3],
    }
    for field in dataclasses.fields(FlatEvents):  # mother/daughter links: none (-1)
        columns.setdefault(field.name, np.full(len(rows), -1, np.int64))
    return FlatEvents(**columns)


def _particles(events: FlatEvents) -> _jets.Particles:
    return _jets.visible_particles(events, lambda pid: np.zeros(np.shape(pid)))


# --- objects ------------------------------------------------------------------------------


def test_b_hadron_ids() -> None:
    pid = [511, -521, 531, 5122, -5232, 553, 10513, 5, -5, 5101, 411, 4122, 211, 22, 1000512]
    expected = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    np.testing.assert_array_equal(ev.is_b_hadron(np.array(pid)), np.array(expected, bool))


def test_isolated_leptons() -> None:
    events = _events(
        [
            [
                (MUON, 1, 50.0, 0.0, 0.0),  # alone: isolated
                (ELECTRON, 1, 30.0, 1.0, 2.0),  # 10 GeV within 0.3: 0.33 > 0.15
                (PION, 1, 10.0, 1.2, 2.0),
                (-MUON, 1, 40.0, -1.0, -2.0),  # 5 GeV within 0.3: 0.125 < 0.15, isolated
                (PION, 1, 5.0, -1.0, -1.8),
                (MUON, 1, 15.0, 0.0, 1.0),  # pT below 20 GeV
                (MUON, 1, 40.0, 2.7, -1.0),  # |eta| above 2.5
                (ELECTRON, -1, 40.0, 0.0, 3.0),  # not final
            ],
            [(ELECTRON, 1, 25.0, 0.5, 0.5), (PION, 1, 20.0, 0.5, 0.9)],  # 20 GeV at dR 0.4
        ]
    )
    particles = _particles(events)
    found = ev.isolated_leptons(particles)
    assert particles.pid[found].tolist() == [MUON, -MUON, ELECTRON]
    np.testing.assert_allclose(np.hypot(particles.px[found], particles.py[found]), [50, 40, 25])
    assert particles.event[found].tolist() == [0, 0, 1]
    # A wider cone catches the second event's pion: no longer isolated.
    assert len(ev.isolated_leptons(particles, isolation_radius=0.5)) == 2


def test_missing_momentum_is_the_invisible_pt() -> None:
    events = _events(
        [[(MUON, 1, 50.0, 0.0, 0.3), (PION, 1, 20.0, 1.0, 2.0)], [(PION, 1, 7.0, 0, 1)]]
    )
    neutrino = np.flatnonzero(events.pid == NU_MU)
    np.testing.assert_allclose(
        ev.missing_momentum(_particles(events)),
        np.stack([events.px[neutrino], events.py[neutrino]], axis=1),
        atol=1e-12,
    )


def _four_jet_event(b_near: list[float], b_pt: float = 20.0, n_jets: int = 4) -> list[tuple]:
    """One muon, ``n_jets`` single-pion jets (pT 100, 80, 60, 40 at eta 0, phi 0.5, 2, -1,
    -2.5) and decayed B hadrons at dR ``b_near[k]`` from jet k (inf: none)."""
    record = [(MUON, 1, 45.0, 0.3, 1.2)]
    jets = [(100.0, 0.5), (80.0, 2.0), (60.0, -1.0), (40.0, -2.5)]
    for k, (pt, phi) in enumerate(jets):
        if k < n_jets:
            record.append((PION, 1, pt, 0.0, phi))
        if k < len(b_near) and math.isfinite(b_near[k]):
            record.append((B0, -91, b_pt, b_near[k], phi))
    return record


def test_b_tags_match_b_hadrons_within_the_radius() -> None:
    events = _events([_four_jet_event([np.inf, 0.3, 0.5, np.inf])])
    jets = _jets.cluster(_particles(events), radius=0.4, pt_min=20.0)
    pion_jet = np.isin(np.round(np.hypot(jets.px, jets.py)), [100, 80, 60, 40])
    jets = jets.take(pion_jet)  # not the muon's jet
    tags = ev.b_tags(jets, events, match_radius=0.4, hadron_pt_min=5.0)
    np.testing.assert_array_equal(tags, [0.0, 1.0, 0.0, 0.0])
    soft = _events([_four_jet_event([0.1, 0.1], b_pt=3.0)])
    soft_jets = _jets.cluster(_particles(soft), radius=0.4, pt_min=50.0)
    # B hadrons of 3 GeV: below the default 5 GeV threshold, tagged with a 2 GeV one.
    assert ev.b_tags(soft_jets, soft, match_radius=0.4, hadron_pt_min=5.0).tolist() == [0, 0, 0]
    assert ev.b_tags(soft_jets, soft, match_radius=0.4, hadron_pt_min=2.0).tolist() == [1, 1, 0]


# --- rows ---------------------------------------------------------------------------------


def test_susy_rows_keep_events_with_exactly_two_leptons() -> None:
    dimuon = [(MUON, 1, 60.0, 0.5, 0.0), (-MUON, 1, 35.0, -0.7, 2.5), (PION, 1, 70.0, 1.5, -1.4)]
    events = _events(
        [
            [(MUON, 1, 30.0, 0.1, 0.1)],  # one lepton
            dimuon,
            [*dimuon, (ELECTRON, 1, 25.0, -2.0, -2.8)],  # three
            dimuon[::-1],  # two, the softer first in the record
        ]
    )
    columns, rows = ev.susy_rows(events)
    assert rows.tolist() == [1, 3]
    assert tuple(columns) == ef.SUSY_FEATURES
    for name, values in columns.items():
        assert values.dtype == np.float64 and values.shape == (2,), name
    np.testing.assert_allclose(columns["lepton_1_pt"], [60.0, 60.0])
    np.testing.assert_allclose(columns["lepton_2_eta"], [-0.7, -0.7])
    neutrino = np.flatnonzero(events.pid == NU_MU)[[1, 3]]
    np.testing.assert_allclose(
        columns["missing_energy_magnitude"], np.hypot(events.px[neutrino], events.py[neutrino])
    )
    # MET_rel sees the two muons and the pion jet.
    met = np.stack([events.px[neutrino], events.py[neutrino]], axis=1)
    np.testing.assert_allclose(
        columns["met_rel"], ef.met_rel(met, np.tile([[0.0, 2.5, -1.4]], (2, 1)))
    )


def test_higgs_rows_need_one_lepton_four_jets_and_two_b_tags() -> None:
    events = _events(
        [
            _four_jet_event([0.1, np.inf, np.inf, 0.2]),  # b-tags on jets 1 and 4
            _four_jet_event([0.1, np.inf, 0.2], n_jets=3),  # three jets
            _four_jet_event([np.inf, 0.1]),  # one b-tag
            [(MUON, 1, 30.0, 0.0, 0.0), *_four_jet_event([0.1, 0.1])],  # two leptons
        ]
    )
    columns, rows = ev.higgs_rows(events)
    assert rows.tolist() == [0]
    assert tuple(columns) == ef.HIGGS_FEATURES
    assert [columns[f"jet_{k}_pt"][0] for k in range(1, 5)] == pytest.approx([100, 80, 60, 40])
    assert [columns[f"jet_{k}_b_tag"][0] for k in range(1, 5)] == [1.0, 0.0, 0.0, 1.0]
    # The same numbers as the physics function applied to the objects directly.
    particles = _particles(events)
    first = particles.event == 0
    muon = np.flatnonzero(first & (particles.pid == MUON))
    pions = np.flatnonzero(first & (particles.pid == PION))
    p4 = np.stack([particles.px, particles.py, particles.pz, particles.e], axis=1)
    expected = ef.higgs_features(
        p4[muon], ev.missing_momentum(particles)[:1], p4[pions][None], np.array([[1, 0, 0, 1.0]])
    )
    for name in ef.HIGGS_FEATURES:
        np.testing.assert_allclose(columns[name], expected[name], rtol=1e-12, err_msg=name)
    _, any_tags = ev.higgs_rows(events, min_b_tags=0)
    assert any_tags.tolist() == [0, 2]


def test_no_selected_event_gives_empty_columns() -> None:
    events = _events([[(MUON, 1, 30.0, 0.0, 0.0)], [(PION, 1, 30.0, 0.0, 0.0)]])
    for rows_of, names in ((ev.susy_rows, ef.SUSY_FEATURES), (ev.higgs_rows, ef.HIGGS_FEATURES)):
        columns, rows = rows_of(events)
        assert rows.shape == (0,)
        assert tuple(columns) == names
        assert all(v.shape == (0,) and v.dtype == np.float64 for v in columns.values())


def test_bad_options_are_named() -> None:
    events = _events([[(MUON, 1, 30.0, 0.0, 0.0)]])
    with pytest.raises(GenerationError, match="HIGGS option 'min_b_tags' must be an integer"):
        ev.higgs_rows(events, min_b_tags=5)
    with pytest.raises(GenerationError, match="particles hold 3 events, expected the batch's 1"):
        ev.susy_rows(events, particles=dataclasses.replace(_particles(events), n_events=3))
    with pytest.raises(
        GenerationError, match=r"'chargino_mass' must exceed neutralino_mass \+ m_W"
    ):
        ev.susy_slha(chargino_mass=150.0, neutralino_mass=100.0)
    with pytest.raises(GenerationError, match="'neutralino_mass' must be a mass > 0 GeV, got -1"):
        ev.susy_slha(neutralino_mass=-1.0)
    with pytest.raises(GenerationError, match="contains white space"):
        ev.susy_settings(Path("/tmp/a dir/susy.slha"))


def test_susy_slha_file(tmp_path: Path) -> None:
    path = ev.write_susy_slha(tmp_path / "susy.slha", chargino_mass=250.0, neutralino_mass=50.0)
    text = path.read_text()
    masses = dict(
        line.split()[:2] for line in text.split("BLOCK MASS\n")[1].split("BLOCK")[0].splitlines()
    )
    assert float(masses["1000024"]) == 250.0 and float(masses["1000022"]) == 50.0
    assert float(masses["1000037"]) == 5000.0  # decoupled
    assert "1.000000e+00   2   1000022   24" in text  # BR 1 to W+ chi_10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["susy.slha"]  # no partial file
    assert ev.susy_settings(path)[0] == f"SLHA:file = {path}"


# --- Pythia -------------------------------------------------------------------------------

COMMON = ("Beams:eCM = 13000", "Random:setSeed = on", "Random:seed = 5", "Next:numberCount = 0")


def test_ww_events_end_to_end() -> None:
    pythia = make_pythia((*COMMON, *ev.WW_SETTINGS), sample="ww")
    events = next_batch(pythia, 50)
    columns, rows = ev.susy_rows(events)
    assert 5 <= len(rows) <= 50
    assert np.all(np.diff(rows) > 0)
    assert tuple(columns) == ef.SUSY_FEATURES
    for name, values in columns.items():
        assert values.dtype == np.float64 and values.shape == rows.shape, name
        assert np.all(np.isfinite(values)), name
    assert np.all(columns["lepton_2_pt"] > 20.0)
    assert np.all(columns["lepton_1_pt"] >= columns["lepton_2_pt"])
    assert np.all(np.abs(columns["lepton_1_eta"]) < 2.5)
    # W W -> l nu l nu: MT2 (massless invisibles) has its endpoint at m_W; only neutrinos
    # from heavy-flavour decays or the W width take a few events beyond it.
    assert np.mean(columns["mt2"] < 85.0) > 0.9


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, np.ndarray]]:
    """The feature columns of 300 events of each class."""
    slha = ev.write_susy_slha(tmp_path_factory.mktemp("slha") / "susy.slha")
    configs = {
        "susy": (ev.susy_settings(slha), ev.susy_rows),
        "ww": (ev.WW_SETTINGS, ev.susy_rows),
        "higgs": (ev.HEAVY_HIGGS_SETTINGS, ev.higgs_rows),
        "ttbar": (ev.TTBAR_SETTINGS, ev.higgs_rows),
    }
    out = {}
    for name, (settings, rows_of) in configs.items():
        events = next_batch(make_pythia((*COMMON, *settings), sample=name), 300)
        out[name], _ = rows_of(events)
    return out


@pytest.mark.slow
def test_dilepton_mt2_endpoints(samples: dict[str, dict[str, np.ndarray]]) -> None:
    ww, susy = samples["ww"]["mt2"], samples["susy"]["mt2"]
    assert len(ww) > 60 and len(susy) > 60
    # W W: an endpoint at m_W (smeared only by the W width); the signal's invisible
    # system (nu + neutralino) lets MT2 go beyond it.
    assert np.mean(ww > 85.0) < 0.03
    assert np.mean(susy > 85.0) > 0.03
    assert np.max(susy) > 100.0


@pytest.mark.slow
def test_higgs_and_top_mass_peaks(samples: dict[str, dict[str, np.ndarray]]) -> None:
    higgs, ttbar = samples["higgs"], samples["ttbar"]
    assert len(higgs["m_bb"]) > 40 and len(ttbar["m_bb"]) > 40
    # Signal: h -> b b near 125 GeV (b jets lose some energy to neutrinos and out of the
    # cone), H+- -> W b b near 325 GeV. Background: both tops near 173 GeV.
    assert 100.0 < np.median(higgs["m_bb"]) < 130.0
    assert 290.0 < np.median(higgs["m_wbb"]) < 360.0
    assert 155.0 < np.median(ttbar["m_jjj"]) < 195.0
    assert 155.0 < np.median(ttbar["m_jlv"]) < 190.0
    assert np.median(np.abs(ttbar["m_bb"] - 125.0)) > np.median(np.abs(higgs["m_bb"] - 125.0))
    for sample in (higgs, ttbar):  # the W mass constraint holds where it has a solution
        assert np.median(sample["m_lv"]) == pytest.approx(ef.W_MASS, rel=1e-6)


def test_susy_sample_through_the_engine_records_the_spectrum(tmp_path) -> None:
    import pyarrow.parquet as pq

    from hepdl.generate import SampleSettings, generate, read_metadata
    from hepdl.physics.event_features import SUSY_FEATURES

    path = generate("susy", SampleSettings(3, seed=4), tmp_path / "susy.parquet").path
    table = pq.read_table(path)
    assert table.column_names == [*SUSY_FEATURES, "label"]
    assert table.column("label").to_pylist() == [0, 1] * 3
    meta = read_metadata(path)
    assert meta["class_names"] == ["ww", "susy"] and meta["kind"] == "event"
    assert "BLOCK MASS" in meta["processes"]["susy"]["slha"].upper()
    assert not any("SLHA:file" in s for s in meta["pythia_settings"]["susy"])
