"""``task.resolution_fit``: the calorimeter resolution sigma/E = a/sqrt(E) (+) b/E (+) c
fitted on the test rows of an energy regression, its config key, its errors, and the
standard linear calibration (least squares on ``layer_sums``) it is meant to judge."""

from __future__ import annotations

import json
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import awkward as ak
import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from hepdl.cli import app
from hepdl.config import config_from_dict
from hepdl.errors import ConfigError, DataError
from hepdl.tasks import create_task
from hepdl.tasks._regression_report import (
    RESOLUTION_FORMULA,
    check_fit_energies,
    write_regression_report,
)
from hepdl.tasks.regress_section import ResolutionFitConfig

runner = CliRunner()
A, C = 0.10, 0.02  # the toy calorimeter's stochastic and constant terms
EDGES = [5.0, 20.0, 40.0, 60.0, 80.0, 100.0, 130.0, 160.0, 200.0]


def section(**task):
    raw = {
        "data": {"files": ["showers.parquet"]},
        "task": {"kind": "regress", "targets": ["energy"], "bins": EDGES, **task},
    }
    return config_from_dict(raw).task


# ---------------------------------------------------------------- the config key


def test_true_means_the_default_fit_of_the_first_target():
    fit = section(resolution_fit=True).resolution_fit
    assert isinstance(fit, ResolutionFitConfig)
    assert (fit.target, fit.terms, fit.method) == ("energy", ["a", "b", "c"], "iqr")
    assert section(resolution_fit=False).resolution_fit is None
    assert section().resolution_fit is None


def test_options_are_kept_and_saved():
    task = section(targets=["energy", "eta"], resolution_fit={"terms": ["a", "c"]})
    assert task.resolution_fit.target == "energy" and task.resolution_fit.terms == ["a", "c"]
    raw = {"data": {"files": ["s.parquet"]}, "task": task.model_dump()}
    assert config_from_dict(raw).task.resolution_fit == task.resolution_fit  # round trip


def test_the_task_is_built_without_the_evaluation_key():
    from hepdl.models import create_model

    task = section(resolution_fit=True)
    assert "resolution_fit" not in task.options()
    model = create_model("mlp", in_features=2, hidden=[4], out_features=1)
    built = create_task(task, model)  # a RegressionTask, which takes no resolution_fit
    assert type(built).__name__ == "RegressionTask"


@pytest.mark.parametrize(
    ("fit", "bins", "message"),
    [
        (
            {"target": "eta"},
            EDGES,
            "task.resolution_fit.target 'eta' is not one of task.targets ['energy']",
        ),
        ({"terms": ["a", "a"]}, EDGES, "task.resolution_fit.terms must name a, b and/or c once"),
        (
            {"terms": ["d"]},
            EDGES,
            "config key 'task.resolution_fit.terms.0': Input should be 'a', 'b' or 'c' (got 'd')",
        ),
        (
            True,
            [5.0, 50.0, 100.0, 200.0],
            "task.resolution_fit fits 3 term(s) (a, b, c), which needs more than 3 bins of "
            "true energy; task.bins gives 3",
        ),
        ({"method": "gauss"}, EDGES, "'iqr' or 'core'"),
        ({"trems": ["a"]}, EDGES, "trems"),
        ("yes", EDGES, "resolution_fit"),
    ],
)
def test_bad_resolution_fit_options_name_the_key(fit, bins, message):
    with pytest.raises(ConfigError) as err:
        section(resolution_fit=fit, bins=bins)
    assert message in str(err.value)


# ---------------------------------------------------------------- the report on known showers


