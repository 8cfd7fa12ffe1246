"""The pile-up library (minimum-bias events generated once per chunk, drawn with
replacement, each copy rotated in phi and perhaps reflected in z): the copies against a
loop written here, the symmetries, the settings, and a small seeded sample."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.config import config_from_dict
from hepdl.errors import ConfigError, GenerationError
from hepdl.generate import SampleSettings, generate, read_metadata
from hepdl.generate._jets import Particles
from hepdl.generate.pileup import PileupLibrary


def library_events(counts: list[int], seed: int = 0) -> Particles:
    """Events of random massless particles, ``counts[k]`` in event k."""
    rng = np.random.default_rng(seed)
    n = sum(counts)
    px, py, pz = rng.normal(0.0, 1.0, (3, n))
    return Particles(
        n_events=len(counts),
        event=np.repeat(np.arange(len(counts)), counts),
        px=px,
        py=py,
        pz=pz,
        e=np.sqrt(px**2 + py**2 + pz**2),
        pid=rng.choice([211, -211, 22], n).astype(np.int32),
        charge=rng.choice([-1.0, 0.0, 1.0], n),
    )


def test_each_copy_is_a_rotated_and_perhaps_reflected_library_event() -> None:
    events = library_events([3, 0, 5, 1, 4])
    library = PileupLibrary(events)
    assert len(library) == 5
    drawn = library.draw(np.random.default_rng(3), 40)
    assert drawn.n_events == 40 and drawn.is_pileup.all()
    # Replay the draw: which event, which angle, which reflection, per copy.
    rng = np.random.default_rng(3)
    chosen = rng.integers(0, 5, 40)
    phi = rng.uniform(-np.pi, np.pi, 40)
    flip = rng.random(40) < 0.5
    assert len(drawn) == sum(int((events.event == k).sum()) for k in chosen)
    for copy, (k, angle, reflect) in enumerate(zip(chosen, phi, flip, strict=True)):
        original = events.event == k
        mine = drawn.event == copy
        px, py = events.px[original], events.py[original]
        np.testing.assert_allclose(drawn.px[mine], np.cos(angle) * px - np.sin(angle) * py)
        np.testing.assert_allclose(drawn.py[mine], np.sin(angle) * px + np.cos(angle) * py)
        np.testing.assert_array_equal(
            drawn.pz[mine], -events.pz[original] if reflect else events.pz[original]
        )
        for name in ("e", "pid", "charge"):
            np.testing.assert_array_equal(
                getattr(drawn, name)[mine], getattr(events, name)[original]
            )
    assert np.all(np.diff(drawn.event) >= 0)


def test_copies_keep_pt_and_mass_and_spread_uniformly_in_phi() -> None:
    events = library_events([50] * 4, seed=1)
    drawn = PileupLibrary(events).draw(np.random.default_rng(0), 4000)
    # pT and the invariant mass of each particle are what the library event had.
    lib_pt = np.hypot(events.px, events.py)
    index = [np.flatnonzero(events.event == k) for k in range(4)]
    pt = np.hypot(drawn.px, drawn.py)
    assert sorted(np.round(pt[drawn.event == 7], 12)) in [
        sorted(np.round(lib_pt[i], 12)) for i in index
    ]
    # The first particle of each copy: its azimuth relative to the library's is uniform.
    first = np.searchsorted(drawn.event, np.arange(4000))
    angles = np.arctan2(drawn.py[first], drawn.px[first])
    counts, _ = np.histogram(angles, bins=8, range=(-np.pi, np.pi))
    assert counts.min() > 0.8 * 500 and counts.max() < 1.2 * 500
    # Reflection in z for about half of the copies: the mean pz of a copy's first particle
    # over copies of one library event averages out.
    reflected = np.mean(np.sign(drawn.pz[first]) != np.sign(events.pz[index[0][0]]))
    assert 0.4 < reflected < 0.6
    # Same generator state, same draw.
    again = PileupLibrary(events).draw(np.random.default_rng(0), 4000)
    np.testing.assert_array_equal(again.px, drawn.px)


def test_an_empty_draw_and_an_empty_library() -> None:
    drawn = PileupLibrary(library_events([2, 2])).draw(np.random.default_rng(0), 0)
    assert drawn.n_events == 0 and len(drawn) == 0
    with pytest.raises(GenerationError, match="at least one minimum-bias event"):
        PileupLibrary(library_events([]))


def test_library_settings_need_pileup_and_keep_old_fingerprints() -> None:
    assert "pileup_library" not in SampleSettings(5, pileup_mean=10.0).as_dict()
    settings = SampleSettings(5, pileup_range=(0.0, 60.0), pileup_library=300)
    assert settings.as_dict()["pileup_library"] == 300
    with pytest.raises(GenerationError) as error:
        SampleSettings(5, pileup_library=300)
    assert str(error.value) == (
        "setting 'pileup_library' (300) needs pile-up: give 'pileup_mean' > 0 or a 'pileup_range'"
    )
    with pytest.raises(GenerationError, match="'pileup_library' must be an integer >= 0"):
        SampleSettings(5, pileup_mean=1.0, pileup_library=-1)


def test_config_refuses_a_library_without_pileup() -> None:
    raw = {"data": {"generate": {"sample": "quark-vs-gluon", "pileup_library": 100}}}
    with pytest.raises(ConfigError, match="pileup_library draws the pile-up from a library"):
        config_from_dict(raw)


def test_cli_library_without_pileup_is_one_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "generate",
            "qcd,gluon",
            "--jets",
            "2",
            "--pileup-library",
            "10",
            "--out",
            str(tmp_path / "x.parquet"),
        ],
    )
    assert result.exit_code != 0
    assert "needs pile-up" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "x.parquet").exists()


def test_library_sample_carries_pileup_and_is_reproducible(tmp_path: Path) -> None:
    pytest.importorskip("pythia8mc")
    pq = pytest.importorskip("pyarrow.parquet")
    from scipy.stats import spearmanr

    from hepdl.generate.detector import DetectorSettings

    settings = SampleSettings(
        4,
        seed=4,
        chunk_rows=4,
        pt_min=100.0,
        pt_max=1000.0,
        jet_radius=0.4,
        eta_max=2.5,
        detector=DetectorSettings(),
        pileup_range=(0.0, 60.0),
        pileup_library=40,
    )
    path = generate("qcd,gluon", settings, tmp_path / "lib.parquet").path
    table = pq.read_table(path)
    assert table.num_rows == 8
    n_pileup = table.column("n_pileup").to_numpy()
    assert n_pileup.max() > 40  # more collisions than library events: copies are reused
    assert spearmanr(n_pileup, table.column("event_n_charged").to_numpy()).statistic > 0.5
    assert read_metadata(path)["settings"]["pileup_library"] == 40
    again = generate("qcd,gluon", settings, tmp_path / "again.parquet", jobs=2).path
    assert again.read_bytes() == path.read_bytes()


def test_a_single_process_is_not_a_sample() -> None:
    from hepdl.generate import resolve_sample

    with pytest.raises(GenerationError) as error:
        resolve_sample("qcd")
    assert str(error.value) == (
        "sample 'qcd' is a single jet process: a labelled sample needs two or more joined "
        "by commas (e.g. qcd,gluon for one class against another)"
    )


def test_generation_into_a_log_prints_progress_lines(capsys: pytest.CaptureFixture) -> None:
    from hepdl._cli_generation import ProgressLines, generation_progress

    with ProgressLines("jets") as progress:
        for done in (0, 5, 10, 30, 31, 100):
            progress("gluon", done, 100, 4 * done)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(",")[0] for line in lines] == [
        "gluon jets: 10/100 (10%)",
        "gluon jets: 30/100 (30%)",
        "gluon jets: 100/100 (100%)",
    ]
    assert all("events/s" in line and "elapsed" in line for line in lines)
    bar, _ = generation_progress("jets")  # pytest's stdout is no terminal
    assert isinstance(bar, ProgressLines)
