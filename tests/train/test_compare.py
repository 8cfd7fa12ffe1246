"""hepdl compare: grouping runs, mean ± std over seeds, ROC bands, and the cost columns
every run now records (parameters, s/epoch, jets/s, predictions.npz)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
import yaml
from sklearn.metrics import roc_auc_score
from tests.conftest import write_feature_file
from typer.testing import CliRunner

from hepdl._cli_compare import register
from hepdl.config import ExperimentConfig
from hepdl.errors import ConfigError, DataError
from hepdl.metrics import background_rejection
from hepdl.train.compare import (
    EPS_S_GRID,
    compare_runs,
    group_runs,
    load_run,
    rejection_on_grid,
    roc_band,
    save_predictions,
)


def write_run(
    root: Path,
    name: str,
    *,
    model: str,
    metrics: dict[str, Any],
    config_name: str = "cfg",
    seed: int = 0,
    n: int = 400,
) -> Path:
    """A hand-written run directory: config.yaml, metrics.json and predictions.npz of a
    Gaussian toy: sigmoid of a logit of mean 1 (signal) or 0 (background)."""
    run = root / name
    run.mkdir(parents=True)
    (run / "config.yaml").write_text(
        yaml.safe_dump({"name": config_name, "model": {"name": model}})
    )
    full = {"data": "toy.parquet", "n_test": n, "n_background": n // 2, **metrics}
    (run / "metrics.json").write_text(json.dumps(full))
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(n // 2), np.zeros(n // 2)].astype(int)
    logits = rng.normal(size=n) + labels
    save_predictions(run, labels=labels, scores=1.0 / (1.0 + np.exp(-logits)))
    return run


def _metrics(auc: float, acc: float, rej: float | None, params: int, sec: float, rate: float):
    return {
        "auc": auc,
        "accuracy": acc,
        "rejection_at_eps_s_0.3": rej,
        "rejection_at_eps_s_0.5": 2.0 * rej if rej is not None else None,
        "n_parameters": params,
        "train_seconds_per_epoch": sec,
        "inference_jets_per_second": rate,
    }


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return [
        write_run(tmp_path, "mlp-1", model="mlp", metrics=_metrics(0.90, 0.80, 10, 100, 1, 1e4)),
        write_run(tmp_path, "mlp-2", model="mlp", metrics=_metrics(0.92, 0.82, 20, 100, 2, 2e4)),
        write_run(tmp_path, "mlp-3", model="mlp", metrics=_metrics(0.94, 0.84, 30, 100, 3, 3e4)),
        write_run(tmp_path, "bdt-1", model="bdt", metrics=_metrics(0.95, 0.85, 40, 50, 4, 5e3)),
        write_run(tmp_path, "bdt-2", model="bdt", metrics=_metrics(0.97, 0.87, None, 70, 6, 7e3)),
    ]


def test_table_is_mean_and_sample_std_by_hand_sorted_by_auc(tmp_path, runs):
    result = compare_runs(runs, out_dir=tmp_path / "out")
    lines = (tmp_path / "out" / "comparison.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| model"))
    assert header == (
        "| model | AUC | accuracy | 1/eps_B @ eps_S=0.3 | 1/eps_B @ eps_S=0.5 | params | "
        "s/epoch | jets/s | runs |"
    )
    rows = [line for line in lines if line.startswith("| mlp") or line.startswith("| bdt")]
    # bdt first (mean AUC 0.96 > 0.92). bdt: AUC std sqrt(2 * 0.01^2 / 1) = 0.0141421;
    # one run lost every background jet at 0.3: the rejection only exceeds N_B = 200.
    assert rows[0] == (
        "| bdt | 0.9600 ± 0.0141 | 0.8600 ± 0.0141 | > 200 | > 200 | 60 ± 14 | 5 ± 1.41 "
        "| 6,000 ± 1,414 | 2 |"
    )
    # mlp: values 0.90, 0.92, 0.94 -> mean 0.92, std sqrt((0.02^2 + 0 + 0.02^2) / 2) = 0.02.
    assert rows[1] == (
        "| mlp | 0.9200 ± 0.0200 | 0.8200 ± 0.0200 | 20.0 ± 10.0 | 40.0 ± 20.0 | 100 ± 0 "
        "| 2 ± 1 | 20,000 ± 10,000 | 3 |"
    )
    assert result.table.splitlines()[2] == rows[0]
    assert (tmp_path / "out" / "roc_comparison.png").stat().st_size > 10_000


def test_group_by_config_name(tmp_path):
    a = write_run(tmp_path, "a", model="mlp", config_name="wide", metrics={"auc": 0.8})
    b = write_run(tmp_path, "b", model="mlp", config_name="deep", metrics={"auc": 0.9})
    c = write_run(tmp_path, "c", model="mlp", config_name="wide", metrics={"auc": 0.7})
    groups = group_runs([load_run(r) for r in (a, b, c)], by="config")
    assert {k: [r.run_dir.name for r in v] for k, v in groups.items()} == {
        "wide": ["a", "c"],
        "deep": ["b"],
    }
    table = compare_runs([a, b, c], out_dir=tmp_path / "o", group_by="config").table
    assert table.splitlines()[2].startswith("| deep | 0.9000 | – |")  # one run: no ± std
    assert table.splitlines()[3].startswith("| wide | 0.7500 ± 0.0707 |")


def test_refuses_a_group_on_two_test_samples_naming_both_runs(tmp_path):
    a = write_run(tmp_path, "a", model="mlp", metrics={"auc": 0.8})
    b = write_run(tmp_path, "b", model="mlp", metrics={"auc": 0.9, "data": "other.parquet"})
    with pytest.raises(DataError) as err:
        compare_runs([a, b], out_dir=tmp_path / "o")
    assert str(err.value) == (
        f"group 'mlp': runs {a} and {b} were tested on different samples ('toy.parquet' vs "
        "'other.parquet'); compare runs on the same test jets"
    )


def test_missing_metrics_json_names_the_directory(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: no metrics.json; expected a finished hepdl run"):
        load_run(tmp_path / "empty")


def test_bad_group_by_and_no_runs(tmp_path, runs):
    with pytest.raises(ConfigError, match="--group-by: expected 'model' or 'config', got 'x'"):
        compare_runs(runs, out_dir=tmp_path, group_by="x")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="RUN_DIR: give at least one run directory"):
        compare_runs([], out_dir=tmp_path)


def test_missing_predictions_names_the_run(tmp_path, runs):
    (runs[0] / "predictions.npz").unlink()
    with pytest.raises(DataError, match=r"mlp-1: no predictions.npz \(test labels and scores\)"):
        compare_runs(runs, out_dir=tmp_path / "o")


def _naive_rejection(labels: np.ndarray, scores: np.ndarray, target: float) -> float:
    """1/eps_B at eps_S = target by a loop over cuts, linear between neighbouring cuts."""
    points = [(0.0, 0.0)]
    for cut in sorted(set(scores), reverse=True):
        sel = scores >= cut
        points.append((sel[labels == 1].mean(), sel[labels == 0].mean()))
    for (s0, b0), (s1, b1) in itertools.pairwise(points):
        if s0 < target <= s1:
            eps_b = b0 + (target - s0) * (b1 - b0) / (s1 - s0)
            return np.inf if eps_b == 0 else 1.0 / eps_b  # no background left
    raise AssertionError("target not reached")


def test_rejection_on_grid_matches_a_loop_and_background_rejection():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, 300)
    scores = np.round(rng.normal(size=300) + 1.5 * labels, 1)  # ties: shared eps_S values
    curve = rejection_on_grid(labels, scores)
    for i in (5, 25, 45, 70, 95):  # eps_S = 0.1, 0.3, 0.5, 0.75, 1.0
        reference = background_rejection(labels, scores, signal_efficiency=EPS_S_GRID[i])
        assert curve[i] == pytest.approx(reference, rel=1e-12)
        assert curve[i] == pytest.approx(_naive_rejection(labels, scores, EPS_S_GRID[i]))


def test_roc_band_is_median_min_max_over_runs():
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 2, 500)
    runs = [(labels, rng.normal(size=500) + shift * labels) for shift in (0.5, 1.0, 2.0)]
    median, low, high = roc_band(runs)
    at_half = sorted(background_rejection(y, s, signal_efficiency=0.5) for y, s in runs)
    i = int(np.argmin(np.abs(EPS_S_GRID - 0.5)))
    assert (low[i], median[i], high[i]) == pytest.approx(at_half)


# --- one real tiny training of each kind ----------------------------------------------


def _config(out: Path, jets: str, model: dict[str, Any], seed: int) -> ExperimentConfig:
    raw = {
        "name": "toy",
        "seed": seed,
        "data": {
            "files": [jets],
            "representation": {"name": "columns", "columns": ["f1", "f2", "noise"]},
            "batch_size": 64,
        },
        "model": model,
        "trainer": {"max_epochs": 2, "progress_bar": False, "output_dir": str(out)},
        "evaluate": {"plots": False},
    }
    return ExperimentConfig.model_validate(raw)


def test_real_runs_record_costs_and_predictions_and_compare(tmp_path):
    from hepdl.train.classical import load_classical
    from hepdl.train.run import train_experiment

    jets = write_feature_file(tmp_path / "jets.parquet")
    mlp = {"name": "mlp", "hidden": [8]}
    dirs = [
        train_experiment(_config(tmp_path, jets, mlp, seed), run_dir=tmp_path / f"mlp{seed}")
        for seed in (1, 2)
    ]
    dirs.append(
        train_experiment(
            _config(tmp_path, jets, {"name": "logistic_regression"}, 1), run_dir=tmp_path / "lr"
        )
    )
    forest = {"name": "random_forest", "n_estimators": 5}
    dirs.append(train_experiment(_config(tmp_path, jets, forest, 1), run_dir=tmp_path / "rf"))
    metrics = [result.metrics for result in dirs]
    # Trainable parameters by hand: 3 -> 8 -> 1 is 3*8 + 8 + 8*1 + 1.
    assert metrics[0]["n_parameters"] == 41
    assert metrics[2]["n_parameters"] == 4  # 3 coefficients and the intercept
    _, forest_fit, _ = load_classical(tmp_path / "rf")
    assert metrics[3]["n_parameters"] == sum(t.tree_.node_count for t in forest_fit.estimators_)
    for m in metrics:  # a network's seconds per epoch, a baseline's one fit
        seconds = m.get("fit_seconds", m.get("train_seconds_per_epoch"))
        assert seconds > 0 and m["inference_jets_per_second"] > 0
    assert [("fit_seconds" in m) for m in metrics] == [False, False, True, True]
    for result in dirs:
        saved = np.load(result.run_dir / "predictions.npz")
        assert len(saved["labels"]) == result.metrics["n_test"] == 120
        auc = roc_auc_score(saved["labels"], saved["scores"])
        assert auc == pytest.approx(result.metrics["auc"], abs=1e-9)
    table = compare_runs([r.run_dir for r in dirs], out_dir=tmp_path / "cmp").table
    means = {
        "mlp": (metrics[0]["auc"] + metrics[1]["auc"]) / 2,
        "logistic_regression": metrics[2]["auc"],
        "random_forest": metrics[3]["auc"],
    }
    shown = [line.split(" | ")[0].removeprefix("| ") for line in table.splitlines()[2:]]
    assert shown == sorted(means, key=lambda name: -means[name])


def test_cli_compare_prints_the_table_and_fails_cleanly(tmp_path, runs):
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "| bdt | 0.9600 ± 0.0141 |" in result.output
    assert f"wrote {tmp_path / 'c' / 'comparison.md'}" in result.output
    missing = CliRunner().invoke(app, ["compare", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "nope: no metrics.json" in missing.output


def test_epoch_timer_subtracts_validation(monkeypatch):
    from hepdl.train import _timing

    clock = iter([0.0, 1.0, 3.0, 10.0, 20.0, 25.0])  # start, val start/end, end; no val
    monkeypatch.setattr(_timing.time, "perf_counter", lambda: next(clock))
    timer = _timing.EpochTimer()
    assert timer.mean_seconds() is None
    timer.train_epoch_start()
    timer.validation_start()
    timer.validation_end()
    timer.train_epoch_end()  # 10 - 0 - (3 - 1) = 8
    timer.train_epoch_start()
    timer.train_epoch_end()  # 25 - 20 = 5
    assert timer.seconds == [8.0, 5.0] and timer.mean_seconds() == 6.5


def test_timed_scores_warms_up_then_times_every_row(monkeypatch):
    from hepdl.train import _timing

    calls: list[int] = []
    clock = iter([100.0, 104.0])
    monkeypatch.setattr(_timing.time, "perf_counter", lambda: next(clock))
    scores, rate = _timing.timed_scores(
        lambda idx: calls.append(len(idx)) or idx * 2.0, np.arange(1000)
    )
    assert calls == [256, 1000]  # the warm-up batch, then the timed call
    assert rate == 250.0 and scores[3] == 6.0
