"""The shower validation: its measurements against naive numbers, the simulation and files."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy.special import gammainc

from hepdl.errors import DataError, GenerationError
from hepdl.generate.calo_geometry import get_geometry
from hepdl.generate.shower_measurements import (
    cluster_energies,
    containment,
    shower_maximum,
    simulate_summary,
)
from hepdl.generate.shower_model import simulate
from hepdl.generate.shower_validation import validate_showers

A, B, C = 0.03, 0.15, 0.005  # resolution terms of the synthetic files
FILE_ENERGIES = (5.0, 10.0, 20.0, 50.0, 100.0)
PION_RESPONSE = 0.8


# --- the measurements -----------------------------------------------------------------------


@pytest.mark.parametrize(("alpha", "beta", "start"), [(5.0, 0.5, 0.4), (3.0, 0.7, 0.0)])
def test_shower_maximum_of_an_exact_gamma_profile(alpha, beta, start) -> None:
    edges = start + np.arange(81) * 0.5
    profile = 37.0 * np.diff(gammainc(alpha, beta * edges))  # (80,) GeV per 0.5 X0
    assert shower_maximum(profile, bin_x0=0.5, start_x0=start) == pytest.approx(
        (alpha - 1) / beta, rel=1e-5
    )


def test_containment_is_the_normalised_cumulative_sum() -> None:
    radial = np.random.default_rng(0).uniform(0, 1, 100)
    np.testing.assert_allclose(containment(radial), np.cumsum(radial) / radial.sum())
    with pytest.raises(DataError, match=re.escape("radial: expected a 1-D profile with energy")):
        containment(np.zeros(100))


def test_cluster_energies_are_the_central_windows() -> None:
    geometry = get_geometry("cms_ecal")
    cells = {"ecal": np.random.default_rng(1).normal(0, 1, (4, 35, 35)), "hcal": np.ones((4, 7, 7))}
    clusters = cluster_energies(geometry, cells)
    naive3 = [
        sum(cells["ecal"][n, i, j] for i in (16, 17, 18) for j in (16, 17, 18)) for n in range(4)
    ]
    np.testing.assert_allclose(clusters["3x3"], naive3)
    np.testing.assert_allclose(clusters["5x5"], cells["ecal"][:, 15:20, 15:20].sum(axis=(1, 2)))
    calogan = get_geometry("calogan")
    layers = {la.name: np.ones((2, *la.shape)) for la in calogan.layers}
    np.testing.assert_allclose(cluster_energies(calogan, layers)["all cells"], [504.0, 504.0])


def test_simulate_summary_reduces_the_simulated_cells() -> None:
    geometry = get_geometry("cms_ecal")
    summary = simulate_summary(geometry, "e-", 10.0, 12, np.random.default_rng(5))
    cells = simulate(geometry, "e-", np.full(12, 10.0), np.random.default_rng(5), profiles=True)
    np.testing.assert_allclose(summary.cluster["3x3"], cells["ecal"][:, 16:19, 16:19].sum((1, 2)))
    total = cells["ecal"].sum((1, 2), dtype=np.float64) + cells["hcal"].sum(
        (1, 2), dtype=np.float64
    )
    np.testing.assert_allclose(summary.total, total)
    np.testing.assert_allclose(summary.profile_x0, cells["profile_x0"].sum(axis=0))
    np.testing.assert_allclose(summary.profile_moliere, cells["profile_moliere"].sum(axis=0))
    assert summary.n == 12


# --- validating the simulation ----------------------------------------------------------------


def test_validate_the_simulation_writes_consistent_numbers(tmp_path) -> None:
    results = validate_showers(
        None, tmp_path, showers=20, energies=(5.0, 20.0, 80.0), pion_energies=(20.0,), seed=3
    )
    record = json.loads((tmp_path / "validation.json").read_text())
    assert [c["check"] for c in record["checks"]] == [r.check for r in results]
    names = " | ".join(r.check for r in results)
    for expected in (
        "shower maximum slope d t_max / d ln E (e-)",
        "shower maximum t_max - ln(E/Ec) [X0] (gamma)",
        "EM energy within 1 Moliere radius (e-, mean over energies)",
        "resolution stochastic term a [%] (3x3",
        "resolution noise term b [GeV] (3x3",
        "resolution constant term c [%] (3x3",
        "e/pi response ratio at 20 GeV",
    ):
        assert expected in names
    # The checks' numbers are those of the JSON's per-energy values.
    maxima = record["shower_maximum"]["e-"]
    slope = np.polyfit(maxima["ln_e_over_ec"], maxima["t_max_x0"], 1)[0]
    by_name = {r.check: r for r in results}
    assert by_name["shower maximum slope d t_max / d ln E (e-)"].measured == pytest.approx(slope)
    offset = np.mean(np.subtract(maxima["t_max_x0"], maxima["ln_e_over_ec"]))
    assert by_name["shower maximum t_max - ln(E/Ec) [X0] (e-)"].measured == pytest.approx(offset)
    within = record["containment"]["gamma"]["within_1_moliere"]
    key = "EM energy within 1 Moliere radius (gamma, mean over energies)"
    assert by_name[key].measured == pytest.approx(np.mean(within))
    assert maxima["energy"] == [5.0, 20.0, 80.0]  # e- at the pion energy too (20 is one)
    e_pi = record["e_over_pi"]
    assert e_pi["ratio"][0] == pytest.approx(e_pi["response_e"][0] / e_pi["response_pi"][0])
    assert set(record["figures"]) == {
        "shower_maximum.png",
        "longitudinal_profile.png",
        "radial_containment.png",
        "resolution.png",
        "resolution_5x5.png",
        "e_over_pi.png",
    }
    for name in record["figures"]:
        assert (tmp_path / name).read_bytes()[:4] == b"\x89PNG"
    for result in results:  # pass means inside the stated window
        low, high = (
            float(x) for x in re.findall(r"in \[([-+\d.]+), ([-+\d.]+)\]", result.expected)[0]
        )
        assert result.passed == (low <= result.measured <= high), result


def test_same_seed_same_numbers(tmp_path) -> None:
    kwargs = {"showers": 10, "energies": (5.0, 10.0, 20.0), "pion_energies": (10.0,)}
    first = validate_showers(None, tmp_path / "a", geometry="calogan", seed=4, **kwargs)
    second = validate_showers(None, tmp_path / "b", geometry="calogan", seed=4, **kwargs)
    assert first == second
    record = json.loads((tmp_path / "a" / "validation.json").read_text())
    assert record["resolution"]["all cells"]["fit"]["terms"] == ["a", "c"]  # no noise
    assert "e/pi" in record["skipped"]  # CaloGAN is ~2 interaction lengths deep


# --- validating a file -------------------------------------------------------------------------


def _synthetic_rows(seed: int = 0, n: int = 300):
    """e- with a known Gaussian resolution in the hit crystal, and pi+ with response 0.8."""
    rng = np.random.default_rng(seed)
    energy = np.repeat(FILE_ENERGIES, n)
    sigma = np.sqrt(A**2 / energy + B**2 / energy**2 + C**2)
    rows = len(energy)
    ecal = np.zeros((2 * rows, 35, 35), np.float32)
    ecal[:rows, 17, 17] = energy * rng.normal(1.0, sigma)
    ecal[rows:, 17, 17] = PION_RESPONSE * energy * rng.normal(1.0, 0.1, rows)
    return {
        "label": np.repeat([0, 1], rows).astype(np.int64),
        "particle": np.array(["e-"] * rows + ["pi+"] * rows, dtype=object),
        "energy": np.concatenate([energy, energy]),
        "ecal": ecal,
        "hcal": np.zeros((2 * rows, 7, 7), np.float32),
    }


def _metadata() -> str:
    geometry = get_geometry("cms_ecal").describe()
    return json.dumps({"kind": "shower", "class_names": ["e-", "pi+"], "geometry": geometry})


def _write(path, columns) -> None:
    if path.suffix == ".h5":
        import h5py

        with h5py.File(path, "w") as h5:
            h5.attrs["hepdl"] = _metadata()
            for name, values in columns.items():
                h5[name] = values.astype("S16") if values.dtype == object else values
        return
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrays = {}
    for name, values in columns.items():
        if values.ndim == 3:
            _n, h, w = values.shape
            inner = pa.FixedSizeListArray.from_arrays(pa.array(values.reshape(-1)), w)
            arrays[name] = pa.FixedSizeListArray.from_arrays(inner, h)
        else:
            arrays[name] = pa.array(values.tolist() if values.dtype == object else values)
    table = pa.table(arrays).replace_schema_metadata({"hepdl": _metadata()})
    pq.write_table(table, path, row_group_size=700)  # several row groups and batches


@pytest.mark.parametrize("suffix", [".parquet", ".h5"])
def test_validate_a_file_recovers_the_known_terms_and_e_over_pi(tmp_path, suffix) -> None:
    columns = _synthetic_rows()
    path = tmp_path / f"showers{suffix}"
    _write(path, columns)
    results = validate_showers(path, tmp_path / "out")
    record = json.loads((tmp_path / "out" / "validation.json").read_text())
    fit = record["resolution"]["3x3"]["fit"]
    for term, truth in zip("abc", (A, B, C), strict=True):
        assert abs(fit[term] - truth) < 3 * fit[f"{term}_error"], (term, fit)
    assert set(record["skipped"]) == {"shower maximum", "containment"}
    # e/pi per energy: the naive ratio of the mean responses.
    electrons = columns["particle"] == "e-"
    ratios = []
    for energy in FILE_ENERGIES:
        e_rows = electrons & (columns["energy"] == energy)
        p_rows = ~electrons & (columns["energy"] == energy)
        r_e = np.mean(columns["ecal"][e_rows].sum((1, 2), dtype=np.float64) / energy)
        r_p = np.mean(columns["ecal"][p_rows].sum((1, 2), dtype=np.float64) / energy)
        ratios.append(r_e / r_p)
    np.testing.assert_allclose(record["e_over_pi"]["ratio"], ratios, rtol=1e-9)
    np.testing.assert_allclose(ratios, 1 / PION_RESPONSE, rtol=0.03)
    assert [r.passed for r in results if r.check.startswith("e/pi")] == [True] * 5


# --- bad input ---------------------------------------------------------------------------------


def test_bad_input_gives_one_clear_error(tmp_path) -> None:
    with pytest.raises(DataError, match=re.escape("no such file; expected a file written by")):
        validate_showers(tmp_path / "nothing.parquet", tmp_path / "out")
    columns = _synthetic_rows(n=20)
    del columns["hcal"]
    _write(tmp_path / "no_hcal.parquet", columns)
    with pytest.raises(DataError, match=re.escape("no_hcal.parquet: has no column(s) hcal")):
        validate_showers(tmp_path / "no_hcal.parquet", tmp_path / "out")
    columns = _synthetic_rows(n=20)
    columns["hcal"] = np.zeros((len(columns["energy"]), 5, 5), np.float32)
    _write(tmp_path / "small_hcal.parquet", columns)
    with pytest.raises(
        DataError,
        match=re.escape("column hcal: expected cells of shape (7, 7) (geometry cms_ecal), got"),
    ):
        validate_showers(tmp_path / "small_hcal.parquet", tmp_path / "out")
    columns = _synthetic_rows(n=20)
    columns["energy"][3] = -1.0
    _write(tmp_path / "negative.h5", columns)
    with pytest.raises(DataError, match=re.escape("column energy: expected finite true energies")):
        validate_showers(tmp_path / "negative.h5", tmp_path / "out")
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"energy": [1.0]}), tmp_path / "plain.parquet")
    with pytest.raises(DataError, match="has no 'hepdl' key in its Parquet metadata"):
        validate_showers(tmp_path / "plain.parquet", tmp_path / "out")
    with pytest.raises(GenerationError, match=re.escape("--showers: expected an integer >= 10")):
        validate_showers(None, tmp_path / "out", showers=5)
    with pytest.raises(GenerationError, match=re.escape("--energies: expected positive energies")):
        validate_showers(None, tmp_path / "out", energies=(10.0, -5.0))
    with pytest.raises(GenerationError, match=re.escape("unknown calorimeter geometry 'cms_eca'")):
        validate_showers(None, tmp_path / "out", geometry="cms_eca")
    _write(tmp_path / "good.parquet", _synthetic_rows(n=20))
    with pytest.raises(
        DataError, match=re.escape("holds showers of geometry 'cms_ecal', not 'calogan'")
    ):
        validate_showers(tmp_path / "good.parquet", tmp_path / "out", geometry="calogan")
    assert not (tmp_path / "out" / "validation.json").exists()
