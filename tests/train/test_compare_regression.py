"""hepdl compare and ensemble on regression runs: the task's columns (relative resolution
first, lower is better), the overlaid response curves, the mean-prediction ensemble with
its spread across members, and the refusal to compare runs of different task kinds. The
run directories are written by hand (config.yaml, metrics.json, predictions.npz)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import typer
import yaml
from tests.train.test_compare import write_run
from typer.testing import CliRunner

from hepdl._cli_compare import register
from hepdl.atomic import write_npz
from hepdl.errors import DataError
from hepdl.metrics.regression import regression_summary
from hepdl.tasks import ClassificationTask, ClassifyConfig, RegressConfig, RegressionTask
from hepdl.train.compare import (
    Row,
    compare_runs,
    group_runs,
    load_run,
    rank_rows,
    response_curves,
    summary_row,
)
from hepdl.train.ensemble import mean_predictions, write_ensemble

TARGET = "gen_pt"
N = 400
COSTS = {"n_parameters": 100, "train_seconds_per_epoch": 2.0, "inference_jets_per_second": 1e4}


def _true(n: int = N) -> np.ndarray:
    """The test rows' true values, the same in every run (same split)."""
    return np.random.default_rng(123).uniform(40.0, 600.0, n)


def write_regression_run(
    root: Path,
    name: str,
    *,
    model: str,
    metrics: dict[str, Any],
    seed: int = 0,
    config_name: str = "jec",
    bins: int = 4,
    baseline: bool = True,
) -> Path:
    """A hand-written regression run: predictions true * (1 + 0.1 * noise of ``seed``),
    metrics.json with ``metrics`` at the top level, the bins of those predictions and a
    baseline of response 0.8 (the uncorrected reco pT)."""
    run = root / name
    run.mkdir(parents=True)
    task = {"kind": "regress", "targets": [TARGET], "ratio_to": "reco_pt", "bins": bins}
    (run / "config.yaml").write_text(
        yaml.safe_dump({"name": config_name, "model": {"name": model}, "task": task})
    )
    true = _true()
    point = true * (1.0 + 0.1 * np.random.default_rng(seed).normal(size=N))
    full: dict[str, Any] = {"data": "toy.parquet", "n_test": N, "targets": [TARGET], "n": N}
    full["binned"] = regression_summary(point, true, bins=bins)["binned"]
    if baseline:
        reco = 0.8 * true * (1.0 + 0.2 * np.random.default_rng(99).normal(size=N))
        reference = regression_summary(reco, true, bins=bins)
        full["baseline"] = {
            "estimate": "reco_pt",
            **{k: reference[k] for k in ("response", "resolution", "relative_resolution")},
            "binned": reference["binned"],
        }
    full.update(COSTS)
    full.update(metrics)
    (run / "metrics.json").write_text(json.dumps(full))
    write_npz(run / "predictions.npz", true=true[:, None], predicted_point=point[:, None])
    return run


def _scores(relres: float, response: float = 1.0, sigma: float = 0.1, rmse: float = 20.0):
    return {"relative_resolution": relres, "response": response, "core_sigma": sigma, "rmse": rmse}


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    return [
        write_regression_run(tmp_path, "mlp-1", model="mlp", seed=1, metrics=_scores(0.12)),
        write_regression_run(
            tmp_path, "mlp-2", model="mlp", seed=2, metrics=_scores(0.14, 0.98, 0.12, 24.0)
        ),
        write_regression_run(tmp_path, "bdt-1", model="bdt", seed=3, metrics=_scores(0.10, 1.02)),
        write_regression_run(tmp_path, "lin-1", model="lin", seed=4, metrics=_scores(0.20)),
    ]


def test_regression_table_has_the_task_columns_lowest_resolution_first(tmp_path, runs):
    result = compare_runs(runs, out_dir=tmp_path / "out")
    lines = result.table.splitlines()
    assert lines[0] == (
        "| model | rel. resolution | response | core sigma | RMSE | baseline rel. resolution "
        "| params | s/epoch | jets/s | runs |"
    )
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| bdt", "| mlp", "| lin"]
    baseline = json.loads((runs[0] / "metrics.json").read_text())["baseline"]
    relres = f"{baseline['relative_resolution']:.4f}"
    # mlp: 0.12 and 0.14 -> mean 0.13, sample std sqrt(2 * 0.01^2 / 1) = 0.0141421.
    assert lines[3] == (
        "| mlp | 0.1300 ± 0.0141 | 0.9900 ± 0.0141 | 0.1100 ± 0.0141 | 22 ± 2.828 "
        f"| {relres} ± 0.0000 | 100 ± 0 | 2 ± 0 | 10,000 ± 0 | 2 |"
    )
    assert lines[2] == (
        f"| bdt | 0.1000 | 1.0200 | 0.1000 | 20 | {relres} | 100 | 2 | 10,000 | 1 |"
    )
    md = (tmp_path / "out" / "comparison.md").read_text()
    assert md.endswith(result.table) and "test jets: 400" in md
    png = tmp_path / "out" / "response_comparison.png"
    assert result.paths == [tmp_path / "out" / "comparison.md", png]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "out" / "roc_comparison.png").exists()


