"""Regression end to end: ``hepdl train`` / ``evaluate`` with ``task.kind: regress`` on a
toy jet-energy sample whose answer is known, the classical baselines behind the same
command, streamed data, and every bad input named."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from hepdl.cli import app

runner = CliRunner()
FEATURES = ["jet_pt", "jet_eta", "jet_nparticles"]


def response_of(gen_pt: np.ndarray, eta: np.ndarray) -> np.ndarray:
    """The toy detector's mean response reco/gen: low at low pT and in the forward region."""
    return 0.8 + 0.12 * np.tanh((gen_pt - 100.0) / 150.0) - 0.06 * np.abs(eta)


def write_jets(path: Path, *, n: int = 3000, seed: int = 0, with_truth: bool = True) -> str:
    """Jets whose reco pT is the gen pT times an (pT, eta)-dependent response, smeared by a
    stochastic term; the network must learn gen / reco from (reco pT, eta)."""
    rng = np.random.default_rng(seed)
    gen = rng.uniform(40.0, 600.0, n)
    eta = rng.uniform(-2.5, 2.5, n)
    smear = 1.0 + rng.normal(0.0, 0.6 / np.sqrt(gen) + 0.03, n)
    reco = gen * response_of(gen, eta) * smear
    columns = {"jet_pt": reco, "jet_eta": eta, "jet_nparticles": rng.poisson(30, n).astype(float)}
    if with_truth:
        columns["gen_jet_pt"] = gen
    pq.write_table(pa.table(columns), path)
    return str(path)


