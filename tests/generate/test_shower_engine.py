"""`hepdl showers`: chunks, parallel jobs, exact resumption, Parquet and HDF5 outputs."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.errors import GenerationError
from hepdl.generate import _parts
from hepdl.generate.showers import ShowerSettings, generate_showers, resolve_shower_sample

SMALL = {"chunk_rows": 15, "energy": (5.0, 20.0)}


def test_jobs_and_resumption_give_the_same_bytes(tmp_path):
    settings = ShowerSettings(40, **SMALL)
    clean, _, _ = generate_showers("e-,pi+", settings, tmp_path / "clean.parquet")
    parallel, generated, _ = generate_showers(
        "e-,pi+", settings, tmp_path / "parallel.parquet", jobs=2
    )
    assert generated == 6  # 2 classes x ceil(40 / 15) chunks
    assert parallel.read_bytes() == clean.read_bytes()

    calls = []

    def stop_after_two(done: int, total: int) -> None:
        calls.append(done)
        if done == 2:
            raise KeyboardInterrupt

    resumed = tmp_path / "resumed.parquet"
    with pytest.raises(KeyboardInterrupt):
        generate_showers("e-,pi+", settings, resumed, progress=stop_after_two)
    assert not resumed.exists()
    kept = sorted(p.name for p in _parts.parts_dir(resumed).glob("*.parquet"))
    assert len(kept) == 2
    _, generated, reused = generate_showers("e-,pi+", settings, resumed)
    assert (generated, reused) == (4, 2)
    assert resumed.read_bytes() == clean.read_bytes()
    assert not _parts.parts_dir(resumed).exists()
    # the same command once more: the file is complete, nothing is simulated
    assert generate_showers("e-,pi+", settings, resumed)[1:] == (0, 6)


def test_the_file_reads_back_as_images_and_labelled_classes(tmp_path):
    from hepdl.data import create_representation, read_table

    path, _, _ = generate_showers(
        "gamma,neutron", ShowerSettings(10, **SMALL), tmp_path / "s.parquet"
    )
    table = read_table(path)
    assert len(table) == 20
    np.testing.assert_array_equal(np.bincount(np.asarray(table["label"])), [10, 10])
    assert set(np.asarray(table["particle"])) == {"gamma", "neutron"}
    energy = np.asarray(table["energy"])
    assert ((energy >= 5.0) & (energy <= 20.0)).all()
    image = create_representation("image_array", column="ecal")(table, source=str(path))["image"]
    assert image.shape == (20, 1, 35, 35)
    import pyarrow.parquet as pq

    meta = json.loads(pq.read_schema(path).metadata[b"hepdl"])
    assert meta["class_names"] == ["gamma", "neutron"]
    assert meta["geometry"]["name"] == "cms_ecal"
    assert meta["rows_per_class"] == {"gamma": 10, "neutron": 10}


def test_hdf5_output_holds_the_calogan_layers_as_datasets(tmp_path):
    settings = ShowerSettings(12, geometry="calogan", chunk_rows=5, energy=(10.0, 10.0))
    path, _, _ = generate_showers("e+,pi0", settings, tmp_path / "calogan.h5")
    with h5py.File(path, "r") as h5:
        shapes = {name: h5[name].shape for name in ("layer_0", "layer_1", "layer_2", "energy")}
        assert shapes == {"layer_0": (24, 3, 96), "layer_1": (24, 12, 12),
                          "layer_2": (24, 12, 6), "energy": (24,)}  # fmt: skip
        np.testing.assert_array_equal(h5["energy"][:], np.full(24, 10.0))
        assert list(h5["particle"][:2]) == [b"e+", b"e+"]
        assert json.loads(h5.attrs["hepdl"])["settings"]["geometry"] == "calogan"


def test_eg_vs_pu_has_ten_pu_clusters_per_eg_cluster_and_pile_up_in_every_window(tmp_path):
    settings = ShowerSettings(4, energy=(5.0, 10.0), pileup_mu=20, pileup_library=20, chunk_rows=40)
    path, _, _ = generate_showers("eg_vs_pu", settings, tmp_path / "egpu.parquet")
    from hepdl.data import read_table

    table = read_table(path)
    np.testing.assert_array_equal(np.bincount(np.asarray(table["label"])), [40, 4])
    assert set(np.asarray(table["particle"])[np.asarray(table["label"]) == 1]) <= {
        "e-",
        "e+",
        "gamma",
    }
    total = np.asarray(table["ecal"]).sum(axis=(1, 2)) + np.asarray(table["hcal"]).sum(axis=(1, 2))
    signal = np.asarray(table["ecal_signal"]).sum(axis=(1, 2)) + np.asarray(
        table["hcal_signal"]
    ).sum(axis=(1, 2))
    pileup = np.asarray(table["pileup_energy"])
    assert (pileup > 0).mean() > 0.9  # mu = 20: almost every window gets soft deposits
    # total = signal + pile-up + noise: the noise summed over 35 x 35 crystals (40 MeV each)
    # and 7 x 7 towers (200 MeV each) has sigma = sqrt(1225 * 0.04^2 + 49 * 0.2^2) = 1.98 GeV
    residual = total - signal - pileup
    assert abs(residual.mean()) < 4 * 1.98 / np.sqrt(len(residual))
    assert residual.std() == pytest.approx(1.98, rel=0.35)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: ShowerSettings(10, energy=(5.0, 1.0)), "option 'energy' must be 0 < LO <= HI"),
        (lambda: ShowerSettings(10, energy=(-1.0, 1.0)), "option 'energy' must be 0 < LO <= HI"),
        (lambda: ShowerSettings(0), "option 'showers' must be an integer >= 1, got 0"),
        (lambda: ShowerSettings(10, spectrum="lin"), "option 'spectrum' must be one of flat, log"),
        (
            lambda: ShowerSettings(10, geometry="calogan", pileup_mu=10),
            "geometry 'calogan' has no eta-phi cells",
        ),
        (lambda: ShowerSettings(10, geometry="calo_gan"), "did you mean 'calogan'"),
        (lambda: resolve_shower_sample("e-,pion"), "unknown particle or shower sample 'pion'"),
        (lambda: resolve_shower_sample("e-,e-"), "each may appear once"),
    ],
)
def test_bad_settings_are_one_clear_error(make, message):
    with pytest.raises(GenerationError) as err:
        make()
    assert message in str(err.value)


def test_parts_of_other_settings_are_refused_and_an_existing_output_kept(tmp_path):
    out = tmp_path / "s.parquet"
    generate_showers("e-", ShowerSettings(5, **SMALL), out)
    with pytest.raises(GenerationError, match="already exists"):
        generate_showers("e-", ShowerSettings(6, **SMALL), out)
    before = out.read_bytes()
    _parts.prepare(tmp_path / "t.parquet", _plan("e-", ShowerSettings(5, **SMALL)))
    with pytest.raises(GenerationError, match="holds the parts of a generation with other"):
        generate_showers("e-", ShowerSettings(7, **SMALL), tmp_path / "t.parquet")
    assert out.read_bytes() == before


def _plan(sample: str, settings: ShowerSettings):
    from hepdl.generate.showers import ShowerPlan, versions

    return ShowerPlan(resolve_shower_sample(sample), settings, versions())


def test_the_cli_writes_the_file_and_reports_bad_input_in_one_line(tmp_path):
    runner = CliRunner()
    out = tmp_path / "cli.parquet"
    result = runner.invoke(app, ["showers", "e-", "--showers", "6", "--energy", "10",
                                 "--chunk-rows", "3", "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert out.exists() and "wrote" in result.output
    again = runner.invoke(app, ["showers", "e-", "--showers", "6", "--energy", "10",
                                "--chunk-rows", "3", "--out", str(out)])  # fmt: skip
    assert again.exit_code == 0 and "is complete" in again.output
    bad = runner.invoke(app, ["showers", "e-", "--showers", "6", "--energy", "ten",
                              "--out", str(tmp_path / "x.parquet")])  # fmt: skip
    assert bad.exit_code == 2
    assert "error: option --energy must be LO:HI or E in GeV, got 'ten'" in bad.output
    assert "Traceback" not in bad.output
    listing = runner.invoke(app, ["calorimeters"])
    assert "cms_ecal" in listing.output and "eg_vs_pu" in listing.output


def test_validate_showers_prints_the_checks_and_exits_1_when_one_fails(tmp_path):
    out = tmp_path / "validation"
    result = CliRunner().invoke(
        app, ["validate-showers", "--geometry", "calogan", "--showers", "10", "--out", str(out)]
    )
    checks = json.loads((out / "validation.json").read_text())["checks"]
    assert result.exit_code == (0 if all(c["passed"] for c in checks) else 1), result.output
    assert "shower model vs textbook" in result.output
    assert (out / "shower_maximum.png").exists()
    bad = CliRunner().invoke(app, ["validate-showers", "--geometry", "calo", "--out", str(out)])
    assert bad.exit_code == 2 and "did you mean 'calogan'" in bad.output