def toy_energies(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """True energies flat in 5-200 GeV and a measurement smeared by a/sqrt(E) (+) c."""
    rng = np.random.default_rng(seed)
    true = rng.uniform(5.0, 200.0, n)
    sigma = np.sqrt(A**2 / true + C**2)
    return true, true * (1.0 + sigma * rng.normal(size=n))


def coding(fit: ResolutionFitConfig | None, *, ratio_to: str | None = None):
    """What the report reads from the regression's target coding."""
    return SimpleNamespace(
        targets=["energy"], bins=EDGES, quantiles=None, ratio_to=ratio_to, resolution_fit=fit
    )


def naive_bins(true: np.ndarray, measured: np.ndarray) -> list[tuple[float, float]]:
    """Per bin of EDGES: the mean true energy and the half 16-84 % width of measured/true
    over its median, Gaussian-equivalent (/ 0.9945)."""
    points = []
    for b, (low, high) in enumerate(pairwise(EDGES)):
        last = b == len(EDGES) - 2
        inside = (true >= low) & ((true <= high) if last else (true < high))
        ratio = measured[inside] / true[inside]
        q16, q84 = np.percentile(ratio, [16, 84])
        points.append(
            (true[inside].mean(), 0.5 * (q84 - q16) / 0.994457883209753 / np.median(ratio))
        )
    return points


def test_the_fit_recovers_the_toy_terms_from_the_test_rows(tmp_path: Path):
    true, measured = toy_energies(20000, seed=1)
    options = section(resolution_fit={"terms": ["a", "c"]}).resolution_fit
    metrics = write_regression_report(
        tmp_path,
        coding=coding(options),
        predictions={"point": measured[:, None]},
        true=true[:, None],
        baseline=None,
        plots=False,
    )
    fit = metrics["resolution_fit"]
    assert fit["formula"] == RESOLUTION_FORMULA and fit["terms"] == ["a", "c"]
    predicted = fit["predicted"]
    assert abs(predicted["a"] - A) < 4 * predicted["a_error"], predicted
    assert abs(predicted["c"] - C) < 4 * predicted["c_error"], predicted
    assert predicted["b"] == 0.0 and predicted["ndf"] == len(EDGES) - 1 - 2
    # the points fitted are the test rows' in the bins of task.bins
    bins = predicted["bins"]
    assert [(b["low"], b["high"]) for b in bins] == list(pairwise(EDGES))
    assert sum(b["n"] for b in bins) == len(true)
    for row, (energy, width) in zip(bins, naive_bins(true, measured), strict=True):
        assert row["energy"] == pytest.approx(energy, rel=1e-12)
        assert row["relative_resolution"] == pytest.approx(width, rel=1e-9)
    assert json.loads((tmp_path / "metrics.json").read_text())["resolution_fit"] == fit


def test_the_baseline_gets_its_own_fit(tmp_path: Path):
    true, measured = toy_energies(8000, seed=2)
    rng = np.random.default_rng(3)
    raw = 0.8 * true * (1.0 + 0.3 / np.sqrt(true) * rng.normal(size=len(true)))  # worse
    metrics = write_regression_report(
        tmp_path,
        coding=coding(section(resolution_fit=True).resolution_fit, ratio_to="raw_energy"),
        predictions={"point": measured[:, None]},
        true=true[:, None],
        baseline=raw,
        plots=True,
    )
    fits = metrics["resolution_fit"]
    assert set(fits) >= {"predicted", "baseline (raw_energy)"}
    assert fits["baseline (raw_energy)"]["a"] > 2 * fits["predicted"]["a"]
    assert (tmp_path / "resolution_fit.png").stat().st_size > 0  # with the baseline's curve


def test_too_few_filled_bins_is_reported_not_raised(tmp_path: Path, caplog):
    true, measured = toy_energies(40, seed=4)  # ~5 rows a bin: below the minimum of 10
    metrics = write_regression_report(
        tmp_path,
        coding=coding(section(resolution_fit=True).resolution_fit),
        predictions={"point": measured[:, None]},
        true=true[:, None],
        baseline=None,
        plots=False,
    )
    entry = metrics["resolution_fit"]["predicted"]
    assert entry["error"].startswith("bins: fitting 3 terms needs at least 3 bins with")
    assert "a" not in entry and len(entry["bins"]) == len(EDGES) - 1
    assert "resolution fit of energy (predicted)" in caplog.text
    assert (tmp_path / "metrics.json").is_file()  # the rest of the evaluation stands


def test_a_target_that_is_not_an_energy_is_refused():
    with pytest.raises(DataError) as err:
        check_fit_energies(np.array([10.0, -1.0, 0.0]), "energy", where="showers.parquet")
    assert str(err.value) == (
        "showers.parquet: task.resolution_fit fits the energy resolution of target 'energy', "
        "which must be > 0 (GeV) in every row, but 2 row(s) are not (first: row 1, value -1); "
        "fit another target or turn task.resolution_fit off"
    )


# ------------------------------------------------------------ end to end: the linear calibration


def write_showers(path: Path, *, n: int = 1500, seed: int = 0, shift: float = 0.0) -> str:
    """Toy showers: the ECAL sees a fraction f ~ U(0.8, 0.95) of E with the response 1 and
    the smearing A/sqrt(E) (+) C, the HCAL the rest at response 0.5; so E = S_ecal +
    2 S_hcal up to the ECAL's smearing, the calibration weights (1, 2)."""
    rng = np.random.default_rng(seed)
    energy = rng.uniform(5.0, 200.0, n)
    fraction = rng.uniform(0.8, 0.95, n)
    smear = 1.0 + np.sqrt(A**2 / energy + C**2) * rng.normal(size=n)
    energy += shift  # a target that is not the energy deposited
    ecal = np.zeros((n, 35, 35), np.float32)
    hcal = np.zeros((n, 7, 7), np.float32)
    ecal[:, 17, 17] = 0.7 * fraction * energy * smear
    ecal[:, 17, 18] = 0.3 * fraction * energy * smear
    hcal[:, 3, 3] = 0.5 * (1.0 - fraction) * energy
    ak.to_parquet(ak.Array({"energy": energy, "ecal": ecal, "hcal": hcal}), path)
    return str(path)


def write_config(tmp_path: Path, showers: str, **task) -> Path:
    raw = {
        "name": "calo_linear",
        "seed": 1,
        "data": {
            "files": [showers],
            "representation": {"name": "layer_sums", "layers": ["ecal", "hcal"]},
            "split": {"train": 0.5, "val": 0.1, "test": 0.4, "seed": 0},
            "standardize": False,
        },
        "model": {"name": "least_squares", "fit_intercept": False},
        "task": {
            "kind": "regress",
            "targets": ["energy"],
            "loss": "mse",
            "standardize_targets": False,
            "bins": EDGES,
            "resolution_fit": {"terms": ["a", "c"]},
            **task,
        },
        "trainer": {"output_dir": str(tmp_path / "runs")},
        "evaluate": {"plots": False},
    }
    path = tmp_path / "calo.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_the_linear_calibration_on_layer_sums(tmp_path: Path):
    import skops.io as sio

    config = write_config(tmp_path, write_showers(tmp_path / "showers.parquet"))
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    run = next((tmp_path / "runs").iterdir())
    model = run / "model.skops"
    estimator = sio.load(model, trusted=sio.get_untrusted_types(file=model))
    # E = w_ecal S_ecal + w_hcal S_hcal, no intercept, fitted on the training rows: the
    # normal equations solved by hand on the same rows give the same weights
    from hepdl.config import load_config
    from hepdl.train.prepared import prepare_data

    data = prepare_data(load_config(config), build_model=False)
    sums = data.inputs["features"][data.train_idx].astype(np.float64)  # (n, 2) unscaled
    energy = data.sample.columns["energy"][data.train_idx]
    weights = np.linalg.solve(sums.T @ sums, sums.T @ energy)
    assert estimator.intercept_ == 0.0
    np.testing.assert_allclose(estimator.coef_, weights, rtol=1e-5)
    # near the toy detector's inverse responses (1, 2); the HCAL weight is pulled up a
    # little because the ECAL sum carries the smearing and the HCAL sum does not
    np.testing.assert_allclose(estimator.coef_, [1.0, 2.0], atol=0.08)
    fit = json.loads((run / "metrics.json").read_text())["resolution_fit"]["predicted"]
    assert abs(fit["a"] - A) < 4 * fit["a_error"] and abs(fit["c"] - C) < 4 * fit["c_error"]
    assert "stochastic term a (predicted)" in result.output
    assert f"{100 * fit['a']:.3g} +- {100 * fit['a_error']:.2g} % sqrt(GeV)" in result.output
    assert "noise term b (predicted)" in result.output and "0 (fixed)" in result.output


def test_a_non_positive_energy_target_fails_before_training(tmp_path: Path):
    showers = write_showers(tmp_path / "showers.parquet", n=300, shift=-10.0)  # some E < 0
    result = runner.invoke(app, ["train", str(write_config(tmp_path, showers))])
    assert result.exit_code != 0
    assert "error: " in result.output and "Traceback" not in result.output
    assert "task.resolution_fit fits the energy resolution of target 'energy'" in result.output
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
