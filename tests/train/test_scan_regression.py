"""hepdl scan and learning-curve for a regression: the default metric is the task's
(relative resolution, minimised), a response is scanned for the point nearest 1, and a
classifier's scan keeps its metric, direction and study name. Training is replaced by
hand-written run directories, so nothing here trains a network."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import optuna
import pytest
import typer
import yaml
from typer.testing import CliRunner

from hepdl._cli_scan import register
from hepdl.errors import ConfigError
from hepdl.train.learning_curve import run_learning_curve
from hepdl.train.scan import ScanRequest, parse_grid, resolve_metric, run_scan, validate_points

# (response, relative resolution) of the fake run at each learning rate
FAKE = {0.001: (0.90, 0.20), 0.01: (0.99, 0.15), 0.1: (1.08, 0.10)}


def write_config(folder: Path, *, kind: str = "regress") -> Path:
    task = {"kind": "regress", "targets": ["gen_pt"], "ratio_to": "jet_pt", "bins": 4}
    raw = {
        "name": "jec",
        "seed": 7,
        "data": {
            "files": [str(folder / "jets.parquet")],  # never read: training is faked
            "representation": {"name": "columns", "columns": ["jet_pt", "jet_eta"]},
        },
        "model": {"name": "mlp", "hidden": [8]},
        "task": task if kind == "regress" else {"kind": "classify"},
        "trainer": {"max_epochs": 1, "output_dir": str(folder / "runs")},
        "evaluate": {"plots": False},
    }
    path = folder / f"{kind}.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture
def fake_training(monkeypatch) -> list[Any]:
    """train_experiment writes metrics.json of FAKE's numbers at the config's lr (the
    resolution grows by 0.01 per seed and shrinks with more training rows)."""
    import hepdl.train.run as run
    from hepdl.train.artifacts import TrainResult

    trained: list[Any] = []

    def fake(config: Any, *, run_dir: Path, **_: Any) -> TrainResult:
        response, relres = FAKE[config.task.lr]
        relres += 0.01 * (config.seed - 7)
        if config.data.train_size is not None:
            relres += 10.0 / config.data.train_size
        metrics = {
            "n_test": 80,
            "targets": ["gen_pt"],
            "response": response,
            "relative_resolution": relres,
            "rmse": 100 * relres,
        }
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "metrics.json").write_text(json.dumps(metrics))
        trained.append(config)
        return TrainResult(run_dir=run_dir, metrics=metrics, history={})

    monkeypatch.setattr(run, "train_experiment", fake)
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    return trained


def _request(folder: Path, lrs: str = "0.001,0.01,0.1", **options: Any) -> ScanRequest:
    """A grid over task.lr of the regression config in ``folder``."""
    grid = [parse_grid(f"task.lr={lrs}")]
    return ScanRequest(config_path=write_config(folder), grid=grid, **options)


def test_regression_scan_minimises_the_relative_resolution_by_default(tmp_path, fake_training):
    result = run_scan(_request(tmp_path, seeds=2, out=tmp_path / "scan"))
    assert (result.metric, result.direction) == ("relative_resolution", "minimize")
    assert result.best is not None and result.best.values == {"task.lr": 0.1}
    summary = json.loads((result.out / "scan.json").read_text())
    assert (summary["metric"], summary["direction"]) == ("relative_resolution", "minimize")
    assert "target" not in summary
    assert summary["best"]["mean"] == pytest.approx(0.105)  # 0.10 and 0.11 over two seeds
    md = (result.out / "results.md").read_text()
    assert md.splitlines()[2].startswith("| task.lr | runs | failures | relative_resolution |")
    study = optuna.load_study(study_name=result.study_name, storage=_sqlite(result.out))
    assert study.direction == optuna.study.StudyDirection.MINIMIZE
    assert sorted(t.value for t in study.trials) == pytest.approx([0.105, 0.155, 0.205])
    assert (result.out / "heatmap.png").stat().st_size > 5000
    assert len(fake_training) == 6


def test_a_response_is_scanned_for_the_point_nearest_one(tmp_path, fake_training):
    request = _request(tmp_path, metric="response", out=tmp_path / "response")
    result = run_scan(request)
    assert result.best is not None and result.best.values == {"task.lr": 0.01}  # 0.99
    summary = json.loads((result.out / "scan.json").read_text())
    assert (summary["direction"], summary["target"]) == ("minimize", 1.0)
    assert summary["best"]["mean"] == pytest.approx(0.99)
    study = optuna.load_study(study_name=result.study_name, storage=_sqlite(result.out))
    assert sorted(t.value for t in study.trials) == pytest.approx([0.01, 0.08, 0.10])  # |r - 1|
    explicit = run_scan(dataclasses.replace(request, direction="maximize", out=tmp_path / "max"))
    assert explicit.best is not None and explicit.best.values == {"task.lr": 0.1}
    assert explicit.study_name != result.study_name


def _sqlite(out: Path) -> str:
    return f"sqlite:///{out / 'study.db'}"


def test_a_metric_without_a_direction_asks_for_one(tmp_path, fake_training):
    request = _request(tmp_path, "0.01", metric="n_test", out=tmp_path / "nodir")
    with pytest.raises(ConfigError) as err:
        run_scan(request)
    assert str(err.value) == (
        "--metric 'n_test': a 'regress' task does not say whether it is better high or low; "
        "give --direction maximize or --direction minimize"
    )
    assert fake_training == []


def test_a_classifier_scan_keeps_auc_maximize_and_its_study_name(tmp_path):
    config = write_config(tmp_path, kind="classify")
    request = ScanRequest(config_path=config, grid=[parse_grid("task.lr=0.01,0.1")])
    resolved = resolve_metric(request, validate_points(request))
    assert (resolved.metric, resolved.direction, resolved.target) == ("auc", "maximize", None)
    before = ScanRequest(
        config_path=config,
        grid=[parse_grid("task.lr=0.01,0.1")],
        metric="auc",
        direction="maximize",
    )
    assert resolved.digest() == before.digest()  # the same study is joined and resumed
    accuracy = resolve_metric(
        ScanRequest(config_path=config, grid=request.grid, metric="accuracy"),
        validate_points(request),
    )
    assert accuracy.direction == "maximize"


def test_regression_learning_curve_plots_the_relative_resolution(tmp_path, fake_training):
    result = run_learning_curve(
        write_config(tmp_path), sizes=[100, 1000], seeds=2, out=tmp_path / "lc"
    )
    assert (result.metric, result.direction) == ("relative_resolution", "minimize")
    by_size = {row.values["data.train_size"]: row for row in result.rows}
    # lr 0.001: 0.20, +0.005 over seeds 7 and 8, +10 / 100 rows
    assert by_size[100].mean("relative_resolution") == pytest.approx(0.20 + 0.005 + 0.1)
    assert result.best is not None and result.best.values == {"data.train_size": 1000}
    assert (result.out / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (result.out / "heatmap.png").exists()


def test_cli_scan_of_a_regression_defaults_to_its_metric(tmp_path, fake_training):
    app = typer.Typer()
    register(app)
    config = write_config(tmp_path)
    args = ["scan", str(config), "--grid", "task.lr=0.01,0.1", "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "relative_resolution" in result.output.split("best:")[0]  # the table's column
    assert "best: {'task.lr': 0.1} (relative_resolution = 0.1000)" in result.output
    more = ["--out", str(tmp_path / "cli-lc"), "--set", "task.lr=0.01"]
    curve = CliRunner().invoke(
        app,
        [*("learning-curve", str(config), "--sizes", "100,1000", "--seeds", "1"), *more],
    )
    assert curve.exit_code == 0, curve.output
    assert "best: {'data.train_size': 1000} (relative_resolution = 0.1600)" in curve.output