def test_response_curves_average_a_group_bin_by_bin(tmp_path, runs):
    groups = group_runs([load_run(r) for r in runs])
    rows = [summary_row(name, members) for name, members in groups.items()]
    curves = response_curves(rows, [row.name for row in rows])
    assert list(curves) == ["mlp", "bdt", "lin", "baseline (reco_pt)"]  # baseline once
    a, b = (json.loads((r / "metrics.json").read_text())["binned"] for r in runs[:2])
    for i, mean_bin in enumerate(curves["mlp"]):
        for key in ("response", "relative_resolution"):
            values = [a[i][key], b[i][key]]
            assert mean_bin[key] == pytest.approx(sum(values) / 2, rel=1e-12)
            assert mean_bin[f"{key}_error"] == pytest.approx(abs(values[0] - values[1]) / 2**0.5)
        assert (mean_bin["low"], mean_bin["high"]) == (a[i]["low"], a[i]["high"])
    assert curves["bdt"] == json.loads((runs[2] / "metrics.json").read_text())["binned"]


def test_a_group_binned_differently_is_drawn_run_by_run(tmp_path):
    a = write_regression_run(tmp_path, "a", model="mlp", metrics=_scores(0.1), bins=4)
    b = write_regression_run(tmp_path, "b", model="mlp", metrics=_scores(0.1), bins=3)
    rows = [summary_row("mlp", [load_run(a), load_run(b)])]
    curves = response_curves(rows, ["mlp"])
    assert [len(curves[k]) for k in ("mlp [a]", "mlp [b]")] == [4, 3]


def test_runs_of_different_task_kinds_are_refused_naming_both(tmp_path):
    classifier = write_run(tmp_path, "tagger", model="mlp", metrics={"auc": 0.9})
    regression = write_regression_run(tmp_path, "jec", model="mlp", metrics=_scores(0.1))
    with pytest.raises(DataError) as err:
        compare_runs([classifier, regression], out_dir=tmp_path / "o")
    assert str(err.value) == (
        f"runs {classifier} (task.kind classify) and {regression} (task.kind regress) are "
        "different kinds of learning, their metrics do not compare; compare runs of one "
        "task kind"
    )
    assert not (tmp_path / "o").exists()


def test_a_regression_run_without_truth_is_refused(tmp_path):
    run = write_regression_run(tmp_path, "blind", model="mlp", metrics={})
    metrics = json.loads((run / "metrics.json").read_text())
    note = "the file has no target column(s) gen_pt: predictions written"
    kept = {"targets": metrics["targets"], "note": note}
    (run / "metrics.json").write_text(json.dumps(kept))
    with pytest.raises(DataError) as err:
        load_run(run)
    assert str(err.value) == (
        f"{run / 'metrics.json'}: no 'relative_resolution'; expected the test metrics of a "
        f"'regress' run ({note})"
    )


def test_rows_rank_by_the_metric_direction(tmp_path):
    responses = {"low": 0.90, "near": 0.99, "high": 1.05}
    rows = [
        summary_row(name, [load_run(write_regression_run(tmp_path, name, model=name, metrics=m))])
        for name, m in (
            (k, {"response": v, "relative_resolution": 0.1}) for k, v in responses.items()
        )
    ]
    for direction, order in (
        ("one", ["near", "high", "low"]),
        ("max", ["high", "near", "low"]),
        ("min", ["low", "near", "high"]),
    ):
        rank_rows(rows, "response", direction)
        assert [row.name for row in rows] == order
    missing = Row(name="none", runs=[rows[0].runs[0]], n_runs=1)
    ranked = [missing, *rows]
    rank_rows(ranked, "not_recorded", "min")  # nobody records it: the order stays
    assert ranked[0].name == "none"


def test_task_classes_name_columns_and_directions():
    classify_columns = ClassificationTask.comparison_columns(
        [{"auc": 0.9, "rejection_at_eps_s_0.5": 3.0, "rejection_at_eps_s_0.1": 9.0}]
    )
    assert [c[0] for c in classify_columns] == [
        "auc",
        "accuracy",
        "rejection_at_eps_s_0.1",
        "rejection_at_eps_s_0.5",
    ]
    assert classify_columns[0][0] == ClassifyConfig().default_metric()
    regress_columns = RegressionTask.comparison_columns([{"relative_resolution": 0.1}])
    assert [c[0] for c in regress_columns] == [
        "relative_resolution",
        "response",
        "core_sigma",
        "rmse",
    ]
    assert regress_columns[0][0] == RegressConfig(targets=["y"]).default_metric()
    expected = {
        "auc": "max",
        "accuracy": "max",
        "rejection_at_eps_s_0.3": "max",
        "max_sic": "max",
        "val_loss": "min",
    }
    assert {name: ClassificationTask.metric_direction(name) for name in expected} == expected
    expected = {
        "relative_resolution": "min",
        "resolution": "min",
        "core_sigma": "min",
        "rmse": "min",
        "mae": "min",
        "val_resolution": "min",
        "baseline.relative_resolution": "min",
        "member_spread": "min",
        "response": "one",
        "val_response": "one",
        "pull_width": "one",
        "bias": "zero",
        "n_test": None,
    }
    assert {name: RegressionTask.metric_direction(name) for name in expected} == expected


