"""Pile-up drawn per event over a range of means, and the event activity (n_charged,
sum pT, rho) that measures it: the draws, the settings and options, the FastJet rho on
hand-made events, and a small seeded sample where the activity must follow n_pileup."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from tests.generate.records import momentum
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.errors import GenerationError
from hepdl.generate import SampleSettings, generate, read_metadata
from hepdl.generate._jets import Particles
from hepdl.generate.engine import _settings_from_json
from hepdl.generate.event_activity import event_activity, median_rho
from hepdl.generate.pileup import check_mu_range, pileup_counts, pileup_draws


def test_range_draws_mu_uniformly_then_a_poisson_count() -> None:
    n, low, high = 100_000, 10.0, 50.0
    mu, counts = pileup_draws(np.random.default_rng(5), n, mu_range=(low, high))
    assert mu.shape == counts.shape == (n,) and counts.dtype == np.int64
    assert low <= mu.min() and mu.max() <= high
    assert mu.mean() == pytest.approx(30.0, abs=0.2)
    assert mu.var() == pytest.approx((high - low) ** 2 / 12, rel=0.02)
    # Compound Poisson: E[n] = E[mu], Var[n] = E[mu] + Var[mu].
    assert counts.mean() == pytest.approx(mu.mean(), abs=4 * math.sqrt(30.0 / n))
    assert counts.var() == pytest.approx(30.0 + (high - low) ** 2 / 12, rel=0.03)
    assert np.corrcoef(mu, counts)[0, 1] > 0.9
    again = pileup_draws(np.random.default_rng(5), n, mu_range=(low, high))
    np.testing.assert_array_equal(again[1], counts)
    mu, counts = pileup_draws(np.random.default_rng(0), 4, mu_range=(0.0, 0.0))
    assert mu.tolist() == [0.0] * 4 and counts.tolist() == [0] * 4


def test_a_fixed_mean_draws_what_pileup_counts_draws() -> None:
    mu, counts = pileup_draws(np.random.default_rng(9), 50, mean=40.0)
    np.testing.assert_array_equal(counts, pileup_counts(np.random.default_rng(9), 40.0, 50))
    assert mu.tolist() == [40.0] * 50


@pytest.mark.parametrize(
    ("mu_range", "message"),
    [
        ((60.0, 0.0), "pile-up range must satisfy 0 <= low <= high, got low = 60.0, high = 0.0"),
        ((-1.0, 5.0), "pile-up range must satisfy 0 <= low <= high, got low = -1.0, high = 5.0"),
        ((0.0, math.inf), "pile-up range must be two finite numbers (low, high), got (0.0, inf)"),
        ((1.0,), "pile-up range must be two finite numbers (low, high), got (1.0,)"),
        ("0:60", "pile-up range must be two finite numbers (low, high), got '0:60'"),
    ],
)
def test_bad_ranges_are_refused(mu_range: object, message: str) -> None:
    with pytest.raises(GenerationError) as error:
        check_mu_range(mu_range)
    assert str(error.value) == message


def test_draws_need_exactly_one_of_mean_and_range() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(GenerationError, match="exactly one of 'mean' and 'mu_range'"):
        pileup_draws(rng, 3, mean=2.0, mu_range=(0.0, 1.0))
    with pytest.raises(GenerationError, match="exactly one of 'mean' and 'mu_range'"):
        pileup_draws(rng, 3)


def test_settings_take_a_range_and_keep_old_samples_unchanged() -> None:
    settings = SampleSettings(5, pileup_range=[0, 60])
    assert settings.pileup_range == (0.0, 60.0)
    assert settings.reconstructed and settings.has_pileup
    assert settings.as_dict()["pileup_range"] == (0.0, 60.0)
    # Unset, it is not in the settings written to files: old fingerprints stay.
    assert "pileup_range" not in SampleSettings(5).as_dict()
    assert not SampleSettings(5).reconstructed
    assert SampleSettings(5, pileup_mean=3.0).has_pileup
    # Read back from plan.json by `hepdl merge`: the same settings.
    described = json.loads(json.dumps(settings.as_dict()))
    assert SampleSettings(**_settings_from_json(described)) == settings


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"pileup_range": (60, 0)},
            "setting 'pileup_range' must satisfy 0 <= low <= high (mean pile-up collisions), "
            "got low = 60.0, high = 0.0",
        ),
        (
            {"pileup_range": (-5, 10)},
            "setting 'pileup_range' must satisfy 0 <= low <= high (mean pile-up collisions), "
            "got low = -5.0, high = 10.0",
        ),
        (
            {"pileup_range": (0, 60, 80)},
            "setting 'pileup_range' must be None or two finite numbers (low, high), "
            "got (0, 60, 80)",
        ),
        (
            {"pileup_range": "0:60"},
            "setting 'pileup_range' must be None or two finite numbers (low, high), got '0:60'",
        ),
        (
            {"pileup_range": (0, 60), "pileup_mean": 40},
            "settings 'pileup_mean' and 'pileup_range' conflict: give at most one (got "
            "pileup_mean = 40.0, pileup_range = (0.0, 60.0))",
        ),
    ],
)
def test_bad_range_settings_name_the_option(options: dict, message: str) -> None:
    with pytest.raises(GenerationError) as error:
        SampleSettings(5, **options)
    assert str(error.value) == message


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--pileup", "40", "--pileup-range", "0:60"],
            "options --pileup (40) and --pileup-range (0:60) conflict",
        ),
        (["--pileup-range", "60"], "option --pileup-range must be LO:HI, two numbers"),
        (["--pileup-range", "a:b"], "option --pileup-range must be LO:HI, two numbers"),
        (["--pileup-range", "60:0"], "must satisfy 0 <= low <= high"),
        (["--pileup-range", "-5:10"], "must satisfy 0 <= low <= high"),
    ],
)
def test_bad_pileup_range_options_fail_clearly(
    tmp_path: Path, extra: list[str], message: str
) -> None:
    out = tmp_path / "never.parquet"
    args = ["generate", "top-vs-qcd", "--jets", "2", "--out", str(out), *extra]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert not out.exists()


def _particles(counts: list[int], pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, **fields):
    px, py, pz, e = momentum(pt, eta, phi, 0.14)
    defaults = {"pid": np.full(len(pt), 211, np.int32), "charge": np.ones(len(pt))}
    return Particles(
        n_events=len(counts),
        event=np.repeat(np.arange(len(counts)), counts),
        px=px,
        py=py,
        pz=pz,
        e=e,
        **{**defaults, **fields},
    )


def test_charged_count_and_sum_pt_follow_their_cuts() -> None:
    pt = np.array([0.6, 0.4, 2.0, 3.0, 1.0, 7.0, 1.5])
    eta = np.array([0.0, 0.0, 2.4, 2.6, 4.9, 5.5, -1.0])
    charge = np.array([1.0, -1.0, -1.0, 1.0, 0.0, 0.0, 0.0])
    pid = np.array([211, -211, -211, 211, 22, 22, 130], np.int32)
    particles = _particles([6, 0, 1], pt, eta, np.zeros(7), charge=charge, pid=pid)
    activity = event_activity(particles)
    # Event 0: charged above 0.5 GeV within |eta| < 2.5: the 0.6 and 2.0 GeV ones.
    assert activity["event_n_charged"].tolist() == [2, 0, 0]
    assert activity["event_n_charged"].dtype == np.int64
    np.testing.assert_allclose(activity["event_sum_pt"], [0.6 + 0.4 + 2.0 + 3.0 + 1.0, 0, 1.5])


def test_rho_is_the_density_of_a_uniform_soft_event_and_reproducible() -> None:
    import fastjet

    rng = np.random.default_rng(1)
    n = 4000  # over |eta| < 5: 64 particles of mean pT 0.6 GeV per unit area
    pt, eta, phi = rng.exponential(0.6, n), rng.uniform(-5, 5, n), rng.uniform(-np.pi, np.pi, n)
    particles = _particles([n // 2, 0, n // 2], pt, eta, phi)
    rho = median_rho(particles)
    expected = (n / 2) / (10 * 2 * np.pi) * 0.6
    assert rho[0] == pytest.approx(expected, rel=0.1) and rho[2] == pytest.approx(expected, rel=0.1)
    assert rho[1] < 1e-50  # an empty event: only ghost jets
    # FastJet's static ghost generator, moved by someone else's random ghosts, changes nothing.
    spec = fastjet.GhostedAreaSpec(3.0, 1, 0.05)
    area = fastjet.AreaDefinition(fastjet.active_area, spec)
    jet_def = fastjet.JetDefinition(fastjet.kt_algorithm, 0.4)
    fastjet.ClusterSequenceArea([fastjet.PseudoJet(1.0, 0.0, 0.5, 1.2)], jet_def, area)
    np.testing.assert_array_equal(median_rho(particles), rho)
    # Event by event: the same event alone gives the same rho.
    alone = particles.take(particles.event == 2)
    np.testing.assert_array_equal(median_rho(alone)[2], rho[2])


pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

RANGE_SETTINGS = dict(
    seed=21,
    chunk_rows=5,
    pt_min=100.0,
    pt_max=1000.0,
    jet_radius=0.4,
    eta_max=2.5,
    pileup_range=(0.0, 60.0),
)


@pytest.fixture(scope="module")
def range_sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pythia8mc")
    from hepdl.generate.detector import DetectorSettings

    settings = SampleSettings(10, detector=DetectorSettings(), **RANGE_SETTINGS)
    out = tmp_path_factory.mktemp("pileup-range") / "jets.parquet"
    return generate("qcd,gluon", settings, out).path


def test_range_sample_rows_carry_pileup_and_activity(range_sample: Path) -> None:
    from scipy.stats import spearmanr

    table = pq.read_table(range_sample)
    types = {name: table.schema.field(name).type for name in table.column_names}
    assert types["pileup_mu"] == pa.float64() and types["n_pileup"] == pa.int64()
    assert types["event_n_charged"] == pa.int64()
    assert types["event_sum_pt"] == types["event_rho"] == pa.float64()
    value = {name: table.column(name).to_numpy() for name in types if not name.startswith("part")}
    assert table.num_rows == 20
    assert ((value["pileup_mu"] >= 0) & (value["pileup_mu"] <= 60)).all()
    assert value["n_pileup"].max() > 20  # the range is really used
    for name in ("event_rho", "event_n_charged", "event_sum_pt"):
        assert spearmanr(value["n_pileup"], value[name]).statistic > 0.5, name
    assert spearmanr(value["pileup_mu"], value["n_pileup"]).statistic > 0.5
    # Pile-up adds energy to the jets: the response is above the detector-only one (~1).
    assert np.median(value["jet_pt"] / value["gen_jet_pt"]) > 1.1
    assert (value["gen_jet_dr"] < 0.2).all()
    meta = read_metadata(range_sample)
    assert meta["settings"]["pileup_range"] == [0.0, 60.0]
    assert "event_rho" in meta["event_activity"]


def test_range_sample_same_seed_same_bytes_with_two_jobs(
    tmp_path: Path, range_sample: Path
) -> None:
    from hepdl.generate.detector import DetectorSettings

    settings = SampleSettings(10, detector=DetectorSettings(), **RANGE_SETTINGS)
    again = generate("qcd,gluon", settings, tmp_path / "again.parquet", jobs=2).path
    assert again.read_bytes() == range_sample.read_bytes()
