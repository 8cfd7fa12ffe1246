"""hepdl.generate top-vs-qcd: a tiny sample generated once per module, checked column by column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hepdl import __version__
from hepdl.errors import GenerationError
from hepdl.generate import GENERATORS, TopVsQcdSettings, generate_top_vs_qcd, read_metadata

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")

JETS = 12
SETTINGS = TopVsQcdSettings(JETS, seed=3)

EXPECTED_TYPES = {
    "jet_pt": pa.float64(),
    "jet_eta": pa.float64(),
    "jet_phi": pa.float64(),
    "jet_energy": pa.float64(),
    "jet_mass": pa.float64(),
    "jet_nparticles": pa.int64(),
    "part_px": pa.list_(pa.float32()),
    "part_py": pa.list_(pa.float32()),
    "part_pz": pa.list_(pa.float32()),
    "part_energy": pa.list_(pa.float32()),
    "part_pid": pa.list_(pa.int32()),
    "part_charge": pa.list_(pa.float32()),
    "label": pa.int64(),
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    calls: list = []
    out = tmp_path_factory.mktemp("gen") / "jets.parquet"
    path = generate_top_vs_qcd(SETTINGS, out, progress=lambda *args: calls.append(args))
    return path, calls


@pytest.fixture(scope="module")
def table(sample: tuple[Path, list]) -> pa.Table:
    return pq.read_table(sample[0])


def _flat(table: pa.Table, name: str) -> np.ndarray:
    return table.column(name).combine_chunks().flatten().to_numpy()


def _jet_of_constituent(table: pa.Table) -> np.ndarray:
    return np.repeat(np.arange(table.num_rows), table.column("jet_nparticles").to_numpy())


def test_columns_and_types(table: pa.Table) -> None:
    assert {name: table.schema.field(name).type for name in table.column_names} == EXPECTED_TYPES


def test_labels_and_counts_per_class(table: pa.Table) -> None:
    label = table.column("label").to_numpy()
    assert table.num_rows == 2 * JETS
    assert np.bincount(label).tolist() == [JETS, JETS]
    assert label.tolist() == [0, 1] * JETS  # rows alternate qcd, top


def test_jets_inside_pt_window_and_eta_cut(table: pa.Table) -> None:
    pt = table.column("jet_pt").to_numpy()
    eta = table.column("jet_eta").to_numpy()
    assert np.all((pt >= SETTINGS.pt_min) & (pt <= SETTINGS.pt_max))
    assert np.all(np.abs(eta) < SETTINGS.eta_max)


def test_jet_is_the_sum_of_its_constituents(table: pa.Table) -> None:
    counts = table.column("jet_nparticles").to_numpy()
    assert table.column("part_px").combine_chunks().value_lengths().to_numpy().tolist() == (
        counts.tolist()
    )
    assert np.all(counts > 0)
    jet = _jet_of_constituent(table)
    sums = {
        name: np.bincount(jet, weights=_flat(table, f"part_{name}").astype(np.float64))
        for name in ("px", "py", "pz", "energy")
    }
    np.testing.assert_allclose(
        np.hypot(sums["px"], sums["py"]), table.column("jet_pt").to_numpy(), rtol=1e-5
    )
    np.testing.assert_allclose(sums["energy"], table.column("jet_energy").to_numpy(), rtol=1e-5)
    mass = np.sqrt(
        np.maximum(sums["energy"] ** 2 - sums["px"] ** 2 - sums["py"] ** 2 - sums["pz"] ** 2, 0)
    )
    np.testing.assert_allclose(mass, table.column("jet_mass").to_numpy(), rtol=1e-3, atol=0.05)


def test_constituents_visible_and_ordered_by_decreasing_pt(table: pa.Table) -> None:
    pid = _flat(table, "part_pid")
    assert not np.isin(np.abs(pid), [12, 14, 16]).any()
    charge = _flat(table, "part_charge")
    assert np.all(charge[np.isin(pid, [22, 130, 2112])] == 0)
    assert np.all(charge[np.isin(pid, [211, 321, 2212, -11, -13])] == 1)
    assert np.all(charge[np.isin(pid, [-211, -321, -2212, 11, 13])] == -1)
    pt = np.hypot(_flat(table, "part_px"), _flat(table, "part_py"))
    jet = _jet_of_constituent(table)
    same_jet = jet[1:] == jet[:-1]
    assert np.all(pt[1:][same_jet] <= pt[:-1][same_jet])


def test_top_jets_are_heavier_than_qcd_jets(table: pa.Table) -> None:
    mass = table.column("jet_mass").to_numpy()
    label = table.column("label").to_numpy()
    assert np.median(mass[label == 1]) > np.median(mass[label == 0])


def test_metadata_records_provenance(sample: tuple[Path, list]) -> None:
    meta = read_metadata(sample[0])
    assert meta["process"] == "top-vs-qcd"
    assert meta["class_names"] == ["qcd", "top"]
    assert meta["jets_per_class"] == {"qcd": JETS, "top": JETS}
    assert meta["seed"] == 3 and meta["settings"]["seed"] == 3
    assert meta["settings"]["jets_per_class"] == JETS
    assert meta["hepdl_version"] == __version__
    assert meta["generator"]["name"] == "Pythia" and meta["generator"]["version"].startswith("8.")
    assert meta["fastjet_version"].startswith("3.")
    seeds = meta["pythia_seeds"]
    assert seeds["qcd"] != seeds["top"]
    assert all(1 <= seed <= 900_000_000 for seed in seeds.values())
    for name, process in (("qcd", "HardQCD:all = on"), ("top", "24:onIfAny = 1 2 3 4 5")):
        strings = meta["pythia_settings"][name]
        assert process in strings
        assert f"Random:seed = {seeds[name]}" in strings
        assert "Beams:eCM = 14000.0" in strings
    assert meta["jets"]["radius"] == 0.8 and meta["jets"]["algorithm"] == "anti-kt"
    assert meta["events_per_class"]["top"] >= JETS
    text = str(meta).lower()
    assert "time" not in text and "host" not in text


def test_progress_reports_each_class(sample: tuple[Path, list]) -> None:
    calls = sample[1]
    for name in ("qcd", "top"):
        done = [c[1] for c in calls if c[0] == name]
        assert done[0] == 0 and done[-1] == JETS
        assert done == sorted(done)
        assert all(c[2] == JETS for c in calls if c[0] == name)


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    first = generate_top_vs_qcd(TopVsQcdSettings(2, seed=11), tmp_path / "a.parquet")
    again = generate_top_vs_qcd(TopVsQcdSettings(2, seed=11), tmp_path / "b.parquet")
    other = generate_top_vs_qcd(TopVsQcdSettings(2, seed=12), tmp_path / "c.parquet")
    assert first.read_bytes() == again.read_bytes()
    assert first.read_bytes() != other.read_bytes()
    assert pq.read_table(first).column("jet_pt") != pq.read_table(other).column("jet_pt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.parquet", "b.parquet", "c.parquet"]


def test_existing_output_refused_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "taken.parquet"
    out.write_bytes(b"keep me")
    with pytest.raises(GenerationError, match=r"taken\.parquet"):
        generate_top_vs_qcd(TopVsQcdSettings(1, seed=2), out)
    assert out.read_bytes() == b"keep me"
    generate_top_vs_qcd(TopVsQcdSettings(1, seed=2), out, overwrite=True)
    assert pq.read_table(out).num_rows == 2
    assert [p.name for p in tmp_path.iterdir()] == ["taken.parquet"]


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"jets_per_class": 0}, "jets_per_class"),
        ({"jets_per_class": -5}, "jets_per_class"),
        ({"jets_per_class": 2.5}, "jets_per_class"),
        ({"seed": -1}, "seed"),
        ({"pt_min": 650.0, "pt_max": 550.0}, "pt_max"),
        ({"pt_min": 600.0, "pt_max": 600.0}, "pt_max"),
        ({"pt_min": -10.0}, "pt_min"),
        ({"eta_max": 0.0}, "eta_max"),
        ({"eta_max": -1.0}, "eta_max"),
        ({"eta_max": float("nan")}, "eta_max"),
        ({"jet_radius": 0.0}, "jet_radius"),
        ({"pt_min": 8000.0, "pt_max": 9000.0}, "pt_min"),
        ({"pythia_settings": ("no equals sign",)}, "pythia_settings"),
        ({"max_events_per_class": 0}, "max_events_per_class"),
    ],
)
def test_bad_settings_name_the_option(options: dict, option: str) -> None:
    arguments = {"jets_per_class": 5, **options}
    jets = arguments.pop("jets_per_class")
    with pytest.raises(GenerationError, match=option):
        TopVsQcdSettings(jets, **arguments)


def test_setting_rejected_by_pythia_is_named(tmp_path: Path) -> None:
    out = tmp_path / "never.parquet"
    with pytest.raises(GenerationError, match="Foo:bar = 1"):
        generate_top_vs_qcd(TopVsQcdSettings(1, pythia_settings=("Foo:bar = 1",)), out)
    with pytest.raises(GenerationError, match="Beams:eCM = abc"):
        generate_top_vs_qcd(TopVsQcdSettings(1, pythia_settings=("Beams:eCM = abc",)), out)
    assert not list(tmp_path.iterdir())


def test_failed_pythia_init_reports_pythia_reason(tmp_path: Path) -> None:
    settings = TopVsQcdSettings(1, pythia_settings=("PhaseSpace:pTHatMin = 7100",))
    with pytest.raises(GenerationError, match=r"initialise.*vanishing cross sections"):
        generate_top_vs_qcd(settings, tmp_path / "never.parquet")
    assert not list(tmp_path.iterdir())


def test_impossible_window_gives_up_after_the_event_limit(tmp_path: Path) -> None:
    settings = TopVsQcdSettings(1, eta_max=0.001, max_events_per_class=10)
    with pytest.raises(GenerationError, match="max_events_per_class"):
        generate_top_vs_qcd(settings, tmp_path / "never.parquet")


def test_registered_for_the_cli() -> None:
    assert GENERATORS["top-vs-qcd"] == (TopVsQcdSettings, generate_top_vs_qcd)


@pytest.mark.slow
def test_top_jet_mass_peaks_at_the_top_mass(tmp_path: Path) -> None:
    path = generate_top_vs_qcd(TopVsQcdSettings(200, seed=21), tmp_path / "mass.parquet")
    table = pq.read_table(path)
    mass = table.column("jet_mass").to_numpy()
    label = table.column("label").to_numpy()
    top, qcd = mass[label == 1], mass[label == 0]
    counts, edges = np.histogram(top, bins=np.arange(100.0, 310.0, 10.0))
    mode = edges[np.argmax(counts)] + 5.0
    assert 150.0 < np.median(top) < 200.0
    assert 155.0 < mode < 195.0
    assert np.median(qcd) < 130.0
