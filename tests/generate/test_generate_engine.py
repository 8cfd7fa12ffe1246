"""hepdl.generate: a tiny top-vs-qcd sample in chunks, checked column by column, and the
engine's guarantees: same seed same bytes, jobs and shards give the same file, resume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hepdl import __version__
from hepdl.errors import GenerationError
from hepdl.generate import SampleSettings, generate, merge, read_metadata, resolve_sample
from hepdl.generate._parts import parts_dir

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")
pytest.importorskip("pythia8mc")
pytest.importorskip("fastjet")

JETS = 6
CHUNK = 4  # two chunks per class, the second one partial
SETTINGS = SampleSettings(JETS, seed=3, chunk_rows=CHUNK)

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
    "jet_parton_pid": pa.int32(),
    "jet_parton_pt": pa.float64(),
    "jet_parton_eta": pa.float64(),
    "jet_parton_phi": pa.float64(),
    "label": pa.int64(),
}


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    calls: list = []
    out = tmp_path_factory.mktemp("gen") / "jets.parquet"
    outcome = generate("top-vs-qcd", SETTINGS, out, progress=lambda *a: calls.append(a))
    assert outcome.path == out and outcome.generated == 4 and outcome.reused == 0
    return out, calls


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
    assert np.all((pt >= 550.0) & (pt <= 650.0))
    assert np.all(np.abs(eta) < 2.0)


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
    assert not np.isin(np.abs(pid), [12, 14, 16, 1000022]).any()
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


def test_top_jets_carry_their_top_as_matched_parton(table: pa.Table) -> None:
    label = table.column("label").to_numpy()
    parton = table.column("jet_parton_pid").to_numpy()
    assert np.all(np.abs(parton[label == 1]) == 6)
    assert np.all(np.isin(np.abs(parton[label == 0]), [0, 1, 2, 3, 4, 5, 21]))
    jet_eta = table.column("jet_eta").to_numpy()
    parton_eta = table.column("jet_parton_eta").to_numpy()
    top = label == 1
    assert np.all(np.abs(jet_eta[top] - parton_eta[top]) < 0.8)


def test_metadata_records_provenance(sample: tuple[Path, list]) -> None:
    meta = read_metadata(sample[0])
    assert meta["sample"] == "top-vs-qcd"
    assert meta["class_names"] == ["qcd", "top"]
    assert meta["rows_per_class"] == {"qcd": JETS, "top": JETS}
    assert meta["seed"] == 3 and meta["settings"]["seed"] == 3
    assert meta["settings"]["rows_per_class"] == JETS
    assert meta["hepdl_version"] == __version__
    assert meta["generator"]["name"] == "Pythia" and meta["generator"]["version"].startswith("8.")
    assert meta["fastjet_version"].startswith("3.")
    seeds = meta["chunks"]["seeds"]
    assert meta["chunks"]["per_class"] == 2 and meta["chunks"]["rows"] == CHUNK
    every_seed = seeds["qcd"] + seeds["top"]
    assert len(set(every_seed)) == 4
    assert all(1 <= seed <= 900_000_000 for seed in every_seed)
    for name, process in (("qcd", "HardQCD:all = on"), ("top", "24:onIfAny = 1 2 3 4 5")):
        strings = meta["pythia_settings"][name]
        assert process in strings
        assert f"Random:seed = {seeds[name][0]}" in strings
        assert "Beams:eCM = 14000.0" in strings
        assert "PhaseSpace:pTHatMin = 450.0" in strings
    assert meta["jets"]["radius"] == 0.8 and meta["jets"]["algorithm"] == "anti-kt"
    assert meta["events_per_class"]["top"] >= JETS
    assert 0 < meta["cross_section_mb"]["top"] < meta["cross_section_mb"]["qcd"]
    text = str(meta).lower()
    assert "time" not in text and "host" not in text


def test_progress_reports_each_class(sample: tuple[Path, list]) -> None:
    calls = sample[1]
    for name in ("qcd", "top"):
        done = [c[1] for c in calls if c[0] == name]
        events = [c[3] for c in calls if c[0] == name]
        assert done[0] == 0 and done[-1] == JETS
        assert done == sorted(done) and events == sorted(events)
        assert all(c[2] == JETS for c in calls if c[0] == name)


def test_parts_are_removed_after_the_merge(sample: tuple[Path, list]) -> None:
    assert not parts_dir(sample[0]).exists()
    assert sorted(p.name for p in sample[0].parent.iterdir()) == ["jets.parquet"]


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, sample: tuple[Path, list]) -> None:
    again = generate("top-vs-qcd", SETTINGS, tmp_path / "b.parquet").path
    other = generate(
        "top-vs-qcd", SampleSettings(JETS, seed=4, chunk_rows=CHUNK), tmp_path / "c.parquet"
    ).path
    assert sample[0].read_bytes() == again.read_bytes()
    assert sample[0].read_bytes() != other.read_bytes()


def test_two_jobs_give_the_same_bytes(tmp_path: Path, sample: tuple[Path, list]) -> None:
    path = generate("top-vs-qcd", SETTINGS, tmp_path / "jobs.parquet", jobs=2).path
    assert path.read_bytes() == sample[0].read_bytes()


def test_shards_then_merge_give_the_same_bytes(tmp_path: Path, sample: tuple[Path, list]) -> None:
    out = tmp_path / "sharded.parquet"
    generate("top-vs-qcd", SETTINGS, out, shard=0, num_shards=3)
    generate("top-vs-qcd", SETTINGS, out, shard=2, num_shards=3)
    with pytest.raises(GenerationError, match="1 of 4 chunks are not generated yet"):
        merge(out)
    outcome = generate("top-vs-qcd", SETTINGS, out, shard=1, num_shards=3)
    assert outcome.path is None and outcome.generated == 1
    assert not out.exists()
    assert merge(out).read_bytes() == sample[0].read_bytes()
    assert not parts_dir(out).exists()


def test_interrupted_run_resumes_to_the_same_bytes(
    tmp_path: Path, sample: tuple[Path, list]
) -> None:
    out = tmp_path / "resumed.parquet"

    def stop_in_the_third_chunk(name: str, done: int, wanted: int, events: int) -> None:
        if name == "qcd" and done > CHUNK:  # chunk 0 of both classes is written by now
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        generate("top-vs-qcd", SETTINGS, out, progress=stop_in_the_third_chunk)
    assert not out.exists()  # a partial run never looks complete
    assert len(list(parts_dir(out).glob("*.parquet"))) == 2
    outcome = generate("top-vs-qcd", SETTINGS, out)
    assert (outcome.generated, outcome.reused) == (2, 2)
    assert out.read_bytes() == sample[0].read_bytes()


def test_finished_output_is_not_generated_again(sample: tuple[Path, list]) -> None:
    before = sample[0].stat().st_mtime_ns
    outcome = generate("top-vs-qcd", SETTINGS, sample[0])
    assert (outcome.generated, outcome.reused) == (0, 4)
    assert sample[0].stat().st_mtime_ns == before


def test_other_output_refused_unless_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "taken.parquet"
    out.write_bytes(b"keep me")
    small = SampleSettings(1, seed=2)
    with pytest.raises(GenerationError, match=r"taken\.parquet.*--overwrite"):
        generate("top-vs-qcd", small, out)
    assert out.read_bytes() == b"keep me"
    generate("top-vs-qcd", small, out, overwrite=True)
    assert pq.read_table(out).num_rows == 2
    assert [p.name for p in tmp_path.iterdir()] == ["taken.parquet"]


def test_parts_of_other_settings_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "mixed.parquet"
    generate("top-vs-qcd", SampleSettings(2, seed=5, chunk_rows=1), out, shard=0, num_shards=4)
    with pytest.raises(GenerationError) as error:
        generate("top-vs-qcd", SampleSettings(2, seed=6, chunk_rows=1), out)
    # Only the setting that changed: not the tuples the plan file holds as lists.
    assert "other settings (settings.seed: 5 -> 6); run the original command" in str(error.value)
    assert "--overwrite" in str(error.value)


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"rows_per_class": 0}, "rows_per_class"),
        ({"rows_per_class": 2.5}, "rows_per_class"),
        ({"seed": -1}, "seed"),
        ({"pt_min": -10.0}, "pt_min"),
        ({"eta_max": 0.0}, "eta_max"),
        ({"eta_max": float("nan")}, "eta_max"),
        ({"jet_radius": 0.0}, "jet_radius"),
        ({"chunk_rows": 0}, "chunk_rows"),
        ({"eta_max": 2.0, "rapidity_max": 1.7}, "rapidity_max"),
        ({"pythia_settings": ("no equals sign",)}, "pythia_settings"),
        ({"max_events_per_chunk": 0}, "max_events_per_chunk"),
    ],
)
def test_bad_settings_name_the_option(options: dict, option: str) -> None:
    arguments = {"rows_per_class": 5, **options}
    rows = arguments.pop("rows_per_class")
    with pytest.raises(GenerationError, match=option):
        SampleSettings(rows, **arguments)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pt_min": 650.0, "pt_max": 550.0}, "pt_max.*empty"),
        ({"pt_min": 600.0, "pt_max": 600.0}, "pt_max.*empty"),
        ({"pt_min": 8000.0, "pt_max": 9000.0}, "pt_min.*sqrt_s / 2"),
    ],
)
def test_impossible_windows_are_refused_before_pythia_runs(
    tmp_path: Path, options: dict, message: str
) -> None:
    with pytest.raises(GenerationError, match=message):
        generate("top-vs-qcd", SampleSettings(1, **options), tmp_path / "never.parquet")
    assert not list(tmp_path.iterdir())


def test_unknown_sample_and_process_are_named() -> None:
    with pytest.raises(GenerationError, match=r"unknown sample 'top-vs-qdc'.*top-vs-qcd"):
        resolve_sample("top-vs-qdc")
    with pytest.raises(GenerationError, match=r"unknown process 'wz'.*did you mean"):
        resolve_sample("qcd,wz")
    adhoc = resolve_sample("qcd, top ,w")
    assert adhoc.classes == ("qcd", "top", "w") and adhoc.jets is not None


def test_setting_rejected_by_pythia_is_named(tmp_path: Path) -> None:
    out = tmp_path / "never.parquet"
    with pytest.raises(GenerationError, match="Foo:bar = 1"):
        generate("top-vs-qcd", SampleSettings(1, pythia_settings=("Foo:bar = 1",)), out)
    assert not out.exists()


def test_failed_pythia_init_reports_pythia_reason(tmp_path: Path) -> None:
    settings = SampleSettings(1, pythia_settings=("PhaseSpace:pTHatMin = 7100",))
    with pytest.raises(GenerationError, match=r"initialise.*vanishing cross sections"):
        generate("top-vs-qcd", settings, tmp_path / "never.parquet")
    assert not (tmp_path / "never.parquet").exists()


def test_impossible_window_gives_up_after_the_event_limit(tmp_path: Path) -> None:
    settings = SampleSettings(1, eta_max=0.001, max_events_per_chunk=10)
    with pytest.raises(GenerationError, match="max_events_per_chunk"):
        generate("top-vs-qcd", settings, tmp_path / "never.parquet")


def test_detector_and_pileup_samples_merge_from_shards_to_the_same_bytes(tmp_path: Path) -> None:
    from hepdl.generate.detector import DetectorSettings

    settings = SampleSettings(2, seed=8, chunk_rows=1, detector=DetectorSettings(), pileup_mean=3)
    direct = generate("top-vs-qcd", settings, tmp_path / "direct.parquet").path
    sharded = tmp_path / "sharded.parquet"
    for shard in range(2):
        generate("top-vs-qcd", settings, sharded, shard=shard, num_shards=2)
    assert merge(sharded).read_bytes() == direct.read_bytes()
    meta = read_metadata(direct)
    assert meta["settings"]["pileup_mean"] == 3.0
    assert meta["settings"]["detector"]["hcal_cell_size"] == DetectorSettings().hcal_cell_size
    table = pq.read_table(direct)
    pid = _flat(table, "part_pid")
    energy, px, py, pz = (
        _flat(table, f"part_{n}").astype(np.float64) for n in ("energy", "px", "py", "pz")
    )
    neutral = np.isin(pid, [22, 130])  # tower candidates: massless, at tower centres
    assert neutral.any()
    mass2 = energy[neutral] ** 2 - px[neutral] ** 2 - py[neutral] ** 2 - pz[neutral] ** 2
    np.testing.assert_allclose(mass2 / energy[neutral] ** 2, 0.0, atol=1e-3)
    assert not np.isin(np.abs(pid), [111, 2112, 310]).any()  # no neutral particle survives as is
    # A fixed mean: every row says so, with what was overlaid and the particle-level jet.
    assert (table.column("pileup_mu").to_numpy() == 3.0).all()
    assert table.schema.field("n_pileup").type == pa.int64()
    assert (table.column("gen_jet_dr").to_numpy() < 0.4).all()  # R/2, R = 0.8
    assert "event_rho" in meta["event_activity"] and "particle_level" in meta["jets"]


def test_event_level_samples_refuse_a_detector(tmp_path: Path) -> None:
    from hepdl.generate.recipes import Sample

    sample = Sample(name="events", kind="event", description="", classes=())
    with pytest.raises(GenerationError, match=r"event-level.*'detector' and 'pileup_mean'"):
        generate(sample, SampleSettings(1, pileup_mean=2.0), tmp_path / "never.parquet")


def test_sigkilled_generation_resumes_to_the_same_bytes(tmp_path: Path) -> None:
    """A real `hepdl generate` killed with SIGKILL after its first chunk, then run again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    args = ["generate", "top-vs-qcd", "--jets", "4", "--chunk-rows", "1", "--seed", "12"]
    command = [sys.executable, "-c", "from hepdl.cli import main; main()", *args]
    killed = tmp_path / "killed.parquet"
    process = subprocess.Popen(
        [*command, "--out", str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while not list(parts_dir(killed).glob("*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_before = len(list(parts_dir(killed).glob("*.parquet")))
    assert 1 <= done_before < 8 and not killed.exists()
    resumed = subprocess.run([*command, "--out", str(killed)], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed: {done_before} chunks were done" in resumed.stdout
    whole = tmp_path / "whole.parquet"
    subprocess.run([*command, "--out", str(whole)], check=True, capture_output=True)
    assert killed.read_bytes() == whole.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["killed.parquet", "whole.parquet"]