@pytest.fixture(scope="module")
def jets(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_jets(tmp_path_factory.mktemp("regress") / "jets.parquet")


def write_config(tmp_path: Path, jets: str, *, task=None, model=None, data=None, **top) -> Path:
    raw = {
        "name": "jec",
        "seed": 3,
        "data": {
            "files": [jets],
            "batch_size": 128,
            "representation": {"name": "columns", "columns": FEATURES},
            **(data or {}),
        },
        "model": model or {"name": "mlp", "hidden": [32, 32]},
        "task": {
            "kind": "regress",
            "targets": ["gen_jet_pt"],
            "ratio_to": "jet_pt",
            "lr": 0.003,
            "bins": 4,
            **(task or {}),
        },
        "trainer": {"max_epochs": 12, "progress_bar": False, "output_dir": str(tmp_path / "runs")},
        **top,
    }
    path = tmp_path / "jec.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def train(config: Path) -> tuple[Path, dict, str]:
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    run = next((config.parent / "runs").iterdir())
    return run, json.loads((run / "metrics.json").read_text()), result.output


def naive_resolution(predicted: np.ndarray, true: np.ndarray) -> tuple[float, float]:
    ratio = predicted / true
    median = float(np.median(ratio))
    q16, q84 = np.percentile(ratio, [16, 84])
    return median, 0.5 * (q84 - q16) / median


def test_a_network_corrects_the_jet_response(tmp_path, jets):
    run, metrics, output = train(write_config(tmp_path, jets))
    saved = np.load(run / "predictions.npz")
    predicted, true = saved["predicted_point"][:, 0], saved["true"][:, 0]
    # metrics.json is what a naive computation on predictions.npz gives
    median, resolution = naive_resolution(predicted, true)
    assert metrics["response"] == pytest.approx(median, rel=1e-9)
    assert metrics["relative_resolution"] == pytest.approx(resolution, rel=1e-9)
    # the physics: the uncorrected reco pT has a response ~0.8 that the network removes,
    # and the pT- and eta-dependent spread it removes too
    baseline = metrics["baseline"]
    assert baseline["estimate"] == "jet_pt" and baseline["response"] < 0.9
    assert abs(metrics["response"] - 1.0) < 0.03
    assert metrics["relative_resolution"] < baseline["relative_resolution"]
    assert len(metrics["binned"]) == 4 and sum(b["n"] for b in metrics["binned"]) == len(true)
    for name in ("response.png", "predicted_vs_true.png", "ratio.png", "history.png"):
        assert (run / name).stat().st_size > 0, name
    assert "relative resolution" in output and "baseline jet_pt" in output
    history = json.loads((run / "history.json").read_text())
    assert {"val_rmse", "val_resolution", "val_response"} <= set(history)


def test_gaussian_nll_predicts_calibrated_uncertainties(tmp_path, jets):
    _, metrics, _ = train(write_config(tmp_path, jets, task={"loss": "gaussian_nll"}))
    assert abs(metrics["pull_mean"]) < 0.25
    assert 0.7 < metrics["pull_width"] < 1.4  # per-jet sigmas that mean what they say


def test_quantile_regression_covers_its_quantiles(tmp_path, jets):
    task = {"loss": "quantile", "quantiles": [0.16, 0.5, 0.84]}
    run, metrics, _ = train(write_config(tmp_path, jets, task=task))
    coverage = {float(q): v for q, v in metrics["coverage"].items()}
    for q in (0.16, 0.5, 0.84):
        assert abs(coverage[q] - q) < 0.08, (q, coverage)
    levels = np.load(run / "predictions.npz")["predicted_quantiles"]  # (n, T, Q)
    assert (np.diff(levels, axis=-1) > 0).all()  # never crossing


@pytest.mark.parametrize("baseline", ["least_squares", "bdt", "binned_calibration"])
def test_classical_regressors_behind_the_same_command(tmp_path, jets, baseline):
    options = {"name": baseline}
    if baseline == "binned_calibration":
        options.update(columns=["jet_pt", "jet_eta"], bins=[6, 4])
    if baseline == "bdt":
        options.update(max_iter=50)
    run, metrics, output = train(write_config(tmp_path, jets, model=options))
    assert (run / "model.skops").is_file()
    assert metrics["relative_resolution"] < metrics["baseline"]["relative_resolution"]
    assert abs(metrics["response"] - 1.0) < 0.05
    assert "relative resolution" in output


def test_evaluate_on_a_file_without_the_target_predicts_anyway(tmp_path, jets):
    run, _, _ = train(write_config(tmp_path, jets))
    unlabelled = write_jets(tmp_path / "data.parquet", n=200, seed=5, with_truth=False)
    result = runner.invoke(app, ["evaluate", str(run), "--data", unlabelled])
    assert result.exit_code == 0, result.output
    out = run / "evaluations" / "data"
    metrics = json.loads((out / "metrics.json").read_text())
    assert "metrics need the true values" in metrics["note"]
    assert "metrics need the true values" in result.output
    assert np.load(out / "predictions.npz")["predicted_point"].shape == (200, 1)


def test_evaluate_with_the_target_gives_the_metrics(tmp_path, jets):
    run, _, _ = train(write_config(tmp_path, jets))
    other = write_jets(tmp_path / "other.parquet", n=400, seed=9)
    result = runner.invoke(app, ["evaluate", str(run), "--data", other])
    assert result.exit_code == 0, result.output
    metrics = json.loads((run / "evaluations" / "other" / "metrics.json").read_text())
    assert metrics["n"] == 400 and abs(metrics["response"] - 1.0) < 0.05


def test_streamed_regression(tmp_path, jets):
    val = write_jets(tmp_path / "val.parquet", n=600, seed=1)
    test = write_jets(tmp_path / "test.parquet", n=600, seed=2)
    data = {
        "streaming": {"val_files": [val], "test_files": [test], "chunk_rows": 500, "fit_rows": 1000}
    }
    _, metrics, _ = train(write_config(tmp_path, jets, data=data))
    assert metrics["streamed"] is True and metrics["n"] == 600
    assert abs(metrics["response"] - 1.0) < 0.05
    assert metrics["relative_resolution"] < metrics["baseline"]["relative_resolution"]


def test_a_target_crossing_zero_gets_residual_metrics(tmp_path):
    """Regressing a pseudorapidity: predicted / true means nothing, predicted - true does."""
    rng = np.random.default_rng(4)
    eta = rng.uniform(-2.5, 2.5, 1500)
    path = tmp_path / "jets.parquet"
    pq.write_table(
        pa.table(
            {
                "jet_pt": rng.uniform(50, 100, 1500),
                "jet_eta": eta,
                "jet_nparticles": eta + rng.normal(0, 0.1, 1500),
                "gen_jet_pt": eta,
            }
        ),
        path,
    )
    run, metrics, output = train(write_config(tmp_path, str(path), task={"ratio_to": None}))
    assert metrics["response"] is None and "residual metrics" in metrics["note"]
    saved = np.load(run / "predictions.npz")
    residual = saved["predicted_point"][:, 0] - saved["true"][:, 0]
    q16, q84 = np.percentile(residual, [16, 84])
    assert metrics["residual_resolution"] == pytest.approx(0.5 * (q84 - q16))
    assert metrics["residual_resolution"] < 0.3  # learnt from the smeared copy (0.1)
    assert len(metrics["binned_residuals"]) == 4
    assert "resolution of predicted - true" in output


def test_a_regression_trains_flat_in_a_column(tmp_path, jets):
    """data.reweight without classes flattens the one spectrum (a jet energy regression
    trained flat in pT); every training jet then weighs 1 / (its pT bin's count)."""
    from hepdl.config import load_config
    from hepdl.train.prepared import prepare_data
    from hepdl.train.run import _training_weights

    data = {"reweight": {"column": "jet_pt", "bins": 5}}
    config = load_config(write_config(tmp_path, jets, data=data))
    prepared = prepare_data(config)
    weights = _training_weights(config, prepared.sample, prepared.train_idx)
    pt = prepared.sample.weight_variable[prepared.train_idx]
    edges = np.linspace(pt.min(), pt.max(), 6)
    counts = np.histogram(pt, edges)[0]
    per_bin = [
        weights[prepared.train_idx][np.digitize(pt, edges[1:-1]) == b].sum() for b in range(5)
    ]
    np.testing.assert_allclose(per_bin, per_bin[0], rtol=1e-6)  # flat: equal weight per bin
    assert counts.std() > 0  # the spectrum was not flat before
    _, metrics, _ = train(write_config(tmp_path, jets, data=data))
    assert abs(metrics["response"] - 1.0) < 0.05


def test_match_to_is_refused_without_classes(tmp_path, jets):
    data = {"reweight": {"column": "jet_pt", "match_to": "qcd"}}
    output = error_of(write_config(tmp_path, jets, data=data))
    assert "data.reweight.match_to 'qcd' names a class, but this task has no classes" in output


# ---------------------------------------------------------------- bad input, one error each


def error_of(config: Path) -> str:
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    return result.output


def test_a_missing_target_column_is_named_with_the_closest(tmp_path, jets):
    output = error_of(write_config(tmp_path, jets, task={"targets": ["gen_jet_ptt"]}))
    assert "task.targets 'gen_jet_ptt' is not a column (did you mean 'gen_jet_pt'?)" in output


def test_a_non_numeric_target_is_refused(tmp_path):
    path = tmp_path / "jets.parquet"
    pq.write_table(
        pa.table(
            {
                "jet_pt": [1.0, 2.0],
                "jet_eta": [0.0, 1.0],
                "jet_nparticles": [3.0, 4.0],
                "gen_jet_pt": ["a", "b"],
            }
        ),
        path,
    )
    output = error_of(write_config(tmp_path, str(path)))
    assert "task.targets 'gen_jet_pt' must hold one number per row" in output


def test_a_nan_target_is_refused_with_its_row(tmp_path):
    path = tmp_path / "jets.parquet"
    gen = np.linspace(50, 100, 40)
    gen[7] = np.nan
    pq.write_table(
        pa.table(
            {
                "jet_pt": gen * 0.9,
                "jet_eta": np.zeros(40),
                "jet_nparticles": np.ones(40),
                "gen_jet_pt": gen,
            }
        ),
        path,
    )
    output = error_of(write_config(tmp_path, str(path)))
    assert "task.targets 'gen_jet_pt' has 1 NaN or infinite value(s) (first in row 7)" in output


def test_a_constant_target_is_refused(tmp_path):
    path = tmp_path / "jets.parquet"
    pq.write_table(
        pa.table(
            {
                "jet_pt": np.linspace(1, 2, 200),  # validation and test above the 20-row floor
                "jet_eta": np.zeros(200),
                "jet_nparticles": np.ones(200),
                "gen_jet_pt": np.full(200, 5.0),
            }
        ),
        path,
    )
    output = error_of(write_config(tmp_path, str(path), task={"ratio_to": None}))
    assert "task.targets 'gen_jet_pt' has the same value in every training row" in output


def test_float_labels_for_a_classifier_point_to_regression(tmp_path, jets):
    config = write_config(tmp_path, jets, task=None)
    raw = yaml.safe_load(config.read_text())
    raw["task"] = {"kind": "classify"}
    raw["data"]["label_column"] = "jet_pt"
    config.write_text(yaml.safe_dump(raw))
    output = error_of(config)
    assert "label column 'jet_pt' holds non-integer values" in output
    assert "use task.kind: regress with task.targets: [jet_pt]" in output


def test_a_baseline_of_the_wrong_kind_is_refused(tmp_path, jets):
    output = error_of(write_config(tmp_path, jets, model={"name": "svm"}))
    assert "model 'svm' is a baseline for task.kind classify, not 'regress'" in output