def test_cli_compare_regression_runs(tmp_path, runs):
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["compare", *map(str, runs), "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "| model | rel. resolution | response |" in result.output
    assert f"wrote {tmp_path / 'c' / 'response_comparison.png'}" in result.output
    mixed = CliRunner().invoke(
        app, ["compare", str(runs[0]), str(write_run(tmp_path, "t", model="m", metrics={"auc": 1}))]
    )
    assert mixed.exit_code == 2 and "different kinds of learning" in mixed.output


# --- ensembles of regressions -----------------------------------------------------------


def _members(tmp_path: Path, n: int = 3) -> list:
    return [
        load_run(
            write_regression_run(
                tmp_path / "ens", f"seed-{s}", model="mlp", seed=s, metrics=_scores(0.1 + 0.01 * s)
            )
        )
        for s in range(n)
    ]


def test_regression_ensemble_averages_predictions_and_reports_the_spread(tmp_path):
    members = _members(tmp_path)
    result = write_ensemble(members, out_dir=tmp_path / "ens", name="jec")
    points = [np.load(m.run_dir / "predictions.npz")["predicted_point"][:, 0] for m in members]
    true = _true()
    saved = np.load(tmp_path / "ens" / "ensemble" / "predictions.npz")
    for i in (0, 7, N - 1):  # row by row, by hand
        mean = sum(p[i] for p in points) / 3
        std = (sum((p[i] - mean) ** 2 for p in points) / 2) ** 0.5
        assert saved["predicted_point"][i, 0] == pytest.approx(mean, rel=1e-12)
        assert saved["predicted_member_std"][i, 0] == pytest.approx(std, rel=1e-9)
    np.testing.assert_array_equal(saved["true"][:, 0], true)
    metrics = result.metrics
    ratio = saved["predicted_point"][:, 0] / true
    median = float(np.median(ratio))
    q16, q84 = np.percentile(ratio, [16, 84])
    assert metrics["response"] == pytest.approx(median, rel=1e-12)
    assert metrics["relative_resolution"] == pytest.approx(0.5 * (q84 - q16) / median, rel=1e-9)
    relative_spread = saved["predicted_member_std"][:, 0] / true
    assert metrics["member_spread"] == pytest.approx(float(np.median(relative_spread)))
    assert metrics["baseline"] == members[0].metrics["baseline"]
    assert [b["low"] for b in metrics["binned"]] == [b["low"] for b in members[0].metrics["binned"]]
    assert metrics["n_parameters"] == 300 and metrics["inference_jets_per_second"] == pytest.approx(
        1e4 / 3
    )
    on_disk = json.loads((tmp_path / "ens" / "ensemble" / "metrics.json").read_text())
    assert on_disk["member_spread"] == metrics["member_spread"] and on_disk["n_test"] == N
    rows = result.comparison.table.splitlines()
    assert rows[0].endswith("| member spread | params | s/epoch | jets/s | runs |")
    ensemble_row = next(r for r in rows if r.startswith("| jec (mean prediction of 3)"))
    assert ensemble_row.endswith(f"| {metrics['member_spread']:.4f} | 300 | 6 | 3,333 | 3 |")
    member_row = next(r for r in rows if r.startswith("| jec |"))
    assert member_row.startswith("| jec | 0.1100 ± 0.0100 |")
    assert (tmp_path / "ens" / "response_comparison.png").is_file()


def test_regression_members_on_other_rows_are_refused(tmp_path):
    members = _members(tmp_path, 2)
    saved = dict(np.load(members[1].run_dir / "predictions.npz"))
    write_npz(members[1].run_dir / "predictions.npz", **{k: v[::-1] for k, v in saved.items()})
    with pytest.raises(DataError) as err:
        mean_predictions(members)
    assert str(err.value) == (
        f"ensemble: {members[1].run_dir} was tested on other rows than {members[0].run_dir} "
        "(400 vs 400 test rows, or in another order); keep data.split.seed and the data "
        "fixed across seeds"
    )


def test_an_ensemble_of_different_task_kinds_is_refused(tmp_path):
    regression = _members(tmp_path, 1)[0]
    classifier = load_run(write_run(tmp_path, "tagger", model="mlp", metrics={"auc": 0.9}))
    with pytest.raises(DataError, match=r"\(task.kind regress\) and .* \(task.kind classify\)"):
        write_ensemble([regression, classifier], out_dir=tmp_path / "mixed", name="x")
    assert not (tmp_path / "mixed").exists()
